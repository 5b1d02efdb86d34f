/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-instance-lock"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#ifdef G_OS_UNIX
# include <unistd.h>
#endif

#include "mw-error.h"
#include "mw-instance-lock.h"

/*
 * One wizard per database: the lock that keeps a second Migration Wizard (the window
 * and a command line, or two windows) from working on the same database at once.
 */

struct _MwInstanceLock
{
  int       fd;
  char     *path;
  char     *database_path;
  gboolean  held;
};

/**
 * mw_instance_lock_acquire:
 *
 * Makes sure no other Migration Wizard works on @database_path at the same time. The
 * lock is a POSIX lock on `<db>.mw-lock`, never on the database file itself, whose
 * locks belong to SQLite. The lock file is never reached through a symlink and must be
 * a regular file with no other name (a hard link): its content is truncated and
 * replaced by this process's pid, which must never land in another file.
 *
 * Returns: (transfer full): the lock, held until mw_instance_lock_release()
 */
MwInstanceLock *
mw_instance_lock_acquire (const char  *database_path,
                          GError     **error)
{
  MwInstanceLock *lock = g_new0 (MwInstanceLock, 1);

  lock->path = g_strconcat (database_path, ".mw-lock", NULL);
  lock->database_path = g_strdup (database_path);
  lock->fd = -1;
#ifdef G_OS_UNIX
  for (;;)
    {
      struct flock fl = { 0 };
      GStatBuf held, named;

      lock->fd = g_open (lock->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                         0600);
      if (lock->fd < 0 && errno != ELOOP)
        {
          /* A folder we cannot write to: the operation itself will say so. */
          return lock;
        }
      /* Never followed or shared: a symlink or a hard link planted at the lock's name
       * would have the wizard truncate and write someone else's file. */
      if (lock->fd < 0 || fstat (lock->fd, &held) != 0 || !S_ISREG (held.st_mode) ||
          held.st_nlink != 1)
        {
          g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                       _("%s is not a plain file of the wizard's (a symbolic link, a link to "
                         "another file, or not a file at all), so it is not used. Nothing was "
                         "changed. Remove it, then try again."), lock->path);
          mw_instance_lock_release (lock);
          return NULL;
        }
      fl.l_type = F_WRLCK;
      fl.l_whence = SEEK_SET;
      if (fcntl (lock->fd, F_SETLK, &fl) != 0)
        {
          struct flock holder = { 0 };

          holder.l_type = F_WRLCK;
          holder.l_whence = SEEK_SET;
          fcntl (lock->fd, F_GETLK, &holder);
          g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED,
                       _("Another Migration Wizard (process %d) is already working on %s. Wait "
                         "for it to finish, or close it."),
                       (int) holder.l_pid, database_path);
          mw_instance_lock_release (lock);
          return NULL;
        }
      /* The wizard before us may have removed the file it held (the database was
       * still missing: see mw_instance_lock_release()) after we opened it; then the
       * lock that counts is on the file the name gives now. */
      if (g_stat (lock->path, &named) == 0 &&
          held.st_dev == named.st_dev && held.st_ino == named.st_ino)
        break;
      close (lock->fd);
      lock->fd = -1;
    }
  lock->held = TRUE;
  {
    g_autofree char *pid = g_strdup_printf ("%d\n", (int) getpid ());

    if (ftruncate (lock->fd, 0) == 0 && write (lock->fd, pid, strlen (pid)) < 0)
      g_debug ("Could not write the pid to %s", lock->path);
  }
#endif
  return lock;
}

/**
 * mw_instance_lock_release:
 * @lock: (nullable) (transfer full)
 *
 * Lets another Migration Wizard work on the database. When there is still no
 * database (a first update that failed, or none was made), the lock file goes too:
 * nothing is left beside a database that is missing.
 */
void
mw_instance_lock_release (MwInstanceLock *lock)
{
  if (lock == NULL)
    return;
#ifdef G_OS_UNIX
  if (lock->held && !g_file_test (lock->database_path, G_FILE_TEST_EXISTS))
    g_unlink (lock->path);
  if (lock->fd >= 0)
    close (lock->fd);
#endif
  g_free (lock->path);
  g_free (lock->database_path);
  g_free (lock);
}
