/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-history"

#include "config.h"

#include <string.h>

#include "mw-error.h"
#include "mw-history-private.h"

/*
 * What the database's migrations table (`__drizzle_migrations`, or the one the app
 * names) says, how it lines up with the app's migrations folder, and what an update
 * writes to it.
 *
 * drizzle-orm 0.x never compares hashes: it only asks whether the newest recorded
 * created_at is older than an entry's `when`. We match each recorded row to a local
 * migration on content (hash) and time, so that a changed file, an unknown row and a
 * back-dated migration that drizzle-orm would skip forever are all told apart.
 */

/* ---- reading ------------------------------------------------------------------------- */

static void
applied_row_free (MwAppliedRow *row)
{
  g_free (row->hash);
  g_free (row->name);
  g_free (row->applied_at);
  g_free (row);
}

void
mw_history_clear (MwHistory *history)
{
  g_clear_pointer (&history->rows, g_ptr_array_unref);
  g_clear_pointer (&history->table, g_free);
  memset (history, 0, sizeof *history);
}

static char *
dup_column_text (sqlite3_stmt *stmt,
                 int           col)
{
  const unsigned char *text = sqlite3_column_text (stmt, col);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

/* drizzle-orm's migrations table, as 0.x and 1.x create it. */
static gboolean
has_migrations_shape (sqlite3    *db,
                      const char *table)
{
  g_autoptr(GString) columns = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT name FROM pragma_table_info(?1) ORDER BY cid", -1, &stmt,
                          NULL) != SQLITE_OK)
    return FALSE;
  sqlite3_bind_text (stmt, 1, table, -1, SQLITE_STATIC);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (columns, "%s%s", columns->len ? "," : "",
                            (const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return g_str_equal (columns->str, "id,hash,created_at") ||
         g_str_equal (columns->str, "id,hash,created_at,name,applied_at");
}

/**
 * mw_history_read:
 * @table: (nullable): the migrations table the app names; %NULL for drizzle-orm's
 *   default, and then, when the database has none by that name but exactly one table
 *   of drizzle's migrations-table shape, that one (@history says it was found so)
 *
 * Reads the schema's table list and the migrations table. Touches only
 * sqlite_schema and the migrations table: fast on a database of any size.
 */
gboolean
mw_history_read (sqlite3     *db,
                 const char  *table,
                 MwHistory   *history,
                 GError     **error)
{
  g_autoptr(GPtrArray) tables = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *quoted = NULL;
  g_autofree char *query = NULL;
  sqlite3_stmt *stmt = NULL;
  int rc;

  mw_history_clear (history);
  history->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) applied_row_free);
  history->table = g_strdup (table != NULL ? table : MW_MIGRATIONS_TABLE);

  rc = sqlite3_prepare_v2 (db,
                           "SELECT name FROM sqlite_schema WHERE type = 'table'",
                           -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      {
        const char *name = (const char *) sqlite3_column_text (stmt, 0);

        if (name != NULL && g_ascii_strncasecmp (name, "sqlite_", 7) != 0)
          g_ptr_array_add (tables, g_strdup (name));
      }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_CORRUPT, "Reading the database's schema");
      return FALSE;
    }

  history->has_table = g_ptr_array_find_with_equal_func (tables, history->table, g_str_equal,
                                                         NULL);
  if (!history->has_table && table == NULL)
    {
      const char *found = NULL;
      guint n_found = 0;

      for (guint i = 0; i < tables->len; i++)
        if (has_migrations_shape (db, g_ptr_array_index (tables, i)))
          {
            found = g_ptr_array_index (tables, i);
            n_found++;
          }
      if (n_found == 1)
        {
          g_free (history->table);
          history->table = g_strdup (found);
          history->has_table = TRUE;
          history->table_detected = TRUE;
        }
    }
  history->n_user_tables = tables->len - (history->has_table ? 1 : 0);

  if (!history->has_table)
    return TRUE;

  rc = sqlite3_prepare_v2 (db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = 'name'",
                           -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, history->table, -1, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      history->has_name_column = rc == SQLITE_ROW;
      if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        rc = SQLITE_OK;
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_OK)
    {
      g_autofree char *doing = g_strdup_printf ("Reading the layout of %s", history->table);

      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_CORRUPT, doing);
      return FALSE;
    }

  quoted = mw_db_quote_identifier (history->table);
  query = g_strdup_printf ("SELECT rowid, hash, created_at%s FROM %s ORDER BY rowid",
                           history->has_name_column ? ", name, applied_at" : "", quoted);
  rc = sqlite3_prepare_v2 (db, query, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      {
        MwAppliedRow *row = g_new0 (MwAppliedRow, 1);

        row->rowid = sqlite3_column_int64 (stmt, 0);
        row->hash = dup_column_text (stmt, 1);
        row->created_at_is_null = sqlite3_column_type (stmt, 2) == SQLITE_NULL;
        /* drizzle-orm compares Number(created_at); journal times are whole milliseconds,
         * so reading it as an integer loses nothing drizzle-orm would see. */
        row->created_at = sqlite3_column_int64 (stmt, 2);
        if (history->has_name_column)
          {
            row->name = dup_column_text (stmt, 3);
            row->applied_at = dup_column_text (stmt, 4);
          }
        g_ptr_array_add (history->rows, row);
      }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      g_autofree char *doing = g_strdup_printf ("Reading the table %s", history->table);

      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_CORRUPT, doing);
      return FALSE;
    }

  return TRUE;
}

/* ---- writing ------------------------------------------------------------------------- */

/**
 * mw_history_table_ddl:
 * @v1: the layout of drizzle-orm 1.x (with name and applied_at)
 *
 * Returns: (transfer full): the very DDL drizzle-orm runs to create the migrations
 *   table @table, so that sqlite_schema ends up byte-for-byte the same as after its
 *   own migrate() (SQLite keeps the text from the table's name on)
 */
char *
mw_history_table_ddl (const char *table,
                      gboolean    v1)
{
  g_autofree char *quoted = mw_db_quote_identifier (table);

  if (v1)
    return g_strdup_printf ("CREATE TABLE IF NOT EXISTS %s (\n"
                            "\t\t\t\tid INTEGER PRIMARY KEY,\n"
                            "\t\t\t\thash text NOT NULL,\n"
                            "\t\t\t\tcreated_at numeric,\n"
                            "\t\t\t\tname text,\n"
                            "\t\t\t\tapplied_at TEXT\n"
                            "\t\t\t)", quoted);
  return g_strdup_printf ("CREATE TABLE IF NOT EXISTS %s (\n"
                          "\t\t\t\tid SERIAL PRIMARY KEY,\n"
                          "\t\t\t\thash text NOT NULL,\n"
                          "\t\t\t\tcreated_at numeric\n"
                          "\t\t\t)\n\t\t", quoted);
}

/**
 * mw_history_create_table:
 * @v1: the layout of drizzle-orm 1.x (with name and applied_at)
 *
 * Creates the migrations table as drizzle-orm does, inside the caller's transaction.
 */
gboolean
mw_history_create_table (sqlite3    *db,
                         MwHistory  *history,
                         gboolean    v1,
                         GError    **error)
{
  g_autofree char *ddl = mw_history_table_ddl (history->table, v1);

  if (!mw_db_exec (db, ddl, error))
    return FALSE;
  history->has_table = TRUE;
  history->has_name_column = v1;
  return TRUE;
}

/**
 * mw_history_record_applied:
 * @v1: the table has drizzle-orm 1.x's layout (with name and applied_at)
 *
 * Records @migration as applied, inside the caller's transaction.
 */
gboolean
mw_history_record_applied (sqlite3            *db,
                           MwHistory          *history,
                           const MwMigration  *migration,
                           gboolean            v1,
                           GError            **error)
{
  g_autofree char *quoted = mw_db_quote_identifier (history->table);
  g_autofree char *sql = NULL;
  sqlite3_stmt *stmt = NULL;
  int rc;

  /* The very statements drizzle-orm runs, with the same parameter types. */
  sql = v1 ? g_strdup_printf ("insert into %s (\"hash\", \"created_at\", \"name\", "
                              "\"applied_at\") values(?, ?, ?, ?)", quoted)
           : g_strdup_printf ("INSERT INTO %s (\"hash\", \"created_at\") VALUES(?, ?)", quoted);
  rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, migration->hash, -1, SQLITE_STATIC);
      /* A v1 folder name without a time: drizzle-orm binds NaN, which SQLite stores
       * as NULL. */
      if (migration->when == MW_MIGRATION_NO_TIME)
        sqlite3_bind_null (stmt, 2);
      else
        sqlite3_bind_int64 (stmt, 2, migration->when);
      if (v1)
        {
          g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
          g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S");
          g_autofree char *iso = g_strdup_printf ("%s.%03dZ", stamp,
                                                  g_date_time_get_microsecond (now) / 1000);

          sqlite3_bind_text (stmt, 3, migration->tag, -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 4, iso, -1, SQLITE_TRANSIENT);
        }
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    }
  sqlite3_finalize (stmt);

  if (rc != SQLITE_OK)
    {
      g_autofree char *doing = g_strdup_printf ("Recording an applied update in %s",
                                                history->table);

      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED, doing);
      return FALSE;
    }
  return TRUE;
}

/**
 * mw_history_upgrade_to_v1:
 * @states: (element-type MwMigrationState): from mw_history_match()
 *
 * drizzle-orm 1.x upgrades a 0.x migrations table in place, whenever its migrate()
 * meets one — even with nothing to apply: two new columns, then each row, in id
 * order, given the name of the migration it matches (its time to the second when
 * that is one migration's, else its hash) and `applied_at` NULL. Done the same way,
 * inside the caller's transaction, with the rows this wizard matched (on content
 * first): in every history drizzle-orm can upgrade, the same names; where the two
 * would differ, names that agree with what was applied, so that the POS's
 * migrate() (which from then on goes by name) runs nothing twice.
 */
gboolean
mw_history_upgrade_to_v1 (sqlite3     *db,
                          MwHistory   *history,
                          GArray      *states,
                          GError     **error)
{
  g_autofree char *quoted = mw_db_quote_identifier (history->table);
  g_autofree char *add_name = g_strdup_printf ("ALTER TABLE %s ADD COLUMN \"name\" text", quoted);
  g_autofree char *add_applied_at = g_strdup_printf ("ALTER TABLE %s ADD COLUMN \"applied_at\" "
                                                     "TEXT", quoted);
  g_autofree char *update = g_strdup_printf ("UPDATE %s SET \"name\" = ?, \"applied_at\" = NULL "
                                             "WHERE rowid = ?", quoted);

  if (!mw_db_exec (db, add_name, error) || !mw_db_exec (db, add_applied_at, error))
    return FALSE;
  history->has_name_column = TRUE;

  for (guint r = 0; r < history->rows->len; r++)
    {
      const MwAppliedRow *row = g_ptr_array_index (history->rows, r);
      const MwMigrationState *state = NULL;
      sqlite3_stmt *stmt = NULL;
      int rc;

      for (guint i = 0; i < states->len && state == NULL; i++)
        {
          const MwMigrationState *s = &g_array_index (states, MwMigrationState, i);

          if (s->applied_hash != NULL && s->applied_rowid == row->rowid)
            state = s;
        }
      if (state == NULL)
        continue;

      rc = sqlite3_prepare_v2 (db, update, -1, &stmt, NULL);
      if (rc == SQLITE_OK)
        {
          sqlite3_bind_text (stmt, 1, state->migration->tag, -1, SQLITE_STATIC);
          sqlite3_bind_int64 (stmt, 2, row->rowid);
          rc = sqlite3_step (stmt);
          if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
        }
      sqlite3_finalize (stmt);
      if (rc != SQLITE_OK)
        {
          g_autofree char *doing = g_strdup_printf ("Upgrading the layout of %s", history->table);

          mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED, doing);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- matching ------------------------------------------------------------------------ */

static gboolean
hash_is_alternative (const MwMigration *migration,
                     const char        *hash)
{
  return mw_migration_hash_differs_only_in_line_endings (migration, hash);
}

static int
find_local (MwMigrationSet *set,
            const gboolean *used,
            const MwAppliedRow *row,
            gboolean      (*match) (const MwMigration *, const MwAppliedRow *))
{
  guint n = mw_migration_set_get_n_migrations (set);

  for (guint i = 0; i < n; i++)
    if (!used[i] && match (mw_migration_set_get_migration (set, i), row))
      return (int) i;
  return -1;
}

static gboolean
match_exact (const MwMigration  *m,
             const MwAppliedRow *row)
{
  return g_strcmp0 (m->hash, row->hash) == 0 && !row->created_at_is_null &&
         m->when == row->created_at;
}

static gboolean
match_hash (const MwMigration  *m,
            const MwAppliedRow *row)
{
  return g_strcmp0 (m->hash, row->hash) == 0;
}

static gboolean
match_alt_hash (const MwMigration  *m,
                const MwAppliedRow *row)
{
  return hash_is_alternative (m, row->hash);
}

static gboolean
match_when (const MwMigration  *m,
            const MwAppliedRow *row)
{
  return !row->created_at_is_null && m->when == row->created_at;
}

/* drizzle-orm 1.x matches a row without a name on its time truncated to seconds. */
static gboolean
match_when_seconds (const MwMigration  *m,
                    const MwAppliedRow *row)
{
  return !row->created_at_is_null && m->when == (row->created_at / 1000) * 1000;
}

static gboolean
match_name (const MwMigration  *m,
            const MwAppliedRow *row)
{
  return row->name != NULL && strcmp (m->tag, row->name) == 0;
}

static void
mark (GArray             *states,
      gboolean           *used,
      int                 i,
      const MwAppliedRow *row)
{
  MwMigrationState *state = &g_array_index (states, MwMigrationState, i);

  used[i] = TRUE;
  g_free (state->applied_hash);
  g_free (state->applied_at);
  state->applied_hash = g_strdup (row->hash);
  state->applied_when = row->created_at;
  state->applied_rowid = row->rowid;
  state->applied_at = g_strdup (row->applied_at);
  state->when_differs = row->created_at_is_null || row->created_at != state->migration->when;

  if (g_strcmp0 (row->hash, state->migration->hash) == 0)
    state->status = MW_MIGRATION_STATUS_APPLIED;
  else if (hash_is_alternative (state->migration, row->hash))
    {
      state->status = MW_MIGRATION_STATUS_APPLIED;
      state->line_endings_only = TRUE;
    }
  else
    state->status = MW_MIGRATION_STATUS_MODIFIED;
}

static void
migration_state_clear (MwMigrationState *state)
{
  g_clear_pointer (&state->applied_hash, g_free);
  g_clear_pointer (&state->applied_at, g_free);
}

/**
 * mw_history_match:
 * @states: (element-type MwMigrationState): filled, one per local migration
 * @unknown: (element-type MwAppliedRow): filled with copies of unmatched rows
 */
void
mw_history_match (MwMigrationSet *set,
                  MwHistory      *history,
                  GArray         *states,
                  GPtrArray      *unknown)
{
  guint n = mw_migration_set_get_n_migrations (set);
  g_autofree gboolean *used = g_new0 (gboolean, MAX (n, 1));
  gboolean v1 = mw_migration_set_get_format (set) == MW_FOLDER_FORMAT_V1;
  gboolean have_high_water = FALSE;
  gint64 high_water = 0;

  g_array_set_clear_func (states, (GDestroyNotify) migration_state_clear);
  g_array_set_size (states, 0);
  for (guint i = 0; i < n; i++)
    {
      MwMigrationState state = { 0 };

      state.migration = mw_migration_set_get_migration (set, i);
      state.status = MW_MIGRATION_STATUS_PENDING;
      g_array_append_val (states, state);
    }

  for (guint r = 0; history->rows != NULL && r < history->rows->len; r++)
    {
      const MwAppliedRow *row = g_ptr_array_index (history->rows, r);
      int i = -1;

      if (!row->created_at_is_null && (!have_high_water || row->created_at > high_water))
        {
          high_water = row->created_at;
          have_high_water = TRUE;
        }

      if (v1 && row->name != NULL)
        i = find_local (set, used, row, match_name);
      else
        {
          /* Content first: a row whose file is unchanged is that migration, whatever
           * time it was recorded with. Only then a time match, which means the file
           * changed after it was applied. */
          i = find_local (set, used, row, match_exact);
          if (i < 0)
            i = find_local (set, used, row, match_hash);
          if (i < 0)
            i = find_local (set, used, row, match_alt_hash);
          if (i < 0)
            i = find_local (set, used, row, v1 ? match_when_seconds : match_when);
        }

      if (i >= 0)
        mark (states, used, i, row);
      else
        {
          MwAppliedRow *copy = g_new0 (MwAppliedRow, 1);

          copy->hash = g_strdup (row->hash);
          copy->created_at = row->created_at;
          copy->created_at_is_null = row->created_at_is_null;
          copy->rowid = row->rowid;
          copy->name = g_strdup (row->name);
          copy->applied_at = g_strdup (row->applied_at);
          g_ptr_array_add (unknown, copy);
        }
    }

  /* drizzle-orm 0.x runs an entry only if the newest recorded created_at is older
   * than its `when`; anything else still pending it skips forever. */
  if (!v1 && have_high_water)
    for (guint i = 0; i < n; i++)
      {
        MwMigrationState *state = &g_array_index (states, MwMigrationState, i);

        if (state->status == MW_MIGRATION_STATUS_PENDING && state->migration->when <= high_water)
          state->status = MW_MIGRATION_STATUS_OUT_OF_ORDER;
      }
}

/**
 * mw_applied_rows_new:
 *
 * Returns: (transfer full): an array that frees its #MwAppliedRow elements
 */
GPtrArray *
mw_applied_rows_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) applied_row_free);
}

/**
 * mw_history_classify:
 *
 * The state a database with @history is in for @set, given the result of
 * mw_history_match(). Only the history-related states are produced here.
 */
MwState
mw_history_classify (MwMigrationSet *set,
                     MwHistory      *history,
                     GArray         *states,
                     GPtrArray      *unknown)
{
  gint64 newest_local = mw_migration_set_get_newest_when (set);
  gboolean any_pending = FALSE;
  gboolean any_modified = FALSE;
  gboolean any_applied = FALSE;

  for (guint i = 0; i < unknown->len; i++)
    {
      const MwAppliedRow *row = g_ptr_array_index (unknown, i);

      if (!row->created_at_is_null && row->created_at > newest_local)
        return MW_STATE_NEWER;
    }
  if (unknown->len > 0)
    return MW_STATE_UNKNOWN_HISTORY;

  for (guint i = 0; i < states->len; i++)
    {
      const MwMigrationState *state = &g_array_index (states, MwMigrationState, i);

      switch (state->status)
        {
        case MW_MIGRATION_STATUS_APPLIED:
          any_applied = TRUE;
          break;
        case MW_MIGRATION_STATUS_MODIFIED:
          any_modified = TRUE;
          any_applied = TRUE;
          break;
        case MW_MIGRATION_STATUS_PENDING:
        case MW_MIGRATION_STATUS_OUT_OF_ORDER:
        default:
          any_pending = TRUE;
          break;
        }
    }

  if (any_modified)
    return MW_STATE_HASH_MISMATCH;
  if (!any_applied && history->n_user_tables > 0)
    return MW_STATE_UNTRACKED;
  if (any_pending || mw_history_needs_table (set, history))
    return MW_STATE_PENDING;
  return MW_STATE_UP_TO_DATE;
}

/**
 * mw_history_needs_table:
 *
 * Whether drizzle-orm's migrate() would write to the migrations table even with no
 * migration to apply: create it (0.x creates it on every run, so an app with an empty
 * journal has one), or upgrade a 0.x table to 1.x's layout when the app's folder is a
 * v1 one. Left undone, the POS's own migrate() would change a database called up to
 * date.
 */
gboolean
mw_history_needs_table (MwMigrationSet *set,
                        MwHistory      *history)
{
  if (!history->has_table)
    return TRUE;
  return mw_migration_set_get_format (set) == MW_FOLDER_FORMAT_V1 && !history->has_name_column;
}
