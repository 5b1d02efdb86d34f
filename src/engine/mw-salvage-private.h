/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

#include "mw-db-private.h"
#include "mw-progress.h"
#include "mw-repair.h"

G_BEGIN_DECLS

/*
 * Salvage, the strongest strategy of Try Repair (mw-repair.c), for a database whose
 * tables no longer read in full:
 *
 *   mw-salvage.c        at the SQL level: the tables copied through SQLite, past the
 *                       pages that fail; and the SQL helpers repair and salvage share;
 *   mw-salvage-pages.c  at the page level, without SQLite (mw-pager.c): the file header,
 *                       rows no b-tree reaches any more, a schema SQLite cannot read.
 */

/* One row of sqlite_schema, recovered without SQLite. */
typedef struct
{
  char    *type;
  char    *name;
  char    *sql;
  guint32  root;    /* the b-tree's root page; 0: unknown (from a backup, or out of range) */
} MwSchemaEntry;

/* mw-salvage.c */
gboolean    mw_salvage_exec                     (sqlite3         *db,
                                                 const char      *sql,
                                                 GError         **error);
gboolean    mw_salvage                          (const char      *work_path,
                                                 const char      *repaired_path,
                                                 const char      *backup_dir,
                                                 MwRepairReport  *report,
                                                 MwProgress      *progress,
                                                 GCancellable    *cancellable,
                                                 GError         **error);

/* mw-salvage-pages.c */
void        mw_salvage_pages_fix_header         (const char      *work_path,
                                                 MwRepairReport  *report);
void        mw_salvage_pages_recover_orphans    (const char      *work_path,
                                                 sqlite3         *in,
                                                 sqlite3         *out,
                                                 MwRepairReport  *report,
                                                 GHashTable      *roots);
GPtrArray  *mw_salvage_pages_read_schema        (const char      *work_path);
GPtrArray  *mw_salvage_pages_schema_from_backup (const char      *backup_dir);

G_END_DECLS
