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
#include "mw-pager-private.h"
#include "mw-repair.h"

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
 *      __drizzle_migrations is a table like the others, so the migration level is kept;
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

static char *
quote_identifier (const char *name)
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

static gboolean
exec (sqlite3     *db,
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

static gint64
query_int (sqlite3    *db,
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
static void
fix_header_size (const char     *work_path,
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
      g_autofree char *name = quote_identifier ((const char *) sqlite3_column_text (stmt, 0));
      g_autofree char *table = quote_identifier ((const char *) sqlite3_column_text (stmt, 1));

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

/* Rows on table leaf pages that no readable b-tree reaches (under a zeroed root or
 * interior page): into their table when exactly one damaged table has that many
 * columns, else into lost_and_found with the page, the cell and every field. Rows
 * already recovered (same rowid) are not copied twice. */
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

static void
recover_orphan_leaves (const char     *work_path,
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
      g_autofree char *q = quote_identifier (t->name);
      g_autofree char *info = g_strdup_printf ("SELECT count(*) FROM pragma_table_info(%s)", q);
      g_autoptr(GString) columns = g_string_new (NULL);
      g_autoptr(GString) params = g_string_new ("?");
      g_autofree char *insert_sql = NULL;
      Target *target;
      gint64 n;

      if (t->lost == 0)
        continue;
      n = query_int (out, info, 0);
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
              g_autofree char *c = quote_identifier ((const char *) sqlite3_column_text (stmt, 0));

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
      exec (out, create->str, NULL);
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

/* ---- salvage ------------------------------------------------------------------------ */

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
  g_autofree char *q = quote_identifier (t->name);
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
        g_autofree char *c = quote_identifier ((const char *) sqlite3_column_text (info, 1));

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

/* One row of sqlite_schema, recovered without SQLite. */
typedef struct
{
  char    *type;
  char    *name;
  char    *sql;
  guint32  root;
} SchemaEntry;

static void
schema_entry_free (SchemaEntry *e)
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
  SchemaEntry *e;

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
  e = g_new0 (SchemaEntry, 1);
  e->type = g_steal_pointer (&kind);
  e->name = g_steal_pointer (&name);
  e->sql = g_steal_pointer (&sql);
  e->root = root->integer > 0 && root->integer <= ctx->n_pages ? (guint32) root->integer : 0;
  g_ptr_array_add (ctx->entries, e);
}

/* sqlite_schema's rows are records of (type, name, tbl_name, rootpage, sql): when page
 * 1 is damaged, its leaf pages still hold them, with each table's root page. */
static GPtrArray *
schema_from_pages (const char *work_path)
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
static GPtrArray *
schema_from_backup (const char *backup_dir)
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
            SchemaEntry *e = g_new0 (SchemaEntry, 1);

            e->type = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
            e->name = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
            e->sql = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
            g_ptr_array_add (entries, e);
          }
      sqlite3_finalize (stmt);
    }
  return entries;
}

static gboolean
salvage (const char      *work_path,
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
  /* Lets SQLite load a schema with a bad entry (an index whose root page is gone)
   * instead of refusing every table; this connection only ever reads. */
  exec (in, "PRAGMA writable_schema = ON", NULL);
  out = mw_db_open (repaired_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 5000, error);
  if (out == NULL)
    return FALSE;
  sqlite3_db_config (out, SQLITE_DBCONFIG_ENABLE_FKEY, 0, NULL);
  {
    g_autofree char *page_size = g_strdup_printf ("PRAGMA page_size = %" G_GINT64_FORMAT,
                                                  query_int (in, "PRAGMA page_size", 4096));
    exec (out, page_size, NULL);
  }
  if (!exec (out, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF", error))
    return FALSE;

  create_objects (in, out, TRUE, report);
  if (report->tables->len == 0)
    {
      /* SQLite cannot read the list of tables: rebuild it from the schema's own leaf
       * pages, else take it from the newest verified backup; the rows are then read
       * page by page. */
      schema = schema_from_pages (work_path);
      if (schema->len > 0)
        g_ptr_array_add (report->problems,
                         g_strdup (_("The list of tables was damaged; it was rebuilt from the "
                                     "pages that still held it.")));
      else
        {
          g_ptr_array_unref (schema);
          schema = schema_from_backup (backup_dir);
          if (schema->len > 0)
            g_ptr_array_add (report->problems,
                             g_strdup (_("The list of tables was lost; the tables were recreated "
                                         "as the newest backup has them.")));
        }
      roots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      for (guint i = 0; i < schema->len; i++)
        {
          SchemaEntry *e = g_ptr_array_index (schema, i);
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

  if (!exec (out, "BEGIN", error))
    return FALSE;
  for (guint i = 0; roots == NULL && i < report->tables->len; i++)
    {
      MwRepairTable *t = g_ptr_array_index (report->tables, i);
      g_autofree char *q = quote_identifier (t->name);
      g_autofree char *count = g_strdup_printf ("SELECT count(*) FROM %s", q);

      if (progress != NULL)
        {
          g_autofree char *message = g_strdup_printf (_("Recovering %s"), t->name);

          mw_progress_update (progress, 0.1 + 0.8 * i / report->tables->len, message);
        }
      t->rows_before = query_int (in, count, -1);
      if (!salvage_table (in, out, t, cancellable, error))
        {
          exec (out, "ROLLBACK", NULL);
          return FALSE;
        }
      if (t->rows_before >= 0)
        t->lost = MAX (t->rows_before - t->recovered, 0);
    }
  /* Rows under a damaged root or interior page: the page-level reader. */
  if (progress != NULL)
    mw_progress_update (progress, 0.9, _("Looking for rows on pages no table reaches"));
  recover_orphan_leaves (work_path, in, out, report, roots);
  if (!exec (out, "COMMIT", error))
    return FALSE;

  if (schema != NULL)
    for (guint i = 0; i < schema->len; i++)
      {
        SchemaEntry *e = g_ptr_array_index (schema, i);
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
  return exec (out, "PRAGMA journal_mode = DELETE", error);
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
          g_autofree char *q = quote_identifier ((const char *) sqlite3_column_text (stmt, 0));
          g_autofree char *count = g_strdup_printf ("SELECT count(*) FROM %s", q);

          t->name = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
          t->recovered = query_int (result, count, 0);
          t->rows_before = work ? query_int (work, count, -1) : -1;
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

static gboolean
vacuum_into (sqlite3     *db,
             const char  *path,
             GError     **error)
{
  g_autoptr(GString) escaped = g_string_new (path);
  g_autofree char *sql = NULL;

  g_string_replace (escaped, "'", "''", 0);
  sql = g_strdup_printf ("VACUUM INTO '%s'", escaped->str);
  return exec (db, sql, error);
}

/* Index-only damage: REINDEX would first have to free the damaged index's pages and
 * trips on them; instead the damaged indexes are dropped from the work copy's schema
 * alone (their pages left unreachable), the rest is written out with VACUUM INTO, and
 * the indexes are built again, from their tables, in the new file. */
static gboolean
rebuild_indexes (sqlite3        *work,
                 const char     *repaired_path,
                 GPtrArray      *damaged,
                 MwRepairReport *report)
{
  g_autoptr(GPtrArray) creates = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(sqlite3) out = NULL;

  if (exec (work, "REINDEX", NULL) &&
      query_int (work, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check "
                       "<> 'ok'", 1) == 0)
    return vacuum_into (work, repaired_path, NULL);

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
  if (!exec (work, "PRAGMA writable_schema = ON", NULL))
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
  exec (work, "PRAGMA writable_schema = OFF", NULL);
  /* The schema changed under this connection: reopen-free way to reload it. */
  exec (work, "PRAGMA schema_version", NULL);
  if (!vacuum_into (work, repaired_path, NULL))
    return FALSE;

  out = mw_db_open (repaired_path, SQLITE_OPEN_READWRITE, 5000, NULL);
  if (out == NULL)
    return FALSE;
  for (guint i = 0; i < creates->len; i++)
    {
      char *message = NULL;

      if (sqlite3_exec (out, g_ptr_array_index (creates, i), NULL, NULL, &message) != SQLITE_OK)
        {
          g_ptr_array_add (report->problems,
                           g_strdup_printf (_("An index could not be rebuilt: %s"), message));
          sqlite3_free (message);
        }
    }
  return TRUE;
}

/**
 * mw_repair:
 * @backup_dir: (nullable): where the copy of the damaged set goes first
 *   (default: backups/ beside the database)
 *
 * Makes a repaired copy of the database beside it, never changing the original.
 * Nothing is swapped: see mw_repair_swap().
 *
 * Returns: (transfer full): what was recovered and lost, table by table; %NULL with
 *   @error set when nothing could be recovered
 */
MwRepairReport *
mw_repair (const char    *database_path,
           const char    *backup_dir,
           MwProgress    *progress,
           GCancellable  *cancellable,
           GError       **error)
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
  fix_header_size (work_path, report);

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
  damage = classify (work, &damage_text, damaged_indexes);
  report->damage = damage_text;
  report->repaired_path = unique_repaired_path (database_path);

  /* 3. From light to strong. */
  if (damage == DAMAGE_INDEXES)
    {
      report->strategy = MW_REPAIR_REINDEX;
      ok = rebuild_indexes (work, report->repaired_path, damaged_indexes, report);
    }
  else if (damage != DAMAGE_TABLES)
    {
      report->strategy = damage == DAMAGE_NONE ? MW_REPAIR_COPY : MW_REPAIR_VACUUM;
      ok = vacuum_into (work, report->repaired_path, NULL);
    }
  else
    {
      /* Tables damaged: VACUUM INTO only if every row still reads. */
      report->strategy = MW_REPAIR_VACUUM;
      ok = vacuum_into (work, report->repaired_path, NULL);
    }

  if (!ok)
    {
      remove_set (report->repaired_path);
      report->strategy = MW_REPAIR_SALVAGE;
      g_clear_pointer (&work, mw_db_close);
      if (!salvage (work_path, report->repaired_path, dir, report, progress, cancellable, error))
        goto out;
      work = mw_db_open (work_path, SQLITE_OPEN_READONLY, 5000, NULL);
    }

  /* 4. What the result holds; orphans listed, kept; it must be sound. */
  if (progress != NULL)
    mw_progress_update (progress, 0.95, _("Checking the repaired database"));
  result = mw_db_open (report->repaired_path, SQLITE_OPEN_READWRITE, 5000, error);
  if (result == NULL)
    goto out;
  count_result (result, report, report->strategy == MW_REPAIR_SALVAGE ? NULL : work);
  find_orphans (result, report);
  if (query_int (result, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check "
                         "<> 'ok'", 1) != 0)
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
  char       *database_path;
  char       *backup_dir;
  MwProgress *progress;
} RepairData;

static void
repair_data_free (RepairData *data)
{
  g_free (data->database_path);
  g_free (data->backup_dir);
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
  report = mw_repair (data->database_path, data->backup_dir, data->progress,
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
                 MwProgress          *progress,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  RepairData *data = g_new0 (RepairData, 1);

  data->database_path = g_strdup (database_path);
  data->backup_dir = g_strdup (backup_dir);
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
 *   before, recovered, lost and orphaned, then what could not be recreated
 */
char *
mw_repair_report_to_text (MwRepairReport *self)
{
  GString *out = g_string_new (NULL);
  g_autofree char *lost = count_text (self->lost);

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
  for (guint i = 0; i < self->problems->len; i++)
    g_string_append_printf (out, "%s\n", (const char *) g_ptr_array_index (self->problems, i));
  return g_string_free (out, FALSE);
}
