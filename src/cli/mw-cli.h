/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "mw-engine.h"

G_BEGIN_DECLS

/**
 * MwCliOptions:
 *
 * Everything the command line says, parsed by the program's one option table: the
 * settings both fronts share (resolved with the configuration file), the command
 * and the options only the headless front has.
 */
typedef struct
{
  MwSettings *settings;
  char       *command;           /* (nullable): no command word */
  char       *argument;          /* (nullable): restore's BACKUP, bundle's FILE */
  char       *target;
  char       *reason;
  GStrv       maps;              /* adopt: --map OLD=NEW, TABLE.OLD=NEW */
  GStrv       values;            /* adopt: --value TABLE.COLUMN=VALUE */
  char       *since;             /* lint: the previous release's migrations folder */
  gboolean    json;
  gboolean    quiet;
  gboolean    accept_modified;
  gboolean    no_backup;
  gboolean    no_verify;
  gboolean    yes;
  gboolean    deep;
  gboolean    version;
} MwCliOptions;


MwCliOptions *mw_cli_options_parse       (int            argc,
                                          char         **argv,
                                          GError       **error);
void          mw_cli_options_free        (MwCliOptions  *options);
gboolean      mw_cli_options_want_window (MwCliOptions  *options);
int           mw_cli_run                 (MwCliOptions  *options);
int           mw_cli_run_headless        (MwCliOptions  *options);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwCliOptions, mw_cli_options_free)

G_END_DECLS
