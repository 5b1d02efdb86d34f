/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-gui"

#include "config.h"

#include <glib/gi18n.h>

#include "mw-cli.h"
#include "mw-support.h"
#include "mw-technician-window.h"
#include "mw-window.h"

/*
 * The wizard: one window whose pages follow the engine's work.
 *
 *   checking → ready (updates to apply) | done (up to date) | problem
 *   ready → working (updating) → done | problem (failed, cancelled)
 *   problem → confirmation (a "problem" page too) → working (restore, fresh
 *   start, repair) → done | problem
 *
 * Every engine call runs in a GTask worker; the window only reacts to results and
 * to the progress object's notifications. Every choice is a widget action
 * ("wizard.*"), so buttons, the keyboard and the tests all take the same path.
 * A destructive choice always goes through a confirmation page that says what is
 * kept and where; nothing is chosen without a person, in after-update mode too.
 */

typedef enum
{
  CONFIRM_NONE,
  CONFIRM_RESTORE,
  CONFIRM_FRESH,
  CONFIRM_REPAIR,
} ConfirmKind;

typedef enum
{
  WORK_NONE,
  WORK_CHECK,
  WORK_MIGRATE,
  WORK_RESTORE,
  WORK_FRESH,
  WORK_REPAIR,
  WORK_REPAIR_SWAP,
} WorkKind;

struct _MwWindow
{
  GtkApplicationWindow  parent_instance;

  /* Template widgets */
  GtkStack             *stack;
  GtkLabel             *notice_label;
  GtkButton            *details_button;
  GtkLabel             *checking_title;
  GtkLabel             *checking_text;
  GtkListBox           *checks_list;
  GtkLabel             *ready_title;
  GtkLabel             *ready_text;
  GtkListBox           *ready_checks;
  GtkButton            *update_button;
  GtkLabel             *work_title;
  GtkLabel             *work_phase;
  GtkProgressBar       *work_bar;
  GtkLabel             *work_note;
  GtkButton            *work_cancel;
  GtkLabel             *done_title;
  GtkLabel             *done_text;
  GtkButton            *done_check_again;
  GtkButton            *done_close;
  GtkImage             *problem_icon;
  GtkLabel             *problem_title;
  GtkLabel             *problem_text;
  GtkExpander          *problem_expander;
  GtkLabel             *problem_detail;
  GtkBox               *problem_buttons;

  /* Owned */
  MwWizardOptions      *options;
  MwMigrationSet       *set;
  GError               *set_error;
  MwDiagnosis          *diagnosis;
  MwInstanceLock       *lock;
  GCancellable         *cancellable;
  MwProgress           *progress;
  MwMigrator           *migrator;
  MwBackup             *offered_backup;     /* what Restore from Backup would restore */
  MwRepairReport       *repair;             /* the last repair's report */
  char                 *problem_id;         /* which problem or confirmation is shown */
  char                 *return_problem;     /* the problem a confirmation came from */
  char                 *recovered;          /* what the start-up recovery reported */
  char                 *failure_text;       /* the last failure, for the problem page */
  char                 *failure_detail;
  GtkWindow            *technician;         /* (weak) */

  /* Flags */
  WorkKind              work;
  ConfirmKind           confirm;
  guint                 close_when_idle : 1;
  guint                 quick_checked : 1;
};

G_DEFINE_FINAL_TYPE (MwWindow, mw_window, GTK_TYPE_APPLICATION_WINDOW)

static void start_check (MwWindow *self);

static void
set_exit_status (MwWindow *self,
                 int       status)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  if (app != NULL)
    mw_application_set_exit_status (MW_APPLICATION (app), status);
}

static const char *
database_name (MwWindow *self)
{
  return self->options->database;
}

static char *
format_mb (guint64 bytes)
{
  return g_strdup_printf (_("%.1f MB"), (double) bytes / (1024.0 * 1024.0));
}

static void
clear_list (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

typedef enum
{
  CHECK_OK,
  CHECK_PROBLEM,
  CHECK_WAITING,
  CHECK_INFO,
} CheckResult;

/* One line of the checking list: what was checked and what was found, in words,
 * with an icon that only repeats what the words say. */
static void
add_check (GtkListBox  *list,
           CheckResult  result,
           const char  *name,
           const char  *found)
{
  static const char * const icons[] = {
    "emblem-ok-symbolic", "dialog-warning-symbolic", "content-loading-symbolic",
    "dialog-information-symbolic",
  };
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *icon = gtk_image_new_from_icon_name (icons[result]);
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name_label = gtk_label_new (name);
  GtkWidget *found_label = gtk_label_new (found);
  g_autofree char *accessible = g_strdup_printf ("%s: %s", name, found);

  gtk_accessible_update_property (GTK_ACCESSIBLE (icon),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  result == CHECK_OK ? _("passed") :
                                  result == CHECK_PROBLEM ? _("problem") :
                                  result == CHECK_WAITING ? _("checking") : _("note"),
                                  -1);
  gtk_widget_add_css_class (name_label, "heading");
  gtk_label_set_xalign (GTK_LABEL (name_label), 0);
  gtk_label_set_xalign (GTK_LABEL (found_label), 0);
  gtk_label_set_wrap (GTK_LABEL (found_label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (found_label), PANGO_WRAP_WORD_CHAR);
  gtk_widget_set_hexpand (text, TRUE);
  gtk_box_append (GTK_BOX (text), name_label);
  gtk_box_append (GTK_BOX (text), found_label);
  gtk_box_append (GTK_BOX (row), icon);
  gtk_box_append (GTK_BOX (row), text);
  gtk_widget_set_margin_top (row, 6);
  gtk_widget_set_margin_bottom (row, 6);
  gtk_widget_set_margin_start (row, 6);
  gtk_widget_set_margin_end (row, 6);
  gtk_list_box_append (list, row);
  gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_widget_get_parent (row)),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, accessible,
                                  -1);
}

/* The checking steps, each with its result, from a diagnosis. */
static void
fill_checks (MwWindow    *self,
             GtkListBox  *list,
             MwDiagnosis *d)
{
  g_autofree char *size = NULL;
  g_autofree char *found = NULL;
  MwState s = d->state;

  clear_list (list);

  if (s == MW_STATE_NO_MIGRATIONS || s == MW_STATE_INVALID_MIGRATIONS)
    {
      add_check (list, CHECK_PROBLEM, _("The app's update files"), d->message);
      return;
    }

  /* Database found */
  size = format_mb ((guint64) (d->database_size + d->wal_size));
  if (d->exists)
    found = g_strdup_printf (_("Yes: %s (%s)"), d->database_path, size);
  else
    found = g_strdup_printf (_("No database yet at %s: a new one will be created"),
                             d->database_path);
  add_check (list, d->exists ? CHECK_OK : CHECK_INFO, _("Database found"), found);
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
      add_check (list, CHECK_PROBLEM, _("Not in use by another program"), found);
      return;
    }
  add_check (list, CHECK_OK, _("Not in use by another program"), _("Yes"));

  /* Readable and undamaged */
  if (s == MW_STATE_CORRUPT || s == MW_STATE_NOT_A_DATABASE || s == MW_STATE_UNREADABLE)
    {
      add_check (list, CHECK_PROBLEM, _("Readable and undamaged"), d->message);
      return;
    }
  if (self->quick_checked)
    add_check (list, CHECK_OK, _("Readable and undamaged"),
               _("Yes: every page read correctly (quick check)"));
  else if (self->work == WORK_CHECK)
    add_check (list, CHECK_WAITING, _("Readable and undamaged"),
               _("Its structure and update history read correctly; now reading every "
                 "page…"));
  else
    add_check (list, CHECK_OK, _("Readable and undamaged"),
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
        add_check (list, CHECK_PROBLEM, _("Disk space"), text);
        return;
      }
    text = g_strdup_printf (_("Enough: %s needed, %s free"), required, available);
    add_check (list, CHECK_OK, _("Disk space"), text);
  }

  /* Pending updates */
  g_clear_pointer (&found, g_free);
  switch (s)
    {
    case MW_STATE_UP_TO_DATE:
      add_check (list, CHECK_OK, _("Updates"), _("None to apply: the database is up to date"));
      break;

    case MW_STATE_PENDING:
    case MW_STATE_MISSING:
      found = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u update to apply",
                                            "%u updates to apply", d->n_pending),
                               d->n_pending);
      add_check (list, CHECK_INFO, _("Updates"), found);
      break;

    default:
      add_check (list, CHECK_PROBLEM, _("Update history"), d->message);
      break;
    }
}

static void
show_page (MwWindow   *self,
           const char *name,
           GtkWidget  *default_widget)
{
  gtk_stack_set_visible_child_name (self->stack, name);
  gtk_window_set_default_widget (GTK_WINDOW (self), default_widget);
  if (default_widget != NULL)
    gtk_widget_grab_focus (default_widget);
  /* A selectable label that takes the focus selects all its text: not wanted. */
  gtk_label_select_region (self->done_text, 0, 0);
  gtk_label_select_region (self->checking_text, 0, 0);
  if (self->technician != NULL)
    mw_technician_window_refresh (MW_TECHNICIAN_WINDOW (self->technician));
}

static void
present (MwWindow *self)
{
  if (!gtk_widget_get_visible (GTK_WIDGET (self)))
    gtk_window_present (GTK_WINDOW (self));
}

/* Runs the command given with --then-run (the POS), detached. */
static void
run_then (MwWindow *self)
{
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) error = NULL;

  if (self->options->then_run == NULL)
    return;
  if (!g_shell_parse_argv (self->options->then_run, NULL, &argv, &error) ||
      !g_spawn_async (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &error))
    {
      g_warning ("Could not start “%s”: %s", self->options->then_run, error->message);
      return;
    }
  mw_log_add ("Started %s", self->options->then_run);
}

/* The database is ready: in after-update mode the POS starts and the window goes;
 * otherwise the Done page says what happened. */
static void
finish_ready (MwWindow   *self,
              const char *title,
              const char *text)
{
  set_exit_status (self, 0);
  if (self->options->after_update)
    {
      run_then (self);
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  gtk_label_set_text (self->done_title, title);
  gtk_label_set_text (self->done_text, text);
  gtk_window_set_title (GTK_WINDOW (self), title);
  present (self);
  show_page (self, "done", GTK_WIDGET (self->done_close));
}

typedef struct
{
  const char *label;
  const char *action;
  const char *target;       /* (nullable) string parameter */
  gboolean    is_default;
  gboolean    destructive;
  gboolean    sensitive;
  const char *why_not;      /* (nullable) tooltip when not sensitive */
} Choice;

static void
show_problem (MwWindow     *self,
              const char   *id,
              const char   *icon,
              const char   *title,
              const char   *text,
              const char   *detail,
              const Choice *choices,
              guint         n_choices)
{
  GtkWidget *child;
  GtkWidget *default_button = NULL;

  g_free (self->problem_id);
  self->problem_id = g_strdup (id);

  gtk_image_set_from_icon_name (self->problem_icon, icon);
  gtk_label_set_text (self->problem_title, title);
  gtk_label_set_text (self->problem_text, text);
  gtk_label_set_text (self->problem_detail, detail ? detail : "");
  gtk_widget_set_visible (GTK_WIDGET (self->problem_expander), detail != NULL && *detail);
  gtk_expander_set_expanded (self->problem_expander, FALSE);
  gtk_window_set_title (GTK_WINDOW (self), title);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->problem_buttons))) != NULL)
    gtk_box_remove (self->problem_buttons, child);

  for (guint i = 0; i < n_choices; i++)
    {
      GtkWidget *button = gtk_button_new_with_mnemonic (choices[i].label);

      if (choices[i].target != NULL)
        gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "s", choices[i].target);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), choices[i].action);
      if (choices[i].destructive)
        gtk_widget_add_css_class (button, "destructive-action");
      else if (choices[i].is_default)
        gtk_widget_add_css_class (button, "suggested-action");
      if (!choices[i].sensitive)
        {
          /* Actions decide sensitivity; a button that cannot work now is shown
           * but says why, rather than vanishing. */
          gtk_actionable_set_action_name (GTK_ACTIONABLE (button), NULL);
          gtk_widget_set_sensitive (button, FALSE);
          if (choices[i].why_not != NULL)
            gtk_widget_set_tooltip_text (button, choices[i].why_not);
        }
      gtk_box_append (self->problem_buttons, button);
      if (choices[i].is_default)
        default_button = button;
    }

  mw_log_add ("Shown: %s", title);
  present (self);
  show_page (self, "problem", default_button);
}

/* A problem a person can fix and retry (close the POS, free some space…): the way
 * out (@stop_label: Cancel or Quit) and Try Again, the default. */
static void
show_retry_problem (MwWindow   *self,
                    const char *id,
                    const char *icon,
                    const char *title,
                    const char *text,
                    const char *detail,
                    const char *stop_label)
{
  const Choice choices[] = {
    { stop_label, "wizard.cancel", NULL, FALSE, FALSE, TRUE, NULL },
    { _("_Try Again"), "wizard.retry", NULL, TRUE, FALSE, TRUE, NULL },
  };

  show_problem (self, id, icon, title, text, detail, choices, G_N_ELEMENTS (choices));
}

static MwBackup *
find_default_backup (MwWindow *self)
{
  g_autoptr(GPtrArray) backups = mw_backup_list (self->options->backup_dir, NULL);
  MwBackup *any = NULL;

  if (backups == NULL)
    return NULL;
  /* Newest first: the newest verified pre-migration backup, else the newest
   * verified one of any kind. */
  for (guint i = 0; i < backups->len; i++)
    {
      MwBackup *b = g_ptr_array_index (backups, i);

      if (!b->verified)
        continue;
      if (b->reason == MW_BACKUP_REASON_PRE_MIGRATION)
        return mw_backup_ref (b);
      if (any == NULL)
        any = b;
    }
  return any ? mw_backup_ref (any) : NULL;
}

/* The choices offered when a database cannot be updated as it is. */
static void
offer_recovery (MwWindow   *self,
                const char *id,
                const char *title,
                const char *text,
                const char *detail,
                gboolean    offer_restore,
                gboolean    offer_repair)
{
  g_autofree char *why_no_backup = NULL;
  g_autofree char *full_text = NULL;
  Choice choices[4];
  guint n = 0;

  g_clear_pointer (&self->offered_backup, mw_backup_unref);
  if (offer_restore)
    self->offered_backup = find_default_backup (self);

  if (offer_restore && self->offered_backup != NULL)
    {
      g_autofree char *folder = g_path_get_dirname (self->offered_backup->path);
      g_autofree char *file = g_path_get_basename (self->offered_backup->path);

      full_text = g_strdup_printf (_("%s\n\nThe newest backup is %s in the folder %s."),
                                   text, file, folder);
    }
  else if (offer_restore)
    {
      why_no_backup = g_strdup_printf (_("No usable backup was found in %s."),
                                       self->options->backup_dir);
      full_text = g_strdup_printf ("%s\n\n%s", text, why_no_backup);
    }
  else
    full_text = g_strdup (text);

  if (offer_restore)
    choices[n++] = (Choice) { _("_Restore from Backup"), "wizard.restore", "", FALSE, FALSE,
                              self->offered_backup != NULL, why_no_backup };
  choices[n++] = (Choice) { _("Backup & Start _Fresh"), "wizard.fresh", NULL, FALSE, FALSE,
                            self->set != NULL, NULL };
  if (offer_repair)
    choices[n++] = (Choice) { _("Try _Repair"), "wizard.repair", NULL, FALSE, FALSE,
                              TRUE, NULL };
  choices[n++] = (Choice) { _("_Cancel"), "wizard.cancel", NULL, TRUE, FALSE, TRUE, NULL };

  show_problem (self, id, "dialog-warning-symbolic", title, full_text, detail, choices, n);
}

static char *
diagnosis_detail (MwWindow    *self,
                  MwDiagnosis *d)
{
  GString *detail = g_string_new (NULL);
  g_autofree char *size = format_mb ((guint64) d->database_size);

  g_string_append_printf (detail, _("State: %s\n"), mw_state_to_string (d->state));
  g_string_append_printf (detail, _("Database: %s (%s)\n"), d->database_path, size);
  if (d->set != NULL)
    g_string_append_printf (detail, _("Migrations: %s\n"), mw_migration_set_get_folder (d->set));
  g_string_append_printf (detail, _("Backups: %s\n"), self->options->backup_dir);
  if (d->detail != NULL)
    g_string_append_printf (detail, "%s\n", d->detail);
  return g_string_free (detail, FALSE);
}

/* What each state of the database shows. */
static void
route (MwWindow *self)
{
  MwDiagnosis *d = self->diagnosis;
  g_autofree char *detail = diagnosis_detail (self, d);

  set_exit_status (self, mw_exit_code_for_state (d->state));
  mw_log_add ("Diagnosis: %s", mw_state_to_string (d->state));

  switch (d->state)
    {
    case MW_STATE_UP_TO_DATE:
      {
        g_autofree char *text = NULL;

        text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "Nothing needs to be done: the %u update this "
                                             "app has is applied. The POS can start.",
                                             "Nothing needs to be done: all %u updates this "
                                             "app has are applied. The POS can start.",
                                             d->n_applied),
                                d->n_applied);
        finish_ready (self, _("The database is up to date"), text);
      }
      break;

    case MW_STATE_PENDING:
    case MW_STATE_MISSING:
      if (self->options->after_update)
        {
          /* The update just installed expects these: applying them is the
           * normal path, with its backup; any problem stops and asks. */
          gtk_widget_activate_action (GTK_WIDGET (self), "wizard.update", NULL);
          break;
        }
      {
        g_autofree char *text = NULL;

        if (d->state == MW_STATE_MISSING)
          text = g_strdup_printf (_("There is no database at %s yet. A new, empty one can "
                                    "be created now."), d->database_path);
        else
          text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                               "The new version of the app brings %u update "
                                               "for the database. A backup is made first; "
                                               "if anything goes wrong, nothing is changed.",
                                               "The new version of the app brings %u updates "
                                               "for the database. A backup is made first; "
                                               "if anything goes wrong, nothing is changed.",
                                               d->n_pending),
                                  d->n_pending);
        gtk_label_set_text (self->ready_title, d->state == MW_STATE_MISSING
                                               ? _("Create the database")
                                               : _("Updates are ready"));
        gtk_button_set_label (self->update_button, d->state == MW_STATE_MISSING
                                                   ? _("C_reate Database")
                                                   : _("_Update Now"));
        gtk_label_set_text (self->ready_text, text);
        fill_checks (self, self->ready_checks, d);
        gtk_window_set_title (GTK_WINDOW (self), gtk_label_get_text (self->ready_title));
        present (self);
        show_page (self, "ready", GTK_WIDGET (self->update_button));
      }
      break;

    case MW_STATE_NO_SPACE:
      show_retry_problem (self, "no-space", "drive-harddisk-symbolic", _("Not Enough Disk Space"),
                          d->message, detail, _("_Quit"));
      break;

    case MW_STATE_UNTRACKED:
    case MW_STATE_UNKNOWN_HISTORY:
    case MW_STATE_NOT_A_DATABASE:
      offer_recovery (self, "incompatible", _("Incompatible Database Detected"), d->message,
                      detail, FALSE, FALSE);
      break;

    case MW_STATE_HASH_MISMATCH:
      offer_recovery (self, "hash-mismatch", _("Database Updates Changed"), d->message, detail,
                      TRUE, FALSE);
      break;

    case MW_STATE_CORRUPT:
      offer_recovery (self, "corrupt", _("Database Corruption Detected"), d->message, detail,
                      FALSE, TRUE);
      break;

    case MW_STATE_LOCKED:
      show_retry_problem (self, "locked", "system-lock-screen-symbolic", _("Database Locked"),
                          d->message, detail, _("_Cancel"));
      break;

    case MW_STATE_NEWER:
      {
        const Choice choices[] = {
          { _("_Quit"), "wizard.cancel", NULL, TRUE, FALSE, TRUE, NULL },
        };
        show_problem (self, "newer", "software-update-available-symbolic",
                      _("Cannot Open Database"), d->message, detail, choices,
                      G_N_ELEMENTS (choices));
      }
      break;

    case MW_STATE_UNREADABLE:
      show_retry_problem (self, "unreadable", "dialog-error-symbolic", _("Cannot Read Database"),
                          d->message, detail, _("_Quit"));
      break;

    case MW_STATE_NO_MIGRATIONS:
    case MW_STATE_INVALID_MIGRATIONS:
    default:
      {
        const Choice choices[] = {
          { _("_Quit"), "wizard.cancel", NULL, TRUE, FALSE, TRUE, NULL },
        };
        show_problem (self, "installation", "dialog-error-symbolic",
                      _("The App's Installation Is Incomplete"), d->message, detail, choices,
                      G_N_ELEMENTS (choices));
      }
      break;
    }
}

static void
quick_check_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(MwWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MwVerifyReport) report = mw_verify_finish (result, &error);
  MwDiagnosis *d = self->diagnosis;

  self->work = WORK_NONE;
  if (self->close_when_idle)
    {
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT))
    {
      /* The schema and history read, but pages inside the tables do not. */
      d->state = MW_STATE_CORRUPT;
      g_free (d->message);
      d->message = g_strdup (_("The database is damaged: some of its pages cannot be read. "
                               "Nothing has been changed."));
      g_free (d->detail);
      d->detail = g_strdup (error->message);
      mw_log_add ("Quick check: %s", error->message);
    }
  else if (error != NULL)
    mw_log_add ("Quick check not done: %s", error->message);
  else
    {
      self->quick_checked = TRUE;
      mw_log_add ("Quick check: %s", report->summary);
    }

  fill_checks (self, self->checks_list, d);
  route (self);
}

static void
diagnose_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(MwWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  MwDiagnosis *diagnosis = mw_diagnose_finish (result, &error);

  self->work = WORK_NONE;
  if (self->close_when_idle)
    {
      g_clear_pointer (&diagnosis, mw_diagnosis_unref);
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  if (diagnosis == NULL)
    {
      const Choice choices[] = {
        { _("_Quit"), "wizard.cancel", NULL, FALSE, FALSE, TRUE, NULL },
        { _("_Try Again"), "wizard.retry", NULL, TRUE, FALSE, TRUE, NULL },
      };
      set_exit_status (self, MW_EXIT_INTERNAL);
      show_problem (self, "check-failed", "dialog-error-symbolic",
                    _("The Database Could Not Be Checked"), error->message, NULL, choices,
                    G_N_ELEMENTS (choices));
      return;
    }

  g_clear_pointer (&self->diagnosis, mw_diagnosis_unref);
  self->diagnosis = diagnosis;

  /* Opened by a person (the POS will not start, a technician looks): read every
   * page too, so damage inside the tables is found now rather than mid-update.
   * After an update the migrate preflight does the same check. */
  if (!self->options->after_update && diagnosis->exists &&
      (diagnosis->state == MW_STATE_UP_TO_DATE || diagnosis->state == MW_STATE_PENDING))
    {
      self->work = WORK_CHECK;
      fill_checks (self, self->checks_list, diagnosis);
      mw_verify_async (self->options->database, FALSE, NULL, self->cancellable,
                       quick_check_cb, g_object_ref (self));
      return;
    }

  fill_checks (self, self->checks_list, diagnosis);
  route (self);
}

static void
start_check (MwWindow *self)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_clear_pointer (&self->problem_id, g_free);
  self->quick_checked = FALSE;

  gtk_window_set_title (GTK_WINDOW (self), _("Migration Wizard"));
  gtk_widget_set_visible (GTK_WIDGET (self->checking_text), FALSE);
  clear_list (self->checks_list);
  add_check (self->checks_list, CHECK_WAITING, _("Database"), database_name (self));
  show_page (self, "checking", NULL);

  /* The migrations are the app's own files: read them again on every check, so
   * a technician who fixed the installation can just choose Try Again. */
  g_clear_object (&self->set);
  g_clear_error (&self->set_error);
  {
    g_autofree char *folder = mw_migrations_locate (self->options->migrations,
                                                    self->options->config_migrations,
                                                    &self->set_error);
    if (folder != NULL)
      self->set = mw_migration_set_load (folder, &self->set_error);
  }
  if (self->set == NULL)
    {
      g_clear_pointer (&self->diagnosis, mw_diagnosis_unref);
      self->diagnosis = mw_diagnosis_new_for_error (self->options->database, self->set_error);
      fill_checks (self, self->checks_list, self->diagnosis);
      route (self);
      return;
    }

  self->work = WORK_CHECK;
  mw_diagnose_async (self->options->database, self->set, self->cancellable, diagnose_cb,
                     g_object_ref (self));
}

/* Working page plumbing: the bar and the phase follow the progress object. */

static void
progress_notify_cb (MwProgress *progress,
                    GParamSpec *pspec,
                    MwWindow   *self)
{
  g_autofree char *message = mw_progress_dup_message (progress);
  gboolean cancellable = mw_progress_get_cancellable (progress);

  gtk_progress_bar_set_fraction (self->work_bar, mw_progress_get_fraction (progress));
  if (message != NULL)
    gtk_label_set_text (self->work_phase, message);

  gtk_widget_set_sensitive (GTK_WIDGET (self->work_cancel),
                            cancellable && !g_cancellable_is_cancelled (self->cancellable));
  if (g_cancellable_is_cancelled (self->cancellable))
    gtk_label_set_text (self->work_note, _("Cancelling: undoing what was started…"));
  else if (cancellable)
    gtk_label_set_text (self->work_note,
                        self->work == WORK_MIGRATE
                        ? _("You can cancel until the update is saved: the database is then "
                            "exactly as it was.")
                        : _("You can cancel until the files are swapped: nothing will have "
                            "changed."));
  else
    gtk_label_set_text (self->work_note,
                        _("This step cannot be stopped safely. Please wait; it will not take "
                          "long."));
}

static void
begin_work (MwWindow   *self,
            WorkKind    kind,
            const char *title)
{
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  if (self->progress != NULL)
    g_signal_handlers_disconnect_by_func (self->progress, progress_notify_cb, self);
  g_clear_object (&self->progress);
  self->progress = mw_progress_new ();
  g_signal_connect (self->progress, "notify", G_CALLBACK (progress_notify_cb), self);

  self->work = kind;
  gtk_label_set_text (self->work_title, title);
  gtk_label_set_text (self->work_phase, _("Starting"));
  gtk_progress_bar_set_fraction (self->work_bar, 0.0);
  progress_notify_cb (self->progress, NULL, self);
  gtk_window_set_title (GTK_WINDOW (self), title);
  mw_log_add ("Started: %s", title);
  present (self);
  show_page (self, "working", GTK_WIDGET (self->work_cancel));
}

static void
end_work (MwWindow *self)
{
  self->work = WORK_NONE;
  if (self->progress != NULL)
    g_signal_handlers_disconnect_by_func (self->progress, progress_notify_cb, self);
}

static char *
describe_failure (MwWindow     *self,
                  const GError *error)
{
  GString *detail = g_string_new (NULL);
  MwBackup *backup = self->migrator ? mw_migrator_get_backup (self->migrator) : NULL;

  g_string_append_printf (detail, "%s\n", error->message);
  if (self->migrator != NULL)
    {
      const char *tag = mw_migrator_get_failed_tag (self->migrator);
      const char *sql = mw_migrator_get_failed_sql (self->migrator);
      GPtrArray *violations = mw_migrator_get_violations (self->migrator);

      if (tag != NULL)
        g_string_append_printf (detail, _("Migration: %s, statement %u\n"), tag,
                                mw_migrator_get_failed_statement (self->migrator) + 1);
      if (sql != NULL)
        g_string_append_printf (detail, _("Statement: %s\n"), sql);
      for (guint i = 0; violations != NULL && i < violations->len; i++)
        g_string_append_printf (detail, "%s\n", (const char *) g_ptr_array_index (violations, i));
    }
  if (backup != NULL)
    g_string_append_printf (detail, _("Backup made before: %s\n"), backup->path);
  g_string_append_printf (detail, _("Database: %s\n"), self->options->database);
  return g_string_free (detail, FALSE);
}

/* After a new backup: the oldest beyond the retention go (never the one just made). */
static void
prune_backups (MwWindow *self,
               MwBackup *keep)
{
  const MwRetention *retention = self->options->retention.keep[MW_BACKUP_REASON_PRE_MIGRATION]
                                 ? &self->options->retention : NULL;
  const char *protect[] = { keep ? keep->path : NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) removed = mw_backup_prune (self->options->backup_dir, retention,
                                                  protect, &error);

  if (removed == NULL)
    mw_log_add ("Pruning backups: %s", error->message);
}

static void
prune_aside_sets (MwWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) removed = NULL;

  removed = mw_prune_aside_sets (self->options->database, self->options->backup_dir,
                                 self->options->keep_old_sets ? self->options->keep_old_sets : 3,
                                 &error);
  if (removed == NULL)
    mw_log_add ("Pruning kept databases: %s", error->message);
}

static void
migrate_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(MwWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  MwMigrator *migrator = MW_MIGRATOR (object);
  gboolean ok = mw_migrator_run_finish (migrator, result, &error);

  end_work (self);
  if (self->close_when_idle)
    {
      set_exit_status (self, ok ? 0 : mw_exit_code_for_error (error));
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }

  if (ok)
    {
      GPtrArray *applied = mw_migrator_get_applied (migrator);
      MwBackup *backup = mw_migrator_get_backup (migrator);
      GString *text = g_string_new (NULL);
      g_autofree char *body = NULL;

      mw_log_add ("Applied %u updates", applied->len);
      if (backup != NULL)
        prune_backups (self, backup);
      g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE, "%u update was applied:",
                                                 "%u updates were applied:", applied->len),
                              applied->len);
      for (guint i = 0; i < applied->len; i++)
        g_string_append_printf (text, "\n  • %s", (const char *) g_ptr_array_index (applied, i));
      if (backup != NULL)
        {
          g_autofree char *folder = g_path_get_dirname (backup->path);
          g_autofree char *file = g_path_get_basename (backup->path);

          g_string_append_printf (text, _("\n\nA backup of the database as it was before is "
                                          "kept as %s in the folder %s."), file, folder);
        }
      g_string_append (text, _("\n\nThe POS can start."));
      body = g_string_free (text, FALSE);
      finish_ready (self, _("The database is up to date"), body);
      return;
    }

  g_free (self->failure_detail);
  self->failure_detail = describe_failure (self, error);
  mw_log_add ("Update failed: %s", error->message);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      const Choice choices[] = {
        { _("_Close"), "wizard.close", NULL, FALSE, FALSE, TRUE, NULL },
        { _("_Try Again"), "wizard.retry", NULL, TRUE, FALSE, TRUE, NULL },
      };
      set_exit_status (self, MW_EXIT_CANCELLED);
      show_problem (self, "cancelled", "dialog-information-symbolic", _("Update Cancelled"),
                    _("The update was cancelled. Nothing was changed: the database is exactly "
                      "as it was."),
                    self->failure_detail, choices, G_N_ELEMENTS (choices));
      return;
    }

  set_exit_status (self, mw_exit_code_for_error (error));
  if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED))
    show_retry_problem (self, "locked", "system-lock-screen-symbolic", _("Database Locked"),
                        error->message, self->failure_detail, _("_Cancel"));
  else if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_NO_SPACE))
    show_retry_problem (self, "no-space", "drive-harddisk-symbolic", _("Not Enough Disk Space"),
                        error->message, self->failure_detail, _("_Quit"));
  else if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BACKUP_FAILED))
    show_retry_problem (self, "backup-failed", "dialog-error-symbolic", _("Backup Failed"),
                        error->message, self->failure_detail, _("_Cancel"));
  else if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT))
    offer_recovery (self, "corrupt", _("Database Corruption Detected"), error->message,
                    self->failure_detail, FALSE, TRUE);
  else if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED) &&
           self->diagnosis != NULL)
    start_check (self);
  else
    {
      g_autofree char *text = g_strdup_printf (_("%s\n\nThe database was not changed."),
                                               error->message);
      offer_recovery (self, "migration-failed", _("Database Migration Failed"),
                      g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CHECK_FAILED)
                      ? error->message : text,
                      self->failure_detail, TRUE, FALSE);
    }
}

static void
update_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);

  if (self->work != WORK_NONE || self->set == NULL)
    return;

  g_clear_object (&self->migrator);
  self->migrator = mw_migrator_new (self->options->database, self->set);
  mw_migrator_set_backup (self->migrator, TRUE, self->options->backup_dir);
  if (self->options->busy_timeout_ms > 0)
    mw_migrator_set_busy_timeout (self->migrator, self->options->busy_timeout_ms);

  begin_work (self, WORK_MIGRATE, _("Updating the database"));
  g_signal_handlers_disconnect_by_func (self->progress, progress_notify_cb, self);
  g_clear_object (&self->progress);
  self->progress = g_object_ref (mw_migrator_get_progress (self->migrator));
  g_signal_connect (self->progress, "notify", G_CALLBACK (progress_notify_cb), self);

  mw_migrator_run_async (self->migrator, self->cancellable, migrate_cb, g_object_ref (self));
}

static void
operation_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(MwWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;
  WorkKind kind = self->work;
  gboolean ok;

  aside = mw_operation_finish (result, &ok, &error);
  end_work (self);
  if (self->close_when_idle)
    {
      set_exit_status (self, ok ? 0 : mw_exit_code_for_error (error));
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }

  if (ok)
    {
      g_autofree char *text = NULL;
      g_autofree char *folder = aside ? g_path_get_dirname (aside) : NULL;
      g_autofree char *file = aside ? g_path_get_basename (aside) : NULL;
      const char *title = kind == WORK_RESTORE ? _("The backup was restored")
                        : kind == WORK_REPAIR_SWAP ? _("The repaired database is in use")
                        : _("A new database was started");

      if (aside != NULL)
        text = g_strdup_printf (_("The previous database was kept, unchanged, as %s in the "
                                  "folder %s, together with a backup of it in %s.\n\nChoose "
                                  "Check Again to see whether updates are needed."),
                                file, folder, self->options->backup_dir);
      else
        text = g_strdup (_("Choose Check Again to see whether updates are needed."));
      mw_log_add ("%s%s%s", title, aside ? "; kept " : "", aside ? aside : "");
      prune_aside_sets (self);
      set_exit_status (self, 0);
      gtk_label_set_text (self->done_title, title);
      gtk_label_set_text (self->done_text, text);
      gtk_window_set_title (GTK_WINDOW (self), title);
      show_page (self, "done", GTK_WIDGET (self->done_check_again));
      return;
    }

  {
    const Choice choices[] = {
      { _("_Close"), "wizard.close", NULL, FALSE, FALSE, TRUE, NULL },
      { _("Check _Again"), "wizard.retry", NULL, TRUE, FALSE, TRUE, NULL },
    };
    g_autofree char *text = NULL;

    mw_log_add ("Failed: %s", error->message);
    set_exit_status (self, mw_exit_code_for_error (error));
    text = g_strdup_printf (_("%s\n\nYour database and your backups were left as they were."),
                            error->message);
    show_problem (self, "operation-failed", "dialog-error-symbolic",
                  kind == WORK_RESTORE ? _("Restore Failed")
                  : kind == WORK_REPAIR_SWAP ? _("The Repaired Database Could Not Be Used")
                  : _("Start Fresh Failed"),
                  g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                  ? _("Cancelled. Nothing was changed.") : text,
                  error->message, choices, G_N_ELEMENTS (choices));
  }
}

/* Confirmations: a destructive choice says what is kept and where. */

static void
confirm (MwWindow    *self,
         ConfirmKind  kind,
         const char  *title,
         const char  *text,
         const char  *do_label)
{
  const Choice choices[] = {
    { _("_Cancel"), "wizard.cancel", NULL, TRUE, FALSE, TRUE, NULL },
    { do_label, "wizard.confirm", NULL, FALSE, TRUE, TRUE, NULL },
  };

  g_free (self->return_problem);
  self->return_problem = g_strdup (self->problem_id);
  self->confirm = kind;
  show_problem (self, kind == CONFIRM_RESTORE ? "confirm-restore" : "confirm-fresh",
                "dialog-question-symbolic", title, text, NULL, choices,
                G_N_ELEMENTS (choices));
}

static MwBackup *
find_backup (MwWindow   *self,
             const char *path)
{
  g_autoptr(GPtrArray) backups = mw_backup_list (self->options->backup_dir, NULL);

  for (guint i = 0; backups != NULL && i < backups->len; i++)
    {
      MwBackup *b = g_ptr_array_index (backups, i);

      if (g_str_equal (b->path, path))
        return mw_backup_ref (b);
    }
  return NULL;
}

static void
restore_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);
  const char *path = parameter ? g_variant_get_string (parameter, NULL) : "";
  g_autofree char *text = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *file = NULL;
  g_autofree char *created = NULL;
  g_autofree char *db_folder = g_path_get_dirname (self->options->database);
  g_autofree char *db_file = g_path_get_basename (self->options->database);
  MwBackup *backup;

  if (self->work != WORK_NONE)
    return;

  if (*path != '\0')
    {
      g_clear_pointer (&self->offered_backup, mw_backup_unref);
      self->offered_backup = find_backup (self, path);
    }
  else if (self->offered_backup == NULL)
    self->offered_backup = find_default_backup (self);
  backup = self->offered_backup;
  if (backup == NULL || !backup->verified)
    {
      const Choice choices[] = {
        { _("_Close"), "wizard.close", NULL, FALSE, FALSE, TRUE, NULL },
        { _("Check _Again"), "wizard.retry", NULL, TRUE, FALSE, TRUE, NULL },
      };
      g_autofree char *why = g_strdup_printf (_("No usable backup was found in %s. Nothing "
                                                "was changed."), self->options->backup_dir);
      show_problem (self, "no-backup", "dialog-error-symbolic", _("No Usable Backup"), why,
                    backup && backup->problem ? backup->problem : NULL, choices,
                    G_N_ELEMENTS (choices));
      return;
    }

  folder = g_path_get_dirname (backup->path);
  file = g_path_get_basename (backup->path);
  created = g_date_time_format (backup->created, "%Y-%m-%d %H:%M:%S");
  text = g_strdup_printf (_("The backup %s (made %s, in the folder %s) will replace the "
                            "database.\n\nThe current database is not deleted: it is backed "
                            "up and kept as %s.old.<date-time> in the folder %s. Anything "
                            "recorded after the backup was made is only in that kept file."),
                          file, created, folder, db_file, db_folder);
  confirm (self, CONFIRM_RESTORE, _("Restore from Backup?"), text, _("_Restore"));
}

static void
fresh_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);
  g_autofree char *text = NULL;
  g_autofree char *db_folder = g_path_get_dirname (self->options->database);
  g_autofree char *db_file = g_path_get_basename (self->options->database);

  if (self->work != WORK_NONE || self->set == NULL)
    return;

  text = g_strdup_printf (_("The POS will start with an empty database: no sales, products "
                            "or staff.\n\nNothing is deleted: a backup is made in %s, and the "
                            "current database is kept as %s.old.<date-time> in the folder %s, "
                            "so a technician can bring the data back."),
                          self->options->backup_dir, db_file, db_folder);
  confirm (self, CONFIRM_FRESH, _("Back Up and Start Fresh?"), text,
           _("Backup & Start _Fresh"));
}

static void
confirm_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);
  ConfirmKind kind = self->confirm;

  if (self->work != WORK_NONE || kind == CONFIRM_NONE || kind == CONFIRM_REPAIR)
    return;
  self->confirm = CONFIRM_NONE;

  if (kind == CONFIRM_RESTORE)
    {
      begin_work (self, WORK_RESTORE, _("Restoring the backup"));
      mw_restore_async (self->options->database, self->offered_backup,
                        self->options->backup_dir, self->set, self->progress,
                        self->cancellable, operation_cb, g_object_ref (self));
    }
  else
    {
      begin_work (self, WORK_FRESH, _("Starting with a new database"));
      mw_fresh_start_async (self->options->database, self->options->backup_dir, self->set,
                            self->progress, self->cancellable, operation_cb,
                            g_object_ref (self));
    }
}

/* Try Repair: a repaired copy and its report first; then a person chooses. */

static void
repair_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(MwWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  MwRepairReport *report = mw_repair_finish (result, &error);

  end_work (self);
  if (self->close_when_idle)
    {
      g_clear_pointer (&report, mw_repair_report_unref);
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  g_clear_pointer (&self->repair, mw_repair_report_unref);
  self->repair = report;

  if (report == NULL)
    {
      const Choice choices[] = {
        { _("_Close"), "wizard.close", NULL, FALSE, FALSE, TRUE, NULL },
        { _("Check _Again"), "wizard.retry", NULL, TRUE, FALSE, TRUE, NULL },
      };

      mw_log_add ("Repair failed: %s", error->message);
      show_problem (self, "repair-failed", "dialog-error-symbolic", _("Repair Failed"),
                    g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                    ? _("Cancelled. Nothing was changed.")
                    : _("Nothing could be recovered automatically. The damaged database was "
                        "not changed; Backup & Start Fresh, or a technician, can still help."),
                    error->message, choices, G_N_ELEMENTS (choices));
      return;
    }

  {
    const Choice choices[] = {
      { _("_Keep the Original"), "wizard.cancel", NULL, TRUE, FALSE, TRUE, NULL },
      { _("_Use the Repaired Database"), "wizard.use-repaired", NULL, FALSE, TRUE, TRUE, NULL },
    };
    g_autofree char *table = mw_repair_report_to_text (report);
    g_autofree char *db_file = g_path_get_basename (self->options->database);
    g_autofree char *db_folder = g_path_get_dirname (self->options->database);
    g_autofree char *copy_file = g_path_get_basename (report->repaired_path);
    g_autofree char *lost = report->lost >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, report->lost)
                                              : g_strdup (_("an unknown number of"));
    g_autofree char *text = NULL;

    text = g_strdup_printf (_("%lld rows were recovered; %s rows could not be read and are "
                              "lost.\n\nUse the repaired database? The damaged one is not "
                              "deleted: it is kept, exactly as it is now, as %s.old.<date-time> "
                              "in the folder %s (and a copy is in the backups). The repaired copy "
                              "is %s."),
                            (long long) report->recovered, lost, db_file, db_folder, copy_file);
    self->confirm = CONFIRM_REPAIR;
    g_free (self->return_problem);
    self->return_problem = g_strdup ("corrupt");
    mw_log_add ("Repair: %" G_GINT64_FORMAT " rows recovered into %s", report->recovered,
                report->repaired_path);
    show_problem (self, "repair-report", "dialog-question-symbolic", _("Repair Finished"), text,
                  table, choices, G_N_ELEMENTS (choices));
    gtk_expander_set_expanded (self->problem_expander, TRUE);
  }
}

static void
repair_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);

  if (self->work != WORK_NONE)
    return;
  begin_work (self, WORK_REPAIR, _("Repairing the database"));
  mw_repair_async (self->options->database, self->options->backup_dir, self->progress,
                   self->cancellable, repair_cb, g_object_ref (self));
}

static void
use_repaired_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);

  if (self->work != WORK_NONE || self->repair == NULL || self->confirm != CONFIRM_REPAIR)
    return;
  self->confirm = CONFIRM_NONE;
  begin_work (self, WORK_REPAIR_SWAP, _("Putting the repaired database in place"));
  mw_repair_swap_async (self->options->database, self->repair->repaired_path,
                        self->cancellable, operation_cb, g_object_ref (self));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);

  if (self->work != WORK_NONE)
    {
      if (self->progress == NULL || mw_progress_get_cancellable (self->progress))
        {
          mw_log_add ("Cancel requested");
          g_cancellable_cancel (self->cancellable);
          if (self->progress != NULL)
            progress_notify_cb (self->progress, NULL, self);
        }
      return;
    }

  /* Cancel on a confirmation goes back to the choices; anywhere else it stops,
   * leaving everything as it was. */
  if (self->confirm != CONFIRM_NONE && self->diagnosis != NULL)
    {
      self->confirm = CONFIRM_NONE;
      if (g_strcmp0 (self->return_problem, "migration-failed") == 0)
        offer_recovery (self, "migration-failed", _("Database Migration Failed"),
                        _("An update could not be applied. The database was not changed."),
                        self->failure_detail, TRUE, FALSE);
      else
        route (self);
      return;
    }
  self->confirm = CONFIRM_NONE;
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
retry_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);

  if (self->work == WORK_NONE)
    start_check (self);
}

static void
close_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  gtk_window_close (GTK_WINDOW (widget));
}

static void
details_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);

  if (self->technician == NULL)
    {
      self->technician = GTK_WINDOW (mw_technician_window_new (self));
      g_object_add_weak_pointer (G_OBJECT (self->technician), (gpointer *) &self->technician);
    }
  gtk_window_present (self->technician);
}

static gboolean
mw_window_close_request (GtkWindow *window)
{
  MwWindow *self = MW_WINDOW (window);

  if (self->work == WORK_NONE)
    return GTK_WINDOW_CLASS (mw_window_parent_class)->close_request (window);

  /* Closing while working: cancel where that is safe and close once the worker
   * has finished; never leave a worker running without its window. */
  self->close_when_idle = TRUE;
  if (self->progress == NULL || mw_progress_get_cancellable (self->progress))
    g_cancellable_cancel (self->cancellable);
  if (self->progress != NULL)
    progress_notify_cb (self->progress, NULL, self);
  return TRUE;
}

static void
mw_window_dispose (GObject *object)
{
  MwWindow *self = MW_WINDOW (object);

  if (self->technician != NULL)
    gtk_window_destroy (self->technician);
  if (self->progress != NULL)
    g_signal_handlers_disconnect_by_func (self->progress, progress_notify_cb, self);
  g_clear_pointer (&self->lock, mw_instance_lock_release);
  /* GtkWindow disposes its child (the template's stack) itself. */

  G_OBJECT_CLASS (mw_window_parent_class)->dispose (object);
}

static void
mw_window_finalize (GObject *object)
{
  MwWindow *self = MW_WINDOW (object);

  g_clear_pointer (&self->options, mw_wizard_options_free);
  g_clear_object (&self->set);
  g_clear_error (&self->set_error);
  g_clear_pointer (&self->diagnosis, mw_diagnosis_unref);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->progress);
  g_clear_object (&self->migrator);
  g_clear_pointer (&self->offered_backup, mw_backup_unref);
  g_clear_pointer (&self->repair, mw_repair_report_unref);
  g_free (self->problem_id);
  g_free (self->return_problem);
  g_free (self->recovered);
  g_free (self->failure_text);
  g_free (self->failure_detail);

  G_OBJECT_CLASS (mw_window_parent_class)->finalize (object);
}

static void
mw_window_class_init (MwWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = mw_window_dispose;
  object_class->finalize = mw_window_finalize;
  window_class->close_request = mw_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/com/aurswift/MigrationWizard/mw-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MwWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, notice_label);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, details_button);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, checking_title);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, checking_text);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, checks_list);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, ready_title);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, ready_text);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, ready_checks);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, update_button);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_title);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_phase);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_bar);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_note);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_cancel);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, done_title);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, done_text);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, done_check_again);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, done_close);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, problem_icon);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, problem_title);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, problem_text);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, problem_expander);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, problem_detail);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, problem_buttons);

  gtk_widget_class_install_action (widget_class, "wizard.update", NULL, update_action);
  gtk_widget_class_install_action (widget_class, "wizard.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "wizard.retry", NULL, retry_action);
  gtk_widget_class_install_action (widget_class, "wizard.close", NULL, close_action);
  gtk_widget_class_install_action (widget_class, "wizard.restore", "s", restore_action);
  gtk_widget_class_install_action (widget_class, "wizard.fresh", NULL, fresh_action);
  gtk_widget_class_install_action (widget_class, "wizard.confirm", NULL, confirm_action);
  gtk_widget_class_install_action (widget_class, "wizard.repair", NULL, repair_action);
  gtk_widget_class_install_action (widget_class, "wizard.use-repaired", NULL, use_repaired_action);
  gtk_widget_class_install_action (widget_class, "wizard.details", NULL, details_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "wizard.cancel", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_d, GDK_CONTROL_MASK,
                                       "wizard.details", NULL);
}

static void
mw_window_init (MwWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * mw_window_new:
 *
 * Creates the wizard for @options' database; mw_window_start() begins the work.
 */
MwWindow *
mw_window_new (MwApplication         *application,
               const MwWizardOptions *options)
{
  MwWindow *self;

  g_return_val_if_fail (options != NULL, NULL);

  self = g_object_new (MW_TYPE_WINDOW, "application", application, NULL);
  self->options = mw_wizard_options_copy (options);
  return self;
}

/**
 * mw_window_start:
 *
 * Finishes or undoes an operation a crash interrupted, takes the database's
 * instance lock (one wizard per database), then checks the database.
 */
void
mw_window_start (MwWindow *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (MW_IS_WINDOW (self));

  g_clear_pointer (&self->recovered, g_free);
  self->recovered = mw_operation_recover (self->options->database, &error);
  if (error != NULL)
    {
      const Choice choices[] = {
        { _("_Quit"), "wizard.cancel", NULL, TRUE, FALSE, TRUE, NULL },
      };
      set_exit_status (self, MW_EXIT_UNREADABLE);
      show_problem (self, "recovery-failed", "dialog-error-symbolic",
                    _("An Interrupted Operation Could Not Be Finished"), error->message,
                    NULL, choices, G_N_ELEMENTS (choices));
      return;
    }
  if (self->recovered != NULL)
    {
      /* An operation a crash interrupted was finished or undone: say so on every
       * page, not only in the log. */
      mw_log_add ("%s", self->recovered);
      gtk_label_set_text (self->notice_label, self->recovered);
      gtk_widget_set_visible (GTK_WIDGET (self->notice_label), TRUE);
    }

  self->lock = mw_instance_lock_acquire (self->options->database, &error);
  if (self->lock == NULL)
    {
      const Choice choices[] = {
        { _("_Quit"), "wizard.cancel", NULL, TRUE, FALSE, TRUE, NULL },
      };
      set_exit_status (self, MW_EXIT_LOCKED);
      show_problem (self, "already-running", "system-lock-screen-symbolic",
                    _("Migration Wizard Is Already Running"), error->message, NULL, choices,
                    G_N_ELEMENTS (choices));
      return;
    }

  start_check (self);
}

/**
 * mw_window_get_page:
 *
 * Returns: the visible page: `checking`, `ready`, `working`, `done` or `problem`
 */
const char *
mw_window_get_page (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->stack);
}

/**
 * mw_window_get_problem:
 *
 * Returns: (nullable): which problem or confirmation the problem page shows
 *   (`corrupt`, `locked`, `confirm-fresh`, …)
 */
const char *
mw_window_get_problem (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return g_str_equal (mw_window_get_page (self), "problem") ? self->problem_id : NULL;
}

/**
 * mw_window_get_title_text:
 *
 * Returns: the visible page's title
 */
const char *
mw_window_get_title_text (MwWindow *self)
{
  const char *page = mw_window_get_page (self);

  if (g_str_equal (page, "checking"))
    return gtk_label_get_text (self->checking_title);
  if (g_str_equal (page, "ready"))
    return gtk_label_get_text (self->ready_title);
  if (g_str_equal (page, "working"))
    return gtk_label_get_text (self->work_title);
  if (g_str_equal (page, "done"))
    return gtk_label_get_text (self->done_title);
  return gtk_label_get_text (self->problem_title);
}

/**
 * mw_window_get_phase_text:
 *
 * Returns: what the working page says is happening ("Applying update 3 of 7: …")
 */
const char *
mw_window_get_phase_text (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return gtk_label_get_text (self->work_phase);
}

/**
 * mw_window_get_notice:
 *
 * Returns: (nullable): what the start-up recovery reported, shown above the pages
 */
const char *
mw_window_get_notice (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->notice_label))
         ? gtk_label_get_text (self->notice_label) : NULL;
}

static void
collect_buttons (GtkWidget *widget,
                 GPtrArray *buttons)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (!gtk_widget_get_visible (child))
        continue;
      if (GTK_IS_BUTTON (child))
        g_ptr_array_add (buttons, child);
      else
        collect_buttons (child, buttons);
    }
}

/**
 * mw_window_list_buttons:
 *
 * Returns: (transfer container) (element-type GtkButton): the visible page's
 *   buttons, in order
 */
GPtrArray *
mw_window_list_buttons (MwWindow *self)
{
  GPtrArray *buttons = g_ptr_array_new ();

  g_return_val_if_fail (MW_IS_WINDOW (self), buttons);
  collect_buttons (gtk_stack_get_visible_child (self->stack), buttons);
  return buttons;
}

gboolean
mw_window_is_busy (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), FALSE);
  return self->work != WORK_NONE;
}

MwDiagnosis *
mw_window_get_diagnosis (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return self->diagnosis;
}

MwMigrationSet *
mw_window_get_set (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return self->set;
}

const MwWizardOptions *
mw_window_get_options (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return self->options;
}
