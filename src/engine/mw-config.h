/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "mw-retention.h"

G_BEGIN_DECLS

/* Settings from a configuration file; command-line options override each of them. */
typedef struct
{
  char  *path;             /* (nullable) the file they came from */
  char  *database;         /* (nullable) */
  char  *migrations;       /* (nullable) */
  char  *backup_dir;       /* (nullable) */
  char  *migrations_table; /* (nullable) migrations-table= */
  guint  busy_timeout_ms;  /* 0: the default */
  MwRetention retention;   /* backups kept per reason (keep-pre-migration=, keep-manual=, …) */
  guint  keep_old_sets;    /* moved-aside .old.* sets kept (keep-old-sets=, default 3) */
  gboolean full_checks;    /* full-checks=true: whole-database checks after an update */
  GStrv  adopt_maps;       /* (nullable) adopt: map=OLD=NEW;TABLE.OLD=NEW */
  GStrv  adopt_values;     /* (nullable) adopt: value=TABLE.COLUMN=VALUE;… */
} MwConfig;

typedef enum
{
  MW_PLATFORM_LINUX,
  MW_PLATFORM_WINDOWS,
  MW_PLATFORM_MACOS,
} MwPlatform;

/* How the database path was arrived at. */
typedef enum
{
  MW_DATABASE_SOURCE_OPTION,             /* --database (or a caller's own path) */
  MW_DATABASE_SOURCE_DEFAULT,            /* nothing found: where the app creates it */
  MW_DATABASE_SOURCE_CONFIG,             /* database= in the configuration file */
  MW_DATABASE_SOURCE_POS_DB_PATH,        /* the app's own override */
  MW_DATABASE_SOURCE_USER_DATA,          /* Electron's userData folder, "aurswift" */
  MW_DATABASE_SOURCE_NESTED_USER_DATA,   /* older versions: userData/aurswift/ */
} MwDatabaseSource;

typedef struct
{
  char             *path;
  MwDatabaseSource  source;
} MwDatabaseCandidate;

MwConfig *mw_config_load              (const char  *explicit_path,
                                       GError     **error);
void      mw_config_free              (MwConfig    *config);
char     *mw_config_default_database  (void);
char     *mw_config_find_database     (MwDatabaseSource   *source);
GPtrArray *mw_config_database_candidates (MwPlatform     platform,
                                          const char    *home,
                                          const char    *config_dir,
                                          const char    *appdata,
                                          const char    *pos_db_path);
char     *mw_config_pick_database     (GPtrArray          *candidates,
                                       MwDatabaseSource   *source);
void      mw_database_candidate_free  (MwDatabaseCandidate *candidate);
const char *mw_database_source_describe (MwDatabaseSource source);
GStrv     mw_config_search_list       (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwConfig, mw_config_free)

G_END_DECLS
