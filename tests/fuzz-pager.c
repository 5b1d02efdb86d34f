/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the file-format reader repair relies on: any bytes, as a
 * database file, through every function of mw-pager.c — header, page types, children,
 * table leaf and index cells, overflow chains, records. No crash, no hang, no sanitizer report.
 * Built and run by tests/fuzz-pager.sh.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "mw-pager-private.h"

typedef struct
{
  const uint8_t *data;
  size_t         size;
  guint32        page_size;
} Memory;

static gboolean
fetch (guint32   pgno,
       guint8   *buffer,
       gpointer  user_data)
{
  Memory *m = user_data;
  size_t offset = (size_t) (pgno - 1) * m->page_size;

  if (pgno == 0 || offset + m->page_size > m->size)
    return FALSE;
  memcpy (buffer, m->data + offset, m->page_size);
  return TRUE;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  MwFileHeader header = { 0 };
  Memory m = { data, size, 512 };
  guint32 usable = 512;
  guint32 n_pages;
  GArray *children = g_array_new (FALSE, FALSE, sizeof (guint32));
  GArray *values = g_array_new (FALSE, TRUE, sizeof (MwValue));
  GArray *chain = g_array_new (FALSE, FALSE, sizeof (guint32));
  guint64 v;

  if (mw_pager_read_header (data, size, &header))
    {
      m.page_size = header.page_size;
      usable = header.usable_size;
    }
  mw_pager_varint (data, size, &v);
  mw_pager_record (data, size, values);

  n_pages = (guint32) MIN (size / m.page_size, 64);
  for (guint32 pgno = 1; pgno <= n_pages; pgno++)
    {
      const guint8 *page = data + (size_t) (pgno - 1) * m.page_size;
      guint8 type;
      guint n_cells;

      if (!mw_pager_page_type (page, m.page_size, pgno, &type, &n_cells))
        continue;
      g_array_set_size (children, 0);
      mw_pager_children (page, m.page_size, pgno, children);
      for (guint c = 0; c < n_cells && c < 256; c++)
        {
          gint64 rowid;
          guint64 payload_size;
          const guint8 *local;
          gsize local_size;
          guint32 overflow;
          guint8 *payload;

          if (!mw_pager_leaf_cell (page, m.page_size, usable, pgno, c, &rowid, &payload_size,
                                   &local, &local_size, &overflow) &&
              !mw_pager_index_cell (page, m.page_size, usable, pgno, c, &payload_size, &local,
                                    &local_size, &overflow))
            continue;
          g_array_set_size (chain, 0);
          payload = mw_pager_payload (local, local_size, payload_size, overflow, usable,
                                      (guint32) (size / m.page_size), fetch, &m, chain);
          if (payload != NULL)
            {
              g_array_set_size (values, 0);
              mw_pager_record (payload, payload_size, values);
              g_free (payload);
            }
        }
    }

  g_array_unref (children);
  g_array_unref (values);
  g_array_unref (chain);
  return 0;
}
