/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-repair"

#include "config.h"

#include <string.h>
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
 *   cannot read, come from the page-level reader (mw-salvage-pages.c, -schema.c,
 *   -place.c). Indexes, triggers and views are created after the data.
 *
 * The new database is written with no journal (it is a scratch file until checked):
 * any failure of the disk while it is written stops the salvage, and the caller
 * removes the file. What cannot be created for a reason of its own (an index the
 * recovered rows break) is reported, a table as lost with all its rows; nothing is
 * ever left out silently.
 */

/* ---- SQL helpers, shared with mw-repair.c and the page level ----------------------- */

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

/* Whether a failure writing the new database is one of the disk (I/O, full, read
 * only, out of memory…) rather than of the statement (a schema entry that does not
 * parse, a constraint): the former leaves a copy that lacks what it should hold, and
 * must stop the repair; the latter is reported and the repair goes on. */
gboolean
mw_salvage_rc_is_fatal (int rc)
{
  switch (rc & 0xff)
    {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
    case SQLITE_ERROR:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
      return FALSE;
    default:
      return TRUE;
    }
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

/* A stretch of rowids that could not be read: after @lo (the last row read before
 * it; G_MININT64: none) and before @hi (the first read after it; G_MAXINT64: none). */
typedef struct
{
  gint64 lo;
  gint64 hi;
} Gap;

static gboolean
salvage_table (sqlite3        *in,
               sqlite3        *out,
               MwRepairTable  *t,
               GArray         *gaps,
               GCancellable   *cancellable,
               GError        **error)
{
  gint64 last = G_MININT64;   /* the last rowid copied */
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
          rc = sqlite3_step (insert);
          if (rc != SQLITE_DONE)
            {
              mw_db_set_error (error, out, rc, MW_ENGINE_ERROR_CORRUPT, _("Copying a row"));
              goto out;
            }
          t->recovered++;
          last = rowid;
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
      {
        Gap gap = { last, next };

        if (next != G_MAXINT64 && probe_from (probe, next) == PROBE_END)
          gap.hi = G_MAXINT64;
        g_array_append_val (gaps, gap);
        if (gap.hi == G_MAXINT64)
          break;
      }
    }

out:
  sqlite3_finalize (select);
  sqlite3_finalize (insert);
  sqlite3_finalize (probe);
  return error == NULL || *error == NULL;
}

/* A table the repaired copy does not have (its CREATE failed for a reason of its
 * own, not the disk's): listed, every row of it counted as lost. */
static void
add_absent_table (MwRepairReport *report,
                  const char     *name,
                  gint64          rows_before,
                  const char     *message)
{
  MwRepairTable *t = g_new0 (MwRepairTable, 1);

  t->name = g_strdup (name);
  t->rows_before = rows_before;
  t->lost = rows_before;
  t->absent = TRUE;
  t->note = g_strdup_printf (_("could not be recreated: %s"), message);
  g_ptr_array_add (report->tables, t);
}

/* Creates one object of the damaged database in @out. A failure of the disk is fatal;
 * any other is reported (a table as lost with all its rows). */
static gboolean
create_object (sqlite3         *in,
               sqlite3         *out,
               const char      *type,
               const char      *name,
               const char      *create,
               MwRepairReport  *report,
               GError         **error)
{
  char *message = NULL;
  int rc = sqlite3_exec (out, create, NULL, NULL, &message);

  if (rc == SQLITE_OK)
    {
      g_hash_table_replace (report->expected, g_strdup (name), g_strdup (type));
      if (g_str_equal (type, "table"))
        {
          MwRepairTable *t = g_new0 (MwRepairTable, 1);

          t->name = g_strdup (name);
          t->rows_before = -1;
          t->lost = -1;
          g_ptr_array_add (report->tables, t);
        }
      return TRUE;
    }
  if (mw_salvage_rc_is_fatal (rc))
    {
      g_set_error (error, MW_ENGINE_ERROR, mw_engine_error_from_sqlite (rc, MW_ENGINE_ERROR_CORRUPT),
                   _("The repaired copy could not be written (%s could not be created: %s). "
                     "Nothing was changed."), name, message ? message : sqlite3_errstr (rc));
      sqlite3_free (message);
      return FALSE;
    }
  if (g_str_equal (type, "table"))
    {
      g_autofree char *q = mw_db_quote_identifier (name);
      g_autofree char *count = g_strdup_printf ("SELECT count(*) FROM %s", q);

      add_absent_table (report, name, in != NULL ? mw_db_query_int (in, count, -1) : -1,
                        message ? message : sqlite3_errstr (rc));
    }
  else
    g_ptr_array_add (report->problems,
                     g_strdup_printf (_("%s could not be recreated: %s"), name,
                                      message ? message : sqlite3_errstr (rc)));
  sqlite3_free (message);
  return TRUE;
}

/* Creates the damaged database's objects in @out: tables first (@tables_only), or
 * everything else afterwards. */
static gboolean
create_objects (sqlite3         *in,
                sqlite3         *out,
                gboolean         tables_only,
                MwRepairReport  *report,
                GError         **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok = TRUE;
  const char *sql = tables_only
    ? "SELECT type, name, sql FROM sqlite_schema WHERE type = 'table' AND sql IS NOT NULL "
      "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
    : "SELECT type, name, sql FROM sqlite_schema WHERE type IN ('index', 'trigger', 'view') "
      "AND sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type = 'view', rowid";

  if (sqlite3_prepare_v2 (in, sql, -1, &stmt, NULL) != SQLITE_OK)
    return TRUE;
  while (ok && sqlite3_step (stmt) == SQLITE_ROW)
    ok = create_object (in, out, (const char *) sqlite3_column_text (stmt, 0),
                        (const char *) sqlite3_column_text (stmt, 1),
                        (const char *) sqlite3_column_text (stmt, 2), report, error);
  sqlite3_finalize (stmt);
  return ok;
}

/* ---- when the lost rows were made ----------------------------------------------------- */

static GDateTime *
time_of (sqlite3_stmt *stmt,
         int           column)
{
  switch (sqlite3_column_type (stmt, column))
    {
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
      {
        double v = sqlite3_column_double (stmt, column);

        if (v > 2e6 && v < 3e6)                 /* a Julian day */
          v = (v - 2440587.5) * 86400.0;
        else if (v > 1e11)                      /* milliseconds, as Drizzle stores them */
          v /= 1000.0;
        if (v < 1e8 || v > 1e10)                /* not a date of this world's shops */
          return NULL;
        return g_date_time_new_from_unix_utc ((gint64) v);
      }
    case SQLITE_TEXT:
      {
        g_autofree char *text = g_strdup ((const char *) sqlite3_column_text (stmt, column));
        g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();

        if (strlen (text) > 10 && text[10] == ' ')
          text[10] = 'T';
        return g_date_time_new_from_iso8601 (text, utc);
      }
    default:
      return NULL;
    }
}

static GDateTime *
time_at (sqlite3    *db,
         const char *sql,
         gint64      rowid)
{
  sqlite3_stmt *stmt = NULL;
  GDateTime *when = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, rowid);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    when = time_of (stmt, 0);
  sqlite3_finalize (stmt);
  return when;
}

/* Rows are added in time order, so the rows recovered on either side of a damaged
 * stretch tell when its lost rows were made: after the one before, before the one
 * after. A stretch the page level filled again entirely lost nothing. */
static void
date_lost_rows (sqlite3       *out,
                MwRepairTable *t,
                GArray        *gaps)
{
  g_autoptr(MwShape) shape = mw_shape_new (out, t->name);
  g_autofree char *q = mw_db_quote_identifier (t->name);
  g_autofree char *c = NULL, *before = NULL, *after = NULL;
  gboolean open_before = FALSE, open_after = FALSE, any = FALSE;

  if (shape == NULL || shape->time_column < 0 || gaps->len == 0)
    return;
  c = mw_db_quote_identifier (shape->names[shape->time_column]);
  before = g_strdup_printf ("SELECT %s FROM %s WHERE rowid <= ?1 ORDER BY rowid DESC LIMIT 1", c, q);
  after = g_strdup_printf ("SELECT %s FROM %s WHERE rowid >= ?1 ORDER BY rowid LIMIT 1", c, q);
  for (guint i = 0; i < gaps->len; i++)
    {
      Gap *gap = &g_array_index (gaps, Gap, i);
      g_autoptr(GDateTime) from = NULL, to = NULL;

      if (gap->lo != G_MININT64 && gap->hi != G_MAXINT64)
        {
          g_autofree char *count = g_strdup_printf ("SELECT count(*) FROM %s WHERE rowid > %"
                                                    G_GINT64_FORMAT " AND rowid < %" G_GINT64_FORMAT,
                                                    q, gap->lo, gap->hi);

          if (mw_db_query_int (out, count, 0) >= gap->hi - gap->lo - 1)
            continue;
        }
      any = TRUE;
      from = gap->lo != G_MININT64 ? time_at (out, before, gap->lo) : NULL;
      to = gap->hi != G_MAXINT64 ? time_at (out, after, gap->hi) : NULL;
      if (from == NULL)
        open_before = TRUE;
      else if (t->lost_after == NULL || g_date_time_compare (from, t->lost_after) < 0)
        {
          g_clear_pointer (&t->lost_after, g_date_time_unref);
          t->lost_after = g_steal_pointer (&from);
        }
      if (to == NULL)
        open_after = TRUE;
      else if (t->lost_before == NULL || g_date_time_compare (to, t->lost_before) > 0)
        {
          g_clear_pointer (&t->lost_before, g_date_time_unref);
          t->lost_before = g_steal_pointer (&to);
        }
    }
  if (!any || open_before)
    g_clear_pointer (&t->lost_after, g_date_time_unref);
  if (!any || open_after)
    g_clear_pointer (&t->lost_before, g_date_time_unref);
}

/* ---- salvage ------------------------------------------------------------------------ */

static void
say_where_the_schema_came_from (MwRepairReport *report)
{
  switch (report->schema_source)
    {
    case MW_REPAIR_SCHEMA_PAGES:
      g_ptr_array_add (report->problems,
                       g_strdup (_("The list of tables was damaged; it was rebuilt from the "
                                   "pages that still held it.")));
      if (report->schema_level != NULL)
        g_ptr_array_add (report->problems,
                         g_strdup_printf (_("Tables missing from those pages were recreated from "
                                            "the app's updates (level %s)."),
                                          report->schema_level));
      break;
    case MW_REPAIR_SCHEMA_BACKUP:
      g_ptr_array_add (report->problems,
                       g_strdup (_("The list of tables was lost; the tables were recreated "
                                   "as the newest backup has them.")));
      break;
    case MW_REPAIR_SCHEMA_MIGRATIONS:
      g_ptr_array_add (report->problems,
                       report->schema_level_from_history
                       ? g_strdup_printf (_("The list of tables was lost; the tables were "
                                            "recreated from the app's updates, at the level the "
                                            "update history found on the pages names (%s)."),
                                          report->schema_level)
                       : g_strdup_printf (_("The list of tables and the update history were "
                                            "lost; the tables were recreated from the app's "
                                            "updates, at the level whose tables best fit the "
                                            "rows found (%s)."),
                                          report->schema_level));
      break;
    case MW_REPAIR_SCHEMA_DATABASE:
    default:
      break;
    }
}

/**
 * mw_salvage:
 * @work_path: the work copy of the damaged database (only read)
 * @repaired_path: the new database to create
 * @backup_dir: where the newest verified backup is looked for, when the schema is lost
 * @set: (nullable): the app's migrations, which tell the schema when it is lost
 *
 * Fills @repaired_path with every row of @work_path that can still be read, and
 * @report's tables and problems with what happened.
 *
 * Returns: %FALSE with @error set when nothing could be recovered, when the new
 *   database could not be written in full, or on cancellation
 */
gboolean
mw_salvage (const char      *work_path,
            const char      *repaired_path,
            const char      *backup_dir,
            MwMigrationSet  *set,
            MwRepairReport  *report,
            MwProgress      *progress,
            GCancellable    *cancellable,
            GError         **error)
{
  g_autoptr(sqlite3) in = NULL;
  g_autoptr(sqlite3) out = NULL;
  g_autoptr(MwPages) pages = NULL;
  g_autoptr(GPtrArray) schema = NULL;
  g_autoptr(GHashTable) roots = NULL;
  g_autoptr(GHashTable) gaps = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_array_unref);
  g_autoptr(GPtrArray) candidates = g_ptr_array_new ();

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

  if (!create_objects (in, out, TRUE, report, error))
    return FALSE;
  if (report->tables->len == 0)
    {
      /* SQLite cannot read the list of tables: it comes from the schema's own leaf
       * pages, the app's migrations or the newest verified backup; the rows are then
       * read page by page. */
      pages = mw_pages_open (work_path);
      if (pages != NULL)
        {
          mw_pages_mark (pages, 1);
          mw_pages_mark_freelist (pages);
          schema = mw_salvage_schema_recover (pages, backup_dir, set, report);
        }
      else
        schema = g_ptr_array_new ();
      say_where_the_schema_came_from (report);
      roots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      for (guint i = 0; i < schema->len; i++)
        {
          MwSchemaEntry *e = g_ptr_array_index (schema, i);
          guint n = report->tables->len;

          if (!g_str_equal (e->type, "table") || g_str_has_prefix (e->name, "sqlite_") ||
              g_hash_table_contains (report->expected, e->name))
            continue;
          if (!create_object (NULL, out, e->type, e->name, e->sql, report, error))
            return FALSE;
          if (report->tables->len > n && e->root > 0 &&
              !((MwRepairTable *) g_ptr_array_index (report->tables, n))->absent)
            g_hash_table_insert (roots, g_strdup (e->name), GUINT_TO_POINTER (e->root));
        }
    }
  if (report->tables->len == 0)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                   _("The list of tables (sqlite_schema) cannot be read, and neither its pages, "
                     "a backup nor the app's updates tell it, so no table can be recovered."));
      return FALSE;
    }

  if (!mw_salvage_exec (out, "BEGIN", error))
    return FALSE;
  for (guint i = 0; roots == NULL && i < report->tables->len; i++)
    {
      MwRepairTable *t = g_ptr_array_index (report->tables, i);
      g_autofree char *q = mw_db_quote_identifier (t->name);
      g_autofree char *count = g_strdup_printf ("SELECT count(*) FROM %s", q);
      GArray *table_gaps;

      if (t->absent)
        continue;
      if (progress != NULL)
        {
          g_autofree char *message = g_strdup_printf (_("Recovering %s"), t->name);

          mw_progress_update (progress, 0.1 + 0.8 * i / report->tables->len, message);
        }
      t->rows_before = mw_db_query_int (in, count, -1);
      table_gaps = g_array_new (FALSE, FALSE, sizeof (Gap));
      g_hash_table_insert (gaps, t, table_gaps);
      if (!salvage_table (in, out, t, table_gaps, cancellable, error))
        return FALSE;
      if (t->rows_before >= 0)
        t->lost = MAX (t->rows_before - t->recovered, 0);
    }

  /* Rows under a damaged root or interior page, or every row when the schema was
   * lost: the page-level reader. */
  if (progress != NULL)
    mw_progress_update (progress, 0.9, _("Looking for rows on pages no table reaches"));
  if (pages == NULL && (pages = mw_pages_open (work_path)) != NULL)
    {
      sqlite3_stmt *stmt = NULL;

      mw_pages_walk (pages, 1, NULL);
      if (sqlite3_prepare_v2 (in, "SELECT rootpage FROM sqlite_schema WHERE rootpage > 0", -1,
                              &stmt, NULL) == SQLITE_OK)
        while (sqlite3_step (stmt) == SQLITE_ROW)
          mw_pages_walk (pages, (guint32) sqlite3_column_int64 (stmt, 0), NULL);
      sqlite3_finalize (stmt);
      mw_pages_mark_freelist (pages);
    }
  for (guint i = 0; i < report->tables->len; i++)
    {
      MwRepairTable *t = g_ptr_array_index (report->tables, i);

      if (t->lost != 0 && !t->absent)
        g_ptr_array_add (candidates, t);
    }
  if (pages != NULL)
    {
      g_autoptr(sqlite3) schema_db = schema != NULL ? mw_schema_db_new (schema) : NULL;

      if (!mw_salvage_place (pages, out, schema != NULL ? schema_db : in, candidates, roots,
                             report, cancellable, error))
        return FALSE;
    }
  if (report->lost_and_found > 0)
    g_ptr_array_add (report->problems,
                     g_strdup_printf (_("%lld rows whose table could not be told apart were put "
                                        "in the table lost_and_found, with their page number."),
                                      (long long) report->lost_and_found));

  {
    GHashTableIter iter;
    gpointer t, table_gaps;

    g_hash_table_iter_init (&iter, gaps);
    while (g_hash_table_iter_next (&iter, &t, &table_gaps))
      date_lost_rows (out, t, table_gaps);
  }
  if (!mw_salvage_exec (out, "COMMIT", error))
    return FALSE;

  if (schema != NULL)
    {
      for (guint i = 0; i < schema->len; i++)
        {
          MwSchemaEntry *e = g_ptr_array_index (schema, i);

          if (!g_str_equal (e->type, "table") &&
              !create_object (NULL, out, e->type, e->name, e->sql, report, error))
            return FALSE;
        }
    }
  else if (!create_objects (in, out, FALSE, report, error))
    return FALSE;
  return mw_salvage_exec (out, "PRAGMA journal_mode = DELETE", error);
}
