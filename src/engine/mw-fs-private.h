/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "mw-page-record-private.h"
#include "mw-progress.h"
/* Still here for the files that found it in this header. */
#include "mw-thread-private.h"

G_BEGIN_DECLS

/* How big a file the wizard reads whole may be: its own JSON (journal, sidecars),
 * drizzle's journal, one migration's SQL. */
#define MW_FS_MAX_OWN_JSON      (1024 * 1024)
#define MW_FS_MAX_JOURNAL_JSON  (16 * 1024 * 1024)
#define MW_FS_MAX_MIGRATION_SQL (64 * 1024 * 1024)

/* File-level helpers shared by backups, restore, fresh start and repair: durable
 * files and database sets. Implemented in mw-fs.c. */

/* A database set: the database and the files SQLite keeps beside it, by the suffix
 * added to the database's path ("" for the database itself). */
#define MW_N_SET_SUFFIXES 4
/* Hidden: the engine is linked into both the program and the window's module, and
 * two exported copies of one global are an ODR violation (AddressSanitizer). */
G_GNUC_INTERNAL extern const char * const mw_set_suffixes[MW_N_SET_SUFFIXES];

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
char     *mw_sha256_of_bytes     (const guint8  *data,
                                  gsize          size,
                                  MwBytesFunc    on_bytes,
                                  gpointer       user_data,
                                  GCancellable  *cancellable,
                                  GError       **error);
/* How much of a database a copy or its check maps into memory: up to SQLite's own
 * limit for a build that has not raised it (2 GiB - 64 KiB). */
#define MW_COPY_MMAP_BYTES 2147418112
/* Told a long task's fraction done, 0…1 (any thread). */
typedef void (*MwFractionFunc) (double   fraction,
                                gpointer user_data);
gboolean  mw_copy_through_sqlite_full (sqlite3         *src,
                                       const char      *dst_path,
                                       MwPageRecord    *record,
                                       MwFractionFunc   on_fraction,
                                       gpointer         user_data,
                                       GCancellable    *cancellable,
                                       int             *out_pages,
                                       GError         **error);
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
void      mw_remove_set          (const char    *tmp);
gboolean  mw_copy_set            (const char    *from_path,
                                  const char    *to_path,
                                  GError       **error);
char     *mw_raw_copy_set        (const char    *database_path,
                                  const char    *backup_dir,
                                  GError       **error);

/* Safe files: what the wizard reads or creates of its own is never reached through a
 * symlink, never a FIFO or a device, and bounded in size. */
int       mw_engine_error_from_errno (int         errsv);
void      mw_fs_set_error        (GError       **error,
                                  int            errsv,
                                  const char    *format,
                                  ...) G_GNUC_PRINTF (3, 4);
gboolean  mw_fs_lexists          (const char    *path);
int       mw_fs_open_regular     (const char    *path,
                                  gboolean       follow,
                                  goffset        max_size,
                                  GStatBuf      *out_st,
                                  GError       **error);
char     *mw_fs_read_regular     (const char    *path,
                                  const char    *within,
                                  gsize          max_size,
                                  gsize         *out_len,
                                  GError       **error);
int       mw_fs_create_exclusive (const char    *path,
                                  int            mode,
                                  GError       **error);
gboolean  mw_fs_write_atomic     (const char    *path,
                                  const char    *data,
                                  gsize          len,
                                  int            mode,
                                  GError       **error);
gboolean  mw_fs_private_dir      (const char    *dir,
                                  GError       **error);
gboolean  mw_fs_copy_mode        (const char    *reference,
                                  const char    *path,
                                  GError       **error);
gboolean  mw_fs_check_database_file (const char *path,
                                  GError       **error);

/* Whole sets, as bytes. */
char     *mw_set_digest          (const char    *database_path,
                                  GError       **error);
char     *mw_set_sqlite_would_modify (const char *database_path);
char     *mw_set_find_raw_copy   (const char    *backup_dir,
                                  const char    *database_path,
                                  const char    *digest);
gboolean  mw_set_protect         (const char    *database_path,
                                  const char    *backup_dir,
                                  char         **out_copy,
                                  GError       **error);
char     *mw_set_copy_for_reading (const char   *database_path,
                                  char         **out_dir,
                                  GError       **error);
void      mw_set_remove_copy     (const char    *copy,
                                  const char    *dir);

G_END_DECLS
