/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Interoperability with real drizzle-orm from npm (tools/drizzle/peer.mjs): 0.44.7 (the
 * AurSwift app's), 0.45.4 and 1.0.0-rc.5 with better-sqlite3 (the app's driver), and
 * drizzle-kit 1.0.0-rc.5 writing real v1 folders (tools/drizzle/v1/kit.sh), on the real
 * AurSwift migrations: what migration-wizard leaves must be what drizzle-orm leaves, so
 * that the POS, which still calls migrate() at start-up, finds nothing to do; and a
 * migration the app's driver refuses, migration-wizard refuses too, before anything.
 */

#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "mw-testlib.h"

static const char *cli;
static const char *demo;
static const char *peer;
static const char *migrations;
static char *kit;             /* tools/drizzle/v1/kit.sh */
static char *v1_generated;    /* a v1 folder drizzle-kit 1.0 wrote, made once */

static guint n_migrations (void);

/* Compares a string the caller owns with the expected one, and frees it. */
#define assert_owned_str(owned, expected) \
  G_STMT_START { \
    g_autofree char *owned_ = (owned); \
    g_assert_cmpstr (owned_, ==, (expected)); \
  } G_STMT_END

/* Compares two strings the caller owns, and frees both. */
#define assert_both_owned(a, b) \
  G_STMT_START { \
    g_autofree char *a_ = (a); \
    g_autofree char *b_ = (b); \
    g_assert_cmpstr (a_, ==, b_); \
  } G_STMT_END

static void
assert_contains (const char *text,
                 const char *needle)
{
  if (text == NULL || strstr (text, needle) == NULL)
    g_error ("“%s” not found in:\n%s", needle, text ? text : "(null)");
}

static gboolean
peer_available (void)
{
  g_autofree char *dir = g_path_get_dirname (peer);
  g_autofree char *modules = g_build_filename (dir, "node_modules", "drizzle-orm", NULL);
  g_autofree char *node = g_find_program_in_path ("node");

  if (node != NULL && g_file_test (modules, G_FILE_TEST_IS_DIR))
    return TRUE;
  /* CI installs the peer (tools/setup.sh): there, its absence is a failure. */
  if (g_getenv ("CI") != NULL)
    g_error ("drizzle-orm is not installed in tools/drizzle (run tools/setup.sh)");
  g_test_skip ("node or drizzle-orm (tools/drizzle/node_modules) missing; run tools/setup.sh");
  return FALSE;
}

/* drizzle-orm 1.0 and drizzle-kit 1.0 live in tools/drizzle/v1 (their own lockfile). */
static gboolean
peer_v1_available (void)
{
  g_autofree char *dir = g_path_get_dirname (peer);
  g_autofree char *modules = g_build_filename (dir, "v1", "node_modules", "drizzle-kit", NULL);

  if (!peer_available ())
    return FALSE;
  if (g_file_test (modules, G_FILE_TEST_IS_DIR))
    return TRUE;
  if (g_getenv ("CI") != NULL)
    g_error ("drizzle-kit 1.0 is not installed in tools/drizzle/v1 (run tools/setup.sh)");
  g_test_skip ("drizzle-kit 1.0 (tools/drizzle/v1/node_modules) missing; run tools/setup.sh");
  return FALSE;
}

/* drizzle-orm @orm ("0.44", "0.45", "1") with better-sqlite3, foreign keys on as the
 * POS has them; migrate(db, { migrationsTable: @table }) when @table is given. */
static int
peer_run (const char  *db,
          const char  *folder,
          const char  *orm,
          const char  *table,
          char       **err)
{
  if (table != NULL)
    return mw_test_spawn (NULL, err, "node", peer, "migrate", "--driver", "better-sqlite3",
                          "--orm", orm, "--db", db, "--migrations", folder,
                          "--migrations-table", table, "--foreign-keys", "on", NULL);
  return mw_test_spawn (NULL, err, "node", peer, "migrate", "--driver", "better-sqlite3",
                        "--orm", orm, "--db", db, "--migrations", folder,
                        "--foreign-keys", "on", NULL);
}

/* The app's own migrate() (drizzle-orm @orm, better-sqlite3) on @db afterwards finds
 * nothing to do: not one byte of the file changes. */
static void
assert_peer_changes_nothing (const char *db,
                             const char *folder,
                             const char *orm,
                             const char *table)
{
  g_autofree char *digest = mw_test_file_digest (db);

  g_assert_cmpint (peer_run (db, folder, orm, table, NULL), ==, 0);
  assert_owned_str (mw_test_file_digest (db), digest);
}

static void
copy_file (const char *from,
           const char *to)
{
  g_assert_cmpint (mw_test_spawn (NULL, NULL, "cp", "-r", "--", from, to, NULL), ==, 0);
}

/* A copy of the real migrations with one more journal entry, hand-written as an app's
 * developers would add it (@when as the journal's text has it). */
static char *
real_migrations_plus (const char *dir,
                      const char *tag,
                      const char *when,
                      const char *sql)
{
  g_autofree char *folder = g_build_filename (dir, "migrations", NULL);
  g_autofree char *journal = g_build_filename (folder, "meta", "_journal.json", NULL);
  g_autofree char *file = g_strconcat (tag, ".sql", NULL);
  g_autofree char *sql_path = g_build_filename (folder, file, NULL);
  g_autofree char *text = NULL;
  g_autofree char *entry = NULL;
  g_autoptr(GString) edited = NULL;
  const char *end;

  copy_file (migrations, folder);
  g_assert_true (g_file_get_contents (journal, &text, NULL, NULL));
  end = strrchr (text, ']');
  g_assert_nonnull (end);
  entry = g_strdup_printf (",\n    {\n      \"idx\": %u,\n      \"version\": \"6\",\n      "
                           "\"when\": %s,\n      \"tag\": \"%s\",\n      "
                           "\"breakpoints\": true\n    }\n  ", n_migrations (), when, tag);
  edited = g_string_new_len (text, end - text);
  while (edited->len > 0 && g_ascii_isspace (edited->str[edited->len - 1]))
    g_string_truncate (edited, edited->len - 1);
  g_string_append (edited, entry);
  g_string_append (edited, end);
  mw_test_write_file (journal, edited->str);
  mw_test_write_file (sql_path, sql);
  return g_steal_pointer (&folder);
}

/* A demo shop at the real migrations' last level, with staff, products and sales. */
static char *
demo_shop (const char *dir,
           const char *name)
{
  g_autofree char *db = g_build_filename (dir, name, NULL);

  g_assert_cmpint (mw_test_spawn (NULL, NULL, demo, "--quiet", "--database", db,
                                  "--migrations", migrations, "--size", "2M",
                                  "--journal-mode", "delete", NULL), ==, 0);
  return g_steal_pointer (&db);
}

static int
peer_migrate (const char *db, const char *driver, int upto, const char *foreign_keys)
{
  g_autofree char *upto_text = g_strdup_printf ("%d", upto);

  if (upto >= 0)
    return mw_test_spawn (NULL, NULL, "node", peer, "migrate", "--driver", driver, "--db", db,
                          "--migrations", migrations, "--upto", upto_text,
                          "--foreign-keys", foreign_keys, NULL);
  return mw_test_spawn (NULL, NULL, "node", peer, "migrate", "--driver", driver, "--db", db,
                        "--migrations", migrations, "--foreign-keys", foreign_keys, NULL);
}

static int
wizard_migrate (const char *db)
{
  return mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database", db,
                        "--migrations", migrations, NULL);
}

static guint
n_migrations (void)
{
  g_autofree char *journal = g_build_filename (migrations, "meta", "_journal.json", NULL);
  g_autofree char *text = NULL;
  guint n = 0;

  g_assert_true (g_file_get_contents (journal, &text, NULL, NULL));
  for (const char *p = text; (p = strstr (p, "\"tag\"")) != NULL; p++)
    n++;
  return n;
}

/* (a) After migration-wizard, drizzle-orm's migrate() applies nothing: schema,
 * migrations table and the whole file stay byte-for-byte the same. */
static void
test_wizard_then_drizzle_noop (void)
{
  g_autofree char *dir = NULL, *db = NULL;
  g_autofree char *schema = NULL, *rows = NULL, *digest = NULL;
  /* the app's own drizzle-orm, the newest 0.x, and 0.45 through sql.js */
  const char *drivers[] = { "better-sqlite3", "better-sqlite3", "sqljs" };
  const char *orms[] = { "0.44", "0.45", "0.45" };

  if (!peer_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop a");
  db = g_build_filename (dir, "pos_system.db", NULL);

  g_assert_cmpint (wizard_migrate (db), ==, 0);
  g_assert_cmpint (mw_test_sql_int (db, "SELECT count(*) FROM __drizzle_migrations"), ==,
                   n_migrations ());
  schema = mw_test_dump_schema (db);
  rows = mw_test_dump_migrations (db);
  digest = mw_test_file_digest (db);

  for (guint i = 0; i < G_N_ELEMENTS (drivers); i++)
    {
      g_autofree char *schema2 = NULL, *rows2 = NULL, *digest2 = NULL;

      g_assert_cmpint (mw_test_spawn (NULL, NULL, "node", peer, "migrate", "--driver", drivers[i],
                                      "--orm", orms[i], "--db", db, "--migrations", migrations,
                                      "--foreign-keys", "on", NULL), ==, 0);
      schema2 = mw_test_dump_schema (db);
      rows2 = mw_test_dump_migrations (db);
      g_assert_cmpstr (schema2, ==, schema);
      g_assert_cmpstr (rows2, ==, rows);
      if (g_str_equal (drivers[i], "better-sqlite3"))
        {
          /* better-sqlite3 works on the file itself: not a byte changed. (sql.js
           * re-serialises the whole file, so only its content is compared.) */
          digest2 = mw_test_file_digest (db);
          g_assert_cmpstr (digest2, ==, digest);
        }
    }

  mw_test_remove_tree (dir);
}

/* (b) A shop that drizzle-orm migrated up to migration k: migration-wizard applies the
 * rest, and the result equals a database drizzle-orm migrated from scratch. Where
 * drizzle-orm itself would carry on from k, it skips the back-dated migration forever;
 * that difference is the point, and is checked too. */
static void
test_drizzle_then_wizard (void)
{
  g_autofree char *dir = NULL, *reference = NULL;
  g_autofree char *ref_schema = NULL, *ref_rows = NULL;
  guint n = n_migrations ();
  gboolean saw_skip = FALSE;

  if (!peer_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop b");
  reference = g_build_filename (dir, "reference.db", NULL);
  g_assert_cmpint (peer_migrate (reference, "better-sqlite3", -1, "on"), ==, 0);
  ref_schema = mw_test_dump_schema (reference);
  ref_rows = mw_test_dump_migrations (reference);

  for (guint k = 1; k < n; k++)
    {
      g_autofree char *name = g_strdup_printf ("level-%u.db", k);
      g_autofree char *peer_name = g_strdup_printf ("level-%u-peer.db", k);
      g_autofree char *db = g_build_filename (dir, name, NULL);
      g_autofree char *peer_db = g_build_filename (dir, peer_name, NULL);
      g_autofree char *schema = NULL, *rows = NULL, *peer_rows = NULL;

      g_assert_cmpint (peer_migrate (db, "better-sqlite3", (int) k, "on"), ==, 0);
      g_assert_cmpint (mw_test_sql_int (db, "SELECT count(*) FROM __drizzle_migrations"), ==, k);
      {
        g_autofree char *copy = g_strdup_printf ("cp '%s' '%s'", db, peer_db);
        g_assert_cmpint (system (copy), ==, 0);
      }

      g_assert_cmpint (wizard_migrate (db), ==, 0);
      schema = mw_test_dump_schema (db);
      rows = mw_test_dump_migrations (db);
      g_assert_cmpstr (schema, ==, ref_schema);
      g_assert_cmpstr (rows, ==, ref_rows);

      /* drizzle-orm carrying on by itself from the same level */
      g_assert_cmpint (peer_migrate (peer_db, "better-sqlite3", -1, "on"), ==, 0);
      peer_rows = mw_test_dump_migrations (peer_db);
      if (mw_test_sql_int (peer_db, "SELECT count(*) FROM __drizzle_migrations") < n)
        {
          /* the one it skipped is the back-dated index */
          g_assert_cmpint (mw_test_sql_int (peer_db, "SELECT count(*) FROM sqlite_schema WHERE "
                                                     "name = 'transactions_cashier_created_idx'"),
                           ==, 0);
          saw_skip = TRUE;
        }
      else
        g_assert_cmpstr (peer_rows, ==, ref_rows);
    }

  /* The history has a back-dated migration, and drizzle-orm did skip it somewhere. */
  g_assert_true (saw_skip);
  mw_test_remove_tree (dir);
}

/* (c) The users table rebuild (0003) on a shop with data, foreign keys on as the POS
 * has them: migration-wizard keeps every child row; drizzle-orm loses them (#5782),
 * which shows this test can fail. */
static void
test_rebuild_keeps_children (void)
{
  g_autofree char *dir = NULL, *db = NULL, *peer_db = NULL, *copy = NULL;
  g_autofree char *check = NULL;
  gint64 shifts, clock_events, breaks, counts, attributed;

  if (!peer_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop c");
  db = g_build_filename (dir, "shop.db", NULL);
  peer_db = g_build_filename (dir, "shop-peer.db", NULL);

  g_assert_cmpint (mw_test_spawn (NULL, NULL, demo, "--quiet", "--database", db,
                                  "--migrations", migrations, "--level", "3", "--size", "4M",
                                  "--journal-mode", "delete", NULL), ==, 0);
  copy = g_strdup_printf ("cp '%s' '%s'", db, peer_db);
  g_assert_cmpint (system (copy), ==, 0);

  shifts = mw_test_sql_int (db, "SELECT count(*) FROM shifts");
  clock_events = mw_test_sql_int (db, "SELECT count(*) FROM clock_events");
  breaks = mw_test_sql_int (db, "SELECT count(*) FROM breaks");
  counts = mw_test_sql_int (db, "SELECT count(*) FROM cash_drawer_counts");
  attributed = mw_test_sql_int (db, "SELECT count(*) FROM transactions WHERE cashier_id IS NOT NULL");
  g_assert_cmpint (shifts, >, 0);
  g_assert_cmpint (clock_events, >, 0);
  g_assert_cmpint (attributed, >, 0);

  g_assert_cmpint (wizard_migrate (db), ==, 0);
  g_assert_cmpint (mw_test_sql_int (db, "SELECT count(*) FROM shifts"), ==, shifts);
  g_assert_cmpint (mw_test_sql_int (db, "SELECT count(*) FROM clock_events"), ==, clock_events);
  g_assert_cmpint (mw_test_sql_int (db, "SELECT count(*) FROM breaks"), ==, breaks);
  g_assert_cmpint (mw_test_sql_int (db, "SELECT count(*) FROM cash_drawer_counts"), ==, counts);
  g_assert_cmpint (mw_test_sql_int (db, "SELECT count(*) FROM transactions WHERE cashier_id IS NOT NULL"),
                   ==, attributed);
  g_assert_cmpint (mw_test_sql_int (db, "SELECT count(*) FROM pragma_foreign_key_check"), ==, 0);
  check = mw_test_sql_text (db, "PRAGMA integrity_check");
  g_assert_cmpstr (check, ==, "ok");

  /* The same database through drizzle-orm with the POS's driver. */
  g_assert_cmpint (peer_migrate (peer_db, "better-sqlite3", -1, "on"), ==, 0);
  g_assert_cmpint (mw_test_sql_int (peer_db, "SELECT count(*) FROM shifts"), <, shifts);
  g_assert_cmpint (mw_test_sql_int (peer_db, "SELECT count(*) FROM transactions WHERE cashier_id IS NOT NULL"),
                   <, attributed);

  mw_test_remove_tree (dir);
}

/* ---- the app's driver: what SQL means ------------------------------------------------ */

/* (1) A real-world slip: a migration copies columns the old table does not have, named
 * in double quotes. better-sqlite3 (SQLITE_DQS=0) refuses it: "no such column". Debian's
 * SQLite, as it is, takes each name as a string and stores 'salt' and 'login_attempts'
 * (text in an integer column) in every row. migration-wizard refuses it where
 * better-sqlite3 does, at `status`, before any backup, and stores nothing. */
static void
test_double_quoted_string_refused (void)
{
  static const char sql[] =
    "CREATE TABLE `staff_credentials` (\n"
    "\t`user_id` text PRIMARY KEY NOT NULL,\n"
    "\t`pin_hash` text,\n"
    "\t`salt` text,\n"
    "\t`login_attempts` integer DEFAULT 0 NOT NULL,\n"
    "\tFOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade\n"
    ");\n"
    "--> statement-breakpoint\n"
    "INSERT INTO `staff_credentials`(\"user_id\", \"pin_hash\", \"salt\", \"login_attempts\") "
    "SELECT \"id\", \"pin_hash\", \"salt\", \"login_attempts\" FROM `users`;";
  g_autofree char *dir = NULL, *folder = NULL, *db = NULL, *peer_db = NULL, *plain = NULL;
  g_autofree char *out = NULL, *err = NULL, *before = NULL, *backups = NULL;
  g_autofree char *literal = NULL;

  if (!peer_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop dqs");
  folder = real_migrations_plus (dir, "0007_staff_credentials", "1765000000000", sql);
  db = demo_shop (dir, "pos_system.db");
  peer_db = g_build_filename (dir, "peer.db", NULL);
  plain = g_build_filename (dir, "plain-sqlite.db", NULL);
  copy_file (db, peer_db);
  copy_file (db, plain);
  g_assert_cmpint (mw_test_sql_int (db, "SELECT count(*) FROM users"), >, 0);
  before = mw_test_file_digest (db);

  /* The app's drizzle-orm and driver refuse it, at the copy's second statement. */
  g_assert_cmpint (peer_run (peer_db, folder, "0.44", NULL, &err), ==, 1);
  /* (SQLite 3.50's words: no such column: "salt" - should this be a string literal…) */
  assert_contains (err, "no such column: \"salt\"");
  g_assert_cmpint (mw_test_sql_int (peer_db, "SELECT count(*) FROM sqlite_schema WHERE "
                                             "name = 'staff_credentials'"), ==, 0);

  /* Debian's SQLite with its defaults would store the names as text. */
  mw_test_sql_exec (plain, sql);
  literal = mw_test_sql_text (plain, "SELECT salt || '/' || login_attempts || '/' || "
                                     "typeof(login_attempts) FROM staff_credentials LIMIT 1");
  g_assert_cmpstr (literal, ==, "salt/login_attempts/text");

  /* migration-wizard: status says invalid-migrations (20), naming file and statement
   * and SQLite's words; migrate refuses the same way, with no backup made. */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (mw_test_spawn (&out, NULL, cli, "status", "--json", "--database", db,
                                  "--migrations", folder, NULL), ==, 20);
  assert_contains (out, "\"state\" : \"invalid-migrations\"");
  assert_contains (out, "0007_staff_credentials.sql");
  assert_contains (out, "statement 2 of 2");
  assert_contains (out, "no such column: salt");
  assert_contains (out, "\"invalid_statement\" : 2");
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database", db,
                                  "--migrations", folder, NULL), ==, 20);
  backups = g_build_filename (dir, "backups", NULL);
  g_assert_false (g_file_test (backups, G_FILE_TEST_EXISTS));
  assert_owned_str (mw_test_file_digest (db), before);

  mw_test_remove_tree (dir);
}

/* (1) better-sqlite3 is built without SQLITE_DEFAULT_RECURSIVE_TRIGGERS: a REPLACE that
 * deletes a row fires no delete trigger. The same migration leaves the same rows
 * whichever runs it. (A guard: Debian 12's build defines the option as 0 too, so this
 * held before; migration-wizard now sets it whatever the system's build.) */
static void
test_recursive_triggers_off (void)
{
  static const char sql[] =
    "CREATE TABLE `price_log` (`product_id` text, `note` text);\n"
    "--> statement-breakpoint\n"
    "CREATE TRIGGER `products_deleted` AFTER DELETE ON `products` BEGIN "
    "INSERT INTO `price_log` VALUES (old.`id`, 'deleted'); END;\n"
    "--> statement-breakpoint\n"
    "INSERT OR REPLACE INTO `products` SELECT * FROM `products` WHERE rowid IN "
    "(SELECT rowid FROM `products` LIMIT 3);";
  g_autofree char *dir = NULL, *folder = NULL, *db = NULL, *peer_db = NULL;
  g_autofree char *rows = NULL, *peer_rows = NULL;

  if (!peer_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop triggers");
  folder = real_migrations_plus (dir, "0007_price_log", "1765000000000", sql);
  db = demo_shop (dir, "pos_system.db");
  peer_db = g_build_filename (dir, "peer.db", NULL);
  copy_file (db, peer_db);

  g_assert_cmpint (peer_run (peer_db, folder, "0.44", NULL, NULL), ==, 0);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database", db,
                                  "--migrations", folder, NULL), ==, 0);
  rows = mw_test_dump_query (db, "SELECT * FROM price_log");
  peer_rows = mw_test_dump_query (peer_db, "SELECT * FROM price_log");
  g_assert_cmpstr (rows, ==, peer_rows);
  g_assert_cmpstr (rows, ==, "");
  mw_test_remove_tree (dir);
}

/* (1) better-sqlite3 opens every connection "defensive": a migration that edits the
 * schema through writable_schema does nothing but fail in the app. migration-wizard
 * refuses it up front where it once ran it. */
static void
test_writable_schema_refused (void)
{
  static const char sql[] =
    "PRAGMA writable_schema=ON;--> statement-breakpoint\n"
    "UPDATE sqlite_schema SET sql = replace(sql, '`name` text NOT NULL', '`name` text') "
    "WHERE name = 'products';--> statement-breakpoint\n"
    "PRAGMA writable_schema=OFF;";
  g_autofree char *dir = NULL, *folder = NULL, *db = NULL, *peer_db = NULL;
  g_autofree char *out = NULL, *err = NULL, *before = NULL;

  if (!peer_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop defensive");
  folder = real_migrations_plus (dir, "0007_loosen_products", "1765000000000", sql);
  db = demo_shop (dir, "pos_system.db");
  peer_db = g_build_filename (dir, "peer.db", NULL);
  copy_file (db, peer_db);
  before = mw_test_file_digest (db);

  g_assert_cmpint (peer_run (peer_db, folder, "0.44", NULL, &err), ==, 1);
  assert_contains (err, "may not be modified");
  g_assert_cmpint (mw_test_spawn (&out, NULL, cli, "status", "--database", db, "--migrations",
                                  folder, NULL), ==, 20);
  assert_contains (out, "0007_loosen_products.sql");
  assert_contains (out, "statement 2 of 3");
  assert_contains (out, "may not be modified");
  assert_owned_str (mw_test_file_digest (db), before);
  mw_test_remove_tree (dir);
}

/* (5) A hand-written migration with two statements in one piece (no breakpoint): the
 * app's driver refuses it ("more than one statement"); `status` says invalid-migrations
 * (20), naming file and statement, and `migrate` refuses before any backup. */
static void
test_two_statements_refused_by_status (void)
{
  static const char sql[] =
    "CREATE INDEX `products_name_idx` ON `products` (`name`);\n"
    "CREATE INDEX `products_price_idx` ON `products` (`price_pence`);";
  g_autofree char *dir = NULL, *folder = NULL, *db = NULL, *peer_db = NULL;
  g_autofree char *out = NULL, *err = NULL, *before = NULL, *backups = NULL;

  if (!peer_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop glued");
  folder = real_migrations_plus (dir, "0007_product_indexes", "1765000000000", sql);
  db = demo_shop (dir, "pos_system.db");
  peer_db = g_build_filename (dir, "peer.db", NULL);
  copy_file (db, peer_db);
  before = mw_test_file_digest (db);

  g_assert_cmpint (peer_run (peer_db, folder, "0.44", NULL, &err), ==, 1);
  assert_contains (err, "more than one statement");

  g_assert_cmpint (mw_test_spawn (&out, NULL, cli, "status", "--database", db, "--migrations",
                                  folder, NULL), ==, 20);
  assert_contains (out, "State: invalid-migrations");
  assert_contains (out, "0007_product_indexes.sql");
  assert_contains (out, "statement 1 of 1, holds more than one SQL statement");
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database", db,
                                  "--migrations", folder, NULL), ==, 20);
  backups = g_build_filename (dir, "backups", NULL);
  g_assert_false (g_file_test (backups, G_FILE_TEST_EXISTS));
  assert_owned_str (mw_test_file_digest (db), before);
  mw_test_remove_tree (dir);
}

/* ---- drizzle v1 ---------------------------------------------------------------------- */

/* A v1 folder written by drizzle-kit 1.0 (the AurSwift schema, stages 0-3), made once. */
static const char *
v1_folder (void)
{
  if (v1_generated == NULL)
    {
      g_autofree char *dir = mw_test_make_tmp_dir ("interop v1 kit");

      v1_generated = g_build_filename (dir, "migrations-v1", NULL);
      g_assert_cmpint (mw_test_spawn (NULL, NULL, kit, "generate", v1_generated, "3", NULL),
                       ==, 0);
    }
  return v1_generated;
}

/* The migrations table of a v1 database, applied_at left out (it is the time of day). */
static char *
dump_v1_rows (const char *db,
              const char *table)
{
  g_autofree char *sql = g_strdup_printf ("SELECT id, hash, created_at, typeof(created_at), "
                                          "name, typeof(applied_at) FROM \"%s\" ORDER BY id",
                                          table);

  return mw_test_dump_query (db, sql);
}

/* A real v1 folder from drizzle-kit 1.0: migration-wizard applies it as drizzle-orm 1.0
 * does (schema and rows), and drizzle-orm 1.0's migrate() then changes not a byte. */
static void
test_v1_generated_folder (void)
{
  g_autofree char *dir = NULL, *db = NULL, *reference = NULL;
  g_autofree char *out = NULL;

  if (!peer_v1_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop v1");
  db = g_build_filename (dir, "pos_system.db", NULL);
  reference = g_build_filename (dir, "reference.db", NULL);

  g_assert_cmpint (mw_test_spawn (&out, NULL, cli, "status", "--json", "--database", db,
                                  "--migrations", v1_folder (), NULL), ==, 4);
  assert_contains (out, "\"format\" : \"v1\"");
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database", db,
                                  "--migrations", v1_folder (), NULL), ==, 0);
  g_assert_cmpint (peer_run (reference, v1_folder (), "1", NULL, NULL), ==, 0);
  assert_both_owned (mw_test_dump_schema (db), mw_test_dump_schema (reference));
  assert_both_owned (dump_v1_rows (db, "__drizzle_migrations"),
                     dump_v1_rows (reference, "__drizzle_migrations"));

  assert_peer_changes_nothing (db, v1_folder (), "1", NULL);
  mw_test_remove_tree (dir);
}

/* (3) drizzle-orm 1.x sorts folders with localeCompare and applies a folder whose name
 * has no time, with created_at NULL. Hand-written folders beside drizzle-kit's: two in
 * the same second whose byte order is the other way round (`x_a` before `x1`, `alpha`
 * before `Beta` — each needs the one before it), and an untimed `seed_staff_roles`. */
static void
test_v1_order_and_untimed (void)
{
  static const struct { const char *name; const char *sql; } extra[] = {
    { "20300101000000_x1", "ALTER TABLE `till_notes` ADD `seen` integer DEFAULT 0 NOT NULL;" },
    { "20300101000000_x_a", "CREATE TABLE `till_notes` (`id` text PRIMARY KEY NOT NULL, "
                            "`note` text);" },
    { "20300101000001_Beta", "ALTER TABLE `till_notes` ADD `pinned` integer;" },
    { "20300101000001_alpha", "CREATE INDEX `till_notes_note_idx` ON `till_notes` (`note`);" },
    { "seed_staff_roles", "INSERT INTO `till_notes` (`id`, `note`) SELECT 'n' || count(*), "
                          "'roles: ' || count(*) FROM `roles`;" },
  };
  g_autofree char *dir = NULL, *folder = NULL, *db = NULL, *reference = NULL;
  g_autofree char *order = NULL;

  if (!peer_v1_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop v1 order");
  folder = g_build_filename (dir, "migrations", NULL);
  copy_file (v1_folder (), folder);
  for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
    {
      g_autofree char *path = g_build_filename (folder, extra[i].name, "migration.sql", NULL);

      mw_test_write_file (path, extra[i].sql);
    }
  db = g_build_filename (dir, "pos_system.db", NULL);
  reference = g_build_filename (dir, "reference.db", NULL);

  g_assert_cmpint (peer_run (reference, folder, "1", NULL, NULL), ==, 0);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database", db,
                                  "--migrations", folder, NULL), ==, 0);
  assert_both_owned (mw_test_dump_schema (db), mw_test_dump_schema (reference));
  assert_both_owned (dump_v1_rows (db, "__drizzle_migrations"),
                     dump_v1_rows (reference, "__drizzle_migrations"));
  assert_both_owned (mw_test_dump_query (db, "SELECT * FROM till_notes"),
                     mw_test_dump_query (reference, "SELECT * FROM till_notes"));
  order = mw_test_dump_query (db, "SELECT name, typeof(created_at) FROM __drizzle_migrations "
                                  "WHERE id > 4 ORDER BY id");
  g_assert_cmpstr (order, ==,
                   "t:20300101000000_x_a | t:integer\n"
                   "t:20300101000000_x1 | t:integer\n"
                   "t:20300101000001_alpha | t:integer\n"
                   "t:20300101000001_Beta | t:integer\n"
                   "t:seed_staff_roles | t:null\n");

  assert_peer_changes_nothing (db, folder, "1", NULL);
  mw_test_remove_tree (dir);
}

/* (2) A shop whose app moved from drizzle-orm 0.x to 1.0 (`drizzle-kit up` turned the
 * journal into v1 folders) with nothing to apply: drizzle-orm 1.0's migrate() would
 * still upgrade the 0.x table (name, applied_at, backfilled names). migration-wizard
 * says so (pending, nothing to apply) and does the same upgrade, after a backup; 1.0's
 * migrate() then changes not a byte, and the rows are those drizzle-orm's own upgrade
 * writes. */
static void
test_v1_upgrades_0x_table (void)
{
  g_autofree char *dir = NULL, *folder = NULL, *db = NULL, *reference = NULL;
  g_autofree char *out = NULL, *backups = NULL;

  if (!peer_v1_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop v1 up");
  db = g_build_filename (dir, "pos_system.db", NULL);
  reference = g_build_filename (dir, "reference.db", NULL);
  folder = g_build_filename (dir, "migrations", NULL);

  /* The shop, as the app's drizzle-orm 0.44 left it. */
  g_assert_cmpint (peer_run (db, migrations, "0.44", NULL, NULL), ==, 0);
  copy_file (db, reference);
  copy_file (migrations, folder);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, kit, "up", folder, NULL), ==, 0);

  g_assert_cmpint (mw_test_spawn (&out, NULL, cli, "status", "--json", "--database", db,
                                  "--migrations", folder, NULL), ==, 3);
  assert_contains (out, "\"state\" : \"pending\"");
  assert_contains (out, "\"pending\" : 0");
  assert_contains (out, "\"table_update\" : true");
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database", db,
                                  "--migrations", folder, NULL), ==, 0);
  backups = g_build_filename (dir, "backups", NULL);
  g_assert_true (g_file_test (backups, G_FILE_TEST_IS_DIR));
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "status", "--database", db,
                                  "--migrations", folder, NULL), ==, 0);

  /* drizzle-orm 1.0 upgrading the same table itself writes the same rows. */
  g_assert_cmpint (peer_run (reference, folder, "1", NULL, NULL), ==, 0);
  assert_both_owned (mw_test_dump_schema (db), mw_test_dump_schema (reference));
  assert_both_owned (dump_v1_rows (db, "__drizzle_migrations"),
                     dump_v1_rows (reference, "__drizzle_migrations"));

  assert_peer_changes_nothing (db, folder, "1", NULL);
  mw_test_remove_tree (dir);
}

/* ---- the migrations table, the journal, the path ------------------------------------ */

/* (4) migrate(db, { migrationsTable: 'app_migrations' }) both ways: a shop the app's
 * drizzle-orm migrated into its own table is found by that table's shape (and the
 * diagnosis says so) and brought up to date there; one migration-wizard set up with
 * --migrations-table is one the app's migrate() finds nothing to do in. */
static void
test_custom_migrations_table (void)
{
  g_autofree char *dir = NULL, *db = NULL, *peer_db = NULL, *out = NULL;
  g_autofree char *count = NULL;

  if (!peer_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop custom table");
  db = g_build_filename (dir, "pos_system.db", NULL);
  peer_db = g_build_filename (dir, "peer.db", NULL);

  /* The app's drizzle-orm, with its own table name, at migration 3 of 7. */
  g_assert_cmpint (mw_test_spawn (NULL, NULL, "node", peer, "migrate", "--orm", "0.44", "--db",
                                  peer_db, "--migrations", migrations, "--upto", "3",
                                  "--migrations-table", "app_migrations", NULL), ==, 0);
  g_assert_cmpint (mw_test_spawn (&out, NULL, cli, "status", "--database", peer_db,
                                  "--migrations", migrations, NULL), ==, 3);
  assert_contains (out, "Migrations table: app_migrations (found by its layout)");
  assert_contains (out, "“app_migrations”");
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database", peer_db,
                                  "--migrations", migrations, NULL), ==, 0);
  g_assert_cmpint (mw_test_sql_int (peer_db, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                             "'__drizzle_migrations'"), ==, 0);
  count = g_strdup_printf ("%u", n_migrations ());
  assert_owned_str (mw_test_sql_text (peer_db, "SELECT count(*) FROM app_migrations"), count);
  assert_peer_changes_nothing (peer_db, migrations, "0.44", "app_migrations");

  /* The other way: migration-wizard told the name, then the app. */
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database", db,
                                  "--migrations", migrations, "--migrations-table",
                                  "app_migrations", NULL), ==, 0);
  assert_peer_changes_nothing (db, migrations, "0.44", "app_migrations");
  assert_both_owned (mw_test_dump_schema (db), mw_test_dump_schema (peer_db));
  mw_test_remove_tree (dir);
}

/* (7) An app with no migration yet (an empty journal): drizzle-orm still creates its
 * table, and so does migration-wizard; the app's migrate() then changes nothing. */
static void
test_empty_journal (void)
{
  g_autofree char *dir = NULL, *folder = NULL, *journal = NULL, *db = NULL, *reference = NULL;

  if (!peer_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop empty");
  folder = g_build_filename (dir, "migrations", NULL);
  journal = g_build_filename (folder, "meta", "_journal.json", NULL);
  mw_test_write_file (journal, "{\n  \"version\": \"7\",\n  \"dialect\": \"sqlite\",\n"
                               "  \"entries\": []\n}");
  db = g_build_filename (dir, "pos_system.db", NULL);
  reference = g_build_filename (dir, "reference.db", NULL);

  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database", db,
                                  "--migrations", folder, NULL), ==, 0);
  g_assert_cmpint (peer_run (reference, folder, "0.44", NULL, NULL), ==, 0);
  assert_both_owned (mw_test_dump_schema (db), mw_test_dump_schema (reference));
  g_assert_cmpint (mw_test_sql_int (db, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                        "'__drizzle_migrations'"), ==, 1);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "status", "--database", db,
                                  "--migrations", folder, NULL), ==, 0);
  assert_peer_changes_nothing (db, folder, "0.44", NULL);
  mw_test_remove_tree (dir);
}

/* (8) A journal's `when` as drizzle-orm reads it (JSON.parse's double): beyond 2^53 it
 * is rounded, and migration-wizard records the very value drizzle-orm records; beyond
 * 64 bits drizzle-orm would record a REAL (1e+23) — migration-wizard refuses the
 * journal (invalid-migrations, naming the entry), where it once recorded -1. */
static void
test_journal_when_like_drizzle (void)
{
  g_autofree char *dir = NULL, *folder = NULL, *db = NULL, *reference = NULL, *out = NULL;
  g_autofree char *huge_dir = NULL, *huge = NULL, *huge_db = NULL, *peer_db = NULL;

  if (!peer_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop when");
  folder = real_migrations_plus (dir, "0007_till_notes", "9007199254740993",
                                 "CREATE TABLE `till_notes` (`id` text PRIMARY KEY NOT NULL);");
  db = g_build_filename (dir, "pos_system.db", NULL);
  reference = g_build_filename (dir, "reference.db", NULL);
  g_assert_cmpint (peer_run (reference, folder, "0.44", NULL, NULL), ==, 0);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database", db,
                                  "--migrations", folder, NULL), ==, 0);
  assert_both_owned (mw_test_dump_migrations (db), mw_test_dump_migrations (reference));
  assert_owned_str (mw_test_sql_text (db, "SELECT created_at FROM __drizzle_migrations "
                                          "ORDER BY rowid DESC LIMIT 1"),
                    "9007199254740992");

  huge_dir = g_build_filename (dir, "huge", NULL);
  g_assert_cmpint (g_mkdir (huge_dir, 0700), ==, 0);
  huge = real_migrations_plus (huge_dir, "0007_till_notes", "99999999999999999999999",
                               "CREATE TABLE `till_notes` (`id` text PRIMARY KEY NOT NULL);");
  huge_db = g_build_filename (huge_dir, "pos_system.db", NULL);
  peer_db = g_build_filename (huge_dir, "peer.db", NULL);
  g_assert_cmpint (peer_run (peer_db, huge, "0.44", NULL, NULL), ==, 0);
  assert_owned_str (mw_test_sql_text (peer_db, "SELECT created_at || ' ' || typeof(created_at) "
                                               "FROM __drizzle_migrations ORDER BY rowid DESC "
                                               "LIMIT 1"), "1.0e+23 real");
  g_assert_cmpint (mw_test_spawn (&out, NULL, cli, "status", "--database", huge_db,
                                  "--migrations", huge, NULL), ==, 20);
  assert_contains (out, "State: invalid-migrations");
  assert_contains (out, "entry 7 (“0007_till_notes”) has the “when” "
                                "99999999999999999999999");
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database", huge_db,
                                  "--migrations", huge, NULL), ==, 20);
  g_assert_false (g_file_test (huge_db, G_FILE_TEST_EXISTS));
  mw_test_remove_tree (dir);
}

/* (9) A database named `file:…` is, for the app (better-sqlite3 is built with
 * SQLITE_USE_URI=0), a file of that name; Debian's SQLite would read it as a URI. */
static void
test_file_colon_path (void)
{
  g_autofree char *dir = NULL, *cwd = g_get_current_dir ();
  g_autofree char *out = NULL;

  if (!peer_available ())
    return;
  dir = mw_test_make_tmp_dir ("interop file colon");
  g_assert_cmpint (g_chdir (dir), ==, 0);

  g_assert_cmpint (mw_test_spawn (&out, NULL, cli, "status", "--database", "file:pos.db",
                                  "--migrations", migrations, NULL), ==, 4);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "migrate", "--quiet", "--database",
                                  "file:pos.db", "--migrations", migrations, NULL), ==, 0);
  g_assert_true (g_file_test ("file:pos.db", G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "status", "--database", "file:pos.db",
                                  "--migrations", migrations, NULL), ==, 0);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, cli, "verify", "--database", "file:pos.db",
                                  NULL), ==, 0);
  assert_peer_changes_nothing ("file:pos.db", migrations, "0.44", NULL);

  g_assert_cmpint (g_chdir (cwd), ==, 0);
  mw_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);

  cli = g_getenv ("MW_CLI");
  demo = g_getenv ("MW_DEMO_DB");
  peer = g_getenv ("MW_PEER");
  migrations = g_getenv ("MW_MIGRATIONS");
  if (!cli || !demo || !peer || !migrations)
    g_error ("MW_CLI, MW_DEMO_DB, MW_PEER and MW_MIGRATIONS must be set (meson test does it)");

  g_test_add_func ("/mw/interop/wizard-then-drizzle-is-a-no-op", test_wizard_then_drizzle_noop);
  g_test_add_func ("/mw/interop/drizzle-to-level-k-then-wizard", test_drizzle_then_wizard);
  g_test_add_func ("/mw/interop/users-rebuild-keeps-child-rows", test_rebuild_keeps_children);
  g_test_add_func ("/mw/interop/app-driver/double-quoted-string-refused",
                   test_double_quoted_string_refused);
  g_test_add_func ("/mw/interop/app-driver/recursive-triggers-off", test_recursive_triggers_off);
  g_test_add_func ("/mw/interop/app-driver/writable-schema-refused", test_writable_schema_refused);
  g_test_add_func ("/mw/interop/app-driver/two-statements-refused-by-status",
                   test_two_statements_refused_by_status);
  g_test_add_func ("/mw/interop/v1/generated-folder-then-drizzle-is-a-no-op",
                   test_v1_generated_folder);
  g_test_add_func ("/mw/interop/v1/same-second-and-untimed-folders-in-drizzles-order",
                   test_v1_order_and_untimed);
  g_test_add_func ("/mw/interop/v1/0x-table-upgraded-with-nothing-pending",
                   test_v1_upgrades_0x_table);
  g_test_add_func ("/mw/interop/custom-migrations-table-both-ways", test_custom_migrations_table);
  g_test_add_func ("/mw/interop/empty-journal-creates-the-table", test_empty_journal);
  g_test_add_func ("/mw/interop/journal-when-as-drizzle-reads-it", test_journal_when_like_drizzle);
  g_test_add_func ("/mw/interop/file-colon-path-is-a-path", test_file_colon_path);

  {
    g_autofree char *dir = g_path_get_dirname (peer);

    kit = g_build_filename (dir, "v1", "kit.sh", NULL);
  }
  status = g_test_run ();
  if (v1_generated != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (v1_generated);

      mw_test_remove_tree (dir);
    }
  g_free (v1_generated);
  g_free (kit);
  return status;
}
