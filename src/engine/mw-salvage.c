/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-repair"

#include "config.h"

#include <glib/gi18n.h>
#include <sqlite3.h>

#include "mw-error.h"
#include "mw-history-private.h"
#include "mw-salvage-private.h"

/*
 * Salvage at the SQL level, for tables SQLite can no longer read in full:
 *
 *   the schema is created in a new database, then each table is copied in rowid order
 *   on two connections (a read failing on the damaged file never touches the write
 *   transaction of the new one); where a read fails (a damaged leaf or interior page),
 *   the first rowid after the damage that reads again is searched for (exponential,
 *   then binary search on "rowid >= x") and the copy carries on, so only rows on
 *   damaged pages are lost; __drizzle_migrations is a table like the others, so the
 *   migration level is kept. Rows no b-tree reaches any more, and a schema SQLite
 *   cannot read, come from the page-level reader (mw-salvage-pages.c). Indexes,
 *   triggers and views are created after the data.
 */

/* ---- SQL helpers, shared with mw-repair.c and mw-salvage-pages.c -------------------- */

/* sqlite3_exec(), failing with the statement in the message (MW_ENGINE_ERROR_CORRUPT
 * unless SQLite says better). */
gboolean
mw_salvage_exec (sqlite3     *db,
                 const char  *sql,
                 GError     **error)
{
  char *message = NULL;
  int rc = sqlite3_exec (db, sql, NULL, NULL, &message);

  if (rc != SQLITE_OK)
    {
      g_set_error (error, MW_ENGINE_ERROR, mw_engine_error_from_sqlite (rc, MW_ENGINE_ERROR_CORRUPT),
                   "%s (%s)", message ? message : sqlite3_errstr (rc), sql);
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

/* ---- copying the tables ------------------------------------------------------------- */

typedef enum
{
  PROBE_ROW,     /* a row after x could be found */
  PROBE_END,     /* nothing after x */
  PROBE_FAILED,  /* reading after x fails */
} Probe;

static Probe
probe_from (sqlite3_stmt *probe,
             gint64        x)
{
  int rc;

  sqlite3_reset (probe);
  sqlite3_bind_int64 (probe, 1, x);
  rc = sqlite3_step (probe);
  if (rc == SQLITE_ROW)
    return PROBE_ROW;
  return rc == SQLITE_DONE ? PROBE_END : PROBE_FAILED;
}

/* The first x > @from such that reading "rowid >= x" works again — seeking a rowid
 * lands on the leaf page that would hold it, so this is the first rowid past the
 * damaged pages — or G_MAXINT64 when nothing after @from reads any more. Offsets are
 * unsigned: @from may be G_MININT64. */
static gint64
skip_damage (sqlite3_stmt *probe,
             gint64        from)
{
  guint64 room = (guint64) G_MAXINT64 - (guint64) from;
  guint64 lo = 0, hi = 1;

#define AT(d) ((gint64) ((guint64) from + (d)))
  if (room == 0)
    return G_MAXINT64;
  while (probe_from (probe, AT (hi)) == PROBE_FAILED)
    {
      lo = hi;
      if (hi == room)
        return G_MAXINT64;
      hi = hi > room / 2 ? room : hi * 2;
    }
  while (hi - lo > 1)
    {
      guint64 mid = lo + (hi - lo) / 2;

      if (probe_from (probe, AT (mid)) == PROBE_FAILED)
        lo = mid;
      else
        hi = mid;
    }
  return AT (hi);
#undef AT
}

static gboolean
salvage_table (sqlite3        *in,
               sqlite3        *out,
               MwRepairTable  *t,
               GCancellable   *cancellable,
               GError        **error)
{
  g_autofree char *q = mw_db_quote_identifier (t->name);
  g_autoptr(GString) columns = g_string_new (NULL);
  g_autoptr(GString) params = g_string_new ("?");
  g_autofree char *info_sql = g_strdup_printf ("PRAGMA table_info(%s)", q);
  g_autofree char *select_sql = NULL, *insert_sql = NULL, *probe_sql = NULL;
  sqlite3_stmt *info = NULL, *select = NULL, *insert = NULL, *probe = NULL;
  gint64 next = G_MININT64;   /* the smallest rowid not read yet */
  guint n_columns = 0;
  int rc;

  if (sqlite3_prepare_v2 (in, info_sql, -1, &info, NULL) == SQLITE_OK)
    while (sqlite3_step (info) == SQLITE_ROW)
      {
        g_autofree char *c =
          mw_db_quote_identifier ((const char *) sqlite3_column_text (info, 1));

        g_string_append_printf (columns, ", %s", c);
        g_string_append (params, ", ?");
        n_columns++;
      }
  sqlite3_finalize (info);
  if (n_columns == 0)
    {
      t->note = g_strdup (_("its columns could not be read"));
      return TRUE;
    }

  select_sql = g_strdup_printf ("SELECT rowid%s FROM %s WHERE rowid >= ?1 ORDER BY rowid",
                                columns->str, q);
  insert_sql = g_strdup_printf ("INSERT INTO main.%s (rowid%s) VALUES (%s)", q, columns->str,
                                params->str);
  probe_sql = g_strdup_printf ("SELECT rowid FROM %s WHERE rowid >= ?1 ORDER BY rowid LIMIT 1",
                               q);
  if (sqlite3_prepare_v2 (in, select_sql, -1, &select, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2 (out, insert_sql, -1, &insert, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2 (in, probe_sql, -1, &probe, NULL) != SQLITE_OK)
    {
      /* A WITHOUT ROWID table, or one SQLite cannot even prepare. */
      t->note = g_strdup_printf (_("could not be read: %s"), sqlite3_errmsg (in));
      sqlite3_finalize (select);
      sqlite3_finalize (insert);
      sqlite3_finalize (probe);
      return TRUE;
    }

  for (;;)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        break;

      sqlite3_reset (select);
      sqlite3_bind_int64 (select, 1, next);
      while ((rc = sqlite3_step (select)) == SQLITE_ROW)
        {
          gint64 rowid = sqlite3_column_int64 (select, 0);

          sqlite3_reset (insert);
          for (guint c = 0; c <= n_columns; c++)
            sqlite3_bind_value (insert, (int) c + 1, sqlite3_column_value (select, (int) c));
          if ((sqlite3_errcode (in) & 0xff) == SQLITE_CORRUPT)
            {
              /* The row's own bytes are damaged (its record or overflow pages). */
              next = rowid;
              rc = SQLITE_CORRUPT;
              break;
            }
          if (sqlite3_step (insert) != SQLITE_DONE)
            {
              mw_db_set_error (error, out, sqlite3_errcode (out), MW_ENGINE_ERROR_CORRUPT,
                               _("Copying a row"));
              goto out;
            }
          t->recovered++;
          if (rowid == G_MAXINT64)
            {
              rc = SQLITE_DONE;
              break;
            }
          next = rowid + 1;
        }
      if (rc == SQLITE_DONE)
        break;

      /* A page that cannot be read: go past it, to the first rowid that reads again. */
      next = skip_damage (probe, next);
      if (next == G_MAXINT64 || probe_from (probe, next) == PROBE_END)
        break;
    }

out:
  sqlite3_finalize (select);
  sqlite3_finalize (insert);
  sqlite3_finalize (probe);
  return error == NULL || *error == NULL;
}

/* Creates the damaged database's objects in @out: tables first (@tables_only), or
 * everything else afterwards. What cannot be created is listed, not fatal. */
static void
create_objects (sqlite3        *in,
                sqlite3        *out,
                gboolean        tables_only,
                MwRepairReport *report)
{
  sqlite3_stmt *stmt = NULL;
  const char *sql = tables_only
    ? "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND sql IS NOT NULL "
      "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
    : "SELECT name, sql FROM sqlite_schema WHERE type IN ('index', 'trigger', 'view') "
      "AND sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type = 'view', rowid";

  if (sqlite3_prepare_v2 (in, sql, -1, &stmt, NULL) != SQLITE_OK)
    return;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 0);
      const char *create = (const char *) sqlite3_column_text (stmt, 1);
      char *message = NULL;

      if (sqlite3_exec (out, create, NULL, NULL, &message) != SQLITE_OK)
        {
          g_ptr_array_add (report->problems,
                           g_strdup_printf (_("%s could not be recreated: %s"), name, message));
          sqlite3_free (message);
          continue;
        }
      if (tables_only)
        {
          MwRepairTable *t = g_new0 (MwRepairTable, 1);

          t->name = g_strdup (name);
          t->rows_before = -1;
          t->lost = -1;
          g_ptr_array_add (report->tables, t);
        }
    }
  sqlite3_finalize (stmt);
}

/* ---- salvage ------------------------------------------------------------------------ */

/**
 * mw_salvage:
 * @work_path: the work copy of the damaged database (only read)
 * @repaired_path: the new database to create
 * @backup_dir: where the newest verified backup is looked for, when the schema is lost
 *
 * Fills @repaired_path with every row of @work_path that can still be read, and
 * @report's tables and problems with what happened.
 *
 * Returns: %FALSE with @error set when nothing could be recovered, or on cancellation
 */
gboolean
mw_salvage (const char      *work_path,
            const char      *repaired_path,
            const char      *backup_dir,
            MwRepairReport  *report,
            MwProgress      *progress,
            GCancellable    *cancellable,
            GError         **error)
{
  g_autoptr(sqlite3) in = NULL;
  g_autoptr(sqlite3) out = NULL;
  g_autoptr(GPtrArray) schema = NULL;
  g_autoptr(GHashTable) roots = NULL;

  /* Two connections: a read failing on the damaged file never touches the write
   * transaction of the new one. */
  in = mw_db_open (work_path, SQLITE_OPEN_READONLY, 5000, error);
  if (in == NULL)
    return FALSE;
  mw_db_allow_salvage (in);
  /* Lets SQLite load a schema with a bad entry (an index whose root page is gone)
   * instead of refusing every table; this connection only ever reads. */
  mw_salvage_exec (in, "PRAGMA writable_schema = ON", NULL);
  out = mw_db_open (repaired_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 5000, error);
  if (out == NULL)
    return FALSE;
  mw_db_allow_salvage (out);
  {
    gint64 size = mw_db_query_int (in, "PRAGMA page_size", 4096);
    g_autofree char *page_size = g_strdup_printf ("PRAGMA page_size = %" G_GINT64_FORMAT, size);
    mw_salvage_exec (out, page_size, NULL);
  }
  if (!mw_salvage_exec (out, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF", error))
    return FALSE;

  create_objects (in, out, TRUE, report);
  if (report->tables->len == 0)
    {
      /* SQLite cannot read the list of tables: rebuild it from the schema's own leaf
       * pages, else take it from the newest verified backup; the rows are then read
       * page by page. */
      schema = mw_salvage_pages_read_schema (work_path);
      if (schema->len > 0)
        g_ptr_array_add (report->problems,
                         g_strdup (_("The list of tables was damaged; it was rebuilt from the "
                                     "pages that still held it.")));
      else
        {
          g_ptr_array_unref (schema);
          schema = mw_salvage_pages_schema_from_backup (backup_dir);
          if (schema->len > 0)
            g_ptr_array_add (report->problems,
                             g_strdup (_("The list of tables was lost; the tables were recreated "
                                         "as the newest backup has them.")));
        }
      roots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      for (guint i = 0; i < schema->len; i++)
        {
          MwSchemaEntry *e = g_ptr_array_index (schema, i);
          MwRepairTable *t;

          if (!g_str_equal (e->type, "table") || g_str_has_prefix (e->name, "sqlite_") ||
              sqlite3_exec (out, e->sql, NULL, NULL, NULL) != SQLITE_OK)
            continue;
          t = g_new0 (MwRepairTable, 1);
          t->name = g_strdup (e->name);
          t->rows_before = -1;
          t->lost = -1;
          g_ptr_array_add (report->tables, t);
          if (e->root > 0)
            g_hash_table_insert (roots, g_strdup (e->name), GUINT_TO_POINTER (e->root));
        }
    }
  if (report->tables->len == 0)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                   _("The list of tables (sqlite_schema) cannot be read, and neither its pages "
                     "nor a backup tell it, so no table can be recovered."));
      return FALSE;
    }

  if (!mw_salvage_exec (out, "BEGIN", error))
    return FALSE;
  for (guint i = 0; roots == NULL && i < report->tables->len; i++)
    {
      MwRepairTable *t = g_ptr_array_index (report->tables, i);
      g_autofree char *q = mw_db_quote_identifier (t->name);
      g_autofree char *count = g_strdup_printf ("SELECT count(*) FROM %s", q);

      if (progress != NULL)
        {
          g_autofree char *message = g_strdup_printf (_("Recovering %s"), t->name);

          mw_progress_update (progress, 0.1 + 0.8 * i / report->tables->len, message);
        }
      t->rows_before = mw_db_query_int (in, count, -1);
      if (!salvage_table (in, out, t, cancellable, error))
        {
          mw_salvage_exec (out, "ROLLBACK", NULL);
          return FALSE;
        }
      if (t->rows_before >= 0)
        t->lost = MAX (t->rows_before - t->recovered, 0);
    }
  /* Rows under a damaged root or interior page: the page-level reader. */
  if (progress != NULL)
    mw_progress_update (progress, 0.9, _("Looking for rows on pages no table reaches"));
  mw_salvage_pages_recover_orphans (work_path, in, out, report, roots);
  if (!mw_salvage_exec (out, "COMMIT", error))
    return FALSE;

  if (schema != NULL)
    for (guint i = 0; i < schema->len; i++)
      {
        MwSchemaEntry *e = g_ptr_array_index (schema, i);
        char *message = NULL;

        if (g_str_equal (e->type, "table") ||
            sqlite3_exec (out, e->sql, NULL, NULL, &message) == SQLITE_OK)
          continue;
        g_ptr_array_add (report->problems,
                         g_strdup_printf (_("%s could not be recreated: %s"), e->name, message));
        sqlite3_free (message);
      }
  else
    create_objects (in, out, FALSE, report);
  return mw_salvage_exec (out, "PRAGMA journal_mode = DELETE", error);
}
