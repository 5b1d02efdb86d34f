/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mw-backup.h"
#include "mw-migration-set.h"
#include "mw-progress.h"

G_BEGIN_DECLS

/**
 * MwAdoptMethod:
 * @MW_ADOPT_RESTAMP: the tables are exactly the app's at a level: the history is
 *   rewritten to that level, then the pending updates run (no row is copied)
 * @MW_ADOPT_CARRY: no level matches: a new database is built from the app's updates
 *   and every row is carried into it by table and column name
 */
typedef enum
{
  MW_ADOPT_RESTAMP,
  MW_ADOPT_CARRY,
} MwAdoptMethod;

/* Renamed tables and columns, and values for new required columns: what a
 * technician tells the carry (`--map`, `--value`, the configuration file). */
typedef struct
{
  GHashTable *tables;    /* old table → the app's table */
  GHashTable *columns;   /* "old_table.old_column" → the app's column */
  GHashTable *values;    /* "app_table.column" → an SQL literal */
} MwAdoptOptions;

/* What happened to one of the app's tables. */
typedef struct
{
  char      *table;            /* the app's table */
  char      *from;             /* (nullable) the shop's table its rows came from */
  gint64     rows_before;      /* rows in the shop's table; -1: none (a new table) */
  gint64     carried;
  gint64     rejected;         /* rows the app's constraints refused (kept in the old db) */
  gint64     replaced;         /* the app's own rows (reference data) that yielded to the shop's */
  GPtrArray *rejected_keys;    /* (element-type utf8) "key: why", the first ones */
  GPtrArray *not_carried;      /* (element-type utf8) the shop's columns the app no longer has */
  GPtrArray *defaulted;        /* (element-type utf8) the app's columns that took their default */
  char      *needs_value;      /* (nullable) a required column with no value to take */
  char      *time_column;      /* (nullable) a timestamp column, for the report in shop words */
} MwAdoptTable;

typedef struct
{
  MwAdoptMethod  method;
  guint          level;          /* restamp: the proven level; carry: the closest one */
  guint          n_levels;
  char          *database_path;
  char          *adopted_path;   /* carry: the new database beside the original */
  GPtrArray     *tables;         /* (element-type MwAdoptTable) the app's tables */
  GPtrArray     *left_behind;    /* (element-type utf8) shop tables the app has not: "name (N rows)" */
  GPtrArray     *needs_values;   /* (element-type utf8) "table.column" with no value to take */
  GPtrArray     *orphans;        /* (element-type utf8) "child → parent: N" (kept) */
  GPtrArray     *problems;       /* (element-type utf8) maps and values that could not apply */
  gint64         carried;
  gint64         rejected;
  gboolean       ready;          /* the result may be put in place */

  /*< private >*/
  gatomicrefcount ref_count;
} MwAdoptReport;

#define MW_TYPE_ADOPT_REPORT (mw_adopt_report_get_type ())

GType           mw_adopt_report_get_type   (void) G_GNUC_CONST;
MwAdoptReport  *mw_adopt_report_ref        (MwAdoptReport        *self);
void            mw_adopt_report_unref      (MwAdoptReport        *self);
char           *mw_adopt_report_to_text    (MwAdoptReport        *self);
void            mw_adopt_report_to_json    (MwAdoptReport        *self,
                                            JsonBuilder          *builder);

MwAdoptOptions *mw_adopt_options_new       (void);
void            mw_adopt_options_free      (MwAdoptOptions       *options);
gboolean        mw_adopt_options_add_map   (MwAdoptOptions       *options,
                                            const char           *mapping,
                                            GError              **error);
gboolean        mw_adopt_options_add_value (MwAdoptOptions       *options,
                                            const char           *assignment,
                                            GError              **error);

MwAdoptReport  *mw_adopt_prepare           (const char           *database_path,
                                            MwMigrationSet       *set,
                                            const MwAdoptOptions *options,
                                            MwProgress           *progress,
                                            GCancellable         *cancellable,
                                            GError              **error);
gboolean        mw_adopt_commit            (MwAdoptReport        *report,
                                            MwMigrationSet       *set,
                                            const char           *backup_dir,
                                            MwProgress           *progress,
                                            GCancellable         *cancellable,
                                            char                **out_aside,
                                            MwBackup            **out_backup,
                                            GError              **error);
void            mw_adopt_async             (const char           *database_path,
                                            MwMigrationSet       *set,
                                            const MwAdoptOptions *options,
                                            const char           *backup_dir,
                                            gboolean              commit,
                                            MwProgress           *progress,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
MwAdoptReport  *mw_adopt_finish            (GAsyncResult         *result,
                                            char                **out_aside,
                                            GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwAdoptReport, mw_adopt_report_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwAdoptOptions, mw_adopt_options_free)

G_END_DECLS
