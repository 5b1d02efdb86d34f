/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-repair"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "mw-pager-private.h"
#include "mw-salvage-private.h"

/*
 * Salvage at the page level, where SQLite cannot help: the damaged file is read page by
 * page through mw-pager.c.
 *
 *   - a header SQLite cannot use (destroyed, or claiming pages a cut-short file lacks)
 *     is rewritten on the work copy;
 *   - the pages that belong to something known are marked: readable b-trees (with
 *     their overflow chains), the free list, the schema's own pages;
 *   - the table leaf pages nothing marked reaches (under a zeroed root or interior
 *     page, or every table's when the schema is lost) are grouped by the b-tree pages
 *     still above them, one group per table or what is left of it; where their rows
 *     go is mw-salvage-place.c's business.
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

/* Whether @page looks like a b-tree page of @page_size bytes (page 1: after the header):
 * a known type, its cell pointers inside the page, its cell content area starting
 * inside it too. */
static gboolean
plausible_btree_page (const guint8 *page,
                      guint32       page_size,
                      guint32       pgno)
{
  gsize off = pgno == 1 ? 100 : 0;
  guint32 content;
  guint8 type;
  guint n_cells;

  if (!mw_pager_page_type (page, page_size, pgno, &type, &n_cells))
    return FALSE;
  content = ((guint32) page[off + 5] << 8) | page[off + 6];
  if (content == 0)
    content = 65536;
  return content <= page_size && (n_cells == 0 || content >= off + 8 + 2 * n_cells);
}

/* The 100-byte header destroyed (garbage written over it): the page size is guessed
 * from the pages. Read with a multiple of the true size, pages still start where
 * b-tree pages start; read with a fraction of it, most do not. So the smallest size
 * whose pages parse nearly as often as with the best one is it. The rest is written
 * as SQLite writes a new database's header; the free list is unknown: none. */
static gboolean
rebuild_header (FILE           *file,
                guint8         *header,
                goffset         file_size,
                MwRepairReport *report)
{
  static const guint32 sizes[] = { 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536 };
  double ratios[G_N_ELEMENTS (sizes)] = { 0 };
  double best_ratio = 0;
  guint32 best = 0;

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree guint8 *page = g_malloc (sizes[i]);
      guint probed = 0, plausible = 0;

      if (file_size < sizes[i] || file_size % sizes[i] != 0)
        continue;
      for (guint32 pgno = 1; pgno <= 64 && (goffset) pgno * sizes[i] <= file_size; pgno++)
        {
          if (fseeko (file, (off_t) (pgno - 1) * sizes[i], SEEK_SET) != 0 ||
              fread (page, 1, sizes[i], file) != sizes[i])
            break;
          probed++;
          if (plausible_btree_page (page, sizes[i], pgno))
            plausible++;
        }
      ratios[i] = probed > 0 ? (double) plausible / probed : 0;
      best_ratio = MAX (best_ratio, ratios[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (sizes) && best == 0; i++)
    if (best_ratio > 0 && ratios[i] >= 0.75 * best_ratio)
      best = sizes[i];
  if (best == 0)
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
  if (report != NULL)
    g_ptr_array_add (report->problems,
                   g_strdup_printf (_("The file's 100-byte header was destroyed; it was "
                                      "rebuilt (page size %u)."), best));
  return TRUE;
}

/* On the work copy only: a header SQLite cannot use is rebuilt; a file cut short (a
 * full disk, an interrupted copy) still claims its old size in the header, and SQLite
 * then refuses to read even the schema: the header is made to tell the truth, so that
 * what is left can be read. @report (nullable) is told what was done. */
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
      if (fseek (file, 0, SEEK_SET) == 0 && fwrite (header, 1, sizeof header, file) == sizeof header &&
          report != NULL)
        g_ptr_array_add (report->problems,
                         g_strdup_printf (_("The file is cut short: %u of its %u pages are "
                                            "there."), actual, claimed));
    }
  fclose (file);
}


/* ---- the file, page by page ---------------------------------------------------------- */

struct _MwPages
{
  FILE         *file;
  MwFileHeader  header;
  guint32       n_pages;      /* from the file's size */
  guint8       *reached;      /* one bit per page: part of a readable b-tree, free, overflow */
  guint8       *page;         /* a page-sized buffer for the row walks */
};

static gboolean
page_fetch (guint32   pgno,
            guint8   *buffer,
            gpointer  user_data)
{
  MwPages *pf = user_data;

  if (pgno == 0 || pgno > pf->n_pages ||
      fseeko (pf->file, (off_t) (pgno - 1) * pf->header.page_size, SEEK_SET) != 0)
    return FALSE;
  return fread (buffer, 1, pf->header.page_size, pf->file) == pf->header.page_size;
}

static gboolean
bit_get (const guint8 *bits,
         guint32       pgno)
{
  return (bits[(pgno - 1) / 8] & (1 << ((pgno - 1) % 8))) != 0;
}

static void
bit_set (guint8  *bits,
         guint32  pgno)
{
  bits[(pgno - 1) / 8] |= 1 << ((pgno - 1) % 8);
}

static gboolean
is_reached (MwPages *pf,
            guint32  pgno)
{
  return pgno >= 1 && pgno <= pf->n_pages && bit_get (pf->reached, pgno);
}

/**
 * mw_pages_open:
 *
 * Opens a database file for reading page by page; its header must parse.
 *
 * Returns: (transfer full) (nullable): the file, no page reached yet
 */
MwPages *
mw_pages_open (const char *path)
{
  g_autoptr(MwPages) pf = g_new0 (MwPages, 1);
  guint8 header[100];
  GStatBuf st;

  pf->file = g_fopen (path, "rb");
  if (pf->file == NULL)
    return NULL;
  if (fread (header, 1, sizeof header, pf->file) != sizeof header ||
      !mw_pager_read_header (header, sizeof header, &pf->header) || g_stat (path, &st) != 0)
    return NULL;
  pf->n_pages = (guint32) MIN ((guint64) st.st_size / pf->header.page_size, G_MAXUINT32 - 1);
  pf->reached = g_malloc0 (pf->n_pages / 8 + 1);
  pf->page = g_malloc (pf->header.page_size);
  return g_steal_pointer (&pf);
}

void
mw_pages_free (MwPages *pf)
{
  if (pf == NULL)
    return;
  g_free (pf->reached);
  g_free (pf->page);
  if (pf->file != NULL)
    fclose (pf->file);
  g_free (pf);
}

guint32
mw_pages_get_n_pages (MwPages *pf)
{
  return pf->n_pages;
}

/* A page that belongs to something known (a readable b-tree, the free list, the
 * schema's own pages): its rows are not looked for again. */
void
mw_pages_mark (MwPages *pf,
               guint32  pgno)
{
  if (pgno >= 1 && pgno <= pf->n_pages)
    bit_set (pf->reached, pgno);
}

/**
 * mw_pages_walk:
 * @leaves: (nullable) (element-type guint32): the table leaf pages are appended, in
 *   key order
 *
 * Marks every page of the b-tree rooted at @root that can be reached, overflow pages
 * included.
 */
void
mw_pages_walk (MwPages *pf,
               guint32  root,
               GArray  *leaves)
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
      mw_pages_mark (pf, pgno);
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
              g_autoptr(GArray) chain = NULL;
              g_autofree guint8 *payload = NULL;

              if (!mw_pager_leaf_cell (page, pf->header.page_size, pf->header.usable_size, pgno,
                                       c, &rowid, &size, &local, &local_size, &overflow) ||
                  overflow == 0)
                continue;
              chain = g_array_new (FALSE, FALSE, sizeof (guint32));
              payload = mw_pager_payload (local, local_size, size, overflow,
                                          pf->header.usable_size, pf->n_pages, page_fetch, pf,
                                          chain);
              for (guint k = 0; k < chain->len; k++)
                mw_pages_mark (pf, g_array_index (chain, guint32, k));
            }
          continue;
        }
      /* Children pushed right to left: popped, they come out in key order. */
      g_array_set_size (children, 0);
      if (mw_pager_children (page, pf->header.page_size, pgno, children))
        for (guint k = children->len; k > 0; k--)
          g_array_append_val (stack, g_array_index (children, guint32, k - 1));
    }
}

void
mw_pages_mark_freelist (MwPages *pf)
{
  g_autofree guint8 *page = g_malloc (pf->header.page_size);
  guint32 trunk = pf->header.freelist_trunk;
  guint32 steps = 0;

  while (trunk != 0 && trunk <= pf->n_pages && ++steps <= pf->n_pages && !is_reached (pf, trunk) &&
         page_fetch (trunk, page, pf))
    {
      guint32 n = get_be32 (page + 4);

      mw_pages_mark (pf, trunk);
      for (guint32 i = 0; i < n && 8 + 4 * (gsize) i + 4 <= pf->header.usable_size; i++)
        mw_pages_mark (pf, get_be32 (page + 8 + 4 * i));
      trunk = get_be32 (page);
    }
}

static void
for_each_cell (MwPages   *pf,
               guint32    pgno,
               gint       only_cell,
               MwRowFunc  func,
               gpointer   user_data)
{
  guint8 type;
  guint n_cells;
  guint8 *page = pf->page;

  if (!page_fetch (pgno, page, pf) ||
      !mw_pager_page_type (page, pf->header.page_size, pgno, &type, &n_cells) ||
      type != MW_PAGE_LEAF_TABLE)
    return;
  for (guint c = only_cell >= 0 ? (guint) only_cell : 0;
       c < n_cells && (only_cell < 0 || c == (guint) only_cell); c++)
    {
      gint64 rowid;
      guint64 size;
      const guint8 *local;
      gsize local_size;
      guint32 overflow;
      g_autofree guint8 *payload = NULL;
      g_autoptr(GArray) values = NULL;

      if (!mw_pager_leaf_cell (page, pf->header.page_size, pf->header.usable_size, pgno, c,
                               &rowid, &size, &local, &local_size, &overflow))
        continue;
      payload = mw_pager_payload (local, local_size, size, overflow, pf->header.usable_size,
                                  pf->n_pages, page_fetch, pf, NULL);
      values = g_array_new (FALSE, TRUE, sizeof (MwValue));
      if (payload != NULL && mw_pager_record (payload, size, values))
        func (pgno, c, rowid, values, user_data);
    }
}

/**
 * mw_pages_for_each_row:
 *
 * Calls @func for every row of table leaf page @pgno whose record can be decoded
 * (overflow chains followed). The values point into a buffer that lives only for the
 * call. Not reentrant: @func must not walk rows itself.
 */
void
mw_pages_for_each_row (MwPages   *pf,
                       guint32    pgno,
                       MwRowFunc  func,
                       gpointer   user_data)
{
  for_each_cell (pf, pgno, -1, func, user_data);
}

/* The same, for one cell of the page. */
void
mw_pages_for_each_row_at (MwPages   *pf,
                          guint32    pgno,
                          guint      cell,
                          MwRowFunc  func,
                          gpointer   user_data)
{
  for_each_cell (pf, pgno, (gint) MIN (cell, (guint) G_MAXINT), func, user_data);
}

/**
 * mw_pages_for_each_index_entry:
 *
 * Calls @func for every entry of every index page of the file (leaf or interior,
 * reached or not) whose record decodes: its key columns, then the table's rowid.
 */
void
mw_pages_for_each_index_entry (MwPages   *pf,
                               MwRowFunc  func,
                               gpointer   user_data)
{
  g_autofree guint8 *page = g_malloc (pf->header.page_size);

  for (guint32 pgno = 1; pgno <= pf->n_pages; pgno++)
    {
      guint8 type;
      guint n_cells;

      if (!page_fetch (pgno, page, pf) ||
          !mw_pager_page_type (page, pf->header.page_size, pgno, &type, &n_cells) ||
          (type != MW_PAGE_LEAF_INDEX && type != MW_PAGE_INTERIOR_INDEX))
        continue;
      for (guint c = 0; c < n_cells; c++)
        {
          guint64 size;
          const guint8 *local;
          gsize local_size;
          guint32 overflow;
          g_autofree guint8 *payload = NULL;
          g_autoptr(GArray) values = NULL;

          if (!mw_pager_index_cell (page, pf->header.page_size, pf->header.usable_size, pgno, c,
                                    &size, &local, &local_size, &overflow))
            continue;
          payload = mw_pager_payload (local, local_size, size, overflow, pf->header.usable_size,
                                      pf->n_pages, page_fetch, pf, NULL);
          values = g_array_new (FALSE, TRUE, sizeof (MwValue));
          if (payload != NULL && mw_pager_record (payload, size, values) && values->len >= 2)
            func (pgno, c, 0, values, user_data);
        }
    }
}

void
mw_leaf_group_free (MwLeafGroup *group)
{
  g_array_unref (group->leaves);
  g_free (group);
}

/**
 * mw_pages_unreached_groups:
 *
 * The table leaf pages nothing marked reaches (under a zeroed root or interior page,
 * or a schema that is lost), grouped by the b-tree pages still above them: a group
 * is one table's, or what is left of it.
 *
 * Returns: (transfer full) (element-type MwLeafGroup): the groups, biggest first
 */
GPtrArray *
mw_pages_unreached_groups (MwPages *pf)
{
  GPtrArray *groups = g_ptr_array_new_with_free_func ((GDestroyNotify) mw_leaf_group_free);
  g_autofree guint8 *types = g_malloc0 (pf->n_pages + 1);
  g_autofree guint8 *is_child = g_malloc0 (pf->n_pages / 8 + 1);
  g_autofree guint8 *taken = g_malloc0 (pf->n_pages / 8 + 1);
  g_autofree guint16 *n_cells = g_malloc0 (sizeof (guint16) * (pf->n_pages + 1));
  g_autoptr(GHashTable) children = g_hash_table_new_full (NULL, NULL, NULL,
                                                          (GDestroyNotify) g_array_unref);
  g_autoptr(GArray) stack = g_array_new (FALSE, FALSE, sizeof (guint32));
  guint8 *page = pf->page;

  /* One pass over the file: each page's kind; the children of interior table pages. */
  for (guint32 pgno = 1; pgno <= pf->n_pages; pgno++)
    {
      guint8 type;
      guint cells;

      if (is_reached (pf, pgno) || !page_fetch (pgno, page, pf) ||
          !mw_pager_page_type (page, pf->header.page_size, pgno, &type, &cells))
        continue;
      if (type == MW_PAGE_LEAF_TABLE && cells > 0)
        {
          types[pgno] = type;
          n_cells[pgno] = (guint16) MIN (cells, G_MAXUINT16);
        }
      else if (type == MW_PAGE_INTERIOR_TABLE)
        {
          GArray *kids = g_array_new (FALSE, FALSE, sizeof (guint32));

          types[pgno] = type;
          if (mw_pager_children (page, pf->header.page_size, pgno, kids))
            for (guint k = 0; k < kids->len; k++)
              {
                guint32 kid = g_array_index (kids, guint32, k);

                if (kid >= 1 && kid <= pf->n_pages && kid != pgno)
                  bit_set (is_child, kid);
              }
          g_hash_table_insert (children, GUINT_TO_POINTER (pgno), kids);
        }
    }

  /* Each page no other one points at heads a group; what is under it follows in key
   * order. Leaves only pointed at from a loop end up alone, in the last sweep. */
  for (int sweep = 0; sweep < 2; sweep++)
    for (guint32 top = 1; top <= pf->n_pages; top++)
      {
        MwLeafGroup *group;

        if (types[top] == 0 || bit_get (taken, top) || (sweep == 0 && bit_get (is_child, top)))
          continue;
        if (sweep == 1 && types[top] != MW_PAGE_LEAF_TABLE)
          continue;
        group = g_new0 (MwLeafGroup, 1);
        group->top = top;
        group->leaves = g_array_new (FALSE, FALSE, sizeof (guint32));
        g_array_set_size (stack, 0);
        g_array_append_val (stack, top);
        while (stack->len > 0)
          {
            guint32 pgno = g_array_index (stack, guint32, stack->len - 1);
            GArray *kids;

            g_array_set_size (stack, stack->len - 1);
            if (pgno == 0 || pgno > pf->n_pages || types[pgno] == 0 || bit_get (taken, pgno))
              continue;
            bit_set (taken, pgno);
            if (types[pgno] == MW_PAGE_LEAF_TABLE)
              {
                g_array_append_val (group->leaves, pgno);
                group->n_cells += n_cells[pgno];
                continue;
              }
            kids = g_hash_table_lookup (children, GUINT_TO_POINTER (pgno));
            for (guint k = kids ? kids->len : 0; k > 0; k--)
              g_array_append_val (stack, g_array_index (kids, guint32, k - 1));
          }
        if (group->leaves->len > 0)
          {
            g_debug ("unreached group: top %u, %u leaves (first %u), %" G_GUINT64_FORMAT " cells",
                     top, group->leaves->len, g_array_index (group->leaves, guint32, 0),
                     group->n_cells);
            g_ptr_array_add (groups, group);
          }
        else
          mw_leaf_group_free (group);
      }
  return groups;
}

static void
signature_cb (guint32   pgno,
              guint     cell,
              gint64    rowid,
              GArray   *values,
              gpointer  user_data)
{
  GHashTable *signatures = user_data;
  char *signature = mw_signature_of (values);
  gpointer n = g_hash_table_lookup (signatures, signature);

  g_hash_table_replace (signatures, signature, GUINT_TO_POINTER (GPOINTER_TO_UINT (n) + 1));
}

/**
 * mw_pages_group_signatures:
 *
 * The record shapes of a group, from a sample of its leaves (all of them when few):
 * one table's rows, so a few leaves tell its shapes.
 *
 * Returns: (transfer full) (element-type utf8 guint): signature → rows seen
 */
GHashTable *
mw_pages_group_signatures (MwPages     *pf,
                           MwLeafGroup *group)
{
  GHashTable *signatures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const guint samples = 8;
  guint n = group->leaves->len;

  for (guint i = 0; i < MIN (n, samples); i++)
    {
      guint at = n <= samples ? i : (guint) ((guint64) i * (n - 1) / (samples - 1));

      mw_pages_for_each_row (pf, g_array_index (group->leaves, guint32, at), signature_cb,
                             signatures);
    }
  return signatures;
}
