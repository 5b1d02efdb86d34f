/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

#include "mw-db-private.h"
#include "mw-migration-set.h"
#include "mw-pager-private.h"
#include "mw-progress.h"
#include "mw-repair.h"

G_BEGIN_DECLS

/*
 * Salvage, the strongest strategy of Try Repair (mw-repair.c), for a database whose
 * tables no longer read in full:
 *
 *   mw-salvage.c         at the SQL level: the tables copied through SQLite, past the
 *                        pages that fail; and the SQL helpers repair and salvage share;
 *   mw-salvage-pages.c   at the page level, without SQLite (mw-pager.c): the file header,
 *                        the b-trees and the free list, the table leaf pages nothing
 *                        reaches any more, their rows;
 *   mw-salvage-schema.c  the list of tables when SQLite cannot read it: from its own leaf
 *                        records, a verified backup, or the app's migrations (the level
 *                        told by the history rows found, or by the records' shapes);
 *   mw-salvage-shape.c   a table's shape (columns, affinities, NOT NULL, defaults, the
 *                        rowid alias, foreign keys) and whether a record can be one of
 *                        its rows;
 *   mw-salvage-place.c   where each row of a page no b-tree reaches goes: its table, told
 *                        by shape and foreign keys, else lost_and_found.
 */

/* ---- mw-salvage.c ------------------------------------------------------------------- */

gboolean    mw_salvage_exec                     (sqlite3         *db,
                                                 const char      *sql,
                                                 GError         **error);
gboolean    mw_salvage_rc_is_fatal              (int              rc);
gboolean    mw_salvage                          (const char      *work_path,
                                                 const char      *repaired_path,
                                                 const char      *backup_dir,
                                                 MwMigrationSet  *set,
                                                 MwRepairReport  *report,
                                                 MwProgress      *progress,
                                                 GCancellable    *cancellable,
                                                 GError         **error);

/* ---- mw-salvage-pages.c ------------------------------------------------------------- */

typedef struct _MwPages MwPages;

/* A b-tree (or what is left of one) that nothing reaches: its table leaf pages. */
typedef struct
{
  guint32  top;        /* its highest page found */
  GArray  *leaves;     /* (element-type guint32) in key order */
  guint64  n_cells;    /* rows on its leaves, as their headers say */
} MwLeafGroup;

typedef void (*MwRowFunc) (guint32   pgno,
                           guint     cell,
                           gint64    rowid,
                           GArray   *values,
                           gpointer  user_data);

void        mw_salvage_pages_fix_header         (const char      *work_path,
                                                 MwRepairReport  *report);
MwPages    *mw_pages_open                       (const char      *path);
void        mw_pages_free                       (MwPages         *pages);
guint32     mw_pages_get_n_pages                (MwPages         *pages);
void        mw_pages_mark                       (MwPages         *pages,
                                                 guint32          pgno);
void        mw_pages_walk                       (MwPages         *pages,
                                                 guint32          root,
                                                 GArray          *leaves);
void        mw_pages_mark_freelist              (MwPages         *pages);
GPtrArray  *mw_pages_unreached_groups           (MwPages         *pages);
void        mw_pages_for_each_row               (MwPages         *pages,
                                                 guint32          pgno,
                                                 MwRowFunc        func,
                                                 gpointer         user_data);
void        mw_pages_for_each_row_at            (MwPages         *pages,
                                                 guint32          pgno,
                                                 guint            cell,
                                                 MwRowFunc        func,
                                                 gpointer         user_data);
void        mw_pages_for_each_index_entry       (MwPages         *pages,
                                                 MwRowFunc        func,
                                                 gpointer         user_data);
GHashTable *mw_pages_group_signatures           (MwPages         *pages,
                                                 MwLeafGroup     *group);
void        mw_leaf_group_free                  (MwLeafGroup     *group);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwPages, mw_pages_free)

/* ---- mw-salvage-shape.c ------------------------------------------------------------- */

/* One foreign key of a table: child columns (by position) → parent columns (by name). */
typedef struct
{
  char    *parent;
  GArray  *columns;          /* (element-type guint) */
  GStrv    parent_columns;   /* (nullable): the parent's primary key */
} MwForeignKey;

typedef struct
{
  char       *table;
  guint       n_columns;
  GStrv       names;
  char       *affinity;      /* per column: I(nteger) T(ext) N(umeric) R(eal) B(lob) */
  guint8     *flags;         /* per column: MW_COLUMN_NOT_NULL, MW_COLUMN_DEFAULT */
  int         rowid_column;  /* the INTEGER PRIMARY KEY, stored as NULL in records; -1 */
  int         time_column;   /* when its rows were made (created_at…); -1 */
  GPtrArray  *foreign_keys;  /* (element-type MwForeignKey) */
  GPtrArray  *indexes;       /* (element-type GArray of guint): each index's columns */
} MwShape;

#define MW_COLUMN_NOT_NULL 0x01
#define MW_COLUMN_DEFAULT  0x02

/* A record's shape: one letter per field, N(ull) I(nteger) F(loat) T(ext) B(lob). */
char       *mw_signature_of                     (GArray          *values);

MwShape    *mw_shape_new                        (sqlite3         *db,
                                                 const char      *table);
void        mw_shape_free                       (MwShape         *shape);
gboolean    mw_shape_fit                        (const MwShape   *shape,
                                                 const char      *signature,
                                                 int             *out_score);
void        mw_shape_read_indexes               (MwShape         *shape,
                                                 sqlite3         *schema_db);
guint64     mw_index_key_hash                   (GArray          *values,
                                                 const guint     *columns,
                                                 guint            n_columns,
                                                 gint64           rowid);
sqlite3    *mw_schema_db_new                    (GPtrArray       *entries);
GPtrArray  *mw_shapes_of_schema                 (GPtrArray       *entries);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwShape, mw_shape_free)

/* ---- mw-salvage-schema.c ------------------------------------------------------------ */

/* One row of sqlite_schema, recovered without SQLite. */
typedef struct
{
  char    *type;
  char    *name;
  char    *sql;
  guint32  root;    /* the b-tree's root page; 0: unknown (from a backup, or out of range) */
} MwSchemaEntry;

MwSchemaEntry *mw_schema_entry_new              (const char      *type,
                                                 const char      *name,
                                                 const char      *sql,
                                                 guint32          root);
void        mw_schema_entry_free                (MwSchemaEntry   *entry);
GPtrArray  *mw_salvage_schema_from_pages        (MwPages         *pages,
                                                 GArray          *schema_pages);
GPtrArray  *mw_salvage_schema_from_backup       (const char      *backup_dir);
GPtrArray  *mw_salvage_reference_schemas        (MwMigrationSet  *set,
                                                 GError         **error);
GPtrArray  *mw_salvage_schema_recover           (MwPages         *pages,
                                                 const char      *backup_dir,
                                                 MwMigrationSet  *set,
                                                 MwRepairReport  *report);

/* ---- mw-salvage-place.c ------------------------------------------------------------- */

gboolean    mw_salvage_place                    (MwPages         *pages,
                                                 sqlite3         *out,
                                                 sqlite3         *schema_db,
                                                 GPtrArray       *candidates,
                                                 GHashTable      *roots,
                                                 MwRepairReport  *report,
                                                 GCancellable    *cancellable,
                                                 GError         **error);

G_END_DECLS
