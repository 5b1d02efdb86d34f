/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Applying migrations: drizzle-orm's result (DDL, rows), in one transaction, and the
 * database exactly as it was after any failure, refusal, lock or cancel.
 */

#include "config.h"

#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

#include "mw-db-private.h"
#include "mw-test-util.h"

typedef MwTestFixture Fixture;

/* A small POS schema, written the way drizzle-kit writes it. */
static const MwTestMigration shop[] = {
  { "0000_init", 1700000000000,
    "CREATE TABLE `shops` (\n\t`id` text PRIMARY KEY NOT NULL,\n\t`name` text NOT NULL\n);\n" },
  { "0001_staff", 1700000100000,
    "CREATE TABLE `staff` (\n\t`id` text PRIMARY KEY NOT NULL,\n\t`shop_id` text NOT NULL,\n"
    "\t`name` text,\n\tFOREIGN KEY (`shop_id`) REFERENCES `shops`(`id`) ON UPDATE no action "
    "ON DELETE cascade\n);\n" },
  { "0002_products", 1700000200000,
    "CREATE TABLE `products` (\n\t`id` text PRIMARY KEY NOT NULL,\n\t`price` integer NOT NULL\n);"
    "\n--> statement-breakpoint\nCREATE INDEX `products_price_idx` ON `products` (`price`);" },
  { "0003_sales", 1700000300000,
    "CREATE TABLE `sales` (\n\t`id` text PRIMARY KEY NOT NULL,\n\t`total` integer NOT NULL\n);\n" },
  { NULL }
};

/* drizzle-orm's CREATE TABLE as SQLite stores it (it drops "IF NOT EXISTS" and what
 * follows the closing parenthesis). */
#define DRIZZLE_0X_DDL \
  "CREATE TABLE \"__drizzle_migrations\" (\n" \
  "\t\t\t\tid SERIAL PRIMARY KEY,\n" \
  "\t\t\t\thash text NOT NULL,\n" \
  "\t\t\t\tcreated_at numeric\n" \
  "\t\t\t)"

#define DRIZZLE_V1_DDL \
  "CREATE TABLE \"__drizzle_migrations\" (\n" \
  "\t\t\t\tid INTEGER PRIMARY KEY,\n" \
  "\t\t\t\thash text NOT NULL,\n" \
  "\t\t\t\tcreated_at numeric,\n" \
  "\t\t\t\tname text,\n" \
  "\t\t\t\tapplied_at TEXT\n" \
  "\t\t\t)"

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  mw_test_fixture_set_up (f, data);
  mw_test_fixture_write (f, shop);
}

/* A shop at @level with a few rows of its own. */
static void
shop_at (Fixture *f, const char *level)
{
  mw_test_fixture_migrate (f, level);
  mw_test_sql_exec (f->db, "INSERT INTO shops VALUES ('s1', 'Corner Shop'), ('s2', 'Kiosk')");
}

static gboolean
run (Fixture *f, const char *target, GCancellable *cancellable, GError **error)
{
  g_autoptr(MwMigrator) migrator = mw_test_fixture_migrator (f, target);

  return mw_migrator_run (migrator, cancellable, error);
}

static char *
applied_tags (MwMigrator *migrator)
{
  GPtrArray *applied = mw_migrator_get_applied (migrator);
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < applied->len; i++)
    g_string_append_printf (out, "%s%s", i ? " " : "", (char *) g_ptr_array_index (applied, i));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* __drizzle_migrations as drizzle-orm's migrate() leaves it for @set's first @n. */
static char *
expected_rows (MwMigrationSet *set, guint n)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      const MwMigration *m = mw_migration_set_get_migration (set, i);

      g_string_append_printf (out, "n:NULL | t:null | t:%s | i:%" G_GINT64_FORMAT " | t:integer\n",
                              m->hash, m->when);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
has_table (const char *db, const char *name)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                                          "AND name = '%s'", name);

  return mw_test_sql_int (db, sql) == 1;
}

static void
assert_no_hot_journal (Fixture *f)
{
  g_autofree char *journal = g_strconcat (f->db, "-journal", NULL);

  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
}

static void
test_creates_database (Fixture *f, gconstpointer data)
{
  g_autoptr(MwMigrator) migrator = mw_test_fixture_migrator (f, NULL);
  g_autoptr(MwMigrator) again = mw_test_fixture_migrator (f, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MwDiagnosis) d = NULL;
  g_autofree char *ddl = NULL, *rows = NULL, *expected = NULL, *tags = NULL;
  g_autofree char *before = NULL, *after = NULL, *listing = NULL, *listing_after = NULL;

  g_assert_false (g_file_test (f->db, G_FILE_TEST_EXISTS));
  g_assert_true (mw_migrator_run (migrator, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (f->db, G_FILE_TEST_IS_REGULAR));
  tags = applied_tags (migrator);
  g_assert_cmpstr (tags, ==, "0000_init 0001_staff 0002_products 0003_sales");
  g_assert_cmpfloat (mw_progress_get_fraction (mw_migrator_get_progress (migrator)), ==, 1.0);

  /* The schema the migrations describe ... */
  g_assert_true (has_table (f->db, "shops"));
  g_assert_true (has_table (f->db, "staff"));
  g_assert_true (has_table (f->db, "sales"));
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' "
                                           "AND name = 'products_price_idx'"), ==, 1);

  /* ... and drizzle-orm's own table, byte for byte, with its rows: id NULL (SERIAL is
   * not INTEGER), the file's hash, created_at = when stored as an integer. */
  ddl = mw_test_sql_text (f->db, "SELECT sql FROM sqlite_schema WHERE name = '__drizzle_migrations'");
  g_assert_cmpstr (ddl, ==, DRIZZLE_0X_DDL);
  rows = mw_test_dump_migrations (f->db);
  expected = expected_rows (f->set, 4);
  g_assert_cmpstr (rows, ==, expected);

  d = mw_diagnose (f->db, f->set, NULL);
  g_assert_cmpint (d->state, ==, MW_STATE_UP_TO_DATE);
  assert_no_hot_journal (f);

  /* Run again: nothing to do, and not a byte written, no backup made. */
  mw_test_age_file (f->db);
  before = mw_test_file_state (f->db);
  listing = mw_test_list_dir (f->dir);
  g_assert_true (mw_migrator_run (again, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mw_migrator_get_applied (again)->len, ==, 0);
  after = mw_test_file_state (f->db);
  listing_after = mw_test_list_dir (f->dir);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpstr (listing_after, ==, listing);
}

static void
test_applies_pending_only (Fixture *f, gconstpointer data)
{
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *rows_before = NULL, *rows_after = NULL, *expected = NULL, *tags = NULL;
  g_autofree char *staff = NULL;

  shop_at (f, "0001_staff");
  mw_test_sql_exec (f->db, "INSERT INTO staff VALUES ('u1', 's1', 'Ann'), ('u2', 's2', 'Bob')");
  rows_before = mw_test_dump_migrations (f->db);

  migrator = mw_test_fixture_migrator (f, NULL);
  g_assert_true (mw_migrator_run (migrator, NULL, &error));
  g_assert_no_error (error);
  tags = applied_tags (migrator);
  g_assert_cmpstr (tags, ==, "0002_products 0003_sales");

  /* The rows already there are untouched; the new ones follow them. */
  rows_after = mw_test_dump_migrations (f->db);
  g_assert_true (g_str_has_prefix (rows_after, rows_before));
  expected = expected_rows (f->set, 4);
  g_assert_cmpstr (rows_after, ==, expected);

  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops"), ==, 2);
  staff = mw_test_sql_text (f->db, "SELECT group_concat(name, ',') FROM staff ORDER BY id");
  g_assert_cmpstr (staff, ==, "Ann,Bob");
}

static void
test_applies_out_of_order (Fixture *f, gconstpointer data)
{
  const MwTestMigration without[] = { shop[0], shop[1], shop[3], { NULL } };
  const MwTestMigration with[] = {
    shop[0], shop[1],
    { "0002_backdated", shop[1].when + 1000, "CREATE INDEX `staff_name_idx` ON `staff` (`name`);" },
    shop[3], { NULL }
  };
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(MwDiagnosis) d = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tags = NULL;

  /* The shop has 0003 already; the new app brings 0002, dated before it. drizzle-orm
   * would never run it: its `when` is older than the newest recorded created_at. */
  mw_test_fixture_write (f, without);
  shop_at (f, NULL);
  mw_test_fixture_write (f, with);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT max(created_at) FROM __drizzle_migrations"), >,
                   with[2].when);

  migrator = mw_test_fixture_migrator (f, NULL);
  g_assert_true (mw_migrator_run (migrator, NULL, &error));
  g_assert_no_error (error);
  tags = applied_tags (migrator);
  g_assert_cmpstr (tags, ==, "0002_backdated");
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sqlite_schema "
                                           "WHERE name = 'staff_name_idx'"), ==, 1);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations "
                                           "WHERE created_at = 1700000101000"), ==, 1);
  d = mw_diagnose (f->db, f->set, NULL);
  g_assert_cmpint (d->state, ==, MW_STATE_UP_TO_DATE);
}

static void
test_failure_rolls_back (Fixture *f, gconstpointer data)
{
  const MwTestMigration list[] = {
    shop[0], shop[1],
    { "0002_broken", 1700000200000,
      "CREATE TABLE `products` (`id` text PRIMARY KEY NOT NULL);\n--> statement-breakpoint\n"
      "INSERT INTO `products` VALUES ('p1'), ('p1');\n--> statement-breakpoint\n"
      "CREATE TABLE `more` (`id` text);" },
    shop[3], { NULL }
  };
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL;

  mw_test_fixture_write (f, list);
  shop_at (f, "0000_init");
  before = mw_test_dump_database (f->db);

  /* Migration 3 of 4 fails at its second statement, after 0001 and 0002's first
   * statement ran in the same transaction. */
  migrator = mw_test_fixture_migrator (f, NULL);
  g_assert_false (mw_migrator_run (migrator, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATION_FAILED);
  mw_test_assert_mentions (error->message, "0002_broken");
  mw_test_assert_mentions (error->message, "statement 2");
  mw_test_assert_mentions (error->message, "UNIQUE constraint failed: products.id");
  g_assert_cmpstr (mw_migrator_get_failed_tag (migrator), ==, "0002_broken");
  g_assert_cmpuint (mw_migrator_get_failed_statement (migrator), ==, 2);
  g_assert_cmpstr (mw_migrator_get_failed_sql (migrator), ==,
                   "INSERT INTO `products` VALUES ('p1'), ('p1');");
  g_assert_cmpuint (mw_migrator_get_applied (migrator)->len, ==, 0);

  /* Exactly as before: same schema, same rows, the same two migration rows. */
  after = mw_test_dump_database (f->db);
  g_assert_cmpstr (after, ==, before);
  g_assert_false (has_table (f->db, "staff"));
  assert_no_hot_journal (f);
}

static void
test_failure_on_new_database (Fixture *f, gconstpointer data)
{
  const MwTestMigration list[] = {
    shop[0], shop[1], { "0002_broken", 1700000200000, "SELECT abs(-9223372036854775807 - 1);" },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(MwDiagnosis) d = NULL;

  mw_test_fixture_write (f, list);
  g_assert_false (run (f, NULL, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATION_FAILED);

  /* The database is still missing, as it was: no empty file SQLite made, no journal;
   * the next start begins afresh. */
  g_assert_false (g_file_test (f->db, G_FILE_TEST_EXISTS));
  assert_no_hot_journal (f);
  d = mw_diagnose (f->db, f->set, NULL);
  g_assert_cmpuint (d->n_pending, ==, 3);
  g_assert_cmpuint (d->n_applied, ==, 0);
}

/* ---- foreign keys --------------------------------------------------------------------- */

/* Every new connection in this process gets foreign_keys=ON, as better-sqlite3 (the
 * POS's driver) does: the migrator must not depend on SQLite's default. */
static int
foreign_keys_on_init (sqlite3                      *db,
                      char                        **error_message,
                      const struct sqlite3_api_routines *api)
{
  return sqlite3_exec (db, "PRAGMA foreign_keys = ON", NULL, NULL, error_message);
}

static void
foreign_keys_on_everywhere (gboolean on)
{
  if (on)
    g_assert_cmpint (sqlite3_auto_extension ((void (*) (void)) foreign_keys_on_init), ==, SQLITE_OK);
  else
    sqlite3_cancel_auto_extension ((void (*) (void)) foreign_keys_on_init);
}

/* drizzle-kit's rebuild of a parent table (here: adding a NOT NULL column with a
 * default to `shops`, whose `staff` rows cascade on delete). */
static const char rebuild_shops[] =
  "PRAGMA foreign_keys=OFF;--> statement-breakpoint\n"
  "CREATE TABLE `__new_shops` (\n\t`id` text PRIMARY KEY NOT NULL,\n\t`name` text NOT NULL,\n"
  "\t`vat` text DEFAULT 'GB' NOT NULL\n);\n--> statement-breakpoint\n"
  "INSERT INTO `__new_shops`(\"id\", \"name\") SELECT \"id\", \"name\" FROM `shops`;"
  "--> statement-breakpoint\n"
  "DROP TABLE `shops`;--> statement-breakpoint\n"
  "ALTER TABLE `__new_shops` RENAME TO `shops`;--> statement-breakpoint\n"
  "PRAGMA foreign_keys=ON;";

static void
add_staff (const char *db)
{
  mw_test_sql_exec (db, "INSERT INTO shops VALUES ('s1', 'Corner Shop'), ('s2', 'Kiosk');"
                        "INSERT INTO staff VALUES ('u1', 's1', 'Ann'), ('u2', 's1', 'Bob'), "
                        "('u3', 's2', 'Cy')");
}

static void
test_rebuild_keeps_children (Fixture *f, gconstpointer data)
{
  const MwTestMigration list[] = { shop[0], shop[1], { "0002_shops_vat", 1700000200000, rebuild_shops },
                                   { NULL } };
  g_autofree char *naive_db = g_build_filename (f->dir, "naive.db", NULL);
  g_autoptr(GPtrArray) pieces = mw_sql_split (rebuild_shops);
  g_autoptr(MwMigrator) naive = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *staff_before = NULL, *staff_after = NULL, *vat = NULL;
  sqlite3 *db = NULL;

  foreign_keys_on_everywhere (TRUE);
  mw_test_fixture_write (f, list);

  /* The trap, done the naive way (drizzle-orm's): one transaction with foreign keys
   * on. The migration's own PRAGMA foreign_keys=OFF is a no-op inside it, so DROP
   * TABLE cascades and every staff row is gone. This proves the test can fail. */
  naive = mw_migrator_new (naive_db, f->set);
  mw_migrator_set_target (naive, "0001_staff");
  g_assert_true (mw_migrator_run (naive, NULL, &error));
  add_staff (naive_db);
  g_assert_cmpint (sqlite3_open (naive_db, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "BEGIN", NULL, NULL, NULL), ==, SQLITE_OK);
  for (guint i = 0; i < pieces->len; i++)
    g_assert_cmpint (sqlite3_exec (db, g_ptr_array_index (pieces, i), NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
  g_assert_cmpint (mw_test_sql_int (naive_db, "SELECT count(*) FROM staff"), ==, 0);

  /* The migrator, on the same database with a connection that starts with foreign
   * keys on, keeps every child row. */
  mw_test_fixture_migrate (f, "0001_staff");
  add_staff (f->db);
  staff_before = mw_test_sql_text (f->db, "SELECT group_concat(id || shop_id || name, ',') FROM "
                                          "(SELECT * FROM staff ORDER BY id)");
  g_assert_true (run (f, NULL, NULL, &error));
  g_assert_no_error (error);
  staff_after = mw_test_sql_text (f->db, "SELECT group_concat(id || shop_id || name, ',') FROM "
                                         "(SELECT * FROM staff ORDER BY id)");
  g_assert_cmpstr (staff_after, ==, "u1s1Ann,u2s1Bob,u3s2Cy");
  g_assert_cmpstr (staff_after, ==, staff_before);
  vat = mw_test_sql_text (f->db, "SELECT group_concat(id || vat, ',') FROM shops");
  g_assert_cmpstr (vat, ==, "s1GB,s2GB");
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM pragma_foreign_key_check"), ==, 0);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 3);
  /* The cascade still works afterwards: the link points at the new table. */
  mw_test_sql_exec (f->db, "DELETE FROM shops WHERE id = 's2'");
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM staff"), ==, 2);

  foreign_keys_on_everywhere (FALSE);
}

static void
test_foreign_key_violation (Fixture *f, gconstpointer data)
{
  const MwTestMigration list[] = {
    shop[0], shop[1],
    { "0002_orphans", 1700000200000,
      "INSERT INTO `staff` VALUES ('u9', 'no-such-shop', 'Ghost');\n--> statement-breakpoint\n"
      "INSERT INTO `staff` VALUES ('u8', 'gone', 'Ghost 2');" },
    { NULL }
  };
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL;
  GPtrArray *violations;

  mw_test_fixture_write (f, list);
  shop_at (f, "0001_staff");
  before = mw_test_dump_database (f->db);

  migrator = mw_test_fixture_migrator (f, NULL);
  g_assert_false (mw_migrator_run (migrator, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION);
  mw_test_assert_mentions (error->message, "staff");
  mw_test_assert_mentions (error->message, "2 rows");
  violations = mw_migrator_get_violations (migrator);
  g_assert_cmpuint (violations->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (violations, 0), ==, "staff → shops: 2 rows");
  g_assert_cmpuint (mw_migrator_get_applied (migrator)->len, ==, 0);

  after = mw_test_dump_database (f->db);
  g_assert_cmpstr (after, ==, before);
}

/* A child naming its parent in other case (REFERENCES `TILLS`) is checked when an
 * update deletes from `tills`: SQLite's names are case-insensitive. */
static void
test_foreign_key_parent_in_other_case (Fixture *f, gconstpointer data)
{
  const MwTestMigration list[] = {
    { "0000_tills", 1700000000000,
      "CREATE TABLE `tills` (\n\t`id` text PRIMARY KEY NOT NULL\n);\n" },
    { "0001_receipts", 1700000100000,
      "CREATE TABLE `receipts` (\n\t`id` text PRIMARY KEY NOT NULL,\n\t`till_id` text NOT NULL "
      "REFERENCES `TILLS`(`id`)\n);\n--> statement-breakpoint\n"
      "INSERT INTO `tills` VALUES ('t1');\n--> statement-breakpoint\n"
      "INSERT INTO `receipts` VALUES ('r1', 't1');" },
    { "0002_drop_till", 1700000200000, "DELETE FROM `tills` WHERE `id` = 't1';" },
    { NULL }
  };
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL;

  mw_test_fixture_write (f, list);
  mw_test_fixture_migrate (f, "0001_receipts");
  before = mw_test_dump_database (f->db);

  migrator = mw_test_fixture_migrator (f, NULL);
  g_assert_false (mw_migrator_run (migrator, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION);
  mw_test_assert_mentions (error->message, "receipts");
  after = mw_test_dump_database (f->db);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM tills"), ==, 1);
}

static void
test_existing_orphans_do_not_block (Fixture *f, gconstpointer data)
{
  const MwTestMigration list[] = {
    shop[0], shop[1], shop[2],
    { "0003_orphan", 1700000300000, "INSERT INTO `staff` VALUES ('new-orphan', 'nobody', 'X');" },
    { NULL }
  };
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;

  mw_test_fixture_write (f, list);
  shop_at (f, "0001_staff");
  /* Written long ago with foreign keys off: two orphans the shop already has. They
   * are not the update's doing: it still applies. */
  mw_test_sql_exec (f->db, "INSERT INTO staff VALUES ('u1', 'gone', 'Old'), ('u2', 'gone', 'Older')");
  mw_test_fixture_migrate (f, "0002_products");
  g_assert_true (has_table (f->db, "products"));
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM pragma_foreign_key_check"), ==, 2);

  /* A migration that adds one more is still refused, and only the new one is named. */
  migrator = mw_test_fixture_migrator (f, NULL);
  g_assert_false (mw_migrator_run (migrator, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION);
  mw_test_assert_mentions (error->message, "staff → shops: 1 rows");
  g_assert_cmpuint (mw_migrator_get_violations (migrator)->len, ==, 1);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM staff"), ==, 2);
}

static void
test_damaged_database_not_updated (Fixture *f, gconstpointer data)
{
  const MwTestMigration list[] = {
    { "0000_init", 1700000000000, "CREATE TABLE sales (id integer PRIMARY KEY, note text);\n"
                                  "--> statement-breakpoint\nCREATE INDEX sales_note ON sales (note);" },
    { "0001_more", 1700000100000, "CREATE TABLE tills (id text PRIMARY KEY);" },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL, *before = NULL, *after = NULL;
  gint64 page, page_size;
  gsize len = 0;

  mw_test_fixture_write (f, list);
  mw_test_fixture_migrate (f, "0000_init");
  mw_test_sql_exec (f->db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 3000) INSERT INTO sales (note) SELECT 'note ' || i FROM n;");

  /* Garbage over one leaf page of the index: the tables still read, quick_check fails. */
  page = mw_test_sql_int (f->db, "SELECT pageno FROM dbstat WHERE name = 'sales_note' AND "
                                 "pagetype = 'leaf' LIMIT 1 OFFSET 1");
  page_size = mw_test_sql_int (f->db, "PRAGMA page_size");
  g_assert_true (g_file_get_contents (f->db, &contents, &len, NULL));
  memset (contents + (page - 1) * page_size + 8, 0xee, 64);
  g_assert_true (g_file_set_contents (f->db, contents, len, NULL));
  mw_test_age_file (f->db);
  before = mw_test_file_state (f->db);

  g_assert_false (run (f, NULL, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT);
  mw_test_assert_mentions (error->message, "quick_check");
  after = mw_test_file_state (f->db);
  g_assert_cmpstr (before, ==, after);
}

/* ---- refused before anything runs ----------------------------------------------------- */

static int touches;

static void
touch_cb (sqlite3_context *context, int argc, sqlite3_value **argv)
{
  g_atomic_int_inc (&touches);
  sqlite3_result_int (context, 1);
}

/* mw_touch(): counts how often a migration statement really ran. */
static int
touch_init (sqlite3                          *db,
            char                            **error_message,
            const struct sqlite3_api_routines *api)
{
  return sqlite3_create_function (db, "mw_touch", 0, SQLITE_UTF8, NULL, touch_cb, NULL, NULL);
}

typedef struct
{
  const char *name;
  const char *piece;
  const char *mention;
} ControlCase;

static const ControlCase control_cases[] = {
  { "commit", "COMMIT;", "controls transactions" },
  { "commented-commit", "  /* done */ commit", "controls transactions" },
  { "begin", "-- start over\nBEGIN TRANSACTION;", "controls transactions" },
  { "end", "END;", "controls transactions" },
  { "rollback", "ROLLBACK;", "controls transactions" },
  { "savepoint", "SAVEPOINT s1;", "controls transactions" },
  { "release", "RELEASE s1;", "controls transactions" },
  { "vacuum", "VACUUM;", "controls transactions" },
  { "attach", "ATTACH DATABASE 'other.db' AS other;", "controls transactions" },
};

static void
test_refuses_transaction_control (Fixture *f, gconstpointer data)
{
  const ControlCase *c = data;
  g_autofree char *sql = g_strconcat ("CREATE TABLE `products` (`id` text);\n"
                                      "--> statement-breakpoint\n", c->piece, NULL);
  const MwTestMigration list[] = {
    shop[0],
    { "0001_runs_first", 1700000100000, "SELECT mw_touch();" },
    { "0002_controls", 1700000200000, sql },
    { NULL }
  };
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL, *listing = NULL, *listing_after = NULL;

  mw_test_fixture_write (f, list);
  shop_at (f, "0000_init");
  mw_test_age_file (f->db);
  before = mw_test_file_state (f->db);
  listing = mw_test_list_dir (f->dir);

  g_atomic_int_set (&touches, 0);
  g_assert_cmpint (sqlite3_auto_extension ((void (*) (void)) touch_init), ==, SQLITE_OK);
  migrator = mw_test_fixture_migrator (f, NULL);
  g_assert_false (mw_migrator_run (migrator, NULL, &error));

  /* A packaging fault (invalid-migrations), naming the file and the statement. */
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID);
  mw_test_assert_mentions (error->message, c->mention);
  mw_test_assert_mentions (error->message, "0002_controls.sql");
  mw_test_assert_mentions (error->message, "statement 2 of 2");
  g_assert_cmpstr (mw_migrator_get_failed_tag (migrator), ==, "0002_controls");
  g_assert_cmpuint (mw_migrator_get_failed_statement (migrator), ==, 2);
  /* Refused before anything ran (not rolled back after): the earlier migration's
   * statement never executed, no backup was made, not a byte was written. */
  g_assert_cmpint (g_atomic_int_get (&touches), ==, 0);
  after = mw_test_file_state (f->db);
  listing_after = mw_test_list_dir (f->dir);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpstr (listing_after, ==, listing);

  /* Without the offending migration, the counter does count: the check above holds. */
  g_clear_error (&error);
  g_assert_true (run (f, "0001_runs_first", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_atomic_int_get (&touches), ==, 1);
  sqlite3_cancel_auto_extension ((void (*) (void)) touch_init);
}

static void
test_refuses_two_statements (Fixture *f, gconstpointer data)
{
  const MwTestMigration list[] = {
    shop[0], shop[1],
    { "0002_glued", 1700000200000,
      "CREATE TABLE `a` (`x` text);\n--> statement-breakpoint\n"
      "CREATE TABLE `b` (`y` text); CREATE TABLE `c` (`z` text);" },
    { NULL }
  };
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL;

  mw_test_fixture_write (f, list);
  shop_at (f, "0000_init");
  before = mw_test_dump_database (f->db);

  migrator = mw_test_fixture_migrator (f, NULL);
  g_assert_false (mw_migrator_run (migrator, NULL, &error));
  /* Found by the rehearsal, before anything ran and before any backup: a packaging
   * fault (invalid-migrations), naming the file and the statement. */
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID);
  mw_test_assert_mentions (error->message, "more than one SQL statement");
  mw_test_assert_mentions (error->message, "0002_glued.sql");
  mw_test_assert_mentions (error->message, "statement 2 of 2");
  g_assert_cmpstr (mw_migrator_get_failed_tag (migrator), ==, "0002_glued");
  g_assert_cmpuint (mw_migrator_get_failed_statement (migrator), ==, 2);
  g_assert_null (mw_migrator_get_backup (migrator));
  g_assert_false (g_file_test (f->backups, G_FILE_TEST_EXISTS));

  after = mw_test_dump_database (f->db);
  g_assert_cmpstr (after, ==, before);
  g_assert_false (has_table (f->db, "b"));
}

static void
test_unknown_target (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (run (f, "0009_nope", NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID);
  mw_test_assert_mentions (error->message, "0009_nope");
  if (g_file_test (f->db, G_FILE_TEST_EXISTS))
    g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sqlite_schema"), ==, 0);
}

/* ---- refused states ------------------------------------------------------------------- */

typedef enum
{
  REFUSE_NEWER,
  REFUSE_UNKNOWN_HISTORY,
  REFUSE_UNTRACKED,
  REFUSE_HASH_MISMATCH,
} RefusalKind;

static void
make_state (Fixture *f, RefusalKind kind)
{
  g_autofree char *path = g_build_filename (f->folder, "0001_staff.sql", NULL);

  switch (kind)
    {
    case REFUSE_NEWER:
      shop_at (f, "0001_staff");
      mw_test_sql_exec (f->db, "INSERT INTO __drizzle_migrations (hash, created_at) "
                               "VALUES ('from-a-newer-app', 1900000000000)");
      break;
    case REFUSE_UNKNOWN_HISTORY:
      shop_at (f, "0001_staff");
      mw_test_sql_exec (f->db, "INSERT INTO __drizzle_migrations (hash, created_at) "
                               "VALUES ('old-baseline', 1600000000000)");
      break;
    case REFUSE_UNTRACKED:
      mw_test_sql_exec (f->db, "CREATE TABLE shops (id text PRIMARY KEY, name text NOT NULL);"
                               "INSERT INTO shops VALUES ('s1', 'Corner Shop')");
      break;
    case REFUSE_HASH_MISMATCH:
      shop_at (f, "0001_staff");
      mw_test_write_file (path, "CREATE TABLE `staff` (`id` text PRIMARY KEY NOT NULL);");
      mw_test_fixture_load (f);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
test_refuses_state (Fixture *f, gconstpointer data)
{
  RefusalKind kind = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL, *listing = NULL, *listing_after = NULL;
  g_autofree char *dump = NULL, *dump_after = NULL;

  make_state (f, kind);
  dump = mw_test_dump_database (f->db);
  mw_test_age_file (f->db);
  before = mw_test_file_state (f->db);
  listing = mw_test_list_dir (f->dir);

  g_assert_false (run (f, NULL, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED);
  mw_test_assert_mentions (error->message, "Nothing was changed");

  after = mw_test_file_state (f->db);
  listing_after = mw_test_list_dir (f->dir);
  dump_after = mw_test_dump_database (f->db);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpstr (listing_after, ==, listing);
  g_assert_cmpstr (dump_after, ==, dump);
}

static void
test_accept_modified (Fixture *f, gconstpointer data)
{
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *old_hash = NULL, *hash_after = NULL, *tags = NULL;

  make_state (f, REFUSE_HASH_MISMATCH);
  old_hash = mw_test_sql_text (f->db, "SELECT hash FROM __drizzle_migrations WHERE created_at = "
                                      "1700000100000");

  /* A technician accepts the changed file: the pending ones are applied, the changed
   * one is not run again and its record is left as it was. */
  migrator = mw_test_fixture_migrator (f, NULL);
  mw_migrator_set_accept_modified (migrator, TRUE);
  g_assert_true (mw_migrator_run (migrator, NULL, &error));
  g_assert_no_error (error);
  tags = applied_tags (migrator);
  g_assert_cmpstr (tags, ==, "0002_products 0003_sales");
  hash_after = mw_test_sql_text (f->db, "SELECT hash FROM __drizzle_migrations WHERE created_at = "
                                        "1700000100000");
  g_assert_cmpstr (hash_after, ==, old_hash);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 4);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM pragma_table_info('staff')"), ==, 3);
}

static void
test_line_endings_not_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->folder, "0001_staff.sql", NULL);
  g_auto(GStrv) lines = g_strsplit (shop[1].sql, "\n", -1);
  g_autofree char *crlf = g_strjoinv ("\r\n", lines);
  g_autoptr(GError) error = NULL;

  /* Only git's autocrlf changed an applied file: not a change, the update goes on. */
  shop_at (f, "0001_staff");
  mw_test_write_file (path, crlf);
  mw_test_fixture_load (f);
  g_assert_true (run (f, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (has_table (f->db, "sales"));
}

/* ---- cancel --------------------------------------------------------------------------- */

/* Fills a table with far more rows than the test waits for. */
static const MwTestMigration long_running[] = {
  { "0000_init", 1700000000000,
    "CREATE TABLE `shops` (\n\t`id` text PRIMARY KEY NOT NULL,\n\t`name` text NOT NULL\n);\n" },
  { "0001_fill", 1700000100000,
    "CREATE TABLE `n` (`i` integer);\n--> statement-breakpoint\n"
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000000) "
    "INSERT INTO `n` SELECT i FROM c;" },
  { NULL }
};

static void
test_cancelled_before (Fixture *f, gconstpointer data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL, *dump = NULL, *dump_after = NULL;

  shop_at (f, "0001_staff");
  dump = mw_test_dump_database (f->db);
  mw_test_age_file (f->db);
  before = mw_test_file_state (f->db);

  g_cancellable_cancel (cancellable);
  g_assert_false (run (f, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  after = mw_test_file_state (f->db);
  dump_after = mw_test_dump_database (f->db);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpstr (dump_after, ==, dump);
}

typedef struct
{
  MwProgress   *progress;
  GCancellable *cancellable;
  gint64        cancelled_at;
} Canceller;

/* Cancels once the long statement has been running for a moment. */
static gpointer
canceller_thread (gpointer data)
{
  Canceller *c = data;

  for (guint i = 0; i < 6000; i++)
    {
      g_autofree char *message = mw_progress_dup_message (c->progress);

      if (message != NULL && strstr (message, "0001_fill") != NULL)
        break;
      g_usleep (5 * 1000);
    }
  g_usleep (200 * 1000);
  c->cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (c->cancellable);
  return NULL;
}

static void
test_cancelled_during_statement (Fixture *f, gconstpointer data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *digest = NULL, *digest_after = NULL, *dump = NULL, *dump_after = NULL;
  Canceller c = { NULL, cancellable, 0 };
  GThread *thread;
  gint64 returned_at;

  mw_test_fixture_write (f, long_running);
  shop_at (f, "0000_init");
  dump = mw_test_dump_database (f->db);
  digest = mw_test_file_digest (f->db);

  migrator = mw_test_fixture_migrator (f, NULL);
  c.progress = mw_migrator_get_progress (migrator);
  thread = g_thread_new ("canceller", canceller_thread, &c);
  g_assert_false (mw_migrator_run (migrator, cancellable, &error));
  returned_at = g_get_monotonic_time ();
  g_thread_join (thread);

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* Stopped inside the statement, promptly: not after inserting 200 million rows. */
  g_assert_cmpint (returned_at - c.cancelled_at, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpstr (mw_migrator_get_failed_tag (migrator), ==, "0001_fill");
  g_assert_cmpuint (mw_migrator_get_failed_statement (migrator), ==, 2);

  digest_after = mw_test_file_digest (f->db);
  dump_after = mw_test_dump_database (f->db);
  g_assert_cmpstr (dump_after, ==, dump);
  g_assert_cmpstr (digest_after, ==, digest);
  g_assert_false (has_table (f->db, "n"));
  assert_no_hot_journal (f);
}

typedef struct
{
  GMainLoop    *loop;
  GCancellable *cancellable;
  MwProgress   *progress;
  GError       *error;
  gboolean      result;
  guint         poll_id;
} AsyncCancel;

static gboolean
cancel_when_filling_cb (gpointer data)
{
  AsyncCancel *a = data;
  g_autofree char *message = mw_progress_dup_message (a->progress);

  if (message == NULL || strstr (message, "0001_fill") == NULL)
    return G_SOURCE_CONTINUE;
  g_cancellable_cancel (a->cancellable);
  a->poll_id = 0;
  return G_SOURCE_REMOVE;
}

static void
async_cancel_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  AsyncCancel *a = data;

  a->result = mw_migrator_run_finish (MW_MIGRATOR (source), result, &a->error);
  g_main_loop_quit (a->loop);
}

static void
test_cancelled_async (Fixture *f, gconstpointer data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(MwMigrator) migrator = NULL;
  g_autofree char *dump = NULL, *dump_after = NULL;
  AsyncCancel a = { loop, cancellable, NULL, NULL, TRUE, 0 };

  mw_test_fixture_write (f, long_running);
  shop_at (f, "0000_init");
  dump = mw_test_dump_database (f->db);

  /* The window's Cancel button, pressed while the worker thread runs the statement. */
  migrator = mw_test_fixture_migrator (f, NULL);
  a.progress = mw_migrator_get_progress (migrator);
  a.poll_id = g_timeout_add (20, cancel_when_filling_cb, &a);
  mw_migrator_run_async (migrator, cancellable, async_cancel_done_cb, &a);
  g_main_loop_run (loop);
  g_clear_handle_id (&a.poll_id, g_source_remove);

  g_assert_false (a.result);
  g_assert_error (a.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&a.error);
  dump_after = mw_test_dump_database (f->db);
  g_assert_cmpstr (dump_after, ==, dump);
}

/* ---- locked --------------------------------------------------------------------------- */

static void
test_locked_by_writer (Fixture *f, gconstpointer data)
{
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL;
  sqlite3 *pos;
  gint64 start, took;

  shop_at (f, "0001_staff");
  before = mw_test_dump_database (f->db);

  /* The POS is writing a sale. */
  pos = mw_test_hold_write_lock (f->db, "INSERT INTO staff VALUES ('u1', 's1', 'Ann')");
  migrator = mw_test_fixture_migrator (f, NULL);
  mw_migrator_set_busy_timeout (migrator, 200);
  start = g_get_monotonic_time ();
  g_assert_false (mw_migrator_run (migrator, NULL, &error));
  took = g_get_monotonic_time () - start;

  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED);
  mw_test_assert_mentions (error->message, "Close the POS");
  /* Tried four times, waiting 0.5, 1 and 2 s in between (the POS may be closing),
   * and then gave up instead of waiting forever. */
  g_assert_cmpint (took, >=, 3 * G_USEC_PER_SEC + 500 * 1000);
  g_assert_cmpint (took, <, 30 * G_USEC_PER_SEC);

  /* The sale completes, and the update left nothing behind. */
  g_assert_cmpint (sqlite3_exec (pos, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (pos), ==, SQLITE_OK);
  mw_test_sql_exec (f->db, "DELETE FROM staff WHERE id = 'u1'");
  after = mw_test_dump_database (f->db);
  g_assert_cmpstr (after, ==, before);
}

static void
test_locked_message (Fixture *f, gconstpointer data)
{
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3 *pos;

  /* The person is told how long the update waited: not "within 0 seconds" after
   * 200 ms, nor "1 seconds" after 1.5 s. */
  shop_at (f, "0001_staff");
  pos = mw_test_hold_write_lock (f->db, NULL);
  migrator = mw_test_fixture_migrator (f, NULL);
  mw_migrator_set_busy_timeout (migrator, 200);
  g_assert_false (mw_migrator_run (migrator, NULL, &error));
  mw_test_release_lock (pos);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED);
  g_assert_null (strstr (error->message, "within 0 seconds"));
}

static void
test_locked_by_reader (Fixture *f, gconstpointer data)
{
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL;
  sqlite3 *pos = NULL;
  sqlite3_stmt *report = NULL;

  shop_at (f, "0001_staff");
  before = mw_test_dump_database (f->db);

  /* The POS is half-way through reading a report: the update cannot commit. */
  g_assert_cmpint (sqlite3_open (f->db, &pos), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (pos, "SELECT * FROM shops", -1, &report, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (report), ==, SQLITE_ROW);

  migrator = mw_test_fixture_migrator (f, NULL);
  mw_migrator_set_busy_timeout (migrator, 200);
  g_assert_false (mw_migrator_run (migrator, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED);
  g_assert_cmpuint (mw_migrator_get_applied (migrator)->len, ==, 0);

  /* The report reads on, and the database is as it was. */
  g_assert_cmpint (sqlite3_step (report), ==, SQLITE_ROW);
  sqlite3_finalize (report);
  g_assert_cmpint (sqlite3_close (pos), ==, SQLITE_OK);
  after = mw_test_dump_database (f->db);
  g_assert_cmpstr (after, ==, before);
  assert_no_hot_journal (f);
}

/* ---- progress ------------------------------------------------------------------------- */

typedef struct
{
  GMainLoop *loop;
  GThread   *main_thread;
  guint      notifications;
  double     last_fraction;
  gboolean   done;
  gboolean   timed_out;
  GError    *error;
} ProgressWatch;

/* Done, and the bar shows 100 %. */
static void
quit_when_finished (ProgressWatch *w)
{
  if (w->done && w->last_fraction == 1.0)
    g_main_loop_quit (w->loop);
}

static void
fraction_notify_cb (GObject *object, GParamSpec *pspec, gpointer data)
{
  ProgressWatch *w = data;

  /* A GTK progress bar bound to this must only ever be touched on the main thread. */
  g_assert_true (g_thread_self () == w->main_thread);
  g_object_get (object, "fraction", &w->last_fraction, NULL);
  g_assert_cmpfloat (w->last_fraction, >=, 0.0);
  g_assert_cmpfloat (w->last_fraction, <=, 1.0);
  w->notifications++;
  quit_when_finished (w);
}

static void
progress_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  ProgressWatch *w = data;

  g_assert_true (g_thread_self () == w->main_thread);
  mw_migrator_run_finish (MW_MIGRATOR (source), result, &w->error);
  w->done = TRUE;
  quit_when_finished (w);
}

static gboolean
timed_out_cb (gpointer data)
{
  ProgressWatch *w = data;

  w->timed_out = TRUE;
  g_main_loop_quit (w->loop);
  return G_SOURCE_REMOVE;
}

static void
test_async_progress (Fixture *f, gconstpointer data)
{
  const MwTestMigration list[] = {
    shop[0],
    { "0001_fill", 1700000100000,
      "CREATE TABLE `n` (`i` integer);\n--> statement-breakpoint\n"
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300000) "
      "INSERT INTO `n` SELECT i FROM c;" },
    shop[2], shop[3],
    { NULL }
  };
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(MwMigrator) migrator = NULL;
  ProgressWatch w = { loop, g_thread_self (), 0, -1.0, FALSE, FALSE, NULL };
  guint timeout_id;

  mw_test_fixture_write (f, list);
  shop_at (f, "0000_init");
  migrator = mw_test_fixture_migrator (f, NULL);
  g_signal_connect (mw_migrator_get_progress (migrator), "notify::fraction",
                    G_CALLBACK (fraction_notify_cb), &w);
  mw_migrator_run_async (migrator, NULL, progress_done_cb, &w);

  timeout_id = g_timeout_add_seconds (30, timed_out_cb, &w);
  g_main_loop_run (loop);
  if (!w.timed_out)
    g_source_remove (timeout_id);
  /* A notification may still be pending: it must not reach this stack frame later. */
  g_signal_handlers_disconnect_by_data (mw_migrator_get_progress (migrator), &w);

  g_assert_false (w.timed_out);
  g_assert_true (w.done);
  g_assert_no_error (w.error);
  g_assert_cmpuint (w.notifications, >, 0);
  g_assert_cmpfloat (w.last_fraction, ==, 1.0);
  g_assert_cmpfloat (mw_progress_get_fraction (mw_migrator_get_progress (migrator)), ==, 1.0);
  g_assert_cmpuint (mw_migrator_get_applied (migrator)->len, ==, 3);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM n"), ==, 300000);
}

/* The bar through a whole safe update, as a window reads it: watched from another
 * thread as often as it can (every notification is coalesced, so a notify handler
 * would not see a 100 % that a later value replaced). */
typedef struct
{
  MwProgress *progress;
  gint        stop;      /* (atomic) */
  GPtrArray  *messages;  /* each new message, in order */
  char       *bad;       /* the first broken rule, if any */
  double      last_fraction;
  char       *last_message;
} BarWatch;

static gpointer
bar_watch_thread (gpointer data)
{
  BarWatch *w = data;

  for (;;)
    {
      /* Once more after the run returned: its last state. */
      gboolean last = g_atomic_int_get (&w->stop);
      double fraction;
      g_autofree char *message = mw_progress_dup_state (w->progress, &fraction);
      gboolean same = g_strcmp0 (message, w->last_message) == 0;

      if (w->bad == NULL && same && fraction < w->last_fraction)
        w->bad = g_strdup_printf ("“%s” went back from %.3f to %.3f", message, w->last_fraction,
                                  fraction);
      if (w->bad == NULL && fraction >= 1.0 && g_strcmp0 (message, "All updates applied") != 0)
        w->bad = g_strdup_printf ("“%s” showed 100 %%", message);
      if (!same)
        g_ptr_array_add (w->messages, g_strdup (message));
      w->last_fraction = fraction;
      g_free (w->last_message);
      w->last_message = g_steal_pointer (&message);
      if (last)
        break;
      g_usleep (20);
    }
  return NULL;
}

/* Every phase of a safe update — the backup's copy and its check, the updates, the
 * links between tables, saving, the checks after committing — moves the bar forward
 * from its start and never shows 100 % before the end. */
static void
test_progress_every_phase (Fixture *f, gconstpointer data)
{
  const MwTestMigration list[] = {
    { "0000_init", 1700000000000,
      "CREATE TABLE shops (id text PRIMARY KEY, name text);\n--> statement-breakpoint\n"
      "CREATE TABLE sales (id integer PRIMARY KEY, shop_id text REFERENCES shops(id), "
      "total integer);\n--> statement-breakpoint\n"
      "CREATE INDEX sales_shop ON sales (shop_id);" },
    { "0001_change", 1700000100000,
      "ALTER TABLE sales ADD COLUMN note text;\n--> statement-breakpoint\n"
      "UPDATE shops SET name = upper(name);\n--> statement-breakpoint\n"
      "DELETE FROM shops WHERE id = 'unused';" },
    { NULL }
  };
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MwProgress) progress = mw_progress_new ();
  BarWatch w = { progress, 0, g_ptr_array_new_with_free_func (g_free), NULL, 0.0, NULL };
  g_autofree char *seen = NULL;
  GThread *watcher;
  gboolean ok;

  mw_test_fixture_write (f, list);
  mw_test_fixture_migrate (f, "0000_init");
  mw_test_sql_exec (f->db, "INSERT INTO shops VALUES ('s1', 'corner'), ('unused', 'none'); "
                           "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                           "WHERE i < 200000) INSERT INTO sales SELECT i, 's1', i FROM c;");

  migrator = mw_test_fixture_migrator (f, NULL);
  mw_migrator_set_progress (migrator, progress);
  watcher = g_thread_new ("bar-watch", bar_watch_thread, &w);
  ok = mw_migrator_run (migrator, NULL, &error);
  g_atomic_int_set (&w.stop, 1);
  g_thread_join (watcher);

  g_ptr_array_add (w.messages, NULL);
  seen = g_strjoinv (" | ", (char **) w.messages->pdata);
  g_test_message ("phases seen: %s", seen);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_null (w.bad);
  g_assert_cmpstr (w.last_message, ==, "All updates applied");
  g_assert_cmpfloat (w.last_fraction, ==, 1.0);
  /* The checks after committing ran with their message (the changed tables are
   * checked beside the file, and named when they take longer). */
  g_assert_nonnull (strstr (seen, "Checking the database file"));

  g_ptr_array_unref (w.messages);
  g_free (w.last_message);
}

/* ---- v1 folders ----------------------------------------------------------------------- */

static void
write_v1 (Fixture *f, const char *name, const char *sql)
{
  g_autofree char *path = g_build_filename (f->folder, name, "migration.sql", NULL);

  mw_test_write_file (path, sql);
}

static void
use_v1_folder (Fixture *f)
{
  g_free (f->folder);
  f->folder = g_build_filename (f->dir, "drizzle-v1", NULL);
  write_v1 (f, "20250101090000_init", "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL);");
  write_v1 (f, "20250201090000_tills",
            "CREATE TABLE `tills` (`id` text PRIMARY KEY NOT NULL);\n--> statement-breakpoint\n"
            "CREATE INDEX `tills_idx` ON `tills` (`id`);");
  mw_test_fixture_load (f);
  g_assert_cmpint (mw_migration_set_get_format (f->set), ==, MW_FOLDER_FORMAT_V1);
}

static void
test_v1_ddl_and_rows (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MwDiagnosis) d = NULL;
  g_autofree char *ddl = NULL, *rows = NULL, *applied_at = NULL, *hash = NULL;
  g_autoptr(GDateTime) parsed = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  use_v1_folder (f);
  g_assert_true (run (f, NULL, NULL, &error));
  g_assert_no_error (error);

  ddl = mw_test_sql_text (f->db, "SELECT sql FROM sqlite_schema WHERE name = '__drizzle_migrations'");
  g_assert_cmpstr (ddl, ==, DRIZZLE_V1_DDL);
  rows = mw_test_sql_text (f->db, "SELECT group_concat(id || ' ' || created_at || ' ' || name, ',') "
                                  "FROM (SELECT * FROM __drizzle_migrations ORDER BY id)");
  /* Date.UTC(2025, 0, 1, 9) and Date.UTC(2025, 1, 1, 9) */
  g_assert_cmpstr (rows, ==, "1 1735722000000 20250101090000_init,2 1738400400000 20250201090000_tills");
  hash = mw_test_sql_text (f->db, "SELECT hash FROM __drizzle_migrations WHERE id = 1");
  g_assert_cmpstr (hash, ==, mw_migration_set_get_migration (f->set, 0)->hash);

  /* applied_at: ISO 8601 in UTC with milliseconds, as JavaScript's toISOString(). */
  applied_at = mw_test_sql_text (f->db, "SELECT applied_at FROM __drizzle_migrations WHERE id = 2");
  g_assert_true (g_regex_match_simple ("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$",
                                       applied_at, 0, 0));
  parsed = g_date_time_new_from_iso8601 (applied_at, NULL);
  g_assert_nonnull (parsed);
  g_assert_cmpint (ABS (g_date_time_difference (now, parsed)), <, 60 * G_USEC_PER_SEC);

  d = mw_diagnose (f->db, f->set, NULL);
  g_assert_cmpint (d->state, ==, MW_STATE_UP_TO_DATE);
}

static void
test_v1_upgrades_old_table (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) before = NULL;
  g_autoptr(MwDiagnosis) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sql = NULL, *names = NULL, *columns = NULL, *applied_at = NULL;
  const MwMigration *init;

  /* A shop migrated by a 0.x app; the new app ships the same first migration in the
   * v1 layout, and a second one. */
  use_v1_folder (f);
  init = mw_migration_set_get_migration (f->set, 0);
  sql = g_strdup_printf ("%s;" DRIZZLE_0X_DDL ";"
                         "INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('%s', %"
                         G_GINT64_FORMAT ");"
                         "INSERT INTO shops VALUES ('s1');",
                         "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL)", init->hash,
                         init->when + 123);
  mw_test_sql_exec (f->db, sql);

  before = mw_diagnose (f->db, f->set, NULL);
  g_assert_cmpint (before->state, ==, MW_STATE_PENDING);
  g_assert_cmpuint (before->n_applied, ==, 1);

  g_assert_true (run (f, NULL, NULL, &error));
  g_assert_no_error (error);

  /* The table gained drizzle 1.x's columns; the old row got its name; the new row all. */
  columns = mw_test_sql_text (f->db, "SELECT group_concat(name, ',') FROM "
                                     "pragma_table_info('__drizzle_migrations')");
  g_assert_cmpstr (columns, ==, "id,hash,created_at,name,applied_at");
  names = mw_test_sql_text (f->db, "SELECT group_concat(name, ',') FROM "
                                   "(SELECT name FROM __drizzle_migrations ORDER BY rowid)");
  g_assert_cmpstr (names, ==, "20250101090000_init,20250201090000_tills");
  applied_at = mw_test_sql_text (f->db, "SELECT applied_at FROM __drizzle_migrations "
                                        "WHERE name = '20250201090000_tills'");
  g_assert_nonnull (applied_at);
  g_assert_true (has_table (f->db, "tills"));
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops"), ==, 1);

  after = mw_diagnose (f->db, f->set, NULL);
  g_assert_cmpint (after->state, ==, MW_STATE_UP_TO_DATE);
}

/* ---- paths ---------------------------------------------------------------------------- */

static void
test_path_with_spaces_and_accents (Fixture *f, gconstpointer data)
{
  g_autofree char *folder = g_build_filename (f->dir, "Kassé Daten", NULL);
  g_autofree char *db = g_build_filename (folder, "pos system.db", NULL);
  g_autoptr(MwMigrator) first = NULL;
  g_autoptr(MwMigrator) second = NULL;
  g_autoptr(MwDiagnosis) d = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  MwBackup *backup;

  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  first = mw_migrator_new (db, f->set);
  mw_migrator_set_target (first, "0001_staff");
  g_assert_true (mw_migrator_run (first, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (db, G_FILE_TEST_IS_REGULAR));
  mw_test_sql_exec (db, "INSERT INTO shops VALUES ('s1', 'Café Müller')");

  /* An update of an existing database there: its backup lands beside it. */
  second = mw_migrator_new (db, f->set);
  g_assert_true (mw_migrator_run (second, NULL, &error));
  g_assert_no_error (error);
  backup = mw_migrator_get_backup (second);
  g_assert_nonnull (backup);
  g_assert_true (g_str_has_prefix (backup->path, folder));
  g_assert_true (g_file_test (backup->path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (mw_test_sql_int (backup->path, "SELECT count(*) FROM __drizzle_migrations"), ==, 2);

  name = mw_test_sql_text (db, "SELECT name FROM shops");
  g_assert_cmpstr (name, ==, "Café Müller");
  d = mw_diagnose (db, f->set, NULL);
  g_assert_cmpint (d->state, ==, MW_STATE_UP_TO_DATE);
}


/* ---- as the app's driver runs SQL --------------------------------------------------- */

static gint64
query_int (sqlite3    *db,
           const char *sql)
{
  return mw_db_query_int (db, sql, -1);
}

/* Every connection is set up as better-sqlite3 sets up the app's: no double-quoted
 * strings (in statements or DDL), foreign keys on, recursive triggers off, defensive
 * (writable_schema does nothing), the FTS3 tokenizer closed, its length limit; and a
 * `file:` name is a file. */
static void
test_connection_like_the_app (Fixture *f, gconstpointer data)
{
  g_autoptr(sqlite3) db = NULL;
  g_autoptr(sqlite3) named = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cwd = g_get_current_dir ();
  sqlite3_stmt *stmt = NULL;
  int on = -1;

  db = mw_db_open (":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT \"no_such_column\"", -1, &stmt, NULL), ==,
                   SQLITE_ERROR);
  mw_test_assert_mentions (sqlite3_errmsg (db), "no such column: no_such_column");
  g_assert_false (mw_db_exec (db, "CREATE TABLE t (x CHECK (x <> \"a\"))", NULL));
  g_assert_true (mw_db_exec (db, "CREATE TABLE t (x CHECK (x <> 'a'))", NULL));
  g_assert_cmpint (query_int (db, "PRAGMA foreign_keys"), ==, 1);
  g_assert_cmpint (query_int (db, "PRAGMA recursive_triggers"), ==, 0);
  g_assert_true (mw_db_exec (db, "PRAGMA writable_schema = ON", NULL));
  g_assert_false (mw_db_exec (db, "UPDATE sqlite_schema SET sql = 'CREATE TABLE t (x)'",
                              &error));
  mw_test_assert_mentions (error->message, "may not be modified");
  g_clear_error (&error);
  sqlite3_db_config (db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, -1, &on);
  g_assert_cmpint (on, ==, 0);
  g_assert_cmpint (sqlite3_limit (db, SQLITE_LIMIT_LENGTH, -1), ==, 536870888);

  /* A relative "file:…" name opens (and creates) a file of that name. */
  g_assert_cmpint (g_chdir (f->dir), ==, 0);
  named = mw_db_open ("file:pos.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0, &error);
  g_assert_no_error (error);
  g_assert_true (mw_db_exec (named, "CREATE TABLE x (y)", NULL));
  g_assert_true (g_file_test ("file:pos.db", G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (g_chdir (cwd), ==, 0);
}

/* (1) Copying columns the old table lacks, in double quotes: refused before anything
 * runs and before any backup, and no name is ever stored as a string. */
static void
test_refuses_double_quoted_string (Fixture *f, gconstpointer data)
{
  const MwTestMigration list[] = {
    shop[0], shop[1],
    { "0002_shops_rebuild", 1700000200000,
      "CREATE TABLE `__new_shops` (`id` text PRIMARY KEY NOT NULL, `name` text NOT NULL, "
      "`vat_number` text);\n--> statement-breakpoint\n"
      "INSERT INTO `__new_shops`(\"id\", \"name\", \"vat_number\") SELECT \"id\", \"name\", "
      "\"vat_number\" FROM `shops`;\n--> statement-breakpoint\n"
      "DROP TABLE `shops`;\n--> statement-breakpoint\n"
      "ALTER TABLE `__new_shops` RENAME TO `shops`;" },
    { NULL }
  };
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;

  shop_at (f, "0001_staff");
  mw_test_fixture_write (f, list);
  before = mw_test_dump_database (f->db);

  migrator = mw_test_fixture_migrator (f, NULL);
  mw_migrator_set_backup (migrator, TRUE, f->backups);
  g_assert_false (mw_migrator_run (migrator, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID);
  mw_test_assert_mentions (error->message, "0002_shops_rebuild.sql");
  mw_test_assert_mentions (error->message, "statement 2 of 4");
  mw_test_assert_mentions (error->message, "no such column: vat_number");
  g_assert_cmpstr (mw_migrator_get_failed_tag (migrator), ==, "0002_shops_rebuild");
  g_assert_cmpuint (mw_migrator_get_failed_statement (migrator), ==, 2);
  g_assert_null (mw_migrator_get_backup (migrator));
  g_assert_false (g_file_test (f->backups, G_FILE_TEST_EXISTS));
  {
    g_autofree char *after = mw_test_dump_database (f->db);

    g_assert_cmpstr (after, ==, before);
  }
}

/* (3) A v1 folder with an untimed name: applied in drizzle's order, recorded with
 * created_at NULL. */
static void
test_v1_untimed_recorded_null (Fixture *f, gconstpointer data)
{
  g_autofree char *a = g_build_filename (f->folder, "20240101120000_shops", "migration.sql", NULL);
  g_autofree char *b = g_build_filename (f->folder, "seed_shops", "migration.sql", NULL);
  g_autofree char *rows = NULL;

  mw_test_remove_tree (f->folder);
  mw_test_write_file (a, "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL);");
  mw_test_write_file (b, "INSERT INTO `shops` VALUES ('s1');");
  mw_test_fixture_load (f);
  mw_test_fixture_migrate (f, NULL);

  rows = mw_test_dump_query (f->db, "SELECT name, created_at, typeof(created_at) FROM "
                                    "__drizzle_migrations ORDER BY id");
  g_assert_cmpstr (rows, ==, "t:20240101120000_shops | i:1704110400000 | t:integer\n"
                             "t:seed_shops | n:NULL | t:null\n");
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops"), ==, 1);
  {
    g_autoptr(MwDiagnosis) d = mw_diagnose (f->db, f->set, NULL);

    g_assert_cmpint (d->state, ==, MW_STATE_UP_TO_DATE);
  }
}

/* (4) The app names its migrations table: created there (drizzle's DDL), written
 * there, never __drizzle_migrations. */
static void
test_custom_table (Fixture *f, gconstpointer data)
{
  g_autofree char *ddl = NULL;

  mw_migration_set_set_table (f->set, "app_migrations");
  mw_test_fixture_migrate (f, "0001_staff");
  ddl = mw_test_sql_text (f->db, "SELECT sql FROM sqlite_schema WHERE name = 'app_migrations'");
  g_assert_cmpstr (ddl, ==, "CREATE TABLE \"app_migrations\" (\n"
                            "\t\t\t\tid SERIAL PRIMARY KEY,\n"
                            "\t\t\t\thash text NOT NULL,\n"
                            "\t\t\t\tcreated_at numeric\n"
                            "\t\t\t)");
  mw_test_fixture_migrate (f, NULL);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM app_migrations"), ==, 4);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                           "'__drizzle_migrations'"), ==, 0);
}

/* (7) An empty journal: the database is created with drizzle's migrations table. */
static void
test_empty_journal_creates_table (Fixture *f, gconstpointer data)
{
  const MwTestMigration none[] = { { NULL } };
  g_autofree char *ddl = NULL;

  mw_test_fixture_write (f, none);
  mw_test_fixture_migrate (f, NULL);
  ddl = mw_test_sql_text (f->db, "SELECT sql FROM sqlite_schema WHERE name = "
                                 "'__drizzle_migrations'");
  g_assert_cmpstr (ddl, ==, DRIZZLE_0X_DDL);
}

/* The links are checked where the updates can have broken them — the tables they
 * wrote and the tables pointing at those — so an old orphan elsewhere is not looked at,
 * while one the updates make is caught; full checks look at everything. */
static void
test_checks_follow_what_changed (Fixture *f, gconstpointer data)
{
  const MwTestMigration base[] = {
    { "0000_init", 1700000000000,
      "CREATE TABLE shops (id text PRIMARY KEY, name text);\n--> statement-breakpoint\n"
      "CREATE TABLE sales (id text PRIMARY KEY, shop_id text REFERENCES shops(id));\n"
      "--> statement-breakpoint\n"
      "CREATE TABLE notes (id text PRIMARY KEY, sale_id text REFERENCES sales(id));" },
    { "0001_rename", 1700000100000, "UPDATE shops SET name = 'Corner shop';" },
    { "0002_close", 1700000200000, "DELETE FROM shops WHERE id = 's1';" },
    { NULL }
  };
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(MwMigrator) closing = NULL;
  g_autoptr(MwMigrator) full = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) full_error = NULL;
  g_autofree char *violations = NULL;

  mw_test_fixture_write (f, base);
  mw_test_fixture_migrate (f, "0000_init");
  /* A note whose sale was deleted years ago, with foreign keys off. */
  mw_test_sql_exec (f->db, "INSERT INTO shops VALUES ('s1', 'Corner'); "
                           "INSERT INTO sales VALUES ('x1', 's1'); "
                           "INSERT INTO notes VALUES ('n1', 'gone');");

  /* Renaming the shop: the old orphan in notes does not stop the update. */
  migrator = mw_test_fixture_migrator (f, "0001_rename");
  g_assert_true (mw_migrator_run (migrator, NULL, &error));
  g_assert_no_error (error);

  /* Deleting the shop its sale points at: caught, named, rolled back. */
  closing = mw_test_fixture_migrator (f, NULL);
  g_assert_false (mw_migrator_run (closing, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION);
  violations = g_strjoinv ("|", (char **) mw_migrator_get_violations (closing)->pdata);
  g_assert_nonnull (strstr (violations, "sales → shops: 1 rows"));
  g_assert_null (strstr (violations, "notes"));
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops"), ==, 1);

  /* With full checks the same update is caught too. */
  full = mw_test_fixture_migrator (f, NULL);
  mw_migrator_set_full_checks (full, TRUE);
  g_assert_false (mw_migrator_run (full, NULL, &full_error));
  g_assert_error (full_error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION);
}

/* The parent's rows or keys touched in each way a child that was not written can
 * see: every case is caught (the pair named), and nothing is left changed. */
typedef struct
{
  const char *name;
  const char *sql;
  const char *pair;    /* NULL: the update is sound and is applied */
} KeyCase;

static const KeyCase key_cases[] = {
  { "delete", "DELETE FROM shops WHERE id = 's1';", "sales → shops" },
  { "update-key", "UPDATE shops SET id = 'gone' WHERE id = 's1';", "sales → shops" },
  { "update-referenced-column", "UPDATE shops SET code = 'C9' WHERE id = 's2';", "stamps → shops" },
  /* s1 takes s2's code: OR REPLACE deletes s2, whose sale x2 points at it. */
  { "update-or-replace", "UPDATE OR REPLACE shops SET code = 'C2' WHERE id = 's1';",
    "sales → shops" },
  /* A new shop with s1's code: s1 is deleted. */
  { "insert-or-replace", "INSERT OR REPLACE INTO shops (id, code, name) VALUES ('s3', 'C1', 'New');",
    "sales → shops" },
  { "rebuild-losing-rows",
    "CREATE TABLE __new_shops (id text PRIMARY KEY, code text UNIQUE, name text, note text);\n"
    "--> statement-breakpoint\n"
    "INSERT INTO __new_shops SELECT * FROM shops WHERE id <> 's2';\n--> statement-breakpoint\n"
    "DROP TABLE shops;\n--> statement-breakpoint\n"
    "ALTER TABLE __new_shops RENAME TO shops;", "sales → shops" },
  /* The children name their parent in capitals (SQLite's names ignore case). */
  { "delete-parent-named-in-capitals", "DELETE FROM tills WHERE id = 'k1';", "sales → TILLS" },
  /* A parent rebuilt without one of its rows: its keys were copied before the rebuild
   * and one is missing after it (mw-fk-guard.c), so its children are checked. */
  { "rebuild-parent-losing-a-row",
    "CREATE TABLE __new_tills (id text PRIMARY KEY, label text);\n--> statement-breakpoint\n"
    "INSERT INTO __new_tills (id) SELECT id FROM tills WHERE id <> 'k2';\n"
    "--> statement-breakpoint\n"
    "DROP TABLE tills;\n--> statement-breakpoint\n"
    "ALTER TABLE __new_tills RENAME TO tills;", "sales → TILLS" },
  /* Every key kept (and one added): applied, without reading the children. */
  { "rebuild-parent-keeping-every-row",
    "CREATE TABLE __new_tills (id text PRIMARY KEY, label text);\n--> statement-breakpoint\n"
    "INSERT INTO __new_tills (id) SELECT id FROM tills;\n--> statement-breakpoint\n"
    "INSERT INTO __new_tills (id) VALUES ('k3');\n--> statement-breakpoint\n"
    "DROP TABLE tills;\n--> statement-breakpoint\n"
    "ALTER TABLE __new_tills RENAME TO tills;", NULL },
  /* A row deleted through a trigger another statement fires. */
  { "parent-row-deleted-by-trigger",
    "CREATE TRIGGER shops_close AFTER UPDATE OF note ON shops BEGIN "
    "DELETE FROM tills WHERE id = 'k1'; END;\n--> statement-breakpoint\n"
    "UPDATE shops SET note = 'closed' WHERE id = 's1';", "sales → TILLS" },
  /* A column added, a column that is no key changed: no child can have lost its parent
   * (the children are not read), and the update is applied. */
  { "add-column-and-update-other-column",
    "ALTER TABLE shops ADD COLUMN phone text;\n--> statement-breakpoint\n"
    "UPDATE shops SET note = 'checked', phone = '0123';", NULL },
};

static void
test_checks_follow_keys (Fixture *f, gconstpointer data)
{
  const KeyCase *c = data;
  const MwTestMigration base[] = {
    { "0000_init", 1700000000000,
      "CREATE TABLE shops (id text PRIMARY KEY, code text UNIQUE, name text, note text);\n"
      "--> statement-breakpoint\n"
      "CREATE TABLE tills (id text PRIMARY KEY);\n--> statement-breakpoint\n"
      "CREATE TABLE sales (id text PRIMARY KEY, shop_id text REFERENCES shops(id), "
      "till_id text REFERENCES TILLS(id));\n--> statement-breakpoint\n"
      "CREATE TABLE stamps (id text PRIMARY KEY, shop_code text REFERENCES shops(code));" },
    { "0001_change", 1700000100000, c->sql },
    { NULL }
  };
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *violations = NULL;
  gboolean ok;

  mw_test_fixture_write (f, base);
  mw_test_fixture_migrate (f, "0000_init");
  mw_test_sql_exec (f->db, "INSERT INTO shops VALUES ('s1', 'C1', 'Corner', ''), "
                           "('s2', 'C2', 'Kiosk', ''); "
                           "INSERT INTO tills VALUES ('k1'), ('k2'); "
                           "INSERT INTO sales VALUES ('x1', 's1', 'k1'), ('x2', 's2', 'k2'); "
                           "INSERT INTO stamps VALUES ('t1', 'C2');");

  migrator = mw_test_fixture_migrator (f, NULL);
  ok = mw_migrator_run (migrator, NULL, &error);
  if (c->pair == NULL)
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 2);
      g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sales"), ==, 2);
      if (strstr (c->sql, "phone") != NULL)
        g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops WHERE phone = '0123'"),
                         ==, 2);
      return;
    }
  g_assert_false (ok);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION);
  {
    GPtrArray *found = mw_migrator_get_violations (migrator);
    g_autoptr(GString) all = g_string_new (NULL);

    for (guint i = 0; i < found->len; i++)
      g_string_append_printf (all, "%s|", (const char *) g_ptr_array_index (found, i));
    violations = g_string_free (g_steal_pointer (&all), FALSE);
  }
  mw_test_assert_mentions (violations, c->pair);
  /* Rolled back: every shop and till still there, nothing recorded. */
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops WHERE id IN ('s1', 's2') "
                                           "AND code IN ('C1', 'C2')"), ==, 2);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM tills"), ==, 2);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 1);
}

/* A parent rebuilt with the same keys under another collation: a child's 'k1' pointed
 * at 'K1' (NOCASE) and points at nothing under BINARY. The keys compare equal, so the
 * guard must see the collation change and have the children checked. */
static void
test_foreign_key_collation_changed (Fixture *f, gconstpointer data)
{
  const MwTestMigration migrations[] = {
    { "0000_init", 1700000000000,
      "CREATE TABLE tills (id text COLLATE NOCASE PRIMARY KEY);\n--> statement-breakpoint\n"
      "CREATE TABLE sales (id text PRIMARY KEY, till_id text REFERENCES tills(id));" },
    { "0001_rebuild", 1700000100000,
      "CREATE TABLE __new_tills (id text PRIMARY KEY);\n--> statement-breakpoint\n"
      "INSERT INTO __new_tills SELECT id FROM tills;\n--> statement-breakpoint\n"
      "DROP TABLE tills;\n--> statement-breakpoint\n"
      "ALTER TABLE __new_tills RENAME TO tills;" },
    { NULL }
  };
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;

  mw_test_fixture_write (f, migrations);
  mw_test_fixture_migrate (f, "0000_init");
  mw_test_sql_exec (f->db, "INSERT INTO tills VALUES ('K1'); "
                           "INSERT INTO sales VALUES ('x1', 'k1'), ('x2', 'K1'), ('x3', 'k1');");

  migrator = mw_test_fixture_migrator (f, NULL);
  g_assert_false (mw_migrator_run (migrator, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION);
  mw_test_assert_mentions (error->message, "2 rows");
  /* Rolled back: the NOCASE table and its rows as they were. */
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM tills WHERE id = 'k1'"), ==, 1);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD_DATA(path, fn, data) \
  g_test_add ("/mw/engine/migrate/" path, Fixture, data, fixture_set_up, fn, \
              mw_test_fixture_tear_down)
#define ADD(path, fn) ADD_DATA (path, fn, NULL)
  ADD ("creates-database", test_creates_database);
  ADD ("checks-follow-what-changed", test_checks_follow_what_changed);
  for (guint i = 0; i < G_N_ELEMENTS (key_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/mw/engine/migrate/checks-follow-keys/%s",
                                               key_cases[i].name);

      g_test_add (path, Fixture, &key_cases[i], fixture_set_up, test_checks_follow_keys,
                  mw_test_fixture_tear_down);
    }
  ADD ("applies-pending-only", test_applies_pending_only);
  ADD ("applies-out-of-order", test_applies_out_of_order);
  ADD ("failure/rolls-back", test_failure_rolls_back);
  ADD ("failure/on-new-database", test_failure_on_new_database);
  ADD ("foreign-keys/rebuild-keeps-children", test_rebuild_keeps_children);
  ADD ("foreign-keys/violation-rolls-back", test_foreign_key_violation);
  ADD ("foreign-keys/parent-named-in-other-case", test_foreign_key_parent_in_other_case);
  ADD ("foreign-keys/existing-orphans-do-not-block", test_existing_orphans_do_not_block);
  ADD ("foreign-keys/parent-collation-changed", test_foreign_key_collation_changed);
  ADD ("damaged-database-not-updated", test_damaged_database_not_updated);
  for (guint i = 0; i < G_N_ELEMENTS (control_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/mw/engine/migrate/refuses/transaction-control/%s",
                                               control_cases[i].name);

      g_test_add (path, Fixture, &control_cases[i], fixture_set_up,
                  test_refuses_transaction_control, mw_test_fixture_tear_down);
    }
  ADD ("refuses/two-statements-in-a-piece", test_refuses_two_statements);
  ADD ("refuses/unknown-target", test_unknown_target);
  ADD_DATA ("refuses/newer", test_refuses_state, GINT_TO_POINTER (REFUSE_NEWER));
  ADD_DATA ("refuses/unknown-history", test_refuses_state, GINT_TO_POINTER (REFUSE_UNKNOWN_HISTORY));
  ADD_DATA ("refuses/untracked", test_refuses_state, GINT_TO_POINTER (REFUSE_UNTRACKED));
  ADD_DATA ("refuses/hash-mismatch", test_refuses_state, GINT_TO_POINTER (REFUSE_HASH_MISMATCH));
  ADD ("hash-mismatch-accepted", test_accept_modified);
  ADD ("line-endings-only-not-refused", test_line_endings_not_refused);
  ADD ("cancel/before", test_cancelled_before);
  ADD ("cancel/during-statement", test_cancelled_during_statement);
  ADD ("cancel/async", test_cancelled_async);
  ADD ("locked/by-writer", test_locked_by_writer);
  ADD ("locked/by-reader", test_locked_by_reader);
  ADD ("async-progress", test_async_progress);
  ADD ("progress/every-phase-moves-never-full-early", test_progress_every_phase);
  ADD ("v1/ddl-and-rows", test_v1_ddl_and_rows);
  ADD ("v1/upgrades-0x-table", test_v1_upgrades_old_table);
  ADD ("path-with-spaces-and-accents", test_path_with_spaces_and_accents);
  ADD ("app-driver/connection-like-the-app", test_connection_like_the_app);
  ADD ("refuses/double-quoted-string", test_refuses_double_quoted_string);
  ADD ("v1/untimed-name-recorded-with-null", test_v1_untimed_recorded_null);
  ADD ("custom-migrations-table", test_custom_table);
  ADD ("empty-journal-creates-table", test_empty_journal_creates_table);
  /* Last, so that a wrong message does not stop the tests above from running. */
  ADD ("messages/locked-wait", test_locked_message);
#undef ADD
#undef ADD_DATA

  return g_test_run ();
}
