/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "mw-backup.h"
#include "mw-migration-set.h"
#include "mw-progress.h"

G_BEGIN_DECLS

char           *mw_operation_recover      (const char      *database_path,
                                           GError         **error);

gboolean        mw_fresh_start            (const char      *database_path,
                                           const char      *backup_dir,
                                           MwMigrationSet  *set,
                                           MwProgress      *progress,
                                           GCancellable    *cancellable,
                                           char           **out_aside,
                                           GError         **error);
char           *mw_operation_journal_path (const char      *database_path);
gboolean        mw_repair_swap            (const char      *database_path,
                                           const char      *repaired_path,
                                           char           **out_aside,
                                           GError         **error);
gboolean        mw_adopt_swap             (const char      *database_path,
                                           const char      *adopted_path,
                                           char           **out_aside,
                                           GError         **error);

void            mw_restore_async          (const char          *database_path,
                                           MwBackup            *backup,
                                           const char          *backup_dir,
                                           MwMigrationSet      *set,
                                           MwProgress          *progress,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
void            mw_fresh_start_async      (const char          *database_path,
                                           const char          *backup_dir,
                                           MwMigrationSet      *set,
                                           MwProgress          *progress,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
void            mw_repair_swap_async      (const char          *database_path,
                                           const char          *repaired_path,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean        mw_restore_finish         (GAsyncResult        *result,
                                           char               **out_aside,
                                           GError             **error);
gboolean        mw_fresh_start_finish     (GAsyncResult        *result,
                                           char               **out_aside,
                                           GError             **error);
gboolean        mw_repair_swap_finish     (GAsyncResult        *result,
                                           char               **out_aside,
                                           GError             **error);

G_END_DECLS
