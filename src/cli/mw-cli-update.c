/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "mw-cli-private.h"

/*
 * `status` and `migrate`: the database's state, and the safe update. What a state
 * means — may it be migrated, what else to do, the exit status — is the engine's
 * remedy; this file prints it.
 */

int
mw_cli_cmd_status (MwCliOptions *o)
{
  g_autoptr(MwDiagnosis) diagnosis = mw_cli_diagnose (o, NULL);

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      mw_diagnosis_to_json (diagnosis, builder);
      mw_cli_print_json (builder);
    }
  else if (!o->quiet)
    {
      g_autofree char *text = mw_diagnosis_to_text (diagnosis);

      g_print ("%s", text);
    }

  return mw_exit_code_for_state (diagnosis->state);
}

static void
add_migrate_json (JsonBuilder      *builder,
                  const char       *result,
                  MwMigrator       *migrator,
                  const GError     *error,
                  MwRemedy         *remedy,
                  MwDiagnosis      *before,
                  MwDiagnosis      *after,
                  const MwSettings *settings)
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
      if (migrator != NULL)
        mw_migrator_failure_to_json (migrator, error, builder);
      else
        {
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "message");
          json_builder_add_string_value (builder, error->message);
          json_builder_end_object (builder);
        }
    }
  if (remedy != NULL)
    {
      json_builder_set_member_name (builder, "remedy");
      mw_remedy_to_json (remedy, settings, builder);
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
report_refusal (MwCliOptions *o,
                MwDiagnosis  *before)
{
  g_autoptr(MwRemedy) remedy = mw_remedy_for_diagnosis (before, o->settings);

  if (o->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      add_migrate_json (builder, "refused", NULL, NULL, remedy, before, NULL, o->settings);
      mw_cli_print_json (builder);
    }
  else
    {
      g_autofree char *text = mw_remedy_to_text (remedy, o->settings);

      g_printerr ("%s", text);
      if (before->detail != NULL)
        g_printerr ("%s: %s\n", _("Details"), before->detail);
    }
  return remedy->exit_code;
}

int
mw_cli_cmd_migrate (MwCliOptions *o)
{
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(MwDiagnosis) before = mw_cli_diagnose (o, &set);
  g_autoptr(MwDiagnosis) after = NULL;
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(MwInstanceLock) lock = NULL;
  g_autoptr(GError) error = NULL;
  MwCliRun run;
  gboolean ok;

  if (before->state == MW_STATE_UP_TO_DATE)
    {
      if (o->json)
        {
          g_autoptr(JsonBuilder) builder = json_builder_new ();

          add_migrate_json (builder, "up-to-date", NULL, NULL, NULL, before, NULL, o->settings);
          mw_cli_print_json (builder);
        }
      else if (!o->quiet)
        g_print ("%s\n", before->message);
      return MW_EXIT_OK;
    }

  if (!mw_state_may_migrate (before->state, o->accept_modified))
    {
      g_autoptr(MwRemedy) remedy = mw_remedy_for_diagnosis (before, o->settings);

      /* After an update, a proven case (the changed updates still build exactly the
       * recorded tables) is adopted without asking: the POS must not stop for a
       * comment. Logged and reported as an adoption. */
      if (remedy->automatic && remedy->recommended == MW_ACTION_ADOPT)
        {
          g_message ("After the update: the changed updates build exactly the recorded tables; "
                     "adopting without asking");
          o->yes = TRUE;
          return mw_cli_cmd_adopt (o);
        }
      return report_refusal (o, before);
    }

  {
    int status = mw_cli_lock_database (o, NULL, &lock);

    if (status != MW_EXIT_OK)
      return status;
  }

  mw_cli_run_begin (&run, o);
  migrator = mw_migrator_new (o->settings->database, set);
  mw_migrator_set_progress (migrator, run.progress);
  mw_migrator_set_target (migrator, o->target);
  mw_migrator_set_accept_modified (migrator, o->accept_modified);
  mw_migrator_set_backup (migrator, !o->no_backup, o->settings->backup_dir);
  mw_migrator_set_verify (migrator, !o->no_verify);
  mw_migrator_set_full_checks (migrator, o->settings->full_checks);
  if (o->settings->busy_timeout_ms > 0)
    mw_migrator_set_busy_timeout (migrator, (guint) o->settings->busy_timeout_ms);

  mw_migrator_run_async (migrator, run.cancellable, mw_cli_run_done_cb, &run);
  ok = mw_migrator_run_finish (migrator, mw_cli_run_wait (&run), &error);
  mw_cli_run_end (&run);

  if (ok && mw_migrator_get_backup (migrator) != NULL)
    mw_cli_prune_backups (o, mw_migrator_get_backup (migrator));

  after = mw_diagnose (o->settings->database, set, NULL);

  if (ok)
    {
      GPtrArray *applied = mw_migrator_get_applied (migrator);

      if (o->json)
        {
          g_autoptr(JsonBuilder) builder = json_builder_new ();

          add_migrate_json (builder, "migrated", migrator, NULL, NULL, before, after,
                            o->settings);
          mw_cli_print_json (builder);
        }
      else if (!o->quiet)
        {
          if (applied->len > 0)
            {
              g_print (g_dngettext (GETTEXT_PACKAGE, "Applied %u update:", "Applied %u updates:",
                                    applied->len),
                       applied->len);
              for (guint i = 0; i < applied->len; i++)
                g_print (" %s", (const char *) g_ptr_array_index (applied, i));
              g_print ("\n");
            }
          else if (mw_migrator_get_table_changed (migrator))
            g_print ("%s\n", _("The update history was set up as the app keeps it."));
          if (mw_migrator_get_backup (migrator) != NULL)
            g_print (_("Backup made before updating: %s\n"),
                     mw_migrator_get_backup (migrator)->path);
          g_print ("%s\n", after->message);
        }
      return MW_EXIT_OK;
    }

  {
    g_autoptr(MwRemedy) remedy = mw_remedy_for_error (MW_OPERATION_MIGRATE, error, migrator,
                                                      before, o->settings);

    if (o->json)
      {
        g_autoptr(JsonBuilder) builder = json_builder_new ();

        add_migrate_json (builder, "failed", migrator, error, remedy, before, after,
                          o->settings);
        mw_cli_print_json (builder);
      }
    else
      {
        g_autofree char *text = mw_remedy_to_text (remedy, o->settings);

        g_printerr ("%s", text);
        if (remedy->detail != NULL)
          g_printerr ("\n%s", remedy->detail);
      }
    return remedy->exit_code;
  }
}
