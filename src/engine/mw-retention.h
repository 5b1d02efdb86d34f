/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "mw-backup.h"

G_BEGIN_DECLS

/* How many backups of each reason to keep (0: the default: 10 pre-migration, 5 others). */
typedef struct
{
  guint keep[MW_N_BACKUP_REASONS];
} MwRetention;

void            mw_retention_init_defaults  (MwRetention          *retention);
GPtrArray      *mw_backup_prune             (const char           *backup_dir,
                                             const MwRetention    *retention,
                                             const char * const   *protect,
                                             GError              **error);
GPtrArray      *mw_prune_aside_sets         (const char           *database_path,
                                             const char           *backup_dir,
                                             guint                 keep,
                                             GError              **error);

G_END_DECLS
