/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-journal"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mw-error.h"
#include "mw-fs-private.h"
#include "mw-journal-private.h"
#include "mw-operation.h"

/*
 * The operation journal, and recovery from a crash.
 *
 * Restore, fresh start and putting a repaired copy in place all build the new
 * database beside the old one under a temporary name, then move the old database
 * aside together with its -wal, -shm and -journal, then rename the new one into place.
 * Before each step, the operation journal (`<db>.mw-operation`, a small fsynced JSON
 * file beside the database) records how far it got, so that at the next start
 * mw_operation_recover() either undoes an operation that had not yet reached the point
 * of no return (only our temporary file is removed) or finishes one that had (the new
 * database is verified and durable before anything of the old one moves). Nothing the
 * user had is ever deleted: the old set keeps its data under `<db>.old.YYYYMMDD-HHMMSS`.
 */

/* ---- the journal --------------------------------------------------------------------- */

void
mw_journal_clear (MwJournal *j)
{
  g_free (j->operation);
  g_free (j->step);
  g_free (j->tmp);
  g_free (j->aside);
  g_free (j->started);
}

/**
 * mw_journal_init:
 * @operation: "restore", "fresh", "repair" or "failed-restore"
 *
 * Fills @j for a new operation on @database_path: its temporary database beside it
 * (`<db>.mw-<operation>`) and where the old set goes (`<db>.old.YYYYMMDD-HHMMSS`).
 * Nothing is written yet.
 */
void
mw_journal_init (MwJournal  *j,
                 const char *operation,
                 const char *database_path)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  j->operation = g_strdup (operation);
  j->tmp = g_strconcat (database_path, ".mw-", operation, NULL);
  j->aside = mw_unique_aside (database_path, "old");
  j->started = g_date_time_format_iso8601 (now);
}

/**
 * mw_operation_journal_path:
 *
 * Returns: (transfer full): `<db>.mw-operation`, where an operation records how far
 *   it got
 */
char *
mw_operation_journal_path (const char *database_path)
{
  return g_strconcat (database_path, ".mw-operation", NULL);
}

/**
 * mw_journal_write:
 *
 * Records that @j has reached @step, durably (the file and its folder fsynced).
 */
gboolean
mw_journal_write (const char  *database_path,
                  MwJournal   *j,
                  const char  *step,
                  GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = mw_operation_journal_path (database_path);
  g_autofree char *dir = g_path_get_dirname (database_path);
  g_autofree char *text = NULL;

  g_free (j->step);
  j->step = g_strdup (step);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "operation");
  json_builder_add_string_value (builder, j->operation);
  json_builder_set_member_name (builder, "step");
  json_builder_add_string_value (builder, j->step);
  json_builder_set_member_name (builder, "tmp");
  json_builder_add_string_value (builder, j->tmp);
  json_builder_set_member_name (builder, "aside");
  json_builder_add_string_value (builder, j->aside);
  json_builder_set_member_name (builder, "started");
  json_builder_add_string_value (builder, j->started);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);

  if (!g_file_set_contents_full (path, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, error))
    return FALSE;
  return mw_fsync_path (dir, TRUE, error);
}

static gboolean
journal_read (const char *database_path,
              MwJournal  *j)
{
  g_autofree char *path = mw_operation_journal_path (database_path);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *obj;

  if (!json_parser_load_from_file (parser, path, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return FALSE;
  obj = json_node_get_object (json_parser_get_root (parser));
  j->operation = g_strdup (json_object_get_string_member_with_default (obj, "operation", ""));
  j->step = g_strdup (json_object_get_string_member_with_default (obj, "step", ""));
  j->tmp = g_strdup (json_object_get_string_member_with_default (obj, "tmp", ""));
  j->aside = g_strdup (json_object_get_string_member_with_default (obj, "aside", ""));
  j->started = g_strdup (json_object_get_string_member_with_default (obj, "started", ""));
  return TRUE;
}

/**
 * mw_journal_remove:
 *
 * The operation is over, done or undone: its journal goes, durably.
 */
gboolean
mw_journal_remove (const char  *database_path,
                   GError     **error)
{
  g_autofree char *path = mw_operation_journal_path (database_path);
  g_autofree char *dir = g_path_get_dirname (database_path);

  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot remove %s: %s"), path, g_strerror (saved));
      return FALSE;
    }
  return mw_fsync_path (dir, TRUE, error);
}

/**
 * mw_journal_finish:
 *
 * The last steps, shared by an operation and its recovery: old set aside, new database
 * in place, journal gone. Call it only once the new database (@j's tmp) is complete
 * and durable and the journal says so: from then on, a crash is finished, not undone.
 */
gboolean
mw_journal_finish (const char  *database_path,
                   MwJournal   *j,
                   GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (database_path);

  if (g_strcmp0 (j->step, "moved") != 0)
    {
      /* A damaged original is moved exactly as it is; anything else is let SQLite roll
       * back a hot journal first. */
      if (g_strcmp0 (j->operation, "repair") != 0)
        mw_settle_with_sqlite (database_path);
      if (!mw_move_set_aside (database_path, j->aside, error) ||
          !mw_journal_write (database_path, j, "moved", error))
        return FALSE;
    }

  if (g_file_test (j->tmp, G_FILE_TEST_EXISTS))
    {
      /* Something (the POS?) created a new database in between: keep it too. */
      if (g_file_test (database_path, G_FILE_TEST_EXISTS))
        {
          g_autofree char *other = mw_unique_aside (database_path, "old");

          if (!mw_move_set_aside (database_path, other, error))
            return FALSE;
        }
      if (!mw_rename (j->tmp, database_path, error) || !mw_fsync_path (dir, TRUE, error))
        return FALSE;
    }

  return mw_journal_remove (database_path, error);
}

/* ---- recovery ------------------------------------------------------------------------ */

/**
 * mw_operation_recover:
 *
 * Finishes or undoes an operation a crash interrupted. Call it before anything else.
 *
 * Returns: (transfer full) (nullable): what was done, for the person; %NULL if there
 *   was nothing to recover (or on error, with @error set)
 */
char *
mw_operation_recover (const char  *database_path,
                      GError     **error)
{
  g_autofree char *path = mw_operation_journal_path (database_path);
  g_auto(MwJournal) j = { 0 };
  const char *what;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;

  if (!journal_read (database_path, &j) || j.tmp[0] == '\0' || j.aside[0] == '\0')
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                   _("An interrupted operation left %s, which cannot be read. Nothing was "
                     "changed; contact support."), path);
      return NULL;
    }

  what = g_str_equal (j.operation, "fresh") ? _("Start fresh")
       : g_str_equal (j.operation, "repair") ? _("Use the repaired database")
       : g_str_equal (j.operation, "adopt") ? _("Update and keep the data")
       : g_str_equal (j.operation, "failed-restore") ? _("Restoring the backup after a failed update")
       : _("Restore from backup");

  if (g_str_equal (j.step, "copied") || g_str_equal (j.step, "created") ||
      g_str_equal (j.step, "moved"))
    {
      if (!mw_journal_finish (database_path, &j, error))
        return NULL;
      return g_strdup_printf (_("“%s” was interrupted and has now been completed. The "
                                "previous database was kept as %s."), what, j.aside);
    }

  mw_remove_set (j.tmp);
  if (!mw_journal_remove (database_path, error))
    return NULL;
  return g_strdup_printf (_("“%s” was interrupted before it changed anything, and has been "
                            "undone. The database is as it was."), what);
}
