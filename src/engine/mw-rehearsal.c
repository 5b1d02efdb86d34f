/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-rehearsal"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mw-db-private.h"
#include "mw-error.h"
#include "mw-history-private.h"
#include "mw-rehearsal-private.h"

/*
 * Rehearsing the pending migrations on an empty copy of the schema they will meet, in
 * memory, before anything is touched: a migration that the POS's driver would refuse
 * is a fault of the app's installation (`invalid-migrations`), found by `status`, and
 * never half-run after a backup. What it finds:
 *
 *  - a piece holding two statements (a missing breakpoint): better-sqlite3 refuses it;
 *  - a statement that would end or escape the one transaction everything runs in;
 *  - a statement that fails to prepare against the schema as the migrations before it
 *    leave it: a column or table that is not there, a double-quoted word naming no
 *    column (the connection, from mw_db_open(), refuses it as better-sqlite3 does),
 *    an SQL function or module this SQLite lacks.
 *
 * The copy has the schema but no rows. Each statement is prepared; those that change
 * the schema also run, so that the next one meets the schema the earlier ones made
 * (statements on rows change no schema and only need preparing). What depends on the
 * data (a constraint, a NOT NULL filled from a query) is found by the real run alone,
 * in its transaction. A statement that fails to run here, or runs too long (a table
 * made from a large query), ends the rehearsal with no verdict on the rest; so does a
 * schema this SQLite cannot fully copy, for anything that refers to it.
 */

/* Virtual machine steps a rehearsal may take, in all: a few million, milliseconds. */
#define REHEARSAL_BUDGET_CALLS 2000
#define REHEARSAL_OPS_PER_CALL 1000

/* SQL functions better-sqlite3 12's SQLite (3.50) has and Debian 12's (3.40) lacks,
 * with the release that brought each. */
static const struct
{
  const char *name;
  const char *since;
} newer_functions[] = {
  { "unhex", "3.41" },
  { "json_error_position", "3.42" },
  { "octet_length", "3.43" },
  { "timediff", "3.43" },
  { "concat", "3.44" },
  { "concat_ws", "3.44" },
  { "string_agg", "3.44" },
  { "jsonb", "3.45" },
  { "jsonb_array", "3.45" },
  { "jsonb_extract", "3.45" },
  { "jsonb_group_array", "3.45" },
  { "jsonb_group_object", "3.45" },
  { "jsonb_insert", "3.45" },
  { "jsonb_object", "3.45" },
  { "jsonb_patch", "3.45" },
  { "jsonb_remove", "3.45" },
  { "jsonb_replace", "3.45" },
  { "jsonb_set", "3.45" },
  { "json_pretty", "3.46" },
  { "if", "3.48" },
  { "unistr", "3.50" },
  { "unistr_quote", "3.50" },
};

static const char *
newer_function_since (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (newer_functions); i++)
    if (g_ascii_strcasecmp (name, newer_functions[i].name) == 0)
      return newer_functions[i].since;
  return NULL;
}

static const char *
skip_blank (const char *sql)
{
  const char *p = sql;

  for (;;)
    {
      while (g_ascii_isspace (*p))
        p++;
      if (p[0] == '-' && p[1] == '-')
        {
          while (*p && *p != '\n')
            p++;
        }
      else if (p[0] == '/' && p[1] == '*')
        {
          const char *end = strstr (p + 2, "*/");

          if (end == NULL)
            return p + strlen (p);
          p = end + 2;
        }
      else
        return p;
    }
}

/**
 * mw_sql_controls_transaction:
 *
 * Returns: whether @piece would end or escape the one transaction all pending
 *   migrations run in (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, VACUUM, ATTACH, …)
 */
gboolean
mw_sql_controls_transaction (const char *piece)
{
  static const char *keywords[] = {
    "BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "ATTACH", "DETACH",
  };
  const char *p = skip_blank (piece);
  gsize len = 0;

  while (g_ascii_isalpha (p[len]))
    len++;
  for (guint i = 0; i < G_N_ELEMENTS (keywords); i++)
    if (len == strlen (keywords[i]) && g_ascii_strncasecmp (p, keywords[i], len) == 0)
      return TRUE;
  return FALSE;
}

/* A statement on rows (INSERT, UPDATE, DELETE, SELECT, ...): it changes no schema. */
static gboolean
works_on_rows (const char *piece)
{
  static const char *keywords[] = {
    "INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH", "VALUES",
  };
  const char *p = skip_blank (piece);
  gsize len = 0;

  while (g_ascii_isalpha (p[len]))
    len++;
  for (guint i = 0; i < G_N_ELEMENTS (keywords); i++)
    if (len == strlen (keywords[i]) && g_ascii_strncasecmp (p, keywords[i], len) == 0)
      return TRUE;
  return FALSE;
}

static int
budget_cb (void *data)
{
  guint *calls = data;

  return ++*calls > REHEARSAL_BUDGET_CALLS;
}

/* The name after "no such function: " or "no such module: ", or NULL. */
static char *
missing_name (const char *message,
              const char *prefix)
{
  if (!g_str_has_prefix (message, prefix))
    return NULL;
  return g_strstrip (g_strdup (message + strlen (prefix)));
}

/* The schema of @db in @scratch: tables first, then indexes, views and triggers. The
 * file's own schema may use double-quoted strings (SQLite itself accepts them when it
 * reads a schema), so they are allowed while it is copied. Returns FALSE when some
 * object could not be made here. */
static gboolean
copy_schema (sqlite3 *db,
             sqlite3 *scratch)
{
  sqlite3_stmt *stmt = NULL;
  gboolean complete = TRUE;
  int rc;

  rc = sqlite3_prepare_v2 (db,
                           "SELECT name, sql FROM main.sqlite_schema "
                           "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                           "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 "
                           "WHEN 'view' THEN 2 ELSE 3 END, rowid",
                           -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      g_info ("The schema cannot be read for a rehearsal: %s", sqlite3_errmsg (db));
      return FALSE;
    }

  sqlite3_db_config (scratch, SQLITE_DBCONFIG_DQS_DDL, 1, NULL);
  sqlite3_db_config (scratch, SQLITE_DBCONFIG_DQS_DML, 1, NULL);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 0);
      const char *sql = (const char *) sqlite3_column_text (stmt, 1);

      if (sqlite3_exec (scratch, sql, NULL, NULL, NULL) != SQLITE_OK &&
          strstr (sqlite3_errmsg (scratch), "already exists") == NULL)
        {
          /* e.g. a virtual table whose module this SQLite lacks */
          g_info ("“%s” cannot be copied for a rehearsal: %s", name, sqlite3_errmsg (scratch));
          complete = FALSE;
        }
    }
  if (rc != SQLITE_DONE)
    complete = FALSE;
  sqlite3_finalize (stmt);
  /* SQLite's own statistics tables cannot be created by name; ANALYZE makes them (the
   * copy's tables are empty: it costs nothing). */
  if (mw_db_query_int (db, "SELECT count(*) FROM main.sqlite_schema WHERE "
                           "name = 'sqlite_stat1'", 0) > 0 &&
      !mw_db_exec (scratch, "ANALYZE", NULL))
    complete = FALSE;
  sqlite3_db_config (scratch, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
  sqlite3_db_config (scratch, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
  return complete;
}

static gboolean
fault_found (MwRehearsalFault   *fault,
             const MwMigration  *migration,
             guint               piece,
             gboolean            needs_newer_sqlite,
             GError            **error,
             char               *message)
{
  fault->migration = migration;
  fault->piece = piece;
  fault->needs_newer_sqlite = needs_newer_sqlite;
  g_set_error_literal (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID, message);
  g_free (message);
  return FALSE;
}

/* One piece that would not prepare: why, in words, and whether a newer SQLite would
 * take it. */
static gboolean
prepare_failed (sqlite3            *scratch,
                const MwMigration  *migration,
                guint               p,
                gboolean            schema_complete,
                MwRehearsalFault   *fault,
                GError            **error)
{
  const char *what = sqlite3_errmsg (scratch);
  guint n = migration->statements->len;
  g_autofree char *function = missing_name (what, "no such function: ");
  g_autofree char *module = missing_name (what, "no such module: ");

  if (function != NULL && newer_function_since (function) != NULL)
    return fault_found (fault, migration, p, TRUE, error,
                        g_strdup_printf (_("Migration file %s (update “%s”), statement %u of "
                                           "%u, uses the SQL function %s(), which SQLite has "
                                           "only since version %s; this computer's SQLite is "
                                           "%s (the app brings a newer one). Nothing was "
                                           "changed: Migration Wizard needs a newer SQLite "
                                           "for this update."),
                                         migration->path, migration->tag, p + 1, n, function,
                                         newer_function_since (function), sqlite3_libversion ()));
  if (module != NULL)
    return fault_found (fault, migration, p, TRUE, error,
                        g_strdup_printf (_("Migration file %s (update “%s”), statement %u of "
                                           "%u, needs the SQLite module “%s”, which this "
                                           "computer's SQLite (%s) does not have. Nothing was "
                                           "changed: Migration Wizard needs an SQLite with "
                                           "it for this update."),
                                         migration->path, migration->tag, p + 1, n, module,
                                         sqlite3_libversion ()));
  /* What refers to a part of the schema this SQLite could not copy proves nothing. */
  if (!schema_complete)
    return TRUE;
  return fault_found (fault, migration, p, FALSE, error,
                      g_strdup_printf (_("Migration file %s (update “%s”), statement %u of %u, "
                                         "cannot run on the database it will meet: %s. The "
                                         "POS's own driver refuses it too. Nothing was changed; "
                                         "the migration must be fixed by the app's "
                                         "developers."),
                                       migration->path, migration->tag, p + 1, n, what));
}

/**
 * mw_rehearse:
 * @db: (nullable): the database the migrations will run on (its schema is all that is
 *   read), or %NULL for one that does not exist yet
 * @migrations_table: the table they will be recorded in, which drizzle-orm creates
 *   before the first one runs
 * @v1: the migrations table has (or will have) drizzle-orm 1.x's layout
 * @todo: (element-type MwMigration): the migrations to apply, in order
 * @fault: (out caller-allocates): what was found, when something was
 *
 * Rehearses @todo on a copy of @db's schema in memory (see the top of this file).
 * Never touches @db.
 *
 * Returns: %FALSE with %MW_ENGINE_ERROR_MIGRATIONS_INVALID (naming the file, the
 *   migration and the statement) when a migration would fail whatever the data;
 *   %TRUE otherwise
 */
gboolean
mw_rehearse (sqlite3           *db,
             const char        *migrations_table,
             gboolean           v1,
             GPtrArray         *todo,
             MwRehearsalFault  *fault,
             GError           **error)
{
  g_autoptr(sqlite3) scratch = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *ddl = NULL;
  gboolean schema_complete = TRUE;
  guint calls = 0;

  g_return_val_if_fail (todo != NULL, FALSE);
  g_return_val_if_fail (fault != NULL, FALSE);

  memset (fault, 0, sizeof *fault);

  /* What needs no schema first: a transaction statement. */
  for (guint m = 0; m < todo->len; m++)
    {
      const MwMigration *migration = g_ptr_array_index (todo, m);

      for (guint p = 0; p < migration->statements->len; p++)
        {
          const char *piece = g_ptr_array_index (migration->statements, p);
          g_autofree char *first = NULL;

          if (!mw_sql_controls_transaction (piece))
            continue;
          first = g_strstrip (g_strndup (skip_blank (piece), 60));
          return fault_found (fault, migration, p, FALSE, error,
                              g_strdup_printf (_("Migration file %s (update “%s”), statement "
                                                 "%u of %u, controls transactions itself (%s); "
                                                 "it cannot run inside the update's "
                                                 "transaction. Nothing was changed; the "
                                                 "migration must be fixed by the app's "
                                                 "developers."),
                                               migration->path, migration->tag, p + 1,
                                               migration->statements->len, first));
        }
    }

  scratch = mw_db_open (":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0, &local_error);
  if (scratch == NULL)
    {
      g_info ("No rehearsal: %s", local_error->message);
      return TRUE;
    }
  if (db != NULL)
    schema_complete = copy_schema (db, scratch);
  ddl = mw_history_table_ddl (migrations_table, v1);
  /* As the migrator runs them: foreign keys off, inside one transaction. */
  if (!mw_db_exec (scratch, ddl, NULL) ||
      !mw_db_exec (scratch, "PRAGMA foreign_keys = OFF", NULL) ||
      !mw_db_exec (scratch, "BEGIN", NULL))
    return TRUE;
  sqlite3_progress_handler (scratch, REHEARSAL_OPS_PER_CALL, budget_cb, &calls);

  for (guint m = 0; m < todo->len; m++)
    {
      const MwMigration *migration = g_ptr_array_index (todo, m);

      for (guint p = 0; p < migration->statements->len; p++)
        {
          const char *piece = g_ptr_array_index (migration->statements, p);
          sqlite3_stmt *stmt = NULL;
          const char *tail = NULL;
          int rc;

          rc = sqlite3_prepare_v2 (scratch, piece, -1, &stmt, &tail);
          if (rc != SQLITE_OK)
            return prepare_failed (scratch, migration, p, schema_complete, fault, error);
          if (stmt == NULL)
            continue;
          if (tail != NULL && !mw_sql_is_blank (tail))
            {
              sqlite3_finalize (stmt);
              return fault_found (fault, migration, p, FALSE, error,
                                  g_strdup_printf (_("Migration file %s (update “%s”), "
                                                     "statement %u of %u, holds more than one "
                                                     "SQL statement: a “--> "
                                                     "statement-breakpoint” is missing. The "
                                                     "POS's own driver refuses it too. Nothing "
                                                     "was changed; the migration must be fixed "
                                                     "by the app's developers."),
                                                   migration->path, migration->tag, p + 1,
                                                   migration->statements->len));
            }
          if (works_on_rows (piece))
            {
              sqlite3_finalize (stmt);
              continue;
            }
          while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
            ;
          sqlite3_finalize (stmt);
          if (rc != SQLITE_DONE)
            {
              g_autofree char *module = missing_name (sqlite3_errmsg (scratch),
                                                      "no such module: ");

              if (module != NULL)
                return prepare_failed (scratch, migration, p, schema_complete, fault, error);
              /* It may depend on rows this copy does not have: the real run decides,
               * and the rest cannot be rehearsed on a schema that is now different. */
              g_info ("Rehearsal stopped at %s, statement %u: %s", migration->tag, p + 1,
                      sqlite3_errmsg (scratch));
              return TRUE;
            }
        }
    }

  return TRUE;
}
