/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mw-backup.h"
#include "mw-migration-set.h"
#include "mw-progress.h"

G_BEGIN_DECLS

#define MW_TYPE_MIGRATOR (mw_migrator_get_type ())

G_DECLARE_FINAL_TYPE (MwMigrator, mw_migrator, MW, MIGRATOR, GObject)

MwMigrator   *mw_migrator_new                 (const char           *database_path,
                                               MwMigrationSet       *set);
void          mw_migrator_set_target          (MwMigrator           *self,
                                               const char           *tag);
void          mw_migrator_set_busy_timeout    (MwMigrator           *self,
                                               guint                 milliseconds);
void          mw_migrator_set_accept_modified (MwMigrator           *self,
                                               gboolean              accept_modified);
void          mw_migrator_set_backup          (MwMigrator           *self,
                                               gboolean              make_backup,
                                               const char           *backup_dir);
void          mw_migrator_set_verify          (MwMigrator           *self,
                                               gboolean              verify);
MwProgress   *mw_migrator_get_progress        (MwMigrator           *self);
void          mw_migrator_set_full_checks     (MwMigrator           *self,
                                               gboolean              full);
void          mw_migrator_set_restamp         (MwMigrator           *self,
                                               int                   level);
GPtrArray    *mw_migrator_get_replaced_rows   (MwMigrator           *self);
void          mw_migrator_set_progress        (MwMigrator           *self,
                                               MwProgress           *progress);

gboolean      mw_migrator_run                 (MwMigrator           *self,
                                               GCancellable         *cancellable,
                                               GError              **error);
void          mw_migrator_run_async           (MwMigrator           *self,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
gboolean      mw_migrator_run_finish          (MwMigrator           *self,
                                               GAsyncResult         *result,
                                               GError              **error);

GPtrArray    *mw_migrator_get_applied         (MwMigrator           *self);
gboolean      mw_migrator_get_table_changed   (MwMigrator           *self);
const char   *mw_migrator_get_failed_tag      (MwMigrator           *self);
guint         mw_migrator_get_failed_statement (MwMigrator          *self);
const char   *mw_migrator_get_failed_sql      (MwMigrator           *self);
GPtrArray    *mw_migrator_get_violations      (MwMigrator           *self);
MwBackup     *mw_migrator_get_backup          (MwMigrator           *self);
const char   *mw_migrator_get_failed_aside    (MwMigrator           *self);
char         *mw_migrator_failure_to_text     (MwMigrator           *self,
                                               const GError         *error,
                                               const char           *database_path);
void          mw_migrator_failure_to_json     (MwMigrator           *self,
                                               const GError         *error,
                                               JsonBuilder          *builder);

G_END_DECLS
