/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "mw-cli-private.h"

/*
 * `backup`, `backups`, `restore` and `fresh`: making and listing verified backups,
 * and the two ways of replacing the database, each of which keeps the old one
 * aside and asks for --yes first.
 */

static char *
human_size (goffset size)
{
  return g_format_size_full ((guint64) size, G_FORMAT_SIZE_DEFAULT);
}

int
mw_cli_cmd_backup (MwCliOptions *o)
{
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(MwBackup) backup = NULL;
  g_autoptr(GError) error = NULL;
  MwBackupReason reason = MW_BACKUP_REASON_MANUAL;

  if (o->reason != NULL && !mw_backup_reason_from_string (o->reason, &reason))
    {
      g_printerr (_("Unknown reason “%s” (pre-migration, pre-restore, pre-fresh, pre-repair, "
                    "manual).\n"), o->reason);
      return MW_EXIT_USAGE;
    }

  set = mw_cli_load_migrations (o, NULL);   /* optional here: only names the backup's level */
  backup = mw_backup_create (o->settings->database, o->settings->backup_dir, reason, set,
                             NULL, NULL, &error);
  if (backup == NULL)
    {
      g_printerr ("%s\n", error->message);
      g_printerr ("%s\n", _("No backup was made; the database was not changed."));
      if (error->domain != MW_ENGINE_ERROR)
        return MW_EXIT_BACKUP_FAILED;
      return mw_exit_code_for_error (error);
    }

  mw_cli_prune_backups (o, backup);

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      mw_backup_to_json (backup, builder);
      mw_cli_print_json (builder);
    }
  else if (!o->quiet)
    {
      g_autofree char *size = human_size (backup->size);

      g_print (_("Backup made and verified: %s (%s)\n"), backup->path, size);
    }
  return MW_EXIT_OK;
}

int
mw_cli_cmd_backups (MwCliOptions *o)
{
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;

  list = mw_backup_list (o->settings->backup_dir, &error);
  if (list == NULL)
    {
      g_printerr ("%s\n", error->message);
      return MW_EXIT_UNREADABLE;
    }

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_array (builder);
      for (guint i = 0; i < list->len; i++)
        mw_backup_to_json (g_ptr_array_index (list, i), builder);
      json_builder_end_array (builder);
      mw_cli_print_json (builder);
      return MW_EXIT_OK;
    }

  if (list->len == 0)
    g_print (_("No backups in %s\n"), o->settings->backup_dir);
  for (guint i = 0; i < list->len; i++)
    {
      MwBackup *b = g_ptr_array_index (list, i);
      g_autofree char *when = g_date_time_format (b->created, "%Y-%m-%d %H:%M:%S");
      g_autofree char *size = human_size (b->size);
      g_autofree char *name = g_path_get_basename (b->path);

      g_print ("%s  %-14s  %-34s  %9s  %s  %s\n", when, mw_backup_reason_to_string (b->reason),
               b->level_tag ? b->level_tag : "-", size,
               b->verified ? _("verified") : _("NOT USABLE"), name);
      if (b->problem != NULL)
        g_print ("    %s\n", b->problem);
    }
  return MW_EXIT_OK;
}

/* Nobody else may be writing: the instance lock (one wizard per database), then the
 * database's own lock, as the diagnosis finds it. */
static int
lock_database (MwCliOptions    *o,
               MwMigrationSet  *set,
               MwInstanceLock **out_lock)
{
  g_autoptr(GError) error = NULL;

  *out_lock = mw_instance_lock_acquire (o->settings->database, &error);
  if (*out_lock == NULL)
    {
      g_printerr ("%s\n", error->message);
      return mw_exit_code_for_error (error);
    }
  if (set != NULL)
    {
      g_autoptr(MwDiagnosis) diagnosis = mw_diagnose (o->settings->database, set, NULL);

      if (diagnosis->state == MW_STATE_LOCKED)
        {
          g_printerr ("%s\n", diagnosis->message);
          return MW_EXIT_LOCKED;
        }
    }
  return MW_EXIT_OK;
}

int
mw_cli_cmd_restore (MwCliOptions *o)
{
  g_autoptr(MwInstanceLock) lock = NULL;
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(MwBackup) backup = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;
  g_autofree char *when = NULL;
  int status;

  backup = mw_remedy_choose_backup (o->settings->backup_dir, o->argument, &error);
  if (backup == NULL)
    {
      g_printerr ("%s\n", error->message);
      return MW_EXIT_NO_BACKUP;
    }
  when = g_date_time_format (backup->created, "%Y-%m-%d %H:%M:%S");

  if (!o->yes)
    {
      g_print (_("This would restore the backup %s (%s, %s, level %s).\n"
                 "The current database would be backed up if it can be read, and kept as %s.old.<date>.\n"
                 "Run again with --yes to do it.\n"),
               backup->path, when, mw_backup_reason_to_string (backup->reason),
               backup->level_tag ? backup->level_tag : "-", o->settings->database);
      return MW_EXIT_NEEDS_CONFIRMATION;
    }

  set = mw_cli_load_migrations (o, NULL);
  status = lock_database (o, set, &lock);
  if (status != MW_EXIT_OK)
    return status;

  if (!mw_restore (o->settings->database, backup, o->settings->backup_dir, set, NULL, NULL,
                   &aside, &error))
    {
      g_printerr ("%s\n", error->message);
      return g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT)
             ? MW_EXIT_NO_BACKUP : (int) mw_exit_code_for_error (error);
    }

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "result");
      json_builder_add_string_value (builder, "restored");
      json_builder_set_member_name (builder, "backup");
      mw_backup_to_json (backup, builder);
      json_builder_set_member_name (builder, "previous");
      json_builder_add_string_value (builder, aside);
      json_builder_end_object (builder);
      mw_cli_print_json (builder);
    }
  else if (!o->quiet)
    g_print (_("Restored %s. The previous database was kept as %s.\n"), backup->path, aside);
  mw_cli_prune_aside (o);
  return MW_EXIT_OK;
}

int
mw_cli_cmd_fresh (MwCliOptions *o)
{
  g_autoptr(MwInstanceLock) lock = NULL;
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;
  int status;

  if (!o->yes)
    {
      g_print (_("This would back up the database at %s, keep it as %s.old.<date> with its "
                 "companion files, and create a new, empty database in its place.\n"
                 "Run again with --yes to do it.\n"), o->settings->database,
               o->settings->database);
      return MW_EXIT_NEEDS_CONFIRMATION;
    }

  set = mw_cli_load_migrations (o, &error);
  if (set == NULL)
    {
      g_printerr ("%s\n", error->message);
      return mw_exit_code_for_error (error);
    }
  status = lock_database (o, set, &lock);
  if (status != MW_EXIT_OK)
    return status;

  if (!mw_fresh_start (o->settings->database, o->settings->backup_dir, set, NULL, NULL,
                       &aside, &error))
    {
      g_printerr ("%s\n", error->message);
      return mw_exit_code_for_error (error);
    }

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "result");
      json_builder_add_string_value (builder, "fresh");
      json_builder_set_member_name (builder, "previous");
      json_builder_add_string_value (builder, aside);
      json_builder_end_object (builder);
      mw_cli_print_json (builder);
    }
  else if (!o->quiet)
    g_print (_("A new database was created. The previous one was kept as %s (and backed up in %s).\n"),
             aside, o->settings->backup_dir);
  mw_cli_prune_aside (o);
  return MW_EXIT_OK;
}
