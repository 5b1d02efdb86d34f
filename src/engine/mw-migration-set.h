/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * MwFolderFormat:
 * @MW_FOLDER_FORMAT_JOURNAL: drizzle-kit 0.x: `meta/_journal.json` + `<tag>.sql`
 * @MW_FOLDER_FORMAT_V1: drizzle-kit 1.x: one `YYYYMMDDHHMMSS_name/migration.sql` per migration
 */
typedef enum
{
  MW_FOLDER_FORMAT_JOURNAL,
  MW_FOLDER_FORMAT_V1,
} MwFolderFormat;

/**
 * MwMigration:
 *
 * One migration as drizzle-orm reads it. Owned by its #MwMigrationSet.
 */
/* A v1 folder whose name yields no time (drizzle-orm records its created_at as NULL). */
#define MW_MIGRATION_NO_TIME G_MININT64

typedef struct
{
  guint       idx;          /* position in the order drizzle-orm applies them */
  char       *tag;          /* journal tag, or v1 folder name */
  gint64      when;         /* journal "when", or the v1 folder's time (ms, UTC), or
                             * MW_MIGRATION_NO_TIME */
  char       *hash;         /* SHA-256 hex of the file, as drizzle-orm computes it */
  char       *path;         /* the .sql file */
  GPtrArray  *statements;   /* (element-type utf8): the file split as drizzle-orm splits it */
} MwMigration;

#define MW_TYPE_MIGRATION_SET (mw_migration_set_get_type ())

G_DECLARE_FINAL_TYPE (MwMigrationSet, mw_migration_set, MW, MIGRATION_SET, GObject)

MwMigrationSet    *mw_migration_set_load              (const char      *folder,
                                                       GError         **error);
const char        *mw_migration_set_get_folder        (MwMigrationSet  *self);
MwFolderFormat     mw_migration_set_get_format        (MwMigrationSet  *self);
guint              mw_migration_set_get_n_migrations  (MwMigrationSet  *self);
const MwMigration *mw_migration_set_get_migration     (MwMigrationSet  *self,
                                                       guint            idx);
const MwMigration *mw_migration_set_lookup_tag        (MwMigrationSet  *self,
                                                       const char      *tag);
gint64             mw_migration_set_get_newest_when   (MwMigrationSet  *self);
guint              mw_migration_set_get_n_statements  (MwMigrationSet  *self);
const char        *mw_migration_set_get_table         (MwMigrationSet  *self);
void               mw_migration_set_set_table         (MwMigrationSet  *self,
                                                       const char      *table);

char              *mw_migrations_locate               (const char      *explicit_folder,
                                                       const char      *configured_folder,
                                                       GError         **error);
GStrv              mw_migrations_search_list          (void);

/* Helpers shared with the tests; exposed because their rules are drizzle-orm's. */
char              *mw_sha256_hex                      (const char      *data,
                                                       gsize            len);
GPtrArray         *mw_sql_split                       (const char      *text);
gboolean           mw_sql_is_blank                    (const char      *sql);
gboolean           mw_migration_hash_differs_only_in_line_endings
                                                      (const MwMigration *migration,
                                                       const char        *hash);
gboolean           mw_v1_name_to_millis               (const char      *name,
                                                       gint64          *out_millis);
int                mw_locale_compare                  (const char      *a,
                                                       const char      *b);

G_END_DECLS
