/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "mw-backup.h"
#include "mw-config.h"
#include "mw-migration-set.h"
#include "mw-retention.h"

G_BEGIN_DECLS

/**
 * MwSettings:
 *
 * What the wizard works on and how, resolved once: the command line's options
 * first, then the configuration file, then the defaults. Both fronts read the
 * same resolved settings; neither resolves them again.
 */
typedef struct
{
  char        *database;
  MwDatabaseSource database_source; /* how the database was found (resolve sets it) */
  char        *migrations;         /* (nullable) --migrations: must exist when given */
  char        *config_migrations;  /* (nullable) from the configuration file */
  char        *backup_dir;
  char        *migrations_table;   /* (nullable) the app's migrations table (default:
                                    * drizzle's, or the one table of its shape) */
  char        *config_path;        /* (nullable) the configuration file named or found */
  int          busy_timeout_ms;    /* 0: the default */
  MwRetention  retention;          /* backups kept per reason */
  guint        keep_old_sets;      /* databases kept aside by restore / fresh start */
  gboolean     after_update;       /* launched by the app's installer */
  char        *then_run;           /* (nullable) started once the database is ready */
  gboolean     full_checks;        /* whole-database checks after an update */
  GStrv        adopt_maps;         /* (nullable) from the configuration file: map= */
  GStrv        adopt_values;       /* (nullable) from the configuration file: value= */
} MwSettings;

/* The wizard window's module entry point (it runs with the resolved settings): the
 * exit status, or MW_GUI_NO_DISPLAY when there is no display, and the program then
 * does the same job headless. */
#define MW_GUI_NO_DISPLAY (-1)
typedef int (*MwGuiRunFunc) (const MwSettings *settings);

MwSettings     *mw_settings_new             (void);
MwSettings     *mw_settings_copy            (const MwSettings  *settings);
void            mw_settings_free            (MwSettings        *settings);
gboolean        mw_settings_resolve         (MwSettings        *settings,
                                             GError           **error);
MwMigrationSet *mw_settings_load_migrations (const MwSettings  *settings,
                                             GError           **error);
char           *mw_log_path_for             (const MwSettings  *settings);
gboolean        mw_settings_run_then        (const MwSettings  *settings,
                                             GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwSettings, mw_settings_free)

G_END_DECLS
