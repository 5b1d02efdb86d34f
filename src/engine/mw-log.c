/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-log"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#ifdef G_OS_UNIX
# include <fcntl.h>
# include <sys/stat.h>
# include <unistd.h>
#endif

#include "mw-log.h"
#include "mw-support.h"

/*
 * The operation log.
 *
 * Lines are kept in memory for this run (mw_log_dup_text()) and, once mw_log_set_file()
 * names a file, appended to that file too. Engine workers log from their threads, so
 * everything below runs under one mutex, file writes included: lines reach the file
 * whole and in order, and a rotation never interleaves with a write.
 *
 * The file is a convenience, never a reason to stop the wizard: every failure (no
 * folder yet, a full disk, a symlink planted at the path) is ignored. Lines the file
 * could not be opened for are tried again with the next line, so what was logged
 * before the backups folder existed still reaches it. The file is opened for each
 * write: O_NOFOLLOW refuses a symlink at the path instead of writing wherever it
 * points, O_APPEND lets two wizards sharing a folder interleave lines without
 * overwriting each other's, O_NONBLOCK makes a FIFO without a reader fail instead of
 * blocking. What goes to the file is redacted like a support bundle: the file
 * outlives the run and is what a shop most easily sends to anyone who asks.
 */

static GMutex log_mutex;
static GString *log_text;     /* this run's lines */
static char *log_path;        /* (nullable) the file lines are appended to */
static gsize log_written;     /* how much of log_text went to a file (or was given up) */

#ifdef G_OS_UNIX
/* The log lives beside the backups: only in a folder that is the user's own and
 * private (as the backups code makes or requires it), never in a shared one like
 * /tmp that the wizard refuses to keep backups in. */
static gboolean
folder_is_private (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  GStatBuf st;

  return g_lstat (dir, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == geteuid () &&
         (st.st_mode & (S_IWGRP | S_IWOTH | S_ISVTX)) == 0;
}

static int
open_log_file (const char *path)
{
  int fd;

  if (!folder_is_private (path))
    {
      errno = EACCES;
      return -1;
    }
  do
    fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
               0600);
  while (fd < 0 && errno == EINTR);
  return fd;
}

/* Opens the file and checks it is a regular file; -1 with nothing open otherwise. */
static int
open_regular_log_file (const char *path,
                       GStatBuf   *st)
{
  int fd = open_log_file (path);

  if (fd >= 0 && (fstat (fd, st) != 0 || !S_ISREG (st->st_mode)))
    {
      close (fd);
      fd = -1;
    }
  return fd;
}

static void
write_all (int         fd,
           const char *data,
           gsize       len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      data += n;
      len -= (gsize) n;
    }
}

/* Appends what the file does not have yet. Called with the mutex held. */
static void
write_pending (void)
{
  g_autofree char *redacted = NULL;
  gsize pending;
  GStatBuf st;
  gsize len;
  int fd;

  if (log_path == NULL || log_written >= log_text->len)
    return;
  pending = log_text->len - log_written;

  fd = open_regular_log_file (log_path, &st);
  if (fd < 0)
    {
      /* Retried with the next line, unless that has become a lot to carry. */
      if (pending > MW_LOG_FILE_MAX_SIZE)
        log_written = log_text->len;
      return;
    }

  redacted = mw_support_redact (log_text->str + log_written);
  len = strlen (redacted);

  if (st.st_size > 0 && (guint64) st.st_size + len > MW_LOG_FILE_MAX_SIZE)
    {
      g_autofree char *old = g_strconcat (log_path, ".1", NULL);

      close (fd);
      /* rename() replaces the previous old log and moves a symlink planted at
       * either name, never what it points to. */
      if (g_rename (log_path, old) != 0)
        {
          if (pending > MW_LOG_FILE_MAX_SIZE)
            log_written = log_text->len;
          return;
        }
      fd = open_regular_log_file (log_path, &st);
      if (fd < 0)
        return;
    }

  /* A file made by someone else's umask, or an older version, gets our mode. */
  if ((st.st_mode & 0077) != 0 && st.st_uid == geteuid ())
    fchmod (fd, 0600);

  write_all (fd, redacted, len);
  close (fd);
  log_written = log_text->len;
}
#else
static void
write_pending (void)
{
  log_written = log_text->len;
}
#endif

static void
log_append (const char *line)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%d %H:%M:%S");

  g_mutex_lock (&log_mutex);
  if (log_text == NULL)
    log_text = g_string_new (NULL);
  g_string_append_printf (log_text, "%s  %s\n", stamp, line);
  write_pending ();
  g_mutex_unlock (&log_mutex);
}

static GLogWriterOutput
log_writer_cb (GLogLevelFlags   log_level,
               const GLogField *fields,
               gsize            n_fields,
               gpointer         user_data)
{
  if ((log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING |
                    G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)) != 0)
    {
      const char *message = NULL;
      const char *domain = NULL;

      for (gsize i = 0; i < n_fields; i++)
        {
          if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0)
            message = fields[i].value;
          else if (g_str_equal (fields[i].key, "GLIB_DOMAIN") && fields[i].length < 0)
            domain = fields[i].value;
        }
      if (message != NULL && domain != NULL && g_str_has_prefix (domain, "mw-"))
        log_append (message);
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

/**
 * mw_log_install:
 *
 * Sends the engine's and the fronts' log messages (domains starting with "mw-") to
 * the operation log too; they still reach the terminal or the journal as before.
 * Calling it again does nothing.
 */
void
mw_log_install (void)
{
  static gsize installed = 0;

  if (g_once_init_enter (&installed))
    {
      g_log_set_writer_func (log_writer_cb, NULL, NULL);
      g_once_init_leave (&installed, 1);
    }
}

/**
 * mw_log_set_file:
 * @path: (nullable): the log file, e.g. `backups/migration-wizard.log`; %NULL stops
 *   writing to a file
 *
 * Appends every line of the log, redacted, to @path from now on, starting with the
 * lines this run logged before a file was first set. The file is created with mode
 * 0600 and kept under %MW_LOG_FILE_MAX_SIZE, the previous part as `<path>.1`. A
 * symlink at @path is not followed. Failures to write are ignored; lines wait while
 * the file's folder does not exist yet.
 */
void
mw_log_set_file (const char *path)
{
  g_mutex_lock (&log_mutex);
  if (g_strcmp0 (path, log_path) != 0)
    {
      g_free (log_path);
      log_path = g_strdup (path);
      if (log_text == NULL)
        log_text = g_string_new (NULL);
      write_pending ();
    }
  g_mutex_unlock (&log_mutex);
}

/**
 * mw_log_add:
 *
 * Adds a line to the operation log (only the log, not the terminal).
 */
void
mw_log_add (const char *format,
            ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  log_append (line);
}

/**
 * mw_log_dup_text:
 *
 * Returns: (transfer full): this run's log so far, one line per entry, as logged
 *   (not redacted)
 */
char *
mw_log_dup_text (void)
{
  char *text;

  g_mutex_lock (&log_mutex);
  text = g_strdup (log_text ? log_text->str : "");
  g_mutex_unlock (&log_mutex);
  return text;
}

/**
 * mw_log_dup_file_text:
 * @path: a log file mw_log_set_file() wrote
 *
 * The log's history across runs: the previous part (`<path>.1`) then @path, as
 * written (redacted). Lines this run has not written yet are not in it.
 *
 * Returns: (transfer full): the text ("" when there is none)
 */
char *
mw_log_dup_file_text (const char *path)
{
  g_autofree char *old_path = g_strconcat (path, ".1", NULL);
  g_autofree char *old = NULL;
  g_autofree char *current = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  g_mutex_lock (&log_mutex);
  if (!g_file_get_contents (old_path, &old, NULL, NULL))
    old = g_strdup ("");
  if (!g_file_get_contents (path, &current, NULL, NULL))
    current = g_strdup ("");
  g_mutex_unlock (&log_mutex);
  return g_strconcat (old, current, NULL);
}
