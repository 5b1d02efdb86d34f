/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Crash test: the CLI is killed with SIGKILL at many different moments of migrate,
 * restore and fresh. After the next start (which recovers), the database must pass
 * integrity_check and be exactly the before or the after state, the previous data must
 * still exist somewhere, and the operation journal must be resolved.
 *
 * MW_CRASH_KILLS sets the number of kills (default 200; more for a longer run).
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "mw-testlib.h"

static const char *cli;

static const char *tags[] = { "0000_init", "0001_items", "0002_rebuild" };
static const gint64 whens[] = { 1700000000000, 1700000100000, 1700000200000 };
static const char *sqls[] = {
  "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL, `name` text);\n--> statement-breakpoint\n"
  "CREATE TABLE `sales` (`id` integer PRIMARY KEY, `shop_id` text NOT NULL REFERENCES shops(id) "
  "ON DELETE CASCADE, `total` integer);",
  "ALTER TABLE `sales` ADD `note` text;--> statement-breakpoint\n"
  "UPDATE `sales` SET `note` = 'n' || `id`;",
  "PRAGMA foreign_keys=OFF;--> statement-breakpoint\n"
  "CREATE TABLE `__new_shops` (`id` text PRIMARY KEY NOT NULL, `name` text NOT NULL DEFAULT 'Shop');"
  "--> statement-breakpoint\n"
  "INSERT INTO `__new_shops`(\"id\", \"name\") SELECT \"id\", coalesce(\"name\", 'Shop') FROM `shops`;"
  "--> statement-breakpoint\nDROP TABLE `shops`;--> statement-breakpoint\n"
  "ALTER TABLE `__new_shops` RENAME TO `shops`;--> statement-breakpoint\nPRAGMA foreign_keys=ON;",
};

typedef enum { OP_MIGRATE, OP_RESTORE, OP_FRESH, N_OPS } Op;
static const char *op_names[] = { "migrate", "restore", "fresh" };

/* What a database holds, in a form that tells the states apart. */
static char *
signature (const char *db)
{
  g_autofree char *migrations = NULL;

  if (!g_file_test (db, G_FILE_TEST_EXISTS))
    return g_strdup ("(none)");
  return g_strdup_printf ("migrations=%" G_GINT64_FORMAT " sales=%" G_GINT64_FORMAT,
                          mw_test_sql_int (db, "SELECT count(*) FROM __drizzle_migrations"),
                          mw_test_sql_int (db, "SELECT count(*) FROM sqlite_schema WHERE name = 'sales'")
                          ? mw_test_sql_int (db, "SELECT count(*) FROM sales") : -1);
}

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (g_file_set_contents (to, data, len, NULL));
}

/* Removes what earlier rounds left beside the database (its own test files). */
static void
reset_dir (const char *dir, const char *db)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autofree char *base = g_path_get_basename (db);
  const char *name;

  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, base))
      {
        g_autofree char *p = g_build_filename (dir, name, NULL);

        g_unlink (p);
      }
}

static gboolean
some_old_set_has (const char *dir, const char *db, const char *wanted)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autofree char *prefix = g_strconcat (g_path_get_basename (db), ".old.", NULL);
  const char *name;

  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = NULL, *sig = NULL;

      if (!g_str_has_prefix (name, prefix) || g_str_has_suffix (name, "-wal") ||
          g_str_has_suffix (name, "-shm") || g_str_has_suffix (name, "-journal"))
        continue;
      p = g_build_filename (dir, name, NULL);
      sig = signature (p);
      if (g_str_equal (sig, wanted))
        return TRUE;
    }
  return FALSE;
}

/* The POS starting: SQLite plays back a hot -journal a killed run left (`status`
 * reads such a database from a copy and changes nothing of it). */
static void
open_as_the_pos (const char *db)
{
  if (g_file_test (db, G_FILE_TEST_EXISTS))
    mw_test_sql_exec (db, "SELECT count(*) FROM sqlite_schema");
}

static gint64
run_killed_after (const char *const *argv, gint64 delay_us)
{
  g_autoptr(GError) error = NULL;
  GPid pid;
  int status = 0;
  gint64 start = g_get_monotonic_time ();

  g_spawn_async (NULL, (char **) argv, NULL,
                 G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                 (delay_us >= 0 ? G_SPAWN_STDERR_TO_DEV_NULL : 0),
                 NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  if (delay_us >= 0)
    {
      g_usleep ((gulong) delay_us);
      kill (pid, SIGKILL);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  return g_get_monotonic_time () - start;
}

static void
test_kill_anywhere (void)
{
  g_autofree char *dir = mw_test_make_tmp_dir ("crash");
  g_autofree char *folder = g_build_filename (dir, "migrations", NULL);
  g_autofree char *fixture = g_build_filename (dir, "fixture.sqlite", NULL);
  g_autofree char *db = g_build_filename (dir, "pos.db", NULL);
  g_autofree char *backups = g_build_filename (dir, "backups", NULL);
  g_autofree char *journal = g_strconcat (db, ".mw-operation", NULL);
  g_autofree char *before = NULL, *restore_from = NULL;
  char *after[N_OPS] = { NULL };
  const char *kills_env = g_getenv ("MW_CRASH_KILLS");
  guint kills = kills_env ? (guint) atoi (kills_env) : 200;
  gint64 duration[N_OPS] = { 0 };
  guint landed[N_OPS][2] = { { 0 } };

  mw_test_write_journal (folder, 3, tags, whens, sqls);

  /* The shop at level 1, with a verified backup taken at that level. */
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--to", "0000_init",
                                  "--database", fixture, "--migrations", folder, NULL), ==, 0);
  mw_test_sql_exec (fixture, "INSERT INTO shops VALUES ('s1', NULL);"
                             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                             "WHERE i < 20000) INSERT INTO sales (shop_id, total) SELECT 's1', i FROM n;");
  copy_file (fixture, db);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "backup", "--quiet", "--database", db,
                                  "--backup-dir", backups, "--migrations", folder, NULL), ==, 0);
  mw_test_sql_exec (fixture, "INSERT INTO sales (shop_id, total) VALUES ('s1', 1), ('s1', 2);");
  before = signature (fixture);
  {
    g_autoptr(GDir) d = g_dir_open (backups, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (d)) != NULL)
      if (g_str_has_suffix (name, ".db"))
        restore_from = g_build_filename (backups, name, NULL);
    g_assert_nonnull (restore_from);
  }

  /* Each operation once, uninterrupted: its after state and how long it takes. */
  for (Op op = 0; op < N_OPS; op++)
    {
      const char *argv[] = { cli, op_names[op], "--yes", "--quiet", "--database", db,
                             "--backup-dir", backups, "--migrations", folder,
                             op == OP_RESTORE ? restore_from : NULL, NULL };

      reset_dir (dir, db);
      copy_file (fixture, db);
      duration[op] = run_killed_after (argv, -1);
      after[op] = signature (db);
      g_assert_cmpstr (after[op], !=, before);
    }

  for (guint k = 0; k < kills; k++)
    {
      Op op = k % N_OPS;
      const char *argv[] = { cli, op_names[op], "--yes", "--quiet", "--database", db,
                             "--backup-dir", backups, "--migrations", folder,
                             op == OP_RESTORE ? restore_from : NULL, NULL };
      g_autofree char *now = NULL, *check = NULL;
      gint64 delay = g_random_int_range (0, (gint32) MAX (duration[op] * 11 / 10, 1000));

      reset_dir (dir, db);
      copy_file (fixture, db);
      run_killed_after (argv, delay);

      /* The next start: status recovers first. */
      g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "status", "--quiet", "--database", db,
                                      "--migrations", folder, NULL), <, 20);
      g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));

      open_as_the_pos (db);
      check = mw_test_sql_text (db, "PRAGMA integrity_check");
      g_assert_cmpstr (check, ==, "ok");
      now = signature (db);
      if (g_str_equal (now, before))
        landed[op][0]++;
      else
        {
          if (!g_str_equal (now, after[op]))
            g_error ("kill %u (%s after %" G_GINT64_FORMAT " us): the database is “%s”, neither "
                     "before (“%s”) nor after (“%s”)", k, op_names[op], delay, now, before, after[op]);
          landed[op][1]++;
          /* Nothing lost: what was replaced is kept aside. */
          if (op != OP_MIGRATE)
            g_assert_true (some_old_set_has (dir, db, before));
        }
    }

  g_test_message ("kills: migrate %u before / %u after, restore %u / %u, fresh %u / %u",
                  landed[0][0], landed[0][1], landed[1][0], landed[1][1], landed[2][0], landed[2][1]);
  for (Op op = 0; op < N_OPS; op++)
    g_free (after[op]);
  mw_test_remove_tree (dir);
}

static gboolean
some_old_set_is (const char *dir, const char *db, const char *digest)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autofree char *prefix = g_strconcat (g_path_get_basename (db), ".old.", NULL);
  const char *name;

  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = NULL, *sum = NULL;

      if (!g_str_has_prefix (name, prefix) || g_str_has_suffix (name, "-wal") ||
          g_str_has_suffix (name, "-shm") || g_str_has_suffix (name, "-journal"))
        continue;
      p = g_build_filename (dir, name, NULL);
      sum = mw_test_file_digest (p);
      if (g_str_equal (sum, digest))
        return TRUE;
    }
  return FALSE;
}

/* repair --yes killed anywhere: after the next start the database is either the
 * damaged one, byte for byte, or the repaired one, sound; in the second case the
 * damaged one is kept aside, byte for byte; no operation left half-done. */
static void
test_kill_repair (void)
{
  g_autofree char *dir = mw_test_make_tmp_dir ("crash-repair");
  g_autofree char *folder = g_build_filename (dir, "migrations", NULL);
  g_autofree char *fixture = g_build_filename (dir, "fixture.sqlite", NULL);
  g_autofree char *db = g_build_filename (dir, "pos.db", NULL);
  g_autofree char *backups = g_build_filename (dir, "backups", NULL);
  g_autofree char *journal = g_strconcat (db, ".mw-operation", NULL);
  g_autofree char *damaged = NULL, *after = NULL;
  const char *kills_env = g_getenv ("MW_CRASH_KILLS");
  guint kills = (kills_env ? (guint) atoi (kills_env) : 200) / 2;
  const char *argv[] = { cli, "repair", "--yes", "--quiet", "--database", db, "--backup-dir",
                         backups, NULL };
  guint landed[2] = { 0, 0 };
  gint64 duration;

  mw_test_write_journal (folder, 3, tags, whens, sqls);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--to", "0000_init",
                                  "--database", fixture, "--migrations", folder, NULL), ==, 0);
  mw_test_sql_exec (fixture, "PRAGMA journal_mode = DELETE; INSERT INTO shops VALUES ('s1', NULL);"
                             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                             "WHERE i < 20000) INSERT INTO sales (shop_id, total) SELECT 's1', i FROM n;");
  {
    gint64 leaf = mw_test_sql_int (fixture, "SELECT pageno FROM dbstat WHERE name = 'sales' AND "
                                            "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 5");
    FILE *file = fopen (fixture, "r+b");
    char garbage[4096];

    memset (garbage, 0x42, sizeof garbage);
    g_assert_nonnull (file);
    g_assert_cmpint (fseek (file, (long) ((leaf - 1) * 4096), SEEK_SET), ==, 0);
    g_assert_cmpuint (fwrite (garbage, 1, sizeof garbage, file), ==, sizeof garbage);
    fclose (file);
  }
  damaged = mw_test_file_digest (fixture);

  reset_dir (dir, db);
  copy_file (fixture, db);
  duration = run_killed_after (argv, -1);
  after = signature (db);

  for (guint k = 0; k < kills; k++)
    {
      g_autofree char *now = NULL, *sum = NULL;
      gint64 delay = g_random_int_range (0, (gint32) MAX (duration * 11 / 10, 1000));

      reset_dir (dir, db);
      copy_file (fixture, db);
      run_killed_after (argv, delay);

      g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "status", "--quiet", "--database", db,
                                      "--migrations", folder, NULL), <, 20);
      g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
      sum = mw_test_file_digest (db);
      if (g_str_equal (sum, damaged))
        {
          landed[0]++;
          continue;
        }
      now = signature (db);
      if (!g_str_equal (now, after))
        g_error ("repair kill %u after %" G_GINT64_FORMAT " us: the database is “%s”, neither "
                 "the damaged one nor the repaired one (“%s”)", k, delay, now, after);
      {
        g_autofree char *check = mw_test_sql_text (db, "PRAGMA integrity_check");

        g_assert_cmpstr (check, ==, "ok");
      }
      g_assert_true (some_old_set_is (dir, db, damaged));
      landed[1]++;
    }
  g_test_message ("repair kills: %u before, %u after", landed[0], landed[1]);
  mw_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  cli = g_getenv ("MW_CLI");
  if (cli == NULL)
    g_error ("MW_CLI must point at the migration-wizard binary");

  g_test_add_func ("/mw/crash/kill-anywhere", test_kill_anywhere);
  g_test_add_func ("/mw/crash/kill-repair", test_kill_repair);
  return g_test_run ();
}
