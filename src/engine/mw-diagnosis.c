/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-diagnosis"

#include "config.h"

#include <errno.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#ifdef G_OS_UNIX
# include <unistd.h>
#endif
#ifndef W_OK
# define W_OK 2   /* Windows' _access() takes the same value */
#endif

#include "mw-db-private.h"
#include "mw-diagnosis.h"
#include "mw-error.h"
#include "mw-fs-private.h"
#include "mw-history-private.h"
#include "mw-lock-holder-private.h"
#include "mw-rehearsal-private.h"
#include "mw-verify.h"

/*
 * Diagnosis: which of the closed set of states a database is in, read without
 * changing anything and without scanning tables, so that the after-update start of
 * an up-to-date shop costs milliseconds whatever the database's size.
 *
 * The order of the checks is the order of what a person must fix first: a packaging
 * fault before anything about the database; a database that cannot be read; a history
 * that forbids migrating (newer, unknown, changed, untracked); and only for a database
 * with work to do, whether it can be had for writing (locked) and the disk space.
 */

#define DIAGNOSE_BUSY_TIMEOUT_MS 2000
#define MIB (G_GUINT64_CONSTANT (1024) * 1024)

G_DEFINE_BOXED_TYPE (MwDiagnosis, mw_diagnosis, mw_diagnosis_ref, mw_diagnosis_unref)

static const char *state_names[MW_N_STATES] = {
  [MW_STATE_MISSING] = "missing",
  [MW_STATE_UP_TO_DATE] = "up-to-date",
  [MW_STATE_PENDING] = "pending",
  [MW_STATE_NEWER] = "newer",
  [MW_STATE_HASH_MISMATCH] = "hash-mismatch",
  [MW_STATE_UNKNOWN_HISTORY] = "unknown-history",
  [MW_STATE_UNTRACKED] = "untracked",
  [MW_STATE_LOCKED] = "locked",
  [MW_STATE_NO_SPACE] = "no-space",
  [MW_STATE_CORRUPT] = "corrupt",
  [MW_STATE_NOT_A_DATABASE] = "not-a-database",
  [MW_STATE_UNREADABLE] = "unreadable",
  [MW_STATE_NO_MIGRATIONS] = "no-migrations",
  [MW_STATE_INVALID_MIGRATIONS] = "invalid-migrations",
};

/**
 * mw_state_to_string:
 *
 * Returns: the state's stable name, as printed by `status --json`
 */
const char *
mw_state_to_string (MwState state)
{
  g_return_val_if_fail (state < MW_N_STATES, "unknown");
  return state_names[state];
}

const char *
mw_migration_status_to_string (MwMigrationStatus status)
{
  switch (status)
    {
    case MW_MIGRATION_STATUS_APPLIED:
      return "applied";
    case MW_MIGRATION_STATUS_PENDING:
      return "pending";
    case MW_MIGRATION_STATUS_MODIFIED:
      return "modified";
    case MW_MIGRATION_STATUS_OUT_OF_ORDER:
      return "out-of-order";
    default:
      g_return_val_if_reached ("unknown");
    }
}

/**
 * mw_space_required_for:
 *
 * The free space an update needs: a backup, the rollback journal and room for the
 * migrations themselves — max(50 MiB, 2.5 × (database + its -wal)).
 */
guint64
mw_space_required_for (goffset database_size,
                       goffset wal_size)
{
  guint64 scaled = (guint64) ((database_size + wal_size) * 5 / 2);

  return MAX (50 * MIB, scaled);
}

static MwDiagnosis *
mw_diagnosis_new (const char *database_path)
{
  MwDiagnosis *self = g_new0 (MwDiagnosis, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->database_path = g_strdup (database_path);
  self->migrations = g_array_new (FALSE, TRUE, sizeof (MwMigrationState));
  self->unknown = mw_applied_rows_new ();
  self->n_sales = self->n_products = self->n_staff = -1;
  return self;
}

MwDiagnosis *
mw_diagnosis_ref (MwDiagnosis *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
mw_diagnosis_unref (MwDiagnosis *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  /* The states borrow the set's migrations: free them before the set. */
  g_clear_pointer (&self->migrations, g_array_unref);
  g_clear_pointer (&self->unknown, g_ptr_array_unref);
  g_clear_object (&self->set);
  g_free (self->database_path);
  g_free (self->message);
  g_free (self->detail);
  g_free (self->lock_process);
  g_clear_pointer (&self->schema, mw_schema_check_free);
  g_free (self->migrations_table);
  g_free (self->checked_on_copy);
  g_free (self);
}

static goffset
file_size (const char *path,
           gboolean   *exists)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    {
      if (exists != NULL)
        *exists = FALSE;
      return 0;
    }
  if (exists != NULL)
    *exists = TRUE;
  return st.st_size;
}

static guint64
space_available_in (const char *dir)
{
  g_autoptr(GFile) file = g_file_new_for_path (dir);
  g_autoptr(GFileInfo) info = NULL;

  info = g_file_query_filesystem_info (file, G_FILE_ATTRIBUTE_FILESYSTEM_FREE, NULL, NULL);
  if (info == NULL ||
      !g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE))
    return G_MAXUINT64;
  return g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE);
}

static guint64
space_available (const char *database_path)
{
  g_autofree char *dir = g_path_get_dirname (database_path);

  return space_available_in (dir);
}

/* The nearest folder of @path that exists (a backup folder may not exist yet). */
static char *
existing_ancestor (const char *path)
{
  g_autofree char *current = g_canonicalize_filename (path, NULL);

  while (!g_file_test (current, G_FILE_TEST_IS_DIR))
    {
      char *parent = g_path_get_dirname (current);

      if (g_strcmp0 (parent, current) == 0)
        {
          g_free (parent);
          break;
        }
      g_free (current);
      current = parent;
    }
  return g_steal_pointer (&current);
}

/**
 * mw_space_check:
 * @backup_dir: (nullable): where a backup will be written, if one will
 *
 * Checks the free space an update needs on each volume concerned: the database's
 * (max(50 MiB, 2.5 × (database + -wal))) and, when the backups go to another volume,
 * the backup's (max(50 MiB, 1.25 × (database + -wal))). The message states the sizes
 * in MB for each volume short of space.
 */
gboolean
mw_space_check (const char  *database_path,
                const char  *backup_dir,
                GError     **error)
{
  g_autofree char *wal_path = g_strconcat (database_path, "-wal", NULL);
  g_autofree char *db_dir = g_path_get_dirname (database_path);
  g_autofree char *backup_base = backup_dir ? existing_ancestor (backup_dir) : NULL;
  g_autoptr(GString) shortfalls = g_string_new (NULL);
  goffset db_size = file_size (database_path, NULL);
  goffset wal_size = file_size (wal_path, NULL);
  guint64 need_db = mw_space_required_for (db_size, wal_size);
  guint64 have_db = space_available_in (db_dir);
  GStatBuf db_st, backup_st;

  if (have_db < need_db)
    g_string_append_printf (shortfalls, _(" On the database's disk (%s): %.1f MB needed, %.1f MB "
                                          "available."),
                            db_dir, (double) need_db / MIB, (double) have_db / MIB);

  if (backup_base != NULL && g_stat (db_dir, &db_st) == 0 && g_stat (backup_base, &backup_st) == 0 &&
      db_st.st_dev != backup_st.st_dev)
    {
      guint64 need_backup = MAX (50 * MIB, (guint64) ((db_size + wal_size) * 5 / 4));
      guint64 have_backup = space_available_in (backup_base);

      if (have_backup < need_backup)
        g_string_append_printf (shortfalls, _(" On the backup disk (%s): %.1f MB needed, %.1f MB "
                                              "available."),
                                backup_dir, (double) need_backup / MIB,
                                (double) have_backup / MIB);
    }

  if (shortfalls->len == 0)
    return TRUE;

  g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_NO_SPACE,
               _("Not enough disk space to update safely. The database is %.1f MB.%s Free some "
                 "disk space and try again; nothing was changed."),
               (double) (db_size + wal_size) / MIB, shortfalls->str);
  return FALSE;
}

static void
count_statuses (MwDiagnosis *self)
{
  for (guint i = 0; i < self->migrations->len; i++)
    {
      const MwMigrationState *state = &g_array_index (self->migrations, MwMigrationState, i);

      switch (state->status)
        {
        case MW_MIGRATION_STATUS_APPLIED:
          self->n_applied++;
          self->last_applied = state->migration;
          break;
        case MW_MIGRATION_STATUS_MODIFIED:
          self->n_modified++;
          self->n_applied++;
          self->last_applied = state->migration;
          break;
        case MW_MIGRATION_STATUS_OUT_OF_ORDER:
          self->n_out_of_order++;
          self->n_pending++;
          break;
        case MW_MIGRATION_STATUS_PENDING:
        default:
          self->n_pending++;
          break;
        }
    }
}

static void
describe (MwDiagnosis *self)
{
  g_autofree char *db_mb = g_strdup_printf ("%.1f", (double) self->database_size / MIB);

  switch (self->state)
    {
    case MW_STATE_MISSING:
      self->message = g_strdup_printf (_("There is no database yet at %s. It will be created "
                                         "and set up (%u updates)."),
                                       self->database_path, self->n_pending);
      break;

    case MW_STATE_UP_TO_DATE:
      self->message = g_strdup (_("The database is up to date. Nothing needs to be done."));
      break;

    case MW_STATE_PENDING:
      if (self->n_pending == 0 && self->has_migrations_table)
        self->message = g_strdup (_("No update is waiting, but the database's update history "
                                    "is kept in an older layout, which the app brings to its "
                                    "new one when it starts. It will be updated now, after a "
                                    "backup."));
      else if (self->n_pending == 0)
        self->message = g_strdup (_("No update is waiting, but the database has no update "
                                    "history yet, which the app creates when it starts. It "
                                    "will be created now."));
      else
        self->message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                    "%u update is waiting to be applied to "
                                                    "the database.",
                                                    "%u updates are waiting to be applied to "
                                                    "the database.",
                                                    self->n_pending),
                                       self->n_pending);
      break;

    case MW_STATE_NEWER:
      self->message = g_strdup (_("This database was set up by a newer version of the app. "
                                  "Install the latest version of the app. Nothing has been "
                                  "changed."));
      break;

    case MW_STATE_HASH_MISMATCH:
      self->message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                    "%u update that was already applied to "
                                                    "this database has since been changed in "
                                                    "the app. Nothing has been changed.",
                                                    "%u updates that were already applied to "
                                                    "this database have since been changed in "
                                                    "the app. Nothing has been changed.",
                                                    self->n_modified),
                                       self->n_modified);
      break;

    case MW_STATE_UNKNOWN_HISTORY:
      self->message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                    "The database's update history does not "
                                                    "match this app: %u recorded update is "
                                                    "unknown to it. Nothing has been changed.",
                                                    "The database's update history does not "
                                                    "match this app: %u recorded updates are "
                                                    "unknown to it. Nothing has been changed.",
                                                    self->unknown->len),
                                       self->unknown->len);
      break;

    case MW_STATE_UNTRACKED:
      self->message = g_strdup (_("The database has tables but no record of its updates, so "
                                  "it cannot be updated as it is. Nothing has been changed."));
      break;

    case MW_STATE_LOCKED:
      if (self->lock_pid > 0)
        self->message = g_strdup_printf (_("The database is in use by another program (%s, "
                                           "process %d). Close it — usually the POS app — "
                                           "and try again."),
                                         self->lock_process ? self->lock_process : _("unknown"),
                                         self->lock_pid);
      else
        self->message = g_strdup (_("The database is in use by another program. Close it — "
                                    "usually the POS app — and try again."));
      break;

    case MW_STATE_NO_SPACE:
      self->message = g_strdup_printf (_("Not enough disk space to update safely: the database "
                                         "is %s MB, %.1f MB are needed and %.1f MB are "
                                         "available. Free some disk space and try again."),
                                       db_mb,
                                       (double) self->space_required / MIB,
                                       (double) self->space_available / MIB);
      break;

    case MW_STATE_CORRUPT:
      self->message = g_strdup (_("The database is damaged. Nothing has been changed."));
      break;

    case MW_STATE_NOT_A_DATABASE:
      self->message = g_strdup_printf (_("The file %s is not a database (or it is encrypted). "
                                         "Nothing has been changed."),
                                       self->database_path);
      break;

    case MW_STATE_UNREADABLE:
      self->message = g_strdup_printf (_("The database %s cannot be opened for updating. "
                                         "Check that it is readable and writable by this "
                                         "user."),
                                       self->database_path);
      break;

    case MW_STATE_INVALID_MIGRATIONS:
      if (self->needs_newer_sqlite)
        {
          self->message = g_strdup_printf (_("An update of the app needs a newer SQLite than "
                                             "this computer's (%s), so it was not applied. "
                                             "This is not a problem with your data: nothing "
                                             "has been changed. Contact support."),
                                           sqlite3_libversion ());
          break;
        }
      G_GNUC_FALLTHROUGH;
    case MW_STATE_NO_MIGRATIONS:
      self->message = g_strdup (_("The app's installation is incomplete: its database "
                                  "updates are missing or damaged. This is not a problem with "
                                  "your data. Reinstall the app."));
      break;

    default:
      g_assert_not_reached ();
    }

  if (self->migrations_table_detected)
    {
      g_autofree char *found = g_strdup_printf (_("(The database keeps its update history "
                                                  "in the table “%s”, found by its layout: "
                                                  "the app names its own.)"),
                                                self->migrations_table);
      char *message = g_strconcat (self->message, " ", found, NULL);

      g_free (self->message);
      self->message = message;
    }
}

static MwState
state_for_error (const GError *error)
{
  switch (error->code)
    {
    case MW_ENGINE_ERROR_NOT_A_DATABASE:
      return MW_STATE_NOT_A_DATABASE;
    case MW_ENGINE_ERROR_CORRUPT:
      return MW_STATE_CORRUPT;
    case MW_ENGINE_ERROR_LOCKED:
      return MW_STATE_LOCKED;
    default:
      return MW_STATE_UNREADABLE;
    }
}

static void
check_lock_holder (MwDiagnosis *self)
{
  g_clear_pointer (&self->lock_process, g_free);
  mw_lock_holder (self->database_path, &self->lock_pid, &self->lock_process);
}

/* Can the write lock be had? Nothing is written: BEGIN IMMEDIATE only takes the
 * reserved lock, and the transaction is rolled back at once. */
static MwState
probe_write_lock (MwDiagnosis *self,
                  sqlite3     *db)
{
  g_autoptr(GError) error = NULL;

  if (!mw_db_exec (db, "BEGIN IMMEDIATE", &error))
    {
      self->detail = g_strdup (error->message);
      if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED))
        {
          check_lock_holder (self);
          return MW_STATE_LOCKED;
        }
      return MW_STATE_UNREADABLE;
    }
  mw_db_exec (db, "ROLLBACK", NULL);
  return MW_STATE_PENDING;
}

/* An update writes beside the database: its journal, the new database on a fresh
 * start, the backups. A folder that cannot be written (permissions, a read-only disk)
 * is found now, not half-way. */
static void
check_folder_writable (MwDiagnosis *self)
{
  g_autofree char *dir = g_path_get_dirname (self->database_path);

  if (g_access (dir, W_OK) != 0)
    {
      int saved = errno;

      self->state = MW_STATE_UNREADABLE;
      g_free (self->detail);
      self->detail = g_strdup_printf (_("The folder %s cannot be written: %s"), dir,
                                      g_strerror (saved));
    }
}

static void
check_space (MwDiagnosis *self)
{
  self->space_required = mw_space_required_for (self->database_size, self->wal_size);
  self->space_available = space_available (self->database_path);
  if (self->space_available < self->space_required)
    self->state = MW_STATE_NO_SPACE;
}

/* Rehearses what a migrate would apply (mw-rehearsal.c); a migration the app's driver
 * would refuse makes the state invalid-migrations, naming it. */
static void
rehearse (MwDiagnosis *self,
          sqlite3     *db,
          const char  *table)
{
  g_autoptr(GPtrArray) todo = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  MwRehearsalFault fault;

  for (guint i = 0; i < self->migrations->len; i++)
    {
      const MwMigrationState *state = &g_array_index (self->migrations, MwMigrationState, i);

      if (state->status == MW_MIGRATION_STATUS_PENDING ||
          state->status == MW_MIGRATION_STATUS_OUT_OF_ORDER)
        g_ptr_array_add (todo, (gpointer) state->migration);
    }
  if (todo->len == 0 ||
      mw_rehearse (db, table != NULL ? table : MW_MIGRATIONS_TABLE,
                   mw_migration_set_get_format (self->set) == MW_FOLDER_FORMAT_V1, todo, &fault,
                   &error))
    return;

  self->state = MW_STATE_INVALID_MIGRATIONS;
  self->invalid_migration = fault.migration;
  self->invalid_statement = fault.piece + 1;
  self->needs_newer_sqlite = fault.needs_newer_sqlite;
  g_free (self->detail);
  self->detail = g_strdup (error->message);
}

/**
 * mw_diagnose:
 * @database_path: the database file; it need not exist
 * @set: the app's migrations
 *
 * Tells which state the database is in. Never fails: a problem is a state, with its
 * message and, for technicians, the exact error in `detail`. Changes nothing.
 *
 * Returns: (transfer full): the diagnosis
 */
MwDiagnosis *
mw_diagnose (const char     *database_path,
             MwMigrationSet *set,
             GCancellable   *cancellable)
{
  g_autoptr(MwDiagnosis) self = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(sqlite3) db = NULL;
  g_autofree char *wal_path = NULL;
  g_autofree char *why_copy = NULL;
  g_autofree char *copy = NULL;
  g_autofree char *copy_dir = NULL;
  MwHistory history = { 0 };

  g_return_val_if_fail (database_path != NULL, NULL);
  g_return_val_if_fail (MW_IS_MIGRATION_SET (set), NULL);

  self = mw_diagnosis_new (database_path);
  self->set = g_object_ref (set);
  wal_path = g_strconcat (database_path, "-wal", NULL);
  self->database_size = file_size (database_path, &self->exists);
  self->wal_size = file_size (wal_path, NULL);

  if (!self->exists)
    {
      mw_history_match (set, &history, self->migrations, self->unknown);
      count_statuses (self);
      self->state = MW_STATE_MISSING;
      self->table_update = TRUE;
      self->migrations_table = g_strdup (mw_migration_set_get_table (set) != NULL
                                         ? mw_migration_set_get_table (set)
                                         : MW_MIGRATIONS_TABLE);
      rehearse (self, NULL, self->migrations_table);
      if (self->state == MW_STATE_MISSING)
        check_folder_writable (self);
      if (self->state == MW_STATE_MISSING)
        check_space (self);
      describe (self);
      mw_history_clear (&history);
      return g_steal_pointer (&self);
    }

  /* Changes nothing, SQLite included: when merely opening the database would make
   * SQLite play back, rewrite or delete a file of its set (a hot or foreign journal,
   * a -wal beside an empty file), what it holds is read from a byte-for-byte copy. */
  why_copy = mw_set_sqlite_would_modify (database_path);
  if (why_copy != NULL)
    {
      copy = mw_set_copy_for_reading (database_path, &copy_dir, &error);
      if (copy == NULL)
        {
          self->state = MW_STATE_UNREADABLE;
          self->detail = g_strdup_printf (_("%s It could not be copied to be checked without "
                                            "changing it: %s"), why_copy, error->message);
          describe (self);
          return g_steal_pointer (&self);
        }
      self->checked_on_copy = g_strdup_printf (_("%s So it was checked on a byte-for-byte "
                                                 "copy, and nothing of it was changed."),
                                               why_copy);
    }

  db = mw_db_open (copy ? copy : database_path, SQLITE_OPEN_READWRITE, DIAGNOSE_BUSY_TIMEOUT_MS,
                   &error);
  if (db != NULL)
    {
      /* Committed data still in the -wal (the POS crashed) stays there: closing the
       * last connection would otherwise checkpoint it into the file and delete the
       * -wal. Only then, since a cleanly closed database would get new empty -wal/-shm
       * files instead. */
      if (mw_fs_lexists (wal_path))
        sqlite3_db_config (db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
      mw_db_exec (db, "PRAGMA query_only = ON", NULL);
      mw_history_read (db, mw_migration_set_get_table (set), &history, &error);
    }

  if (error != NULL)
    {
      self->state = state_for_error (error);
      self->detail = g_strdup (error->message);
      if (self->state == MW_STATE_LOCKED)
        check_lock_holder (self);
      goto out;
    }

  self->has_migrations_table = history.has_table;
  self->n_user_tables = history.n_user_tables;
  self->migrations_table = g_strdup (history.table);
  self->migrations_table_detected = history.table_detected;
  mw_history_match (set, &history, self->migrations, self->unknown);
  count_statuses (self);
  self->state = mw_history_classify (set, &history, self->migrations, self->unknown);
  self->table_update = mw_history_needs_table (set, &history);

  /* A broken migration is the app's packaging fault: said before anything about the
   * database (locks, space), and before any backup. */
  if (self->state == MW_STATE_PENDING)
    rehearse (self, db, self->migrations_table);

  if (self->state == MW_STATE_PENDING && copy == NULL)
    {
      mw_db_exec (db, "PRAGMA query_only = OFF", NULL);
      self->state = probe_write_lock (self, db);
    }
  else if (self->state == MW_STATE_PENDING)
    {
      /* The copy cannot tell who holds the database: the system's lock table can. */
      check_lock_holder (self);
      if (self->lock_pid > 0)
        self->state = MW_STATE_LOCKED;
    }
  if (self->state == MW_STATE_PENDING)
    check_folder_writable (self);
  if (self->state == MW_STATE_PENDING)
    check_space (self);

out:
  mw_history_clear (&history);
  g_clear_pointer (&db, mw_db_close);
  mw_set_remove_copy (copy, copy_dir);
  describe (self);
  return g_steal_pointer (&self);
}

/**
 * mw_diagnosis_new_for_error:
 * @migrations_error: why the migrations could not be found or read
 *
 * The diagnosis when the app's migrations are missing or malformed: a packaging
 * fault, reported as such and never as a problem with the database.
 */
MwDiagnosis *
mw_diagnosis_new_for_error (const char   *database_path,
                            const GError *migrations_error)
{
  MwDiagnosis *self;

  g_return_val_if_fail (migrations_error != NULL, NULL);

  self = mw_diagnosis_new (database_path);
  self->exists = g_file_test (database_path, G_FILE_TEST_EXISTS);
  self->state = g_error_matches (migrations_error, MW_ENGINE_ERROR,
                                 MW_ENGINE_ERROR_MIGRATIONS_INVALID)
                ? MW_STATE_INVALID_MIGRATIONS : MW_STATE_NO_MIGRATIONS;
  self->detail = g_strdup (migrations_error->message);
  describe (self);
  return self;
}

/* What reading every page (quick_check) found: damage inside the tables, which the
 * schema and the history do not show, makes the database corrupt. A check that was
 * cancelled or could not run leaves the rest of the diagnosis as it was. */
static void
apply_page_read (MwDiagnosis    *self,
                 MwVerifyReport *report,
                 const GError   *error)
{
  if (report != NULL)
    {
      self->pages_checked = TRUE;
      g_info ("Quick check: %s", report->summary);
      return;
    }
  if (!g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT))
    {
      g_info ("Quick check not done: %s", error->message);
      return;
    }
  self->state = MW_STATE_CORRUPT;
  g_free (self->message);
  self->message = g_strdup (_("The database is damaged: some of its pages cannot be read. "
                              "Nothing has been changed."));
  g_free (self->detail);
  self->detail = g_strdup (error->message);
  g_info ("Quick check: %s", error->message);
}

/**
 * mw_diagnosis_wants_page_read:
 *
 * Whether reading every page could still change this diagnosis: the database
 * exists and would otherwise be updated or used as it is.
 */
gboolean
mw_diagnosis_wants_page_read (MwDiagnosis *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->exists && !self->pages_checked &&
         (self->state == MW_STATE_UP_TO_DATE || self->state == MW_STATE_PENDING);
}

static void
read_pages_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  MwDiagnosis *self = task_data;
  MwProgress *progress = g_object_get_data (G_OBJECT (task), "mw-progress");
  GError *error = NULL;
  MwVerifyReport *report;

  /* Only the path is read here; the diagnosis itself changes in _finish, in the
   * caller's thread. */
  report = mw_verify (self->database_path, FALSE, progress, cancellable, &error);
  if (report != NULL)
    g_task_return_pointer (task, report, (GDestroyNotify) mw_verify_report_free);
  else
    g_task_return_error (task, error);
}

/**
 * mw_diagnosis_read_pages_async:
 * @progress: (nullable)
 *
 * Reads every page of the diagnosed database in a worker thread, as
 * %MW_DIAGNOSE_READ_PAGES does; mw_diagnosis_read_pages_finish() applies what it
 * found. A window shows the first diagnosis meanwhile.
 */
void
mw_diagnosis_read_pages_async (MwDiagnosis         *self,
                               MwProgress          *progress,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (self != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mw_diagnosis_read_pages_async);
  g_task_set_task_data (task, mw_diagnosis_ref (self), (GDestroyNotify) mw_diagnosis_unref);
  if (progress != NULL)
    g_object_set_data_full (G_OBJECT (task), "mw-progress", g_object_ref (progress),
                            g_object_unref);
  g_task_run_in_thread (task, read_pages_thread);
}

/**
 * mw_diagnosis_read_pages_finish:
 *
 * Applies what reading every page found to the diagnosis: the pages checked, or
 * the database corrupt. Call it in the thread that owns the diagnosis.
 */
void
mw_diagnosis_read_pages_finish (MwDiagnosis  *self,
                                GAsyncResult *result)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MwVerifyReport) report = NULL;

  g_return_if_fail (self != NULL);
  g_return_if_fail (g_task_is_valid (result, NULL));

  report = g_task_propagate_pointer (G_TASK (result), &error);
  apply_page_read (self, report, error);
}

/* What a shop would ask before its data is carried: how many sales, products and
 * staff there are (read-only; -1 where the table is not there). */
static void
count_shop_rows (MwDiagnosis *self)
{
  g_autoptr(sqlite3) db = mw_db_open (self->database_path, SQLITE_OPEN_READONLY,
                                      DIAGNOSE_BUSY_TIMEOUT_MS, NULL);

  if (db == NULL)
    return;
  mw_db_exec (db, "PRAGMA query_only = ON", NULL);
  self->n_sales = mw_db_query_int (db, "SELECT count(*) FROM \"transactions\"", -1);
  self->n_products = mw_db_query_int (db, "SELECT count(*) FROM \"products\"", -1);
  self->n_staff = mw_db_query_int (db, "SELECT count(*) FROM \"users\"", -1);
}

/**
 * mw_diagnosis_wants_schema:
 *
 * Whether the database's history does not fit the app, so that only its tables can
 * tell which level it is at: untracked, unknown history, changed migrations.
 */
gboolean
mw_diagnosis_wants_schema (MwDiagnosis *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->exists && (self->state == MW_STATE_UNTRACKED ||
                          self->state == MW_STATE_UNKNOWN_HISTORY ||
                          self->state == MW_STATE_HASH_MISMATCH);
}

/**
 * mw_diagnosis_recorded_level:
 *
 * Returns: how many of the app's migrations the history records as applied, when
 *   they are the first ones in order (a level); -1 when the history says no level
 */
int
mw_diagnosis_recorded_level (MwDiagnosis *self)
{
  g_return_val_if_fail (self != NULL, -1);

  if (!self->has_migrations_table || self->unknown->len > 0 || self->n_out_of_order > 0 ||
      self->last_applied == NULL)
    return -1;
  return (int) self->last_applied->idx + 1;
}

/**
 * mw_diagnose_full:
 * @flags: %MW_DIAGNOSE_READ_PAGES to read every page of a database that could
 *   otherwise be updated or used as it is
 * @progress: (nullable): the page reading's progress
 *
 * mw_diagnose(), with options. `status --deep` and the wizard window (opened by a
 * person) read every page, so both tell the same state of the same file.
 *
 * Returns: (transfer full): the diagnosis
 */
MwDiagnosis *
mw_diagnose_full (const char      *database_path,
                  MwMigrationSet  *set,
                  MwDiagnoseFlags  flags,
                  MwProgress      *progress,
                  GCancellable    *cancellable)
{
  MwDiagnosis *self = mw_diagnose (database_path, set, cancellable);

  if ((flags & MW_DIAGNOSE_SCHEMA) != 0 && mw_diagnosis_wants_schema (self))
    {
      g_autoptr(GError) error = NULL;

      self->schema = mw_schema_check (database_path, set, mw_diagnosis_recorded_level (self),
                                      NULL, &error);
      if (self->schema == NULL)
        g_info ("Schema not compared: %s", error->message);
      else
        count_shop_rows (self);
    }
  if ((flags & MW_DIAGNOSE_READ_PAGES) != 0 && mw_diagnosis_wants_page_read (self))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MwVerifyReport) report = mw_verify (database_path, FALSE, progress,
                                                    cancellable, &error);

      apply_page_read (self, report, error);
    }
  return self;
}

typedef struct
{
  char            *database_path;
  MwMigrationSet  *set;
  MwDiagnoseFlags  flags;
  MwProgress      *progress;
} DiagnoseData;

static void
diagnose_data_free (DiagnoseData *data)
{
  g_free (data->database_path);
  g_clear_object (&data->set);
  g_clear_object (&data->progress);
  g_free (data);
}

static void
diagnose_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  DiagnoseData *data = task_data;

  g_task_return_pointer (task,
                         mw_diagnose_full (data->database_path, data->set, data->flags,
                                           data->progress, cancellable),
                         (GDestroyNotify) mw_diagnosis_unref);
}

/**
 * mw_diagnose_async:
 * @progress: (nullable)
 *
 * Runs mw_diagnose_full() in a worker thread.
 */
void
mw_diagnose_async (const char          *database_path,
                   MwMigrationSet      *set,
                   MwDiagnoseFlags      flags,
                   MwProgress          *progress,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  DiagnoseData *data;

  g_return_if_fail (database_path != NULL);
  g_return_if_fail (MW_IS_MIGRATION_SET (set));

  data = g_new0 (DiagnoseData, 1);
  data->database_path = g_strdup (database_path);
  data->set = g_object_ref (set);
  data->flags = flags;
  data->progress = progress ? g_object_ref (progress) : NULL;
  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mw_diagnose_async);
  g_task_set_task_data (task, data, (GDestroyNotify) diagnose_data_free);
  g_task_run_in_thread (task, diagnose_thread);
}

MwDiagnosis *
mw_diagnose_finish (GAsyncResult  *result,
                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
add_string_or_null (JsonBuilder *builder,
                    const char  *name,
                    const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

/**
 * mw_diagnosis_to_json:
 *
 * Adds the diagnosis as one object, the format `status --json` prints.
 */
void
mw_diagnosis_to_json (MwDiagnosis *self,
                      JsonBuilder *builder)
{
  g_return_if_fail (self != NULL);

  json_builder_begin_object (builder);
  add_string_or_null (builder, "state", mw_state_to_string (self->state));
  add_string_or_null (builder, "message", self->message);
  add_string_or_null (builder, "detail", self->detail);
  add_string_or_null (builder, "database", self->database_path);
  if (self->checked_on_copy != NULL)
    add_string_or_null (builder, "checked_on_copy", self->checked_on_copy);
  json_builder_set_member_name (builder, "exists");
  json_builder_add_boolean_value (builder, self->exists);
  json_builder_set_member_name (builder, "pages_checked");
  json_builder_add_boolean_value (builder, self->pages_checked);
  json_builder_set_member_name (builder, "database_size");
  json_builder_add_int_value (builder, self->database_size);
  json_builder_set_member_name (builder, "wal_size");
  json_builder_add_int_value (builder, self->wal_size);
  add_string_or_null (builder, "migrations_folder",
                      self->set ? mw_migration_set_get_folder (self->set) : NULL);
  add_string_or_null (builder, "format",
                      self->set == NULL ? NULL
                      : mw_migration_set_get_format (self->set) == MW_FOLDER_FORMAT_V1
                      ? "v1" : "journal");
  json_builder_set_member_name (builder, "pending");
  json_builder_add_int_value (builder, self->n_pending);
  json_builder_set_member_name (builder, "applied");
  json_builder_add_int_value (builder, self->n_applied);
  add_string_or_null (builder, "last_applied",
                      self->last_applied ? self->last_applied->tag : NULL);
  add_string_or_null (builder, "migrations_table", self->migrations_table);
  json_builder_set_member_name (builder, "migrations_table_found_by_shape");
  json_builder_add_boolean_value (builder, self->migrations_table_detected);
  json_builder_set_member_name (builder, "table_update");
  json_builder_add_boolean_value (builder, self->table_update);
  if (self->invalid_migration != NULL)
    {
      add_string_or_null (builder, "invalid_migration", self->invalid_migration->tag);
      add_string_or_null (builder, "invalid_file", self->invalid_migration->path);
      json_builder_set_member_name (builder, "invalid_statement");
      json_builder_add_int_value (builder, self->invalid_statement);
      json_builder_set_member_name (builder, "needs_newer_sqlite");
      json_builder_add_boolean_value (builder, self->needs_newer_sqlite);
    }

  if (self->space_required > 0)
    {
      json_builder_set_member_name (builder, "space_required");
      json_builder_add_int_value (builder, (gint64) self->space_required);
      json_builder_set_member_name (builder, "space_available");
      json_builder_add_int_value (builder, (gint64) MIN (self->space_available, G_MAXINT64));
    }
  if (self->lock_pid > 0)
    {
      json_builder_set_member_name (builder, "lock_pid");
      json_builder_add_int_value (builder, self->lock_pid);
      add_string_or_null (builder, "lock_process", self->lock_process);
    }

  if (self->schema != NULL)
    {
      json_builder_set_member_name (builder, "schema");
      mw_schema_check_to_json (self->schema, self->set, FALSE, builder);
    }

  json_builder_set_member_name (builder, "migrations");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->migrations->len; i++)
    {
      const MwMigrationState *state = &g_array_index (self->migrations, MwMigrationState, i);

      json_builder_begin_object (builder);
      add_string_or_null (builder, "tag", state->migration->tag);
      json_builder_set_member_name (builder, "when");
      if (state->migration->when == MW_MIGRATION_NO_TIME)
        json_builder_add_null_value (builder);
      else
        json_builder_add_int_value (builder, state->migration->when);
      add_string_or_null (builder, "hash", state->migration->hash);
      add_string_or_null (builder, "status", mw_migration_status_to_string (state->status));
      if (state->applied_hash != NULL)
        {
          add_string_or_null (builder, "applied_hash", state->applied_hash);
          json_builder_set_member_name (builder, "applied_when");
          json_builder_add_int_value (builder, state->applied_when);
        }
      if (state->line_endings_only)
        {
          json_builder_set_member_name (builder, "line_endings_only");
          json_builder_add_boolean_value (builder, TRUE);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "unknown");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->unknown->len; i++)
    {
      const MwAppliedRow *row = g_ptr_array_index (self->unknown, i);

      json_builder_begin_object (builder);
      add_string_or_null (builder, "hash", row->hash);
      json_builder_set_member_name (builder, "created_at");
      if (row->created_at_is_null)
        json_builder_add_null_value (builder);
      else
        json_builder_add_int_value (builder, row->created_at);
      if (row->name != NULL)
        add_string_or_null (builder, "name", row->name);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_end_object (builder);
}

/* ---- renderers ---------------------------------------------------------------------- */

/**
 * mw_migration_status_label:
 *
 * Returns: the status in words, for tables a person reads
 */
const char *
mw_migration_status_label (MwMigrationStatus status)
{
  switch (status)
    {
    case MW_MIGRATION_STATUS_APPLIED:      return _("applied");
    case MW_MIGRATION_STATUS_PENDING:      return _("pending");
    case MW_MIGRATION_STATUS_MODIFIED:     return _("MODIFIED");
    case MW_MIGRATION_STATUS_OUT_OF_ORDER: return _("pending (out of order)");
    default:                               return "?";
    }
}

/**
 * mw_format_migration_time:
 * @millis: a migration's `when` (ms since 1970, UTC), as drizzle records it
 *
 * Every front shows migration times the same way: UTC, to the minute, labelled.
 *
 * Returns: (transfer full): "2026-03-14 09:26 UTC", or "?" when out of range
 */
char *
mw_format_migration_time (gint64 millis)
{
  g_autoptr(GDateTime) dt = NULL;

  /* a v1 folder whose name holds no time */
  if (millis == MW_MIGRATION_NO_TIME)
    return g_strdup ("-");
  dt = g_date_time_new_from_unix_utc (millis / 1000);

  return dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M UTC") : g_strdup ("?");
}

/**
 * mw_diagnosis_migrations_to_text:
 *
 * The migration table for a terminal: each of the app's migrations with its time,
 * hash prefix and status, then the recorded rows this app does not know.
 *
 * Returns: (transfer full): the table, one line per row (empty when there are none)
 */
char *
mw_diagnosis_migrations_to_text (MwDiagnosis *self)
{
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (self != NULL, NULL);

  for (guint i = 0; i < self->migrations->len; i++)
    {
      const MwMigrationState *state = &g_array_index (self->migrations, MwMigrationState, i);
      g_autofree char *date = mw_format_migration_time (state->migration->when);

      g_string_append_printf (text, "  %-40s %s  %.12s  %s%s\n",
                              state->migration->tag, date, state->migration->hash,
                              mw_migration_status_label (state->status),
                              state->line_endings_only ? _(" (line endings differ)") : "");
    }
  for (guint i = 0; i < self->unknown->len; i++)
    {
      const MwAppliedRow *row = g_ptr_array_index (self->unknown, i);
      g_autofree char *date = row->created_at_is_null ? g_strdup ("-")
                                                      : mw_format_migration_time (row->created_at);

      g_string_append_printf (text, "  %-40s %s  %.12s  %s\n",
                              row->name ? row->name : _("(unknown to this app)"),
                              date, row->hash ? row->hash : "", _("not in this app"));
    }
  return g_string_free (text, FALSE);
}

/**
 * mw_diagnosis_to_text:
 *
 * The diagnosis for a terminal (`status`): the files, the state, the plain words,
 * the exact error, the migration table.
 *
 * Returns: (transfer full): the text
 */
char *
mw_diagnosis_to_text (MwDiagnosis *self)
{
  GString *text = g_string_new (NULL);
  g_autofree char *table = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  g_string_append_printf (text, "%s: %s\n", _("Database"), self->database_path);
  if (self->set != NULL)
    g_string_append_printf (text, "%s: %s\n", _("Migrations"),
                            mw_migration_set_get_folder (self->set));
  if (self->migrations_table != NULL &&
      (self->migrations_table_detected || !g_str_equal (self->migrations_table,
                                                        MW_MIGRATIONS_TABLE)))
    g_string_append_printf (text, "%s: %s%s\n", _("Migrations table"), self->migrations_table,
                            self->migrations_table_detected ? _(" (found by its layout)") : "");
  g_string_append_printf (text, "%s: %s\n\n", _("State"), mw_state_to_string (self->state));
  g_string_append_printf (text, "%s\n", self->message);
  if (self->detail != NULL)
    g_string_append_printf (text, "\n%s: %s\n", _("Details"), self->detail);
  if (self->schema != NULL)
    {
      g_autofree char *schema = mw_schema_check_to_text (self->schema, self->set);

      g_string_append_printf (text, "\n%s", schema);
    }
  if (self->checked_on_copy != NULL)
    g_string_append_printf (text, "\n%s\n", self->checked_on_copy);
  table = mw_diagnosis_migrations_to_text (self);
  if (*table != '\0')
    g_string_append_printf (text, "\n%s", table);
  return g_string_free (text, FALSE);
}
