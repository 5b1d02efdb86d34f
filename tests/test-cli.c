/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The headless front as a script or a technician uses it: the real binary, real files,
 * and what they look at — exit status, the JSON printed, the rows in the database.
 */

#include "config.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mw-testlib.h"

typedef struct
{
  char *dir;          /* a fresh temp dir, with a space and non-ASCII in its name */
  char *migrations;
  char *db;
} Fixture;

static const char *cli_path;

/* ---- helpers ------------------------------------------------------------------------- */

static const char *shop_tags[] = { "0000_init", "0001_items", "0002_rebuild_parent" };
static const gint64 shop_whens[] = { 1700000000000, 1700000100000, 1700000200000 };
static const char *shop_sqls[] = {
  "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL, `name` text);\n"
  "--> statement-breakpoint\n"
  "CREATE TABLE `sales` (`id` text PRIMARY KEY NOT NULL, `shop_id` text NOT NULL "
  "REFERENCES shops(id) ON DELETE CASCADE, `total` integer);",
  "ALTER TABLE `sales` ADD `note` text;",
  "PRAGMA foreign_keys=OFF;--> statement-breakpoint\n"
  "CREATE TABLE `__new_shops` (`id` text PRIMARY KEY NOT NULL, `name` text NOT NULL DEFAULT 'Shop');\n"
  "--> statement-breakpoint\n"
  "INSERT INTO `__new_shops`(\"id\", \"name\") SELECT \"id\", coalesce(\"name\", 'Shop') FROM `shops`;"
  "--> statement-breakpoint\n"
  "DROP TABLE `shops`;--> statement-breakpoint\n"
  "ALTER TABLE `__new_shops` RENAME TO `shops`;--> statement-breakpoint\n"
  "PRAGMA foreign_keys=ON;",
};

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = mw_test_make_tmp_dir ("Kassé Daten");
  f->migrations = g_build_filename (f->dir, "migrations", NULL);
  f->db = g_build_filename (f->dir, "pos system.db", NULL);
  mw_test_write_journal (f->migrations, G_N_ELEMENTS (shop_tags), shop_tags, shop_whens, shop_sqls);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  mw_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->migrations);
  g_free (f->db);
}

#define run_cli(out, err, ...) mw_test_spawn (out, err, cli_path, __VA_ARGS__)

/* For a string the helpers return: compared, then freed. */
#define assert_owned_str(owned, expected) \
  G_STMT_START { \
    g_autofree char *owned_ = (owned); \
    g_assert_cmpstr (owned_, ==, (expected)); \
  } G_STMT_END

static JsonObject *
parse_object (const char *text, JsonParser **keep)
{
  g_autoptr(GError) error = NULL;
  JsonParser *parser = json_parser_new ();
  JsonNode *root;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  *keep = parser;
  return json_node_get_object (root);
}

/* ---- tests --------------------------------------------------------------------------- */

static void
test_help (void)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (run_cli (&out, NULL, "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "migrate"));
  g_assert_nonnull (strstr (out, "status"));
  g_assert_nonnull (strstr (out, "Exit status"));
  g_assert_cmpint (run_cli (NULL, NULL, "frobnicate", NULL), ==, 2);
  g_assert_cmpint (run_cli (NULL, NULL, "--no-such-option", NULL), ==, 2);
}

static void
test_missing_then_migrate (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonParser) p1 = NULL, p2 = NULL;
  g_autofree char *out = NULL, *out2 = NULL;
  JsonObject *obj;
  JsonArray *migrations;

  /* status on a missing database says so and creates nothing */
  g_assert_cmpint (run_cli (&out, NULL, "status", "--json", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 4);
  obj = parse_object (out, &p1);
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "missing");
  g_assert_cmpint (json_object_get_int_member (obj, "pending"), ==, 3);
  g_assert_false (g_file_test (f->db, G_FILE_TEST_EXISTS));

  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 0);
  g_assert_true (g_file_test (f->db, G_FILE_TEST_EXISTS));
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 3);

  g_assert_cmpint (run_cli (&out2, NULL, "status", "--json", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  obj = parse_object (out2, &p2);
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "up-to-date");
  g_assert_cmpint (json_object_get_int_member (obj, "pending"), ==, 0);
  migrations = json_object_get_array_member (obj, "migrations");
  g_assert_cmpint (json_array_get_length (migrations), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *m = json_array_get_object_element (migrations, i);

      g_assert_cmpstr (json_object_get_string_member (m, "tag"), ==, shop_tags[i]);
      g_assert_cmpint (json_object_get_int_member (m, "when"), ==, shop_whens[i]);
      g_assert_cmpint (strlen (json_object_get_string_member (m, "hash")), ==, 64);
      g_assert_cmpstr (json_object_get_string_member (m, "status"), ==, "applied");
    }
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (obj, "unknown")), ==, 0);
}

static void
test_partial_keeps_children (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *out = NULL;
  JsonObject *obj;

  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--to", "0001_items", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  /* The shop's data, written the way the POS writes it: foreign keys on. */
  mw_test_sql_exec (f->db,
            "PRAGMA foreign_keys=ON;"
            "INSERT INTO shops VALUES ('s1', NULL), ('s2', 'Corner');"
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 500) "
            "INSERT INTO sales SELECT 'sale' || i, CASE i % 2 WHEN 0 THEN 's1' ELSE 's2' END, "
            "i * 100, NULL FROM n;");

  g_assert_cmpint (run_cli (&out, NULL, "status", "--json", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 3);
  obj = parse_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "pending");
  g_assert_cmpint (json_object_get_int_member (obj, "pending"), ==, 1);

  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 0);
  /* The rebuild of the parent table kept every child row. */
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sales"), ==, 500);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops WHERE name = 'Shop'"), ==, 1);
}

static void
test_no_migrations (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *nowhere = g_build_filename (f->dir, "not-there", NULL);
  g_autofree char *out = NULL, *err = NULL;
  JsonObject *obj;

  g_assert_cmpint (run_cli (&out, NULL, "status", "--json", "--database", f->db,
                            "--migrations", nowhere, NULL), ==, 19);
  obj = parse_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "no-migrations");
  g_assert_nonnull (strstr (json_object_get_string_member (obj, "detail"), nowhere));

  /* Not given at all: every place tried is named. */
  g_assert_cmpint (run_cli (NULL, &err, "migrate", "--database", f->db, NULL), ==, 19);
  g_assert_nonnull (strstr (err, "Places tried"));
  g_assert_nonnull (strstr (err, "resources"));
  g_assert_false (g_file_test (f->db, G_FILE_TEST_EXISTS));
}

static void
test_invalid_migrations (Fixture *f, gconstpointer data)
{
  g_autofree char *journal = g_build_filename (f->migrations, "meta", "_journal.json", NULL);
  g_autofree char *err = NULL;

  mw_test_write_file (journal, "{\"entries\": [ {\"tag\": \"../../etc/passwd\", \"when\": 1} ]}");
  g_assert_cmpint (run_cli (NULL, &err, "migrate", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 20);
  g_assert_nonnull (strstr (err, "outside"));
  g_assert_false (g_file_test (f->db, G_FILE_TEST_EXISTS));
}

static void
test_not_a_database (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL, *after = NULL;

  mw_test_write_file (f->db, "Daily takings: 1,234.56\nThis is a spreadsheet export, not SQLite.\n");
  before = mw_test_file_digest (f->db);
  g_assert_cmpint (run_cli (NULL, NULL, "status", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 17);
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 17);
  after = mw_test_file_digest (f->db);
  g_assert_cmpstr (before, ==, after);
}

static void
test_failure_rolls_back (Fixture *f, gconstpointer data)
{
  const char *tags[] = { "0000_init", "0001_items", "0002_rebuild_parent", "0003_broken" };
  const gint64 whens[] = { 1700000000000, 1700000100000, 1700000200000, 1700000300000 };
  const char *sqls[] = { shop_sqls[0], shop_sqls[1], shop_sqls[2],
                         "CREATE TABLE ok_table (x PRIMARY KEY);\n--> statement-breakpoint\n"
                         "INSERT INTO ok_table VALUES (1), (1);" };
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *out = NULL, *before = NULL, *after = NULL;
  JsonObject *obj, *error;

  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--to", "0000_init", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  mw_test_sql_exec (f->db, "INSERT INTO shops VALUES ('s1', 'A'); INSERT INTO sales VALUES ('x', 's1', 5);");
  mw_test_write_journal (f->migrations, 4, tags, whens, sqls);
  before = mw_test_file_digest (f->db);

  g_assert_cmpint (run_cli (&out, NULL, "migrate", "--json", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 21);
  obj = parse_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (obj, "result"), ==, "failed");
  error = json_object_get_object_member (obj, "error");
  g_assert_cmpstr (json_object_get_string_member (error, "migration"), ==, "0003_broken");
  g_assert_cmpint (json_object_get_int_member (error, "statement"), ==, 2);
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"),
                            "UNIQUE constraint failed: ok_table.x"));

  /* Nothing of the three migrations before it stayed either. */
  after = mw_test_file_digest (f->db);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 1);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM pragma_table_info('sales') WHERE name = 'note'"), ==, 0);
}

static void
test_foreign_key_violation (Fixture *f, gconstpointer data)
{
  const char *tags[] = { "0000_init", "0001_orphans" };
  const gint64 whens[] = { 1700000000000, 1700000100000 };
  const char *sqls[] = { shop_sqls[0], "INSERT INTO sales VALUES ('orphan', 'no-such-shop', 1);" };
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *out = NULL;
  JsonObject *obj, *error;
  JsonArray *violations;

  mw_test_write_journal (f->migrations, 2, tags, whens, sqls);
  g_assert_cmpint (run_cli (&out, NULL, "migrate", "--json", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 22);
  obj = parse_object (out, &parser);
  error = json_object_get_object_member (obj, "error");
  violations = json_object_get_array_member (error, "violations");
  g_assert_cmpint (json_array_get_length (violations), ==, 1);
  g_assert_nonnull (strstr (json_array_get_string_element (violations, 0), "sales"));
  /* Rolled back, and this was the first update: the database is still missing, as it
   * was — no empty file, no lock file, no journal — and status says so. */
  {
    g_autofree char *lock = g_strconcat (f->db, ".mw-lock", NULL);
    g_autofree char *journal = g_strconcat (f->db, "-journal", NULL);

    g_assert_false (g_file_test (f->db, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (lock, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
  }
  g_assert_cmpint (run_cli (NULL, NULL, "status", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 4);
}

static void
test_locked (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *out = NULL;
  sqlite3 *holder = NULL;
  JsonObject *obj;

  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--to", "0000_init", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);

  /* This test process plays the POS, in the middle of writing a sale. */
  g_assert_cmpint (sqlite3_open (f->db, &holder), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (holder, "BEGIN IMMEDIATE; INSERT INTO shops VALUES ('s', 'x');",
                                 NULL, NULL, NULL), ==, SQLITE_OK);

  g_assert_cmpint (run_cli (&out, NULL, "status", "--json", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 14);
  obj = parse_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "locked");
#ifdef __linux__
  g_assert_cmpint (json_object_get_int_member (obj, "lock_pid"), ==, getpid ());
  g_assert_nonnull (strstr (json_object_get_string_member (obj, "message"), "process"));
#endif
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--busy-timeout", "300", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 14);

  sqlite3_exec (holder, "COMMIT", NULL, NULL, NULL);
  sqlite3_close (holder);
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 0);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops"), ==, 1);
}

/* The POS is still closing when the update starts: the wizard waits and tries again. */
static void
test_busy_then_free (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *argv[] = { cli_path, "migrate", "--busy-timeout", "300", "--database", f->db,
                         "--migrations", f->migrations, NULL };
  sqlite3 *pos = NULL;
  GPid pid;
  int wait_status = 0;

  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--to", "0000_init", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  g_assert_cmpint (sqlite3_open (f->db, &pos), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (pos, "BEGIN IMMEDIATE; INSERT INTO shops VALUES ('s', 'x');",
                                 NULL, NULL, NULL), ==, SQLITE_OK);

  g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD |
                 G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                 NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  /* Past the diagnosis' 2 s wait and the first attempt: the POS commits and exits. */
  g_usleep (3 * G_USEC_PER_SEC);
  g_assert_cmpint (sqlite3_exec (pos, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (pos);

  g_assert_cmpint (waitpid (pid, &wait_status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 0);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 3);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops"), ==, 1);
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  const char *tags[] = { "0000_init", "0001_huge" };
  const gint64 whens[] = { 1700000000000, 1700000100000 };
  const char *sqls[] = { shop_sqls[0],
                         "CREATE TABLE big (i integer, pad text);\n--> statement-breakpoint\n"
                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n "
                         "WHERE i < 200000000) INSERT INTO big SELECT i, 'x' FROM n;" };
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  const char *argv[] = { cli_path, "migrate", "--database", f->db, "--migrations",
                         f->migrations, NULL };
  GPid pid;
  int wait_status = 0;

  mw_test_write_journal (f->migrations, 2, tags, whens, sqls);
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--to", "0000_init", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  before = mw_test_file_digest (f->db);

  g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD |
                 G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                 NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  g_usleep (700 * 1000);   /* well inside the 200-million-row statement */
  kill (pid, SIGINT);
  g_assert_cmpint (waitpid (pid, &wait_status, 0), ==, pid);
  g_spawn_close_pid (pid);

  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 23);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sqlite_schema WHERE name = 'big'"), ==, 0);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 1);
  {
    g_autofree char *check = mw_test_sql_text (f->db, "PRAGMA integrity_check");
    g_assert_cmpstr (check, ==, "ok");
  }
}

static void
test_hash_mismatch_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->migrations, "0000_init.sql", NULL);
  g_autofree char *out = NULL, *before = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *obj;

  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--to", "0000_init", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  mw_test_write_file (path, "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL, `name` text, `x` int);\n"
                    "--> statement-breakpoint\n"
                    "CREATE TABLE `sales` (`id` text PRIMARY KEY NOT NULL, `shop_id` text);");
  before = mw_test_file_digest (f->db);
  g_assert_cmpint (run_cli (&out, NULL, "status", "--json", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 11);
  obj = parse_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "hash-mismatch");
  g_assert_cmpstr (json_object_get_string_member (
                     json_array_get_object_element (json_object_get_array_member (obj, "migrations"), 0),
                     "status"), ==, "modified");
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 11);
  {
    g_autofree char *after = mw_test_file_digest (f->db);
    g_assert_cmpstr (before, ==, after);
  }
  /* A technician may go ahead deliberately. */
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--accept-modified", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 3);
}

/* A real small disk: a 8 MB tmpfs, mounted in a private mount namespace. */
static gboolean
can_mount_small_disks (void)
{
  g_autofree char *unshare = g_find_program_in_path ("unshare");

  if (geteuid () == 0 && unshare != NULL &&
      mw_test_spawn (NULL, NULL, "unshare", "-m", "true", NULL) == 0)
    return TRUE;
  g_test_skip ("needs root and unshare(1) to mount a small tmpfs");
  return FALSE;
}

static void
test_no_space (Fixture *f, gconstpointer data)
{
  const char *script = "mount -t tmpfs -o size=8m tmpfs \"$1\" && shift && exec \"$@\"";
  g_autofree char *small = g_build_filename (f->dir, "small disk", NULL);
  g_autofree char *small_db = g_build_filename (small, "pos.db", NULL);
  g_autofree char *small_backups = g_build_filename (small, "backups", NULL);
  g_autofree char *out = NULL, *err = NULL, *before = NULL, *after = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *obj;

  if (!can_mount_small_disks ())
    return;
  g_mkdir_with_parents (small, 0755);

  /* The database itself on a disk too small for a safe update. */
  g_assert_cmpint (mw_test_spawn (&out, NULL, "unshare", "-m", "sh", "-c", script, "sh", small,
                                  cli_path, "migrate", "--json", "--database", small_db,
                                  "--migrations", f->migrations, NULL), ==, 15);
  obj = parse_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (obj, "before"),
                                                  "state"), ==, "no-space");
  g_assert_nonnull (strstr (json_object_get_string_member (json_object_get_object_member (obj, "before"),
                                                           "message"), "MB"));

  /* The database on a roomy disk, its backups on the small one. */
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--to", "0000_init", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  before = mw_test_file_digest (f->db);
  g_assert_cmpint (mw_test_spawn (NULL, &err, "unshare", "-m", "sh", "-c", script, "sh", small,
                                  cli_path, "migrate", "--database", f->db, "--backup-dir",
                                  small_backups, "--migrations", f->migrations, NULL), ==, 15);
  g_assert_nonnull (strstr (err, "backup disk"));
  g_assert_nonnull (strstr (err, "MB available"));
  after = mw_test_file_digest (f->db);
  g_assert_cmpstr (before, ==, after);
}

/* No display (ssh, a service): the wizard does its job headless. */
static void
test_no_display (Fixture *f, gconstpointer data)
{
  g_autofree char *marker = g_build_filename (f->dir, "pos started", NULL);
  g_autofree char *then = g_strdup_printf ("touch '%s'", marker);
  g_autofree char *err = NULL;

  /* After an update, on a new install: the database is created, then the POS starts. */
  g_assert_cmpint (run_cli (NULL, &err, "--after-update", "--then-run", then, "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  g_assert_nonnull (strstr (err, "No display"));
  for (int i = 0; i < 200 && !g_file_test (marker, G_FILE_TEST_EXISTS); i++)
    g_usleep (10000);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 3);

  /* Opened by hand: the state, as `status` says it. */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (NULL, &err, "--database", f->db, "--migrations", f->migrations,
                            NULL), ==, 0);

  /* A problem after an update: a distinct exit status, and the POS is not started. */
  g_unlink (marker);
  mw_test_write_file (f->db, "not a database");
  g_assert_cmpint (run_cli (NULL, NULL, "--after-update", "--then-run", then, "--database",
                            f->db, "--migrations", f->migrations, NULL), ==, 17);
  g_usleep (100000);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
}

/* An update that commits but leaves the database failing its integrity check (here
 * rows written against their CHECK constraint with ignore_check_constraints; the app's
 * driver refuses writable_schema, so that older way in is closed): the failed set is
 * kept as .failed.*, the verified backup is put back, and the report says both. */
static void
test_damaged_after_commit_restores_backup (Fixture *f, gconstpointer data)
{
  const char *tags[] = { "0000_init", "0001_break_check" };
  const gint64 whens[] = { 1700000000000, 1700000100000 };
  const char *sqls[] = {
    "CREATE TABLE `items` (`id` integer PRIMARY KEY, `name` text, "
    "`price` integer CHECK (`price` >= 0));\n"
    "--> statement-breakpoint\n"
    "CREATE INDEX `items_by_name` ON `items` (`name`);",
    "PRAGMA ignore_check_constraints=ON;--> statement-breakpoint\n"
    "UPDATE `items` SET `price` = -`price`;--> statement-breakpoint\n"
    "PRAGMA ignore_check_constraints=OFF;",
  };
  g_autofree char *folder = g_build_filename (f->dir, "breaking", NULL);
  g_autofree char *out = NULL;
  g_autofree char *before = NULL;
  g_autofree char *failed = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;
  JsonObject *error_obj;

  mw_test_write_journal (folder, 2, tags, whens, sqls);
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--to", "0000_init", "--database", f->db,
                            "--migrations", folder, NULL), ==, 0);
  mw_test_sql_exec (f->db, "INSERT INTO items (name, price) VALUES ('Tea', 250), ('Milk', 90), "
                           "('Bread', 180)");
  before = mw_test_dump_database (f->db);

  g_assert_cmpint (run_cli (&out, NULL, "migrate", "--json", "--database", f->db,
                            "--migrations", folder, NULL), ==, 25);
  error_obj = json_object_get_object_member (parse_object (out, &parser), "error");
  g_assert_nonnull (strstr (json_object_get_string_member (error_obj, "message"),
                            "integrity check"));
  g_assert_nonnull (strstr (json_object_get_string_member (error_obj, "message"), ".failed."));
  g_assert_nonnull (strstr (json_object_get_string_member (error_obj, "restored_from"),
                            "aurswift-backup-"));

  /* The database is the backup again: every row, the old level, sound. */
  assert_owned_str (mw_test_dump_database (f->db), before);
  g_assert_cmpint (run_cli (NULL, NULL, "verify", "--deep", "--database", f->db, NULL), ==, 0);

  /* What the failed update left is kept, whole: the rows, the broken constraint. */
  dir = g_dir_open (f->dir, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "pos system.db.failed.") && !g_str_has_suffix (name, "-wal") &&
        !g_str_has_suffix (name, "-shm") && !g_str_has_suffix (name, "-journal"))
      failed = g_build_filename (f->dir, name, NULL);
  g_assert_nonnull (failed);
  g_assert_cmpstr (json_object_get_string_member (error_obj, "failed_aside"), ==, failed);
  g_assert_cmpint (mw_test_sql_int (failed, "SELECT count(*) FROM items"), ==, 3);
  g_assert_cmpint (mw_test_sql_int (failed, "SELECT count(*) FROM __drizzle_migrations"), ==, 2);
  /* (verify opens it read-only, and SQLite checks no CHECK constraint then) */
  {
    g_autofree char *report = NULL;

    g_assert_cmpint (mw_test_spawn (&report, NULL, "sqlite3", failed, "PRAGMA integrity_check",
                                    NULL), ==, 0);
    g_assert_true (g_str_has_prefix (report, "CHECK constraint failed in items\n"));
  }
  /* No operation left half-done. */
  {
    g_autofree char *journal = g_strconcat (f->db, ".mw-operation", NULL);

    g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
  }
}

/* verify: read-only checks with distinct exit codes. */
static void
test_verify (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *obj;

  g_assert_cmpint (run_cli (NULL, &err, "verify", "--database", f->db, NULL), ==, 4);

  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 0);
  mw_test_sql_exec (f->db, "INSERT INTO shops VALUES ('s1', 'Corner shop');"
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 3000) INSERT INTO sales (id, shop_id, total) "
                           "SELECT printf('sale-%05d', i), 's1', i FROM n;");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (&out, NULL, "verify", "--deep", "--database", f->db, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Every page and index is sound"));

  /* Rows that point at a missing row (written with foreign keys off): 22, named. */
  mw_test_sql_exec (f->db, "PRAGMA foreign_keys = OFF; INSERT INTO sales (id, shop_id, total) "
                           "VALUES ('orphan-1', 'gone', 1), ('orphan-2', 'gone', 2);");
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (&out, NULL, "verify", "--deep", "--json", "--database", f->db,
                            NULL), ==, 22);
  obj = parse_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (obj, "result"), ==, "orphans");
  g_assert_cmpint (json_object_get_int_member (obj, "foreign_key_violations"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (obj, "foreign_keys"), ==, "sales → shops: 2");

  /* A damaged page of the sales: 16, SQLite's findings in the message; not one
   * byte changed by checking. */
  {
    gint64 pages = mw_test_sql_int (f->db, "PRAGMA page_count");
    gint64 page_size = mw_test_sql_int (f->db, "PRAGMA page_size");
    FILE *file = fopen (f->db, "r+b");
    char garbage[1024];

    memset (garbage, 0x6b, sizeof garbage);
    g_assert_nonnull (file);
    g_assert_cmpint (fseek (file, (long) ((pages - 2) * page_size + 16), SEEK_SET), ==, 0);
    g_assert_cmpuint (fwrite (garbage, 1, sizeof garbage, file), ==, sizeof garbage);
    fclose (file);
  }
  before = mw_test_file_digest (f->db);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (NULL, &err, "verify", "--database", f->db, NULL), ==, 16);
  g_assert_nonnull (strstr (err, "damaged"));
  after = mw_test_file_digest (f->db);
  g_assert_cmpstr (before, ==, after);
}

/* The German translation ships and is used: messages in German, machine values
 * (states, JSON keys) never translated. */
static void
test_german (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *json = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *obj;

  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  g_setenv ("LANGUAGE", "de", TRUE);
  g_assert_cmpint (run_cli (&out, NULL, "status", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 4);
  g_assert_cmpint (run_cli (&json, NULL, "status", "--json", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 4);
  g_unsetenv ("LANGUAGE");
  g_unsetenv ("LC_ALL");

  g_assert_nonnull (strstr (out, "gibt es noch keine Datenbank"));
  g_assert_nonnull (strstr (out, "ausstehend"));
  obj = parse_object (json, &parser);
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "missing");
  g_assert_nonnull (strstr (json_object_get_string_member (obj, "message"), "Datenbank"));
}

/* The disk fills up in the middle of an update (the preflight's estimate was met,
 * the update needed more): SQLite stops with SQLITE_FULL, everything is rolled back,
 * the message is about disk space, the exit status 15. */
static void
test_disk_full_mid_update (Fixture *f, gconstpointer data)
{
  const char *tags[] = { "0000_init", "0001_big_import" };
  const gint64 whens[] = { 1700000000000, 1700000100000 };
  const char *sqls[] = {
    "CREATE TABLE `items` (`id` integer PRIMARY KEY, `name` text, `photo` blob);",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
    "INSERT INTO `items` (`name`, `photo`) SELECT printf('item %d', i), randomblob(50000) FROM n;",
  };
  g_autofree char *folder = g_build_filename (f->dir, "filling", NULL);
  g_autofree char *small = g_build_filename (f->dir, "small disk", NULL);
  g_autofree char *backups = g_build_filename (f->dir, "backups elsewhere", NULL);
  g_autofree char *seed = g_build_filename (f->dir, "seed.db", NULL);
  g_autofree char *copy_and_run = NULL;
  g_autofree char *script = NULL;
  g_autofree char *out = NULL;
  g_autofree char *before = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *obj;

  if (!can_mount_small_disks ())
    return;
  mw_test_write_journal (folder, 2, tags, whens, sqls);
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--to", "0000_init", "--database", seed,
                            "--migrations", folder, NULL), ==, 0);
  mw_test_sql_exec (seed, "INSERT INTO items (name) VALUES ('Tea'), ('Milk')");
  before = mw_test_dump_database (seed);
  g_mkdir_with_parents (small, 0755);

  /* On the 60 MB disk: copy the database there, update it (100 MB to write), then
   * dump what is left, all inside the private mount. */
  copy_and_run = g_strdup_printf ("cp \"%s\" \"$1/pos.db\" && \"%s\" migrate --json "
                                  "--database \"$1/pos.db\" --backup-dir \"%s\" "
                                  "--migrations \"%s\"; status=$?; "
                                  "cp \"$1/pos.db\" \"%s.after\"; "
                                  "ls \"$1\" > \"%s.files\"; exit $status",
                                  seed, cli_path, backups, folder, seed, seed);
  script = g_strconcat ("mount -t tmpfs -o size=60m tmpfs \"$1\" && ", copy_and_run, NULL);
  g_assert_cmpint (mw_test_spawn (&out, NULL, "unshare", "-m", "sh", "-c", script, "sh", small,
                                  NULL), ==, 15);
  obj = json_object_get_object_member (parse_object (out, &parser), "error");
  g_assert_nonnull (strstr (json_object_get_string_member (obj, "message"), "disk became full"));
  g_assert_nonnull (strstr (json_object_get_string_member (obj, "migration"), "0001_big_import"));

  /* The database is exactly as it was, and nothing but it is left on that disk. */
  {
    g_autofree char *after = g_strconcat (seed, ".after", NULL);
    g_autofree char *files_path = g_strconcat (seed, ".files", NULL);
    g_autofree char *files = NULL;
    g_autofree char *dump = mw_test_dump_database (after);

    g_assert_cmpstr (dump, ==, before);
    g_assert_true (g_file_get_contents (files_path, &files, NULL, NULL));
    g_assert_cmpstr (files, ==, "pos.db\npos.db.mw-lock\n");
  }
}

/* A process that dies in the middle of a write transaction (the POS losing power):
 * changed pages already in the database file, the originals only in the hot
 * -journal. */
static void
make_hot_journal (const char *db_path)
{
  g_autofree char *journal = g_strconcat (db_path, "-journal", NULL);
  pid_t pid = fork ();
  int status = 0;

  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      sqlite3 *db = NULL;

      if (sqlite3_open (db_path, &db) != SQLITE_OK ||
          sqlite3_exec (db, "PRAGMA journal_mode = DELETE; PRAGMA cache_size = 10; BEGIN; "
                            "UPDATE sales SET total = -1, note = hex(randomblob(200));",
                        NULL, NULL, NULL) != SQLITE_OK)
        _exit (1);
      _exit (0);   /* no COMMIT, no ROLLBACK, no close */
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  g_assert_true (g_file_test (journal, G_FILE_TEST_EXISTS));

  /* The journal is really hot: the database file alone, copied without it, holds
   * the half-written transaction. */
  {
    g_autofree char *alone = g_strconcat (db_path, ".alone", NULL);
    g_autofree char *contents = NULL;
    gsize len = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    gint64 half_written = 0;

    g_assert_true (g_file_get_contents (db_path, &contents, &len, NULL));
    g_assert_true (g_file_set_contents (alone, contents, len, NULL));
    g_assert_cmpint (sqlite3_open_v2 (alone, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM sales WHERE total = -1", -1, &stmt,
                            NULL) == SQLITE_OK && sqlite3_step (stmt) == SQLITE_ROW)
      half_written = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    g_unlink (alone);
    g_assert_cmpint (half_written, >, 0);
  }
}

static char *
find_aside (Fixture *f, const char *kind)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  g_autofree char *prefix = g_strdup_printf ("pos system.db.%s.", kind);
  const char *name;

  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, prefix) && !g_str_has_suffix (name, "-wal") &&
        !g_str_has_suffix (name, "-shm") && !g_str_has_suffix (name, "-journal"))
      return g_build_filename (f->dir, name, NULL);
  return NULL;
}

static void
fill_sales (Fixture *f)
{
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 0);
  mw_test_sql_exec (f->db, "PRAGMA journal_mode = DELETE; "
                           "INSERT INTO shops VALUES ('s1', 'Corner shop');"
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 5000) INSERT INTO sales (id, shop_id, total) "
                           "SELECT printf('sale-%05d', i), 's1', i FROM n;");
}

/* Start fresh on a database with a hot journal: SQLite rolls it back before the set
 * moves, so the kept database has every committed sale and none of the half-written
 * transaction, and it is sound. */
static void
test_hot_journal_fresh (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;
  g_autofree char *kept = NULL;
  g_autofree char *kept_journal = NULL;

  fill_sales (f);
  before = mw_test_dump_database (f->db);
  make_hot_journal (f->db);

  g_assert_cmpint (run_cli (NULL, NULL, "fresh", "--yes", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  kept = find_aside (f, "old");
  g_assert_nonnull (kept);
  kept_journal = g_strconcat (kept, "-journal", NULL);
  g_assert_false (g_file_test (kept_journal, G_FILE_TEST_EXISTS));
  assert_owned_str (mw_test_dump_database (kept), before);
  g_assert_cmpint (run_cli (NULL, NULL, "verify", "--deep", "--database", kept, NULL), ==, 0);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sales"), ==, 0);
}

/* Restore over a database with a hot journal: the same for the database kept aside;
 * the backup's rows in place. */
static void
test_hot_journal_restore (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;
  g_autofree char *backup_rows = NULL;
  g_autofree char *kept = NULL;

  fill_sales (f);
  g_assert_cmpint (run_cli (NULL, NULL, "backup", "--reason", "pre-migration", "--database",
                            f->db, "--migrations", f->migrations, NULL), ==, 0);
  backup_rows = mw_test_sql_text (f->db, "SELECT count(*) || ':' || sum(total) FROM sales");
  mw_test_sql_exec (f->db, "INSERT INTO sales (id, shop_id, total) VALUES ('late', 's1', 7)");
  before = mw_test_dump_database (f->db);
  make_hot_journal (f->db);

  g_assert_cmpint (run_cli (NULL, NULL, "restore", "--yes", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  assert_owned_str (mw_test_sql_text (f->db, "SELECT count(*) || ':' || sum(total) FROM sales"),
                    backup_rows);
  kept = find_aside (f, "old");
  g_assert_nonnull (kept);
  assert_owned_str (mw_test_dump_database (kept), before);
  g_assert_cmpint (mw_test_sql_int (kept, "SELECT count(*) FROM sales WHERE id = 'late'"), ==, 1);
}

/* A database folder that cannot be written (a read-only mount here, since root
 * ignores file modes): a clear message, exit 18, nothing changed. */
static void
test_read_only_folder (Fixture *f, gconstpointer data)
{
  g_autofree char *script = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *before = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *obj;

  if (!can_mount_small_disks ())
    return;
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--to", "0000_init", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  before = mw_test_file_digest (f->db);

  script = g_strdup_printf ("mount --bind \"$1\" \"$1\" && mount -o remount,ro,bind \"$1\" "
                            "\"$1\" && \"%s\" status --json --database \"%s\" --migrations "
                            "\"%s\" > \"$2\"; \"%s\" migrate --database \"%s\" --migrations "
                            "\"%s\"", cli_path, f->db, f->migrations, cli_path, f->db,
                            f->migrations);
  {
    g_autofree char *status_out = g_build_filename (g_get_tmp_dir (), "mw-ro-status.json", NULL);

    g_assert_cmpint (mw_test_spawn (&out, &err, "unshare", "-m", "sh", "-c", script, "sh",
                                    f->dir, status_out, NULL), ==, 18);
    g_assert_nonnull (strstr (err, "cannot be opened for updating"));
    g_clear_pointer (&out, g_free);
    g_assert_true (g_file_get_contents (status_out, &out, NULL, NULL));
    g_unlink (status_out);
  }
  obj = parse_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "unreadable");
  assert_owned_str (mw_test_file_digest (f->db), before);
}

static guint
count_names (const char *dir, const char *prefix, const char *suffix)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, prefix) && g_str_has_suffix (name, suffix))
      n++;
  return n;
}

/* Retention from the configuration file: backups per reason, and the databases that
 * fresh starts kept aside — only those a verified backup holds, never the newest. */
static void
test_retention_configured (Fixture *f, gconstpointer data)
{
  g_autofree char *config = g_build_filename (f->dir, "migration-wizard.ini", NULL);
  g_autofree char *text = g_strdup_printf ("[migration-wizard]\ndatabase=%s\nmigrations=%s\n"
                                           "keep-manual=2\nkeep-old-sets=1\n", f->db,
                                           f->migrations);
  g_autofree char *backups = g_build_filename (f->dir, "backups", NULL);
  g_autofree char *unbacked = g_strconcat (f->db, ".old.20200101-000000", NULL);
  g_autofree char *newest = NULL;

  mw_test_write_file (config, text);
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--config", config, NULL), ==, 0);
  for (int i = 0; i < 4; i++)
    g_assert_cmpint (run_cli (NULL, NULL, "backup", "--config", config, NULL), ==, 0);
  g_assert_cmpuint (count_names (backups, "aurswift-backup-", ".db"), ==, 2);

  /* A set kept aside long ago, of which no backup exists: never removed. */
  mw_test_sql_exec (unbacked, "CREATE TABLE keep_me (x); INSERT INTO keep_me VALUES (1)");

  for (int i = 0; i < 3; i++)
    {
      mw_test_sql_exec (f->db, "INSERT INTO shops VALUES (hex(randomblob(8)), 'A shop')");
      g_assert_cmpint (run_cli (NULL, NULL, "fresh", "--yes", "--config", config, NULL), ==, 0);
    }
  /* The newest fresh start's set and the one without a backup remain. */
  g_assert_cmpuint (count_names (f->dir, "pos system.db.old.", ""), ==, 2);
  g_assert_true (g_file_test (unbacked, G_FILE_TEST_EXISTS));
  newest = find_aside (f, "old");
  g_assert_nonnull (newest);
  /* Every removed set's rows are in its pre-fresh backup (3 fresh starts, 3 backups). */
  g_assert_cmpuint (count_names (backups, "aurswift-backup-", ".db"), ==, 2 + 3);
}

/* repair: without --yes a repaired copy and the report, nothing swapped (28); with
 * --yes the copy in place, the damaged database kept aside as it was, the level kept. */
static void
test_repair (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *damaged = NULL;
  g_autofree char *kept = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *report;
  gint64 leaf, cells;

  fill_sales (f);
  leaf = mw_test_sql_int (f->db, "SELECT pageno FROM dbstat WHERE name = 'sales' AND "
                                 "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 3");
  cells = mw_test_sql_int (f->db, "SELECT ncell FROM dbstat WHERE name = 'sales' AND "
                                  "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 3");
  {
    FILE *file = fopen (f->db, "r+b");
    char garbage[4096];

    memset (garbage, 0x99, sizeof garbage);
    g_assert_nonnull (file);
    g_assert_cmpint (fseek (file, (long) ((leaf - 1) * 4096), SEEK_SET), ==, 0);
    g_assert_cmpuint (fwrite (garbage, 1, sizeof garbage, file), ==, sizeof garbage);
    fclose (file);
  }
  damaged = mw_test_file_digest (f->db);

  g_assert_cmpint (run_cli (&out, NULL, "repair", "--json", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 28);
  report = json_object_get_object_member (parse_object (out, &parser), "report");
  g_assert_cmpstr (json_object_get_string_member (report, "strategy"), ==, "salvage");
  g_assert_cmpint (json_object_get_int_member (report, "recovered"), ==, 5000 - cells + 1 + 3);
  g_assert_true (g_file_test (json_object_get_string_member (report, "repaired"),
                              G_FILE_TEST_EXISTS));
  assert_owned_str (mw_test_file_digest (f->db), damaged);

  /* Asked again: a new copy, and the earlier unused one gives way. */
  g_assert_cmpint (run_cli (NULL, NULL, "repair", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 28);
  g_assert_cmpuint (count_names (f->dir, "pos system.db.repaired-", ""), ==, 1);

  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (&out, NULL, "repair", "--yes", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "is now in use"));
  kept = find_aside (f, "old");
  g_assert_nonnull (kept);
  assert_owned_str (mw_test_file_digest (kept), damaged);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sales"), ==, 5000 - cells);
  g_assert_cmpint (run_cli (NULL, NULL, "status", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 0);
  g_assert_cmpint (run_cli (NULL, NULL, "verify", "--deep", "--database", f->db, NULL), ==, 0);
}


/* What the app's driver would refuse is found by `status` (invalid-migrations, 20),
 * naming file and statement, and `migrate` refuses it before any backup: a piece with
 * two statements; and a journal `when` beyond 64 bits, once stored as -1. */
static void
test_refused_up_front (Fixture *f, gconstpointer data)
{
  const char *tags[] = { "0000_init", "0001_items", "0002_indexes" };
  const gint64 whens[] = { 1700000000000, 1700000100000, 1700000200000 };
  const char *sqls[] = { shop_sqls[0], shop_sqls[1],
                         "CREATE INDEX `sales_total` ON `sales` (`total`);\n"
                         "CREATE INDEX `sales_note` ON `sales` (`note`);" };
  g_autofree char *backups = g_build_filename (f->dir, "backups", NULL);
  g_autofree char *journal = g_build_filename (f->migrations, "meta", "_journal.json", NULL);
  g_autofree char *out = NULL, *before = NULL, *text = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *obj;

  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--to", "0000_init", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 0);
  mw_test_write_journal (f->migrations, 3, tags, whens, sqls);
  before = mw_test_file_digest (f->db);

  g_assert_cmpint (run_cli (&out, NULL, "status", "--json", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 20);
  obj = parse_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "invalid-migrations");
  g_assert_cmpstr (json_object_get_string_member (obj, "invalid_migration"), ==, "0002_indexes");
  g_assert_cmpint (json_object_get_int_member (obj, "invalid_statement"), ==, 1);
  g_assert_nonnull (strstr (json_object_get_string_member (obj, "invalid_file"),
                            "0002_indexes.sql"));
  g_assert_nonnull (strstr (json_object_get_string_member (obj, "detail"),
                            "more than one SQL statement"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (&out, NULL, "migrate", "--json", "--database", f->db,
                            "--migrations", f->migrations, NULL), ==, 20);
  g_clear_object (&parser);
  obj = parse_object (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (obj, "result"), ==, "refused");
  g_assert_false (g_file_test (backups, G_FILE_TEST_EXISTS));
  assert_owned_str (mw_test_file_digest (f->db), before);

  /* A `when` JSON.parse reads as 1e+23 */
  g_assert_true (g_file_get_contents (journal, &text, NULL, NULL));
  {
    g_auto(GStrv) parts = g_strsplit (text, "1700000200000", 2);
    g_autofree char *huge = g_strjoinv ("99999999999999999999999", parts);

    mw_test_write_file (journal, huge);
  }
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (&out, NULL, "status", "--database", f->db, "--migrations",
                            f->migrations, NULL), ==, 20);
  g_assert_nonnull (strstr (out, "entry 2 (“0002_indexes”) has the “when” "
                                 "99999999999999999999999"));
}

/* --migrations-table: the history is read and written there. */
static void
test_migrations_table_option (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (run_cli (&out, NULL, "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "--migrations-table"));
  g_assert_cmpint (run_cli (NULL, NULL, "migrate", "--quiet", "--migrations-table", "pos_history",
                            "--database", f->db, "--migrations", f->migrations, NULL), ==, 0);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM pos_history"), ==, 3);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                           "'__drizzle_migrations'"), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (&out, NULL, "status", "--migrations-table", "pos_history",
                            "--database", f->db, "--migrations", f->migrations, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Migrations table: pos_history\n"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The program runs as it would over ssh: no display. */
  g_unsetenv ("DISPLAY");
  g_unsetenv ("WAYLAND_DISPLAY");

  cli_path = g_getenv ("MW_CLI");
  if (cli_path == NULL)
    g_error ("MW_CLI must point at the migration-wizard binary");

  g_test_add_func ("/mw/cli/help-and-usage", test_help);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/mw/cli/missing-then-migrate", test_missing_then_migrate);
  ADD ("/mw/cli/partial-then-rebuild-keeps-children", test_partial_keeps_children);
  ADD ("/mw/cli/no-migrations-is-a-packaging-fault", test_no_migrations);
  ADD ("/mw/cli/invalid-migrations", test_invalid_migrations);
  ADD ("/mw/cli/not-a-database-untouched", test_not_a_database);
  ADD ("/mw/cli/failure-rolls-back", test_failure_rolls_back);
  ADD ("/mw/cli/refused-up-front-by-status", test_refused_up_front);
  ADD ("/mw/cli/migrations-table-option", test_migrations_table_option);
  ADD ("/mw/cli/foreign-key-violation-rolls-back", test_foreign_key_violation);
  ADD ("/mw/cli/locked-names-holder", test_locked);
  ADD ("/mw/cli/sigint-cancels-cleanly", test_cancel);
  ADD ("/mw/cli/busy-then-free-is-retried", test_busy_then_free);
  ADD ("/mw/cli/hash-mismatch-refused", test_hash_mismatch_refused);
  ADD ("/mw/cli/no-space-on-either-disk", test_no_space);
  ADD ("/mw/cli/no-display-does-the-job-headless", test_no_display);
  ADD ("/mw/cli/german-translation", test_german);
  ADD ("/mw/cli/verify-quick-and-deep", test_verify);
  ADD ("/mw/cli/disk-full-mid-update-rolls-back", test_disk_full_mid_update);
  ADD ("/mw/cli/hot-journal-fresh-keeps-committed-rows", test_hot_journal_fresh);
  ADD ("/mw/cli/hot-journal-restore-keeps-committed-rows", test_hot_journal_restore);
  ADD ("/mw/cli/read-only-folder", test_read_only_folder);
  ADD ("/mw/cli/retention-configured", test_retention_configured);
  ADD ("/mw/cli/repair-copy-then-swap", test_repair);
  ADD ("/mw/cli/damaged-after-commit-restores-backup", test_damaged_after_commit_restores_backup);
#undef ADD

  return g_test_run ();
}
