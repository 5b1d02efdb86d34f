/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A reader of the SQLite file format (sqlite.org/fileformat2.html), for salvage: the
 * database header, b-tree pages, cells, varints, records and overflow chains. Every
 * function takes untrusted bytes and their length, and fails (returns FALSE or a
 * count of 0) rather than read outside them: it runs on damaged files and under a
 * fuzzer.
 */

#define MW_PAGE_INTERIOR_INDEX 0x02
#define MW_PAGE_INTERIOR_TABLE 0x05
#define MW_PAGE_LEAF_INDEX     0x0A
#define MW_PAGE_LEAF_TABLE     0x0D

typedef struct
{
  guint32 page_size;
  guint32 usable_size;      /* page size minus the reserved bytes at the end of each page */
  guint32 page_count;       /* as the header says (may be wrong) */
  guint32 freelist_trunk;
  guint32 freelist_count;
  guint32 text_encoding;    /* 1 UTF-8, 2 UTF-16le, 3 UTF-16be */
} MwFileHeader;

typedef enum
{
  MW_VALUE_NULL,
  MW_VALUE_INTEGER,
  MW_VALUE_FLOAT,
  MW_VALUE_TEXT,
  MW_VALUE_BLOB,
} MwValueType;

typedef struct
{
  MwValueType   type;
  gint64        integer;
  double        real;
  const guint8 *bytes;      /* TEXT and BLOB: points into the record */
  gsize         n_bytes;
} MwValue;

/* Reads page @pgno (1-based) into @buffer (page_size bytes); FALSE past the end. */
typedef gboolean (*MwPageFetch) (guint32   pgno,
                                 guint8   *buffer,
                                 gpointer  user_data);

gboolean  mw_pager_read_header    (const guint8  *data,
                                   gsize          len,
                                   MwFileHeader  *header);
gsize     mw_pager_varint         (const guint8  *data,
                                   gsize          len,
                                   guint64       *value);
gboolean  mw_pager_page_type      (const guint8  *page,
                                   gsize          page_size,
                                   guint32        pgno,
                                   guint8        *type,
                                   guint         *n_cells);
gboolean  mw_pager_children       (const guint8  *page,
                                   gsize          page_size,
                                   guint32        pgno,
                                   GArray        *children);
gboolean  mw_pager_leaf_cell      (const guint8  *page,
                                   gsize          page_size,
                                   guint32        usable_size,
                                   guint32        pgno,
                                   guint          cell,
                                   gint64        *rowid,
                                   guint64       *payload_size,
                                   const guint8 **local,
                                   gsize         *local_size,
                                   guint32       *first_overflow);
gboolean  mw_pager_index_cell     (const guint8  *page,
                                   gsize          page_size,
                                   guint32        usable_size,
                                   guint32        pgno,
                                   guint          cell,
                                   guint64       *payload_size,
                                   const guint8 **local,
                                   gsize         *local_size,
                                   guint32       *first_overflow);
guint8   *mw_pager_payload        (const guint8  *local,
                                   gsize          local_size,
                                   guint64        payload_size,
                                   guint32        first_overflow,
                                   guint32        usable_size,
                                   guint32        page_count,
                                   MwPageFetch    fetch,
                                   gpointer       user_data,
                                   GArray        *overflow_pages);
gboolean  mw_pager_record         (const guint8  *record,
                                   gsize          len,
                                   GArray        *values);

G_END_DECLS
