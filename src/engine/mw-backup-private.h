/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* What restoring and putting a repaired copy in place share with verified backups.
 * Implemented in mw-backup.c. */

gboolean  mw_backup_check_copy  (sqlite3     *db,
                                 const char  *path,
                                 GError     **error);

G_END_DECLS
