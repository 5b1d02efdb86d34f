/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-repair"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "mw-backup.h"
#include "mw-history-private.h"
#include "mw-pager-private.h"
#include "mw-salvage-private.h"

/*
 * Salvage at the page level, where SQLite cannot help: the damaged file is read page by
 * page through mw-pager.c.
 *
 *   - a header SQLite cannot use (destroyed, or claiming pages a cut-short file lacks)
 *     is rewritten on the work copy;
 *   - table leaf pages that no readable b-tree, the free list or an overflow chain
 *     reaches (under a zeroed root or interior page) give their rows back: into their
 *     table when its column count tells it, else into lost_and_found;
 *   - when sqlite_schema cannot be read, it is rebuilt from its own leaf records (with
 *     each table's root page), else taken from the newest verified backup.
 */

/* ---- the file header ----------------------------------------------------------------- */

static guint32
get_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static void
put_be32 (guint8  *p,
          guint32  v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

/* Whether @page looks like a b-tree page of @page_size bytes (page 1: after the header). */
static gboolean
plausible_btree_page (const guint8 *page,
                      guint32       page_size,
                      guint32       pgno)
{
  guint8 type;
  guint n_cells;

  return mw_pager_page_type (page, page_size, pgno, &type, &n_cells);
}

/* The 100-byte header destroyed (garbage written over it): the page size is the one
 * for which page 1's b-tree header and the first pages parse; the rest is written as
 * SQLite writes a new database's header. The free list is unknown: none. */
static gboolean
rebuild_header (FILE           *file,
                guint8         *header,
                goffset         file_size,
                MwRepairReport *report)
{
  static const guint32 sizes[] = { 4096, 1024, 2048, 8192, 16384, 32768, 65536, 512 };
  guint32 best = 0;
  guint best_score = 0;

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree guint8 *page = g_malloc (sizes[i]);
      guint score = 0;

      if (file_size < sizes[i] || file_size % sizes[i] != 0)
        continue;
      for (guint32 pgno = 1; pgno <= 16 && (goffset) pgno * sizes[i] <= file_size; pgno++)
        {
          if (fseeko (file, (off_t) (pgno - 1) * sizes[i], SEEK_SET) != 0 ||
              fread (page, 1, sizes[i], file) != sizes[i])
            break;
          if (plausible_btree_page (page, sizes[i], pgno))
            score += pgno == 1 ? 4 : 1;
        }
      if (score > best_score)
        {
          best = sizes[i];
          best_score = score;
        }
    }
  if (best == 0 || best_score < 4)
    return FALSE;

  memset (header, 0, 100);
  memcpy (header, "SQLite format 3", 16);
  header[16] = best == 65536 ? 0 : best >> 8;
  header[17] = best == 65536 ? 1 : best & 0xff;
  header[18] = header[19] = 1;            /* rollback journal */
  header[21] = 64;
  header[22] = 32;
  header[23] = 32;
  put_be32 (header + 24, 1);              /* file change counter */
  put_be32 (header + 28, (guint32) (file_size / best));
  put_be32 (header + 40, 1);              /* schema cookie */
  put_be32 (header + 44, 4);              /* schema format */
  put_be32 (header + 56, 1);              /* UTF-8 */
  put_be32 (header + 92, 1);              /* version-valid-for = change counter */
  put_be32 (header + 96, 3040001);
  if (fseeko (file, 0, SEEK_SET) != 0 || fwrite (header, 1, 100, file) != 100)
    return FALSE;
  g_ptr_array_add (report->problems,
                   g_strdup_printf (_("The file's 100-byte header was destroyed; it was "
                                      "rebuilt (page size %u)."), best));
  return TRUE;
}

/* On the work copy only: a header SQLite cannot use is rebuilt; a file cut short (a
 * full disk, an interrupted copy) still claims its old size in the header, and SQLite
 * then refuses to read even the schema: the header is made to tell the truth, so that
 * what is left can be read. */
void
mw_salvage_pages_fix_header (const char     *work_path,
                             MwRepairReport *report)
{
  guint8 header[100];
  FILE *file = g_fopen (work_path, "r+b");
  GStatBuf st;
  MwFileHeader parsed;
  guint32 claimed, actual;

  if (file == NULL)
    return;
  if (g_stat (work_path, &st) != 0 || fread (header, 1, sizeof header, file) != sizeof header)
    {
      fclose (file);
      return;
    }
  if (!mw_pager_read_header (header, sizeof header, &parsed) &&
      !(rebuild_header (file, header, st.st_size, report) &&
        mw_pager_read_header (header, sizeof header, &parsed)))
    {
      fclose (file);
      return;
    }
  claimed = get_be32 (header + 28);
  actual = (guint32) (st.st_size / parsed.page_size);
  if (actual > 0 && claimed > actual)
    {
      put_be32 (header + 28, actual);
      if (fseek (file, 0, SEEK_SET) == 0 && fwrite (header, 1, sizeof header, file) == sizeof header)
        g_ptr_array_add (report->problems,
                         g_strdup_printf (_("The file is cut short: %u of its %u pages are "
                                            "there."), actual, claimed));
    }
  fclose (file);
}


/* ---- page level: rows SQLite cannot reach any more --------------------------------- */

typedef struct
{
  FILE         *file;
  MwFileHeader  header;
  guint32       n_pages;      /* from the file's size */
  guint8       *reached;      /* one bit per page: part of a readable b-tree, free, overflow */
} PageFile;

static gboolean
page_fetch (guint32   pgno,
            guint8   *buffer,
            gpointer  user_data)
{
  PageFile *pf = user_data;

  if (pgno == 0 || pgno > pf->n_pages ||
      fseeko (pf->file, (off_t) (pgno - 1) * pf->header.page_size, SEEK_SET) != 0)
    return FALSE;
  return fread (buffer, 1, pf->header.page_size, pf->file) == pf->header.page_size;
}

static gboolean
is_reached (PageFile *pf,
            guint32   pgno)
{
  return pgno >= 1 && pgno <= pf->n_pages && (pf->reached[(pgno - 1) / 8] & (1 << ((pgno - 1) % 8)));
}

static void
mark (PageFile *pf,
      guint32   pgno)
{
  if (pgno >= 1 && pgno <= pf->n_pages)
    pf->reached[(pgno - 1) / 8] |= 1 << ((pgno - 1) % 8);
}

/* Every page of the b-tree rooted at @root that can be reached; leaves of table trees
 * are appended to @leaves, overflow pages marked too. */
static void
walk_tree (PageFile *pf,
           guint32   root,
           GArray   *leaves)
{
  g_autoptr(GArray) stack = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) children = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autofree guint8 *page = g_malloc (pf->header.page_size);

  g_array_append_val (stack, root);
  while (stack->len > 0)
    {
      guint32 pgno = g_array_index (stack, guint32, stack->len - 1);
      guint8 type;
      guint n_cells;

      g_array_set_size (stack, stack->len - 1);
      if (pgno == 0 || pgno > pf->n_pages || is_reached (pf, pgno) || !page_fetch (pgno, page, pf) ||
          !mw_pager_page_type (page, pf->header.page_size, pgno, &type, &n_cells))
        continue;
      mark (pf, pgno);
      if (type == MW_PAGE_LEAF_TABLE)
        {
          if (leaves != NULL)
            g_array_append_val (leaves, pgno);
          for (guint c = 0; c < n_cells; c++)
            {
              gint64 rowid;
              guint64 size;
              const guint8 *local;
              gsize local_size;
              guint32 overflow;
              g_autoptr(GArray) chain = g_array_new (FALSE, FALSE, sizeof (guint32));
              g_autofree guint8 *payload = NULL;

              if (!mw_pager_leaf_cell (page, pf->header.page_size, pf->header.usable_size, pgno,
                                       c, &rowid, &size, &local, &local_size, &overflow) ||
                  overflow == 0)
                continue;
              payload = mw_pager_payload (local, local_size, size, overflow,
                                          pf->header.usable_size, pf->n_pages, page_fetch, pf,
                                          chain);
              for (guint k = 0; k < chain->len; k++)
                mark (pf, g_array_index (chain, guint32, k));
            }
          continue;
        }
      g_array_set_size (children, 0);
      if (mw_pager_children (page, pf->header.page_size, pgno, children))
        for (guint k = 0; k < children->len; k++)
          g_array_append_val (stack, g_array_index (children, guint32, k));
    }
}

static void
mark_freelist (PageFile *pf)
{
  g_autofree guint8 *page = g_malloc (pf->header.page_size);
  guint32 trunk = pf->header.freelist_trunk;
  guint32 steps = 0;

  while (trunk != 0 && trunk <= pf->n_pages && ++steps <= pf->n_pages && !is_reached (pf, trunk) &&
         page_fetch (trunk, page, pf))
    {
      guint32 n = ((guint32) page[4] << 24) | ((guint32) page[5] << 16) | ((guint32) page[6] << 8) | page[7];

      mark (pf, trunk);
      for (guint32 i = 0; i < n && 8 + 4 * (gsize) i + 4 <= pf->header.usable_size; i++)
        {
          const guint8 *p = page + 8 + 4 * i;

          mark (pf, ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3]);
        }
      trunk = ((guint32) page[0] << 24) | ((guint32) page[1] << 16) | ((guint32) page[2] << 8) | page[3];
    }
}

typedef void (*RowFunc) (guint32   pgno,
                         guint     cell,
                         gint64    rowid,
                         GArray   *values,
                         gpointer  user_data);

/* Calls @func for every row of table leaf page @pgno whose record can be decoded
 * (overflow chains followed); @page is a page-sized buffer. */
static void
for_each_row (PageFile *pf,
              guint32   pgno,
              guint8   *page,
              RowFunc   func,
              gpointer  user_data)
{
  guint8 type;
  guint n_cells;

  if (!page_fetch (pgno, page, pf) ||
      !mw_pager_page_type (page, pf->header.page_size, pgno, &type, &n_cells) ||
      type != MW_PAGE_LEAF_TABLE)
    return;
  for (guint c = 0; c < n_cells; c++)
    {
      gint64 rowid;
      guint64 size;
      const guint8 *local;
      gsize local_size;
      guint32 overflow;
      g_autofree guint8 *payload = NULL;
      g_autoptr(GArray) values = g_array_new (FALSE, TRUE, sizeof (MwValue));

      if (!mw_pager_leaf_cell (page, pf->header.page_size, pf->header.usable_size, pgno, c,
                               &rowid, &size, &local, &local_size, &overflow))
        continue;
      payload = mw_pager_payload (local, local_size, size, overflow, pf->header.usable_size,
                                  pf->n_pages, page_fetch, pf, NULL);
      if (payload != NULL && mw_pager_record (payload, size, values))
        func (pgno, c, rowid, values, user_data);
    }
}

/* Opens a file for page reading: its header must parse. */
static gboolean
page_file_open (PageFile   *pf,
                const char *path)
{
  guint8 header[100];
  GStatBuf st;

  memset (pf, 0, sizeof *pf);
  pf->file = g_fopen (path, "rb");
  if (pf->file == NULL)
    return FALSE;
  if (fread (header, 1, sizeof header, pf->file) != sizeof header ||
      !mw_pager_read_header (header, sizeof header, &pf->header) || g_stat (path, &st) != 0)
    {
      fclose (pf->file);
      pf->file = NULL;
      return FALSE;
    }
  pf->n_pages = (guint32) MIN ((guint64) st.st_size / pf->header.page_size, G_MAXUINT32 - 1);
  pf->reached = g_malloc0 (pf->n_pages / 8 + 1);
  return TRUE;
}

static void
page_file_close (PageFile *pf)
{
  g_clear_pointer (&pf->reached, g_free);
  if (pf->file != NULL)
    fclose (pf->file);
  pf->file = NULL;
}

static void
bind_values (sqlite3_stmt *stmt,
             int           first,
             GArray       *values,
             guint         n)
{
  for (guint i = 0; i < n; i++)
    {
      int at = first + (int) i;

      if (i >= values->len)
        {
          sqlite3_bind_null (stmt, at);
          continue;
        }
      {
        MwValue *v = &g_array_index (values, MwValue, i);

        switch (v->type)
          {
          case MW_VALUE_INTEGER:
            sqlite3_bind_int64 (stmt, at, v->integer);
            break;
          case MW_VALUE_FLOAT:
            sqlite3_bind_double (stmt, at, v->real);
            break;
          case MW_VALUE_TEXT:
            sqlite3_bind_text (stmt, at, (const char *) v->bytes, (int) v->n_bytes, SQLITE_TRANSIENT);
            break;
          case MW_VALUE_BLOB:
            sqlite3_bind_blob (stmt, at, v->bytes, (int) v->n_bytes, SQLITE_TRANSIENT);
            break;
          case MW_VALUE_NULL:
          default:
            sqlite3_bind_null (stmt, at);
            break;
          }
      }
    }
}

typedef struct
{
  MwRepairTable *table;
  guint          n_columns;
  int            rowid_column;  /* the INTEGER PRIMARY KEY, stored as NULL in records; -1 */
  sqlite3_stmt  *insert;        /* INSERT OR IGNORE … (rowid, columns) */
} Target;

static void
target_free (Target *t)
{
  sqlite3_finalize (t->insert);
  g_free (t);
}

static gboolean
insert_row (Target  *target,
            gint64   rowid,
            GArray  *values,
            sqlite3 *out)
{
  sqlite3_reset (target->insert);
  sqlite3_bind_int64 (target->insert, 1, rowid);
  bind_values (target->insert, 2, values, target->n_columns);
  if (target->rowid_column >= 0)
    sqlite3_bind_int64 (target->insert, 2 + target->rowid_column, rowid);
  if (sqlite3_step (target->insert) == SQLITE_DONE && sqlite3_changes (out) > 0)
    {
      target->table->recovered++;
      if (target->table->lost > 0)
        target->table->lost--;
      return TRUE;
    }
  return FALSE;
}

typedef struct
{
  Target  *target;
  sqlite3 *out;
} InsertContext;

static void
insert_row_cb (guint32   pgno,
               guint     cell,
               gint64    rowid,
               GArray   *values,
               gpointer  user_data)
{
  InsertContext *ctx = user_data;

  if (values->len <= ctx->target->n_columns)
    insert_row (ctx->target, rowid, values, ctx->out);
}

/* Where a row of an orphaned page goes: its table when exactly one table that lost
 * rows has that many columns, else lost_and_found (sized by a first pass). */
typedef struct
{
  GPtrArray      *targets;
  sqlite3        *out;
  sqlite3_stmt   *lost;
  MwRepairReport *report;
  guint           max_fields;
  gboolean        sizing;
} OrphanContext;

static void
orphan_row_cb (guint32   pgno,
               guint     cell,
               gint64    rowid,
               GArray   *values,
               gpointer  user_data)
{
  OrphanContext *ctx = user_data;
  Target *match = NULL;
  guint n_matches = 0;

  for (guint k = 0; k < ctx->targets->len; k++)
    {
      Target *t = g_ptr_array_index (ctx->targets, k);

      if (t->n_columns == values->len)
        {
          match = t;
          n_matches++;
        }
    }

  if (ctx->sizing)
    {
      if (n_matches != 1)
        ctx->max_fields = MAX (ctx->max_fields, values->len);
      return;
    }
  if (n_matches == 1)
    insert_row (match, rowid, values, ctx->out);
  else if (ctx->lost != NULL)
    {
      sqlite3_reset (ctx->lost);
      sqlite3_bind_int64 (ctx->lost, 1, pgno);
      sqlite3_bind_int64 (ctx->lost, 2, cell);
      sqlite3_bind_int64 (ctx->lost, 3, rowid);
      sqlite3_bind_int64 (ctx->lost, 4, values->len);
      bind_values (ctx->lost, 5, values, ctx->max_fields);
      if (sqlite3_step (ctx->lost) == SQLITE_DONE)
        ctx->report->lost_and_found++;
    }
}

/* Rows on table leaf pages that no readable b-tree reaches (under a zeroed root or
 * interior page): into their table when exactly one damaged table has that many
 * columns, else into lost_and_found with the page, the cell and every field. Rows
 * already recovered (same rowid) are not copied twice. @roots (table name → root page):
 * when SQLite could not read the schema, the tables to read page by page; else %NULL. */
void
mw_salvage_pages_recover_orphans (const char     *work_path,
                                  sqlite3        *in,
                                  sqlite3        *out,
                                  MwRepairReport *report,
                                  GHashTable     *roots)
{
  PageFile pf;
  g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  g_autoptr(GArray) orphans = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autofree guint8 *page = NULL;
  sqlite3_stmt *stmt = NULL;
  OrphanContext ctx = { targets, out, NULL, report, 0, TRUE };

  if (!page_file_open (&pf, work_path))
    return;
  page = g_malloc (pf.header.page_size);


  /* The tables that lost rows, and their column counts. */
  for (guint i = 0; i < report->tables->len; i++)
    {
      MwRepairTable *t = g_ptr_array_index (report->tables, i);
      g_autofree char *q = mw_db_quote_identifier (t->name);
      g_autofree char *info = g_strdup_printf ("SELECT count(*) FROM pragma_table_info(%s)", q);
      g_autoptr(GString) columns = g_string_new (NULL);
      g_autoptr(GString) params = g_string_new ("?");
      g_autofree char *insert_sql = NULL;
      Target *target;
      gint64 n;

      if (t->lost == 0)
        continue;
      n = mw_db_query_int (out, info, 0);
      if (n <= 0)
        continue;
      target = g_new0 (Target, 1);
      target->table = t;
      target->n_columns = (guint) n;
      target->rowid_column = -1;
      if (sqlite3_prepare_v2 (out, "SELECT name, pk, upper(type) = 'INTEGER', "
                                   "(SELECT count(*) FROM pragma_table_info(?1) WHERE pk > 0) "
                                   "FROM pragma_table_info(?1)", -1, &stmt, NULL) == SQLITE_OK)
        {
          int column = 0;

          sqlite3_bind_text (stmt, 1, t->name, -1, SQLITE_STATIC);
          while (sqlite3_step (stmt) == SQLITE_ROW)
            {
              g_autofree char *c =
                mw_db_quote_identifier ((const char *) sqlite3_column_text (stmt, 0));

              if (sqlite3_column_int (stmt, 1) == 1 && sqlite3_column_int (stmt, 2) &&
                  sqlite3_column_int (stmt, 3) == 1)
                target->rowid_column = column;
              g_string_append_printf (columns, ", %s", c);
              g_string_append (params, ", ?");
              column++;
            }
        }
      sqlite3_finalize (stmt);
      stmt = NULL;
      insert_sql = g_strdup_printf ("INSERT OR IGNORE INTO %s (rowid%s) VALUES (%s)", q,
                                    columns->str, params->str);
      if (sqlite3_prepare_v2 (out, insert_sql, -1, &target->insert, NULL) != SQLITE_OK)
        {
          target_free (target);
          continue;
        }
      g_ptr_array_add (targets, target);
    }

  /* What readable b-trees and the free list hold is not orphaned. When SQLite could
   * not read the schema, the tables' b-trees (roots from the schema records found on
   * the pages) are read here, page by page, into their tables. */
  walk_tree (&pf, 1, NULL);
  if (roots != NULL)
    {
      GHashTableIter iter;
      gpointer name, root;

      g_hash_table_iter_init (&iter, roots);
      while (g_hash_table_iter_next (&iter, &name, &root))
        {
          g_autoptr(GArray) leaves = g_array_new (FALSE, FALSE, sizeof (guint32));
          Target *target = NULL;

          for (guint k = 0; k < targets->len; k++)
            if (g_str_equal (((Target *) g_ptr_array_index (targets, k))->table->name, name))
              target = g_ptr_array_index (targets, k);
          walk_tree (&pf, GPOINTER_TO_UINT (root), leaves);
          for (guint k = 0; target != NULL && k < leaves->len; k++)
            {
              InsertContext insert = { target, out };

              for_each_row (&pf, g_array_index (leaves, guint32, k), page, insert_row_cb, &insert);
            }
        }
    }
  else if (sqlite3_prepare_v2 (in, "SELECT rootpage FROM sqlite_schema WHERE rootpage > 0", -1,
                               &stmt, NULL) == SQLITE_OK)
    {
      while (sqlite3_step (stmt) == SQLITE_ROW)
        walk_tree (&pf, (guint32) sqlite3_column_int64 (stmt, 0), NULL);
    }
  sqlite3_finalize (stmt);
  stmt = NULL;
  mark_freelist (&pf);

  for (guint32 pgno = 2; pgno <= pf.n_pages; pgno++)
    {
      guint8 type;
      guint n_cells;

      if (!is_reached (&pf, pgno) && page_fetch (pgno, page, &pf) &&
          mw_pager_page_type (page, pf.header.page_size, pgno, &type, &n_cells) &&
          type == MW_PAGE_LEAF_TABLE && n_cells > 0)
        g_array_append_val (orphans, pgno);
    }
  if (orphans->len == 0)
    goto done;


  /* Two passes: the widest record sizes lost_and_found. */
  for (guint i = 0; i < orphans->len; i++)
    for_each_row (&pf, g_array_index (orphans, guint32, i), page, orphan_row_cb, &ctx);
  ctx.sizing = FALSE;
  if (ctx.max_fields > 0)
    {
      g_autoptr(GString) create = g_string_new ("CREATE TABLE IF NOT EXISTS lost_and_found "
                                                "(pgno INTEGER, cell INTEGER, id INTEGER, "
                                                "nfield INTEGER");
      g_autoptr(GString) params = g_string_new ("?, ?, ?, ?");
      g_autofree char *insert = NULL;

      for (guint c = 0; c < ctx.max_fields; c++)
        {
          g_string_append_printf (create, ", c%u", c);
          g_string_append (params, ", ?");
        }
      g_string_append (create, ")");
      mw_salvage_exec (out, create->str, NULL);
      insert = g_strdup_printf ("INSERT INTO lost_and_found VALUES (%s)", params->str);
      sqlite3_prepare_v2 (out, insert, -1, &ctx.lost, NULL);
    }
  for (guint i = 0; i < orphans->len; i++)
    for_each_row (&pf, g_array_index (orphans, guint32, i), page, orphan_row_cb, &ctx);

  sqlite3_finalize (ctx.lost);
  if (report->lost_and_found > 0)
    g_ptr_array_add (report->problems,
                     g_strdup_printf (_("%lld rows whose table could not be told apart were put "
                                        "in the table lost_and_found, with their page number."),
                                      (long long) report->lost_and_found));

done:
  page_file_close (&pf);
}


/* ---- the schema, when SQLite cannot read it ---------------------------------------- */

static void
schema_entry_free (MwSchemaEntry *e)
{
  g_free (e->type);
  g_free (e->name);
  g_free (e->sql);
  g_free (e);
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

typedef struct
{
  GPtrArray *entries;
  guint32    n_pages;
} SchemaContext;

static void
schema_row_cb (guint32   pgno,
               guint     cell,
               gint64    rowid,
               GArray   *values,
               gpointer  user_data)
{
  SchemaContext *ctx = user_data;
  g_autofree char *kind = NULL, *name = NULL, *sql = NULL;
  MwValue *root;
  MwSchemaEntry *e;

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
  e = g_new0 (MwSchemaEntry, 1);
  e->type = g_steal_pointer (&kind);
  e->name = g_steal_pointer (&name);
  e->sql = g_steal_pointer (&sql);
  e->root = root->integer > 0 && root->integer <= ctx->n_pages ? (guint32) root->integer : 0;
  g_ptr_array_add (ctx->entries, e);
}

/* sqlite_schema's rows are records of (type, name, tbl_name, rootpage, sql): when page
 * 1 is damaged, its leaf pages still hold them, with each table's root page. */
GPtrArray *
mw_salvage_pages_read_schema (const char *work_path)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) schema_entry_free);
  g_autofree guint8 *page = NULL;
  SchemaContext ctx = { entries, 0 };
  PageFile pf;

  if (!page_file_open (&pf, work_path))
    return entries;
  ctx.n_pages = pf.n_pages;
  page = g_malloc (pf.header.page_size);
  for (guint32 pgno = 1; pgno <= pf.n_pages; pgno++)
    for_each_row (&pf, pgno, page, schema_row_cb, &ctx);
  page_file_close (&pf);
  return entries;
}

/* The last resort for the schema: the newest verified backup's (no root pages). */
GPtrArray *
mw_salvage_pages_schema_from_backup (const char *backup_dir)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) schema_entry_free);
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
          {
            MwSchemaEntry *e = g_new0 (MwSchemaEntry, 1);

            e->type = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
            e->name = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
            e->sql = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
            g_ptr_array_add (entries, e);
          }
      sqlite3_finalize (stmt);
    }
  return entries;
}
