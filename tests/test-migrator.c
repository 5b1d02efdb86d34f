/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Applying migrations: drizzle-orm's result (DDL, rows), one transaction, and the
 * database exactly as it was after any failure, refusal or cancel.
 */

#include "config.h"

#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

#include "mw-engine.h"
#include "mw-testlib.h"

typedef struct
{
  char *dir;
  char *folder;
  char *db;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = mw_test_make_tmp_dir ("migrator");
  f->folder = g_build_filename (f->dir, "migrations", NULL);
  f->db = g_build_filename (f->dir, "pos_system.db", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  mw_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->folder);
  g_free (f->db);
}

static MwMigrationSet *
load (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  MwMigrationSet *set = mw_migration_set_load (f->folder, &error);

  g_assert_no_error (error);
  return set;
}

static gboolean
run (Fixture *f, MwMigrationSet *set, const char *target, GCancellable *cancellable,
     GError **error)
{
  g_autoptr(MwMigrator) migrator = mw_migrator_new (f->db, set);

  mw_migrator_set_target (migrator, target);
  return mw_migrator_run (migrator, cancellable, error);
}

static void
write_v1 (Fixture *f, const char *name, const char *sql)
{
  g_autofree char *path = g_build_filename (f->folder, name, "migration.sql", NULL);

  mw_test_write_file (path, sql);
}

static void
test_v1_ddl_and_rows (Fixture *f, gconstpointer data)
{
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ddl = NULL, *name = NULL, *applied_at = NULL;

  write_v1 (f, "20250101090000_init", "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL);");
  write_v1 (f, "20250201090000_tills", "CREATE TABLE `tills` (`id` text PRIMARY KEY NOT NULL);");
  set = load (f);
  g_assert_true (run (f, set, NULL, NULL, &error));
  g_assert_no_error (error);

  ddl = mw_test_sql_text (f->db, "SELECT sql FROM sqlite_schema WHERE name = '__drizzle_migrations'");
  g_assert_cmpstr (ddl, ==, "CREATE TABLE \"__drizzle_migrations\" (\n"
                            "\t\t\t\tid INTEGER PRIMARY KEY,\n"
                            "\t\t\t\thash text NOT NULL,\n"
                            "\t\t\t\tcreated_at numeric,\n"
                            "\t\t\t\tname text,\n"
                            "\t\t\t\tapplied_at TEXT\n"
                            "\t\t\t)");
  name = mw_test_sql_text (f->db, "SELECT name FROM __drizzle_migrations WHERE id = 2");
  g_assert_cmpstr (name, ==, "20250201090000_tills");
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT created_at FROM __drizzle_migrations WHERE id = 1"),
                   ==, 1735722000000);
  applied_at = mw_test_sql_text (f->db, "SELECT applied_at FROM __drizzle_migrations WHERE id = 2");
  g_assert_true (g_regex_match_simple ("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$",
                                       applied_at, 0, 0));
}

static void
test_v1_upgrades_old_table (Fixture *f, gconstpointer data)
{
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(MwDiagnosis) before = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *hash = NULL, *sql = NULL, *name = NULL;

  /* A shop migrated by a 0.x app; the new app ships the same migration in v1 layout. */
  write_v1 (f, "20250101090000_init", "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL);");
  write_v1 (f, "20250201090000_tills", "CREATE TABLE `tills` (`id` text PRIMARY KEY NOT NULL);");
  hash = mw_sha256_hex ("CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL);",
                        strlen ("CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL);"));
  sql = g_strdup_printf ("CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL);"
                         "CREATE TABLE \"__drizzle_migrations\" (id SERIAL PRIMARY KEY, "
                         "hash text NOT NULL, created_at numeric);"
                         "INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('%s', 1735722000123);",
                         hash);
  mw_test_sql_exec (f->db, sql);
  set = load (f);

  before = mw_diagnose (f->db, set, NULL);
  g_assert_cmpint (before->state, ==, MW_STATE_PENDING);
  g_assert_cmpuint (before->n_applied, ==, 1);

  g_assert_true (run (f, set, NULL, NULL, &error));
  g_assert_no_error (error);
  name = mw_test_sql_text (f->db, "SELECT name FROM __drizzle_migrations ORDER BY rowid LIMIT 1");
  g_assert_cmpstr (name, ==, "20250101090000_init");
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 2);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sqlite_schema WHERE name = 'tills'"), ==, 1);
}

static void
expect_refused_before_anything (Fixture *f, const char *bad_sql, const char *must_mention)
{
  const char *tags[] = { "0000_init", "0001_bad" };
  const gint64 whens[] = { 1700000000000, 1700000100000 };
  const char *sqls[] = { "CREATE TABLE shops (id text PRIMARY KEY);", bad_sql };
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL;

  mw_test_write_journal (f->folder, 2, tags, whens, sqls);
  set = load (f);
  g_assert_true (run (f, set, "0000_init", NULL, &error));
  before = mw_test_dump_schema (f->db);

  g_assert_false (run (f, set, NULL, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATION_FAILED);
  if (strstr (error->message, must_mention) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, must_mention);
  after = mw_test_dump_schema (f->db);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 1);
}

static void
test_refuses_transaction_control (Fixture *f, gconstpointer data)
{
  expect_refused_before_anything (f, "CREATE TABLE a (x);\n--> statement-breakpoint\n"
                                     "  /* done */ COMMIT;", "controls transactions");
}

static void
test_refuses_two_statements (Fixture *f, gconstpointer data)
{
  expect_refused_before_anything (f, "CREATE TABLE a (x); CREATE TABLE b (y);",
                                  "more than one SQL statement");
}

static void
test_refuses_states (Fixture *f, gconstpointer data)
{
  const char *tags[] = { "0000_init", "0001_more" };
  const gint64 whens[] = { 1700000000000, 1700000100000 };
  const char *sqls[] = { "CREATE TABLE shops (id text PRIMARY KEY);", "CREATE TABLE tills (id text);" };
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL;

  mw_test_write_journal (f->folder, 2, tags, whens, sqls);
  set = load (f);
  g_assert_true (run (f, set, "0000_init", NULL, &error));

  /* Newer app's row: refused, and not one byte written. */
  mw_test_sql_exec (f->db, "INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('x', 1900000000000)");
  before = mw_test_file_digest (f->db);
  g_assert_false (run (f, set, NULL, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED);
  after = mw_test_file_digest (f->db);
  g_assert_cmpstr (before, ==, after);
}

static void
notify_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  guint *count = user_data;

  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  (*count)++;
}

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (mw_migrator_run_finish (MW_MIGRATOR (source), result, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

static void
test_async_progress (Fixture *f, gconstpointer data)
{
  const char *tags[] = { "0000_init", "0001_fill" };
  const gint64 whens[] = { 1700000000000, 1700000100000 };
  const char *sqls[] = { "CREATE TABLE n (i integer);",
                         "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                         "WHERE i < 300000) INSERT INTO n SELECT i FROM c;" };
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(MwMigrator) migrator = NULL;
  gboolean done = FALSE;
  guint notifications = 0;

  mw_test_write_journal (f->folder, 2, tags, whens, sqls);
  set = load (f);
  migrator = mw_migrator_new (f->db, set);
  g_signal_connect (mw_migrator_get_progress (migrator), "notify::fraction",
                    G_CALLBACK (notify_cb), &notifications);
  mw_migrator_run_async (migrator, NULL, done_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  g_usleep (250 * 1000);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);

  g_assert_cmpuint (notifications, >, 0);
  g_assert_cmpfloat (mw_progress_get_fraction (mw_migrator_get_progress (migrator)), ==, 1.0);
  g_assert_cmpuint (mw_migrator_get_applied (migrator)->len, ==, 2);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM n"), ==, 300000);
}

static void
test_cancelled (Fixture *f, gconstpointer data)
{
  const char *tags[] = { "0000_init" };
  const gint64 whens[] = { 1700000000000 };
  const char *sqls[] = { "CREATE TABLE n (i integer);" };
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  mw_test_write_journal (f->folder, 1, tags, whens, sqls);
  set = load (f);
  g_cancellable_cancel (cancellable);
  g_assert_false (run (f, set, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sqlite_schema"), ==, 0);
}

/* The trap itself, done the naive way (what drizzle-orm does): with foreign keys on,
 * a rebuild's DROP TABLE cascades into the child table even though the migration says
 * PRAGMA foreign_keys=OFF, because that pragma is a no-op inside a transaction. This
 * is what the migrator's tests would catch if it did the same. */
static void
test_naive_rebuild_loses_children (Fixture *f, gconstpointer data)
{
  const char *setup =
    "CREATE TABLE p (id text PRIMARY KEY);"
    "CREATE TABLE c (id text PRIMARY KEY, p_id text REFERENCES p(id) ON DELETE CASCADE);"
    "INSERT INTO p VALUES ('a'); INSERT INTO c VALUES ('1', 'a'), ('2', 'a');";
  const char *rebuild =
    "PRAGMA foreign_keys=OFF;--> statement-breakpoint\n"
    "CREATE TABLE `__new_p` (`id` text PRIMARY KEY NOT NULL, `x` int DEFAULT 0 NOT NULL);--> statement-breakpoint\n"
    "INSERT INTO `__new_p`(\"id\") SELECT \"id\" FROM `p`;--> statement-breakpoint\n"
    "DROP TABLE `p`;--> statement-breakpoint\n"
    "ALTER TABLE `__new_p` RENAME TO `p`;--> statement-breakpoint\n"
    "PRAGMA foreign_keys=ON;";
  g_autofree char *naive_db = g_build_filename (f->dir, "naive.db", NULL);
  g_autoptr(GPtrArray) pieces = mw_sql_split (rebuild);
  const char *tags[] = { "0000_init", "0001_rebuild" };
  const gint64 whens[] = { 1700000000000, 1700000100000 };
  const char *sqls[] = { "CREATE TABLE p (id text PRIMARY KEY);\n--> statement-breakpoint\n"
                         "CREATE TABLE c (id text PRIMARY KEY, p_id text REFERENCES p(id) ON DELETE CASCADE);",
                         rebuild };
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (naive_db, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, setup, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA foreign_keys=ON; BEGIN", NULL, NULL, NULL), ==, SQLITE_OK);
  for (guint i = 0; i < pieces->len; i++)
    g_assert_cmpint (sqlite3_exec (db, g_ptr_array_index (pieces, i), NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  g_assert_cmpint (mw_test_sql_int (naive_db, "SELECT count(*) FROM c"), ==, 0);

  /* The migrator on the same situation keeps both children. */
  mw_test_write_journal (f->folder, 2, tags, whens, sqls);
  set = load (f);
  g_assert_true (run (f, set, "0000_init", NULL, &error));
  mw_test_sql_exec (f->db, "PRAGMA foreign_keys=ON; INSERT INTO p VALUES ('a');"
                           "INSERT INTO c VALUES ('1', 'a'), ('2', 'a');");
  g_assert_true (run (f, set, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM c"), ==, 2);
}

static void
test_existing_orphans_do_not_block (Fixture *f, gconstpointer data)
{
  const char *tags[] = { "0000_init", "0001_more", "0002_orphan" };
  const gint64 whens[] = { 1700000000000, 1700000100000, 1700000200000 };
  const char *sqls[] = { "CREATE TABLE p (id text PRIMARY KEY);\n--> statement-breakpoint\n"
                         "CREATE TABLE c (id text PRIMARY KEY, p_id text REFERENCES p(id));",
                         "CREATE TABLE tills (id text PRIMARY KEY);",
                         "INSERT INTO c VALUES ('new-orphan', 'nobody');" };
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(GError) error = NULL;

  mw_test_write_journal (f->folder, 3, tags, whens, sqls);
  set = load (f);
  g_assert_true (run (f, set, "0000_init", NULL, &error));
  /* Written long ago with foreign keys off: two orphans the shop already has. */
  mw_test_sql_exec (f->db, "INSERT INTO c VALUES ('1', 'gone'), ('2', 'gone');");

  g_assert_true (run (f, set, "0001_more", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 2);

  /* A migration that adds one more is still refused, and only the new one is named. */
  g_assert_false (run (f, set, NULL, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION);
  g_assert_nonnull (strstr (error->message, "c → p: 1 rows"));
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM c"), ==, 2);
}

static void
test_damaged_database_not_updated (Fixture *f, gconstpointer data)
{
  const char *tags[] = { "0000_init", "0001_more" };
  const gint64 whens[] = { 1700000000000, 1700000100000 };
  const char *sqls[] = { "CREATE TABLE sales (id integer PRIMARY KEY, note text);\n"
                         "--> statement-breakpoint\nCREATE INDEX sales_note ON sales (note);",
                         "CREATE TABLE tills (id text PRIMARY KEY);" };
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL, *before = NULL, *after = NULL;
  gint64 page, page_size;
  gsize len = 0;

  mw_test_write_journal (f->folder, 2, tags, whens, sqls);
  set = load (f);
  g_assert_true (run (f, set, "0000_init", NULL, &error));
  mw_test_sql_exec (f->db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 3000) INSERT INTO sales (note) SELECT 'note ' || i FROM n;");

  /* Garbage over one leaf page of the index: the tables still read, quick_check fails. */
  page = mw_test_sql_int (f->db, "SELECT pageno FROM dbstat WHERE name = 'sales_note' AND "
                                 "pagetype = 'leaf' LIMIT 1 OFFSET 1");
  page_size = mw_test_sql_int (f->db, "PRAGMA page_size");
  g_assert_true (g_file_get_contents (f->db, &contents, &len, NULL));
  memset (contents + (page - 1) * page_size + 8, 0xee, 64);
  g_assert_true (g_file_set_contents (f->db, contents, len, NULL));
  before = mw_test_file_digest (f->db);

  g_assert_false (run (f, set, NULL, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "quick_check"));
  after = mw_test_file_digest (f->db);
  g_assert_cmpstr (before, ==, after);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/mw/engine/migrate/v1-ddl-and-rows", test_v1_ddl_and_rows);
  ADD ("/mw/engine/migrate/v1-upgrades-0x-table", test_v1_upgrades_old_table);
  ADD ("/mw/engine/migrate/refuses-transaction-control", test_refuses_transaction_control);
  ADD ("/mw/engine/migrate/refuses-two-statements-in-a-piece", test_refuses_two_statements);
  ADD ("/mw/engine/migrate/refuses-newer-database", test_refuses_states);
  ADD ("/mw/engine/migrate/async-progress-on-main-thread", test_async_progress);
  ADD ("/mw/engine/migrate/cancelled", test_cancelled);
  ADD ("/mw/engine/migrate/rebuild-keeps-children", test_naive_rebuild_loses_children);
  ADD ("/mw/engine/migrate/existing-orphans-do-not-block", test_existing_orphans_do_not_block);
  ADD ("/mw/engine/migrate/damaged-database-not-updated", test_damaged_database_not_updated);
#undef ADD

  return g_test_run ();
}
