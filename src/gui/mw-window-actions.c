/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-gui"

#include "config.h"

#include <glib/gi18n.h>

#include "mw-technician-window.h"
#include "mw-window-private.h"

/*
 * The wizard's actions ("wizard.*"): every button, key and test goes through them.
 * Whether each can be used right now is decided in one place,
 * _mw_window_actions_update(), from the window's state (the worker, the
 * confirmation asked, the engine's remedy); the handlers themselves do not guard.
 */

static void
update_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);

  g_clear_object (&self->migrator);
  self->migrator = mw_migrator_new (self->settings->database, self->set);
  mw_migrator_set_progress (self->migrator, self->progress);
  mw_migrator_set_backup (self->migrator, TRUE, self->settings->backup_dir);
  mw_migrator_set_full_checks (self->migrator, self->settings->full_checks);
  if (self->settings->busy_timeout_ms > 0)
    mw_migrator_set_busy_timeout (self->migrator, (guint) self->settings->busy_timeout_ms);

  if (!_mw_window_begin_work (self, MW_WORK_MIGRATE, _("Updating the database")))
    return;
  mw_migrator_run_async (self->migrator, self->cancellable, _mw_window_migrate_cb,
                         g_object_ref (self));
}

static void
ask_restore (MwWindow *self)
{
  MwBackup *backup = self->offered_backup;
  g_autofree char *text = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *file = NULL;
  g_autofree char *created = NULL;
  g_autofree char *loses = NULL;
  gint64 lost;
  g_autofree char *db_folder = g_path_get_dirname (self->settings->database);
  g_autofree char *db_file = g_path_get_basename (self->settings->database);

  if (backup == NULL || !backup->verified)
    {
      _mw_window_show_no_backup (self, backup);
      return;
    }

  folder = g_path_get_dirname (backup->path);
  file = g_path_get_basename (backup->path);
  created = mw_shop_format_time (backup->created, NULL);
  lost = mw_shop_count_sales_since (self->settings->database, backup->path,
                                    backup->created);
  if (lost > 0)
    loses = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                          "Restoring loses the %ld sale made since %s.",
                                          "Restoring loses the %ld sales made since %s.",
                                          (unsigned long) lost),
                             (long) lost, created);
  else if (lost == 0)
    loses = g_strdup_printf (_("No sales were made since %s: restoring loses none."), created);
  else
    loses = g_strdup_printf (_("Restoring loses anything recorded since %s."), created);
  text = g_strdup_printf (_("%s\n\nThe backup %s (made %s, in the folder %s) will replace the "
                            "database. The current database is not deleted: it is backed up "
                            "and kept as %s.old.<date-time> in the folder %s, with anything "
                            "recorded after the backup was made."),
                          loses, file, created, folder, db_file, db_folder);
  _mw_window_show_confirmation (self, MW_CONFIRM_RESTORE, _("Restore from Backup?"), text,
                                _("_Restore"));
}

/* Restore from Backup: the backup the engine's remedy chose. */
static void
restore_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  ask_restore (MW_WINDOW (widget));
}

/* A backup the technician picked (its path), through the same confirmation. */
static void
restore_backup_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);
  const char *path = g_variant_get_string (parameter, NULL);

  g_clear_pointer (&self->offered_backup, mw_backup_unref);
  self->offered_backup = mw_remedy_choose_backup (self->settings->backup_dir, path, NULL);
  ask_restore (self);
}

static void
fresh_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);
  g_autofree char *text = NULL;
  g_autofree char *db_folder = g_path_get_dirname (self->settings->database);
  g_autofree char *db_file = g_path_get_basename (self->settings->database);

  text = g_strdup_printf (_("The POS will start with an empty database: no sales, products "
                            "or staff.\n\nNothing is deleted: a backup is made in %s, and the "
                            "current database is kept as %s.old.<date-time> in the folder %s, "
                            "so a technician can bring the data back."),
                          self->settings->backup_dir, db_file, db_folder);
  _mw_window_show_confirmation (self, MW_CONFIRM_FRESH, _("Back Up and Start Fresh?"), text,
                                _("Backup & Start _Fresh"));
}

static void
confirm_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);
  MwConfirm kind = self->confirm;

  self->confirm = MW_CONFIRM_NONE;
  if (kind == MW_CONFIRM_RESTORE)
    {
      if (!_mw_window_begin_work (self, MW_WORK_RESTORE, _("Restoring the backup")))
        return;
      mw_restore_async (self->settings->database, self->offered_backup,
                        self->settings->backup_dir, self->set, self->progress,
                        self->cancellable, _mw_window_operation_cb, g_object_ref (self));
    }
  else
    {
      if (!_mw_window_begin_work (self, MW_WORK_FRESH, _("Starting with a new database")))
        return;
      mw_fresh_start_async (self->settings->database, self->settings->backup_dir, self->set,
                            self->progress, self->cancellable, _mw_window_operation_cb,
                            g_object_ref (self));
    }
}

/* Update and Keep My Data: after a verified backup, the history re-stamped at the
 * proven level, or every row carried into the app's tables (the original kept aside). */
static void
adopt_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);

  if (!_mw_window_begin_work (self, MW_WORK_ADOPT, _("Updating and keeping the data")))
    return;
  g_clear_pointer (&self->adopt_options, mw_adopt_options_free);
  self->adopt_options = mw_adopt_options_new ();
  for (guint i = 0; self->settings->adopt_maps && self->settings->adopt_maps[i]; i++)
    mw_adopt_options_add_map (self->adopt_options, self->settings->adopt_maps[i], NULL);
  for (guint i = 0; self->settings->adopt_values && self->settings->adopt_values[i]; i++)
    mw_adopt_options_add_value (self->adopt_options, self->settings->adopt_values[i], NULL);
  mw_adopt_async (self->settings->database, self->set, self->adopt_options,
                  self->settings->backup_dir, TRUE, self->progress, self->cancellable,
                  _mw_window_adopt_cb, g_object_ref (self));
}

static void
repair_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);

  if (!_mw_window_begin_work (self, MW_WORK_REPAIR, _("Repairing the database")))
    return;
  mw_repair_async (self->settings->database, self->settings->backup_dir, self->set,
                   self->progress, self->cancellable, _mw_window_repair_cb, g_object_ref (self));
}

static void
use_repaired_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);

  self->confirm = MW_CONFIRM_NONE;
  if (!_mw_window_begin_work (self, MW_WORK_REPAIR_SWAP,
                              _("Putting the repaired database in place")))
    return;
  mw_repair_swap_async (self->settings->database, self->repair->repaired_path,
                        self->cancellable, _mw_window_operation_cb, g_object_ref (self));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  MwWindow *self = MW_WINDOW (widget);

  if (self->work != MW_WORK_NONE)
    {
      mw_log_add ("Cancel requested");
      g_cancellable_cancel (self->cancellable);
      /* Say so at once, and let no second cancel through. */
      g_object_notify (G_OBJECT (self->progress), "cancellable");
      return;
    }

  /* Cancel on a confirmation goes back to the choices it came from; anywhere else
   * it stops, leaving everything as it was. */
  if (self->confirm != MW_CONFIRM_NONE)
    {
      self->confirm = MW_CONFIRM_NONE;
      _mw_window_show_choices (self);
      return;
    }
  self->confirm = MW_CONFIRM_NONE;
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
retry_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  _mw_window_start_check (MW_WINDOW (widget));
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

/**
 * _mw_window_actions_update:
 *
 * Enables and disables every action from the window's state. Called whenever that
 * state changes (work starts or ends, a page or a remedy is shown, the progress
 * says whether the current step can still be stopped).
 */
void
_mw_window_actions_update (MwWindow *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean idle = self->work == MW_WORK_NONE;
  gboolean stoppable = !idle && mw_progress_get_cancellable (self->progress) &&
                       !(self->cancellable && g_cancellable_is_cancelled (self->cancellable));
  gboolean has_set = self->set != NULL;

  gtk_widget_action_set_enabled (widget, "wizard.update", idle && has_set);
  gtk_widget_action_set_enabled (widget, "wizard.cancel", idle || stoppable);
  gtk_widget_action_set_enabled (widget, "wizard.retry", idle);
  gtk_widget_action_set_enabled (widget, "wizard.close", idle);
  gtk_widget_action_set_enabled (widget, "wizard.restore",
                                 idle && self->offered_backup != NULL &&
                                 self->offered_backup->verified);
  gtk_widget_action_set_enabled (widget, "wizard.restore-backup", idle);
  gtk_widget_action_set_enabled (widget, "wizard.fresh", idle && has_set);
  gtk_widget_action_set_enabled (widget, "wizard.confirm",
                                 idle && (self->confirm == MW_CONFIRM_FRESH ||
                                          self->confirm == MW_CONFIRM_RESTORE));
  gtk_widget_action_set_enabled (widget, "wizard.repair", idle);
  gtk_widget_action_set_enabled (widget, "wizard.adopt", idle && has_set);
  gtk_widget_action_set_enabled (widget, "wizard.use-repaired",
                                 idle && self->repair != NULL &&
                                 self->confirm == MW_CONFIRM_REPAIR);
  gtk_widget_action_set_enabled (widget, "wizard.details", TRUE);
}

void
_mw_window_class_add_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "wizard.update", NULL, update_action);
  gtk_widget_class_install_action (widget_class, "wizard.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "wizard.retry", NULL, retry_action);
  gtk_widget_class_install_action (widget_class, "wizard.close", NULL, close_action);
  gtk_widget_class_install_action (widget_class, "wizard.restore", NULL, restore_action);
  gtk_widget_class_install_action (widget_class, "wizard.restore-backup", "s",
                                   restore_backup_action);
  gtk_widget_class_install_action (widget_class, "wizard.fresh", NULL, fresh_action);
  gtk_widget_class_install_action (widget_class, "wizard.confirm", NULL, confirm_action);
  gtk_widget_class_install_action (widget_class, "wizard.repair", NULL, repair_action);
  gtk_widget_class_install_action (widget_class, "wizard.adopt", NULL, adopt_action);
  gtk_widget_class_install_action (widget_class, "wizard.use-repaired", NULL,
                                   use_repaired_action);
  gtk_widget_class_install_action (widget_class, "wizard.details", NULL, details_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "wizard.cancel", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_d, GDK_CONTROL_MASK,
                                       "wizard.details", NULL);
}
