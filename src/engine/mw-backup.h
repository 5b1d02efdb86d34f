/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mw-migration-set.h"
#include "mw-progress.h"

G_BEGIN_DECLS

typedef enum
{
  MW_BACKUP_REASON_PRE_MIGRATION,
  MW_BACKUP_REASON_PRE_RESTORE,
  MW_BACKUP_REASON_PRE_FRESH,
  MW_BACKUP_REASON_PRE_REPAIR,
  MW_BACKUP_REASON_PRE_ADOPT,
  MW_BACKUP_REASON_MANUAL,
} MwBackupReason;

#define MW_N_BACKUP_REASONS (MW_BACKUP_REASON_MANUAL + 1)

/**
 * MwBackup:
 *
 * A backup and what its JSON sidecar records about it.
 */
typedef struct
{
  char           *path;
  char           *sidecar_path;
  GDateTime      *created;
  MwBackupReason  reason;
  char           *source;
  goffset         size;
  char           *sha256;
  char           *level_tag;       /* (nullable) the newest applied migration */
  guint           level_count;     /* rows in __drizzle_migrations */
  char           *sqlite_version;
  gboolean        verified;        /* checked when made, and its file still matches */
  char           *problem;         /* (nullable) why it is not verified (any more) */
  char           *holds_set;       /* (nullable) the set kept aside that it was made of */
  char           *holds_set_sha256; /* (nullable) that set's mw_set_digest() as it was moved */

  /*< private >*/
  gatomicrefcount ref_count;
} MwBackup;

#define MW_TYPE_BACKUP (mw_backup_get_type ())

GType           mw_backup_get_type          (void) G_GNUC_CONST;
MwBackup       *mw_backup_ref               (MwBackup             *self);
void            mw_backup_unref             (MwBackup             *self);

char           *mw_backup_default_dir       (const char           *database_path);
MwBackup       *mw_backup_create            (const char           *database_path,
                                             const char           *backup_dir,
                                             MwBackupReason        reason,
                                             MwMigrationSet       *set,
                                             MwProgress           *progress,
                                             GCancellable         *cancellable,
                                             GError              **error);
void            mw_backup_create_async      (const char           *database_path,
                                             const char           *backup_dir,
                                             MwBackupReason        reason,
                                             MwMigrationSet       *set,
                                             MwProgress           *progress,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
MwBackup       *mw_backup_create_finish     (GAsyncResult         *result,
                                             GError              **error);
GPtrArray      *mw_backup_list              (const char           *backup_dir,
                                             GError              **error);
gboolean        mw_backup_verify            (MwBackup             *self,
                                             MwProgress           *progress,
                                             GCancellable         *cancellable,
                                             GError              **error);
void            mw_backup_to_json           (MwBackup             *self,
                                             JsonBuilder          *builder);
const char     *mw_backup_reason_to_string  (MwBackupReason        reason);
gboolean        mw_backup_reason_from_string (const char          *text,
                                             MwBackupReason       *reason);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwBackup, mw_backup_unref)

G_END_DECLS
