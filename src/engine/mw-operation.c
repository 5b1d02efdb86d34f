/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-operation"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#ifdef G_OS_UNIX
# include <unistd.h>
#endif

#include "mw-backup-private.h"
#include "mw-db-private.h"
#include "mw-error.h"
#include "mw-fs-private.h"
#include "mw-migrator.h"
#include "mw-operation.h"

/*
 * Multi-step file operations that survive a crash at any point: Restore from Backup
 * and Backup & Start Fresh.
 *
 * Both build the new database beside the old one under a temporary name, then move the
 * old database aside together with its -wal, -shm and -journal, then rename the new
 * one into place. Before each step, the operation journal (`<db>.mw-operation`, a small
 * fsynced JSON file beside the database) records how far it got, so that at the next
 * start mw_operation_recover() either undoes an operation that had not yet reached
 * the point of no return (only our temporary file is removed) or finishes one that had
 * (the new database is verified and durable before anything of the old one moves).
 * Nothing the user had is ever deleted: the old set keeps its data under
 * `<db>.old.YYYYMMDD-HHMMSS`.
 */

#define BUSY_TIMEOUT_MS 5000

/* ---- one wizard per database ------------------------------------------------------- */

struct _MwInstanceLock
{
  int   fd;
  char *path;
};

/**
 * mw_instance_lock_acquire:
 *
 * Makes sure no other Migration Wizard works on @database_path at the same time. The
 * lock is a POSIX lock on `<db>.mw-lock`, never on the database file itself, whose
 * locks belong to SQLite.
 *
 * Returns: (transfer full): the lock, held until mw_instance_lock_release()
 */
MwInstanceLock *
mw_instance_lock_acquire (const char  *database_path,
                          GError     **error)
{
  MwInstanceLock *lock = g_new0 (MwInstanceLock, 1);

  lock->path = g_strconcat (database_path, ".mw-lock", NULL);
  lock->fd = -1;
#ifdef G_OS_UNIX
  {
    struct flock fl = { 0 };
    g_autofree char *pid = NULL;

    lock->fd = g_open (lock->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock->fd < 0)
      {
        /* A folder we cannot write to: the operation itself will say so. */
        return lock;
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
    pid = g_strdup_printf ("%d\n", (int) getpid ());
    if (ftruncate (lock->fd, 0) == 0 && write (lock->fd, pid, strlen (pid)) < 0)
      g_debug ("Could not write the pid to %s", lock->path);
  }
#endif
  return lock;
}

void
mw_instance_lock_release (MwInstanceLock *lock)
{
  if (lock == NULL)
    return;
#ifdef G_OS_UNIX
  if (lock->fd >= 0)
    close (lock->fd);
#endif
  g_free (lock->path);
  g_free (lock);
}

/* ---- the journal ------------------------------------------------------------------- */

typedef struct
{
  char *operation;   /* "restore" or "fresh" */
  char *step;
  char *tmp;         /* the new database, under its temporary name */
  char *aside;       /* where the old set goes */
  char *started;
} Journal;

static void
journal_clear (Journal *j)
{
  g_free (j->operation);
  g_free (j->step);
  g_free (j->tmp);
  g_free (j->aside);
  g_free (j->started);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Journal, journal_clear)

char *
mw_operation_journal_path (const char *database_path)
{
  return g_strconcat (database_path, ".mw-operation", NULL);
}

static gboolean
journal_write (const char  *database_path,
               Journal     *j,
               const char  *step,
               GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = mw_operation_journal_path (database_path);
  g_autofree char *dir = g_path_get_dirname (database_path);
  g_autofree char *text = NULL;

  g_free (j->step);
  j->step = g_strdup (step);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "operation");
  json_builder_add_string_value (builder, j->operation);
  json_builder_set_member_name (builder, "step");
  json_builder_add_string_value (builder, j->step);
  json_builder_set_member_name (builder, "tmp");
  json_builder_add_string_value (builder, j->tmp);
  json_builder_set_member_name (builder, "aside");
  json_builder_add_string_value (builder, j->aside);
  json_builder_set_member_name (builder, "started");
  json_builder_add_string_value (builder, j->started);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);

  if (!g_file_set_contents_full (path, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, error))
    return FALSE;
  return mw_fsync_path (dir, TRUE, error);
}

static gboolean
journal_read (const char *database_path,
              Journal    *j)
{
  g_autofree char *path = mw_operation_journal_path (database_path);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *obj;

  if (!json_parser_load_from_file (parser, path, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return FALSE;
  obj = json_node_get_object (json_parser_get_root (parser));
  j->operation = g_strdup (json_object_get_string_member_with_default (obj, "operation", ""));
  j->step = g_strdup (json_object_get_string_member_with_default (obj, "step", ""));
  j->tmp = g_strdup (json_object_get_string_member_with_default (obj, "tmp", ""));
  j->aside = g_strdup (json_object_get_string_member_with_default (obj, "aside", ""));
  j->started = g_strdup (json_object_get_string_member_with_default (obj, "started", ""));
  return TRUE;
}

static gboolean
journal_remove (const char  *database_path,
                GError     **error)
{
  g_autofree char *path = mw_operation_journal_path (database_path);
  g_autofree char *dir = g_path_get_dirname (database_path);

  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot remove %s: %s"), path, g_strerror (saved));
      return FALSE;
    }
  return mw_fsync_path (dir, TRUE, error);
}

/* The last steps, shared by an operation and its recovery: old set aside, new database
 * in place, journal gone. */
static gboolean
finish (const char  *database_path,
        Journal     *j,
        GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (database_path);

  if (g_strcmp0 (j->step, "moved") != 0)
    {
      /* A damaged original is moved exactly as it is; anything else is let SQLite roll
       * back a hot journal first. */
      if (g_strcmp0 (j->operation, "repair") != 0)
        mw_settle_with_sqlite (database_path);
      if (!mw_move_set_aside (database_path, j->aside, error) ||
          !journal_write (database_path, j, "moved", error))
        return FALSE;
    }

  if (g_file_test (j->tmp, G_FILE_TEST_EXISTS))
    {
      /* Something (the POS?) created a new database in between: keep it too. */
      if (g_file_test (database_path, G_FILE_TEST_EXISTS))
        {
          g_autofree char *other = mw_unique_aside (database_path, "old");

          if (!mw_move_set_aside (database_path, other, error))
            return FALSE;
        }
      if (!mw_rename (j->tmp, database_path, error) || !mw_fsync_path (dir, TRUE, error))
        return FALSE;
    }

  return journal_remove (database_path, error);
}

/**
 * mw_operation_recover:
 *
 * Finishes or undoes an operation a crash interrupted. Call it before anything else.
 *
 * Returns: (transfer full) (nullable): what was done, for the person; %NULL if there
 *   was nothing to recover (or on error, with @error set)
 */
char *
mw_operation_recover (const char  *database_path,
                      GError     **error)
{
  g_autofree char *path = mw_operation_journal_path (database_path);
  g_auto(Journal) j = { 0 };
  const char *what;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;

  if (!journal_read (database_path, &j) || j.tmp[0] == '\0' || j.aside[0] == '\0')
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                   _("An interrupted operation left %s, which cannot be read. Nothing was "
                     "changed; contact support."), path);
      return NULL;
    }

  what = g_str_equal (j.operation, "fresh") ? _("Start fresh")
       : g_str_equal (j.operation, "repair") ? _("Use the repaired database")
       : g_str_equal (j.operation, "failed-restore") ? _("Restoring the backup after a failed update")
       : _("Restore from backup");

  if (g_str_equal (j.step, "copied") || g_str_equal (j.step, "created") ||
      g_str_equal (j.step, "moved"))
    {
      if (!finish (database_path, &j, error))
        return NULL;
      return g_strdup_printf (_("“%s” was interrupted and has now been completed. The "
                                "previous database was kept as %s."), what, j.aside);
    }

  mw_remove_set (j.tmp);
  if (!journal_remove (database_path, error))
    return NULL;
  return g_strdup_printf (_("“%s” was interrupted before it changed anything, and has been "
                            "undone. The database is as it was."), what);
}

/* ---- restore ----------------------------------------------------------------------- */

static gboolean
copy_backup_to (const char    *backup_path,
                const char    *tmp,
                MwProgress    *progress,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autoptr(sqlite3) src = NULL;
  g_autoptr(sqlite3) check = NULL;
  int pages = 0;

  src = mw_db_open (backup_path, SQLITE_OPEN_READONLY, BUSY_TIMEOUT_MS, error);
  if (src == NULL)
    return FALSE;
  if (!mw_copy_through_sqlite (src, tmp, progress, cancellable, &pages, error) ||
      !mw_fsync_path (tmp, FALSE, error))
    return FALSE;
  check = mw_db_open (tmp, SQLITE_OPEN_READONLY, BUSY_TIMEOUT_MS, error);
  return check != NULL && mw_backup_check_copy (check, tmp, error);
}

static void
journal_init (Journal    *j,
              const char *operation,
              const char *database_path)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  j->operation = g_strdup (operation);
  j->tmp = g_strconcat (database_path, ".mw-", operation, NULL);
  j->aside = mw_unique_aside (database_path, "old");
  j->started = g_date_time_format_iso8601 (now);
}

/**
 * mw_restore:
 * @backup: a backup from mw_backup_list(); checked in full before it is used
 * @out_aside: (out) (optional): where the previous database was kept
 *
 * Replaces the database with @backup. The current database is first backed up (when
 * SQLite can read it) and then kept, with its -wal/-shm/-journal, as
 * `<db>.old.YYYYMMDD-HHMMSS`. Crash-safe through the operation journal.
 */
gboolean
mw_restore (const char      *database_path,
            MwBackup        *backup,
            const char      *backup_dir,
            MwMigrationSet  *set,
            MwProgress      *progress,
            GCancellable    *cancellable,
            char           **out_aside,
            GError         **error)
{
  g_auto(Journal) j = { 0 };
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (database_path != NULL && backup != NULL, FALSE);

  if (!mw_backup_verify (backup, cancellable, error))
    return FALSE;

  /* The database as it is now is worth a backup too, if SQLite can read it. */
  if (g_file_test (database_path, G_FILE_TEST_EXISTS))
    {
      g_autoptr(MwBackup) before = mw_backup_create (database_path, backup_dir,
                                                     MW_BACKUP_REASON_PRE_RESTORE, set, NULL,
                                                     cancellable, &local_error);

      if (before == NULL &&
          !g_error_matches (local_error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT) &&
          !g_error_matches (local_error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_NOT_A_DATABASE))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      _("Nothing was changed: "));
          return FALSE;
        }
      g_clear_error (&local_error);
    }

  journal_init (&j, "restore", database_path);
  mw_remove_set (j.tmp);
  if (!journal_write (database_path, &j, "copying", error))
    return FALSE;

  if (progress != NULL)
    mw_progress_update (progress, 0.0, _("Restoring the backup"));
  if (!copy_backup_to (backup->path, j.tmp, progress, cancellable, &local_error))
    {
      mw_remove_set (j.tmp);
      journal_remove (database_path, NULL);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), _("Nothing was changed: "));
      return FALSE;
    }

  /* The point of no return: the restored database is complete and durable. */
  if (!journal_write (database_path, &j, "copied", error) || !finish (database_path, &j, error))
    return FALSE;

  if (out_aside != NULL)
    *out_aside = g_steal_pointer (&j.aside);
  return TRUE;
}

/* ---- start fresh ------------------------------------------------------------------- */

static gboolean
raw_copy_set (const char  *database_path,
              const char  *backup_dir,
              GError     **error)
{
  g_autofree char *target = mw_raw_copy_set (database_path, backup_dir, error);

  return target != NULL;
}

/**
 * mw_repair_swap:
 * @repaired_path: the repaired copy, beside the database (from mw_repair())
 * @out_aside: (out) (optional): where the damaged original was kept
 *
 * Puts a repaired copy in place of the damaged database, through the operation
 * journal: the original set is kept, untouched, as `<db>.old.YYYYMMDD-HHMMSS`. The
 * copy is checked (`quick_check`) first.
 */
gboolean
mw_repair_swap (const char  *database_path,
                const char  *repaired_path,
                char       **out_aside,
                GError     **error)
{
  g_auto(Journal) j = { 0 };
  g_autoptr(sqlite3) check = NULL;

  g_return_val_if_fail (database_path != NULL && repaired_path != NULL, FALSE);

  check = mw_db_open (repaired_path, SQLITE_OPEN_READONLY, BUSY_TIMEOUT_MS, error);
  if (check == NULL || !mw_backup_check_copy (check, repaired_path, error))
    return FALSE;
  g_clear_pointer (&check, mw_db_close);

  journal_init (&j, "repair", database_path);
  g_free (j.tmp);
  j.tmp = g_strdup (repaired_path);
  /* The repaired copy is complete and durable: from here on, a crash is finished. */
  if (!mw_fsync_path (repaired_path, FALSE, error) ||
      !journal_write (database_path, &j, "copied", error) || !finish (database_path, &j, error))
    return FALSE;

  g_message ("Replaced %s by its repaired copy; the damaged original is kept as %s",
             database_path, j.aside);
  if (out_aside != NULL)
    *out_aside = g_steal_pointer (&j.aside);
  return TRUE;
}

/**
 * mw_restore_after_failure:
 * @backup: the verified backup made just before the failed update
 * @out_failed_aside: (out) (optional): where the failed database set was kept
 *
 * After an update failed in a way that may have left the database changed (the
 * check after committing found damage, or it could not be rolled back): keeps the
 * failed set, with its -wal/-shm/-journal, as `<db>.failed.YYYYMMDD-HHMMSS`, and puts
 * a copy of @backup in its place. Crash-safe through the operation journal, like a
 * restore; no second backup is made, since the failed set itself is kept.
 */
gboolean
mw_restore_after_failure (const char    *database_path,
                          MwBackup      *backup,
                          MwProgress    *progress,
                          char         **out_failed_aside,
                          GError       **error)
{
  g_auto(Journal) j = { 0 };

  g_return_val_if_fail (database_path != NULL && backup != NULL, FALSE);

  if (!mw_backup_verify (backup, NULL, error))
    return FALSE;

  journal_init (&j, "failed-restore", database_path);
  g_free (j.aside);
  j.aside = mw_unique_aside (database_path, "failed");
  mw_remove_set (j.tmp);
  if (!journal_write (database_path, &j, "copying", error))
    return FALSE;

  if (progress != NULL)
    mw_progress_update (progress, 0.0, _("Restoring the backup"));
  if (!copy_backup_to (backup->path, j.tmp, progress, NULL, error))
    {
      mw_remove_set (j.tmp);
      journal_remove (database_path, NULL);
      return FALSE;
    }

  if (!journal_write (database_path, &j, "copied", error) || !finish (database_path, &j, error))
    return FALSE;

  g_message ("Kept the failed database as %s and restored %s", j.aside, backup->path);
  if (out_failed_aside != NULL)
    *out_failed_aside = g_steal_pointer (&j.aside);
  return TRUE;
}

/* ---- bounding the sets kept aside -------------------------------------------------- */

/* The local time in an aside's name (`<db>.old.YYYYMMDD-HHMMSS[-N]`), or NULL. */
static GDateTime *
aside_time (const char *stamp)
{
  int y, mo, d, h, mi, se;

  if (sscanf (stamp, "%4d%2d%2d-%2d%2d%2d", &y, &mo, &d, &h, &mi, &se) != 6)
    return NULL;
  return g_date_time_new_local (y, mo, d, h, mi, se);
}

/* A verified backup of what the set held: restore and fresh start back the database
 * up (pre-restore, pre-fresh) within moments of moving it aside. */
static MwBackup *
covering_backup (GPtrArray *backups,
                 GDateTime *moved)
{
  for (guint i = 0; backups != NULL && i < backups->len; i++)
    {
      MwBackup *b = g_ptr_array_index (backups, i);
      GTimeSpan gap;

      if (!b->verified || (b->reason != MW_BACKUP_REASON_PRE_RESTORE &&
                           b->reason != MW_BACKUP_REASON_PRE_FRESH))
        continue;
      gap = g_date_time_difference (moved, b->created);
      if (gap >= -5 * G_TIME_SPAN_MINUTE && gap <= 30 * G_TIME_SPAN_MINUTE)
        return b;
    }
  return NULL;
}

static int
compare_names_desc (gconstpointer a,
                    gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) b, *(const char * const *) a);
}

/**
 * mw_prune_aside_sets:
 * @keep: how many of the newest `.old.*` sets to keep (at least 1)
 *
 * Bounds the databases that restore and fresh start kept aside beside @database_path:
 * beyond the newest @keep, a set is removed — whole, with its -wal/-shm/-journal —
 * only when a verified backup of it exists (the pre-restore or pre-fresh backup made
 * as it was moved), so nothing the shop had is lost. The newest set is never
 * removed, nor any `.failed.*` set (no backup holds what a failed update left).
 * Each removal is logged.
 *
 * Returns: (transfer full) (element-type utf8): the sets removed
 */
GPtrArray *
mw_prune_aside_sets (const char  *database_path,
                     const char  *backup_dir,
                     guint        keep,
                     GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (database_path);
  g_autofree char *base = g_path_get_basename (database_path);
  g_autofree char *prefix = g_strconcat (base, ".old.", NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) backups = NULL;
  g_autoptr(GDir) d = NULL;
  const char *name;

  d = g_dir_open (dir, 0, error);
  if (d == NULL)
    return NULL;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      gboolean companion = FALSE;

      for (guint k = 1; k < G_N_ELEMENTS (mw_set_suffixes); k++)
        companion |= g_str_has_suffix (name, mw_set_suffixes[k]);
      if (g_str_has_prefix (name, prefix) && !companion)
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, compare_names_desc);
  if (names->len <= MAX (keep, 1))
    return g_steal_pointer (&removed);

  backups = mw_backup_list (backup_dir, NULL);
  for (guint i = MAX (keep, 1); i < names->len; i++)
    {
      const char *set_name = g_ptr_array_index (names, i);
      g_autoptr(GDateTime) moved = aside_time (set_name + strlen (prefix));
      g_autofree char *path = g_build_filename (dir, set_name, NULL);
      MwBackup *backup = moved ? covering_backup (backups, moved) : NULL;

      if (backup == NULL)
        {
          g_debug ("Kept %s: no verified backup of it", path);
          continue;
        }
      for (guint k = 0; k < G_N_ELEMENTS (mw_set_suffixes); k++)
        {
          g_autofree char *member = g_strconcat (path, mw_set_suffixes[k], NULL);

          if (g_unlink (member) != 0 && errno != ENOENT)
            g_warning ("Could not remove %s: %s", member, g_strerror (errno));
        }
      g_message ("Removed the old database %s (kept the newest %u; its backup is %s)", path,
                 MAX (keep, 1), backup->path);
      g_ptr_array_add (removed, g_steal_pointer (&path));
    }
  mw_fsync_path (dir, TRUE, NULL);
  return g_steal_pointer (&removed);
}

/**
 * mw_fresh_start:
 * @out_aside: (out) (optional): where the previous database was kept
 *
 * Backs the database up (through SQLite when it can read it, else as a raw copy of the
 * whole set), keeps it aside as `<db>.old.YYYYMMDD-HHMMSS`, and puts a new, fully
 * migrated database in its place. Crash-safe through the operation journal.
 */
gboolean
mw_fresh_start (const char      *database_path,
                const char      *backup_dir,
                MwMigrationSet  *set,
                MwProgress      *progress,
                GCancellable    *cancellable,
                char           **out_aside,
                GError         **error)
{
  g_auto(Journal) j = { 0 };
  g_autoptr(GError) local_error = NULL;
  g_autoptr(MwMigrator) migrator = NULL;
  g_autofree char *dir = backup_dir ? g_strdup (backup_dir) : mw_backup_default_dir (database_path);

  g_return_val_if_fail (database_path != NULL && MW_IS_MIGRATION_SET (set), FALSE);

  journal_init (&j, "fresh", database_path);
  mw_remove_set (j.tmp);
  if (!journal_write (database_path, &j, "backing-up", error))
    return FALSE;

  if (g_file_test (database_path, G_FILE_TEST_EXISTS))
    {
      g_autoptr(MwBackup) backup = mw_backup_create (database_path, dir, MW_BACKUP_REASON_PRE_FRESH,
                                                     set, progress, cancellable, &local_error);

      if (backup == NULL)
        {
          g_clear_error (&local_error);
          if (!raw_copy_set (database_path, dir, &local_error))
            {
              journal_remove (database_path, NULL);
              g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                          _("No backup could be made, so nothing was changed: "));
              return FALSE;
            }
        }
    }

  if (progress != NULL)
    mw_progress_update (progress, 0.0, _("Creating a new database"));
  migrator = mw_migrator_new (j.tmp, set);
  mw_migrator_set_backup (migrator, FALSE, NULL);
  if (!mw_migrator_run (migrator, cancellable, &local_error) ||
      !mw_fsync_path (j.tmp, FALSE, &local_error))
    {
      mw_remove_set (j.tmp);
      journal_remove (database_path, NULL);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), _("Nothing was changed: "));
      return FALSE;
    }

  if (!journal_write (database_path, &j, "created", error) || !finish (database_path, &j, error))
    return FALSE;

  if (out_aside != NULL)
    *out_aside = g_steal_pointer (&j.aside);
  return TRUE;
}
