/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

#include "mw-progress.h"
/* Still here for the files that found it in this header. */
#include "mw-thread-private.h"

G_BEGIN_DECLS

/* File-level helpers shared by backups, restore, fresh start and repair: durable
 * files and database sets. Implemented in mw-fs.c. */

/* A database set: the database and the files SQLite keeps beside it, by the suffix
 * added to the database's path ("" for the database itself). */
#define MW_N_SET_SUFFIXES 4
/* A database set: the file and its companions. Static in each user, not a global
 * symbol: the engine is linked into both the program and the window's module. */
static const char * const mw_set_suffixes[MW_N_SET_SUFFIXES] = { "", "-wal", "-shm", "-journal" };

/* Told how many bytes a long read has got through (any thread). */
typedef void (*MwBytesFunc) (gint64   bytes,
                             gpointer user_data);

gboolean  mw_fsync_path          (const char    *path,
                                  gboolean       is_dir,
                                  GError       **error);
char     *mw_sha256_of_file      (const char    *path,
                                  GCancellable  *cancellable,
                                  GError       **error);
char     *mw_sha256_of_fd        (int            fd,
                                  const char    *path,
                                  MwBytesFunc    on_bytes,
                                  gpointer       user_data,
                                  GCancellable  *cancellable,
                                  GError       **error);
gboolean  mw_copy_through_sqlite (sqlite3       *src,
                                  const char    *dst_path,
                                  MwProgress    *progress,
                                  GCancellable  *cancellable,
                                  int           *out_pages,
                                  GError       **error);

char     *mw_unique_aside        (const char    *database_path,
                                  const char    *kind);
gboolean  mw_rename              (const char    *from,
                                  const char    *to,
                                  GError       **error);
gboolean  mw_move_set_aside      (const char    *database_path,
                                  const char    *aside,
                                  GError       **error);
void      mw_settle_with_sqlite  (const char    *database_path);
void      mw_remove_set          (const char    *tmp);
gboolean  mw_copy_set            (const char    *from_path,
                                  const char    *to_path,
                                  GError       **error);
char     *mw_raw_copy_set        (const char    *database_path,
                                  const char    *backup_dir,
                                  GError       **error);

G_END_DECLS
