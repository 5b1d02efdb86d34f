/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-repair"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "mw-backup.h"
#include "mw-error.h"
#include "mw-fs-private.h"
#include "mw-history-private.h"
#include "mw-repair.h"
#include "mw-salvage-private.h"

/*
 * Try Repair: a new database holding every row of a damaged one that can still be
 * read, never touching the damaged original.
 *
 *   1. a byte-exact copy of the whole set goes to the backups first (rule 3), and a
 *      second copy beside the database is what SQLite opens and works on: SQLite may
 *      roll back a hot journal on open, which must not happen to the original;
 *   2. the damage is classified from integrity_check: only indexes → REINDEX on the
 *      work copy; structure (free list, page accounting) with readable tables → VACUUM
 *      INTO a new file; tables damaged → salvage;
 *   3. salvage creates the schema in a new database and copies each table in rowid
 *      order; where a read fails (a damaged leaf or interior page), it searches for the
 *      first rowid after the damage that can be read again (exponential, then binary
 *      search on "rowid > x") and carries on, so only rows on damaged pages are lost;
 *      __drizzle_migrations is a table like the others, so the migration level is kept
 *      (mw-salvage.c; rows and a schema SQLite cannot reach: mw-salvage-pages.c);
 *   4. indexes, triggers and views are created after the data; foreign-key orphans are
 *      counted and listed, never deleted; the result must pass integrity_check.
 *
 * The result is `<db>.repaired-YYYYMMDD-HHMMSS` beside the database; mw_repair_swap()
 * puts it in place through the operation journal once a person agrees.
 */

G_DEFINE_BOXED_TYPE (MwRepairReport, mw_repair_report, mw_repair_report_ref, mw_repair_report_unref)

static void
repair_table_free (MwRepairTable *t)
{
  g_free (t->name);
  g_free (t->note);
  g_clear_pointer (&t->lost_after, g_date_time_unref);
  g_clear_pointer (&t->lost_before, g_date_time_unref);
  g_free (t);
}

static MwRepairReport *
report_new (const char *database_path)
{
  MwRepairReport *self = g_new0 (MwRepairReport, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->database_path = g_strdup (database_path);
  self->tables = g_ptr_array_new_with_free_func ((GDestroyNotify) repair_table_free);
  self->orphans = g_ptr_array_new_with_free_func (g_free);
  self->problems = g_ptr_array_new_with_free_func (g_free);
  self->expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

MwRepairReport *
mw_repair_report_ref (MwRepairReport *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
mw_repair_report_unref (MwRepairReport *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->database_path);
  g_free (self->repaired_path);
  g_free (self->backup_path);
  g_free (self->damage);
  g_ptr_array_unref (self->tables);
  g_ptr_array_unref (self->orphans);
  g_ptr_array_unref (self->problems);
  g_free (self->schema_level);
  g_hash_table_unref (self->expected);
  g_free (self);
}

const char *
mw_repair_strategy_to_string (MwRepairStrategy strategy)
{
  switch (strategy)
    {
    case MW_REPAIR_COPY:    return "copy";
    case MW_REPAIR_REINDEX: return "reindex";
    case MW_REPAIR_VACUUM:  return "vacuum";
    case MW_REPAIR_SALVAGE: return "salvage";
    default:                return "unknown";
    }
}

const char *
mw_repair_schema_source_to_string (MwRepairSchemaSource source)
{
  switch (source)
    {
    case MW_REPAIR_SCHEMA_DATABASE:   return "database";
    case MW_REPAIR_SCHEMA_PAGES:      return "pages";
    case MW_REPAIR_SCHEMA_BACKUP:     return "backup";
    case MW_REPAIR_SCHEMA_MIGRATIONS: return "migrations";
    default:                          return "unknown";
    }
}



static char *
unique_repaired_path (const char *database_path)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");

  for (guint i = 1; ; i++)
    {
      char *candidate = i == 1 ? g_strdup_printf ("%s.repaired-%s", database_path, stamp)
                               : g_strdup_printf ("%s.repaired-%s-%u", database_path, stamp, i);

      if (!g_file_test (candidate, G_FILE_TEST_EXISTS))
        return candidate;
      g_free (candidate);
    }
}

static void
remove_set (const char *path)
{
  static const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (guint k = 0; k < G_N_ELEMENTS (suffixes); k++)
    {
      g_autofree char *p = g_strconcat (path, suffixes[k], NULL);

      g_unlink (p);
    }
}

/* Earlier repaired copies (made, then not used) give way to the new one: they are this
 * program's own output, made from the original, which is untouched and backed up. */
static void
remove_older_copies (const char *database_path,
                     const char *keep)
{
  g_autofree char *dir = g_path_get_dirname (database_path);
  g_autofree char *base = g_path_get_basename (database_path);
  g_autofree char *prefix = g_strconcat (base, ".repaired-", NULL);
  g_autofree char *keep_base = g_path_get_basename (keep);
  g_autoptr(GRegex) name = g_regex_new ("^[0-9]{8}-[0-9]{6}(-[0-9]+)?$", 0, 0, NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;

  while (d != NULL && (entry = g_dir_read_name (d)) != NULL)
    {
      if (!g_str_has_prefix (entry, prefix) || g_str_equal (entry, keep_base) ||
          !g_regex_match (name, entry + strlen (prefix), 0, NULL))
        continue;
      {
        g_autofree char *path = g_build_filename (dir, entry, NULL);

        remove_set (path);
        g_message ("Removed the earlier repaired copy %s", path);
      }
    }
}


/* ---- classifying the damage ------------------------------------------------------- */

typedef enum
{
  DAMAGE_NONE,
  DAMAGE_INDEXES,
  DAMAGE_STRUCTURE,
  DAMAGE_TABLES,
} Damage;

/* Whether every row of every table, or every entry of every index, still reads. */
static gboolean
scan_all (sqlite3   *db,
          gboolean   indexes,
          GPtrArray *failing)
{
  g_autoptr(GPtrArray) scans = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gboolean all_read = TRUE;
  sqlite3_stmt *stmt = NULL;
  const char *list = indexes
    ? "SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
    : "SELECT name, tbl_name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'";

  if (sqlite3_prepare_v2 (db, list, -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autofree char *name =
        mw_db_quote_identifier ((const char *) sqlite3_column_text (stmt, 0));
      g_autofree char *table =
        mw_db_quote_identifier ((const char *) sqlite3_column_text (stmt, 1));

      /* A table: every column of every row. An index: every entry, walking the index
       * itself (count(*) through INDEXED BY reads each of its pages). */
      g_ptr_array_add (scans, indexes
                              ? g_strdup_printf ("SELECT count(*) FROM %s INDEXED BY %s", table, name)
                              : g_strdup_printf ("SELECT * FROM %s", name));
      g_ptr_array_add (names, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
    }
  if (sqlite3_finalize (stmt) != SQLITE_OK)
    return FALSE;

  for (guint i = 0; i < scans->len; i++)
    {
      int rc = sqlite3_prepare_v2 (db, g_ptr_array_index (scans, i), -1, &stmt, NULL);

      if (rc == SQLITE_OK)
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
          {
            for (int c = 0; c < sqlite3_column_count (stmt); c++)
              sqlite3_column_bytes (stmt, c);
          }
      sqlite3_finalize (stmt);
      if (rc != SQLITE_DONE)
        {
          all_read = FALSE;
          if (failing != NULL)
            g_ptr_array_add (failing, g_strdup (g_ptr_array_index (names, i)));
        }
    }
  return all_read;
}

/* The damage, from integrity_check (for the report) and from reading everything:
 * integrity_check often stops at the first damaged page without naming its b-tree, so
 * which objects still read decides. */
static Damage
classify (sqlite3    *db,
          char      **out_text,
          GPtrArray  *damaged_indexes)
{
  g_autoptr(GString) text = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db, "PRAGMA integrity_check(100)", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      {
        const char *line = (const char *) sqlite3_column_text (stmt, 0);

        if (g_strcmp0 (line, "ok") != 0)
          g_string_append_printf (text, "%s%s", text->len ? "\n" : "", line);
      }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    g_string_append_printf (text, "%sintegrity_check stopped: %s", text->len ? "\n" : "",
                            sqlite3_errmsg (db));
  *out_text = g_strdup (text->str);

  if (text->len == 0)
    return DAMAGE_NONE;
  if (!scan_all (db, FALSE, NULL))
    return DAMAGE_TABLES;
  if (!scan_all (db, TRUE, damaged_indexes))
    return DAMAGE_INDEXES;
  return DAMAGE_STRUCTURE;
}


/* ---- after any strategy: counts, orphans, the final check -------------------------- */

static void
count_result (sqlite3        *result,
              MwRepairReport *report,
              sqlite3        *work)
{
  sqlite3_stmt *stmt = NULL;

  if (report->tables->len == 0 &&
      sqlite3_prepare_v2 (result, "SELECT name FROM sqlite_schema WHERE type = 'table' AND "
                                  "name NOT LIKE 'sqlite_%' ORDER BY rowid", -1, &stmt,
                          NULL) == SQLITE_OK)
    {
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          MwRepairTable *t = g_new0 (MwRepairTable, 1);
          g_autofree char *q =
            mw_db_quote_identifier ((const char *) sqlite3_column_text (stmt, 0));
          g_autofree char *count = g_strdup_printf ("SELECT count(*) FROM %s", q);

          t->name = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
          t->recovered = mw_db_query_int (result, count, 0);
          t->rows_before = work ? mw_db_query_int (work, count, -1) : -1;
          t->lost = t->rows_before >= 0 ? MAX (t->rows_before - t->recovered, 0) : -1;
          g_ptr_array_add (report->tables, t);
        }
    }
  sqlite3_finalize (stmt);

  report->recovered = 0;
  report->lost = 0;
  for (guint i = 0; i < report->tables->len; i++)
    {
      MwRepairTable *t = g_ptr_array_index (report->tables, i);

      report->recovered += t->recovered;
      if (t->lost < 0 || report->lost < 0)
        report->lost = -1;
      else
        report->lost += t->lost;
    }
}

static void
find_orphans (sqlite3        *result,
              MwRepairReport *report)
{
  g_autoptr(GHashTable) pairs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GList) keys = NULL;
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (result, "SELECT \"table\", parent FROM pragma_foreign_key_check", -1,
                          &stmt, NULL) != SQLITE_OK)
    return;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *child = (const char *) sqlite3_column_text (stmt, 0);
      char *key = g_strdup_printf ("%s → %s", child, sqlite3_column_text (stmt, 1));
      gsize n = GPOINTER_TO_SIZE (g_hash_table_lookup (pairs, key));

      g_hash_table_replace (pairs, key, GSIZE_TO_POINTER (n + 1));
      for (guint i = 0; i < report->tables->len; i++)
        {
          MwRepairTable *t = g_ptr_array_index (report->tables, i);

          if (g_str_equal (t->name, child))
            t->orphaned++;
        }
    }
  sqlite3_finalize (stmt);

  keys = g_list_sort (g_hash_table_get_keys (pairs), (GCompareFunc) g_strcmp0);
  for (GList *l = keys; l != NULL; l = l->next)
    g_ptr_array_add (report->orphans,
                     g_strdup_printf ("%s: %" G_GSIZE_FORMAT, (const char *) l->data,
                                      GPOINTER_TO_SIZE (g_hash_table_lookup (pairs, l->data))));
}

/* Whether a failed attempt failed for the disk's sake (full, read-only, I/O): a
 * stronger strategy would fail the same way, so the repair stops there. */
static gboolean
is_disk_error (const GError *error)
{
  return error != NULL && error->domain == MW_ENGINE_ERROR &&
         (error->code == MW_ENGINE_ERROR_NO_SPACE || error->code == MW_ENGINE_ERROR_UNREADABLE ||
          error->code == MW_ENGINE_ERROR_READ_ONLY);
}

static gboolean
vacuum_into (sqlite3     *db,
             const char  *path,
             GError     **error)
{
  g_autofree char *filename = mw_db_filename (path);
  g_autoptr(GString) escaped = g_string_new (filename);
  g_autofree char *sql = NULL;

  g_string_replace (escaped, "'", "''", 0);
  sql = g_strdup_printf ("VACUUM INTO '%s'", escaped->str);
  return mw_salvage_exec (db, sql, error);
}

/* Index-only damage: REINDEX would first have to free the damaged index's pages and
 * trips on them; instead the damaged indexes are dropped from the work copy's schema
 * alone (their pages left unreachable), the rest is written out with VACUUM INTO, and
 * the indexes are built again, from their tables, in the new file. */
static gboolean
rebuild_indexes (sqlite3         *work,
                 const char      *repaired_path,
                 GPtrArray       *damaged,
                 MwRepairReport  *report,
                 GError         **error)
{
  g_autoptr(GPtrArray) creates = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(sqlite3) out = NULL;

  if (mw_salvage_exec (work, "REINDEX", NULL) &&
      mw_db_query_int (work, "SELECT count(*) FROM pragma_integrity_check WHERE "
                                  "integrity_check <> 'ok'", 1) == 0)
    return vacuum_into (work, repaired_path, error);

  for (guint i = 0; i < damaged->len; i++)
    {
      sqlite3_stmt *stmt = NULL;

      if (sqlite3_prepare_v2 (work, "SELECT sql FROM sqlite_schema WHERE type = 'index' AND "
                                    "name = ?1", -1, &stmt, NULL) == SQLITE_OK)
        {
          sqlite3_bind_text (stmt, 1, g_ptr_array_index (damaged, i), -1, SQLITE_STATIC);
          if (sqlite3_step (stmt) == SQLITE_ROW)
            g_ptr_array_add (creates, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
        }
      sqlite3_finalize (stmt);
    }
  if (!mw_salvage_exec (work, "PRAGMA writable_schema = ON", NULL))
    return FALSE;
  for (guint i = 0; i < damaged->len; i++)
    {
      sqlite3_stmt *stmt = NULL;

      if (sqlite3_prepare_v2 (work, "DELETE FROM sqlite_schema WHERE type = 'index' AND "
                                    "name = ?1", -1, &stmt, NULL) == SQLITE_OK)
        {
          sqlite3_bind_text (stmt, 1, g_ptr_array_index (damaged, i), -1, SQLITE_STATIC);
          sqlite3_step (stmt);
        }
      sqlite3_finalize (stmt);
    }
  mw_salvage_exec (work, "PRAGMA writable_schema = OFF", NULL);
  /* The schema changed under this connection: reopen-free way to reload it. */
  mw_salvage_exec (work, "PRAGMA schema_version", NULL);
  if (!vacuum_into (work, repaired_path, error))
    return FALSE;

  out = mw_db_open (repaired_path, SQLITE_OPEN_READWRITE, 5000, error);
  if (out == NULL)
    return FALSE;
  mw_db_allow_salvage (out);
  for (guint i = 0; i < creates->len; i++)
    {
      char *message = NULL;
      int rc = sqlite3_exec (out, g_ptr_array_index (creates, i), NULL, NULL, &message);

      if (rc != SQLITE_OK && mw_salvage_rc_is_fatal (rc))
        {
          g_set_error (error, MW_ENGINE_ERROR, mw_engine_error_from_sqlite (rc, MW_ENGINE_ERROR_CORRUPT),
                       _("The repaired copy could not be written (an index could not be "
                         "rebuilt: %s). Nothing was changed."),
                       message ? message : sqlite3_errstr (rc));
          sqlite3_free (message);
          return FALSE;
        }
      if (rc != SQLITE_OK)
        {
          g_ptr_array_add (report->problems,
                           g_strdup_printf (_("An index could not be rebuilt: %s"), message));
          g_hash_table_remove (report->expected, g_ptr_array_index (damaged, i));
          sqlite3_free (message);
        }
    }
  return TRUE;
}

/* What a copy of the damaged database must hold: every object of its schema. */
static void
expect_schema_of (sqlite3        *work,
                  MwRepairReport *report)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (work, "SELECT name, type FROM sqlite_schema WHERE sql IS NOT NULL AND "
                                "name NOT LIKE 'sqlite_%'", -1, &stmt, NULL) != SQLITE_OK)
    return;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_hash_table_replace (report->expected,
                          g_strdup ((const char *) sqlite3_column_text (stmt, 0)),
                          g_strdup ((const char *) sqlite3_column_text (stmt, 1)));
  sqlite3_finalize (stmt);
}

/* The repaired copy holds everything the report does not count as lost: every table
 * and index the salvage created (or, for a copy, the damaged database has), every
 * row it counts as recovered, lost_and_found. A failure of the disk while the copy
 * was written could have left something out; then it is not offered. */
static gboolean
verify_complete (sqlite3         *result,
                 MwRepairReport  *report,
                 GError         **error)
{
  g_autofree char *missing = NULL;
  sqlite3_stmt *stmt = NULL;
  GHashTableIter iter;
  gpointer name, type;

  if (sqlite3_prepare_v2 (result, "SELECT count(*) FROM sqlite_schema WHERE name = ?1 AND "
                                  "type = ?2", -1, &stmt, NULL) != SQLITE_OK)
    missing = g_strdup (sqlite3_errmsg (result));
  g_hash_table_iter_init (&iter, report->expected);
  while (missing == NULL && g_hash_table_iter_next (&iter, &name, &type))
    {
      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, type, -1, SQLITE_STATIC);
      if (sqlite3_step (stmt) != SQLITE_ROW || sqlite3_column_int64 (stmt, 0) != 1)
        missing = g_strdup_printf (_("%s %s is missing"), (const char *) type, (const char *) name);
    }
  sqlite3_finalize (stmt);

  for (guint i = 0; missing == NULL && i < report->tables->len; i++)
    {
      MwRepairTable *t = g_ptr_array_index (report->tables, i);
      g_autofree char *q = mw_db_quote_identifier (t->name);
      g_autofree char *count = g_strdup_printf ("SELECT count(*) FROM %s", q);
      gint64 n;

      if (t->absent)
        continue;
      n = mw_db_query_int (result, count, -1);
      if (n != t->recovered)
        missing = g_strdup_printf (_("table %s holds %lld rows, not the %lld recovered"), t->name,
                                   (long long) n, (long long) t->recovered);
      else if (report->strategy != MW_REPAIR_SALVAGE && t->lost > 0)
        missing = g_strdup_printf (_("table %s lacks %lld rows"), t->name, (long long) t->lost);
    }
  if (missing == NULL && report->lost_and_found > 0 &&
      mw_db_query_int (result, "SELECT count(*) FROM lost_and_found", -1) != report->lost_and_found)
    missing = g_strdup (_("lost_and_found is incomplete"));

  if (missing != NULL)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                   _("The repaired copy is incomplete (%s); it was discarded. The damaged "
                     "database is unchanged."), missing);
      return FALSE;
    }
  return TRUE;
}

/**
 * mw_repair:
 * @backup_dir: (nullable): where the copy of the damaged set goes first
 *   (default: backups/ beside the database)
 * @set: (nullable): the app's migrations: when the list of tables is lost, they tell
 *   it (at the level the pages show)
 *
 * Makes a repaired copy of the database beside it, never changing the original.
 * Nothing is swapped: see mw_repair_swap().
 *
 * Returns: (transfer full): what was recovered and lost, table by table; %NULL with
 *   @error set when nothing could be recovered, or the copy could not be written in
 *   full (nothing is then left behind)
 */
MwRepairReport *
mw_repair (const char      *database_path,
           const char      *backup_dir,
           MwMigrationSet  *set,
           MwProgress      *progress,
           GCancellable    *cancellable,
           GError         **error)
{
  g_autoptr(MwRepairReport) report = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *work_path = NULL;
  g_autoptr(sqlite3) work = NULL;
  g_autoptr(sqlite3) result = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) damaged_indexes = g_ptr_array_new_with_free_func (g_free);
  Damage damage;
  char *damage_text = NULL;
  gboolean ok = FALSE;

  g_return_val_if_fail (database_path != NULL, NULL);

  if (!g_file_test (database_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_DATABASE_MISSING,
                   _("There is no database at %s to repair."), database_path);
      return NULL;
    }

  report = report_new (database_path);
  dir = backup_dir ? g_strdup (backup_dir) : mw_backup_default_dir (database_path);

  /* 1. The damaged set, byte for byte, into the backups; and a work copy. */
  if (progress != NULL)
    mw_progress_update (progress, 0.0, _("Copying the damaged database aside"));
  report->backup_path = mw_raw_copy_set (database_path, dir, error);
  if (report->backup_path == NULL)
    return NULL;
  work_path = g_strconcat (database_path, ".repair-work", NULL);
  remove_set (work_path);
  if (!mw_copy_set (database_path, work_path, error))
    goto out;
  mw_salvage_pages_fix_header (work_path, report);

  /* 2. What is damaged. */
  if (progress != NULL)
    mw_progress_update (progress, 0.05, _("Finding the damage"));
  work = mw_db_open (work_path, SQLITE_OPEN_READWRITE, 5000, &local_error);
  if (work == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  _("The damaged database cannot be opened at all: "));
      goto out;
    }
  mw_db_allow_salvage (work);
  damage = classify (work, &damage_text, damaged_indexes);
  report->damage = damage_text;
  report->repaired_path = unique_repaired_path (database_path);
  expect_schema_of (work, report);

  /* 3. From light to strong. */
  if (damage == DAMAGE_INDEXES)
    {
      report->strategy = MW_REPAIR_REINDEX;
      ok = rebuild_indexes (work, report->repaired_path, damaged_indexes, report, &local_error);
    }
  else if (damage != DAMAGE_TABLES)
    {
      report->strategy = damage == DAMAGE_NONE ? MW_REPAIR_COPY : MW_REPAIR_VACUUM;
      ok = vacuum_into (work, report->repaired_path, &local_error);
    }
  else
    {
      /* Tables damaged: VACUUM INTO only if every row still reads. */
      report->strategy = MW_REPAIR_VACUUM;
      ok = vacuum_into (work, report->repaired_path, &local_error);
    }
  if (!ok && is_disk_error (local_error))
    {
      g_set_error (error, MW_ENGINE_ERROR, local_error->code,
                   _("The repaired copy could not be written (%s). Nothing was changed."),
                   local_error->message);
      goto out;
    }

  if (!ok)
    {
      remove_set (report->repaired_path);
      g_clear_pointer (&work, mw_db_close);
      if (report->strategy == MW_REPAIR_REINDEX)
        {
          /* Its schema lost the damaged indexes on the way: a fresh work copy. */
          remove_set (work_path);
          if (!mw_copy_set (database_path, work_path, error))
            goto out;
          mw_salvage_pages_fix_header (work_path, NULL);
        }
      report->strategy = MW_REPAIR_SALVAGE;
      g_hash_table_remove_all (report->expected);
      if (!mw_salvage (work_path, report->repaired_path, dir, set, report, progress, cancellable,
                       error))
        goto out;
      work = mw_db_open (work_path, SQLITE_OPEN_READONLY, 5000, NULL);
      if (work != NULL)
        mw_db_allow_salvage (work);
    }

  /* 4. What the result holds; orphans listed, kept; it must be sound. */
  if (progress != NULL)
    mw_progress_update (progress, 0.95, _("Checking the repaired database"));
  result = mw_db_open (report->repaired_path, SQLITE_OPEN_READWRITE, 5000, error);
  if (result == NULL)
    goto out;
  mw_db_allow_salvage (result);
  count_result (result, report, report->strategy == MW_REPAIR_SALVAGE ? NULL : work);
  find_orphans (result, report);
  if (!verify_complete (result, report, error))
    goto out;
  if (mw_db_query_int (result, "SELECT count(*) FROM pragma_integrity_check WHERE "
                                    "integrity_check <> 'ok'", 1) != 0)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                   _("The repaired copy did not pass its own integrity check; it was "
                     "discarded. The damaged database is unchanged."));
      goto out;
    }
  g_clear_pointer (&result, mw_db_close);
  if (!mw_fsync_path (report->repaired_path, FALSE, error))
    goto out;

  g_clear_pointer (&work, mw_db_close);
  remove_set (work_path);
  if (progress != NULL)
    {
      mw_progress_update (progress, 1.0, _("Done"));
      mw_progress_flush (progress);
    }
  remove_older_copies (database_path, report->repaired_path);
  g_message ("Repaired %s into %s (%s): %" G_GINT64_FORMAT " rows recovered", database_path,
             report->repaired_path, mw_repair_strategy_to_string (report->strategy),
             report->recovered);
  return g_steal_pointer (&report);

out:
  g_clear_pointer (&result, mw_db_close);
  g_clear_pointer (&work, mw_db_close);
  remove_set (work_path);
  if (report->repaired_path != NULL)
    remove_set (report->repaired_path);
  return NULL;
}

typedef struct
{
  char           *database_path;
  char           *backup_dir;
  MwMigrationSet *set;
  MwProgress     *progress;
} RepairData;

static void
repair_data_free (RepairData *data)
{
  g_free (data->database_path);
  g_free (data->backup_dir);
  g_clear_object (&data->set);
  g_clear_object (&data->progress);
  g_free (data);
}

static void
repair_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  RepairData *data = task_data;
  GError *error = NULL;
  MwRepairReport *report;

  mw_thread_run_in_background ();
  report = mw_repair (data->database_path, data->backup_dir, data->set, data->progress,
                      cancellable, &error);

  if (report != NULL)
    g_task_return_pointer (task, report, (GDestroyNotify) mw_repair_report_unref);
  else
    g_task_return_error (task, error);
}

/**
 * mw_repair_async:
 *
 * Runs mw_repair() in a worker thread.
 */
void
mw_repair_async (const char          *database_path,
                 const char          *backup_dir,
                 MwMigrationSet      *set,
                 MwProgress          *progress,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  RepairData *data = g_new0 (RepairData, 1);

  data->database_path = g_strdup (database_path);
  data->backup_dir = g_strdup (backup_dir);
  data->set = set ? g_object_ref (set) : NULL;
  data->progress = progress ? g_object_ref (progress) : NULL;
  g_task_set_source_tag (task, mw_repair_async);
  g_task_set_task_data (task, data, (GDestroyNotify) repair_data_free);
  g_task_run_in_thread (task, repair_thread);
}

MwRepairReport *
mw_repair_finish (GAsyncResult  *result,
                  GError       **error)
{
  g_return_val_if_fail (G_IS_TASK (result), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
add_time_value (JsonBuilder *builder,
                GDateTime   *when)
{
  g_autofree char *text = when ? g_date_time_format_iso8601 (when) : NULL;

  if (text != NULL)
    json_builder_add_string_value (builder, text);
  else
    json_builder_add_null_value (builder);
}

/* What a shop calls a table's rows. */
static const struct
{
  const char *table;
  const char *words;
} shop_terms[] = {
  { "transactions", N_("Sales") },
  { "transaction_items", N_("Sale items") },
  { "payments", N_("Payments") },
  { "refunds", N_("Refunds") },
  { "products", N_("Products") },
  { "product_batches", N_("Stock batches") },
  { "stock_movements", N_("Stock movements") },
  { "users", N_("Staff") },
  { "shifts", N_("Shifts") },
  { "clock_events", N_("Clock-ins and clock-outs") },
  { "breaks", N_("Breaks") },
  { "cash_drawer_counts", N_("Cash drawer counts") },
  { "audit_logs", N_("Audit log entries") },
  { "cart_sessions", N_("Baskets") },
  { "cart_items", N_("Basket items") },
  { "customers", N_("Customers") },
  { "categories", N_("Categories") },
  { "suppliers", N_("Suppliers") },
  { "discounts", N_("Discounts") },
  { "vat_categories", N_("VAT rates") },
  { "__drizzle_migrations", N_("Update history") },
};

static char *
shop_words (const char *table)
{
  for (guint i = 0; i < G_N_ELEMENTS (shop_terms); i++)
    if (g_str_equal (shop_terms[i].table, table))
      return g_strdup_printf ("%s (%s)", _(shop_terms[i].words), table);
  return g_strdup (table);
}

static char *
local_time_text (GDateTime *when)
{
  g_autoptr(GDateTime) local = g_date_time_to_local (when);

  return g_date_time_format (local, "%Y-%m-%d %H:%M");
}

/**
 * mw_repair_report_to_json:
 *
 * Adds the report as one JSON object.
 */
void
mw_repair_report_to_json (MwRepairReport *self,
                          JsonBuilder    *builder)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "strategy");
  json_builder_add_string_value (builder, mw_repair_strategy_to_string (self->strategy));
  json_builder_set_member_name (builder, "database");
  json_builder_add_string_value (builder, self->database_path);
  json_builder_set_member_name (builder, "repaired");
  json_builder_add_string_value (builder, self->repaired_path);
  json_builder_set_member_name (builder, "backup");
  json_builder_add_string_value (builder, self->backup_path);
  json_builder_set_member_name (builder, "damage");
  json_builder_add_string_value (builder, self->damage);
  json_builder_set_member_name (builder, "recovered");
  json_builder_add_int_value (builder, self->recovered);
  json_builder_set_member_name (builder, "lost");
  if (self->lost >= 0)
    json_builder_add_int_value (builder, self->lost);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "lost_and_found");
  json_builder_add_int_value (builder, self->lost_and_found);
  json_builder_set_member_name (builder, "schema_source");
  json_builder_add_string_value (builder, mw_repair_schema_source_to_string (self->schema_source));
  json_builder_set_member_name (builder, "schema_level");
  if (self->schema_level != NULL)
    json_builder_add_string_value (builder, self->schema_level);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "schema_level_from");
  if (self->schema_level != NULL)
    json_builder_add_string_value (builder, self->schema_level_from_history ? "history" : "shapes");
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "tables");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->tables->len; i++)
    {
      MwRepairTable *t = g_ptr_array_index (self->tables, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, t->name);
      json_builder_set_member_name (builder, "rows_before");
      if (t->rows_before >= 0)
        json_builder_add_int_value (builder, t->rows_before);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "recovered");
      json_builder_add_int_value (builder, t->recovered);
      json_builder_set_member_name (builder, "lost");
      if (t->lost >= 0)
        json_builder_add_int_value (builder, t->lost);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "orphaned");
      json_builder_add_int_value (builder, t->orphaned);
      json_builder_set_member_name (builder, "lost_after");
      add_time_value (builder, t->lost_after);
      json_builder_set_member_name (builder, "lost_before");
      add_time_value (builder, t->lost_before);
      if (t->absent)
        {
          json_builder_set_member_name (builder, "absent");
          json_builder_add_boolean_value (builder, TRUE);
        }
      if (t->note != NULL)
        {
          json_builder_set_member_name (builder, "note");
          json_builder_add_string_value (builder, t->note);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "orphans");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->orphans->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (self->orphans, i));
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "problems");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->problems->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (self->problems, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

static char *
count_text (gint64 n)
{
  return n >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, n) : g_strdup ("?");
}

/**
 * mw_repair_report_to_text:
 *
 * Returns: (transfer full): the report for a person: a line per table with rows
 *   before, recovered, lost and orphaned; when the lost rows were made, in the shop's
 *   words (sales, staff…); then where the list of tables came from and what could
 *   not be recreated
 */
char *
mw_repair_report_to_text (MwRepairReport *self)
{
  GString *out = g_string_new (NULL);
  g_autofree char *lost = count_text (self->lost);
  gboolean any_dated = FALSE;

  g_string_append_printf (out, _("Recovered %lld rows; lost: %s (method: %s).\n"),
                          (long long) self->recovered, lost,
                          mw_repair_strategy_to_string (self->strategy));
  g_string_append_printf (out, "%-34s %10s %10s %8s %8s\n", _("table"), _("before"),
                          _("recovered"), _("lost"), _("orphaned"));
  for (guint i = 0; i < self->tables->len; i++)
    {
      MwRepairTable *t = g_ptr_array_index (self->tables, i);
      g_autofree char *before = count_text (t->rows_before);
      g_autofree char *t_lost = count_text (t->lost);

      g_string_append_printf (out, "%-34s %10s %10" G_GINT64_FORMAT " %8s %8" G_GINT64_FORMAT
                              "%s%s\n", t->name, before, t->recovered, t_lost, t->orphaned,
                              t->note ? "  " : "", t->note ? t->note : "");
    }
  if (self->orphans->len > 0)
    {
      g_string_append (out, _("Rows whose parent row was lost (kept, not deleted):\n"));
      for (guint i = 0; i < self->orphans->len; i++)
        g_string_append_printf (out, "  %s\n", (const char *) g_ptr_array_index (self->orphans, i));
    }
  for (guint i = 0; i < self->tables->len; i++)
    {
      MwRepairTable *t = g_ptr_array_index (self->tables, i);
      g_autofree char *words = NULL, *t_lost = NULL, *after = NULL, *before = NULL;

      if (t->lost == 0 || (t->lost_after == NULL && t->lost_before == NULL))
        continue;
      if (!any_dated)
        g_string_append (out, _("What was lost, by when it was made:\n"));
      any_dated = TRUE;
      words = shop_words (t->name);
      t_lost = t->lost > 0
               ? g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%lld row", "%lld rows",
                                               (unsigned long) t->lost),
                                  (long long) t->lost)
               : g_strdup (_("an unknown number of rows"));
      after = t->lost_after ? local_time_text (t->lost_after) : NULL;
      before = t->lost_before ? local_time_text (t->lost_before) : NULL;
      /* TRANSLATORS: "Sales (transactions): 81 rows, made between 2026-03-02 14:02 and …" */
      if (after != NULL && before != NULL)
        g_string_append_printf (out, _("  %s: %s, made between %s and %s\n"), words, t_lost,
                                after, before);
      else if (after != NULL)
        g_string_append_printf (out, _("  %s: %s, made after %s\n"), words, t_lost, after);
      else
        g_string_append_printf (out, _("  %s: %s, made before %s\n"), words, t_lost, before);
    }
  for (guint i = 0; i < self->problems->len; i++)
    g_string_append_printf (out, "%s\n", (const char *) g_ptr_array_index (self->problems, i));
  return g_string_free (out, FALSE);
}
