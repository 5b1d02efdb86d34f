/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mw-migration-set.h"
#include "mw-progress.h"

G_BEGIN_DECLS

typedef enum
{
  MW_REPAIR_COPY,      /* no damage found: a clean copy (VACUUM INTO) */
  MW_REPAIR_REINDEX,   /* only indexes were damaged: rebuilt from the tables */
  MW_REPAIR_VACUUM,    /* structure damaged, every table readable: rewritten */
  MW_REPAIR_SALVAGE,   /* tables damaged: every row still readable copied out */
} MwRepairStrategy;

/* Where the list of tables of the repaired copy came from. */
typedef enum
{
  MW_REPAIR_SCHEMA_DATABASE,    /* SQLite read it from the damaged database */
  MW_REPAIR_SCHEMA_PAGES,       /* rebuilt from its own records on the pages left */
  MW_REPAIR_SCHEMA_BACKUP,      /* the newest verified backup's */
  MW_REPAIR_SCHEMA_MIGRATIONS,  /* the app's migrations, at schema_level */
} MwRepairSchemaSource;

/* What happened to one table. */
typedef struct
{
  char   *name;
  gint64  rows_before;   /* -1: unknown (the damaged table cannot be counted) */
  gint64  recovered;
  gint64  lost;          /* -1: unknown */
  gint64  orphaned;      /* recovered rows whose parent row is missing (kept) */
  char   *note;          /* (nullable) */
  gboolean absent;       /* not in the repaired copy (could not be created): all lost */
  /* When the lost rows were made, from the rows recovered on either side of each
   * damaged stretch (its time column: created_at…); either may be %NULL: unknown. */
  GDateTime *lost_after;
  GDateTime *lost_before;
} MwRepairTable;

typedef struct
{
  MwRepairStrategy  strategy;
  char             *database_path;
  char             *repaired_path;    /* the repaired copy, beside the database */
  char             *backup_path;      /* the pre-repair backup (or raw copy) */
  char             *damage;           /* what the checks found */
  GPtrArray        *tables;           /* (element-type MwRepairTable) */
  GPtrArray        *orphans;          /* (element-type utf8) "child → parent: N" */
  GPtrArray        *problems;         /* (element-type utf8) indexes, views… not recreated */
  gint64            recovered;
  gint64            lost;             /* -1: unknown */
  gint64            lost_and_found;   /* rows whose table could not be told */
  MwRepairSchemaSource schema_source;
  char             *schema_level;     /* (nullable) the migration whose schema was used */
  gboolean          schema_level_from_history;  /* told by the history rows found */

  /*< private >*/
  gatomicrefcount   ref_count;
  GHashTable       *expected;         /* name → type: what the copy must hold */
} MwRepairReport;

#define MW_TYPE_REPAIR_REPORT (mw_repair_report_get_type ())

GType            mw_repair_report_get_type    (void) G_GNUC_CONST;
MwRepairReport  *mw_repair_report_ref         (MwRepairReport       *self);
void             mw_repair_report_unref       (MwRepairReport       *self);
void             mw_repair_report_to_json     (MwRepairReport       *self,
                                               JsonBuilder          *builder);
char            *mw_repair_report_to_text     (MwRepairReport       *self);
const char      *mw_repair_strategy_to_string (MwRepairStrategy      strategy);
const char      *mw_repair_schema_source_to_string (MwRepairSchemaSource source);

MwRepairReport  *mw_repair                    (const char           *database_path,
                                               const char           *backup_dir,
                                               MwMigrationSet       *set,
                                               MwProgress           *progress,
                                               GCancellable         *cancellable,
                                               GError              **error);
void             mw_repair_async              (const char           *database_path,
                                               const char           *backup_dir,
                                               MwMigrationSet       *set,
                                               MwProgress           *progress,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
MwRepairReport  *mw_repair_finish             (GAsyncResult         *result,
                                               GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwRepairReport, mw_repair_report_unref)

G_END_DECLS
