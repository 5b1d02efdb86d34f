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

/* better-sqlite3's limit on a string or blob (and on a statement's text): the largest
 * string V8 can hold (`buffer.constants.MAX_STRING_LENGTH` on 64-bit Node 20). */
#define APP_MAX_LENGTH 536870888

/**
 * mw_db_filename:
 *
 * SQLite reads a file name beginning with `file:` as a URI when it is built with
 * `SQLITE_USE_URI=1`, as Debian's is; better-sqlite3's is not, and the app opens
 * such a name as a plain (relative) path. Given as `./file:…`, it is one for SQLite
 * too.
 *
 * Returns: (transfer full): @path as SQLite is to be given it
 */
char *
mw_db_filename (const char *path)
{
  g_return_val_if_fail (path != NULL, NULL);

  if (g_str_has_prefix (path, "file:"))
    return g_strconcat ("." G_DIR_SEPARATOR_S, path, NULL);
  return g_strdup (path);
}

/*
 * The app's driver, better-sqlite3, builds its own SQLite (deps/defines.gypi) and sets
 * up each connection; wherever that changes what SQL means, every connection here is
 * set up the same way, so that a migration means here what it means in the POS:
 *
 *  - SQLITE_DQS=0: a double-quoted word that names no column is an error, never a
 *    string (Debian's build takes it as a string, in statements and in DDL);
 *  - SQLITE_DEFAULT_FOREIGN_KEYS=1: foreign keys on (the migrator turns them off
 *    around its transaction, and a salvage that must keep orphans, for their own
 *    reasons);
 *  - no SQLITE_DEFAULT_RECURSIVE_TRIGGERS: recursive triggers off, whatever the
 *    system's build says (they change what REPLACE and triggers do; Debian 12 defines
 *    the option as 0, another build may not);
 *  - no SQLITE_ENABLE_FTS3_TOKENIZER (Debian's has it): fts3_tokenizer() cannot
 *    register a tokenizer from SQL;
 *  - SQLITE_DBCONFIG_DEFENSIVE, which better-sqlite3 sets on every connection:
 *    `PRAGMA writable_schema`, `journal_mode=OFF` and writes to shadow tables do
 *    nothing or fail;
 *  - its limits on the length of a value and of a statement;
 *  - SQLITE_USE_URI=0: a `file:` name is a path (mw_db_filename()).
 *
 * What cannot be set at run time is in the README: above all, better-sqlite3 bundles
 * a newer SQLite (3.50) than Debian 12 (3.40), so a migration may use an SQL function
 * this one lacks; the rehearsal (mw-rehearsal.c) refuses it before anything runs.
 */
static void
set_up_like_the_app (sqlite3 *db)
{
  sqlite3_db_config (db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, NULL);
  sqlite3_limit (db, SQLITE_LIMIT_LENGTH, APP_MAX_LENGTH);
  sqlite3_limit (db, SQLITE_LIMIT_SQL_LENGTH, APP_MAX_LENGTH);
  /* A flag pragma: it reads nothing from the file. */
  sqlite3_exec (db, "PRAGMA recursive_triggers = OFF", NULL, NULL, NULL);
}

/**
 * mw_db_open:
 * @path: a file name, or `:memory:`
 *
 * Opens @path with SQLite, set up as the app's driver sets up its connections (see
 * set_up_like_the_app()). A failure is mapped to an #MwEngineError.
 */
sqlite3 *
mw_db_open (const char  *path,
            int          flags,
            int          busy_timeout_ms,
            GError     **error)
{
  return mw_db_open_full (path, flags, busy_timeout_ms, NULL, error);
}

/**
 * mw_db_open_full:
 * @vfs: (nullable): the SQLite VFS to open @path with; %NULL for the default
 *
 * mw_db_open() with a VFS of the wizard's own (mw-page-record.c).
 */
sqlite3 *
mw_db_open_full (const char  *path,
                 int          flags,
                 int          busy_timeout_ms,
                 const char  *vfs,
                 GError     **error)
{
  g_autofree char *filename = mw_db_filename (path);
  sqlite3 *db = NULL;
  int rc;

  /* SQLite would wait forever on a FIFO. */
  if (!mw_fs_check_database_file (path, error))
    return NULL;
  rc = sqlite3_open_v2 (filename, &db, flags | SQLITE_OPEN_NOMUTEX, vfs);
  if (rc != SQLITE_OK)
    {
      g_autofree char *doing = g_strdup_printf ("Cannot open the database %s", path);

      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_UNREADABLE, doing);
      sqlite3_close (db);
      return NULL;
    }

  sqlite3_extended_result_codes (db, 1);
  sqlite3_busy_timeout (db, busy_timeout_ms);
  set_up_like_the_app (db);
  return db;
}

/**
 * mw_db_allow_salvage:
 *
 * Recovering what a damaged file still holds is not running the app's SQL: it must
 * load any schema the file has (legacy double-quoted strings included), edit it
 * (`writable_schema`), write without a journal and keep rows whose parent is lost.
 * For the repair's own connections only.
 */
void
mw_db_allow_salvage (sqlite3 *db)
{
  g_return_if_fail (db != NULL);

  sqlite3_db_config (db, SQLITE_DBCONFIG_DEFENSIVE, 0, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_DQS_DML, 1, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_DQS_DDL, 1, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_ENABLE_FKEY, 0, NULL);
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
