/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <sqlite3.h>

/* The history is read and written on connections from mw_db_open(). */
#include "mw-db-private.h"
#include "mw-diagnosis.h"
#include "mw-migration-set.h"

G_BEGIN_DECLS

/* drizzle-orm's default; an app may name another (`migrate(db, { migrationsTable })`). */
#define MW_MIGRATIONS_TABLE "__drizzle_migrations"

/* What the database says about its migrations. */
typedef struct
{
  char      *table;             /* the migrations table read (and to write) */
  gboolean   table_detected;    /* not named: the one table of drizzle's shape */
  gboolean   has_table;
  gboolean   has_name_column;   /* the v1 table layout */
  guint      n_user_tables;     /* tables other than sqlite_* and the migrations table */
  GPtrArray *rows;              /* (element-type MwAppliedRow), in insertion order */
} MwHistory;

GPtrArray   *mw_applied_rows_new       (void);
void         mw_history_clear          (MwHistory       *history);
gboolean     mw_history_read           (sqlite3         *db,
                                        const char      *table,
                                        MwHistory       *history,
                                        GError         **error);
void         mw_history_match          (MwMigrationSet  *set,
                                        MwHistory       *history,
                                        GArray          *states,
                                        GPtrArray       *unknown);
MwState      mw_history_classify       (MwMigrationSet  *set,
                                        MwHistory       *history,
                                        GArray          *states,
                                        GPtrArray       *unknown);
gboolean     mw_history_needs_table    (MwMigrationSet  *set,
                                        MwHistory       *history);
char        *mw_history_table_ddl      (const char      *table,
                                        gboolean         v1);
gboolean     mw_history_create_table   (sqlite3         *db,
                                        MwHistory       *history,
                                        gboolean         v1,
                                        GError         **error);
gboolean     mw_history_record_applied (sqlite3         *db,
                                        MwHistory       *history,
                                        const MwMigration *migration,
                                        gboolean         v1,
                                        GError         **error);
gboolean     mw_history_upgrade_to_v1  (sqlite3         *db,
                                        MwHistory       *history,
                                        GArray          *states,
                                        GError         **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MwHistory, mw_history_clear)

G_END_DECLS
