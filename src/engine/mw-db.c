/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-db"

#include "config.h"

#include <glib/gi18n.h>

#include "mw-db-private.h"
#include "mw-error.h"
#include "mw-fs-private.h"

/*
 * SQLite connections as the engine uses them: opened with extended result codes and a
 * busy timeout, failures mapped to an #MwEngineError; and the small queries run on one
 * from several places (one integer, a quoted identifier, SQLite's own check of the
 * file), written once here.
 */

/* ---- connections --------------------------------------------------------------------- */

int
mw_engine_error_from_sqlite (int rc,
                             int fallback_code)
{
  switch (rc & 0xff)
    {
    case SQLITE_NOTADB:
      return MW_ENGINE_ERROR_NOT_A_DATABASE;
    case SQLITE_CORRUPT:
      return MW_ENGINE_ERROR_CORRUPT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return MW_ENGINE_ERROR_LOCKED;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_IOERR:
      return MW_ENGINE_ERROR_UNREADABLE;
    case SQLITE_READONLY:
      return MW_ENGINE_ERROR_READ_ONLY;
    case SQLITE_FULL:
      return MW_ENGINE_ERROR_NO_SPACE;
    default:
      return fallback_code;
    }
}

void
mw_db_set_error (GError     **error,
                 sqlite3     *db,
                 int          rc,
                 int          fallback_code,
                 const char  *doing)
{
  const char *what = db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc);

  g_set_error (error, MW_ENGINE_ERROR, mw_engine_error_from_sqlite (rc, fallback_code),
               _("%s: %s (SQLite error %d)"), doing, what, rc);
}

void
mw_db_close (sqlite3 *db)
{
  /* sqlite3_close_v2 tolerates unfinalized statements; ours are always finalized, so
   * a non-OK result would be a bug worth hearing about. */
  if (db != NULL && sqlite3_close (db) != SQLITE_OK)
    g_critical ("Closing a database connection failed: %s", sqlite3_errmsg (db));
}

/**
 * mw_db_open:
 *
 * Opens @path with SQLite. A failure is mapped to an #MwEngineError.
 */
sqlite3 *
mw_db_open (const char  *path,
            int          flags,
            int          busy_timeout_ms,
            GError     **error)
{
  sqlite3 *db = NULL;
  int rc;

  /* SQLite would wait forever on a FIFO. */
  if (!mw_fs_check_database_file (path, error))
    return NULL;
  rc = sqlite3_open_v2 (path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      g_autofree char *doing = g_strdup_printf ("Cannot open the database %s", path);

      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_UNREADABLE, doing);
      sqlite3_close (db);
      return NULL;
    }

  sqlite3_extended_result_codes (db, 1);
  sqlite3_busy_timeout (db, busy_timeout_ms);
  return db;
}

gboolean
mw_db_exec (sqlite3     *db,
            const char  *sql,
            GError     **error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED, sql);
      return FALSE;
    }
  return TRUE;
}
/* ---- small queries ------------------------------------------------------------------- */

/**
 * mw_db_query_int:
 *
 * Returns: the first column of the first row @sql returns, or @fallback when it
 *   returns none or fails
 */
gint64
mw_db_query_int (sqlite3    *db,
                 const char *sql,
                 gint64      fallback)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value = fallback;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}

/**
 * mw_db_quote_identifier:
 *
 * Every identifier that comes from a database or a file goes into SQL through this:
 * in double quotes, each double quote inside doubled.
 *
 * Returns: (transfer full): @name, quoted
 */
char *
mw_db_quote_identifier (const char *name)
{
  GString *q = g_string_new ("\"");

  for (const char *p = name; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (q, '"');
      g_string_append_c (q, *p);
    }
  g_string_append_c (q, '"');
  return g_string_free (q, FALSE);
}

/**
 * mw_db_check_integrity:
 * @full: %TRUE for `integrity_check` (every index entry matched too, ~10× slower),
 *   %FALSE for `quick_check` (every page read)
 * @max_errors: the most problems SQLite is to report (at least 1)
 * @separator: put between two problems
 * @out_problems: (out) (transfer full) (nullable): what SQLite found wrong, or %NULL;
 *   also set when the check stopped on an error after finding something
 * @out_rc: (out) (optional): %SQLITE_DONE when the check ran to its end, else the
 *   SQLite result code it stopped on (%SQLITE_INTERRUPT when the connection's progress
 *   handler cancelled it)
 *
 * Runs SQLite's own check of the file on @db and collects its findings. The check
 * never writes. The error is for the caller to word: what a failed check means
 * differs between a backup just made, a database about to be updated and one just
 * updated. Cancelling is the business of the progress handler the caller installed.
 *
 * Returns: %TRUE if the check ran to its end and found nothing wrong
 */
gboolean
mw_db_check_integrity (sqlite3     *db,
                       gboolean     full,
                       int          max_errors,
                       const char  *separator,
                       char       **out_problems,
                       int         *out_rc)
{
  g_autofree char *sql = g_strdup_printf ("PRAGMA %s(%d)", full ? "integrity_check" : "quick_check",
                                          MAX (max_errors, 1));
  g_autoptr(GString) problems = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_assert (out_problems != NULL);

  rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      {
        const char *line = (const char *) sqlite3_column_text (stmt, 0);

        /* A sound file gives one row, "ok"; a damaged one a row per problem. */
        if (g_strcmp0 (line, "ok") != 0)
          g_string_append_printf (problems, "%s%s", problems->len ? separator : "", line);
      }
  sqlite3_finalize (stmt);

  if (out_rc != NULL)
    *out_rc = rc;
  *out_problems = problems->len > 0 ? g_string_free (g_steal_pointer (&problems), FALSE) : NULL;
  return rc == SQLITE_DONE && *out_problems == NULL;
}
