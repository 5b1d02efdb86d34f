/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

#include "mw-backup.h"

G_BEGIN_DECLS

/* What restoring and putting a repaired copy in place share with verified backups.
 * Implemented in mw-backup.c. */

MwBackup *mw_backup_create_locked (const char      *database_path,
                                   const char      *backup_dir,
                                   MwBackupReason   reason,
                                   MwMigrationSet  *set,
                                   MwProgress      *progress,
                                   GCancellable    *cancellable,
                                   GError         **error);
gboolean  mw_backup_check_copy  (sqlite3     *db,
                                 const char  *path,
                                 GError     **error);
gboolean  mw_backup_record_set  (MwBackup    *self,
                                 const char  *set_path,
                                 const char  *set_sha256,
                                 GError     **error);
void      mw_backup_record_aside (MwBackup   *backup,
                                 const char  *before_sha256,
                                 const char  *aside);

G_END_DECLS
