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
