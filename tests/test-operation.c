/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Restore from Backup and Backup & Start Fresh on real files: what is moved aside, what
 * is kept, what the database holds afterwards, and the operation journal finishing or
 * undoing an interrupted operation.
 */

#include "config.h"

#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

#include "mw-test-util.h"

typedef MwTestFixture Fixture;

static const MwTestMigration tills[] = {
  { "0000_init", 1700000000000,
    "CREATE TABLE `sales` (`id` integer PRIMARY KEY, `total` integer NOT NULL);" },
  { "0001_tills", 1700000100000, "CREATE TABLE `tills` (`id` text PRIMARY KEY NOT NULL);" },
  { NULL }
};

/* A shop at the first level with three sales; its folder and file names need care. */
static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  mw_test_fixture_set_up_named (f, "operätions", "pos system.db");
  mw_test_fixture_write (f, tills);
  mw_test_fixture_migrate (f, "0000_init");
  mw_test_sql_exec (f->db, "INSERT INTO sales (total) VALUES (100), (200), (300);");
}

static guint
count_aside (Fixture *f)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;
  guint n = 0;

  while ((name = g_dir_read_name (dir)) != NULL)
    if (strstr (name, ".db.old.") != NULL && !g_str_has_suffix (name, "-wal") &&
        !g_str_has_suffix (name, "-shm") && !g_str_has_suffix (name, "-journal"))
      n++;
  return n;
}

static void
test_restore (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MwBackup) backup = mw_backup_create (f->db, NULL, MW_BACKUP_REASON_MANUAL, f->set,
                                                 NULL, NULL, &error);
  g_autofree char *aside = NULL, *aside_wal = NULL, *wal = NULL, *shm = NULL;
  g_autofree char *journal = mw_operation_journal_path (f->db);
  sqlite3 *pos = NULL;

  g_assert_no_error (error);

  /* After the backup the shop sold more, in WAL mode; the POS crashed with its -wal. */
  g_assert_cmpint (sqlite3_open (f->db, &pos), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (pos, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
                                 "INSERT INTO sales (total) VALUES (400), (500);", NULL, NULL,
                                 NULL), ==, SQLITE_OK);
  wal = g_strconcat (f->db, "-wal", NULL);
  shm = g_strconcat (f->db, "-shm", NULL);
  {
    /* Keep copies of -wal/-shm as the crash left them, then let the connection go. */
    g_autofree char *w = NULL, *s = NULL;
    gsize wl = 0, sl = 0;

    g_assert_true (g_file_get_contents (wal, &w, &wl, NULL));
    g_assert_true (g_file_get_contents (shm, &s, &sl, NULL));
    sqlite3_close (pos);
    g_assert_true (g_file_set_contents (wal, w, wl, NULL));
    g_assert_true (g_file_set_contents (shm, s, sl, NULL));
  }

  g_assert_true (mw_restore (f->db, backup, NULL, f->set, NULL, NULL, &aside, &error));
  g_assert_no_error (error);

  /* The restored database holds the backup's three sales, with nothing stale beside it. */
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sales"), ==, 3);
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (shm, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
  /* The previous database was kept, and still has all five sales. */
  g_assert_true (g_str_has_prefix (aside, f->db));
  g_assert_nonnull (strstr (aside, ".old."));
  g_assert_cmpint (mw_test_sql_int (aside, "SELECT count(*) FROM sales"), ==, 5);
  aside_wal = g_strconcat (aside, "-wal", NULL);
  (void) aside_wal;
}

static void
test_restore_refuses_damaged_backup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MwBackup) backup = mw_backup_create (f->db, NULL, MW_BACKUP_REASON_MANUAL, f->set,
                                                 NULL, NULL, &error);
  g_autofree char *contents = NULL, *before = NULL, *after = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (backup->path, &contents, &len, NULL));
  contents[len - 10] ^= 0x55;
  g_assert_true (g_file_set_contents (backup->path, contents, len, NULL));
  before = mw_test_file_digest (f->db);

  g_assert_false (mw_restore (f->db, backup, NULL, f->set, NULL, NULL, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT);
  after = mw_test_file_digest (f->db);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpuint (count_aside (f), ==, 0);
}

static void
test_fresh_start (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL, *backups = NULL;
  g_autoptr(GPtrArray) list = NULL;

  g_assert_true (mw_fresh_start (f->db, NULL, f->set, NULL, NULL, &aside, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sales"), ==, 0);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 2);
  g_assert_cmpint (mw_test_sql_int (aside, "SELECT count(*) FROM sales"), ==, 3);

  backups = mw_backup_default_dir (f->db);
  list = mw_backup_list (backups, &error);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_cmpint (((MwBackup *) g_ptr_array_index (list, 0))->reason, ==, MW_BACKUP_REASON_PRE_FRESH);
}

static void
test_fresh_start_unreadable_database (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL, *backups = NULL, *kept = NULL;
  g_autoptr(GDir) dir = NULL;
  gboolean raw = FALSE;
  const char *name;

  mw_test_write_file (f->db, "this is not a database any more");
  g_assert_true (mw_fresh_start (f->db, NULL, f->set, NULL, NULL, &aside, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (aside, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, "this is not a database any more");

  backups = mw_backup_default_dir (f->db);
  dir = g_dir_open (backups, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    raw |= g_str_has_prefix (name, "aurswift-raw-");
  g_assert_true (raw);
}

static void
write_journal_file (Fixture *f, const char *step, const char *tmp, const char *aside)
{
  g_autofree char *path = mw_operation_journal_path (f->db);
  g_autofree char *text = g_strdup_printf ("{\"operation\":\"restore\",\"step\":\"%s\",\"tmp\":\"%s\","
                                           "\"aside\":\"%s\",\"started\":\"x\"}", step, tmp, aside);

  mw_test_write_file (path, text);
}

static void
test_recover_undoes_early_crash (Fixture *f, gconstpointer data)
{
  g_autofree char *tmp = g_strconcat (f->db, ".mw-restore", NULL);
  g_autofree char *aside = g_strconcat (f->db, ".old.20250101-000000", NULL);
  g_autofree char *journal = mw_operation_journal_path (f->db);
  g_autofree char *before = mw_test_file_digest (f->db);
  g_autofree char *after = NULL, *report = NULL;
  g_autoptr(GError) error = NULL;

  mw_test_write_file (tmp, "half a copy");
  write_journal_file (f, "copying", tmp, aside);
  report = mw_operation_recover (f->db, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (report, "undone"));
  g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
  after = mw_test_file_digest (f->db);
  g_assert_cmpstr (before, ==, after);
  g_assert_null (mw_operation_recover (f->db, &error));
}

static void
test_recover_finishes_late_crash (Fixture *f, gconstpointer data)
{
  g_autofree char *tmp = g_strconcat (f->db, ".mw-restore", NULL);
  g_autofree char *aside = g_strconcat (f->db, ".old.20250101-000000", NULL);
  g_autofree char *report = NULL;
  g_autoptr(GError) error = NULL;

  /* The new database was complete; the crash came while the old set was moving. */
  mw_test_sql_exec (tmp, "CREATE TABLE sales (id integer PRIMARY KEY, total integer);"
                         "INSERT INTO sales (total) VALUES (1);");
  write_journal_file (f, "copied", tmp, aside);
  report = mw_operation_recover (f->db, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (report, "completed"));
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sales"), ==, 1);
  g_assert_cmpint (mw_test_sql_int (aside, "SELECT count(*) FROM sales"), ==, 3);
  g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));
}

static void
test_instance_lock (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MwInstanceLock) first = mw_instance_lock_acquire (f->db, &error);
  g_autofree char *out = NULL;
  int status;

  g_assert_no_error (error);
  g_assert_nonnull (first);
  /* A second wizard, in another process, is refused and told who holds it. */
  status = mw_test_spawn (&out, NULL, "flock", "--version", NULL);
  (void) status;
  {
    g_autofree char *lock_path = g_strconcat (f->db, ".mw-lock", NULL);
    g_autofree char *script = g_strdup_printf ("exec 9<>'%s'; python3 -c 'import fcntl,sys; "
                                               "fcntl.lockf(9, fcntl.LOCK_EX | fcntl.LOCK_NB)' "
                                               "9<>'%s'", lock_path, lock_path);
    g_assert_cmpint (mw_test_spawn (NULL, NULL, "sh", "-c", script, NULL), !=, 0);
  }
  mw_instance_lock_release (g_steal_pointer (&first));
}

static void
async_done_cb (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

/* The wizard window's path: the same operations in a worker thread, progress
 * notified on this thread, the kept-aside path returned. */
static void
test_async_fresh_then_restore (Fixture *f, gconstpointer data)
{
  g_autoptr(GAsyncResult) fresh_result = NULL;
  g_autoptr(GAsyncResult) restore_result = NULL;
  g_autoptr(MwProgress) progress = mw_progress_new ();
  g_autoptr(GPtrArray) backups = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *backup_dir = mw_backup_default_dir (f->db);
  g_autofree char *aside = NULL;
  g_autofree char *aside2 = NULL;
  MwBackup *pre_fresh = NULL;
  gboolean ok = FALSE;

  mw_fresh_start_async (f->db, backup_dir, f->set, progress, NULL, async_done_cb, &fresh_result);
  ok = mw_fresh_start_finish (wait_result (&fresh_result), &aside, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_nonnull (aside);
  g_assert_cmpint (mw_test_sql_int (aside, "SELECT count(*) FROM sales"), ==, 3);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sales"), ==, 0);

  backups = mw_backup_list (backup_dir, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < backups->len; i++)
    if (((MwBackup *) g_ptr_array_index (backups, i))->reason == MW_BACKUP_REASON_PRE_FRESH)
      pre_fresh = g_ptr_array_index (backups, i);
  g_assert_nonnull (pre_fresh);

  mw_restore_async (f->db, pre_fresh, backup_dir, f->set, progress, NULL, async_done_cb,
                    &restore_result);
  ok = mw_restore_finish (wait_result (&restore_result), &aside2, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sales"), ==, 3);
  g_assert_cmpuint (count_aside (f), ==, 2);
  g_assert_cmpfloat (mw_progress_get_fraction (progress), >, 0.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) \
  g_test_add (path, Fixture, NULL, fixture_set_up, fn, mw_test_fixture_tear_down)
  ADD ("/mw/engine/operation/restore", test_restore);
  ADD ("/mw/engine/operation/restore-refuses-damaged-backup", test_restore_refuses_damaged_backup);
  ADD ("/mw/engine/operation/fresh-start", test_fresh_start);
  ADD ("/mw/engine/operation/fresh-start-unreadable-database", test_fresh_start_unreadable_database);
  ADD ("/mw/engine/operation/recover-undoes-early-crash", test_recover_undoes_early_crash);
  ADD ("/mw/engine/operation/recover-finishes-late-crash", test_recover_finishes_late_crash);
  ADD ("/mw/engine/operation/instance-lock", test_instance_lock);
  ADD ("/mw/engine/operation/async-fresh-then-restore", test_async_fresh_then_restore);
#undef ADD

  return g_test_run ();
}
