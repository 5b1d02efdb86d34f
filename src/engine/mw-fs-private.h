/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

#include "mw-progress.h"

G_BEGIN_DECLS

/* File-level helpers shared by backups, restore and fresh start. */

gboolean  mw_fsync_path          (const char    *path,
                                  gboolean       is_dir,
                                  GError       **error);
char     *mw_sha256_of_file      (const char    *path,
                                  GCancellable  *cancellable,
                                  GError       **error);
gboolean  mw_copy_through_sqlite (sqlite3       *src,
                                  const char    *dst_path,
                                  MwProgress    *progress,
                                  GCancellable  *cancellable,
                                  int           *out_pages,
                                  GError       **error);
gboolean  mw_copy_set            (const char    *from_path,
                                  const char    *to_path,
                                  GError       **error);
char     *mw_raw_copy_set        (const char    *database_path,
                                  const char    *backup_dir,
                                  GError       **error);

void      mw_thread_run_in_background (void);

G_END_DECLS
