/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-fs"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <nettle/sha2.h>
#ifdef G_OS_UNIX
# include <unistd.h>
#else
# include <io.h>
#endif

#include "mw-db-private.h"
#include "mw-error.h"
#include "mw-fs-private.h"

/*
 * Files, durably: fsync, the SHA-256 of a file (nettle's, hardware-accelerated), a copy made through SQLite, and
 * database sets — a database with the -wal, -shm and -journal SQLite keeps beside it,
 * which are only ever copied, moved or removed together.
 */

#define BUSY_TIMEOUT_MS 5000
#define COPY_STEP_PAGES 1024

/* The members of a set, by the suffix added to the database's path. */

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
  int fd = g_open (path, (is_dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC, 0);
  int saved;

  if (fd < 0 || fsync (fd) != 0)
    {
      saved = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot flush %s to disk: %s"), path, g_strerror (saved));
      return FALSE;
    }
  close (fd);
#endif
  return TRUE;
}

/* Big enough that a read costs little next to hashing it, small enough to stay in the
 * CPU's cache. */
#define HASH_BUFFER_SIZE (256 * 1024)

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
  guint8 digest[SHA256_DIGEST_SIZE];
  struct sha256_ctx ctx;
  gint64 total = 0, reported = 0;
  char hex[2 * SHA256_DIGEST_SIZE + 1];

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

  sha256_digest (&ctx, SHA256_DIGEST_SIZE, digest);
  for (guint i = 0; i < SHA256_DIGEST_SIZE; i++)
    {
      hex[2 * i] = "0123456789abcdef"[digest[i] >> 4];
      hex[2 * i + 1] = "0123456789abcdef"[digest[i] & 0xf];
    }
  hex[2 * SHA256_DIGEST_SIZE] = '\0';
  return g_strdup (hex);

failed:
  {
    int saved = errno;

    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                 _("Cannot read %s: %s"), path, g_strerror (saved));
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
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  char *sha;

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot read %s: %s"), path, g_strerror (saved));
      return NULL;
    }
  sha = mw_sha256_of_fd (fd, path, NULL, NULL, cancellable, error);
  close (fd);
  return sha;
}

/* ---- copying through SQLite ---------------------------------------------------------- */

/**
 * mw_copy_through_sqlite:
 * @tmp: the copy, created; a name of the caller's own that nothing else uses
 * @progress: (nullable): receives the copy's fraction
 * @out_pages: (out): the pages copied
 *
 * Copies what @src sees into a new single-file database (rollback journal) with
 * SQLite's backup API: never by copying bytes, which loses a -wal's committed data
 * and leaves a database without its hot -journal corrupt. Not fsynced.
 */
gboolean
mw_copy_through_sqlite (sqlite3       *src,
                        const char    *tmp,
                        MwProgress    *progress,
                        GCancellable  *cancellable,
                        int           *out_pages,
                        GError       **error)
{
  g_autoptr(sqlite3) dst = NULL;
  sqlite3_backup *backup;
  int rc;

  dst = mw_db_open (tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, BUSY_TIMEOUT_MS, error);
  if (dst == NULL)
    return FALSE;

  backup = sqlite3_backup_init (dst, "main", src, "main");
  if (backup == NULL)
    {
      mw_db_set_error (error, dst, sqlite3_errcode (dst), MW_ENGINE_ERROR_UNREADABLE,
                       "Starting the backup");
      return FALSE;
    }

  guint busy_retries = 0;

  do
    {
      rc = sqlite3_backup_step (backup, COPY_STEP_PAGES);
      /* Locked for longer than the busy timeout: give up rather than wait forever. */
      if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++busy_retries > BUSY_TIMEOUT_MS / 20)
        break;
      /* Never 1.0: committing the copy and flushing it are still to come. */
      if (progress != NULL && sqlite3_backup_pagecount (backup) > 0)
        mw_progress_set_fraction (progress,
                                  0.99 * (1.0 - (double) sqlite3_backup_remaining (backup) /
                                                sqlite3_backup_pagecount (backup)));
      if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        g_usleep (20 * 1000);
      if (g_cancellable_is_cancelled (cancellable))
        break;
    }
  while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);

  *out_pages = sqlite3_backup_pagecount (backup);
  sqlite3_backup_finish (backup);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (rc != SQLITE_DONE)
    {
      mw_db_set_error (error, src, rc, MW_ENGINE_ERROR_UNREADABLE, "Copying the database");
      return FALSE;
    }

  /* A backup is one self-contained file, whatever journal mode the shop runs. */
  return mw_db_exec (dst, "PRAGMA journal_mode = DELETE", error);
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

          taken |= g_file_test (p, G_FILE_TEST_EXISTS);
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

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot move %s to %s: %s"), from, to, g_strerror (saved));
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

      if (!g_file_test (from, G_FILE_TEST_EXISTS))
        continue;
      if (g_file_test (to, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       _("Cannot move %s aside: %s already exists."), from, to);
          return FALSE;
        }
      if (!mw_rename (from, to, error))
        return FALSE;
    }
  return mw_fsync_path (dir, TRUE, error);
}

/**
 * mw_settle_with_sqlite:
 *
 * Lets SQLite open the database once, so that a hot journal is rolled back (and a WAL
 * checkpointed) before the set moves. A database SQLite cannot open moves untouched.
 */
void
mw_settle_with_sqlite (const char *database_path)
{
  sqlite3 *db = NULL;

  if (!g_file_test (database_path, G_FILE_TEST_EXISTS))
    return;
  db = mw_db_open (database_path, SQLITE_OPEN_READWRITE, BUSY_TIMEOUT_MS, NULL);
  if (db != NULL)
    sqlite3_exec (db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
  mw_db_close (db);
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

/**
 * mw_copy_set:
 *
 * Copies a database and the files SQLite keeps beside it (-wal, -shm, -journal), as
 * they are, byte for byte, each fsynced: for a database SQLite cannot read.
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
      g_autoptr(GFile) src = g_file_new_for_path (from);
      g_autoptr(GFile) dst = g_file_new_for_path (to);

      if (!g_file_test (from, G_FILE_TEST_EXISTS))
        continue;
      if (!g_file_copy (src, dst, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error) ||
          !mw_fsync_path (to, FALSE, error))
        return FALSE;
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

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot create %s: %s"), backup_dir, g_strerror (saved));
      return NULL;
    }
  for (guint i = 1; ; i++)
    {
      g_free (target);
      target = i == 1 ? g_strdup_printf ("%s%saurswift-raw-%s.db", backup_dir, G_DIR_SEPARATOR_S,
                                         stamp)
                      : g_strdup_printf ("%s%saurswift-raw-%s-%u.db", backup_dir,
                                         G_DIR_SEPARATOR_S, stamp, i);
      if (!g_file_test (target, G_FILE_TEST_EXISTS))
        break;
    }
  if (!mw_copy_set (database_path, target, error))
    return NULL;
  return g_steal_pointer (&target);
}
