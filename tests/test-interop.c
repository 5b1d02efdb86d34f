/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Interoperability with real drizzle-orm 0.45 (npm, tools/drizzle/peer.mjs) on the real
 * AurSwift migrations: what migration-wizard leaves must be what drizzle-orm leaves, so
 * that the POS, which still calls migrate() at start-up, finds nothing to do.
 */

#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "mw-testlib.h"

static const char *cli;
static const char *demo;
static const char *peer;
static const char *migrations;

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
  const char *drivers[] = { "better-sqlite3", "sqljs" };

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

      g_assert_cmpint (peer_migrate (db, drivers[i], -1, "on"), ==, 0);
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

int
main (int argc, char **argv)
{
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

  return g_test_run ();
}
