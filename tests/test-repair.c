/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Try Repair on a damage corpus the tests build themselves. Before damaging, each test
 * asks SQLite's dbstat which leaf pages hold which rows of a table whose rowids are
 * 1..N in order, so it knows exactly which rows lived on the damaged pages: it asserts
 * that exactly the others were recovered, byte for byte, that the original file was not
 * changed, that the result passes integrity_check and keeps the migration history.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

#include "mw-engine.h"
#include "mw-testlib.h"

#define N_ROWS 20000
#define PAGE 4096

typedef struct
{
  char *dir;
  char *db;
  char *backups;
} Fixture;

typedef struct
{
  gint64 pageno;
  gint64 first_rowid;
  gint64 n_cells;
  char  *path;
} Leaf;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = mw_test_make_tmp_dir ("repair");
  f->db = g_build_filename (f->dir, "pos system.db", NULL);
  f->backups = g_build_filename (f->dir, "backups", NULL);

  /* A small shop schema with its history, and one big table. */
  mw_test_sql_exec (f->db,
    "PRAGMA page_size = 4096; PRAGMA journal_mode = DELETE;"
    "CREATE TABLE \"__drizzle_migrations\" (id SERIAL PRIMARY KEY, hash text NOT NULL, "
    "  created_at numeric);"
    "INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('aa11', 1700000000000), "
    "  ('bb22', 1700000100000);"
    "CREATE TABLE shops (id text PRIMARY KEY NOT NULL, name text NOT NULL);"
    "INSERT INTO shops VALUES ('s1', 'Corner shop'), ('s2', 'Station kiosk');"
    "CREATE TABLE sales (id integer PRIMARY KEY, shop_id text NOT NULL REFERENCES shops(id) "
    "  ON DELETE CASCADE, total integer NOT NULL, note text);"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
    "  INSERT INTO sales SELECT i, CASE i % 2 WHEN 0 THEN 's1' ELSE 's2' END, i * 7, "
    "  printf('sale %06d %s', i, hex(randomblob(24))) FROM n;"
    "CREATE INDEX sales_by_shop ON sales (shop_id, total);");
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  if (!g_test_failed ())
    mw_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->db);
  g_free (f->backups);
}

static void
leaf_clear (gpointer data)
{
  g_free (((Leaf *) data)->path);
}

/* The table's leaf pages in key order, with the rowids each holds. */
static GArray *
leaves_of (const char *db_path, const char *table)
{
  GArray *leaves = g_array_new (FALSE, TRUE, sizeof (Leaf));
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 next = 1;

  g_array_set_clear_func (leaves, leaf_clear);
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT pageno, ncell, path FROM dbstat WHERE name = ?1 "
                                           "AND pagetype = 'leaf' ORDER BY path", -1, &stmt,
                                       NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, table, -1, SQLITE_STATIC);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      Leaf leaf = { sqlite3_column_int64 (stmt, 0), next, sqlite3_column_int64 (stmt, 1),
                    g_strdup ((const char *) sqlite3_column_text (stmt, 2)) };

      next += leaf.n_cells;
      g_array_append_val (leaves, leaf);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  g_assert_cmpint (next - 1, ==, N_ROWS);
  return leaves;
}

static gint64
page_of (const char *db_path, const char *sql)
{
  return mw_test_sql_int (db_path, sql);
}

static void
overwrite_page (const char *db_path, gint64 pageno, int byte)
{
  FILE *file = fopen (db_path, "r+b");
  guint8 garbage[PAGE];

  memset (garbage, byte, sizeof garbage);
  g_assert_nonnull (file);
  g_assert_cmpint (fseek (file, (long) ((pageno - 1) * PAGE), SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (garbage, 1, PAGE, file), ==, PAGE);
  fclose (file);
}

static MwRepairReport *
repair (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *before = mw_test_file_digest (f->db);
  MwRepairReport *report = mw_repair (f->db, f->backups, NULL, NULL, NULL, &error);
  g_autofree char *after = mw_test_file_digest (f->db);

  g_assert_no_error (error);
  g_assert_nonnull (report);
  /* The damaged original is never modified; a byte-exact copy went to the backups. */
  g_assert_cmpstr (before, ==, after);
  {
    g_autofree char *copy_digest = mw_test_file_digest (report->backup_path);

    g_assert_cmpstr (copy_digest, ==, before);
  }
  g_assert_cmpint (mw_test_sql_int (report->repaired_path, "SELECT count(*) FROM "
                                    "pragma_integrity_check WHERE integrity_check <> 'ok'"), ==, 0);
  g_assert_cmpint (mw_test_sql_int (report->repaired_path,
                                    "SELECT count(*) FROM __drizzle_migrations"), ==, 2);
  return report;
}

static MwRepairTable *
table_in (MwRepairReport *report, const char *name)
{
  for (guint i = 0; i < report->tables->len; i++)
    {
      MwRepairTable *t = g_ptr_array_index (report->tables, i);

      if (g_str_equal (t->name, name))
        return t;
    }
  g_error ("no table %s in the report", name);
  return NULL;
}

/* Every row of the original that is not in @lost_ranges is in the repaired copy, the
 * same; none of those in it are. */
static void
assert_rows (const char *original_copy, const char *repaired, GArray *lost)
{
  g_autofree char *sql = g_strdup_printf ("ATTACH '%s' AS r", repaired);
  sqlite3 *db = NULL;
  gint64 expected_missing = 0;
  g_autoptr(GString) condition = g_string_new ("0");

  for (guint i = 0; i < lost->len; i++)
    {
      Leaf *l = &g_array_index (lost, Leaf, i);

      g_string_append_printf (condition, " OR (o.id BETWEEN %" G_GINT64_FORMAT " AND %" G_GINT64_FORMAT ")",
                              l->first_rowid, l->first_rowid + l->n_cells - 1);
      expected_missing += l->n_cells;
    }

  g_assert_cmpint (sqlite3_open (original_copy, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  {
    g_autofree char *kept = g_strdup_printf (
      "SELECT count(*) FROM main.sales o JOIN r.sales n USING (id) WHERE NOT (%s) AND "
      "o.shop_id = n.shop_id AND o.total = n.total AND o.note = n.note", condition->str);
    g_autofree char *wrongly = g_strdup_printf (
      "SELECT count(*) FROM r.sales n JOIN main.sales o USING (id) WHERE %s", condition->str);
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint (sqlite3_prepare_v2 (db, kept, -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int64 (stmt, 0), ==, N_ROWS - expected_missing);
    sqlite3_finalize (stmt);
    g_assert_cmpint (sqlite3_prepare_v2 (db, wrongly, -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpint (sqlite3_column_int64 (stmt, 0), ==, 0);
    sqlite3_finalize (stmt);
  }
  sqlite3_close (db);
}

static char *
pristine_copy (Fixture *f)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  char *copy = g_build_filename (f->dir, "pristine.db", NULL);

  g_assert_true (g_file_get_contents (f->db, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (copy, contents, len, NULL));
  return copy;
}

static void
test_overwritten_leaves (Fixture *f, gconstpointer data)
{
  g_autoptr(GArray) leaves = leaves_of (f->db, "sales");
  g_autoptr(GArray) lost = g_array_new (FALSE, TRUE, sizeof (Leaf));
  g_autoptr(MwRepairReport) report = NULL;
  g_autofree char *pristine = pristine_copy (f);
  guint picks[] = { 3, 4, leaves->len / 2, leaves->len - 2 };

  /* Three separate stretches of leaf pages overwritten, one of them two pages long. */
  for (guint i = 0; i < G_N_ELEMENTS (picks); i++)
    {
      Leaf copy = g_array_index (leaves, Leaf, picks[i]);

      copy.path = NULL;
      overwrite_page (f->db, copy.pageno, 0xA5);
      g_array_append_val (lost, copy);
    }

  report = repair (f);
  g_assert_cmpint (report->strategy, ==, MW_REPAIR_SALVAGE);
  assert_rows (pristine, report->repaired_path, lost);
  g_assert_cmpint (table_in (report, "sales")->recovered, ==,
                   N_ROWS - (g_array_index (lost, Leaf, 0).n_cells +
                             g_array_index (lost, Leaf, 1).n_cells +
                             g_array_index (lost, Leaf, 2).n_cells +
                             g_array_index (lost, Leaf, 3).n_cells));
  g_assert_cmpint (table_in (report, "shops")->recovered, ==, 2);
  /* The index and the foreign key are there again. */
  g_assert_cmpint (mw_test_sql_int (report->repaired_path, "SELECT count(*) FROM sqlite_schema "
                                    "WHERE name = 'sales_by_shop'"), ==, 1);
}

static void
test_damaged_index_only (Fixture *f, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;
  g_autoptr(GArray) none = g_array_new (FALSE, TRUE, sizeof (Leaf));
  g_autofree char *pristine = pristine_copy (f);
  gint64 index_leaf = page_of (f->db, "SELECT pageno FROM dbstat WHERE name = 'sales_by_shop' "
                                      "AND pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 5");

  overwrite_page (f->db, index_leaf, 0x3C);
  report = repair (f);
  g_assert_cmpint (report->strategy, ==, MW_REPAIR_REINDEX);
  g_assert_cmpint (table_in (report, "sales")->recovered, ==, N_ROWS);
  g_assert_cmpint (table_in (report, "sales")->lost, ==, 0);
  assert_rows (pristine, report->repaired_path, none);
}

static void
test_broken_free_list (Fixture *f, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;
  g_autoptr(GArray) none = g_array_new (FALSE, TRUE, sizeof (Leaf));
  g_autofree char *pristine = NULL;
  gint64 trunk;
  FILE *file;
  guint8 bogus[4] = { 0x00, 0x00, 0x00, 0x03 };   /* page 3: a page in use */

  /* Free pages: delete a stretch of rows; then point the free-list trunk at a page in
   * use (in the header) — what a torn write of page 1 can do. */
  mw_test_sql_exec (f->db, "CREATE TABLE scratch (x); INSERT INTO scratch SELECT randomblob(2000) "
                           "FROM sales LIMIT 200; DROP TABLE scratch;");
  pristine = pristine_copy (f);
  trunk = mw_test_sql_int (f->db, "PRAGMA freelist_count");
  g_assert_cmpint (trunk, >, 0);
  file = fopen (f->db, "r+b");
  g_assert_nonnull (file);
  g_assert_cmpint (fseek (file, 32, SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (bogus, 1, 4, file), ==, 4);
  fclose (file);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM pragma_integrity_check WHERE "
                                    "integrity_check <> 'ok'"), >, 0);

  report = repair (f);
  g_assert_cmpint (report->strategy, ==, MW_REPAIR_VACUUM);
  g_assert_cmpint (table_in (report, "sales")->recovered, ==, N_ROWS);
  assert_rows (pristine, report->repaired_path, none);
}

static void
test_truncated (Fixture *f, gconstpointer data)
{
  g_autoptr(GArray) leaves = leaves_of (f->db, "sales");
  g_autoptr(GArray) lost = g_array_new (FALSE, TRUE, sizeof (Leaf));
  g_autoptr(MwRepairReport) report = NULL;
  g_autofree char *pristine = pristine_copy (f);
  g_autofree char *contents = NULL;
  gsize len = 0;
  gint64 keep_pages;
  gint64 max_interior;

  /* Cut the file after the sales table's interior pages, through its last leaves
   * (the index comes after them in the file and is lost too). */
  max_interior = page_of (f->db, "SELECT max(pageno) FROM dbstat WHERE name = 'sales' AND "
                                 "pagetype = 'internal'");
  keep_pages = MAX (max_interior, g_array_index (leaves, Leaf, leaves->len - 20).pageno);
  for (guint i = 0; i < leaves->len; i++)
    {
      Leaf copy = g_array_index (leaves, Leaf, i);

      copy.path = NULL;
      if (copy.pageno > keep_pages)
        g_array_append_val (lost, copy);
    }
  g_assert_cmpuint (lost->len, >, 0);
  g_assert_true (g_file_get_contents (f->db, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (f->db, contents, keep_pages * PAGE, NULL));

  report = repair (f);
  g_assert_cmpint (report->strategy, ==, MW_REPAIR_SALVAGE);
  assert_rows (pristine, report->repaired_path, lost);
}

/* The table's root page zeroed: SQLite reaches none of its rows; the page-level reader
 * finds every leaf and puts each row back in its table. */
static void
test_zeroed_root (Fixture *f, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;
  g_autoptr(GArray) none = g_array_new (FALSE, TRUE, sizeof (Leaf));
  g_autofree char *pristine = pristine_copy (f);
  gint64 root = page_of (f->db, "SELECT rootpage FROM sqlite_schema WHERE name = 'sales'");

  overwrite_page (f->db, root, 0x00);
  report = repair (f);
  g_assert_cmpint (report->strategy, ==, MW_REPAIR_SALVAGE);
  g_assert_cmpint (table_in (report, "sales")->recovered, ==, N_ROWS);
  assert_rows (pristine, report->repaired_path, none);
  g_assert_cmpint (report->lost_and_found, ==, 0);
}

/* A three-level table with one interior page zeroed: the leaves under it are found by
 * the page reader, every row comes back, in its table. */
static void
test_zeroed_interior (Fixture *f, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;
  gint64 interior;
  gint64 n;

  mw_test_sql_exec (f->db, "CREATE TABLE movements (id integer PRIMARY KEY, product text, qty "
                           "integer, at integer);"
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE "
                           "i < 120000) INSERT INTO movements SELECT i, printf('p%05d', i % 977), "
                           "i % 13 - 6, 1700000000 + i FROM n;");
  n = mw_test_sql_int (f->db, "SELECT count(*) FROM dbstat WHERE name = 'movements' AND "
                              "pagetype = 'internal' AND path <> '/'");
  g_assert_cmpint (n, >, 1);
  interior = page_of (f->db, "SELECT pageno FROM dbstat WHERE name = 'movements' AND "
                             "pagetype = 'internal' AND path <> '/' ORDER BY path LIMIT 1 OFFSET 1");
  overwrite_page (f->db, interior, 0x00);

  report = repair (f);
  g_assert_cmpint (report->strategy, ==, MW_REPAIR_SALVAGE);
  g_assert_cmpint (table_in (report, "movements")->recovered, ==, 120000);
  g_assert_cmpint (mw_test_sql_int (report->repaired_path, "SELECT count(*) FROM movements WHERE "
                                    "product = printf('p%05d', id % 977) AND qty = id % 13 - 6 AND "
                                    "at = 1700000000 + id"), ==, 120000);
  g_assert_cmpint (table_in (report, "sales")->recovered, ==, N_ROWS);
}

/* Garbage over the 100-byte header: SQLite calls it "not a database"; the header is
 * rebuilt on the work copy and every row comes back. */
static void
test_garbage_header (Fixture *f, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;
  g_autoptr(GArray) none = g_array_new (FALSE, TRUE, sizeof (Leaf));
  g_autofree char *pristine = pristine_copy (f);
  FILE *file = fopen (f->db, "r+b");
  guint8 garbage[100];

  for (guint i = 0; i < sizeof garbage; i++)
    garbage[i] = (guint8) (i * 37 + 11);
  g_assert_nonnull (file);
  g_assert_cmpuint (fwrite (garbage, 1, sizeof garbage, file), ==, sizeof garbage);
  fclose (file);

  report = repair (f);
  g_assert_cmpint (table_in (report, "sales")->recovered, ==, N_ROWS);
  g_assert_cmpint (table_in (report, "shops")->recovered, ==, 2);
  assert_rows (pristine, report->repaired_path, none);
}

/* Page 1 (the list of tables) damaged past its header, a small schema wholly on it:
 * the tables are recreated as the newest verified backup has them and every row on
 * the (now unreachable) table pages goes back to the table it fits. */
static void
test_damaged_schema_with_backup (Fixture *f, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;
  g_autoptr(MwBackup) backup = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) none = g_array_new (FALSE, TRUE, sizeof (Leaf));
  g_autofree char *pristine = NULL;
  FILE *file;
  guint8 garbage[PAGE - 100];

  backup = mw_backup_create (f->db, f->backups, MW_BACKUP_REASON_MANUAL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  pristine = pristine_copy (f);
  memset (garbage, 0xEE, sizeof garbage);
  file = fopen (f->db, "r+b");
  g_assert_nonnull (file);
  g_assert_cmpint (fseek (file, 100, SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (garbage, 1, sizeof garbage, file), ==, sizeof garbage);
  fclose (file);

  report = repair (f);
  g_assert_cmpint (report->strategy, ==, MW_REPAIR_SALVAGE);
  g_assert_cmpint (table_in (report, "sales")->recovered, ==, N_ROWS);
  g_assert_cmpint (table_in (report, "shops")->recovered, ==, 2);
  assert_rows (pristine, report->repaired_path, none);
}

/* A schema too big for page 1 (many tables): page 1 damaged, the schema rows on the
 * other pages give every table back with its root page; nothing else is needed. */
static void
test_damaged_schema_page (Fixture *f, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;
  g_autoptr(GArray) none = g_array_new (FALSE, TRUE, sizeof (Leaf));
  g_autofree char *pristine = NULL;
  g_autoptr(GString) more = g_string_new (NULL);
  FILE *file;
  guint8 garbage[PAGE - 100];

  for (int i = 0; i < 80; i++)
    g_string_append_printf (more, "CREATE TABLE extra_%02d (id text PRIMARY KEY NOT NULL, "
                            "label text NOT NULL DEFAULT 'a long default to make the schema "
                            "span several pages', amount integer, created_at integer NOT NULL "
                            "DEFAULT 0); INSERT INTO extra_%02d VALUES ('x%02d', 'row', %d, 1);",
                            i, i, i, i);
  mw_test_sql_exec (f->db, more->str);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM dbstat WHERE name = "
                                    "'sqlite_schema'"), >, 1);
  pristine = pristine_copy (f);
  memset (garbage, 0x00, sizeof garbage);
  file = fopen (f->db, "r+b");
  g_assert_nonnull (file);
  g_assert_cmpint (fseek (file, 100, SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (garbage, 1, sizeof garbage, file), ==, sizeof garbage);
  fclose (file);

  report = repair (f);
  g_assert_cmpint (report->strategy, ==, MW_REPAIR_SALVAGE);
  g_assert_cmpint (table_in (report, "sales")->recovered, ==, N_ROWS);
  g_assert_cmpint (table_in (report, "extra_42")->recovered, ==, 1);
  g_assert_cmpint (mw_test_sql_int (report->repaired_path, "SELECT amount FROM extra_42"), ==, 42);
  assert_rows (pristine, report->repaired_path, none);
}

/* The parent table's page lost: every sale is kept, and listed as an orphan. */
static void
test_orphans_listed (Fixture *f, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;
  g_autoptr(GArray) none = g_array_new (FALSE, TRUE, sizeof (Leaf));
  g_autofree char *pristine = pristine_copy (f);
  gint64 shops = page_of (f->db, "SELECT rootpage FROM sqlite_schema WHERE name = 'shops'");

  overwrite_page (f->db, shops, 0x77);
  report = repair (f);
  g_assert_cmpint (table_in (report, "shops")->recovered, ==, 0);
  g_assert_cmpint (table_in (report, "sales")->recovered, ==, N_ROWS);
  g_assert_cmpint (table_in (report, "sales")->orphaned, ==, N_ROWS);
  g_assert_cmpuint (report->orphans->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (report->orphans, 0), ==, "sales → shops: 20000");
  assert_rows (pristine, report->repaired_path, none);
}

/* Put in place through the operation journal; the original kept aside, as it was. */
static void
test_swap (Fixture *f, gconstpointer data)
{
  g_autoptr(GArray) leaves = leaves_of (f->db, "sales");
  g_autoptr(MwRepairReport) report = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;
  g_autofree char *damaged = NULL;
  g_autofree char *kept = NULL;
  g_autofree char *journal = mw_operation_journal_path (f->db);

  overwrite_page (f->db, g_array_index (leaves, Leaf, 7).pageno, 0x00);
  damaged = mw_test_file_digest (f->db);
  report = repair (f);
  g_assert_true (mw_repair_swap (f->db, report->repaired_path, &aside, &error));
  g_assert_no_error (error);
  kept = mw_test_file_digest (aside);
  g_assert_cmpstr (kept, ==, damaged);
  g_assert_false (g_file_test (report->repaired_path, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sales"), ==,
                   N_ROWS - g_array_index (leaves, Leaf, 7).n_cells);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/mw/engine/repair/overwritten-leaf-pages", test_overwritten_leaves);
  ADD ("/mw/engine/repair/damaged-index-only", test_damaged_index_only);
  ADD ("/mw/engine/repair/broken-free-list", test_broken_free_list);
  ADD ("/mw/engine/repair/truncated-file", test_truncated);
  ADD ("/mw/engine/repair/swap-keeps-original", test_swap);
  ADD ("/mw/engine/repair/zeroed-root-page", test_zeroed_root);
  ADD ("/mw/engine/repair/zeroed-interior-page", test_zeroed_interior);
  ADD ("/mw/engine/repair/garbage-header", test_garbage_header);
  ADD ("/mw/engine/repair/damaged-schema-page-with-backup", test_damaged_schema_with_backup);
  ADD ("/mw/engine/repair/damaged-schema-page", test_damaged_schema_page);
  ADD ("/mw/engine/repair/orphans-listed-not-deleted", test_orphans_listed);
#undef ADD

  return g_test_run ();
}
