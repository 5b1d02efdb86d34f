/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-verify"

#include "config.h"

#include <glib/gi18n.h>
#include <sqlite3.h>

#include "mw-db-private.h"
#include "mw-error.h"
#include "mw-fs-private.h"
#include "mw-verify.h"
#include "mw-thread-private.h"
#include "mw-ticker-private.h"

/*
 * Checking a database on request: `quick_check` (every page read, O(N)), or with
 * deep `integrity_check` (every index entry matched too, ~10× slower) and
 * `foreign_key_check`. Read-only: the file is opened with SQLITE_OPEN_READONLY, so
 * a check never changes it. Progress is estimated from SQLite's virtual-machine
 * steps per page, which is all SQLite tells (mw-ticker.c); it never claims to be done
 * early.
 */

void
mw_verify_report_free (MwVerifyReport *report)
{
  if (report == NULL)
    return;
  g_free (report->fk_summary);
  g_free (report->summary);
  g_free (report);
}

static gboolean
failed (sqlite3      *db,
        int           rc,
        const char   *path,
        GError      **error)
{
  if (rc == SQLITE_INTERRUPT)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Cancelled"));
  else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
    g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED,
                 _("The database %s is in use by another program; close it and try again."),
                 path);
  else if (rc == SQLITE_NOTADB)
    g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_NOT_A_DATABASE,
                 _("The file %s is not a database (or it is encrypted)."), path);
  else
    g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                 _("The database %s is damaged: %s"), path, sqlite3_errmsg (db));
  return FALSE;
}

/* SQLite's findings name pages ("Page 1278: btreeInitPage() returns error code
 * 11", "Tree 7 page 1280 cell 3: …"); a technician wants the table too: each page is
 * looked up in dbstat (which still walks the parts of a damaged file it can read). */
static char *
name_tables (sqlite3    *db,
             const char *problems)
{
  g_autoptr(GRegex) page_re = g_regex_new ("(?i)\\bpage (\\d+)", 0, 0, NULL);
  g_auto(GStrv) lines = g_strsplit (problems, "\n", -1);
  GString *out = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT name FROM dbstat WHERE pageno = ?1 LIMIT 1", -1, &stmt,
                          NULL) != SQLITE_OK)
    {
      sqlite3_finalize (stmt);
      g_string_free (out, TRUE);
      return g_strdup (problems);
    }
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(GMatchInfo) match = NULL;
      g_autofree char *table = NULL;

      if (g_regex_match (page_re, lines[i], 0, &match))
        {
          g_autofree char *number = g_match_info_fetch (match, 1);

          sqlite3_reset (stmt);
          sqlite3_bind_int64 (stmt, 1, g_ascii_strtoll (number, NULL, 10));
          if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_text (stmt, 0) != NULL)
            table = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
        }
      if (table != NULL)
        /* TRANSLATORS: a finding of SQLite's integrity check, then the table it is in */
        g_string_append_printf (out, _("%s (table %s)"), lines[i], table);
      else
        g_string_append (out, lines[i]);
      if (lines[i + 1] != NULL)
        g_string_append_c (out, '\n');
    }
  sqlite3_finalize (stmt);
  return g_string_free (out, FALSE);
}

/* The check itself, of the file at @open_path (the database, or a copy of its set);
 * messages name @database_path. */
static MwVerifyReport *
verify_file (const char    *database_path,
             const char    *open_path,
             gboolean       deep,
             MwProgress    *progress,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(MwVerifyReport) report = g_new0 (MwVerifyReport, 1);
  g_autofree char *problems = NULL;
  g_autoptr(GString) fk = g_string_new (NULL);
  g_autoptr(GHashTable) fk_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(MwTicker) ticker = NULL;
  gint64 page_count = 0;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_return_val_if_fail (database_path != NULL, NULL);

  report->deep = deep;
  /* A copy of the set is ours: SQLite may play back its journal there. */
  db = mw_db_open (open_path, g_str_equal (open_path, database_path) ? SQLITE_OPEN_READONLY
                                                                     : SQLITE_OPEN_READWRITE,
                   5000, error);
  if (db == NULL)
    return NULL;

  rc = sqlite3_prepare_v2 (db, "PRAGMA page_count", -1, &stmt, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    page_count = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  stmt = NULL;
  if (rc != SQLITE_ROW)
    {
      failed (db, rc, database_path, error);
      sqlite3_close (db);
      return NULL;
    }

  /* Two phases of one bar when deep: the pages and indexes to 70 %, the links after. */
  ticker = mw_ticker_new (progress, cancellable);
  mw_ticker_restart (ticker, deep ? _("Checking every page and index") : _("Reading every page"));
  mw_ticker_expect_file_check (ticker, db, deep);
  if (deep)
    {
      mw_ticker_phase (ticker, NULL, 0.0, 0.7, page_count * MW_TICKS_PER_PAGE_INTEGRITY);
      mw_ticker_set_walk (ticker, MW_INTEGRITY_CHECK_WALK_SHARE,
                          page_count * MW_CHECK_WALK_US_PER_PAGE / G_USEC_PER_SEC);
    }
  mw_ticker_install (ticker, db);

  mw_db_check_integrity (db, deep, 100, "\n", &problems, &rc);
  /* A check that stopped on the damage may have said where it is first: keep that
   * (sqlite3's "Page 1278: …"), not only "database disk image is malformed". */
  if (rc != SQLITE_DONE && (problems == NULL || rc == SQLITE_INTERRUPT || rc == SQLITE_BUSY ||
                            rc == SQLITE_LOCKED || rc == SQLITE_NOTADB))
    {
      failed (db, rc, database_path, error);
      sqlite3_close (db);
      return NULL;
    }
  if (problems != NULL)
    {
      g_autofree char *named = name_tables (db, problems);

      if (rc != SQLITE_DONE)
        g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                     _("The database %s is damaged:\n%s\n(the check stopped there: %s)"),
                     database_path, named, sqlite3_errstr (rc));
      else
        g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                     _("The database %s is damaged:\n%s"), database_path, named);
      sqlite3_close (db);
      return NULL;
    }

  if (deep)
    {
      mw_ticker_phase (ticker, _("Checking the links between tables"), 0.7, 0.99,
                       page_count * MW_TICKS_PER_PAGE_FK);
      rc = sqlite3_prepare_v2 (db, "SELECT \"table\", parent FROM pragma_foreign_key_check",
                               -1, &stmt, NULL);
      if (rc == SQLITE_OK)
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
          {
            char *key = g_strdup_printf ("%s → %s", sqlite3_column_text (stmt, 0),
                                         sqlite3_column_text (stmt, 1));
            gsize n = GPOINTER_TO_SIZE (g_hash_table_lookup (fk_counts, key));

            g_hash_table_replace (fk_counts, key, GSIZE_TO_POINTER (n + 1));
            report->fk_violations++;
          }
      sqlite3_finalize (stmt);
      stmt = NULL;
      if (rc != SQLITE_DONE)
        {
          failed (db, rc, database_path, error);
          sqlite3_close (db);
          return NULL;
        }
    }
  sqlite3_close (db);
  /* Its heartbeat must not show a fraction after "Done". */
  g_clear_pointer (&ticker, mw_ticker_free);

  if (report->fk_violations > 0)
    {
      g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (fk_counts),
                                           (GCompareFunc) g_strcmp0);

      for (GList *l = keys; l != NULL; l = l->next)
        g_string_append_printf (fk, "%s%s: %" G_GSIZE_FORMAT, fk->len ? "\n" : "",
                                (const char *) l->data,
                                GPOINTER_TO_SIZE (g_hash_table_lookup (fk_counts, l->data)));
      report->fk_summary = g_strdup (fk->str);
      report->summary = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                      "Every page and index is sound. %llu row "
                                                      "refers to a row that no longer exists.",
                                                      "Every page and index is sound. %llu rows "
                                                      "refer to rows that no longer exist.",
                                                      report->fk_violations),
                                         (unsigned long long) report->fk_violations);
    }
  else if (deep)
    report->summary = g_strdup (_("Every page and index is sound, and every link between "
                                  "tables holds."));
  else
    report->summary = g_strdup (_("Every page read correctly (quick check)."));

  if (progress != NULL)
    {
      mw_progress_update (progress, 1.0, _("Done"));
      mw_progress_flush (progress);
    }
  return g_steal_pointer (&report);
}

/**
 * mw_verify:
 * @deep: %TRUE for integrity_check and foreign_key_check, %FALSE for quick_check
 * @progress: (nullable)
 *
 * Checks the database without changing it: when SQLite would change a file of the
 * set just by opening it (a hot or foreign journal), a byte-for-byte copy of the set
 * is checked instead.
 *
 * Returns: (transfer full): what was found, or %NULL with @error set: CORRUPT
 *   (with SQLite's findings), NOT_A_DATABASE, LOCKED, UNREADABLE,
 *   DATABASE_MISSING or G_IO_ERROR_CANCELLED
 */
MwVerifyReport *
mw_verify (const char    *database_path,
           gboolean       deep,
           MwProgress    *progress,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autofree char *why = NULL;
  g_autofree char *copy = NULL;
  g_autofree char *copy_dir = NULL;
  MwVerifyReport *report;

  g_return_val_if_fail (database_path != NULL, NULL);

  if (!g_file_test (database_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_DATABASE_MISSING,
                   _("There is no database at %s."), database_path);
      return NULL;
    }
  /* A FIFO would make SQLite wait forever. */
  if (!mw_fs_check_database_file (database_path, error))
    return NULL;
  why = mw_set_sqlite_would_modify (database_path);
  if (why != NULL)
    {
      copy = mw_set_copy_for_reading (database_path, &copy_dir, error);
      if (copy == NULL)
        return NULL;
      g_info ("%s Checking a byte-for-byte copy instead.", why);
    }
  report = verify_file (database_path, copy ? copy : database_path, deep, progress, cancellable,
                        error);
  mw_set_remove_copy (copy, copy_dir);
  return report;
}

typedef struct
{
  char       *path;
  gboolean    deep;
  MwProgress *progress;
} VerifyData;

static void
verify_data_free (VerifyData *data)
{
  g_free (data->path);
  g_clear_object (&data->progress);
  g_free (data);
}

static void
verify_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  VerifyData *data = task_data;
  GError *error = NULL;
  MwVerifyReport *report;

  mw_thread_run_in_background ();
  report = mw_verify (data->path, data->deep, data->progress, cancellable,
                                      &error);

  if (report != NULL)
    g_task_return_pointer (task, report, (GDestroyNotify) mw_verify_report_free);
  else
    g_task_return_error (task, error);
}

/**
 * mw_verify_async:
 *
 * Runs mw_verify() in a worker thread; @progress notifies in the caller's context.
 */
void
mw_verify_async (const char          *database_path,
                 gboolean             deep,
                 MwProgress          *progress,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  VerifyData *data = g_new0 (VerifyData, 1);

  data->path = g_strdup (database_path);
  data->deep = deep;
  data->progress = progress ? g_object_ref (progress) : NULL;
  g_task_set_source_tag (task, mw_verify_async);
  g_task_set_task_data (task, data, (GDestroyNotify) verify_data_free);
  g_task_run_in_thread (task, verify_thread);
}

MwVerifyReport *
mw_verify_finish (GAsyncResult  *result,
                  GError       **error)
{
  g_return_val_if_fail (G_IS_TASK (result), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * mw_verify_result_to_json:
 * @report: (nullable): what the check found, or %NULL when it failed
 * @error: (nullable): why it failed, when @report is %NULL
 * @deep: which check was asked for
 *
 * Adds the check's outcome as one object (`verify --json`): result (`ok`,
 * `orphans`, `damaged` or `failed`), the check run, a message for a person, and the
 * rows pointing at missing rows.
 */
void
mw_verify_result_to_json (MwVerifyReport *report,
                          const GError   *error,
                          gboolean        deep,
                          JsonBuilder    *builder)
{
  const char *result;

  g_return_if_fail (report != NULL || error != NULL);

  if (report != NULL)
    result = report->fk_violations > 0 ? "orphans" : "ok";
  else
    result = g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT) ? "damaged"
                                                                              : "failed";
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "result");
  json_builder_add_string_value (builder, result);
  json_builder_set_member_name (builder, "check");
  json_builder_add_string_value (builder, deep ? "integrity_check" : "quick_check");
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, report ? report->summary : error->message);
  json_builder_set_member_name (builder, "foreign_key_violations");
  json_builder_add_int_value (builder, report ? (gint64) report->fk_violations : 0);
  json_builder_set_member_name (builder, "foreign_keys");
  json_builder_add_string_value (builder, report ? report->fk_summary : NULL);
  json_builder_end_object (builder);
}

/**
 * mw_verify_result_to_text:
 *
 * The check's outcome for a terminal: the summary and the orphaned rows per
 * foreign key, or the error.
 *
 * Returns: (transfer full): the text, ending in a newline
 */
char *
mw_verify_result_to_text (MwVerifyReport *report,
                          const GError   *error)
{
  g_return_val_if_fail (report != NULL || error != NULL, NULL);

  if (report == NULL)
    return g_strdup_printf ("%s\n", error->message);
  if (report->fk_summary != NULL)
    return g_strdup_printf ("%s\n%s\n", report->summary, report->fk_summary);
  return g_strdup_printf ("%s\n", report->summary);
}
