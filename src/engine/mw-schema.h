/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "mw-migration-set.h"

G_BEGIN_DECLS

/**
 * MwSchemaObject:
 *
 * What a structural difference is about.
 */
typedef enum
{
  MW_SCHEMA_TABLE,
  MW_SCHEMA_COLUMN,
  MW_SCHEMA_INDEX,
  MW_SCHEMA_FOREIGN_KEY,
  MW_SCHEMA_CHECK,
  MW_SCHEMA_TRIGGER,
  MW_SCHEMA_VIEW,
} MwSchemaObject;

typedef enum
{
  MW_SCHEMA_DIFF_MISSING,   /* the app expects it; the database does not have it */
  MW_SCHEMA_DIFF_EXTRA,     /* the database has it; the app does not expect it */
  MW_SCHEMA_DIFF_CHANGED,   /* both have it, defined differently */
} MwSchemaDiffKind;

/* One difference, as data: which object, in which table, what was expected and what
 * the database has (normalised definitions, not SQL text). */
typedef struct
{
  MwSchemaDiffKind  kind;
  MwSchemaObject    object;
  char             *table;      /* (nullable) for triggers and views: NULL */
  char             *name;       /* the column, index, key, check, trigger or view */
  char             *expected;   /* (nullable) */
  char             *actual;     /* (nullable) */
} MwSchemaDiff;

/* A column as the database declares it (PRAGMA table_xinfo). */
typedef struct
{
  char     *name;
  char     *type;         /* declared type, as written */
  char     *default_sql;  /* (nullable) the default's expression */
  int       pk;           /* position in the primary key, 0: not part of it */
  gboolean  not_null;
  gboolean  hidden;       /* generated or hidden */
} MwSchemaColumn;

typedef struct
{
  char      *name;
  GPtrArray *columns;       /* (element-type MwSchemaColumn) in declaration order */
  gboolean   without_rowid;
  gboolean   strict;
} MwSchemaTable;

typedef struct _MwSchema MwSchema;

MwSchema            *mw_schema_read              (sqlite3             *db,
                                                  const char          *schema_name,
                                                  const char          *migrations_table,
                                                  GError             **error);
void                 mw_schema_free              (MwSchema            *self);
GPtrArray           *mw_schema_compare           (MwSchema            *expected,
                                                  MwSchema            *actual);
const MwSchemaTable *mw_schema_lookup_table      (MwSchema            *self,
                                                  const char          *name);
GPtrArray           *mw_schema_get_tables        (MwSchema            *self);
guint                mw_schema_get_n_objects     (MwSchema            *self);

void                 mw_schema_diff_free         (MwSchemaDiff        *diff);
char                *mw_schema_diff_to_text      (const MwSchemaDiff  *diff);
void                 mw_schema_diff_to_json      (const MwSchemaDiff  *diff,
                                                  JsonBuilder         *builder);
const char          *mw_schema_object_to_string  (MwSchemaObject       object);

/**
 * MwReference:
 *
 * The schema the app expects at each level k (its migrations 0..k-1 applied), built
 * by running its own migrations on an empty in-memory database exactly as `migrate`
 * does: the truth, whatever drizzle-kit's snapshots say.
 */
typedef struct _MwReference MwReference;

MwReference         *mw_reference_build          (MwMigrationSet      *set,
                                                  GError             **error);
void                 mw_reference_free           (MwReference         *self);
guint                mw_reference_get_n_levels   (MwReference         *self);
MwSchema            *mw_reference_get_schema     (MwReference         *self,
                                                  guint                level);
guint                mw_reference_closest        (MwReference         *self,
                                                  MwSchema            *actual,
                                                  guint               *out_n_diffs,
                                                  guint               *out_first_exact);
sqlite3             *mw_reference_open_level     (MwMigrationSet      *set,
                                                  guint                level,
                                                  GError             **error);
gboolean             mw_reference_apply          (sqlite3             *db,
                                                  const MwMigration   *migration,
                                                  GError             **error);

/**
 * MwSchemaCheck:
 *
 * A database's structure against the app's schema at one level: the level its
 * history records, or without a usable history the closest one.
 */
typedef struct
{
  guint      level;        /* migrations 0..level-1 */
  guint      n_levels;     /* the reference's levels: migrations + 1 */
  guint      exact_level;  /* the lowest level that matches exactly, G_MAXUINT: none */
  guint      exact_level_high; /* the highest level with the same tables as exact_level */
  gboolean   recorded;     /* level from the history (else: the closest) */
  GPtrArray *diffs;        /* (element-type MwSchemaDiff) */
} MwSchemaCheck;

MwSchemaCheck       *mw_schema_check             (const char          *database_path,
                                                  MwMigrationSet      *set,
                                                  int                  recorded_level,
                                                  const char          *migrations_table,
                                                  GError             **error);
void                 mw_schema_check_free        (MwSchemaCheck       *check);
char                *mw_schema_check_to_text     (MwSchemaCheck       *check,
                                                  MwMigrationSet      *set);
void                 mw_schema_check_to_json     (MwSchemaCheck       *check,
                                                  MwMigrationSet      *set,
                                                  gboolean             with_diffs,
                                                  JsonBuilder         *builder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwSchemaCheck, mw_schema_check_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwSchema, mw_schema_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwSchemaDiff, mw_schema_diff_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwReference, mw_reference_free)

G_END_DECLS
