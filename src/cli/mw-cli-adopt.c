/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "mw-cli-private.h"

/*
 * Keeping a shop's data when its history does not fit the app: `schema` compares the
 * database's tables with what the app's own updates build. The engine compares
 * (mw-schema.c); this file prints.
 */

int
mw_cli_cmd_schema (MwCliOptions *o)
{
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(MwDiagnosis) diagnosis = mw_cli_diagnose (o, &set);
  g_autoptr(MwSchemaCheck) check = NULL;
  g_autoptr(GError) error = NULL;

  if (set == NULL || !diagnosis->exists ||
      diagnosis->state == MW_STATE_CORRUPT || diagnosis->state == MW_STATE_NOT_A_DATABASE ||
      diagnosis->state == MW_STATE_UNREADABLE)
    {
      g_printerr ("%s\n", diagnosis->message);
      return mw_exit_code_for_state (diagnosis->state);
    }

  check = diagnosis->schema ? g_steal_pointer (&diagnosis->schema)
                            : mw_schema_check (o->settings->database, set,
                                               mw_diagnosis_recorded_level (diagnosis), NULL,
                                               &error);
  if (check == NULL)
    {
      g_printerr ("%s\n", error->message);
      return mw_exit_code_for_error (error);
    }

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      mw_schema_check_to_json (check, set, TRUE, builder);
      mw_cli_print_json (builder);
    }
  else if (!o->quiet || check->diffs->len > 0)
    {
      g_autofree char *text = mw_schema_check_to_text (check, set);

      g_print ("%s", text);
    }
  return check->diffs->len == 0 ? MW_EXIT_OK : MW_EXIT_SCHEMA_DIFFERS;
}

static void
print_adopt_json (const char    *result,
                  MwAdoptReport *report,
                  const char    *aside,
                  const GError  *error,
                  MwDiagnosis   *after)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "result");
  json_builder_add_string_value (builder, result);
  json_builder_set_member_name (builder, "report");
  if (report != NULL)
    mw_adopt_report_to_json (report, builder);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "previous");
  json_builder_add_string_value (builder, aside);
  if (error != NULL)
    {
      json_builder_set_member_name (builder, "error");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, error->message);
      json_builder_set_member_name (builder, "exit_code");
      json_builder_add_int_value (builder, mw_exit_code_for_error (error));
      json_builder_end_object (builder);
    }
  if (after != NULL)
    {
      json_builder_set_member_name (builder, "after");
      mw_diagnosis_to_json (after, builder);
    }
  json_builder_end_object (builder);
  mw_cli_print_json (builder);
}

/* `adopt`: keep the data of a database whose history does not fit the app. Without
 * --yes: the report (and for a carry, the new database beside the original); with
 * it: in place, after a verified backup, the original kept aside. */
int
mw_cli_cmd_adopt (MwCliOptions *o)
{
  g_autoptr(MwAdoptOptions) options = mw_adopt_options_new ();
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(MwInstanceLock) lock = NULL;
  g_autoptr(MwAdoptReport) report = NULL;
  g_autoptr(MwDiagnosis) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;
  MwCliRun run;

  set = mw_cli_load_migrations (o, &error);
  if (set == NULL)
    {
      g_printerr ("%s\n", error->message);
      return mw_exit_code_for_error (error);
    }
  /* The configuration file's maps and values first; the command line's win. */
  for (guint i = 0; o->settings->adopt_maps && o->settings->adopt_maps[i] && !error; i++)
    mw_adopt_options_add_map (options, o->settings->adopt_maps[i], &error);
  for (guint i = 0; o->settings->adopt_values && o->settings->adopt_values[i] && !error; i++)
    mw_adopt_options_add_value (options, o->settings->adopt_values[i], &error);
  for (guint i = 0; o->maps != NULL && o->maps[i] != NULL && error == NULL; i++)
    mw_adopt_options_add_map (options, o->maps[i], &error);
  for (guint i = 0; error == NULL && o->values != NULL && o->values[i] != NULL; i++)
    mw_adopt_options_add_value (options, o->values[i], &error);
  if (error != NULL)
    {
      g_printerr ("%s\n", error->message);
      return MW_EXIT_BAD_MAPPING;
    }

  {
    int status = mw_cli_lock_database (o, NULL, &lock);

    if (status != MW_EXIT_OK)
      return status;
  }

  mw_cli_run_begin (&run, o);
  mw_adopt_async (o->settings->database, set, options, o->settings->backup_dir, o->yes,
                  run.progress, run.cancellable, mw_cli_run_done_cb, &run);
  report = mw_adopt_finish (mw_cli_run_wait (&run), &aside, &error);
  mw_cli_run_end (&run);

  if (report == NULL)
    {
      int status = mw_exit_code_for_error (error);

      if (o->json)
        print_adopt_json ("failed", NULL, NULL, error, NULL);
      else
        g_printerr ("%s\n", error->message);
      /* A refusal of the database's state keeps that state's code. */
      if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED))
        {
          g_autoptr(MwDiagnosis) d = mw_diagnose (o->settings->database, set, NULL);

          status = mw_exit_code_for_state (d->state);
        }
      return status;
    }

  if (o->yes)
    {
      after = mw_diagnose (o->settings->database, set, NULL);
      mw_cli_prune_aside (o);
    }

  if (o->json)
    print_adopt_json (o->yes ? "adopted" : "prepared", report, aside, NULL, after);
  else if (!o->quiet)
    {
      g_autofree char *text = mw_adopt_report_to_text (report);

      g_print ("%s", text);
      if (o->yes && aside != NULL)
        g_print (_("The database as it was is kept, with its companion files, as %s.\n"), aside);
      if (after != NULL)
        g_print ("%s\n", after->message);
      if (!o->yes && report->ready)
        g_print ("%s\n", report->method == MW_ADOPT_RESTAMP
                         ? _("Nothing was changed. Run again with --yes to re-stamp the history "
                             "and apply the remaining updates (after a verified backup).")
                         : _("Nothing was changed. Run again with --yes to put the new database in "
                             "place (after a verified backup; the original is kept aside)."));
    }

  if (!report->ready)
    return MW_EXIT_NEEDS_VALUE;
  if (!o->yes)
    return MW_EXIT_NEEDS_CONFIRMATION;
  return after->state == MW_STATE_UP_TO_DATE ? MW_EXIT_OK : mw_exit_code_for_state (after->state);
}

/* `lint`: for the app's developers, before a release ships. */
int
mw_cli_cmd_lint (MwCliOptions *o)
{
  g_autoptr(MwLintReport) report = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = mw_migrations_locate (o->settings->migrations,
                                                  o->settings->config_migrations, &error);

  if (folder == NULL)
    {
      g_printerr ("%s\n", error->message);
      return mw_exit_code_for_error (error);
    }
  report = mw_lint (folder, o->since, &error);
  if (report == NULL)
    {
      g_printerr ("%s\n", error->message);
      return mw_exit_code_for_error (error);
    }

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      mw_lint_report_to_json (report, builder);
      mw_cli_print_json (builder);
    }
  else if (!o->quiet || report->n_errors > 0)
    {
      g_autofree char *text = mw_lint_report_to_text (report);

      g_print ("%s", text);
    }
  return report->n_errors > 0 ? MW_EXIT_LINT_ERRORS : MW_EXIT_OK;
}
