/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-fs"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <nettle/sha2.h>
#ifdef G_OS_UNIX
# include <unistd.h>
#else
# include <io.h>
#endif

/* Where a flag does not exist (Windows), what it guards against does not either. */
#ifndef O_NOFOLLOW
# define O_NOFOLLOW 0
#endif
#ifndef O_NONBLOCK
# define O_NONBLOCK 0
#endif
#ifndef O_NOCTTY
# define O_NOCTTY 0
#endif
#ifndef O_CLOEXEC
# define O_CLOEXEC 0
#endif
#ifdef G_OS_WIN32
# define realpath(path, resolved) _fullpath ((resolved), (path), 0)
#endif

#include "mw-db-private.h"
#include "mw-error.h"
#include "mw-fs-private.h"

/*
 * Files, durably and safely: fsync, the SHA-256 of a file (nettle's,
 * hardware-accelerated), a copy made through SQLite,
 * and database sets — a database with the -wal, -shm and -journal SQLite keeps beside
 * it, which are only ever copied, moved or removed together.
 *
 * Every file the wizard reads or creates of its own (its journal, lock, sidecars,
 * temporary databases, raw copies, the app's migrations) goes through the safe-file
 * helpers below: a file it creates is created new (O_EXCL, never through a symlink
 * planted at its name), a file it reads is opened without following a symlink and
 * without blocking (a FIFO or a device is refused, not waited on) and must be a
 * regular file of a bounded size. An I/O failure becomes an #MwEngineError by its
 * errno, once, in mw_engine_error_from_errno(), so that every front reports a full
 * disk as a full disk.
 */

#define BUSY_TIMEOUT_MS 5000
#define COPY_STEP_PAGES 1024

/* The members of a set, by the suffix added to the database's path. */
G_GNUC_INTERNAL const char * const mw_set_suffixes[MW_N_SET_SUFFIXES] = { "", "-wal", "-shm", "-journal" };

/* ---- durable files ------------------------------------------------------------------- */

/**
 * mw_fsync_path:
 * @is_dir: @path is a folder (fsynced after a rename or an unlink in it)
 *
 * Flushes @path to disk. Does nothing where there is no fsync().
 */
gboolean
mw_fsync_path (const char  *path,
               gboolean     is_dir,
               GError     **error)
{
#ifdef G_OS_UNIX
  int fd = g_open (path, (is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NOFOLLOW) |
                        O_CLOEXEC | O_NONBLOCK, 0);
  int saved;

  if (fd < 0 || fsync (fd) != 0)
    {
      saved = errno;
      if (fd >= 0)
        close (fd);
      mw_fs_set_error (error, saved, _("Cannot flush %s to disk"), path);
      return FALSE;
    }
  close (fd);
#endif
  return TRUE;
}

/* Big enough that a read costs little next to hashing it, small enough to stay in the
 * CPU's cache. */
#define HASH_BUFFER_SIZE (256 * 1024)

static char *
sha256_hex (struct sha256_ctx *ctx)
{
  guint8 digest[SHA256_DIGEST_SIZE];
  char hex[2 * SHA256_DIGEST_SIZE + 1];

  sha256_digest (ctx, SHA256_DIGEST_SIZE, digest);
  for (guint i = 0; i < SHA256_DIGEST_SIZE; i++)
    {
      hex[2 * i] = "0123456789abcdef"[digest[i] >> 4];
      hex[2 * i + 1] = "0123456789abcdef"[digest[i] & 0xf];
    }
  hex[2 * SHA256_DIGEST_SIZE] = '\0';
  return g_strdup (hex);
}

/**
 * mw_sha256_of_bytes:
 * @data: a file's bytes (mapped), @size of them
 * @on_bytes: (nullable): called with the bytes hashed so far, every few MiB
 *
 * Returns: (transfer full): the SHA-256 of @data in hex, or %NULL when cancelled
 */
char *
mw_sha256_of_bytes (const guint8  *data,
                    gsize          size,
                    MwBytesFunc    on_bytes,
                    gpointer       user_data,
                    GCancellable  *cancellable,
                    GError       **error)
{
  struct sha256_ctx ctx;

  sha256_init (&ctx);
  for (gsize done = 0; done < size; )
    {
      gsize n = MIN (size - done, 16 * HASH_BUFFER_SIZE);

      sha256_update (&ctx, n, data + done);
      done += n;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      if (on_bytes != NULL)
        on_bytes (done, user_data);
    }
  return sha256_hex (&ctx);
}

/**
 * mw_sha256_of_fd:
 * @fd: a file open for reading; read from its start, never closed here
 * @on_bytes: (nullable): called with the bytes hashed so far, every few MiB
 * @user_data: for @on_bytes
 *
 * The SHA-256 of a whole file with nettle, which uses the CPU's SHA instructions
 * when it has them (about 1.2 GB/s on this project's machine, against 0.2 GB/s for
 * GChecksum): a backup's hash no longer costs more than SQLite's check of the copy.
 * Taking an fd lets the caller decide when the file is closed: closing any fd of a
 * database drops the process's POSIX locks on it, so a caller hashing a file that a
 * connection has open keeps the fd until that connection is closed.
 *
 * Returns: (transfer full): the hash in hex, or %NULL with @error set
 */
char *
mw_sha256_of_fd (int            fd,
                 const char    *path,
                 MwBytesFunc    on_bytes,
                 gpointer       user_data,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autofree guchar *buffer = g_malloc (HASH_BUFFER_SIZE);
  struct sha256_ctx ctx;
  gint64 total = 0, reported = 0;

  sha256_init (&ctx);
  if (lseek (fd, 0, SEEK_SET) != 0)
    goto failed;
  for (;;)
    {
      gssize n = read (fd, buffer, HASH_BUFFER_SIZE);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto failed;
      if (n == 0)
        break;
      sha256_update (&ctx, (size_t) n, buffer);
      total += n;
      if (total - reported >= 16 * HASH_BUFFER_SIZE)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return NULL;
          if (on_bytes != NULL)
            on_bytes (total, user_data);
          reported = total;
        }
    }
  if (on_bytes != NULL)
    on_bytes (total, user_data);
  return sha256_hex (&ctx);

failed:
  {
    int saved = errno;

    mw_fs_set_error (error, saved, _("Cannot read %s"), path);
    return NULL;
  }
}

/**
 * mw_sha256_of_file:
 *
 * Returns: (transfer full): the SHA-256 of the file's bytes, in hex, or %NULL with
 *   @error set
 */
char *
mw_sha256_of_file (const char    *path,
                   GCancellable  *cancellable,
                   GError       **error)
{
  int fd = mw_fs_open_regular (path, FALSE, -1, NULL, error);
  char *sha;

  if (fd < 0)
    return NULL;
  sha = mw_sha256_of_fd (fd, path, NULL, NULL, cancellable, error);
  close (fd);
  return sha;
}

/* ---- copying through SQLite ---------------------------------------------------------- */

/**
 * mw_copy_through_sqlite_full:
 * @tmp: the copy, created; a name of the caller's own that nothing else uses
 * @record: (nullable): receives what SQLite writes to the copy, page by page
 * @on_fraction: (nullable): told the copy's fraction done (never 1.0)
 * @out_pages: (out): the pages copied
 *
 * Copies what @src sees into a new single-file database (rollback journal) with
 * SQLite's backup API: never by copying bytes, which loses a -wal's committed data
 * and leaves a database without its hot -journal corrupt. Not fsynced.
 */
gboolean
mw_copy_through_sqlite_full (sqlite3         *src,
                             const char      *tmp,
                             MwPageRecord    *record,
                             MwFractionFunc   on_fraction,
                             gpointer         user_data,
                             GCancellable    *cancellable,
                             int             *out_pages,
                             GError         **error)
{
  g_autoptr(sqlite3) dst = NULL;
  const char *vfs = record != NULL ? mw_page_record_vfs () : NULL;
  sqlite3_backup *backup;
  int rc;

  dst = mw_db_open_full (tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, BUSY_TIMEOUT_MS, vfs,
                         error);
  /* Not synced by SQLite: the caller flushes the whole file once, after the copy (a
   * copy that fails is removed), where SQLite would flush it inside the copy. */
  if (dst == NULL || !mw_db_exec (dst, "PRAGMA synchronous = OFF", error))
    return FALSE;
  if (record != NULL && (vfs == NULL || !mw_page_record_attach (record, dst)))
    g_debug ("The copy's pages are not recorded");

  backup = sqlite3_backup_init (dst, "main", src, "main");
  if (backup == NULL)
    {
      mw_db_set_error (error, dst, sqlite3_errcode (dst), MW_ENGINE_ERROR_UNREADABLE,
                       "Starting the backup");
      return FALSE;
    }
  /* The source's pages read from memory SQLite maps, not copied out of the file page
   * by page (a sixth of the copy's time); only for the copy. */
  sqlite3_exec (src, "PRAGMA mmap_size = " G_STRINGIFY (MW_COPY_MMAP_BYTES), NULL, NULL, NULL);

  guint busy_retries = 0;

  do
    {
      rc = sqlite3_backup_step (backup, COPY_STEP_PAGES);
      /* Locked for longer than the busy timeout: give up rather than wait forever. */
      if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++busy_retries > BUSY_TIMEOUT_MS / 20)
        break;
      /* Never 1.0: committing the copy and flushing it are still to come. */
      if (on_fraction != NULL && sqlite3_backup_pagecount (backup) > 0)
        on_fraction (0.99 * (1.0 - (double) sqlite3_backup_remaining (backup) /
                                   sqlite3_backup_pagecount (backup)), user_data);
      if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        g_usleep (20 * 1000);
      if (g_cancellable_is_cancelled (cancellable))
        break;
    }
  while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);

  *out_pages = sqlite3_backup_pagecount (backup);
  sqlite3_backup_finish (backup);
  sqlite3_exec (src, "PRAGMA mmap_size = 0", NULL, NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (rc != SQLITE_DONE)
    {
      /* The failure may be the copy's (a full disk) as well as the source's: the result
       * code says which, the source's message may not. */
      mw_db_set_error (error, NULL, rc, MW_ENGINE_ERROR_UNREADABLE, "Copying the database");
      return FALSE;
    }

  /* A backup is one self-contained file, whatever journal mode the shop runs. */
  return mw_db_exec (dst, "PRAGMA journal_mode = DELETE", error);
}

static void
set_progress_fraction (double   fraction,
                       gpointer user_data)
{
  mw_progress_set_fraction (user_data, fraction);
}

/**
 * mw_copy_through_sqlite:
 * @progress: (nullable): receives the copy's fraction
 *
 * mw_copy_through_sqlite_full() without a record, with a progress bar.
 */
gboolean
mw_copy_through_sqlite (sqlite3       *src,
                        const char    *tmp,
                        MwProgress    *progress,
                        GCancellable  *cancellable,
                        int           *out_pages,
                        GError       **error)
{
  return mw_copy_through_sqlite_full (src, tmp, NULL,
                                      progress != NULL ? set_progress_fraction : NULL, progress,
                                      cancellable, out_pages, error);
}

/* ---- database sets ------------------------------------------------------------------- */

/**
 * mw_unique_aside:
 * @kind: "old", "failed", …
 *
 * Returns: (transfer full): `<db>.<kind>.YYYYMMDD-HHMMSS`, never a name any member of
 *   a set already has
 */
char *
mw_unique_aside (const char *database_path,
                 const char *kind)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");

  for (guint i = 1; ; i++)
    {
      g_autofree char *candidate = i == 1
        ? g_strdup_printf ("%s.%s.%s", database_path, kind, stamp)
        : g_strdup_printf ("%s.%s.%s-%u", database_path, kind, stamp, i);
      gboolean taken = FALSE;

      for (guint k = 0; k < G_N_ELEMENTS (mw_set_suffixes); k++)
        {
          g_autofree char *p = g_strconcat (candidate, mw_set_suffixes[k], NULL);

          taken |= mw_fs_lexists (p);
        }
      if (!taken)
        return g_steal_pointer (&candidate);
    }
}

/**
 * mw_rename:
 *
 * Renames @from to @to, with an error a person can act on. Durable once the caller
 * has fsynced the folder.
 */
gboolean
mw_rename (const char  *from,
           const char  *to,
           GError     **error)
{
  if (g_rename (from, to) != 0)
    {
      int saved = errno;

      mw_fs_set_error (error, saved, _("Cannot move %s to %s"), from, to);
      return FALSE;
    }
  return TRUE;
}

/**
 * mw_move_set_aside:
 *
 * Moves the database and every file SQLite keeps beside it, together, to @aside.
 * Idempotent: a member already moved (or absent) is skipped, so a crash half-way is
 * finished by running it again. Never overwrites.
 */
gboolean
mw_move_set_aside (const char  *database_path,
                   const char  *aside,
                   GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (database_path);

  for (guint k = 0; k < G_N_ELEMENTS (mw_set_suffixes); k++)
    {
      g_autofree char *from = g_strconcat (database_path, mw_set_suffixes[k], NULL);
      g_autofree char *to = g_strconcat (aside, mw_set_suffixes[k], NULL);

      if (!mw_fs_lexists (from))
        continue;
      if (mw_fs_lexists (to))
        {
          g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                       _("Cannot move %s aside: %s already exists."), from, to);
          return FALSE;
        }
      if (!mw_rename (from, to, error))
        return FALSE;
    }
  return mw_fsync_path (dir, TRUE, error);
}

/**
 * mw_remove_set:
 *
 * Removes the database at @tmp with its -wal, -shm and -journal.
 */
void
mw_remove_set (const char *tmp)
{
  /* Only ever our own temporary database and its SQLite companions. */
  for (guint k = 0; k < G_N_ELEMENTS (mw_set_suffixes); k++)
    {
      g_autofree char *p = g_strconcat (tmp, mw_set_suffixes[k], NULL);

      g_unlink (p);
    }
}

/* Copies @from to @to, a new file (mode 0600), and fsyncs it. */
static gboolean
copy_file_exclusive (const char  *from,
                     gboolean     follow,
                     const char  *to,
                     GError     **error)
{
  g_autofree char *buffer = NULL;
  int in, out;
  gssize n;

  in = mw_fs_open_regular (from, follow, -1, NULL, error);
  if (in < 0)
    return FALSE;
  out = mw_fs_create_exclusive (to, 0600, error);
  if (out < 0)
    {
      close (in);
      return FALSE;
    }

  buffer = g_malloc (1 << 20);
  while ((n = read (in, buffer, 1 << 20)) != 0)
    {
      int saved;
      gssize done = 0;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          saved = errno;
          mw_fs_set_error (error, saved, _("Cannot read %s"), from);
          goto failed;
        }
      while (done < n)
        {
          gssize w = write (out, buffer + done, n - done);

          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              saved = errno;
              mw_fs_set_error (error, saved, _("Cannot write %s"), to);
              goto failed;
            }
          done += w;
        }
    }
  if (fsync (out) != 0)
    {
      mw_fs_set_error (error, errno, _("Cannot flush %s to disk"), to);
      goto failed;
    }
  close (in);
  if (close (out) != 0)
    {
      mw_fs_set_error (error, errno, _("Cannot write %s"), to);
      g_unlink (to);
      return FALSE;
    }
  return TRUE;

failed:
  close (in);
  close (out);
  /* Our own new file, never anything that was there before. */
  g_unlink (to);
  return FALSE;
}

/**
 * mw_copy_set:
 * @to_path: a name no member of which exists yet
 *
 * Copies a database and the files SQLite keeps beside it (-wal, -shm, -journal), as
 * they are, byte for byte, each a new file (mode 0600) fsynced: for a database SQLite
 * cannot read, or must not touch. Nothing is written through a symlink; the database
 * itself may be one (the path the shop configured), its companions may not.
 */
gboolean
mw_copy_set (const char  *from_path,
             const char  *to_path,
             GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (to_path);

  for (guint k = 0; k < G_N_ELEMENTS (mw_set_suffixes); k++)
    {
      g_autofree char *from = g_strconcat (from_path, mw_set_suffixes[k], NULL);
      g_autofree char *to = g_strconcat (to_path, mw_set_suffixes[k], NULL);

      if (!(k == 0 ? g_file_test (from, G_FILE_TEST_EXISTS) : mw_fs_lexists (from)))
        continue;
      if (!copy_file_exclusive (from, k == 0, to, error))
        {
          /* What this call created so far goes; the copy is all or nothing. */
          for (guint j = 0; j < k; j++)
            {
              g_autofree char *made = g_strconcat (to_path, mw_set_suffixes[j], NULL);

              g_unlink (made);
            }
          return FALSE;
        }
    }
  return mw_fsync_path (dir, TRUE, error);
}

/**
 * mw_raw_copy_set:
 *
 * The backup of last resort, for a database SQLite cannot read: the whole set copied
 * as it is into @backup_dir as `aurswift-raw-YYYYMMDD-HHMMSS.db`.
 *
 * Returns: (transfer full): the copy's path, or %NULL with @error set
 */
char *
mw_raw_copy_set (const char  *database_path,
                 const char  *backup_dir,
                 GError     **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *target = NULL;

  if (g_mkdir_with_parents (backup_dir, 0700) != 0)
    {
      int saved = errno;

      mw_fs_set_error (error, saved, _("Cannot create %s"), backup_dir);
      return NULL;
    }
  if (!mw_fs_private_dir (backup_dir, error))
    return NULL;
  for (guint i = 1; ; i++)
    {
      gboolean taken = FALSE;

      g_free (target);
      target = i == 1 ? g_strdup_printf ("%s%saurswift-raw-%s.db", backup_dir, G_DIR_SEPARATOR_S,
                                         stamp)
                      : g_strdup_printf ("%s%saurswift-raw-%s-%u.db", backup_dir,
                                         G_DIR_SEPARATOR_S, stamp, i);
      for (guint k = 0; k < G_N_ELEMENTS (mw_set_suffixes); k++)
        {
          g_autofree char *member = g_strconcat (target, mw_set_suffixes[k], NULL);

          taken |= mw_fs_lexists (member);
        }
      if (!taken)
        break;
    }
  if (!mw_copy_set (database_path, target, error))
    return NULL;
  return g_steal_pointer (&target);
}

/* ---- safe files ---------------------------------------------------------------------- */

/**
 * mw_engine_error_from_errno:
 *
 * The one mapping of an errno to what a person can act on, and so to the documented
 * exit status: a full disk or quota is a lack of space, a read-only disk a read-only
 * database, anything else (permissions, a name too long, an I/O error) a database
 * that cannot be read or written.
 */
int
mw_engine_error_from_errno (int errsv)
{
  switch (errsv)
    {
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
    case EFBIG:
      return MW_ENGINE_ERROR_NO_SPACE;
    case EROFS:
      return MW_ENGINE_ERROR_READ_ONLY;
    default:
      return MW_ENGINE_ERROR_UNREADABLE;
    }
}

/**
 * mw_fs_set_error:
 * @errsv: the errno of the failure
 * @format: what could not be done, e.g. "Cannot create %s"
 *
 * Sets @error to an #MwEngineError chosen by mw_engine_error_from_errno(), with
 * @format's text followed by the system's words for @errsv.
 */
void
mw_fs_set_error (GError     **error,
                 int          errsv,
                 const char  *format,
                 ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, MW_ENGINE_ERROR, mw_engine_error_from_errno (errsv), "%s: %s", what,
               g_strerror (errsv));
}

/**
 * mw_fs_lexists:
 *
 * Whether anything is at @path, a dangling symlink included (which g_file_test()
 * does not see, and which a create through it would follow).
 */
gboolean
mw_fs_lexists (const char *path)
{
  GStatBuf st;

  return g_lstat (path, &st) == 0;
}

/**
 * mw_fs_open_regular:
 * @follow: whether @path itself may be a symlink (only for paths a person gave)
 * @max_size: the largest size accepted, or -1
 * @out_st: (out) (optional): what fstat() says of it
 *
 * Opens @path for reading without blocking: a FIFO, a device or a folder is refused
 * at once instead of being waited on or read forever, and so is a symlink unless
 * @follow, and a file over @max_size.
 *
 * Returns: the file descriptor, or -1 with @error set
 */
int
mw_fs_open_regular (const char  *path,
                    gboolean     follow,
                    goffset      max_size,
                    GStatBuf    *out_st,
                    GError     **error)
{
  GStatBuf st;
  int fd;

  do
    fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (follow ? 0 : O_NOFOLLOW));
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    {
      int saved = errno;

      if (saved == ELOOP && !follow)
        g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                     _("%s is a symbolic link, which the wizard never follows."), path);
      else
        mw_fs_set_error (error, saved, _("Cannot read %s"), path);
      return -1;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                   _("%s is not a regular file (a FIFO, a device or a folder), so it is not "
                     "read."), path);
      return -1;
    }
  if (max_size >= 0 && st.st_size > max_size)
    {
      g_autofree char *limit = g_format_size ((guint64) max_size);

      close (fd);
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                   _("%s is larger than %s, far more than such a file ever holds, so it is "
                     "not read."), path, limit);
      return -1;
    }
  if (out_st != NULL)
    *out_st = st;
  return fd;
}

/* Whether @path (resolved) lies inside the folder @within (resolved). */
static gboolean
resolved_inside (const char  *path,
                 const char  *within,
                 char       **out_resolved,
                 GError     **error)
{
  g_autofree char *real_path = realpath (path, NULL);
  g_autofree char *real_within = realpath (within, NULL);
  gsize n;

  if (real_path == NULL || real_within == NULL)
    {
      int saved = errno;

      mw_fs_set_error (error, saved, _("Cannot read %s"), real_path == NULL ? path : within);
      return FALSE;
    }
  n = strlen (real_within);
  if (strncmp (real_path, real_within, n) != 0 ||
      (real_path[n] != G_DIR_SEPARATOR && !(n == 1 && real_within[0] == G_DIR_SEPARATOR)))
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                   _("%s leads to %s, outside %s, so it is not read."), path, real_path,
                   within);
      return FALSE;
    }
  *out_resolved = g_steal_pointer (&real_path);
  return TRUE;
}

/**
 * mw_fs_read_regular:
 * @within: (nullable): a folder @path must stay inside, symlinks resolved; %NULL to
 *   refuse any symlink at @path
 * @max_size: the largest size accepted
 * @out_len: (out) (optional): the length read
 *
 * Reads a whole regular file, bounded (see mw_fs_open_regular()).
 *
 * Returns: (transfer full): its bytes, NUL-terminated, or %NULL with @error set
 */
char *
mw_fs_read_regular (const char  *path,
                    const char  *within,
                    gsize        max_size,
                    gsize       *out_len,
                    GError     **error)
{
  g_autofree char *resolved = NULL;
  g_autofree char *data = NULL;
  GStatBuf st;
  gsize len = 0, allocated;
  int fd;

  if (within != NULL && !resolved_inside (path, within, &resolved, error))
    return NULL;
  fd = mw_fs_open_regular (resolved ? resolved : path, FALSE, (goffset) max_size, &st, error);
  if (fd < 0)
    return NULL;

  allocated = (gsize) st.st_size + 1;
  data = g_malloc (allocated);
  for (;;)
    {
      gssize n;

      if (len + 1 >= allocated)
        {
          if (allocated > max_size)
            {
              g_autofree char *limit = g_format_size ((guint64) max_size);

              close (fd);
              g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                           _("%s is larger than %s, far more than such a file ever holds, "
                             "so it is not read."), path, limit);
              return NULL;
            }
          allocated = MIN (allocated * 2, max_size + 2);
          data = g_realloc (data, allocated);
        }
      n = read (fd, data + len, allocated - 1 - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          close (fd);
          mw_fs_set_error (error, saved, _("Cannot read %s"), path);
          return NULL;
        }
      if (n == 0)
        break;
      len += n;
    }
  close (fd);
  data[len] = '\0';
  if (out_len != NULL)
    *out_len = len;
  return g_steal_pointer (&data);
}

/**
 * mw_fs_create_exclusive:
 *
 * Creates @path, a new file: never one that exists, never through a symlink planted
 * at the name (O_EXCL).
 *
 * Returns: the file descriptor (write-only), or -1 with @error set
 */
int
mw_fs_create_exclusive (const char  *path,
                        int          mode,
                        GError     **error)
{
  int fd;

  do
    fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    mw_fs_set_error (error, errno, _("Cannot create %s"), path);
  return fd;
}

/**
 * mw_fs_write_atomic:
 * @mode: the new file's mode (e.g. 0600)
 *
 * Replaces @path by a file holding @data, durably: written to a new temporary file
 * beside it (O_EXCL), fsynced, renamed over @path (a symlink at @path is replaced, not
 * followed), and the folder fsynced. On failure @path is as it was and the temporary
 * file is gone.
 */
gboolean
mw_fs_write_atomic (const char  *path,
                    const char  *data,
                    gsize        len,
                    int          mode,
                    GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  /* A short name of its own: a long database name plus a suffix must not make it
   * longer than a file name may be. */
  g_autofree char *tmp = g_build_filename (dir, ".mw-tmp-XXXXXX", NULL);
  gsize done = 0;
  int fd, saved;

  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0)
    {
      mw_fs_set_error (error, errno, _("Cannot create a file in %s"), dir);
      return FALSE;
    }
  while (done < len)
    {
      gssize n = write (fd, data + done, len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto failed;
      done += n;
    }
  if (fsync (fd) != 0)
    goto failed;
  if (close (fd) != 0)
    {
      fd = -1;
      goto failed;
    }
  fd = -1;
  if (g_rename (tmp, path) != 0)
    goto failed;
  return mw_fsync_path (dir, TRUE, error);

failed:
  saved = errno;
  if (fd >= 0)
    close (fd);
  g_unlink (tmp);
  mw_fs_set_error (error, saved, _("Cannot save %s"), path);
  return FALSE;
}

/**
 * mw_fs_private_dir:
 *
 * Makes sure nobody else can write in @dir (a backups folder): one of ours that others
 * may write to is made private (0700); one of someone else's, or a shared one (sticky,
 * like /tmp), that others may write to is refused — anyone could plant a file there.
 */
gboolean
mw_fs_private_dir (const char  *dir,
                   GError     **error)
{
#ifdef G_OS_UNIX
  GStatBuf st;
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0)
    {
      mw_fs_set_error (error, errno, _("Cannot open the folder %s"), dir);
      return FALSE;
    }
  if (fstat (fd, &st) != 0)
    {
      mw_fs_set_error (error, errno, _("Cannot open the folder %s"), dir);
      close (fd);
      return FALSE;
    }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
      /* A sticky folder (/tmp) is shared on purpose: never changed, even as root. */
      if (st.st_uid != geteuid () || (st.st_mode & S_ISVTX) != 0 || fchmod (fd, 0700) != 0)
        {
          close (fd);
          g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                       _("The folder %s can be written by other users, and it cannot be made "
                         "private: backups are not kept there. Make it private (chmod 700) "
                         "or choose another folder."), dir);
          return FALSE;
        }
      g_message ("Made the folder %s private (it was writable by others)", dir);
    }
  close (fd);
#endif
  return TRUE;
}

/**
 * mw_fs_copy_mode:
 * @reference: the file whose mode (and owner, when running as root) @path gets
 *
 * A file that replaces another keeps its permissions: a database only its owner could
 * read stays so after a restore, a fresh start or a repair.
 */
gboolean
mw_fs_copy_mode (const char  *reference,
                 const char  *path,
                 GError     **error)
{
#ifdef G_OS_UNIX
  GStatBuf ref;
  int fd;

  if (g_stat (reference, &ref) != 0)
    {
      mw_fs_set_error (error, errno, _("Cannot read %s"), reference);
      return FALSE;
    }
  fd = g_open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0)
    {
      mw_fs_set_error (error, errno, _("Cannot read %s"), path);
      return FALSE;
    }
  if ((geteuid () == 0 && fchown (fd, ref.st_uid, ref.st_gid) != 0) ||
      fchmod (fd, ref.st_mode & 07777) != 0)
    {
      int saved = errno;

      close (fd);
      mw_fs_set_error (error, saved, _("Cannot set the permissions of %s"), path);
      return FALSE;
    }
  close (fd);
#endif
  return TRUE;
}

/**
 * mw_fs_check_database_file:
 *
 * A database path that exists must be a regular file (or a symlink to one): SQLite
 * would wait forever on a FIFO and read a device without end.
 */
gboolean
mw_fs_check_database_file (const char  *path,
                           GError     **error)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0 || S_ISREG (st.st_mode))
    return TRUE;
  g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_NOT_A_DATABASE,
               _("%s is not a regular file (a FIFO, a device or a folder), so it is not a "
                 "database. Nothing was read or changed."), path);
  return FALSE;
}

/* ---- whole sets, as bytes ------------------------------------------------------------ */

/* The members that hold data: the -shm is SQLite's index of the -wal, rebuilt at will. */
static const char * const data_suffixes[] = { "", "-wal", "-journal" };

/**
 * mw_set_digest:
 *
 * The SHA-256 of a whole set as bytes — each data member's name suffix, size and
 * bytes — so that a set kept aside can later be proved to be exactly the one a backup
 * was made of. Members are read without following symlinks.
 *
 * Returns: (transfer full): the digest in hex, or %NULL with @error set
 */
char *
mw_set_digest (const char  *database_path,
               GError     **error)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buffer = g_malloc (1 << 20);

  for (guint k = 0; k < G_N_ELEMENTS (data_suffixes); k++)
    {
      g_autofree char *member = g_strconcat (database_path, data_suffixes[k], NULL);
      g_autofree char *head = NULL;
      GStatBuf st;
      gssize n;
      int fd;

      if (!mw_fs_lexists (member))
        continue;
      fd = mw_fs_open_regular (member, FALSE, -1, &st, error);
      if (fd < 0)
        return NULL;
      /* "<suffix> <size>\n" before each member's bytes: the same bytes split
       * differently between the members are another set. */
      head = g_strdup_printf ("%s %" G_GINT64_FORMAT "\n", data_suffixes[k], (gint64) st.st_size);
      g_checksum_update (checksum, (const guchar *) head, strlen (head));
      while ((n = read (fd, buffer, 1 << 20)) != 0)
        {
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            {
              int saved = errno;

              close (fd);
              mw_fs_set_error (error, saved, _("Cannot read %s"), member);
              return NULL;
            }
          g_checksum_update (checksum, buffer, n);
        }
      close (fd);
    }
  return g_strdup (g_checksum_get_string (checksum));
}

static goffset
lsize (const char *path,
       gboolean   *exists)
{
  GStatBuf st;

  *exists = g_lstat (path, &st) == 0;
  return *exists ? (goffset) st.st_size : -1;
}

/* Whether a WAL file starts with a WAL header SQLite would accept. */
static gboolean
wal_header_valid (const char *path)
{
  guchar header[8];
  gssize n;
  int fd = mw_fs_open_regular (path, FALSE, -1, NULL, NULL);
  guint32 magic, version;

  if (fd < 0)
    return FALSE;
  n = read (fd, header, sizeof header);
  close (fd);
  if (n != (gssize) sizeof header)
    return FALSE;
  magic = (guint32) header[0] << 24 | header[1] << 16 | header[2] << 8 | header[3];
  version = (guint32) header[4] << 24 | header[5] << 16 | header[6] << 8 | header[7];
  return (magic == 0x377f0682 || magic == 0x377f0683) && version == 3007000;
}

/* The first byte of a rollback journal: SQLite treats it as hot only when it is not 0. */
static int
first_byte (const char *path)
{
  guchar byte = 0;
  int fd = mw_fs_open_regular (path, FALSE, -1, NULL, NULL);
  gssize n;

  if (fd < 0)
    return -1;
  n = read (fd, &byte, 1);
  close (fd);
  return n == 1 ? byte : -1;
}

/**
 * mw_set_sqlite_would_modify:
 *
 * Whether merely opening the database with SQLite would change or delete a file of
 * its set: a -journal SQLite would play back (or throw away, when it cannot parse it),
 * a -wal or -journal beside an empty database (deleted), a -wal that does not start
 * like one (its content dropped at the next checkpoint).
 *
 * Returns: (transfer full) (nullable): why, in words; %NULL when opening is harmless
 */
char *
mw_set_sqlite_would_modify (const char *database_path)
{
  g_autofree char *wal = g_strconcat (database_path, "-wal", NULL);
  g_autofree char *journal = g_strconcat (database_path, "-journal", NULL);
  gboolean db_exists, wal_exists, journal_exists;
  goffset db_size = lsize (database_path, &db_exists);
  goffset wal_size = lsize (wal, &wal_exists);
  goffset journal_size = lsize (journal, &journal_exists);
  GStatBuf st;

  if (!db_exists)
    return NULL;
  /* The database itself may be a symlink the shop set up: its size is its target's. */
  if (g_stat (database_path, &st) == 0)
    db_size = st.st_size;

  if (journal_exists && (db_size == 0 || (journal_size > 0 && first_byte (journal) != 0)))
    return g_strdup_printf (_("%s has a -journal left by an interrupted write, which SQLite "
                              "would play back or remove on opening it."), database_path);
  if (wal_exists && db_size == 0)
    return g_strdup_printf (_("%s is empty but has a -wal beside it, which SQLite would "
                              "delete on opening it."), database_path);
  if (wal_exists && wal_size > 0 && !wal_header_valid (wal))
    return g_strdup_printf (_("%s has a -wal that does not start like one, which SQLite "
                              "would discard."), database_path);
  return NULL;
}

/* A raw copy in @backup_dir that holds exactly the set whose digest is @digest. */
static char *
find_raw_copy (const char *backup_dir,
               goffset     db_size,
               const char *digest)
{
  g_autoptr(GDir) d = g_dir_open (backup_dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = NULL, *other = NULL;
      GStatBuf st;

      if (!g_str_has_prefix (name, "aurswift-raw-") || !g_str_has_suffix (name, ".db"))
        continue;
      path = g_build_filename (backup_dir, name, NULL);
      if (g_lstat (path, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size != db_size)
        continue;
      other = mw_set_digest (path, NULL);
      if (g_strcmp0 (other, digest) == 0)
        return g_steal_pointer (&path);
    }
  return NULL;
}

/**
 * mw_set_find_raw_copy:
 *
 * Returns: (transfer full) (nullable): a raw copy (`aurswift-raw-*.db`) in
 *   @backup_dir whose whole set has the digest @digest
 */
char *
mw_set_find_raw_copy (const char *backup_dir,
                      const char *database_path,
                      const char *digest)
{
  GStatBuf st;

  if (g_lstat (database_path, &st) != 0)
    return NULL;
  return find_raw_copy (backup_dir, st.st_size, digest);
}

/**
 * mw_set_protect:
 * @out_copy: (out) (optional) (transfer full) (nullable): the raw copy that holds the
 *   set, when one was needed
 *
 * Call before anything opens the database with SQLite to change it (a backup, an
 * update, a fresh start): when SQLite would change or delete a file of the set just by
 * opening it (mw_set_sqlite_would_modify()), the whole set is first copied, byte for
 * byte, into @backup_dir (`aurswift-raw-*.db`, the copy repair makes too) — unless an
 * identical copy is already there. Nothing of the set can then be lost.
 *
 * Returns: %FALSE with @error set when a copy was needed and could not be made
 */
gboolean
mw_set_protect (const char  *database_path,
                const char  *backup_dir,
                char       **out_copy,
                GError     **error)
{
  g_autofree char *why = mw_set_sqlite_would_modify (database_path);
  g_autofree char *dir = backup_dir ? g_strdup (backup_dir) : NULL;
  g_autofree char *digest = NULL;
  g_autofree char *copy = NULL;

  if (out_copy != NULL)
    *out_copy = NULL;
  if (why == NULL)
    return TRUE;
  if (dir == NULL)
    {
      g_autofree char *parent = g_path_get_dirname (database_path);

      dir = g_build_filename (parent, "backups", NULL);
    }

  digest = mw_set_digest (database_path, error);
  if (digest == NULL)
    return FALSE;
  copy = mw_set_find_raw_copy (dir, database_path, digest);
  if (copy == NULL)
    {
      copy = mw_raw_copy_set (database_path, dir, error);
      if (copy == NULL)
        {
          g_prefix_error (error, _("%s It must be copied first, and that failed: "), why);
          return FALSE;
        }
      g_message ("%s The whole set was first copied, byte for byte, to %s", why, copy);
    }
  if (out_copy != NULL)
    *out_copy = g_steal_pointer (&copy);
  return TRUE;
}

/**
 * mw_set_copy_for_reading:
 * @out_dir: (out) (transfer full): the private temporary folder holding the copy; the
 *   caller removes it (mw_set_remove_copy())
 *
 * A byte-for-byte copy of the whole set in a new private temporary folder, for
 * reading with SQLite what the set holds without SQLite touching the set itself.
 *
 * Returns: (transfer full): the copy's database path, or %NULL with @error set
 */
char *
mw_set_copy_for_reading (const char  *database_path,
                         char       **out_dir,
                         GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("mw-check-XXXXXX", &local_error);
  g_autofree char *base = g_path_get_basename (database_path);
  g_autofree char *copy = NULL;

  *out_dir = NULL;
  if (dir == NULL)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE, "%s",
                   local_error->message);
      return NULL;
    }
  copy = g_build_filename (dir, base, NULL);
  if (!mw_copy_set (database_path, copy, error))
    {
      g_rmdir (dir);
      return NULL;
    }
  *out_dir = g_steal_pointer (&dir);
  return g_steal_pointer (&copy);
}

/**
 * mw_set_remove_copy:
 *
 * Removes a copy made by mw_set_copy_for_reading(), and its folder.
 */
void
mw_set_remove_copy (const char *copy,
                    const char *dir)
{
  if (copy != NULL)
    mw_remove_set (copy);
  if (dir != NULL)
    g_rmdir (dir);
}
