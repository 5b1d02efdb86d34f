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

MwConfig *mw_config_load              (const char  *explicit_path,
                                       GError     **error);
void      mw_config_free              (MwConfig    *config);
char     *mw_config_default_database  (void);
GStrv     mw_config_search_list       (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwConfig, mw_config_free)

G_END_DECLS
