/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-gui"

#include "config.h"

#include <glib/gi18n.h>

#include "mw-check-list.h"

/*
 * The list of checks the wizard shows before it offers anything: what was checked
 * and what was found, in words, each with an icon that only repeats the words. The
 * rows are text to read, not controls: they take no keyboard focus.
 */

struct _MwCheckList
{
  GtkWidget   parent_instance;

  /* Template widgets */
  GtkListBox *list;

  /* Owned */
  char       *source;     /* how the database was found, in words */
};

G_DEFINE_FINAL_TYPE (MwCheckList, mw_check_list, GTK_TYPE_WIDGET)

static char *
format_mb (guint64 bytes)
{
  return mw_shop_format_size (bytes);
}

static void
mw_check_list_finalize (GObject *object)
{
  g_free (MW_CHECK_LIST (object)->source);

  G_OBJECT_CLASS (mw_check_list_parent_class)->finalize (object);
}

static void
mw_check_list_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), MW_TYPE_CHECK_LIST);

  G_OBJECT_CLASS (mw_check_list_parent_class)->dispose (object);
}

static void
mw_check_list_class_init (MwCheckListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mw_check_list_dispose;
  object_class->finalize = mw_check_list_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/com/aurswift/MigrationWizard/mw-check-list.ui");
  gtk_widget_class_bind_template_child (widget_class, MwCheckList, list);
}

static void
mw_check_list_init (MwCheckList *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * mw_check_list_clear:
 *
 * Removes every check.
 */
void
mw_check_list_clear (MwCheckList *self)
{
  GtkWidget *child;

  g_return_if_fail (MW_IS_CHECK_LIST (self));

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);
}

/**
 * mw_check_list_add:
 * @name: what was checked
 * @found: what was found, in words
 *
 * Adds one check with its result.
 */
void
mw_check_list_add (MwCheckList   *self,
                   MwCheckResult  result,
                   const char    *name,
                   const char    *found)
{
  static const char * const icons[] = {
    "emblem-ok-symbolic", "dialog-warning-symbolic", "content-loading-symbolic",
    "dialog-information-symbolic",
  };
  GtkWidget *row;
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *icon = gtk_image_new_from_icon_name (icons[result]);
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name_label = gtk_label_new (name);
  GtkWidget *found_label = gtk_label_new (found);
  g_autofree char *accessible = g_strdup_printf ("%s: %s", name, found);

  g_return_if_fail (MW_IS_CHECK_LIST (self));

  gtk_accessible_update_property (GTK_ACCESSIBLE (icon),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  result == MW_CHECK_OK ? _("passed") :
                                  result == MW_CHECK_PROBLEM ? _("problem") :
                                  result == MW_CHECK_WAITING ? _("checking") : _("note"),
                                  -1);
  gtk_widget_add_css_class (name_label, "heading");
  gtk_label_set_xalign (GTK_LABEL (name_label), 0);
  /* At 2× text a check's name is wider than a small screen: it wraps too. */
  gtk_label_set_wrap (GTK_LABEL (name_label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (found_label), 0);
  gtk_label_set_wrap (GTK_LABEL (found_label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (found_label), PANGO_WRAP_WORD_CHAR);
  gtk_widget_set_hexpand (text, TRUE);
  gtk_box_append (GTK_BOX (text), name_label);
  gtk_box_append (GTK_BOX (text), found_label);
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), text);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);

  g_object_set_data_full (G_OBJECT (box), "mw-text", g_strdup_printf ("%s: %s", name, found),
                          g_free);
  row = gtk_list_box_row_new ();
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_focusable (row, FALSE);
  gtk_list_box_append (self->list, row);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, accessible,
                                  -1);
}

/**
 * mw_check_list_set_database_source:
 * @source: (nullable): how the database was found ("found in the app's data folder")
 *
 * Said with the "Database found" check.
 */
void
mw_check_list_set_database_source (MwCheckList *self,
                                   const char  *source)
{
  g_return_if_fail (MW_IS_CHECK_LIST (self));
  g_free (self->source);
  self->source = g_strdup (source);
}

/**
 * mw_check_list_dup_text:
 *
 * Returns: (transfer full): every check as "name: found", one a line
 */
char *
mw_check_list_dup_text (MwCheckList *self)
{
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (MW_IS_CHECK_LIST (self), NULL);

  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->list));
       row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      GtkWidget *box = gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (row));

      g_string_append_printf (text, "%s\n", (const char *) g_object_get_data (G_OBJECT (box),
                                                                              "mw-text"));
    }
  return g_string_free (text, FALSE);
}

/**
 * mw_check_list_get_n_checks:
 *
 * Returns: how many checks the list shows
 */
guint
mw_check_list_get_n_checks (MwCheckList *self)
{
  guint n = 0;

  g_return_val_if_fail (MW_IS_CHECK_LIST (self), 0);

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->list));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n++;
  return n;
}

/**
 * mw_check_list_show_diagnosis:
 * @reading_pages: every page is being read now (the result comes later)
 *
 * The checking steps, each with its result, from a diagnosis: found, not in use,
 * readable and undamaged, disk space, updates. It stops at the first problem: the
 * steps after it were not checked.
 */
void
mw_check_list_show_diagnosis (MwCheckList *self,
                              MwDiagnosis *d,
                              gboolean     reading_pages)
{
  g_autofree char *size = NULL;
  g_autofree char *found = NULL;
  MwState s;

  g_return_if_fail (MW_IS_CHECK_LIST (self));
  g_return_if_fail (d != NULL);

  s = d->state;
  mw_check_list_clear (self);

  if (s == MW_STATE_NO_MIGRATIONS || s == MW_STATE_INVALID_MIGRATIONS)
    {
      mw_check_list_add (self, MW_CHECK_PROBLEM, _("The app's update files"), d->message);
      return;
    }

  /* Database found */
  size = format_mb ((guint64) (d->database_size + d->wal_size));
  if (d->exists && self->source != NULL)
    /* TRANSLATORS: "Yes: <path> (15.6 MB), found in the app's data folder" */
    found = g_strdup_printf (_("Yes: %s (%s), %s"), d->database_path, size, self->source);
  else if (d->exists)
    found = g_strdup_printf (_("Yes: %s (%s)"), d->database_path, size);
  else
    found = g_strdup_printf (_("No database yet at %s: a new one will be created"),
                             d->database_path);
  mw_check_list_add (self, d->exists ? MW_CHECK_OK : MW_CHECK_INFO, _("Database found"), found);
  if (!d->exists)
    return;

  /* Not in use */
  g_clear_pointer (&found, g_free);
  if (s == MW_STATE_LOCKED)
    {
      if (d->lock_pid > 0)
        found = g_strdup_printf (_("No: in use by %s (process %d)"),
                                 d->lock_process ? d->lock_process : _("another program"),
                                 d->lock_pid);
      else
        found = g_strdup (_("No: in use by another program"));
      mw_check_list_add (self, MW_CHECK_PROBLEM, _("Not in use by another program"), found);
      return;
    }
  mw_check_list_add (self, MW_CHECK_OK, _("Not in use by another program"), _("Yes"));

  /* Readable and undamaged */
  if (s == MW_STATE_CORRUPT || s == MW_STATE_NOT_A_DATABASE || s == MW_STATE_UNREADABLE)
    {
      mw_check_list_add (self, MW_CHECK_PROBLEM, _("Readable and undamaged"), d->message);
      return;
    }
  if (d->pages_checked)
    mw_check_list_add (self, MW_CHECK_OK, _("Readable and undamaged"),
                       _("Yes: every page read correctly (quick check)"));
  else if (reading_pages)
    mw_check_list_add (self, MW_CHECK_WAITING, _("Readable and undamaged"),
                       _("Its structure and update history read correctly; now reading every "
                         "page…"));
  else
    mw_check_list_add (self, MW_CHECK_OK, _("Readable and undamaged"),
                       _("Yes: its structure and update history read correctly (the whole file "
                         "is checked before and after updating)"));

  /* Disk space */
  {
    g_autofree char *required = format_mb (d->space_required);
    g_autofree char *available = format_mb (d->space_available);
    g_autofree char *text = NULL;

    if (s == MW_STATE_NO_SPACE)
      {
        text = g_strdup_printf (_("Not enough: %s needed, %s free"), required, available);
        mw_check_list_add (self, MW_CHECK_PROBLEM, _("Disk space"), text);
        return;
      }
    text = g_strdup_printf (_("Enough: %s needed, %s free"), required, available);
    mw_check_list_add (self, MW_CHECK_OK, _("Disk space"), text);
  }

  /* Pending updates */
  g_clear_pointer (&found, g_free);
  switch (s)
    {
    case MW_STATE_UP_TO_DATE:
      mw_check_list_add (self, MW_CHECK_OK, _("Updates"),
                         _("None to apply: the database is up to date"));
      break;

    case MW_STATE_PENDING:
    case MW_STATE_MISSING:
      found = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u update to apply",
                                            "%u updates to apply", d->n_pending),
                               d->n_pending);
      mw_check_list_add (self, MW_CHECK_INFO, _("Updates"), found);
      break;

    default:
      mw_check_list_add (self, MW_CHECK_PROBLEM, _("Update history"), d->message);
      break;
    }
}
