/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-operation"

#include "config.h"

#include <glib/gi18n-lib.h>
#ifdef G_OS_UNIX
# include <unistd.h>
#endif

#include "mw-backup-private.h"
#include "mw-db-private.h"
#include "mw-fs-private.h"
#include "mw-journal-private.h"
#include "mw-migrator.h"
#include "mw-operation.h"

/*
 * Multi-step file operations that survive a crash at any point: Backup & Start Fresh,
 * and putting a repaired copy in place of a damaged database.
 *
 * Both go through the operation journal (mw-journal.c): the new database is built
 * beside the old one under a temporary name, made durable, and only then is the old
 * set moved aside, whole, as `<db>.old.YYYYMMDD-HHMMSS`, and the new one renamed into
 * place. Nothing the user had is ever deleted.
 */

#define BUSY_TIMEOUT_MS 5000

/* ---- a repaired copy in place ------------------------------------------------------ */

/* A prepared copy in place of the database, through the operation journal: the copy
 * is checked, then from the journal's "copied" on a crash is finished, the original
 * kept aside whole as `.old.<stamp>`. */
static gboolean
swap_in (const char  *database_path,
         const char  *new_path,
         const char  *operation,
         char       **out_aside,
         GError     **error)
{
  g_auto(MwJournal) j = { 0 };
  g_autoptr(sqlite3) check = NULL;
  g_autoptr(GError) local_error = NULL;

  check = mw_db_open (new_path, SQLITE_OPEN_READONLY, BUSY_TIMEOUT_MS, error);
  if (check == NULL || !mw_backup_check_copy (check, new_path, error))
    return FALSE;
  g_clear_pointer (&check, mw_db_close);

  mw_journal_init (&j, operation, database_path);
  g_free (j.tmp);
  j.tmp = g_canonicalize_filename (new_path, NULL);
  if (!mw_journal_check_names (&j, error))
    return FALSE;
  /* The copy is complete and durable: from here on, a crash is finished. */
  if (!mw_fsync_path (new_path, FALSE, error))
    return FALSE;
  if (!mw_journal_write (database_path, &j, "copied", error))
    {
      mw_journal_remove (database_path, NULL);
      return FALSE;
    }
  if (!mw_journal_finish (database_path, &j, &local_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  _("The new database could not be put in place yet; it will "
                                    "be, the next time the wizard runs: "));
      return FALSE;
    }

  g_message ("Replaced %s by %s; the previous database is kept as %s", database_path, new_path,
             j.aside);
  if (out_aside != NULL)
    *out_aside = g_steal_pointer (&j.aside);
  return TRUE;
}

/**
 * mw_repair_swap:
 * @out_aside: (out) (optional): where the damaged original was kept
 *
 * Puts a repaired copy in place of the damaged database, which is kept aside exactly
 * as it was (`.old.YYYYMMDD-HHMMSS`). Crash-safe through the operation journal.
 */
gboolean
mw_repair_swap (const char  *database_path,
                const char  *repaired_path,
                char       **out_aside,
                GError     **error)
{
  g_return_val_if_fail (database_path != NULL && repaired_path != NULL, FALSE);
  return swap_in (database_path, repaired_path, "repair", out_aside, error);
}

/**
 * mw_adopt_swap:
 * @out_aside: (out) (optional): where the original was kept
 *
 * Puts a database that carries the shop's data into the app's schema in place of the
 * original, which is kept aside whole (`.old.YYYYMMDD-HHMMSS`). Crash-safe through
 * the operation journal.
 */
gboolean
mw_adopt_swap (const char  *database_path,
               const char  *adopted_path,
               char       **out_aside,
               GError     **error)
{
  g_return_val_if_fail (database_path != NULL && adopted_path != NULL, FALSE);
  return swap_in (database_path, adopted_path, "adopt", out_aside, error);
}

/* ---- start fresh ------------------------------------------------------------------- */

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
  g_auto(MwJournal) j = { 0 };
  g_autoptr(GError) local_error = NULL;
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(MwBackup) backup = NULL;
  g_autofree char *before_sha256 = NULL;
  g_autofree char *dir = backup_dir ? g_strdup (backup_dir) : mw_backup_default_dir (database_path);
  int fd;

  g_return_val_if_fail (database_path != NULL && MW_IS_MIGRATION_SET (set), FALSE);

  mw_journal_init (&j, "fresh", database_path);
  if (!mw_journal_check_names (&j, error))
    return FALSE;
  mw_remove_set (j.tmp);
  if (!mw_journal_write (database_path, &j, "backing-up", &local_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), _("Nothing was changed: "));
      return FALSE;
    }

  if (g_file_test (database_path, G_FILE_TEST_EXISTS))
    {
      before_sha256 = mw_set_digest (database_path, NULL);
      backup = mw_backup_create (database_path, dir, MW_BACKUP_REASON_PRE_FRESH, set, progress,
                                 cancellable, &local_error);
      if (backup == NULL)
        {
          g_autofree char *raw = NULL;

          g_clear_error (&local_error);
          /* The copy made before SQLite touched a hot journal holds these bytes already. */
          if (before_sha256 != NULL)
            raw = mw_set_find_raw_copy (dir, database_path, before_sha256);
          if (raw == NULL)
            raw = mw_raw_copy_set (database_path, dir, &local_error);
          if (raw == NULL)
            {
              mw_journal_remove (database_path, NULL);
              g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                          _("No backup could be made, so nothing was changed: "));
              return FALSE;
            }
        }
    }

  if (progress != NULL)
    mw_progress_update (progress, 0.0, _("Creating a new database"));
  /* Our own new, private file: never one planted at the name. */
  fd = mw_fs_create_exclusive (j.tmp, 0600, &local_error);
  if (fd >= 0)
    {
      close (fd);
      migrator = mw_migrator_new (j.tmp, set);
      mw_migrator_set_backup (migrator, FALSE, NULL);
    }
  if (fd < 0 || !mw_migrator_run (migrator, cancellable, &local_error) ||
      !mw_fsync_path (j.tmp, FALSE, &local_error) ||
      !mw_journal_write (database_path, &j, "created", &local_error))
    {
      mw_remove_set (j.tmp);
      mw_journal_remove (database_path, NULL);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), _("Nothing was changed: "));
      return FALSE;
    }

  if (!mw_journal_finish (database_path, &j, &local_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  _("Start fresh could not be completed yet; it will be, the "
                                    "next time the wizard runs: "));
      return FALSE;
    }
  mw_backup_record_aside (backup, before_sha256, j.aside);

  if (out_aside != NULL)
    *out_aside = g_steal_pointer (&j.aside);
  return TRUE;
}
