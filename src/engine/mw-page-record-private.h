/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* What SQLite wrote to a copy, page by page, to prove the copy by reading it back.
 * Implemented in mw-page-record.c. */

/* The VFS a connection must be opened with for a recorder to be attached to it. */
#define MW_PAGE_RECORD_VFS "mw-record"

typedef struct _MwPageRecord MwPageRecord;

const char   *mw_page_record_vfs     (void);
MwPageRecord *mw_page_record_new     (void);
void          mw_page_record_free    (MwPageRecord  *record);
gboolean      mw_page_record_attach  (MwPageRecord  *record,
                                      sqlite3       *db);
gboolean      mw_page_record_usable  (MwPageRecord  *record);
gboolean      mw_page_record_verify  (MwPageRecord  *record,
                                      const guint8  *data,
                                      gsize          size,
                                      const char    *path,
                                      GError       **error);
guint64       mw_page_sum            (const guint8  *data,
                                      gsize          n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwPageRecord, mw_page_record_free)

G_END_DECLS
