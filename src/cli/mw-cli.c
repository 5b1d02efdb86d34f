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

#include "mw-cli-private.h"

/*
 * The program's one option table, the dispatch to the commands, and the run harness
 * they share. The settings are resolved here once (command line, configuration
 * file, defaults) and handed to whichever front runs: the commands below, or the
 * wizard window's module. Every outcome has its own exit status (the engine's
 * MwExitCode), and --json prints one object a script can read.
 */

static const char *summary = N_(
  "Without a command, the wizard window opens: it checks the database and shows what to do.\n"
  "  --after-update [--then-run CMD]   for the app's launcher: no window when the database is\n"
  "           up to date, updates with a progress window, closes itself and runs CMD on success\n"
  "  (with no display, the same job is done headless: migrate after an update, else status)\n"
  "\n"
  "Commands:\n"
  "  status [--deep]   Tell which state the database is in (the default); --deep also reads\n"
  "             every page, as the wizard window does\n"
  "  migrate    Apply the app's pending database updates, safely (after a verified backup)\n"
  "  verify [--deep]   Check the database without changing it: quick_check, or with --deep\n"
  "             integrity_check and foreign_key_check (22 when rows point at missing rows)\n"
  "  backup     Make a verified backup now\n"
  "  backups    List the backups, with their date, reason, level, size and check\n"
  "  restore [BACKUP] --yes   Restore a backup (default: the newest taken before an update)\n"
  "  fresh --yes              Back up, keep the database aside, start with a new one\n"
  "  repair [--yes]           Recover every readable row of a damaged database into a new\n"
  "                           one (a copy and a report; --yes puts it in place)\n"
  "  schema     Compare the database's tables with what the app's updates build (30 when\n"
  "             they differ)\n"
  "  adopt [--map OLD=NEW] [--value TABLE.COLUMN=VALUE] [--yes]   Keep the data of a database\n"
  "             whose update history does not fit the app: re-stamp a proven level, or carry\n"
  "             every row into a new database built by the app's updates (--yes: put it in\n"
  "             place, the original kept aside)\n"
  "  lint [--since PREVIOUS_DIR]   For the app's developers: check a migrations folder before\n"
  "             shipping it (file:line findings; with --since, what shops on the previous\n"
  "             release will meet)\n"
  "  bundle FILE              Save a support bundle (versions, the diagnosis, the backups,\n"
  "                           the log; no table rows, secrets and personal data redacted)\n"
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
  "  30 tables differ from the app's (schema)  31 a --map or --value cannot apply\n"
  "  32 a new required column needs --value (adopt)  33 the migrations have errors (lint)\n"
  "  34 an interrupted operation's journal was not written by this program (nothing touched)\n"
  "   2 usage                      1 internal error\n"
  "  (21-24: everything was rolled back; the database is exactly as it was)");

void
mw_cli_options_free (MwCliOptions *o)
{
  if (o == NULL)
    return;
  g_clear_pointer (&o->settings, mw_settings_free);
  g_free (o->command);
  g_free (o->argument);
  g_free (o->target);
  g_free (o->reason);
  g_strfreev (o->maps);
  g_strfreev (o->values);
  g_free (o->since);
  g_free (o);
}

/**
 * mw_cli_options_parse:
 *
 * Parses the command line with the program's one option table and resolves the
 * settings (configuration file, defaults). `--help` prints the help and exits.
 *
 * Returns: (transfer full): the options, or %NULL with a usage error
 */
MwCliOptions *
mw_cli_options_parse (int      argc,
                      char   **argv,
                      GError **error)
{
  g_autoptr(MwCliOptions) o = g_new0 (MwCliOptions, 1);
  g_autoptr(GOptionContext) context = NULL;
  g_auto(GStrv) args = NULL;
  MwSettings *s;

  o->settings = s = mw_settings_new ();
  {
    const GOptionEntry entries[] = {
      { "database", 'd', 0, G_OPTION_ARG_FILENAME, &s->database,
        N_("The database file (default: from the configuration, else the app's)"), N_("PATH") },
      { "migrations", 'm', 0, G_OPTION_ARG_FILENAME, &s->migrations,
        N_("The app's migrations folder (default: searched)"), N_("DIR") },
      { "config", 'c', 0, G_OPTION_ARG_FILENAME, &s->config_path,
        N_("A configuration file"), N_("FILE") },
      { "backup-dir", 0, 0, G_OPTION_ARG_FILENAME, &s->backup_dir,
        N_("Where backups are kept (default: backups/ beside the database)"), N_("DIR") },
      { "migrations-table", 0, 0, G_OPTION_ARG_STRING, &s->migrations_table,
        N_("The table the app keeps its migration history in (default: __drizzle_migrations, "
           "or the one table of its shape)"), N_("NAME") },
      { "busy-timeout", 0, 0, G_OPTION_ARG_INT, &s->busy_timeout_ms,
        N_("How long to wait for another program to release the database (ms)"), N_("MS") },
      { "after-update", 0, 0, G_OPTION_ARG_NONE, &s->after_update,
        N_("Run right after the app was updated: no window when there is nothing to do, "
           "close by itself when the update succeeds"), NULL },
      { "then-run", 0, 0, G_OPTION_ARG_STRING, &s->then_run,
        N_("With --after-update: the command to start once the database is ready (the POS)"),
        N_("COMMAND") },
      { "json", 0, 0, G_OPTION_ARG_NONE, &o->json,
        N_("Print one JSON object"), NULL },
      { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o->quiet,
        N_("Print only errors"), NULL },
      { "reason", 0, 0, G_OPTION_ARG_STRING, &o->reason,
        N_("backup: why it is made (default: manual)"), N_("REASON") },
      { "to", 0, 0, G_OPTION_ARG_STRING, &o->target,
        N_("migrate: stop after this migration (for building test databases)"), N_("TAG") },
      { "accept-modified", 0, 0, G_OPTION_ARG_NONE, &o->accept_modified,
        N_("migrate: apply pending updates although applied ones changed since"), NULL },
      { "yes", 'y', 0, G_OPTION_ARG_NONE, &o->yes,
        N_("restore, fresh, repair, adopt: do it (without it, only say what would be done)"),
        NULL },
      { "map", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->maps,
        N_("adopt: a renamed table (OLD=NEW) or column (TABLE.OLD=NEW); repeatable"),
        N_("OLD=NEW") },
      { "value", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->values,
        N_("adopt: the value a new required column takes (TABLE.COLUMN=VALUE); repeatable"),
        N_("TABLE.COLUMN=VALUE") },
      { "no-backup", 0, 0, G_OPTION_ARG_NONE, &o->no_backup,
        N_("migrate: no backup first (only when you have your own verified one)"), NULL },
      { "no-verify", 0, 0, G_OPTION_ARG_NONE, &o->no_verify,
        N_("migrate: skip the full integrity check after committing"), NULL },
      { "since", 0, 0, G_OPTION_ARG_FILENAME, &o->since,
        N_("lint: the previous release's migrations folder, to check what shops on it meet"),
        N_("DIR") },
      { "deep", 0, 0, G_OPTION_ARG_NONE, &o->deep,
        N_("status: read every page too; verify: the full integrity_check and "
           "foreign_key_check (slower)"), NULL },
      { "version", 0, 0, G_OPTION_ARG_NONE, &o->version, N_("Print the version"), NULL },
      { NULL }
    };

    context = g_option_context_new (N_("[COMMAND] - bring the AurSwift POS database up to date"));
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
    g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
    g_option_context_set_description (context, summary);

    args = g_strdupv (argv);
    (void) argc;
    if (!g_option_context_parse_strv (context, &args, error))
      return NULL;
  }

  if (o->version)
    return g_steal_pointer (&o);

  if (args[1] != NULL)
    {
      o->command = g_strdup (args[1]);
      if (args[2] != NULL)
        {
          /* Only restore (BACKUP) and bundle (FILE) take one. */
          gboolean takes_one = g_str_equal (args[1], "restore") || g_str_equal (args[1], "bundle");

          if (!takes_one || args[3] != NULL)
            {
              g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                           _("Unexpected argument “%s”."), args[takes_one ? 3 : 2]);
              return NULL;
            }
          o->argument = g_strdup (args[2]);
        }
    }

  if (!mw_settings_resolve (o->settings, error))
    return NULL;
  return g_steal_pointer (&o);
}

/**
 * mw_cli_options_want_window:
 *
 * Whether these options ask for the wizard window: no command word, and none of
 * the options only the headless front has (`--json`, `--yes`, …).
 */
gboolean
mw_cli_options_want_window (MwCliOptions *o)
{
  g_return_val_if_fail (o != NULL, FALSE);

  return o->command == NULL && !o->json && !o->quiet && !o->yes && !o->no_backup &&
         !o->no_verify && !o->accept_modified && o->reason == NULL && o->target == NULL &&
         o->maps == NULL && o->values == NULL && o->since == NULL &&
         !o->deep && !o->version;
}

/* ---- shared helpers ----------------------------------------------------------------- */

void
mw_cli_print_json (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

MwMigrationSet *
mw_cli_load_migrations (MwCliOptions  *o,
                        GError       **error)
{
  return mw_settings_load_migrations (o->settings, error);
}

/**
 * mw_cli_diagnose:
 * @out_set: (out) (optional) (nullable): the migrations, when they could be read
 *
 * The diagnosis every command starts from; a packaging fault is a diagnosis too.
 */
MwDiagnosis *
mw_cli_diagnose (MwCliOptions    *o,
                 MwMigrationSet **out_set)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MwMigrationSet) set = mw_cli_load_migrations (o, &error);
  MwDiagnosis *diagnosis;

  if (set == NULL)
    return mw_diagnosis_new_for_error (o->settings->database, error);
  diagnosis = mw_diagnose_full (o->settings->database, set,
                                MW_DIAGNOSE_SCHEMA |
                                (o->deep ? MW_DIAGNOSE_READ_PAGES : MW_DIAGNOSE_NONE), NULL, NULL);
  if (out_set != NULL)
    *out_set = g_steal_pointer (&set);
  return diagnosis;
}

/* After a new backup: the oldest beyond the retention go (never the new one). */
void
mw_cli_prune_backups (MwCliOptions *o,
                      MwBackup     *fresh)
{
  g_autoptr(GPtrArray) removed = NULL;
  g_autoptr(GError) error = NULL;
  const char *protect[] = { fresh->path, NULL };

  removed = mw_backup_prune (o->settings->backup_dir, &o->settings->retention, protect, &error);
  if (removed == NULL)
    g_printerr ("%s\n", error->message);
}

/* The databases restore and fresh start kept aside are bounded too (those with a
 * verified backup only; the newest always stays). */
void
mw_cli_prune_aside (MwCliOptions *o)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) removed = mw_prune_aside_sets (o->settings->database,
                                                      o->settings->backup_dir,
                                                      o->settings->keep_old_sets, &error);

  if (removed == NULL)
    g_printerr ("%s\n", error->message);
}

/**
 * mw_cli_lock_database:
 * @set: (nullable): with the migrations, also make sure no other program holds the
 *   database (for commands that replace it; migrate and repair wait or read instead)
 *
 * Nobody else may be writing: the instance lock (one wizard per database), then the
 * database's own lock, as the diagnosis finds it.
 *
 * Returns: %MW_EXIT_OK with the lock held in @out_lock, or the exit status of what
 *   stopped it (said): another wizard (locked), a lock file that is not the wizard's
 */
int
mw_cli_lock_database (MwCliOptions    *o,
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

/* ---- the run harness ---------------------------------------------------------------- */

static void
progress_notify_cb (MwProgress *progress,
                    GParamSpec *pspec,
                    MwCliRun   *run)
{
  g_autofree char *message = mw_progress_dup_message (progress);

  g_printerr ("\r\033[K%3.0f%%  %s", mw_progress_get_fraction (progress) * 100.0,
              message ? message : "");
}

#ifdef G_OS_UNIX
static gboolean
signal_cb (gpointer user_data)
{
  MwCliRun *run = user_data;

  /* Cancelling rolls the work back; the database stays exactly as it was. */
  if (run->signal_count++ == 0)
    g_printerr ("\n%s\n", _("Stopping: undoing the changes made so far…"));
  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_CONTINUE;
}
#endif

/**
 * mw_cli_run_begin:
 *
 * Sets up a long command: its cancellable (Ctrl+C, SIGTERM), its progress (one
 * terminal line when stderr is a terminal and the output is for a person).
 */
void
mw_cli_run_begin (MwCliRun     *run,
                  MwCliOptions *o)
{
  memset (run, 0, sizeof *run);
  run->loop = g_main_loop_new (NULL, FALSE);
  run->cancellable = g_cancellable_new ();
  run->progress = mw_progress_new ();
#ifdef G_OS_UNIX
  run->tty = !o->json && !o->quiet && isatty (STDERR_FILENO);
  run->sigint = g_unix_signal_add (SIGINT, signal_cb, run);
  run->sigterm = g_unix_signal_add (SIGTERM, signal_cb, run);
#endif
  if (run->tty)
    g_signal_connect (run->progress, "notify::fraction", G_CALLBACK (progress_notify_cb), run);
}

void
mw_cli_run_done_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  MwCliRun *run = user_data;

  run->result = g_object_ref (result);
  g_main_loop_quit (run->loop);
}

/**
 * mw_cli_run_wait:
 *
 * Runs the main loop until the operation started with mw_cli_run_done_cb() as its
 * callback has finished.
 *
 * Returns: (transfer none): its result, for the operation's _finish
 */
GAsyncResult *
mw_cli_run_wait (MwCliRun *run)
{
  if (run->result == NULL)
    g_main_loop_run (run->loop);
  return run->result;
}

void
mw_cli_run_end (MwCliRun *run)
{
  g_clear_handle_id (&run->sigint, g_source_remove);
  g_clear_handle_id (&run->sigterm, g_source_remove);
  if (run->progress != NULL)
    g_signal_handlers_disconnect_by_data (run->progress, run);
  if (run->tty)
    g_printerr ("\r\033[K");
  g_clear_object (&run->result);
  g_clear_object (&run->progress);
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->loop, g_main_loop_unref);
}

/* ---- dispatch ----------------------------------------------------------------------- */

static const struct
{
  const char *name;
  int       (*run) (MwCliOptions *o);
  gboolean    on_database;   /* finish or undo an interrupted operation first */
} commands[] = {
  { "status",  mw_cli_cmd_status,  TRUE },
  { "migrate", mw_cli_cmd_migrate, TRUE },
  { "verify",  mw_cli_cmd_verify,  TRUE },
  { "repair",  mw_cli_cmd_repair,  TRUE },
  { "backup",  mw_cli_cmd_backup,  TRUE },
  { "backups", mw_cli_cmd_backups, TRUE },
  { "restore", mw_cli_cmd_restore, TRUE },
  { "fresh",   mw_cli_cmd_fresh,   TRUE },
  { "schema",  mw_cli_cmd_schema,  TRUE },
  { "adopt",   mw_cli_cmd_adopt,   TRUE },
  { "lint",    mw_cli_cmd_lint,    FALSE },
  { "bundle",  mw_cli_cmd_bundle,  TRUE },
};

/**
 * mw_cli_run:
 *
 * Runs the command the options name (`status` when none), after finishing or
 * undoing whatever a crash interrupted.
 *
 * Returns: the exit status
 */
int
mw_cli_run (MwCliOptions *o)
{
  const char *command;

  g_return_val_if_fail (o != NULL, MW_EXIT_INTERNAL);

  if (o->version)
    {
      g_print ("migration-wizard %s (SQLite %s)\n", PACKAGE_VERSION, sqlite3_libversion ());
      return MW_EXIT_OK;
    }

  command = o->command ? o->command : "status";
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autoptr(GError) recover_error = NULL;
      g_autofree char *report = NULL;

      if (!g_str_equal (command, commands[i].name))
        continue;
      if (!commands[i].on_database)
        return commands[i].run (o);

      /* Before anything else: finish or undo what a crash interrupted. */
      report = mw_operation_recover (o->settings->database, &recover_error);
      if (recover_error != NULL)
        {
          g_printerr ("%s\n", recover_error->message);
          return mw_exit_code_for_error (recover_error);
        }
      if (report != NULL)
        g_printerr ("%s\n", report);
      return commands[i].run (o);
    }

  g_printerr (_("Unknown command “%s”. Commands: status, migrate, verify, repair, backup, "
                "backups, restore, fresh, schema, adopt, lint, bundle.\n"),
              command);
  return MW_EXIT_USAGE;
}

/**
 * mw_cli_run_headless:
 *
 * The wizard's job when there is no display: after an update, `migrate` and then
 * the POS (`--then-run`) once the database is ready; otherwise `status`.
 *
 * Returns: the exit status
 */
int
mw_cli_run_headless (MwCliOptions *o)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_return_val_if_fail (o != NULL, MW_EXIT_INTERNAL);

  g_printerr (_("No display: running without a window.\n"));
  g_free (o->command);
  o->command = g_strdup (o->settings->after_update ? "migrate" : "status");
  status = mw_cli_run (o);

  if (o->settings->after_update && status == MW_EXIT_OK &&
      !mw_settings_run_then (o->settings, &error))
    {
      g_printerr ("%s\n", error->message);
      return MW_EXIT_INTERNAL;
    }
  return status;
}
