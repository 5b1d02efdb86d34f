/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-restore"

#include "config.h"

#include <glib/gi18n-lib.h>
#ifdef G_OS_UNIX
# include <unistd.h>
#endif

#include "mw-backup-private.h"
#include "mw-db-private.h"
#include "mw-error.h"
#include "mw-fs-private.h"
#include "mw-journal-private.h"
#include "mw-restore.h"

/*
 * Putting a backup back in place of the database: on request (Restore from Backup),
 * and after an update failed in a way that may have left the database changed. Both
 * go through the operation journal (mw-journal.c), so a crash at any point is undone
 * or finished at the next start; the database they replace is kept aside, never
 * deleted.
 */

#define BUSY_TIMEOUT_MS 5000

/* A checked copy of the backup at @tmp, made through SQLite and fsynced. */
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
  int fd;

  src = mw_db_open (backup_path, SQLITE_OPEN_READONLY, BUSY_TIMEOUT_MS, error);
  if (src == NULL)
    return FALSE;
  /* Our own new, private file: never one planted at the name. It gets the replaced
   * database's permissions when it takes its place. */
  fd = mw_fs_create_exclusive (tmp, 0600, error);
  if (fd < 0)
    return FALSE;
  close (fd);
  if (!mw_copy_through_sqlite (src, tmp, progress, cancellable, &pages, error) ||
      !mw_fsync_path (tmp, FALSE, error))
    return FALSE;
  check = mw_db_open (tmp, SQLITE_OPEN_READONLY, BUSY_TIMEOUT_MS, error);
  return check != NULL && mw_backup_check_copy (check, tmp, error);
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
  g_auto(MwJournal) j = { 0 };
  g_autoptr(GError) local_error = NULL;
  g_autoptr(MwBackup) before = NULL;
  g_autofree char *before_sha256 = NULL;

  g_return_val_if_fail (database_path != NULL && backup != NULL, FALSE);

  mw_journal_init (&j, "restore", database_path);
  if (!mw_journal_check_names (&j, error) ||
      !mw_backup_verify (backup, progress, cancellable, error))
    return FALSE;

  /* The database as it is now is worth a backup too, if SQLite can read it. */
  if (g_file_test (database_path, G_FILE_TEST_EXISTS))
    {
      before_sha256 = mw_set_digest (database_path, NULL);
      before = mw_backup_create (database_path, backup_dir, MW_BACKUP_REASON_PRE_RESTORE, set,
                                 progress, cancellable, &local_error);

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

  mw_remove_set (j.tmp);
  if (!mw_journal_write (database_path, &j, "copying", &local_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), _("Nothing was changed: "));
      return FALSE;
    }

  if (progress != NULL)
    mw_progress_update (progress, 0.0, _("Restoring the backup"));
  if (!copy_backup_to (backup->path, j.tmp, progress, cancellable, &local_error))
    {
      mw_remove_set (j.tmp);
      mw_journal_remove (database_path, NULL);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), _("Nothing was changed: "));
      return FALSE;
    }

  /* The point of no return: the restored database is complete and durable. */
  if (!mw_journal_write (database_path, &j, "copied", &local_error))
    {
      mw_remove_set (j.tmp);
      mw_journal_remove (database_path, NULL);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), _("Nothing was changed: "));
      return FALSE;
    }
  if (!mw_journal_finish (database_path, &j, &local_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  _("The restore could not be completed yet; it will be, the "
                                    "next time the wizard runs: "));
      return FALSE;
    }
  mw_backup_record_aside (before, before_sha256, j.aside);

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
  g_auto(MwJournal) j = { 0 };
  g_autofree char *canonical = g_canonicalize_filename (database_path, NULL);

  g_return_val_if_fail (database_path != NULL && backup != NULL, FALSE);

  if (!mw_backup_verify (backup, progress, NULL, error))
    return FALSE;

  mw_journal_init (&j, "failed-restore", database_path);
  g_free (j.aside);
  j.aside = mw_unique_aside (canonical, "failed");
  if (!mw_journal_check_names (&j, error))
    return FALSE;
  mw_remove_set (j.tmp);
  if (!mw_journal_write (database_path, &j, "copying", error))
    return FALSE;

  if (progress != NULL)
    mw_progress_update (progress, 0.0, _("Restoring the backup"));
  if (!copy_backup_to (backup->path, j.tmp, progress, NULL, error))
    {
      mw_remove_set (j.tmp);
      mw_journal_remove (database_path, NULL);
      return FALSE;
    }

  if (!mw_journal_write (database_path, &j, "copied", error))
    {
      mw_remove_set (j.tmp);
      mw_journal_remove (database_path, NULL);
      return FALSE;
    }
  if (!mw_journal_finish (database_path, &j, error))
    return FALSE;

  g_message ("Kept the failed database as %s and restored %s", j.aside, backup->path);
  if (out_failed_aside != NULL)
    *out_failed_aside = g_steal_pointer (&j.aside);
  return TRUE;
}
