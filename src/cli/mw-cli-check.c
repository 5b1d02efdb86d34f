/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "mw-cli-private.h"

/*
 * `verify` and `repair`: checking a database without changing it, and recovering
 * what a damaged one still holds into a new one; `bundle`: what support needs, in one
 * file. The reports render themselves (mw_verify_result_to_*, mw_repair_report_to_*,
 * mw_support_write_bundle); this file prints them.
 */

int
mw_cli_cmd_verify (MwCliOptions *o)
{
  g_autoptr(MwVerifyReport) report = NULL;
  g_autoptr(GError) error = NULL;
  MwCliRun run;
  int status;

  mw_cli_run_begin (&run, o);
  mw_verify_async (o->settings->database, o->deep, run.progress, run.cancellable,
                   mw_cli_run_done_cb, &run);
  report = mw_verify_finish (mw_cli_run_wait (&run), &error);
  mw_cli_run_end (&run);

  if (report != NULL)
    status = report->fk_violations > 0 ? MW_EXIT_FOREIGN_KEYS : MW_EXIT_OK;
  else
    status = mw_exit_code_for_error (error);

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      mw_verify_result_to_json (report, error, o->deep, builder);
      mw_cli_print_json (builder);
    }
  else if (report != NULL)
    {
      g_autofree char *text = mw_verify_result_to_text (report, NULL);

      if (!o->quiet || report->fk_summary != NULL)
        g_print ("%s", text);
    }
  else
    {
      g_autofree char *text = mw_verify_result_to_text (NULL, error);

      g_printerr ("%s", text);
    }
  return status;
}

int
mw_cli_cmd_repair (MwCliOptions *o)
{
  g_autoptr(MwInstanceLock) lock = NULL;
  g_autoptr(MwRepairReport) report = NULL;
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;
  gboolean swapped = FALSE;
  MwCliRun run;
  int status;

  status = mw_cli_lock_database (o, NULL, &lock);
  if (status != MW_EXIT_OK)
    return status;

  /* Optional: they tell the list of tables when it is lost. */
  set = mw_cli_load_migrations (o, NULL);
  mw_cli_run_begin (&run, o);
  mw_repair_async (o->settings->database, o->settings->backup_dir, set, run.progress,
                   run.cancellable, mw_cli_run_done_cb, &run);
  report = mw_repair_finish (mw_cli_run_wait (&run), &error);
  mw_cli_run_end (&run);

  if (report == NULL)
    {
      g_autoptr(MwRemedy) remedy = mw_remedy_for_error (MW_OPERATION_REPAIR, error, NULL, NULL,
                                                        o->settings);

      g_printerr (_("Nothing could be repaired, and nothing was changed: %s\n"), error->message);
      return remedy->exit_code;
    }

  if (o->yes)
    {
      if (!mw_repair_swap (o->settings->database, report->repaired_path, &aside, &error))
        {
          MwExitCode code = mw_exit_code_for_error (error);

          g_printerr (_("The repaired copy %s could not be put in place; the damaged database "
                        "is unchanged: %s\n"), report->repaired_path, error->message);
          /* A full disk or an unwritable folder says so; anything else is a repair that
           * could not be used. */
          return code == MW_EXIT_CORRUPT || code == MW_EXIT_INTERNAL ? MW_EXIT_REPAIR_FAILED
                                                                      : (int) code;
        }
      swapped = TRUE;
      mw_cli_prune_aside (o);
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
      mw_cli_print_json (builder);
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

/**
 * mw_cli_cmd_bundle:
 *
 * `bundle FILE`: the support bundle the technician view saves, from a terminal —
 * versions, settings, the diagnosis, the database's facts, the backups' descriptions
 * and the log, redacted (mw_support_write_bundle()); no table row is read.
 */
int
mw_cli_cmd_bundle (MwCliOptions *o)
{
  g_autoptr(MwDiagnosis) diagnosis = NULL;
  g_autoptr(MwDatabaseFacts) facts = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *log = NULL;

  if (o->argument == NULL)
    {
      g_printerr (_("Which file should the support bundle be saved as? "
                    "Run: migration-wizard bundle FILE\n"));
      return MW_EXIT_USAGE;
    }

  diagnosis = mw_cli_diagnose (o, NULL);
  facts = mw_database_facts_read (o->settings->database);
  log = mw_log_dup_text ();
  if (!mw_support_write_bundle (o->argument, diagnosis, o->settings, facts, log, &error))
    {
      g_printerr (_("Could not save the support bundle: %s\n"), error->message);
      return mw_exit_code_for_error (error);
    }

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "result");
      json_builder_add_string_value (builder, "bundle");
      json_builder_set_member_name (builder, "file");
      json_builder_add_string_value (builder, o->argument);
      json_builder_end_object (builder);
      mw_cli_print_json (builder);
    }
  else if (!o->quiet)
    g_print (_("Support bundle saved as %s. It holds no table rows; passwords, PINs, keys, "
               "tokens, card numbers, e-mail addresses and your user name are redacted.\n"),
             o->argument);
  return MW_EXIT_OK;
}
