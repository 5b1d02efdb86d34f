/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-history"

#include "config.h"

#include <string.h>

#include "mw-error.h"
#include "mw-history-private.h"

/*
 * What the database's __drizzle_migrations table says, how it lines up with the app's
 * migrations folder, and what an update writes to it.
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
  memset (history, 0, sizeof *history);
}

static char *
dup_column_text (sqlite3_stmt *stmt,
                 int           col)
{
  const unsigned char *text = sqlite3_column_text (stmt, col);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

/**
 * mw_history_read:
 *
 * Reads the schema's table list and the migrations table. Touches only
 * sqlite_schema and __drizzle_migrations: fast on a database of any size.
 */
gboolean
mw_history_read (sqlite3    *db,
                 MwHistory  *history,
                 GError    **error)
{
  g_autoptr(GString) query = NULL;
  sqlite3_stmt *stmt = NULL;
  int rc;

  mw_history_clear (history);
  history->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) applied_row_free);

  rc = sqlite3_prepare_v2 (db,
                           "SELECT name FROM sqlite_schema WHERE type = 'table'",
                           -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      {
        const char *name = (const char *) sqlite3_column_text (stmt, 0);

        if (g_strcmp0 (name, MW_MIGRATIONS_TABLE) == 0)
          history->has_table = TRUE;
        else if (name != NULL && g_ascii_strncasecmp (name, "sqlite_", 7) != 0)
          history->n_user_tables++;
      }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_CORRUPT, "Reading the database's schema");
      return FALSE;
    }

  if (!history->has_table)
    return TRUE;

  rc = sqlite3_prepare_v2 (db,
                           "SELECT 1 FROM pragma_table_info('" MW_MIGRATIONS_TABLE "') "
                           "WHERE name = 'name'",
                           -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      history->has_name_column = rc == SQLITE_ROW;
      if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        rc = SQLITE_OK;
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_OK)
    {
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_CORRUPT,
                       "Reading the layout of " MW_MIGRATIONS_TABLE);
      return FALSE;
    }

  query = g_string_new ("SELECT rowid, hash, created_at");
  if (history->has_name_column)
    g_string_append (query, ", name, applied_at");
  g_string_append (query, " FROM \"" MW_MIGRATIONS_TABLE "\" ORDER BY rowid");

  rc = sqlite3_prepare_v2 (db, query->str, -1, &stmt, NULL);
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
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_CORRUPT,
                       "Reading the table " MW_MIGRATIONS_TABLE);
      return FALSE;
    }

  return TRUE;
}

/* ---- writing ------------------------------------------------------------------------- */

/**
 * mw_history_record_applied:
 * @v1: the table has drizzle-orm 1.x's layout (with name and applied_at)
 *
 * Records @migration as applied, inside the caller's transaction.
 */
gboolean
mw_history_record_applied (sqlite3            *db,
                           const MwMigration  *migration,
                           gboolean            v1,
                           GError            **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  /* The very statements drizzle-orm runs, with the same parameter types. */
  rc = sqlite3_prepare_v2 (db,
                           v1
                           ? "insert into \"" MW_MIGRATIONS_TABLE "\" (\"hash\", \"created_at\", "
                             "\"name\", \"applied_at\") values(?, ?, ?, ?)"
                           : "INSERT INTO \"" MW_MIGRATIONS_TABLE "\" (\"hash\", \"created_at\") "
                             "VALUES(?, ?)",
                           -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, migration->hash, -1, SQLITE_STATIC);
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
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED,
                       "Recording an applied update in " MW_MIGRATIONS_TABLE);
      return FALSE;
    }
  return TRUE;
}

/**
 * mw_history_upgrade_to_v1:
 * @states: (element-type MwMigrationState): from mw_history_match()
 *
 * drizzle-orm 1.x upgrades a 0.x migrations table in place: two new columns, and each
 * recognised row given its migration's name. Done the same way, inside the caller's
 * transaction.
 */
gboolean
mw_history_upgrade_to_v1 (sqlite3  *db,
                          GArray   *states,
                          GError  **error)
{
  if (!mw_db_exec (db, "ALTER TABLE \"" MW_MIGRATIONS_TABLE "\" ADD COLUMN \"name\" text", error) ||
      !mw_db_exec (db, "ALTER TABLE \"" MW_MIGRATIONS_TABLE "\" ADD COLUMN \"applied_at\" TEXT",
                   error))
    return FALSE;

  for (guint i = 0; i < states->len; i++)
    {
      const MwMigrationState *state = &g_array_index (states, MwMigrationState, i);
      sqlite3_stmt *stmt = NULL;
      int rc;

      if (state->applied_hash == NULL)
        continue;

      rc = sqlite3_prepare_v2 (db,
                               "UPDATE \"" MW_MIGRATIONS_TABLE "\" SET \"name\" = ?, "
                               "\"applied_at\" = NULL WHERE rowid = ?",
                               -1, &stmt, NULL);
      if (rc == SQLITE_OK)
        {
          sqlite3_bind_text (stmt, 1, state->migration->tag, -1, SQLITE_STATIC);
          sqlite3_bind_int64 (stmt, 2, state->applied_rowid);
          rc = sqlite3_step (stmt);
          if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
        }
      sqlite3_finalize (stmt);
      if (rc != SQLITE_OK)
        {
          mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED,
                           "Upgrading the layout of " MW_MIGRATIONS_TABLE);
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
  if (any_pending)
    return MW_STATE_PENDING;
  return MW_STATE_UP_TO_DATE;
}
