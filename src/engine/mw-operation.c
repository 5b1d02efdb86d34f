/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-operation"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mw-backup-private.h"
#include "mw-db-private.h"
#include "mw-error.h"
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
  g_auto(MwJournal) j = { 0 };
  g_autoptr(sqlite3) check = NULL;

  g_return_val_if_fail (database_path != NULL && repaired_path != NULL, FALSE);

  check = mw_db_open (repaired_path, SQLITE_OPEN_READONLY, BUSY_TIMEOUT_MS, error);
  if (check == NULL || !mw_backup_check_copy (check, repaired_path, error))
    return FALSE;
  g_clear_pointer (&check, mw_db_close);

  mw_journal_init (&j, "repair", database_path);
  g_free (j.tmp);
  j.tmp = g_strdup (repaired_path);
  /* The repaired copy is complete and durable: from here on, a crash is finished. */
  if (!mw_fsync_path (repaired_path, FALSE, error) ||
      !mw_journal_write (database_path, &j, "copied", error) ||
      !mw_journal_finish (database_path, &j, error))
    return FALSE;

  g_message ("Replaced %s by its repaired copy; the damaged original is kept as %s",
             database_path, j.aside);
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
  g_auto(MwJournal) j = { 0 };
  g_autoptr(GError) local_error = NULL;
  g_autoptr(MwMigrator) migrator = NULL;
  g_autofree char *dir = backup_dir ? g_strdup (backup_dir) : mw_backup_default_dir (database_path);

  g_return_val_if_fail (database_path != NULL && MW_IS_MIGRATION_SET (set), FALSE);

  mw_journal_init (&j, "fresh", database_path);
  mw_remove_set (j.tmp);
  if (!mw_journal_write (database_path, &j, "backing-up", error))
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
              mw_journal_remove (database_path, NULL);
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
      mw_journal_remove (database_path, NULL);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), _("Nothing was changed: "));
      return FALSE;
    }

  if (!mw_journal_write (database_path, &j, "created", error) ||
      !mw_journal_finish (database_path, &j, error))
    return FALSE;

  if (out_aside != NULL)
    *out_aside = g_steal_pointer (&j.aside);
  return TRUE;
}
