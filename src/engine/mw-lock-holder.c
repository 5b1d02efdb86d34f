/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-lock-holder"

#include "config.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef __linux__
# include <sys/sysmacros.h>
# include <unistd.h>
#endif

#include "mw-lock-holder-private.h"

/*
 * Who holds a database, for the "locked" message ("the POS is still running").
 *
 * SQLite's locks are POSIX advisory locks on the database file (rollback journal) or
 * on its -shm file (WAL). Linux lists every such lock, with its owner's pid, in
 * /proc/locks, so the holder is found without opening the database file: opening and
 * closing a descriptor on it would drop this process's own SQLite locks.
 */

#ifdef __linux__
static gboolean
inode_of (const char *path,
          guint64    *dev_major,
          guint64    *dev_minor,
          guint64    *ino)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return FALSE;
  *dev_major = major (st.st_dev);
  *dev_minor = minor (st.st_dev);
  *ino = (guint64) st.st_ino;
  return TRUE;
}
#endif

#ifdef __linux__
static int
find_holder (const char *locks,
             guint64     major,
             guint64     minor,
             guint64     ino)
{
  g_auto(GStrv) lines = g_strsplit (locks, "\n", -1);
  int self_pid = (int) getpid ();

  for (guint i = 0; lines[i] != NULL; i++)
    {
      /* "1: POSIX  ADVISORY  WRITE 4242 08:01:1234 1073741824 1073741824" */
      g_auto(GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      g_autoptr(GPtrArray) fields = g_ptr_array_new ();
      guint64 fmaj, fmin, fino;
      int pid;

      for (guint j = 0; f[j] != NULL; j++)
        if (f[j][0] != '\0')
          g_ptr_array_add (fields, f[j]);
      if (fields->len < 6 || strcmp (g_ptr_array_index (fields, 1), "POSIX") != 0)
        continue;
      /* Blocked waiters are listed as "1: -> POSIX ..."; skip them. */
      pid = atoi (g_ptr_array_index (fields, 4));
      if (sscanf (g_ptr_array_index (fields, 5), "%" G_GINT64_MODIFIER "x:%"
                  G_GINT64_MODIFIER "x:%" G_GINT64_MODIFIER "u", &fmaj, &fmin, &fino) != 3)
        continue;
      if (fino == ino && fmaj == major && fmin == minor && pid > 0 && pid != self_pid)
        return pid;
    }

  return 0;
}
#endif

/**
 * mw_lock_holder:
 * @out_pid: (out): the pid of a process holding a lock on the database, or 0
 * @out_name: (out) (transfer full) (nullable): its command name, when known
 *
 * Returns: %TRUE if another process holding a lock was found
 */
gboolean
mw_lock_holder (const char  *database_path,
                int         *out_pid,
                char       **out_name)
{
#ifdef __linux__
  g_autofree char *locks = NULL;
  g_autofree char *shm = g_strconcat (database_path, "-shm", NULL);
  const char *candidates[] = { database_path, shm };
  int pid = 0;

  *out_pid = 0;
  *out_name = NULL;

  if (!g_file_get_contents ("/proc/locks", &locks, NULL, NULL))
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (candidates) && pid == 0; i++)
    {
      guint64 major, minor, ino;

      if (inode_of (candidates[i], &major, &minor, &ino))
        pid = find_holder (locks, major, minor, ino);
    }

  if (pid == 0)
    return FALSE;

  *out_pid = pid;
  {
    g_autofree char *comm_path = g_strdup_printf ("/proc/%d/comm", pid);
    g_autofree char *comm = NULL;

    if (g_file_get_contents (comm_path, &comm, NULL, NULL))
      *out_name = g_strdup (g_strstrip (comm));
  }
  return TRUE;
#else
  *out_pid = 0;
  *out_name = NULL;
  return FALSE;
#endif
}
