/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-gui"

#include "config.h"

#include <string.h>
#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "mw-support.h"
#include "mw-technician-window.h"

/*
 * The technician view: everything a support technician asks about, one window
 * reachable from every page of the wizard (Technician Details, Ctrl+D). It reads;
 * the only thing it changes is through the wizard's own Restore action, which goes
 * through the same confirmation as everywhere else.
 */

struct _MwTechnicianWindow
{
  GtkWindow         parent_instance;

  /* Template widgets */
  GtkNotebook      *notebook;
  GtkGrid          *migrations_grid;
  GtkLabel         *backups_label;
  GtkListBox       *backups_list;
  GtkBox           *aside_box;
  GtkListBox       *aside_list;
  GtkGrid          *facts_grid;
  GtkButton        *integrity_button;
  GtkProgressBar   *integrity_bar;
  GtkLabel         *integrity_result;
  GtkLabel         *log_label;
  GtkTextView      *log_view;
  GtkLabel         *status_label;
  GtkButton        *close_button;
  GtkLabel         *schema_label;   /* the Schema page, built in init */

  /* Owned */
  MwWindow         *wizard;         /* (weak) */
  MwDatabaseFacts  *facts;
  GCancellable     *cancellable;
  MwProgress       *integrity_progress;
  guint             log_timeout;

  /* Flags */
  guint             checking : 1;
  guint             backing_up : 1;
};

G_DEFINE_FINAL_TYPE (MwTechnicianWindow, mw_technician_window, GTK_TYPE_WINDOW)

static void
clear_grid (GtkGrid *grid)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (grid))) != NULL)
    gtk_grid_remove (grid, child);
}

static GtkWidget *
cell (const char *text,
      gboolean    heading)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  if (heading)
    gtk_widget_add_css_class (label, "heading");
  return label;
}

static void
fill_migrations (MwTechnicianWindow *self)
{
  MwDiagnosis *d = self->wizard ? mw_window_get_diagnosis (self->wizard) : NULL;
  const char *headings[] = { _("Migration"), _("Date"), _("Hash"), _("Status") };
  int row = 0;

  clear_grid (self->migrations_grid);
  for (guint c = 0; c < G_N_ELEMENTS (headings); c++)
    gtk_grid_attach (self->migrations_grid, cell (headings[c], TRUE), (int) c, row, 1, 1);
  row++;

  if (d == NULL || d->migrations == NULL)
    {
      gtk_grid_attach (self->migrations_grid,
                       cell (d ? d->message : _("The database has not been checked yet."),
                             FALSE),
                       0, row, 4, 1);
      return;
    }

  for (guint i = 0; i < d->migrations->len; i++, row++)
    {
      MwMigrationState *m = &g_array_index (d->migrations, MwMigrationState, i);
      g_autofree char *date = mw_format_migration_time (m->migration->when);
      g_autofree char *hash = NULL;
      GtkWidget *sql = gtk_button_new_with_label (_("SQL…"));
      g_autofree char *sql_name = g_strdup_printf (_("SQL of %s"), m->migration->tag);

      /* A changed migration: the hash recorded when it was applied, and the file's now. */
      if (m->status == MW_MIGRATION_STATUS_MODIFIED && m->applied_hash != NULL)
        hash = g_strdup_printf (_("recorded %.12s\nfile now %.12s"), m->applied_hash,
                                m->migration->hash);
      else
        hash = g_strndup (m->migration->hash, 12);
      gtk_grid_attach (self->migrations_grid, cell (m->migration->tag, FALSE), 0, row, 1, 1);
      gtk_grid_attach (self->migrations_grid, cell (date, FALSE), 1, row, 1, 1);
      gtk_grid_attach (self->migrations_grid, cell (hash, FALSE), 2, row, 1, 1);
      gtk_grid_attach (self->migrations_grid,
                       cell (mw_migration_status_label (m->status), FALSE), 3, row, 1, 1);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (sql), "technician.show-sql");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (sql), "u", i);
      gtk_accessible_update_property (GTK_ACCESSIBLE (sql), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      sql_name, -1);
      gtk_widget_set_valign (sql, GTK_ALIGN_START);
      gtk_grid_attach (self->migrations_grid, sql, 4, row, 1, 1);
    }

  for (guint i = 0; d->unknown != NULL && i < d->unknown->len; i++, row++)
    {
      MwAppliedRow *r = g_ptr_array_index (d->unknown, i);
      g_autofree char *date = r->created_at_is_null ? g_strdup ("-")
                                                    : mw_format_migration_time (r->created_at);
      g_autofree char *hash = g_strndup (r->hash ? r->hash : "", 12);

      gtk_grid_attach (self->migrations_grid,
                       cell (r->name ? r->name : _("(not in this app)"), FALSE), 0, row, 1, 1);
      gtk_grid_attach (self->migrations_grid, cell (date, FALSE), 1, row, 1, 1);
      gtk_grid_attach (self->migrations_grid, cell (hash, FALSE), 2, row, 1, 1);
      gtk_grid_attach (self->migrations_grid, cell (_("unknown"), FALSE), 3, row, 1, 1);
    }
}

static void
restore_clicked_cb (GtkButton          *button,
                    MwTechnicianWindow *self)
{
  const char *path = g_object_get_data (G_OBJECT (button), "backup-path");

  if (self->wizard == NULL)
    return;
  gtk_widget_activate_action (GTK_WIDGET (self->wizard), "wizard.restore-backup", "s", path);
  gtk_window_present (GTK_WINDOW (self->wizard));
}

/* Why a backup was made, in words (the sidecar's machine word stays in JSON). */
static const char *
reason_label (MwBackupReason reason)
{
  switch (reason)
    {
    case MW_BACKUP_REASON_PRE_MIGRATION: return _("before an update");
    case MW_BACKUP_REASON_PRE_RESTORE:   return _("before a restore");
    case MW_BACKUP_REASON_PRE_FRESH:     return _("before a fresh start");
    case MW_BACKUP_REASON_PRE_REPAIR:    return _("before a repair");
    case MW_BACKUP_REASON_MANUAL:
    default:                             return _("made by hand");
    }
}

static GtkWidget *
row_button (const char *label,
            const char *accessible,
            const char *action,
            const char *path)
{
  GtkWidget *button = gtk_button_new_with_label (label);

  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  accessible, -1);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "s", path);
  return button;
}

/* The databases restore, fresh start and repair kept aside, and the repaired copies
 * waiting: listed with their sizes, for a technician to find. */
static void
fill_aside_sets (MwTechnicianWindow *self,
                 const char         *database)
{
  g_autofree char *folder = g_path_get_dirname (database);
  g_autofree char *base = g_path_get_basename (database);
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      const char *rest = g_str_has_prefix (name, base) ? name + strlen (base) : NULL;

      if (rest == NULL || g_str_has_suffix (name, "-wal") || g_str_has_suffix (name, "-shm") ||
          g_str_has_suffix (name, "-journal"))
        continue;
      if (g_str_has_prefix (rest, ".old.") || g_str_has_prefix (rest, ".failed.") ||
          g_str_has_prefix (rest, ".repaired"))
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (folder, g_ptr_array_index (names, i), NULL);
      g_autofree char *size = NULL;
      g_autofree char *text = NULL;
      const char *kind;
      GStatBuf st;

      if (g_stat (path, &st) != 0)
        continue;
      size = mw_shop_format_size ((guint64) st.st_size);
      kind = strstr (path, ".old.") ? _("kept aside by a restore, fresh start or repair")
           : strstr (path, ".failed.") ? _("kept aside after a failed update")
           : _("a repaired copy, not in use");
      text = g_strdup_printf ("%s\n%s · %s", (const char *) g_ptr_array_index (names, i), kind,
                              size);
      {
        GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
        g_autofree char *accessible = g_strdup_printf (_("Back up %s to restore it"),
                                                       (const char *) g_ptr_array_index (names, i));

        gtk_box_append (GTK_BOX (row), cell (text, FALSE));
        gtk_widget_set_hexpand (gtk_widget_get_first_child (row), TRUE);
        /* A kept set is restored like any backup: first made one (verified, with its
         * sidecar), then Restore… above. */
        gtk_box_append (GTK_BOX (row), row_button (_("Back Up to Restore"), accessible,
                                                   "technician.backup-aside", path));
        gtk_widget_set_margin_top (row, 6);
        gtk_widget_set_margin_bottom (row, 6);
        gtk_widget_set_margin_start (row, 6);
        gtk_widget_set_margin_end (row, 6);
        gtk_list_box_append (self->aside_list, row);
      }
    }
  gtk_widget_set_visible (GTK_WIDGET (self->aside_box), names->len > 0);
}

static void
fill_backups (MwTechnicianWindow *self)
{
  const MwSettings *options = mw_window_get_settings (self->wizard);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) backups = mw_backup_list (options->backup_dir, &error);
  GtkWidget *child;
  g_autofree char *heading = NULL;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->backups_list))) != NULL)
    gtk_list_box_remove (self->backups_list, child);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->aside_list))) != NULL)
    gtk_list_box_remove (self->aside_list, child);
  fill_aside_sets (self, options->database);

  heading = g_strdup_printf (_("Backups in %s, newest first."), options->backup_dir);
  gtk_label_set_text (self->backups_label, heading);
  if (backups == NULL || backups->len == 0)
    {
      gtk_list_box_append (self->backups_list,
                           cell (error ? error->message : _("No backups yet."), FALSE));
      return;
    }

  for (guint i = 0; i < backups->len; i++)
    {
      MwBackup *b = g_ptr_array_index (backups, i);
      GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
      GtkWidget *button = gtk_button_new_with_label (_("Restore…"));
      g_autofree char *created = g_date_time_format (b->created, "%Y-%m-%d %H:%M:%S");
      g_autofree char *file = g_path_get_basename (b->path);
      g_autofree char *size = g_format_size ((guint64) b->size);
      g_autofree char *command = mw_action_command_line (MW_ACTION_RESTORE, options, b);
      g_autofree char *text = NULL;
      g_autofree char *accessible = NULL;
      g_autofree char *verify_name = g_strdup_printf (_("Verify %s"), file);
      g_autofree char *delete_name = g_strdup_printf (_("Delete %s"), file);

      text = g_strdup_printf ("%s\n%s · %s · %s %s (%u) · %s · %s\n%s", file, created,
                              reason_label (b->reason), _("level"),
                              b->level_tag ? b->level_tag : _("none"), b->level_count, size,
                              b->verified ? _("verified")
                                          : b->problem ? b->problem : _("NOT USABLE"),
                              command);
      gtk_box_append (GTK_BOX (row), cell (text, FALSE));
      gtk_widget_set_hexpand (gtk_widget_get_first_child (row), TRUE);
      g_object_set_data_full (G_OBJECT (button), "backup-path", g_strdup (b->path), g_free);
      accessible = g_strdup_printf (_("Restore %s"), file);
      gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      accessible, -1);
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_set_sensitive (button, b->verified);
      if (!b->verified)
        gtk_widget_set_tooltip_text (button, _("This backup failed its check and cannot be "
                                               "restored"));
      g_signal_connect (button, "clicked", G_CALLBACK (restore_clicked_cb), self);
      gtk_box_append (GTK_BOX (row), row_button (_("Verify"), verify_name,
                                                 "technician.verify-backup", b->path));
      gtk_box_append (GTK_BOX (row), row_button (_("Delete…"), delete_name,
                                                 "technician.delete-backup", b->path));
      gtk_box_append (GTK_BOX (row), button);
      gtk_widget_set_margin_top (row, 6);
      gtk_widget_set_margin_bottom (row, 6);
      gtk_widget_set_margin_start (row, 6);
      gtk_widget_set_margin_end (row, 6);
      gtk_list_box_append (self->backups_list, row);
    }
}

static void
add_fact (GtkGrid    *grid,
          int         row,
          const char *name,
          const char *value)
{
  gtk_grid_attach (grid, cell (name, TRUE), 0, row, 1, 1);
  gtk_grid_attach (grid, cell (value ? value : "—", FALSE), 1, row, 1, 1);
}

/* A fact that is a path: with Open Folder and Copy Path beside it. */
static void
add_path_fact (GtkGrid    *grid,
               int         row,
               const char *name,
               const char *path)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  g_autofree char *folder = g_file_test (path, G_FILE_TEST_IS_DIR) ? g_strdup (path)
                                                                    : g_path_get_dirname (path);
  g_autofree char *open_name = g_strdup_printf (_("Open the folder of %s"), name);
  g_autofree char *copy_name = g_strdup_printf (_("Copy the path of %s"), name);

  gtk_grid_attach (grid, cell (name, TRUE), 0, row, 1, 1);
  gtk_box_append (GTK_BOX (box), cell (path, FALSE));
  gtk_widget_set_hexpand (gtk_widget_get_first_child (box), TRUE);
  gtk_box_append (GTK_BOX (box), row_button (_("Open Folder"), open_name,
                                             "technician.open-folder", folder));
  gtk_box_append (GTK_BOX (box), row_button (_("Copy Path"), copy_name,
                                             "technician.copy-path", path));
  gtk_grid_attach (grid, box, 1, row, 1, 1);
}

static void
fill_facts (MwTechnicianWindow *self)
{
  const MwSettings *options = mw_window_get_settings (self->wizard);
  MwMigrationSet *set = mw_window_get_set (self->wizard);
  MwDatabaseFacts *f = self->facts;
  int row = 0;

  clear_grid (self->facts_grid);
  add_path_fact (self->facts_grid, row++, _("Database"), options->database);
  if (f != NULL)
    {
      g_autofree char *size = g_format_size_full ((guint64) MAX (f->size, 0),
                                                  G_FORMAT_SIZE_LONG_FORMAT);
      g_autofree char *wal = g_format_size ((guint64) f->wal_size);
      g_autofree char *page_size = g_strdup_printf ("%" G_GINT64_FORMAT, f->page_size);
      g_autofree char *pages = g_strdup_printf ("%" G_GINT64_FORMAT " (%" G_GINT64_FORMAT
                                                " %s)", f->page_count, f->freelist_count,
                                                _("free"));

      add_fact (self->facts_grid, row++, _("Size"), f->size >= 0 ? size : NULL);
      add_fact (self->facts_grid, row++, _("Write-ahead log"), wal);
      add_fact (self->facts_grid, row++, _("Page size"), f->page_size > 0 ? page_size : NULL);
      add_fact (self->facts_grid, row++, _("Pages"), f->page_count >= 0 ? pages : NULL);
      add_fact (self->facts_grid, row++, _("Journal mode"), f->journal_mode);
      add_fact (self->facts_grid, row++, _("Text encoding"), f->encoding);
      if (f->error != NULL)
        add_fact (self->facts_grid, row++, _("Could not read"), f->error);
    }
  else
    add_fact (self->facts_grid, row++, _("Size"), _("reading…"));
  add_fact (self->facts_grid, row++, _("SQLite version"), sqlite3_libversion ());
  add_fact (self->facts_grid, row++, _("Wizard version"), PACKAGE_VERSION);
  add_fact (self->facts_grid, row++, _("Migrations folder"),
            set ? mw_migration_set_get_folder (set) : _("not found"));
  add_path_fact (self->facts_grid, row++, _("Backups folder"), options->backup_dir);
}

static void
facts_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(MwTechnicianWindow) self = user_data;
  MwDatabaseFacts *facts = mw_database_facts_read_finish (result, NULL);

  if (facts == NULL)
    return;
  g_clear_pointer (&self->facts, mw_database_facts_free);
  self->facts = facts;
  if (self->wizard != NULL)
    fill_facts (self);
}

/* The log's history across runs (the file beside the backups); this run's lines
 * when the file has none yet (no backups folder). */
static char *
dup_log (MwTechnicianWindow *self)
{
  g_autofree char *path = mw_log_path_for (mw_window_get_settings (self->wizard));
  g_autofree char *history = mw_log_dup_file_text (path);

  return *history != '\0' ? g_steal_pointer (&history) : mw_log_dup_text ();
}

static void
fill_log (MwTechnicianWindow *self)
{
  g_autofree char *log = NULL;
  g_autofree char *path = NULL;
  g_autofree char *heading = NULL;
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->log_view);
  g_autofree char *current = NULL;
  GtkTextIter start, end;

  if (self->wizard == NULL)
    return;
  log = dup_log (self);
  path = mw_log_path_for (mw_window_get_settings (self->wizard));
  heading = g_strdup_printf (_("Every run on this database, oldest first (kept in %s)."), path);
  gtk_label_set_text (self->log_label, heading);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  current = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  if (g_strcmp0 (current, log) != 0)
    {
      gtk_text_buffer_set_text (buffer, log, -1);
      gtk_text_buffer_get_end_iter (buffer, &end);
      gtk_text_view_scroll_to_iter (self->log_view, &end, 0.0, FALSE, 0.0, 1.0);
    }
}

static gboolean
log_timeout_cb (gpointer user_data)
{
  fill_log (user_data);
  return G_SOURCE_CONTINUE;
}

static void
integrity_notify_cb (MwProgress         *progress,
                     GParamSpec         *pspec,
                     MwTechnicianWindow *self)
{
  g_autofree char *message = mw_progress_dup_message (progress);

  gtk_progress_bar_set_fraction (self->integrity_bar, mw_progress_get_fraction (progress));
  if (message != NULL)
    gtk_progress_bar_set_text (self->integrity_bar, message);
}

static void
integrity_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(MwTechnicianWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MwVerifyReport) report = mw_verify_finish (result, &error);

  self->checking = FALSE;
  g_signal_handlers_disconnect_by_func (self->integrity_progress, integrity_notify_cb, self);
  g_clear_object (&self->integrity_progress);
  gtk_widget_set_sensitive (GTK_WIDGET (self->integrity_button), TRUE);
  gtk_progress_bar_set_fraction (self->integrity_bar, 1.0);

  if (error != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The full check found a problem: %s"),
                                               error->message);
      gtk_progress_bar_set_text (self->integrity_bar, _("Problem found"));
      gtk_label_set_text (self->integrity_result, text);
      mw_log_add ("Full integrity check: %s", error->message);
      return;
    }
  gtk_progress_bar_set_text (self->integrity_bar, _("Done"));
  if (report->fk_summary != NULL)
    {
      g_autofree char *text = g_strdup_printf ("%s\n%s", report->summary, report->fk_summary);

      gtk_label_set_text (self->integrity_result, text);
    }
  else
    gtk_label_set_text (self->integrity_result, report->summary);
  mw_log_add ("Full integrity check: %s", report->summary);
}

static void
integrity_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  MwTechnicianWindow *self = MW_TECHNICIAN_WINDOW (widget);

  if (self->checking || self->wizard == NULL)
    return;
  self->checking = TRUE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->integrity_button), FALSE);
  gtk_label_set_text (self->integrity_result, "");
  self->integrity_progress = mw_progress_new ();
  g_signal_connect (self->integrity_progress, "notify", G_CALLBACK (integrity_notify_cb), self);
  mw_verify_async (mw_window_get_settings (self->wizard)->database, TRUE,
                   self->integrity_progress, self->cancellable, integrity_cb,
                   g_object_ref (self));
}

static void
copy_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  MwTechnicianWindow *self = MW_TECHNICIAN_WINDOW (widget);
  g_autofree char *text = NULL;

  if (self->wizard == NULL)
    return;
  text = mw_technician_window_dup_diagnostics (self);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), text);
  gtk_label_set_text (self->status_label, _("Diagnostics copied to the clipboard."));
}

/* What a save dialog writes to the file chosen: the bundle or the log. */
typedef gboolean (*SaveFunc) (MwTechnicianWindow  *self,
                              const char          *path,
                              GError             **error);

static void
save_response_cb (GtkNativeDialog    *dialog,
                  int                 response,
                  MwTechnicianWindow *self)
{
  SaveFunc save = (SaveFunc) g_object_get_data (G_OBJECT (dialog), "mw-save-func");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      if (path != NULL)
        save (self, path, NULL);
    }
  g_object_unref (dialog);
}

/* A save dialog that opens in the backups folder (where a technician looks), proposing
 * @name_format with the time now, and writing the file chosen with @save. */
static void
save_dialog_show (MwTechnicianWindow *self,
                  const char         *title,
                  const char         *name_format,
                  SaveFunc            save)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *name = g_date_time_format (now, name_format);
  const char *dir = self->wizard ? mw_window_get_settings (self->wizard)->backup_dir : NULL;
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new (title, GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_SAVE,
                                        _("_Save"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  if (dir != NULL && g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GFile) folder = g_file_new_for_path (dir);

      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), folder, NULL);
    }
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  g_object_set_data (G_OBJECT (dialog), "mw-save-func", (gpointer) save);
  g_signal_connect (dialog, "response", G_CALLBACK (save_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  save_dialog_show (MW_TECHNICIAN_WINDOW (widget), _("Save Support Bundle"),
                    "migration-wizard-support-%Y%m%d-%H%M%S.json",
                    mw_technician_window_save_bundle);
}

static void
export_log_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  save_dialog_show (MW_TECHNICIAN_WINDOW (widget), _("Export Log"),
                    "migration-wizard-log-%Y%m%d-%H%M%S.txt",
                    mw_technician_window_export_log);
}

/* ---- the toolkit: actions on files, each also a command line ------------------------ */

static void
show_sql_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  MwTechnicianWindow *self = MW_TECHNICIAN_WINDOW (widget);
  MwDiagnosis *d = self->wizard ? mw_window_get_diagnosis (self->wizard) : NULL;
  guint i = g_variant_get_uint32 (parameter);
  MwMigrationState *m;
  g_autofree char *contents = NULL;
  g_autofree char *title = NULL;
  GtkWidget *window, *scrolled, *view;

  if (d == NULL || d->migrations == NULL || i >= d->migrations->len)
    return;
  m = &g_array_index (d->migrations, MwMigrationState, i);
  if (!g_file_get_contents (m->migration->path, &contents, NULL, NULL))
    contents = g_strjoinv ("\n--> statement-breakpoint\n",
                           (char **) m->migration->statements->pdata);
  title = g_strdup_printf (_("%s (SHA-256 %s)"), m->migration->tag, m->migration->hash);
  window = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (window), title);
  gtk_window_set_transient_for (GTK_WINDOW (window), GTK_WINDOW (self));
  gtk_window_set_default_size (GTK_WINDOW (window), 760, 480);
  scrolled = gtk_scrolled_window_new ();
  view = gtk_text_view_new ();
  gtk_text_view_set_editable (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (view), TRUE);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)), contents, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (view), GTK_ACCESSIBLE_PROPERTY_LABEL, title,
                                  -1);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), view);
  gtk_window_set_child (GTK_WINDOW (window), scrolled);
  gtk_window_present (GTK_WINDOW (window));
}

static void
open_folder_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  MwTechnicianWindow *self = MW_TECHNICIAN_WINDOW (widget);
  g_autoptr(GFile) folder = g_file_new_for_path (g_variant_get_string (parameter, NULL));
  g_autofree char *uri = g_file_get_uri (folder);
  g_autoptr(GError) error = NULL;

  if (!g_app_info_launch_default_for_uri (uri, NULL, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not open %s: %s"),
                                               g_variant_get_string (parameter, NULL),
                                               error->message);

      gtk_label_set_text (self->status_label, text);
    }
}

static void
copy_path_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  MwTechnicianWindow *self = MW_TECHNICIAN_WINDOW (widget);
  g_autofree char *text = g_strdup_printf (_("Copied: %s"), g_variant_get_string (parameter, NULL));

  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), g_variant_get_string (parameter, NULL));
  gtk_label_set_text (self->status_label, text);
}

static void
backup_now_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(MwTechnicianWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MwBackup) backup = mw_backup_create_finish (result, &error);
  g_autofree char *text = NULL;

  self->backing_up = FALSE;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "technician.backup-now", TRUE);
  if (backup == NULL)
    text = g_strdup_printf (_("The backup could not be made: %s"), error->message);
  else
    text = g_strdup_printf (_("Backup made and verified: %s"), backup->path);
  gtk_label_set_text (self->status_label, text);
  mw_log_add ("Technician: %s", text);
  if (self->wizard != NULL)
    fill_backups (self);
}

/* Back Up Now (the database), or Back Up to Restore (a set kept aside): a verified
 * backup in the backups folder, which Restore… can then put back. */
static void
backup_now_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  MwTechnicianWindow *self = MW_TECHNICIAN_WINDOW (widget);
  const MwSettings *options;
  const char *source;

  if (self->wizard == NULL || self->backing_up)
    return;
  options = mw_window_get_settings (self->wizard);
  source = parameter != NULL ? g_variant_get_string (parameter, NULL) : options->database;
  self->backing_up = TRUE;
  gtk_widget_action_set_enabled (widget, "technician.backup-now", FALSE);
  gtk_label_set_text (self->status_label, _("Making a backup…"));
  mw_backup_create_async (source, options->backup_dir, MW_BACKUP_REASON_MANUAL,
                          mw_window_get_set (self->wizard), NULL, self->cancellable,
                          backup_now_cb, g_object_ref (self));
}

static void
verify_backup_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  MwTechnicianWindow *self = MW_TECHNICIAN_WINDOW (widget);
  g_autoptr(GError) error = NULL;
  g_autoptr(MwBackup) backup = NULL;
  g_autofree char *text = NULL;

  if (self->wizard == NULL)
    return;
  backup = mw_remedy_choose_backup (mw_window_get_settings (self->wizard)->backup_dir,
                                    g_variant_get_string (parameter, NULL), &error);
  if (backup != NULL && mw_backup_verify (backup, NULL, self->cancellable, &error))
    text = g_strdup_printf (_("%s is sound: its size, its SHA-256 and SQLite's quick check "
                              "all match."), backup->path);
  else
    text = g_strdup_printf (_("The backup failed its check: %s"), error->message);
  gtk_label_set_text (self->status_label, text);
  mw_log_add ("Technician: %s", text);
  fill_backups (self);
}

static void
delete_response_cb (GtkDialog          *dialog,
                    int                 response,
                    MwTechnicianWindow *self)
{
  const char *path = g_object_get_data (G_OBJECT (dialog), "backup-path");

  if (response == GTK_RESPONSE_ACCEPT && self->wizard != NULL)
    mw_technician_window_delete_backup (self, path, NULL);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
delete_backup_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  MwTechnicianWindow *self = MW_TECHNICIAN_WINDOW (widget);
  const char *path = g_variant_get_string (parameter, NULL);
  g_autofree char *file = g_path_get_basename (path);
  GtkWidget *dialog;
  GtkWidget *cancel;

  dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                   _("Delete the backup %s?"), file);
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            _("It cannot be brought back. The newest verified "
                                              "backup is never deleted."));
  cancel = gtk_dialog_add_button (GTK_DIALOG (dialog), _("_Cancel"), GTK_RESPONSE_CANCEL);
  gtk_widget_add_css_class (gtk_dialog_add_button (GTK_DIALOG (dialog), _("_Delete"),
                                                   GTK_RESPONSE_ACCEPT),
                            "destructive-action");
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
  gtk_widget_grab_focus (cancel);
  g_object_set_data_full (G_OBJECT (dialog), "backup-path", g_strdup (path), g_free);
  g_signal_connect (dialog, "response", G_CALLBACK (delete_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
wizard_changed_cb (MwTechnicianWindow *self)
{
  mw_technician_window_refresh (self);
}

/* Its usual size, or the screen's when smaller (an 800×600 remote desktop). */
static void
mw_technician_window_realize (GtkWidget *widget)
{
  GdkDisplay *display = gtk_widget_get_display (widget);
  GListModel *monitors = gdk_display_get_monitors (display);

  GTK_WIDGET_CLASS (mw_technician_window_parent_class)->realize (widget);
  if (g_list_model_get_n_items (monitors) > 0)
    {
      g_autoptr(GdkMonitor) monitor = g_list_model_get_item (monitors, 0);
      GdkRectangle area;
      int width, height;

      gdk_monitor_get_geometry (monitor, &area);
      gtk_window_get_default_size (GTK_WINDOW (widget), &width, &height);
      gtk_window_set_default_size (GTK_WINDOW (widget), MIN (width, area.width - 32),
                                   MIN (height, area.height - 56));
    }
}

static void
mw_technician_window_dispose (GObject *object)
{
  MwTechnicianWindow *self = MW_TECHNICIAN_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->log_timeout, g_source_remove);
  if (self->integrity_progress != NULL)
    g_signal_handlers_disconnect_by_func (self->integrity_progress, integrity_notify_cb, self);
  g_clear_object (&self->integrity_progress);
  if (self->wizard != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->wizard), (gpointer *) &self->wizard);
  self->wizard = NULL;

  gtk_widget_dispose_template (GTK_WIDGET (self), MW_TYPE_TECHNICIAN_WINDOW);

  G_OBJECT_CLASS (mw_technician_window_parent_class)->dispose (object);
}

static void
mw_technician_window_finalize (GObject *object)
{
  MwTechnicianWindow *self = MW_TECHNICIAN_WINDOW (object);

  g_clear_pointer (&self->facts, mw_database_facts_free);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (mw_technician_window_parent_class)->finalize (object);
}

static void
mw_technician_window_class_init (MwTechnicianWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mw_technician_window_dispose;
  object_class->finalize = mw_technician_window_finalize;
  widget_class->realize = mw_technician_window_realize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/com/aurswift/MigrationWizard/mw-technician-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, notebook);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, migrations_grid);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, backups_label);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, backups_list);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, aside_box);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, aside_list);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, facts_grid);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, integrity_button);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, integrity_bar);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, integrity_result);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, log_label);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, log_view);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, MwTechnicianWindow, close_button);

  gtk_widget_class_install_action (widget_class, "technician.integrity", NULL, integrity_action);
  gtk_widget_class_install_action (widget_class, "technician.copy", NULL, copy_action);
  gtk_widget_class_install_action (widget_class, "technician.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "technician.export-log", NULL,
                                   export_log_action);
  gtk_widget_class_install_action (widget_class, "technician.show-sql", "u", show_sql_action);
  gtk_widget_class_install_action (widget_class, "technician.open-folder", "s",
                                   open_folder_action);
  gtk_widget_class_install_action (widget_class, "technician.copy-path", "s", copy_path_action);
  gtk_widget_class_install_action (widget_class, "technician.backup-now", NULL,
                                   backup_now_action);
  gtk_widget_class_install_action (widget_class, "technician.backup-aside", "s",
                                   backup_now_action);
  gtk_widget_class_install_action (widget_class, "technician.verify-backup", "s",
                                   verify_backup_action);
  gtk_widget_class_install_action (widget_class, "technician.delete-backup", "s",
                                   delete_backup_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
mw_technician_window_init (MwTechnicianWindow *self)
{
  GtkWidget *scrolled;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();

  self->schema_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->schema_label, TRUE);
  gtk_label_set_selectable (self->schema_label, TRUE);
  gtk_label_set_xalign (self->schema_label, 0.0);
  gtk_label_set_yalign (self->schema_label, 0.0);
  gtk_widget_set_margin_start (GTK_WIDGET (self->schema_label), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self->schema_label), 12);
  gtk_widget_set_margin_top (GTK_WIDGET (self->schema_label), 12);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->schema_label), 12);
  scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->schema_label));
  gtk_notebook_append_page (self->notebook, scrolled, gtk_label_new (_("Schema")));
}

/**
 * mw_technician_window_dup_schema_text:
 *
 * Returns: (transfer full): what the Schema page shows
 */
char *
mw_technician_window_dup_schema_text (MwTechnicianWindow *self)
{
  g_return_val_if_fail (MW_IS_TECHNICIAN_WINDOW (self), NULL);

  return g_strdup (gtk_label_get_text (self->schema_label));
}

/**
 * mw_technician_window_new:
 * @wizard: the wizard window whose database it describes
 */
MwTechnicianWindow *
mw_technician_window_new (MwWindow *wizard)
{
  MwTechnicianWindow *self;

  g_return_val_if_fail (MW_IS_WINDOW (wizard), NULL);

  self = g_object_new (MW_TYPE_TECHNICIAN_WINDOW,
                       "application", gtk_window_get_application (GTK_WINDOW (wizard)),
                       NULL);
  self->wizard = wizard;
  g_object_add_weak_pointer (G_OBJECT (wizard), (gpointer *) &self->wizard);
  /* A new diagnosis, or a page after a restore or a fresh start: read it all again. */
  g_signal_connect_object (wizard, "notify::diagnosis", G_CALLBACK (wizard_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (wizard, "notify::page", G_CALLBACK (wizard_changed_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->close_button));
  self->log_timeout = g_timeout_add_seconds (1, log_timeout_cb, self);
  mw_technician_window_refresh (self);
  return self;
}

/**
 * mw_technician_window_refresh:
 *
 * Reads everything again: the wizard's diagnosis, the backups folder, the
 * database's facts (in a worker) and the log.
 */
/* The Schema page: the tables against the app's schema, difference by difference, as
 * `migration-wizard schema` prints them (the engine compares them for the states
 * whose history does not fit: untracked, unknown history, changed updates). */
static void
fill_schema (MwTechnicianWindow *self)
{
  MwDiagnosis *d = mw_window_get_diagnosis (self->wizard);
  g_autofree char *text = NULL;

  if (d != NULL && d->schema != NULL)
    text = mw_schema_check_to_text (d->schema, d->set);
  else
    text = g_strdup (_("The tables are compared with the app's schema when the record of the "
                       "updates does not fit the app's updates (no record, an unknown one, or "
                       "changed updates). This database's record fits."));
  gtk_label_set_text (self->schema_label, text);
}

void
mw_technician_window_refresh (MwTechnicianWindow *self)
{
  g_return_if_fail (MW_IS_TECHNICIAN_WINDOW (self));

  if (self->wizard == NULL)
    return;
  fill_schema (self);
  fill_migrations (self);
  fill_backups (self);
  fill_facts (self);
  fill_log (self);
  mw_database_facts_read_async (mw_window_get_settings (self->wizard)->database,
                                self->cancellable, facts_cb, g_object_ref (self));
}

/**
 * mw_technician_window_dup_diagnostics:
 *
 * Returns: (transfer full): what [Copy Diagnostics] puts on the clipboard
 */
char *
mw_technician_window_dup_diagnostics (MwTechnicianWindow *self)
{
  g_return_val_if_fail (MW_IS_TECHNICIAN_WINDOW (self) && self->wizard != NULL, NULL);

  return mw_support_diagnostics_text (mw_window_get_diagnosis (self->wizard),
                                      mw_window_get_settings (self->wizard), self->facts);
}

/**
 * mw_technician_window_save_bundle:
 *
 * Writes the support bundle to @path (what [Save Support Bundle…] does once a
 * file is chosen) and says where in the window's status line.
 */
gboolean
mw_technician_window_save_bundle (MwTechnicianWindow  *self,
                                  const char          *path,
                                  GError             **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *log = mw_log_dup_text ();
  g_autofree char *text = NULL;

  g_return_val_if_fail (MW_IS_TECHNICIAN_WINDOW (self) && self->wizard != NULL, FALSE);

  if (!mw_support_write_bundle (path, mw_window_get_diagnosis (self->wizard),
                                mw_window_get_settings (self->wizard), self->facts, log,
                                &local_error))
    {
      text = g_strdup_printf (_("Could not save the support bundle: %s"), local_error->message);
      gtk_label_set_text (self->status_label, text);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  text = g_strdup_printf (_("Support bundle saved as %s"), path);
  gtk_label_set_text (self->status_label, text);
  mw_log_add ("Support bundle saved as %s", path);
  return TRUE;
}

/**
 * mw_technician_window_get_integrity_result:
 *
 * Returns: what the last full integrity check found ("" before one finished)
 */
const char *
mw_technician_window_get_integrity_result (MwTechnicianWindow *self)
{
  g_return_val_if_fail (MW_IS_TECHNICIAN_WINDOW (self), NULL);
  return self->checking ? "" : gtk_label_get_text (self->integrity_result);
}

/**
 * mw_technician_window_dup_log_text:
 *
 * Returns: (transfer full): what the Log page shows: every run's lines
 */
char *
mw_technician_window_dup_log_text (MwTechnicianWindow *self)
{
  g_return_val_if_fail (MW_IS_TECHNICIAN_WINDOW (self) && self->wizard != NULL, NULL);
  return dup_log (self);
}

/**
 * mw_technician_window_export_log:
 *
 * Writes the log's history to @path (what [Export Log…] does once a file is
 * chosen) and says where in the window's status line.
 */
gboolean
mw_technician_window_export_log (MwTechnicianWindow  *self,
                                 const char          *path,
                                 GError             **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *log = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (MW_IS_TECHNICIAN_WINDOW (self) && self->wizard != NULL, FALSE);

  log = dup_log (self);
  if (!g_file_set_contents_full (path, log, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &local_error))
    {
      text = g_strdup_printf (_("Could not export the log: %s"), local_error->message);
      gtk_label_set_text (self->status_label, text);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  text = g_strdup_printf (_("Log exported as %s"), path);
  gtk_label_set_text (self->status_label, text);
  return TRUE;
}

/**
 * mw_technician_window_delete_backup:
 * @path: a backup in the backups folder
 *
 * Deletes a backup and its sidecar (what the confirmed Delete… does), but never
 * the newest verified backup: a restore must always have one.
 */
gboolean
mw_technician_window_delete_backup (MwTechnicianWindow  *self,
                                    const char          *path,
                                    GError             **error)
{
  const MwSettings *options;
  g_autoptr(MwBackup) newest = NULL;
  g_autoptr(MwBackup) backup = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (MW_IS_TECHNICIAN_WINDOW (self) && self->wizard != NULL, FALSE);

  options = mw_window_get_settings (self->wizard);
  backup = mw_remedy_choose_backup (options->backup_dir, path, &local_error);
  if (backup != NULL)
    {
      g_autoptr(GPtrArray) list = mw_backup_list (options->backup_dir, NULL);

      for (guint i = 0; list != NULL && i < list->len && newest == NULL; i++)
        if (((MwBackup *) g_ptr_array_index (list, i))->verified)
          newest = mw_backup_ref (g_ptr_array_index (list, i));
      if (newest != NULL && g_str_equal (newest->path, backup->path))
        g_set_error (&local_error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED,
                     _("%s is the newest verified backup: it is kept so that a restore is "
                       "always possible."), backup->path);
      else if (g_unlink (backup->path) != 0 && errno != ENOENT)
        g_set_error (&local_error, G_IO_ERROR, g_io_error_from_errno (errno),
                     _("Could not delete %s: %s"), backup->path, g_strerror (errno));
      else
        g_unlink (backup->sidecar_path);
    }
  if (local_error != NULL)
    {
      gtk_label_set_text (self->status_label, local_error->message);
      g_propagate_error (error, g_steal_pointer (&local_error));
      fill_backups (self);
      return FALSE;
    }
  text = g_strdup_printf (_("Deleted the backup %s"), backup->path);
  gtk_label_set_text (self->status_label, text);
  mw_log_add ("Technician: %s", text);
  fill_backups (self);
  return TRUE;
}

/**
 * mw_technician_window_get_status:
 *
 * Returns: what the window's status line says (the last action's result)
 */
const char *
mw_technician_window_get_status (MwTechnicianWindow *self)
{
  g_return_val_if_fail (MW_IS_TECHNICIAN_WINDOW (self), NULL);
  return gtk_label_get_text (self->status_label);
}
