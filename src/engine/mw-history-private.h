/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <sqlite3.h>

/* The history is read and written on connections from mw_db_open(). */
#include "mw-db-private.h"
#include "mw-diagnosis.h"
#include "mw-migration-set.h"

G_BEGIN_DECLS

#define MW_MIGRATIONS_TABLE "__drizzle_migrations"

/* The exact DDL drizzle-orm runs, so that sqlite_schema ends up byte-for-byte the
 * same as after its own migrate(): SQLite keeps the text from the table name on. */
#define MW_MIGRATIONS_TABLE_DDL_JOURNAL \
  "CREATE TABLE IF NOT EXISTS \"__drizzle_migrations\" (\n" \
  "\t\t\t\tid SERIAL PRIMARY KEY,\n" \
  "\t\t\t\thash text NOT NULL,\n" \
  "\t\t\t\tcreated_at numeric\n" \
  "\t\t\t)\n\t\t"

#define MW_MIGRATIONS_TABLE_DDL_V1 \
  "CREATE TABLE IF NOT EXISTS \"__drizzle_migrations\" (\n" \
  "\t\t\t\tid INTEGER PRIMARY KEY,\n" \
  "\t\t\t\thash text NOT NULL,\n" \
  "\t\t\t\tcreated_at numeric,\n" \
  "\t\t\t\tname text,\n" \
  "\t\t\t\tapplied_at TEXT\n" \
  "\t\t\t)"

/* What the database says about its migrations. */
typedef struct
{
  gboolean   has_table;
  gboolean   has_name_column;   /* the v1 table layout */
  guint      n_user_tables;     /* tables other than sqlite_* and the migrations table */
  GPtrArray *rows;              /* (element-type MwAppliedRow), in insertion order */
} MwHistory;

GPtrArray   *mw_applied_rows_new       (void);
void         mw_history_clear          (MwHistory       *history);
gboolean     mw_history_read           (sqlite3         *db,
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
gboolean     mw_history_record_applied (sqlite3         *db,
                                        const MwMigration *migration,
                                        gboolean         v1,
                                        GError         **error);
gboolean     mw_history_upgrade_to_v1  (sqlite3         *db,
                                        GArray          *states,
                                        GError         **error);

G_END_DECLS
