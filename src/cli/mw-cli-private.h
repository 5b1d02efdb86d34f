/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "mw-cli.h"

G_BEGIN_DECLS

/*
 * The run harness every long command shares: a main loop for the engine's
 * _async/_finish pair, Ctrl+C and SIGTERM as a cancel (which rolls back), and the
 * progress on one terminal line.
 */
typedef struct
{
  GMainLoop    *loop;
  GCancellable *cancellable;
  MwProgress   *progress;
  GAsyncResult *result;
  gboolean      tty;
  guint         signal_count;
  guint         sigint;
  guint         sigterm;
} MwCliRun;

void            mw_cli_run_begin        (MwCliRun      *run,
                                         MwCliOptions  *options);
GAsyncResult   *mw_cli_run_wait         (MwCliRun      *run);
void            mw_cli_run_done_cb      (GObject       *object,
                                         GAsyncResult  *result,
                                         gpointer       user_data);
void            mw_cli_run_end          (MwCliRun      *run);

void            mw_cli_print_json       (JsonBuilder   *builder);
MwMigrationSet *mw_cli_load_migrations  (MwCliOptions  *options,
                                         GError       **error);
MwDiagnosis    *mw_cli_diagnose         (MwCliOptions  *options,
                                         MwMigrationSet **out_set);
void            mw_cli_prune_backups    (MwCliOptions  *options,
                                         MwBackup      *fresh);
void            mw_cli_prune_aside      (MwCliOptions  *options);
int             mw_cli_lock_database    (MwCliOptions  *options,
                                         MwMigrationSet *set,
                                         MwInstanceLock **out_lock);

/* mw-cli-update.c: the state and the update */
int             mw_cli_cmd_status       (MwCliOptions  *options);
int             mw_cli_cmd_migrate      (MwCliOptions  *options);

/* mw-cli-backups.c: backups, restore, fresh start */
int             mw_cli_cmd_backup       (MwCliOptions  *options);
int             mw_cli_cmd_backups      (MwCliOptions  *options);
int             mw_cli_cmd_restore      (MwCliOptions  *options);
int             mw_cli_cmd_fresh        (MwCliOptions  *options);

/* mw-cli-check.c: checks, repair, support bundles */
int             mw_cli_cmd_verify       (MwCliOptions  *options);
int             mw_cli_cmd_repair       (MwCliOptions  *options);
int             mw_cli_cmd_bundle       (MwCliOptions  *options);

/* mw-cli-adopt.c: the database's tables against the app's schema; keeping the data */
int             mw_cli_cmd_schema       (MwCliOptions  *options);
int             mw_cli_cmd_adopt        (MwCliOptions  *options);
int             mw_cli_cmd_lint         (MwCliOptions  *options);

G_END_DECLS
