/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-cli"

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include <glib/gi18n.h>
#ifdef G_OS_UNIX
# include <glib-unix.h>
# include <unistd.h>
#endif

#include "mw-cli.h"
#include "mw-engine.h"

/*
 * The headless front: the same engine as the wizard, for terminals, scripts and
 * remote sessions without a display. Every outcome has its own exit status, and
 * --json prints one object a script can read.
 */

typedef struct
{
  char      *command;
  char      *database;
  char      *migrations;
  char      *config_path;
  char      *target;
  char      *backup_dir;
  char      *reason;
  int        busy_timeout_ms;
  gboolean   json;
  gboolean   quiet;
  gboolean   accept_modified;
  gboolean   no_backup;
  gboolean   no_verify;
  gboolean   yes;
  gboolean   version;
  gboolean   deep;

  MwConfig       *config;
  MwMigrationSet *set;
  GError         *set_error;
} Options;

static void
options_clear (Options *o);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, options_clear)

static void
options_clear (Options *o)
{
  g_free (o->command);
  g_free (o->database);
  g_free (o->migrations);
  g_free (o->config_path);
  g_free (o->target);
  g_free (o->backup_dir);
  g_free (o->reason);
  g_clear_pointer (&o->config, mw_config_free);
  g_clear_object (&o->set);
  g_clear_error (&o->set_error);
}

static MwExitCode
exit_code_for_state (MwState state)
{
  switch (state)
    {
    case MW_STATE_UP_TO_DATE:         return MW_EXIT_OK;
    case MW_STATE_PENDING:            return MW_EXIT_PENDING;
    case MW_STATE_MISSING:            return MW_EXIT_MISSING;
    case MW_STATE_NEWER:              return MW_EXIT_NEWER;
    case MW_STATE_HASH_MISMATCH:      return MW_EXIT_HASH_MISMATCH;
    case MW_STATE_UNKNOWN_HISTORY:    return MW_EXIT_UNKNOWN_HISTORY;
    case MW_STATE_UNTRACKED:          return MW_EXIT_UNTRACKED;
    case MW_STATE_LOCKED:             return MW_EXIT_LOCKED;
    case MW_STATE_NO_SPACE:           return MW_EXIT_NO_SPACE;
    case MW_STATE_CORRUPT:            return MW_EXIT_CORRUPT;
    case MW_STATE_NOT_A_DATABASE:     return MW_EXIT_NOT_A_DATABASE;
    case MW_STATE_UNREADABLE:         return MW_EXIT_UNREADABLE;
    case MW_STATE_NO_MIGRATIONS:      return MW_EXIT_NO_MIGRATIONS;
    case MW_STATE_INVALID_MIGRATIONS: return MW_EXIT_INVALID_MIGRATIONS;
    default:                          return MW_EXIT_INTERNAL;
    }
}

static MwExitCode
exit_code_for_error (const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return MW_EXIT_CANCELLED;
  if (error->domain != MW_ENGINE_ERROR)
    return MW_EXIT_INTERNAL;

  switch ((MwEngineError) error->code)
    {
    case MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND:  return MW_EXIT_NO_MIGRATIONS;
    case MW_ENGINE_ERROR_MIGRATIONS_INVALID:    return MW_EXIT_INVALID_MIGRATIONS;
    case MW_ENGINE_ERROR_DATABASE_MISSING:      return MW_EXIT_MISSING;
    case MW_ENGINE_ERROR_NOT_A_DATABASE:        return MW_EXIT_NOT_A_DATABASE;
    case MW_ENGINE_ERROR_CORRUPT:               return MW_EXIT_CORRUPT;
    case MW_ENGINE_ERROR_LOCKED:                return MW_EXIT_LOCKED;
    case MW_ENGINE_ERROR_UNREADABLE:            return MW_EXIT_UNREADABLE;
    case MW_ENGINE_ERROR_READ_ONLY:             return MW_EXIT_UNREADABLE;
    case MW_ENGINE_ERROR_NO_SPACE:              return MW_EXIT_NO_SPACE;
    case MW_ENGINE_ERROR_REFUSED:               return MW_EXIT_MIGRATION_FAILED;
    case MW_ENGINE_ERROR_MIGRATION_FAILED:      return MW_EXIT_MIGRATION_FAILED;
    case MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION: return MW_EXIT_FOREIGN_KEYS;
    case MW_ENGINE_ERROR_BACKUP_FAILED:         return MW_EXIT_BACKUP_FAILED;
    case MW_ENGINE_ERROR_CHECK_FAILED:          return MW_EXIT_CHECK_FAILED;
    default:                                    return MW_EXIT_INTERNAL;
    }
}

static void
print_json (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

static const char *
status_label (MwMigrationStatus status)
{
  switch (status)
    {
    case MW_MIGRATION_STATUS_APPLIED:      return _("applied");
    case MW_MIGRATION_STATUS_PENDING:      return _("pending");
    case MW_MIGRATION_STATUS_MODIFIED:     return _("MODIFIED");
    case MW_MIGRATION_STATUS_OUT_OF_ORDER: return _("pending (out of order)");
    default:                               return "?";
    }
}

static void
print_diagnosis_text (MwDiagnosis *diagnosis)
{
  g_print ("%s: %s\n", _("Database"), diagnosis->database_path);
  if (diagnosis->set != NULL)
    g_print ("%s: %s\n", _("Migrations"), mw_migration_set_get_folder (diagnosis->set));
  g_print ("%s: %s\n\n", _("State"), mw_state_to_string (diagnosis->state));
  g_print ("%s\n", diagnosis->message);
  if (diagnosis->detail != NULL)
    g_print ("\n%s: %s\n", _("Details"), diagnosis->detail);

  if (diagnosis->migrations->len > 0)
    {
      g_print ("\n");
      for (guint i = 0; i < diagnosis->migrations->len; i++)
        {
          const MwMigrationState *state = &g_array_index (diagnosis->migrations,
                                                          MwMigrationState, i);
          g_autoptr(GDateTime) dt =
            g_date_time_new_from_unix_utc (state->migration->when / 1000);
          g_autofree char *date = dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M") : g_strdup ("?");

          g_print ("  %-40s %s  %.12s  %s%s\n",
                   state->migration->tag, date, state->migration->hash,
                   status_label (state->status),
                   state->line_endings_only ? _(" (line endings differ)") : "");
        }
    }

  for (guint i = 0; i < diagnosis->unknown->len; i++)
    {
      const MwAppliedRow *row = g_ptr_array_index (diagnosis->unknown, i);

      g_print ("  %-40s %" G_GINT64_FORMAT "  %.12s  %s\n",
               row->name ? row->name : _("(unknown to this app)"),
               row->created_at, row->hash ? row->hash : "", _("not in this app"));
    }
}

static gboolean
load_migrations (Options *o)
{
  g_autofree char *folder = NULL;

  folder = mw_migrations_locate (o->migrations,
                                 o->config ? o->config->migrations : NULL,
                                 &o->set_error);
  if (folder == NULL)
    return FALSE;
  o->set = mw_migration_set_load (folder, &o->set_error);
  return o->set != NULL;
}

static MwDiagnosis *
diagnose (Options *o)
{
  if (!load_migrations (o))
    return mw_diagnosis_new_for_error (o->database, o->set_error);
  return mw_diagnose (o->database, o->set, NULL);
}

static int
cmd_status (Options *o)
{
  g_autoptr(MwDiagnosis) diagnosis = diagnose (o);

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      mw_diagnosis_to_json (diagnosis, builder);
      print_json (builder);
    }
  else if (!o->quiet)
    print_diagnosis_text (diagnosis);

  return exit_code_for_state (diagnosis->state);
}

/* After a new backup: the oldest beyond the retention go (never the new one). */
static void
prune_after (Options  *o,
             MwBackup *fresh)
{
  g_autoptr(GPtrArray) removed = NULL;
  g_autoptr(GError) error = NULL;
  const char *protect[] = { fresh->path, NULL };

  removed = mw_backup_prune (o->backup_dir, &o->config->retention, protect, &error);
  if (removed == NULL)
    g_printerr ("%s\n", error->message);
}

/* The databases restore and fresh start kept aside are bounded too (those with a
 * verified backup only; the newest always stays). */
static void
prune_aside_after (Options *o)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) removed = mw_prune_aside_sets (o->database, o->backup_dir,
                                                      o->config->keep_old_sets, &error);

  if (removed == NULL)
    g_printerr ("%s\n", error->message);
}

/* ---- migrate ------------------------------------------------------------------------- */

typedef struct
{
  GMainLoop    *loop;
  GCancellable *cancellable;
  GError       *error;
  gboolean      ok;
  gboolean      tty;
  guint         signal_count;
  MwVerifyReport *report;   /* verify */
  MwRepairReport *repair;   /* repair */
} MigrateRun;

static void
progress_notify_cb (MwProgress *progress,
                    GParamSpec *pspec,
                    MigrateRun *run)
{
  g_autofree char *message = NULL;

  if (!run->tty)
    return;
  message = mw_progress_dup_message (progress);
  g_printerr ("\r\033[K%3.0f%%  %s", mw_progress_get_fraction (progress) * 100.0,
              message ? message : "");
}

static void
migrate_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  MigrateRun *run = user_data;

  run->ok = mw_migrator_run_finish (MW_MIGRATOR (object), result, &run->error);
  g_main_loop_quit (run->loop);
}

#ifdef G_OS_UNIX
static gboolean
signal_cb (gpointer user_data)
{
  MigrateRun *run = user_data;

  /* Cancelling rolls the transaction back; the database stays exactly as it was. */
  if (run->signal_count++ == 0)
    g_printerr ("\n%s\n", _("Stopping: undoing the changes made so far…"));
  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_CONTINUE;
}
#endif

static void
add_migrate_json (JsonBuilder  *builder,
                  const char   *result,
                  MwMigrator   *migrator,
                  const GError *error,
                  MwDiagnosis  *before,
                  MwDiagnosis  *after)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "result");
  json_builder_add_string_value (builder, result);

  json_builder_set_member_name (builder, "applied");
  json_builder_begin_array (builder);
  if (migrator != NULL)
    {
      GPtrArray *applied = mw_migrator_get_applied (migrator);

      for (guint i = 0; i < applied->len; i++)
        json_builder_add_string_value (builder, g_ptr_array_index (applied, i));
    }
  json_builder_end_array (builder);

  if (error != NULL)
    {
      json_builder_set_member_name (builder, "error");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, error->message);
      if (migrator != NULL && mw_migrator_get_failed_tag (migrator) != NULL)
        {
          json_builder_set_member_name (builder, "migration");
          json_builder_add_string_value (builder, mw_migrator_get_failed_tag (migrator));
          json_builder_set_member_name (builder, "statement");
          json_builder_add_int_value (builder, mw_migrator_get_failed_statement (migrator));
          if (mw_migrator_get_failed_sql (migrator) != NULL)
            {
              json_builder_set_member_name (builder, "sql");
              json_builder_add_string_value (builder, mw_migrator_get_failed_sql (migrator));
            }
        }
      if (migrator != NULL && mw_migrator_get_violations (migrator)->len > 0)
        {
          GPtrArray *violations = mw_migrator_get_violations (migrator);

          json_builder_set_member_name (builder, "violations");
          json_builder_begin_array (builder);
          for (guint i = 0; i < violations->len; i++)
            json_builder_add_string_value (builder, g_ptr_array_index (violations, i));
          json_builder_end_array (builder);
        }
      if (migrator != NULL && mw_migrator_get_failed_aside (migrator) != NULL)
        {
          /* The failed update may have changed the database: kept aside, backup back. */
          json_builder_set_member_name (builder, "failed_aside");
          json_builder_add_string_value (builder, mw_migrator_get_failed_aside (migrator));
          json_builder_set_member_name (builder, "restored_from");
          json_builder_add_string_value (builder, mw_migrator_get_backup (migrator)->path);
        }
      json_builder_end_object (builder);
    }

  json_builder_set_member_name (builder, "backup");
  if (migrator != NULL && mw_migrator_get_backup (migrator) != NULL)
    mw_backup_to_json (mw_migrator_get_backup (migrator), builder);
  else
    json_builder_add_null_value (builder);

  json_builder_set_member_name (builder, "before");
  mw_diagnosis_to_json (before, builder);
  if (after != NULL)
    {
      json_builder_set_member_name (builder, "after");
      mw_diagnosis_to_json (after, builder);
    }
  json_builder_end_object (builder);
}

static int
report_refusal (Options     *o,
                MwDiagnosis *before)
{
  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      add_migrate_json (builder, "refused", NULL, NULL, before, NULL);
      print_json (builder);
    }
  else
    {
      g_printerr ("%s\n", before->message);
      if (before->detail != NULL)
        g_printerr ("%s: %s\n", _("Details"), before->detail);
    }
  return exit_code_for_state (before->state);
}

static int
cmd_migrate (Options *o)
{
  g_autoptr(MwDiagnosis) before = diagnose (o);
  g_autoptr(MwDiagnosis) after = NULL;
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  MigrateRun run = { loop, cancellable, NULL, FALSE, FALSE, 0 };
  g_autoptr(MwInstanceLock) lock = NULL;
  g_autoptr(GError) lock_error = NULL;
  gboolean forced = o->accept_modified && before->state == MW_STATE_HASH_MISMATCH;
  guint sigint = 0, sigterm = 0;
  int status;

  if (before->state == MW_STATE_UP_TO_DATE)
    {
      if (o->json)
        {
          g_autoptr(JsonBuilder) builder = json_builder_new ();

          add_migrate_json (builder, "up-to-date", NULL, NULL, before, NULL);
          print_json (builder);
        }
      else if (!o->quiet)
        g_print ("%s\n", before->message);
      return MW_EXIT_OK;
    }

  /* Locked may be the POS still closing: the migrator waits and tries again (and
   * re-reads the history under the lock, refusing anything else). */
  if (before->state != MW_STATE_PENDING && before->state != MW_STATE_MISSING &&
      before->state != MW_STATE_LOCKED && !forced)
    return report_refusal (o, before);

  lock = mw_instance_lock_acquire (o->database, &lock_error);
  if (lock == NULL)
    {
      g_printerr ("%s\n", lock_error->message);
      return MW_EXIT_LOCKED;
    }

  migrator = mw_migrator_new (o->database, o->set);
  mw_migrator_set_target (migrator, o->target);
  mw_migrator_set_accept_modified (migrator, o->accept_modified);
  mw_migrator_set_backup (migrator, !o->no_backup, o->backup_dir);
  mw_migrator_set_verify (migrator, !o->no_verify);
  if (o->busy_timeout_ms > 0)
    mw_migrator_set_busy_timeout (migrator, (guint) o->busy_timeout_ms);

#ifdef G_OS_UNIX
  run.tty = !o->json && !o->quiet && isatty (STDERR_FILENO);
  sigint = g_unix_signal_add (SIGINT, signal_cb, &run);
  sigterm = g_unix_signal_add (SIGTERM, signal_cb, &run);
#endif
  g_signal_connect (mw_migrator_get_progress (migrator), "notify::message",
                    G_CALLBACK (progress_notify_cb), &run);

  mw_migrator_run_async (migrator, cancellable, migrate_done_cb, &run);
  g_main_loop_run (loop);

  g_clear_handle_id (&sigint, g_source_remove);
  g_clear_handle_id (&sigterm, g_source_remove);
  if (run.tty)
    g_printerr ("\r\033[K");

  if (run.ok && mw_migrator_get_backup (migrator) != NULL)
    prune_after (o, mw_migrator_get_backup (migrator));

  after = mw_diagnose (o->database, o->set, NULL);

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      add_migrate_json (builder, run.ok ? "migrated" : "failed", migrator, run.error,
                        before, after);
      print_json (builder);
    }
  else if (run.ok)
    {
      GPtrArray *applied = mw_migrator_get_applied (migrator);

      if (!o->quiet)
        {
          g_print (g_dngettext (GETTEXT_PACKAGE, "Applied %u update:", "Applied %u updates:",
                                applied->len),
                   applied->len);
          for (guint i = 0; i < applied->len; i++)
            g_print (" %s", (const char *) g_ptr_array_index (applied, i));
          g_print ("\n");
          if (mw_migrator_get_backup (migrator) != NULL)
            g_print (_("Backup made before updating: %s\n"), mw_migrator_get_backup (migrator)->path);
          g_print ("%s\n", after->message);
        }
    }
  else
    {
      g_printerr ("%s\n", run.error->message);
      if (mw_migrator_get_failed_tag (migrator) != NULL)
        g_printerr ("%s: %s, %s %u%s%s\n", _("Failed in"),
                    mw_migrator_get_failed_tag (migrator), _("statement"),
                    mw_migrator_get_failed_statement (migrator),
                    mw_migrator_get_failed_sql (migrator) ? ": " : "",
                    mw_migrator_get_failed_sql (migrator) ? mw_migrator_get_failed_sql (migrator)
                                                          : "");
      if (!g_error_matches (run.error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CHECK_FAILED))
        g_printerr ("%s\n", _("Nothing was changed: the database is exactly as it was."));
      if (mw_migrator_get_backup (migrator) != NULL)
        g_printerr (_("The backup made before updating is %s\n"),
                    mw_migrator_get_backup (migrator)->path);
    }

  status = run.ok ? MW_EXIT_OK : exit_code_for_error (run.error);
  g_clear_error (&run.error);
  return status;
}

/* ---- backups ------------------------------------------------------------------------ */


static char *
human_size (goffset size)
{
  return g_format_size_full ((guint64) size, G_FORMAT_SIZE_DEFAULT);
}

static int
cmd_backup (Options *o)
{
  g_autoptr(MwBackup) backup = NULL;
  g_autoptr(GError) error = NULL;
  MwBackupReason reason = MW_BACKUP_REASON_MANUAL;

  if (o->reason != NULL && !mw_backup_reason_from_string (o->reason, &reason))
    {
      g_printerr (_("Unknown reason “%s” (pre-migration, pre-restore, pre-fresh, pre-repair, "
                    "manual).\n"), o->reason);
      return MW_EXIT_USAGE;
    }

  load_migrations (o);   /* optional here: only used to name the backup's level */
  backup = mw_backup_create (o->database, o->backup_dir, reason, o->set, NULL, NULL, &error);
  if (backup == NULL)
    {
      g_printerr ("%s\n", error->message);
      g_printerr ("%s\n", _("No backup was made; the database was not changed."));
      if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_DATABASE_MISSING))
        return MW_EXIT_MISSING;
      return error->domain == MW_ENGINE_ERROR ? (int) exit_code_for_error (error) : MW_EXIT_BACKUP_FAILED;
    }

  prune_after (o, backup);

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      mw_backup_to_json (backup, builder);
      print_json (builder);
    }
  else if (!o->quiet)
    {
      g_autofree char *size = human_size (backup->size);

      g_print (_("Backup made and verified: %s (%s)\n"), backup->path, size);
    }
  return MW_EXIT_OK;
}

static int
cmd_backups (Options *o)
{
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;

  list = mw_backup_list (o->backup_dir, &error);
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
      print_json (builder);
      return MW_EXIT_OK;
    }

  if (list->len == 0)
    g_print (_("No backups in %s\n"), o->backup_dir);
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

/* ---- restore and fresh start --------------------------------------------------------- */

static MwBackup *
choose_backup (Options     *o,
               const char  *wanted,
               GError     **error)
{
  g_autoptr(GPtrArray) list = mw_backup_list (o->backup_dir, error);
  MwBackup *fallback = NULL;

  if (list == NULL)
    return NULL;

  for (guint i = 0; i < list->len; i++)
    {
      MwBackup *b = g_ptr_array_index (list, i);
      g_autofree char *name = g_path_get_basename (b->path);

      if (wanted != NULL)
        {
          g_autofree char *canonical = g_canonicalize_filename (wanted, NULL);

          if (g_str_equal (name, wanted) || g_str_equal (b->path, canonical))
            return mw_backup_ref (b);
          continue;
        }
      /* By default the newest verified backup taken before a migration, else the
       * newest verified one. */
      if (!b->verified)
        continue;
      if (b->reason == MW_BACKUP_REASON_PRE_MIGRATION)
        return mw_backup_ref (b);
      if (fallback == NULL)
        fallback = b;
    }

  if (wanted == NULL && fallback != NULL)
    return mw_backup_ref (fallback);

  g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BACKUP_FAILED,
               wanted ? _("There is no backup “%s” in %s.") : _("There is no usable backup in %s%s."),
               wanted ? wanted : o->backup_dir, wanted ? o->backup_dir : "");
  return NULL;
}

static int
cmd_restore (Options    *o,
             const char *wanted)
{
  g_autoptr(MwInstanceLock) lock = NULL;
  g_autoptr(MwBackup) backup = NULL;
  g_autoptr(MwDiagnosis) diagnosis = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;
  g_autofree char *when = NULL;

  backup = choose_backup (o, wanted, &error);
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
               backup->level_tag ? backup->level_tag : "-", o->database);
      return MW_EXIT_NEEDS_CONFIRMATION;
    }

  lock = mw_instance_lock_acquire (o->database, &error);
  if (lock == NULL)
    {
      g_printerr ("%s\n", error->message);
      return MW_EXIT_LOCKED;
    }
  load_migrations (o);
  if (o->set != NULL)
    {
      diagnosis = mw_diagnose (o->database, o->set, NULL);
      if (diagnosis->state == MW_STATE_LOCKED)
        {
          g_printerr ("%s\n", diagnosis->message);
          return MW_EXIT_LOCKED;
        }
    }

  if (!mw_restore (o->database, backup, o->backup_dir, o->set, NULL, NULL, &aside, &error))
    {
      g_printerr ("%s\n", error->message);
      return g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT)
             ? MW_EXIT_NO_BACKUP : (int) exit_code_for_error (error);
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
      print_json (builder);
    }
  else if (!o->quiet)
    g_print (_("Restored %s. The previous database was kept as %s.\n"), backup->path, aside);
  prune_aside_after (o);
  return MW_EXIT_OK;
}

static int
cmd_fresh (Options *o)
{
  g_autoptr(MwInstanceLock) lock = NULL;
  g_autoptr(MwDiagnosis) diagnosis = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;

  if (!o->yes)
    {
      g_print (_("This would back up the database at %s, keep it as %s.old.<date> with its "
                 "companion files, and create a new, empty database in its place.\n"
                 "Run again with --yes to do it.\n"), o->database, o->database);
      return MW_EXIT_NEEDS_CONFIRMATION;
    }

  if (!load_migrations (o))
    {
      g_printerr ("%s\n", o->set_error->message);
      return exit_code_for_error (o->set_error);
    }
  lock = mw_instance_lock_acquire (o->database, &error);
  if (lock == NULL)
    {
      g_printerr ("%s\n", error->message);
      return MW_EXIT_LOCKED;
    }
  diagnosis = mw_diagnose (o->database, o->set, NULL);
  if (diagnosis->state == MW_STATE_LOCKED)
    {
      g_printerr ("%s\n", diagnosis->message);
      return MW_EXIT_LOCKED;
    }

  if (!mw_fresh_start (o->database, o->backup_dir, o->set, NULL, NULL, &aside, &error))
    {
      g_printerr ("%s\n", error->message);
      return exit_code_for_error (error);
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
      print_json (builder);
    }
  else if (!o->quiet)
    g_print (_("A new database was created. The previous one was kept as %s (and backed up in %s).\n"),
             aside, o->backup_dir);
  prune_aside_after (o);
  return MW_EXIT_OK;
}

/* ---- repair -------------------------------------------------------------------------- */

static void
repair_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  MigrateRun *run = user_data;

  run->repair = mw_repair_finish (result, &run->error);
  run->ok = run->repair != NULL;
  g_main_loop_quit (run->loop);
}

static int
cmd_repair (Options *o)
{
  g_autoptr(MwInstanceLock) lock = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(MwProgress) progress = mw_progress_new ();
  g_autoptr(MwRepairReport) report = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;
  MigrateRun run = { loop, cancellable, NULL, FALSE, FALSE, 0, NULL, NULL };
  guint sigint = 0, sigterm = 0;
  gboolean swapped = FALSE;

  lock = mw_instance_lock_acquire (o->database, &error);
  if (lock == NULL)
    {
      g_printerr ("%s\n", error->message);
      return MW_EXIT_LOCKED;
    }

#ifdef G_OS_UNIX
  run.tty = !o->json && !o->quiet && isatty (STDERR_FILENO);
  sigint = g_unix_signal_add (SIGINT, signal_cb, &run);
  sigterm = g_unix_signal_add (SIGTERM, signal_cb, &run);
#endif
  g_signal_connect (progress, "notify::fraction", G_CALLBACK (progress_notify_cb), &run);
  mw_repair_async (o->database, o->backup_dir, progress, cancellable, repair_done_cb, &run);
  g_main_loop_run (loop);
  g_clear_handle_id (&sigint, g_source_remove);
  g_clear_handle_id (&sigterm, g_source_remove);
  if (run.tty)
    g_printerr ("\r\033[K");

  if (!run.ok)
    {
      int status = g_error_matches (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                   ? MW_EXIT_CANCELLED : g_error_matches (run.error, MW_ENGINE_ERROR,
                                                          MW_ENGINE_ERROR_DATABASE_MISSING)
                   ? MW_EXIT_MISSING : MW_EXIT_REPAIR_FAILED;

      g_printerr (_("Nothing could be repaired, and nothing was changed: %s\n"),
                  run.error->message);
      g_clear_error (&run.error);
      return status;
    }
  report = g_steal_pointer (&run.repair);

  if (o->yes)
    {
      if (!mw_repair_swap (o->database, report->repaired_path, &aside, &error))
        {
          g_printerr (_("The repaired copy %s could not be put in place; the damaged database "
                        "is unchanged: %s\n"), report->repaired_path, error->message);
          return MW_EXIT_REPAIR_FAILED;
        }
      swapped = TRUE;
      prune_aside_after (o);
    }

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "result");
      json_builder_add_string_value (builder, swapped ? "repaired" : "repaired-copy");
      json_builder_set_member_name (builder, "report");
      mw_repair_report_to_json (report, builder);
      json_builder_set_member_name (builder, "previous");
      json_builder_add_string_value (builder, aside);
      json_builder_end_object (builder);
      print_json (builder);
    }
  else if (!o->quiet)
    {
      g_autofree char *text = mw_repair_report_to_text (report);

      g_print ("%s", text);
      g_print (_("The damaged database, as it was, is also copied to %s.\n"), report->backup_path);
      if (swapped)
        g_print (_("The repaired database is now in use. The damaged one is kept as %s.\n"),
                 aside);
      else
        g_print (_("The repaired copy is %s; nothing was swapped. Run again with --yes to put a "
                   "repaired copy in place (the damaged database is then kept aside).\n"),
                 report->repaired_path);
    }
  return swapped ? MW_EXIT_OK : MW_EXIT_REPAIRED_COPY;
}

/* ---- verify -------------------------------------------------------------------------- */

static void
verify_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  MigrateRun *run = user_data;

  run->report = mw_verify_finish (result, &run->error);
  run->ok = run->report != NULL;
  g_main_loop_quit (run->loop);
}

static int
cmd_verify (Options *o)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(MwProgress) progress = mw_progress_new ();
  MigrateRun run = { loop, cancellable, NULL, FALSE, FALSE, 0, NULL, NULL };
  guint sigint = 0, sigterm = 0;
  int status;

#ifdef G_OS_UNIX
  run.tty = !o->json && !o->quiet && isatty (STDERR_FILENO);
  sigint = g_unix_signal_add (SIGINT, signal_cb, &run);
  sigterm = g_unix_signal_add (SIGTERM, signal_cb, &run);
#endif
  g_signal_connect (progress, "notify::fraction", G_CALLBACK (progress_notify_cb), &run);
  mw_verify_async (o->database, o->deep, progress, cancellable, verify_done_cb, &run);
  g_main_loop_run (loop);
  g_clear_handle_id (&sigint, g_source_remove);
  g_clear_handle_id (&sigterm, g_source_remove);
  if (run.tty)
    g_printerr ("\r\033[K");

  if (run.ok)
    status = run.report->fk_violations > 0 ? MW_EXIT_FOREIGN_KEYS : MW_EXIT_OK;
  else
    status = exit_code_for_error (run.error);

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "result");
      json_builder_add_string_value (builder, run.ok ? (run.report->fk_violations ? "orphans" : "ok")
                                              : g_error_matches (run.error, MW_ENGINE_ERROR,
                                                                 MW_ENGINE_ERROR_CORRUPT)
                                              ? "damaged" : "failed");
      json_builder_set_member_name (builder, "check");
      json_builder_add_string_value (builder, o->deep ? "integrity_check" : "quick_check");
      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, run.ok ? run.report->summary : run.error->message);
      json_builder_set_member_name (builder, "foreign_key_violations");
      json_builder_add_int_value (builder, run.ok ? (gint64) run.report->fk_violations : 0);
      json_builder_set_member_name (builder, "foreign_keys");
      json_builder_add_string_value (builder, run.ok ? run.report->fk_summary : NULL);
      json_builder_end_object (builder);
      print_json (builder);
    }
  else if (run.ok)
    {
      if (!o->quiet)
        g_print ("%s\n", run.report->summary);
      if (run.report->fk_summary != NULL)
        g_print ("%s\n", run.report->fk_summary);
    }
  else
    g_printerr ("%s\n", run.error->message);

  g_clear_pointer (&run.report, mw_verify_report_free);
  g_clear_error (&run.error);
  return status;
}

/* ---- options ------------------------------------------------------------------------- */

static const char *summary = N_(
  "Without a command, the wizard window opens: it checks the database and shows what to do.\n"
  "  --after-update [--then-run CMD]   for the app's launcher: no window when the database is\n"
  "           up to date, updates with a progress window, closes itself and runs CMD on success\n"
  "  (with no display, the same job is done headless: migrate after an update, else status)\n"
  "\n"
  "Commands:\n"
  "  status     Tell which state the database is in (the default)\n"
  "  migrate    Apply the app's pending database updates, safely (after a verified backup)\n"
  "  verify [--deep]   Check the database without changing it: quick_check, or with --deep\n"
  "             integrity_check and foreign_key_check (22 when rows point at missing rows)\n"
  "  backup     Make a verified backup now\n"
  "  backups    List the backups, with their date, reason, level, size and check\n"
  "  restore [BACKUP] --yes   Restore a backup (default: the newest taken before an update)\n"
  "  fresh --yes              Back up, keep the database aside, start with a new one\n"
  "  repair [--yes]           Recover every readable row of a damaged database into a new\n"
  "                           one (a copy and a report; --yes puts it in place)\n"
  "\n"
  "Exit status:\n"
  "   0 up to date / done          3 updates pending (status)   4 no database yet (status)\n"
  "  10 newer than this app       11 applied updates changed   12 unknown update history\n"
  "  13 no update history         14 locked by another program 15 not enough disk space\n"
  "  16 damaged                   17 not a database            18 cannot be opened/written\n"
  "  19 migrations not found      20 migrations malformed      21 an update failed\n"
  "  22 foreign keys broken       23 cancelled                 24 the backup failed\n"
  "  25 damaged after updating    26 needs --yes               27 no usable backup\n"
  "  28 repaired copy made (not in place without --yes)         29 nothing could be repaired\n"
  "   2 usage                      1 internal error\n"
  "  (21-24: everything was rolled back; the database is exactly as it was)");

int
mw_cli_run (int    argc,
            char **argv)
{
  g_auto(Options) o = { 0 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
    { "database", 'd', 0, G_OPTION_ARG_FILENAME, &o.database,
      N_("The database file (default: from the configuration, else the app's)"), N_("PATH") },
    { "migrations", 'm', 0, G_OPTION_ARG_FILENAME, &o.migrations,
      N_("The app's migrations folder (default: searched)"), N_("DIR") },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &o.config_path,
      N_("A configuration file"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &o.json,
      N_("Print one JSON object"), NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet,
      N_("Print only errors"), NULL },
    { "busy-timeout", 0, 0, G_OPTION_ARG_INT, &o.busy_timeout_ms,
      N_("How long to wait for another program to release the database (ms)"), N_("MS") },
    { "backup-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.backup_dir,
      N_("Where backups are kept (default: backups/ beside the database)"), N_("DIR") },
    { "reason", 0, 0, G_OPTION_ARG_STRING, &o.reason,
      N_("backup: why it is made (default: manual)"), N_("REASON") },
    { "to", 0, 0, G_OPTION_ARG_STRING, &o.target,
      N_("migrate: stop after this migration (for building test databases)"), N_("TAG") },
    { "accept-modified", 0, 0, G_OPTION_ARG_NONE, &o.accept_modified,
      N_("migrate: apply pending updates although applied ones changed since"), NULL },
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &o.yes,
      N_("restore, fresh: do it (without it, only say what would be done)"), NULL },
    { "no-backup", 0, 0, G_OPTION_ARG_NONE, &o.no_backup,
      N_("migrate: no backup first (only when you have your own verified one)"), NULL },
    { "no-verify", 0, 0, G_OPTION_ARG_NONE, &o.no_verify,
      N_("migrate: skip the full integrity check after committing"), NULL },
    { "deep", 0, 0, G_OPTION_ARG_NONE, &o.deep,
      N_("verify: the full integrity_check and foreign_key_check (slower)"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &o.version, N_("Print the version"), NULL },
    { NULL }
  };
  g_auto(GStrv) args = NULL;
  int status;

  context = g_option_context_new (N_("[COMMAND] - bring the AurSwift POS database up to date"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_description (context, summary);

  args = g_strdupv (argv);
  (void) argc;
  if (!g_option_context_parse_strv (context, &args, &error))
    {
      g_printerr ("%s\n%s\n", error->message,
                  _("Run “migration-wizard --help” to see the commands and options."));
      return MW_EXIT_USAGE;
    }

  if (o.version)
    {
      g_print ("migration-wizard %s (SQLite %s)\n", PACKAGE_VERSION, sqlite3_libversion ());
      return MW_EXIT_OK;
    }

  if (g_strv_length (args) > 2 && !(g_str_equal (args[1], "restore") && g_strv_length (args) == 3))
    {
      g_printerr (_("Unexpected argument “%s”.\n"), args[2]);
      return MW_EXIT_USAGE;
    }
  o.command = g_strdup (args[1] != NULL ? args[1] : "status");

  o.config = mw_config_load (o.config_path, &error);
  if (o.config == NULL)
    {
      g_printerr ("%s\n", error->message);
      return MW_EXIT_USAGE;
    }
  if (o.database == NULL)
    o.database = g_strdup (o.config->database);
  if (o.database == NULL)
    o.database = mw_config_default_database ();
  if (o.busy_timeout_ms <= 0)
    o.busy_timeout_ms = (int) o.config->busy_timeout_ms;
  if (o.backup_dir == NULL)
    o.backup_dir = g_strdup (o.config->backup_dir);
  if (o.backup_dir == NULL)
    o.backup_dir = mw_backup_default_dir (o.database);

  /* Before anything else: finish or undo what a crash interrupted. */
  {
    g_autoptr(GError) recover_error = NULL;
    g_autofree char *report = mw_operation_recover (o.database, &recover_error);

    if (recover_error != NULL)
      {
        g_printerr ("%s\n", recover_error->message);
        return MW_EXIT_UNREADABLE;
      }
    if (report != NULL)
      g_printerr ("%s\n", report);
  }

  if (g_str_equal (o.command, "status"))
    status = cmd_status (&o);
  else if (g_str_equal (o.command, "restore"))
    status = cmd_restore (&o, args[1] ? args[2] : NULL);
  else if (g_str_equal (o.command, "fresh"))
    status = cmd_fresh (&o);
  else if (g_str_equal (o.command, "migrate"))
    status = cmd_migrate (&o);
  else if (g_str_equal (o.command, "backup"))
    status = cmd_backup (&o);
  else if (g_str_equal (o.command, "backups"))
    status = cmd_backups (&o);
  else if (g_str_equal (o.command, "verify"))
    status = cmd_verify (&o);
  else if (g_str_equal (o.command, "repair"))
    status = cmd_repair (&o);
  else
    {
      g_printerr (_("Unknown command “%s”. Commands: status, migrate, verify, repair, backup, "
                    "backups, restore, fresh.\n"),
                  o.command);
      status = MW_EXIT_USAGE;
    }

  return status;
}

/**
 * mw_exit_code_for_state:
 * @state: an #MwState
 *
 * The exit status the headless front uses for a database in @state; the wizard
 * window ends with the same statuses, so a launcher reads both alike.
 */
MwExitCode
mw_exit_code_for_state (int state)
{
  return exit_code_for_state ((MwState) state);
}

/**
 * mw_exit_code_for_error:
 * @error: an error from the engine
 *
 * The exit status for an operation that failed with @error.
 */
MwExitCode
mw_exit_code_for_error (const GError *error)
{
  return exit_code_for_error (error);
}

/* Options that take a value in the next argument, on either front. */
static const char * const options_with_value[] = {
  "-d", "--database", "-m", "--migrations", "-c", "--config", "--busy-timeout",
  "--backup-dir", "--reason", "--to", "--then-run", NULL
};

/* Options only the headless front knows: asking for one means the command line. */
static const char * const command_line_only[] = {
  "--help", "-h", "-?", "--help-all", "--json", "--quiet", "-q", "--version", "--yes", "-y", "--no-backup", "--no-verify",
  "--accept-modified", "--reason", "--to", NULL
};

/**
 * mw_cli_wants_command_line:
 * @argc: the argument count
 * @argv: the arguments
 *
 * Whether these arguments ask for the headless front: a command word
 * (`status`, `migrate`, …) or an option only it has (`--json`, `--yes`, …).
 * Anything else opens the wizard window.
 */
gboolean
mw_cli_wants_command_line (int    argc,
                           char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];
      g_autofree char *name = NULL;
      const char *eq;

      if (g_str_equal (arg, "--"))
        return i + 1 < argc;
      if (arg[0] != '-')
        return TRUE;

      eq = strchr (arg, '=');
      name = eq ? g_strndup (arg, eq - arg) : g_strdup (arg);
      if (g_strv_contains (command_line_only, name))
        return TRUE;
      if (eq == NULL && g_strv_contains (options_with_value, name))
        i++;
    }
  return FALSE;
}
