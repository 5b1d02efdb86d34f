/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-pager"

#include "config.h"

#include <string.h>

#include "mw-pager-private.h"

/*
 * The SQLite file format, read defensively. Layout (fileformat2.html):
 *
 *   page 1 starts with the 100-byte database header; every b-tree page has an 8-byte
 *   (leaf) or 12-byte (interior) page header — type, first freeblock, cell count,
 *   cell content start, fragmented bytes, [right-most child] — then a 2-byte cell
 *   pointer per cell. A table leaf cell is varint payload size, varint rowid, the
 *   first bytes of the payload, and when it does not fit, the first overflow page.
 *   An overflow page is a 4-byte next page number and usable_size - 4 bytes of data.
 *
 * Invariant of every function here: no byte outside [data, data + len) is read,
 * whatever the input says; a lie in the input makes the function fail.
 */

static guint32
be16 (const guint8 *p)
{
  return ((guint32) p[0] << 8) | p[1];
}

static guint32
be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/**
 * mw_pager_read_header:
 *
 * Returns: whether @data starts with a plausible database header
 */
gboolean
mw_pager_read_header (const guint8 *data,
                      gsize         len,
                      MwFileHeader *header)
{
  guint32 page_size;

  if (len < 100 || memcmp (data, "SQLite format 3", 16) != 0)
    return FALSE;
  page_size = be16 (data + 16);
  if (page_size == 1)
    page_size = 65536;
  if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0)
    return FALSE;
  if (data[20] > page_size - 480)
    return FALSE;
  header->page_size = page_size;
  header->usable_size = page_size - data[20];
  header->page_count = be32 (data + 28);
  header->freelist_trunk = be32 (data + 32);
  header->freelist_count = be32 (data + 36);
  header->text_encoding = be32 (data + 56);
  return TRUE;
}

/**
 * mw_pager_varint:
 *
 * Returns: the number of bytes the varint at @data takes (1 to 9), 0 if it runs
 *   past @len
 */
gsize
mw_pager_varint (const guint8 *data,
                 gsize         len,
                 guint64      *value)
{
  guint64 v = 0;

  for (gsize i = 0; i < 9; i++)
    {
      if (i >= len)
        return 0;
      if (i == 8)
        {
          v = (v << 8) | data[i];
          *value = v;
          return 9;
        }
      v = (v << 7) | (data[i] & 0x7f);
      if ((data[i] & 0x80) == 0)
        {
          *value = v;
          return i + 1;
        }
    }
  return 0;
}

static gsize
header_offset (guint32 pgno)
{
  return pgno == 1 ? 100 : 0;
}

/**
 * mw_pager_page_type:
 *
 * Returns: whether the page holds a b-tree page header whose cell pointer array fits
 */
gboolean
mw_pager_page_type (const guint8 *page,
                    gsize         page_size,
                    guint32       pgno,
                    guint8       *type,
                    guint        *n_cells)
{
  gsize off = header_offset (pgno);
  gsize header_size;
  guint32 cells;

  if (page_size < off + 12)
    return FALSE;
  *type = page[off];
  if (*type != MW_PAGE_INTERIOR_INDEX && *type != MW_PAGE_INTERIOR_TABLE &&
      *type != MW_PAGE_LEAF_INDEX && *type != MW_PAGE_LEAF_TABLE)
    return FALSE;
  header_size = (*type == MW_PAGE_LEAF_INDEX || *type == MW_PAGE_LEAF_TABLE) ? 8 : 12;
  cells = be16 (page + off + 3);
  if (off + header_size + 2 * (gsize) cells > page_size)
    return FALSE;
  *n_cells = cells;
  return TRUE;
}

static gboolean
cell_offset (const guint8 *page,
             gsize         page_size,
             guint32       pgno,
             guint8        type,
             guint         cell,
             gsize        *offset)
{
  gsize off = header_offset (pgno);
  gsize header_size = (type == MW_PAGE_LEAF_INDEX || type == MW_PAGE_LEAF_TABLE) ? 8 : 12;
  gsize at = off + header_size + 2 * (gsize) cell;

  if (at + 2 > page_size)
    return FALSE;
  *offset = be16 (page + at);
  /* A cell lives after the pointer array and within the page. */
  return *offset >= off + header_size && *offset < page_size;
}

/**
 * mw_pager_children:
 * @children: (element-type guint32): the child page numbers are appended
 *
 * The pages an interior page points at (each cell's left child, then the right-most).
 */
gboolean
mw_pager_children (const guint8 *page,
                   gsize         page_size,
                   guint32       pgno,
                   GArray       *children)
{
  guint8 type;
  guint n_cells;
  gsize off = header_offset (pgno);

  if (!mw_pager_page_type (page, page_size, pgno, &type, &n_cells))
    return FALSE;
  if (type != MW_PAGE_INTERIOR_TABLE && type != MW_PAGE_INTERIOR_INDEX)
    return TRUE;
  for (guint i = 0; i < n_cells; i++)
    {
      gsize at;
      guint32 child;

      if (!cell_offset (page, page_size, pgno, type, i, &at) || at + 4 > page_size)
        return FALSE;
      child = be32 (page + at);
      g_array_append_val (children, child);
    }
  {
    guint32 right = be32 (page + off + 8);

    g_array_append_val (children, right);
  }
  return TRUE;
}

/**
 * mw_pager_leaf_cell:
 * @local: (out): the part of the payload stored on this page
 * @first_overflow: (out): 0 when the payload fits on the page
 *
 * Reads cell @cell of a table leaf page.
 */
gboolean
mw_pager_leaf_cell (const guint8  *page,
                    gsize          page_size,
                    guint32        usable_size,
                    guint32        pgno,
                    guint          cell,
                    gint64        *rowid,
                    guint64       *payload_size,
                    const guint8 **local,
                    gsize         *local_size,
                    guint32       *first_overflow)
{
  guint8 type;
  guint n_cells;
  gsize at, n;
  guint64 p, r;
  guint64 x, local_bytes;
  gsize end = MIN (page_size, usable_size);

  if (usable_size < 480 || usable_size > page_size)
    return FALSE;
  if (!mw_pager_page_type (page, page_size, pgno, &type, &n_cells) ||
      type != MW_PAGE_LEAF_TABLE || cell >= n_cells ||
      !cell_offset (page, page_size, pgno, type, cell, &at) || at >= end)
    return FALSE;

  n = mw_pager_varint (page + at, end - at, &p);
  if (n == 0)
    return FALSE;
  at += n;
  n = mw_pager_varint (page + at, end - at, &r);
  if (n == 0)
    return FALSE;
  at += n;

  x = usable_size - 35;
  if (p <= x)
    local_bytes = p;
  else
    {
      guint64 m = ((guint64) (usable_size - 12) * 32 / 255) - 23;
      guint64 k = m + ((p - m) % (usable_size - 4));

      local_bytes = k <= x ? k : m;
    }
  if (at + local_bytes > end || (local_bytes < p && at + local_bytes + 4 > end))
    return FALSE;

  *rowid = (gint64) r;
  *payload_size = p;
  *local = page + at;
  *local_size = local_bytes;
  *first_overflow = local_bytes < p ? be32 (page + at + local_bytes) : 0;
  return TRUE;
}

/**
 * mw_pager_index_cell:
 * @local: (out): the part of the payload (the index record) stored on this page
 * @first_overflow: (out): 0 when the payload fits on the page
 *
 * Reads cell @cell of an index page, leaf or interior: every cell of an index b-tree
 * holds an entry (its key columns, then the rowid of the table row).
 */
gboolean
mw_pager_index_cell (const guint8  *page,
                     gsize          page_size,
                     guint32        usable_size,
                     guint32        pgno,
                     guint          cell,
                     guint64       *payload_size,
                     const guint8 **local,
                     gsize         *local_size,
                     guint32       *first_overflow)
{
  guint8 type;
  guint n_cells;
  gsize at, n;
  guint64 p, x, local_bytes;
  gsize end = MIN (page_size, usable_size);

  if (usable_size < 480 || usable_size > page_size)
    return FALSE;
  if (!mw_pager_page_type (page, page_size, pgno, &type, &n_cells) ||
      (type != MW_PAGE_LEAF_INDEX && type != MW_PAGE_INTERIOR_INDEX) || cell >= n_cells ||
      !cell_offset (page, page_size, pgno, type, cell, &at) || at >= end)
    return FALSE;
  if (type == MW_PAGE_INTERIOR_INDEX)
    {
      if (at + 4 >= end)
        return FALSE;
      at += 4;    /* the left child */
    }

  n = mw_pager_varint (page + at, end - at, &p);
  if (n == 0)
    return FALSE;
  at += n;

  /* An index keeps less of a payload on the page than a table leaf does. */
  x = ((guint64) (usable_size - 12) * 64 / 255) - 23;
  if (p <= x)
    local_bytes = p;
  else
    {
      guint64 m = ((guint64) (usable_size - 12) * 32 / 255) - 23;
      guint64 k = m + ((p - m) % (usable_size - 4));

      local_bytes = k <= x ? k : m;
    }
  if (at + local_bytes > end || (local_bytes < p && at + local_bytes + 4 > end))
    return FALSE;

  *payload_size = p;
  *local = page + at;
  *local_size = local_bytes;
  *first_overflow = local_bytes < p ? be32 (page + at + local_bytes) : 0;
  return TRUE;
}

/**
 * mw_pager_payload:
 * @overflow_pages: (nullable) (element-type guint32): the overflow pages read are
 *   appended
 *
 * Assembles a whole payload: the local part, then the overflow chain.
 *
 * Returns: (transfer full) (nullable): @payload_size bytes, or %NULL when the chain
 *   is broken (a page missing, a loop, longer or shorter than the size says)
 */
guint8 *
mw_pager_payload (const guint8 *local,
                  gsize         local_size,
                  guint64       payload_size,
                  guint32       first_overflow,
                  guint32       usable_size,
                  guint32       page_count,
                  MwPageFetch   fetch,
                  gpointer      user_data,
                  GArray       *overflow_pages)
{
  g_autofree guint8 *payload = NULL;
  g_autofree guint8 *page = NULL;
  guint64 have = local_size;
  guint32 next = first_overflow;
  guint32 steps = 0;

  if (local_size > payload_size || usable_size < 480)
    return NULL;
  /* No payload is larger than the file could hold. */
  if (payload_size > (guint64) page_count * usable_size + local_size ||
      payload_size > G_MAXINT32)
    return NULL;
  payload = g_malloc (MAX (payload_size, 1));
  memcpy (payload, local, local_size);
  if (have < payload_size)
    page = g_malloc (65536);

  while (have < payload_size)
    {
      guint64 take;

      if (next == 0 || next > page_count || ++steps > page_count || fetch == NULL ||
          !fetch (next, page, user_data))
        return NULL;
      if (overflow_pages != NULL)
        g_array_append_val (overflow_pages, next);
      take = MIN (payload_size - have, (guint64) usable_size - 4);
      memcpy (payload + have, page + 4, take);
      have += take;
      next = be32 (page);
    }
  return g_steal_pointer (&payload);
}

/**
 * mw_pager_record:
 * @values: (element-type MwValue): the record's values are appended
 *
 * Decodes a record (header of serial types, then the values).
 */
gboolean
mw_pager_record (const guint8 *record,
                 gsize         len,
                 GArray       *values)
{
  guint64 header_size;
  gsize at, body;
  gsize n = mw_pager_varint (record, len, &header_size);

  if (n == 0 || header_size < n || header_size > len)
    return FALSE;
  at = n;
  body = header_size;
  while (at < header_size)
    {
      guint64 serial;
      MwValue v = { MW_VALUE_NULL, 0, 0.0, NULL, 0 };
      static const guint8 int_sizes[] = { 0, 1, 2, 3, 4, 6, 8 };

      n = mw_pager_varint (record + at, header_size - at, &serial);
      if (n == 0)
        return FALSE;
      at += n;

      if (serial == 0)
        v.type = MW_VALUE_NULL;
      else if (serial <= 6)
        {
          gsize size = int_sizes[serial];
          guint64 u = 0;

          if (body + size > len)
            return FALSE;
          for (gsize i = 0; i < size; i++)
            u = (u << 8) | record[body + i];
          /* Sign-extend from size bytes. */
          if (size < 8 && (u & ((guint64) 1 << (size * 8 - 1))))
            u |= ~(guint64) 0 << (size * 8);
          v.type = MW_VALUE_INTEGER;
          v.integer = (gint64) u;
          body += size;
        }
      else if (serial == 7)
        {
          guint64 u = 0;

          if (body + 8 > len)
            return FALSE;
          for (gsize i = 0; i < 8; i++)
            u = (u << 8) | record[body + i];
          memcpy (&v.real, &u, sizeof v.real);
          v.type = MW_VALUE_FLOAT;
          body += 8;
        }
      else if (serial == 8 || serial == 9)
        {
          v.type = MW_VALUE_INTEGER;
          v.integer = serial == 9;
        }
      else if (serial == 10 || serial == 11)
        return FALSE;
      else
        {
          guint64 size = (serial - (serial % 2 ? 13 : 12)) / 2;

          if (size > len || body + size > len)
            return FALSE;
          v.type = serial % 2 ? MW_VALUE_TEXT : MW_VALUE_BLOB;
          v.bytes = record + body;
          v.n_bytes = size;
          body += size;
        }
      g_array_append_val (values, v);
    }
  return TRUE;
}
