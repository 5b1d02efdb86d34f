/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-repair"

#include "config.h"

#include <string.h>

#include "mw-backup.h"
#include "mw-error.h"
#include "mw-history-private.h"
#include "mw-salvage-private.h"

/*
 * The list of tables when SQLite cannot read sqlite_schema (page 1 damaged), from
 * the best of what is left:
 *
 *   1. its own leaf records: sqlite_schema rows are records of (type, name, tbl_name,
 *      rootpage, sql); a schema bigger than page 1 has leaves elsewhere, which still
 *      hold them, root pages included — the exact tables, their b-trees known;
 *   2. the app's migrations: the schema each level has is what applying migrations
 *      0..k to an empty database gives (mw_salvage_reference_schemas()). The level is
 *      the one the history rows found on the pages name (their hashes, or their
 *      created_at, matched to the migrations); without them, the level whose tables
 *      best fit the records found (mw-salvage-shape.c);
 *   3. the newest verified backup's schema — unless the migrations fit the records
 *      found better: a backup made before the last update has the previous level's
 *      tables, so the history, when found, decides.
 *
 * A schema from the pages that misses tables (a schema leaf lost too) is completed
 * from the migrations at the level the history names.
 */

MwSchemaEntry *
mw_schema_entry_new (const char *type,
                     const char *name,
                     const char *sql,
                     guint32     root)
{
  MwSchemaEntry *e = g_new0 (MwSchemaEntry, 1);

  e->type = g_strdup (type);
  e->name = g_strdup (name);
  e->sql = g_strdup (sql);
  e->root = root;
  return e;
}

void
mw_schema_entry_free (MwSchemaEntry *e)
{
  g_free (e->type);
  g_free (e->name);
  g_free (e->sql);
  g_free (e);
}

static GPtrArray *
entries_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) mw_schema_entry_free);
}

static GPtrArray *
entries_copy (GPtrArray *entries)
{
  GPtrArray *copy = entries_new ();

  for (guint i = 0; i < entries->len; i++)
    {
      MwSchemaEntry *e = g_ptr_array_index (entries, i);

      g_ptr_array_add (copy, mw_schema_entry_new (e->type, e->name, e->sql, e->root));
    }
  return copy;
}

static gboolean
has_table (GPtrArray  *entries,
           const char *name)
{
  for (guint i = 0; i < entries->len; i++)
    {
      MwSchemaEntry *e = g_ptr_array_index (entries, i);

      if (g_str_equal (e->name, name))
        return TRUE;
    }
  return FALSE;
}

static char *
value_text (GArray *values,
            guint   i)
{
  MwValue *v = &g_array_index (values, MwValue, i);

  if (v->type != MW_VALUE_TEXT || !g_utf8_validate ((const char *) v->bytes, v->n_bytes, NULL))
    return NULL;
  return g_strndup ((const char *) v->bytes, v->n_bytes);
}


/* ---- 1. the schema's own leaf records --------------------------------------------- */

typedef struct
{
  GPtrArray *entries;
  guint32    n_pages;
  guint32    last_page;
  GArray    *pages;
} SchemaScan;

static void
schema_row_cb (guint32   pgno,
               guint     cell,
               gint64    rowid,
               GArray   *values,
               gpointer  user_data)
{
  SchemaScan *scan = user_data;
  g_autofree char *kind = NULL, *name = NULL, *sql = NULL;
  MwValue *root;

  if (values->len != 5)
    return;
  kind = value_text (values, 0);
  name = value_text (values, 1);
  sql = value_text (values, 4);
  root = &g_array_index (values, MwValue, 3);
  if (kind == NULL || name == NULL || sql == NULL || root->type != MW_VALUE_INTEGER ||
      (!g_str_equal (kind, "table") && !g_str_equal (kind, "index") &&
       !g_str_equal (kind, "view") && !g_str_equal (kind, "trigger")) ||
      !g_str_has_prefix (sql, "CREATE "))
    return;
  g_ptr_array_add (scan->entries,
                   mw_schema_entry_new (kind, name, sql,
                                        root->integer > 0 && root->integer <= scan->n_pages
                                        ? (guint32) root->integer : 0));
  if (scan->pages != NULL && scan->last_page != pgno)
    g_array_append_val (scan->pages, pgno);
  scan->last_page = pgno;
}

/**
 * mw_salvage_schema_from_pages:
 * @schema_pages: (nullable) (element-type guint32): the pages the records were on
 *
 * Returns: (transfer full) (element-type MwSchemaEntry): the sqlite_schema rows
 *   found on any table leaf page, with their root pages
 */
GPtrArray *
mw_salvage_schema_from_pages (MwPages *pages,
                              GArray  *schema_pages)
{
  SchemaScan scan = { entries_new (), mw_pages_get_n_pages (pages), 0, schema_pages };

  for (guint32 pgno = 1; pgno <= scan.n_pages; pgno++)
    mw_pages_for_each_row (pages, pgno, schema_row_cb, &scan);
  return scan.entries;
}


/* ---- 3. a backup ------------------------------------------------------------------- */

/* The newest verified backup's schema (no root pages). */
GPtrArray *
mw_salvage_schema_from_backup (const char *backup_dir)
{
  GPtrArray *entries = entries_new ();
  g_autoptr(GPtrArray) backups = mw_backup_list (backup_dir, NULL);

  for (guint i = 0; backups != NULL && i < backups->len && entries->len == 0; i++)
    {
      MwBackup *b = g_ptr_array_index (backups, i);
      g_autoptr(sqlite3) db = NULL;
      sqlite3_stmt *stmt = NULL;

      if (!b->verified || (db = mw_db_open (b->path, SQLITE_OPEN_READONLY, 1000, NULL)) == NULL)
        continue;
      if (sqlite3_prepare_v2 (db, "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT "
                                  "NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid", -1, &stmt,
                              NULL) == SQLITE_OK)
        while (sqlite3_step (stmt) == SQLITE_ROW)
          g_ptr_array_add (entries,
                           mw_schema_entry_new ((const char *) sqlite3_column_text (stmt, 0),
                                                (const char *) sqlite3_column_text (stmt, 1),
                                                (const char *) sqlite3_column_text (stmt, 2), 0));
      sqlite3_finalize (stmt);
    }
  return entries;
}


/* ---- 2. the migrations ------------------------------------------------------------- */

static gboolean
run_statement (sqlite3     *db,
               const char  *piece,
               GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  const char *tail = NULL;
  int rc = sqlite3_prepare_v2 (db, piece, -1, &stmt, &tail);

  if (rc == SQLITE_OK && (stmt == NULL || (tail != NULL && !mw_sql_is_blank (tail))))
    {
      /* Refused by the migrator too (an empty piece, two statements in one). */
      sqlite3_finalize (stmt);
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID,
                   "not one statement: %s", piece);
      return FALSE;
    }
  if (rc == SQLITE_OK)
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      ;
  sqlite3_finalize (stmt);
  if (rc != SQLITE_OK && rc != SQLITE_DONE)
    {
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED, piece);
      return FALSE;
    }
  return TRUE;
}

/**
 * mw_salvage_reference_schemas:
 *
 * The schema the app's database has at each level: migrations 0..k applied to an
 * empty database as the migrator applies them (foreign keys off, one transaction,
 * drizzle-orm's history table and rows), sqlite_schema read after each. This is the
 * one place that knows how: the shared reference schema replaces it.
 *
 * Returns: (transfer full) (element-type GPtrArray): at index k, the schema after
 *   migration k (element-type MwSchemaEntry, in sqlite_schema order, no root pages);
 *   fewer levels than migrations when one cannot be applied to an empty database;
 *   %NULL with @error set when none can
 */
GPtrArray *
mw_salvage_reference_schemas (MwMigrationSet  *set,
                              GError         **error)
{
  g_autoptr(GPtrArray) levels = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_autoptr(sqlite3) db = NULL;
  g_auto(MwHistory) history = { 0 };
  gboolean v1;

  g_return_val_if_fail (MW_IS_MIGRATION_SET (set), NULL);

  v1 = mw_migration_set_get_format (set) == MW_FOLDER_FORMAT_V1;
  history.table = g_strdup (mw_migration_set_get_table (set) ? mw_migration_set_get_table (set)
                                                             : "__drizzle_migrations");
  db = mw_db_open (":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0, error);
  if (db == NULL ||
      !mw_db_exec (db, "PRAGMA foreign_keys = OFF", error) ||
      !mw_db_exec (db, "BEGIN", error) ||
      !mw_history_create_table (db, &history, v1, error))
    return NULL;

  for (guint k = 0; k < mw_migration_set_get_n_migrations (set); k++)
    {
      const MwMigration *m = mw_migration_set_get_migration (set, k);
      g_autoptr(GError) local_error = NULL;
      GPtrArray *entries;
      sqlite3_stmt *stmt = NULL;

      for (guint p = 0; p < m->statements->len && local_error == NULL; p++)
        run_statement (db, g_ptr_array_index (m->statements, p), &local_error);
      if (local_error == NULL)
        mw_history_record_applied (db, &history, m, v1, &local_error);
      if (local_error != NULL)
        {
          g_message ("The schema after %s cannot be built from the migrations: %s", m->tag,
                     local_error->message);
          if (levels->len == 0)
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return NULL;
            }
          break;
        }

      entries = entries_new ();
      if (sqlite3_prepare_v2 (db, "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT "
                                  "NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid", -1, &stmt,
                              NULL) == SQLITE_OK)
        while (sqlite3_step (stmt) == SQLITE_ROW)
          g_ptr_array_add (entries,
                           mw_schema_entry_new ((const char *) sqlite3_column_text (stmt, 0),
                                                (const char *) sqlite3_column_text (stmt, 1),
                                                (const char *) sqlite3_column_text (stmt, 2), 0));
      sqlite3_finalize (stmt);
      g_ptr_array_add (levels, entries);
    }
  mw_db_exec (db, "ROLLBACK", NULL);
  return g_steal_pointer (&levels);
}

/* The history rows: drizzle-orm's (NULL id, hash, created_at[, name, applied_at]). */
typedef struct
{
  GHashTable *by_hash;    /* hash → idx + 1 */
  GHashTable *by_when;    /* when → idx + 1 */
  guint       rows;
  guint       matched;
  int         level;
} HistoryScan;

static void
history_row_cb (guint32   pgno,
                guint     cell,
                gint64    rowid,
                GArray   *values,
                gpointer  user_data)
{
  HistoryScan *scan = user_data;
  g_autofree char *hash = NULL;
  gpointer idx = NULL;

  scan->rows++;
  if ((values->len != 3 && values->len != 5) ||
      g_array_index (values, MwValue, 0).type != MW_VALUE_NULL ||
      (hash = value_text (values, 1)) == NULL)
    return;
  idx = g_hash_table_lookup (scan->by_hash, hash);
  if (idx == NULL && g_array_index (values, MwValue, 2).type == MW_VALUE_INTEGER)
    {
      gint64 when = g_array_index (values, MwValue, 2).integer;

      idx = g_hash_table_lookup (scan->by_when, &when);
    }
  if (idx == NULL)
    return;
  scan->matched++;
  scan->level = MAX (scan->level, GPOINTER_TO_INT (idx) - 1);
}

/* The level the history rows found on unreached pages name: the newest migration any
 * of them records, from the group (a table's leaves) where nearly every row is one of
 * this app's; -1 when none is found. */
static int
history_level (MwPages        *pages,
               GPtrArray      *groups,
               MwMigrationSet *set)
{
  g_autoptr(GHashTable) by_hash = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) by_when = g_hash_table_new (g_int64_hash, g_int64_equal);
  guint best_matched = 0;
  int level = -1;

  for (guint k = 0; k < mw_migration_set_get_n_migrations (set); k++)
    {
      const MwMigration *m = mw_migration_set_get_migration (set, k);

      g_hash_table_insert (by_hash, m->hash, GINT_TO_POINTER (k + 1));
      g_hash_table_insert (by_when, (gpointer) &m->when, GINT_TO_POINTER (k + 1));
    }

  for (guint i = 0; i < groups->len; i++)
    {
      MwLeafGroup *g = g_ptr_array_index (groups, i);
      HistoryScan scan = { by_hash, by_when, 0, 0, -1 };

      /* A history is a few rows per update; a big table is not one. */
      if (g->n_cells > 100000)
        continue;
      for (guint k = 0; k < g->leaves->len; k++)
        mw_pages_for_each_row (pages, g_array_index (g->leaves, guint32, k), history_row_cb, &scan);
      if (scan.matched == 0 || scan.matched * 10 < scan.rows * 9)
        continue;
      if (scan.matched > best_matched || (scan.matched == best_matched && scan.level > level))
        {
          best_matched = scan.matched;
          level = scan.level;
        }
    }
  return level;
}

/* How well a schema explains the rows found: the rows of groups one of its tables can
 * hold wholly, and of those, the rows whose records have exactly its column count. */
static void
score_schema (GPtrArray *shapes,
              GPtrArray *groups,
              GPtrArray *signatures,
              guint64   *out_fit,
              guint64   *out_exact)
{
  *out_fit = 0;
  *out_exact = 0;
  for (guint i = 0; i < groups->len; i++)
    {
      MwLeafGroup *g = g_ptr_array_index (groups, i);
      GHashTable *sigs = g_ptr_array_index (signatures, i);
      gboolean fits = FALSE, exact = FALSE;

      for (guint s = 0; s < shapes->len && !exact; s++)
        {
          MwShape *shape = g_ptr_array_index (shapes, s);
          gboolean all = g_hash_table_size (sigs) > 0, all_exact = TRUE;
          GHashTableIter iter;
          gpointer key;

          g_hash_table_iter_init (&iter, sigs);
          while (all && g_hash_table_iter_next (&iter, &key, NULL))
            {
              all = mw_shape_fit (shape, key, NULL);
              all_exact &= strlen (key) == shape->n_columns;
            }
          fits |= all;
          exact |= all && all_exact;
        }
      if (fits)
        *out_fit += g->n_cells;
      if (exact)
        *out_exact += g->n_cells;
    }
}

static gboolean
better (guint64 fit,
        guint64 exact,
        guint64 best_fit,
        guint64 best_exact)
{
  return fit > best_fit || (fit == best_fit && exact >= best_exact);
}

/**
 * mw_salvage_schema_recover:
 * @pages: the work copy; page 1 and the free list are marked, and the schema's own
 *   pages when found
 * @set: (nullable): the app's migrations
 *
 * Chooses the schema of a database whose sqlite_schema SQLite cannot read, and says
 * in @report where it came from.
 *
 * Returns: (transfer full) (element-type MwSchemaEntry): the schema, root pages known
 *   only when it came from its own pages; empty when nothing tells it
 */
GPtrArray *
mw_salvage_schema_recover (MwPages        *pages,
                           const char     *backup_dir,
                           MwMigrationSet *set,
                           MwRepairReport *report)
{
  g_autoptr(GArray) schema_pages = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GPtrArray) found = mw_salvage_schema_from_pages (pages, schema_pages);
  g_autoptr(GPtrArray) groups = NULL;
  g_autoptr(GPtrArray) signatures = NULL;
  g_autoptr(GPtrArray) levels = NULL;
  g_autoptr(GPtrArray) backup = NULL;
  g_autoptr(GError) error = NULL;
  gboolean found_tables = FALSE;
  int level = -1;

  for (guint i = 0; i < found->len; i++)
    found_tables |= g_str_equal (((MwSchemaEntry *) g_ptr_array_index (found, i))->type, "table");
  /* The schema's own leaves are not rows of a table. */
  for (guint i = 0; found_tables && i < schema_pages->len; i++)
    mw_pages_mark (pages, g_array_index (schema_pages, guint32, i));

  groups = mw_pages_unreached_groups (pages);
  if (set != NULL)
    {
      levels = mw_salvage_reference_schemas (set, &error);
      if (levels == NULL)
        g_message ("The migrations cannot tell the schema: %s", error->message);
      else
        level = history_level (pages, groups, set);
      if (levels != NULL && level >= (int) levels->len)
        level = (int) levels->len - 1;
    }

  if (found_tables)
    {
      report->schema_source = MW_REPAIR_SCHEMA_PAGES;
      if (level >= 0)
        {
          GPtrArray *reference = g_ptr_array_index (levels, level);
          gboolean added = FALSE;

          for (guint i = 0; i < reference->len; i++)
            {
              MwSchemaEntry *e = g_ptr_array_index (reference, i);

              if (!has_table (found, e->name))
                {
                  g_ptr_array_add (found, mw_schema_entry_new (e->type, e->name, e->sql, 0));
                  added = TRUE;
                }
            }
          /* Completed from the migrations: the level says at which. */
          if (added)
            {
              report->schema_level = g_strdup (mw_migration_set_get_migration (set, level)->tag);
              report->schema_level_from_history = TRUE;
            }
        }
      return g_steal_pointer (&found);
    }

  if (level >= 0)
    {
      report->schema_source = MW_REPAIR_SCHEMA_MIGRATIONS;
      report->schema_level = g_strdup (mw_migration_set_get_migration (set, level)->tag);
      report->schema_level_from_history = TRUE;
      return entries_copy (g_ptr_array_index (levels, level));
    }

  /* No history: the schema that best explains the rows found. */
  signatures = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);
  for (guint i = 0; i < groups->len; i++)
    g_ptr_array_add (signatures, mw_pages_group_signatures (pages, g_ptr_array_index (groups, i)));
  backup = mw_salvage_schema_from_backup (backup_dir);
  {
    guint64 best_fit = 0, best_exact = 0;
    int best = -1;
    gboolean use_backup = FALSE;

    for (guint k = 0; levels != NULL && k < levels->len; k++)
      {
        g_autoptr(GPtrArray) shapes = mw_shapes_of_schema (g_ptr_array_index (levels, k));
        guint64 fit, exact;

        score_schema (shapes, groups, signatures, &fit, &exact);
        if (best < 0 || better (fit, exact, best_fit, best_exact))
          {
            best = (int) k;
            best_fit = fit;
            best_exact = exact;
          }
      }
    if (backup->len > 0)
      {
        g_autoptr(GPtrArray) shapes = mw_shapes_of_schema (backup);
        guint64 fit, exact;

        score_schema (shapes, groups, signatures, &fit, &exact);
        use_backup = best < 0 || better (fit, exact, best_fit, best_exact);
      }

    if (use_backup)
      {
        report->schema_source = MW_REPAIR_SCHEMA_BACKUP;
        return g_steal_pointer (&backup);
      }
    if (best >= 0)
      {
        report->schema_source = MW_REPAIR_SCHEMA_MIGRATIONS;
        report->schema_level = g_strdup (mw_migration_set_get_migration (set, best)->tag);
        return entries_copy (g_ptr_array_index (levels, best));
      }
  }
  return entries_new ();
}
