/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "mw-backup.h"
#include "mw-migration-set.h"
#include "mw-progress.h"

G_BEGIN_DECLS

gboolean        mw_restore                (const char      *database_path,
                                           MwBackup        *backup,
                                           const char      *backup_dir,
                                           MwMigrationSet  *set,
                                           MwProgress      *progress,
                                           GCancellable    *cancellable,
                                           char           **out_aside,
                                           GError         **error);
gboolean        mw_restore_after_failure  (const char      *database_path,
                                           MwBackup        *backup,
                                           MwProgress      *progress,
                                           char           **out_failed_aside,
                                           GError         **error);

G_END_DECLS
