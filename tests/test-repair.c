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

#include "mw-test-util.h"

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

/* ---- a demo shop whose first page is lost -------------------------------------------- */

static const char *demo_db;
static const char *migrations_dir;

/* A shop database from the demo generator, at @level (a count of migrations). */
static void
make_demo (const char *path,
           const char *level)
{
  g_autofree char *err = NULL;

  g_assert_cmpint (mw_test_spawn (NULL, &err, demo_db, "-q", "-d", path, "-m", migrations_dir,
                                  "-l", level, "-s", "2M", "--journal-mode", "delete", NULL),
                   ==, 0);
}

/* Random bytes over each page of @pages (1-based), as a torn write would leave. */
static void
scramble_pages (const char *db_path,
                GArray     *pages)
{
  FILE *file = fopen (db_path, "r+b");
  g_autoptr(GRand) rand = g_rand_new_with_seed (1234);
  guint8 garbage[PAGE];

  g_assert_nonnull (file);
  for (guint i = 0; i < pages->len; i++)
    {
      for (guint k = 0; k < PAGE; k++)
        garbage[k] = (guint8) g_rand_int (rand);
      g_assert_cmpint (fseek (file, (long) ((g_array_index (pages, gint64, i) - 1) * PAGE), SEEK_SET), ==, 0);
      g_assert_cmpuint (fwrite (garbage, 1, PAGE, file), ==, PAGE);
    }
  fclose (file);
}

static GArray *
pages_of (const char *db_path,
          const char *sql)
{
  GArray *pages = g_array_new (FALSE, FALSE, sizeof (gint64));
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 pgno = sqlite3_column_int64 (stmt, 0);

      g_array_append_val (pages, pgno);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return pages;
}

/* Every table of @original is in @repaired with exactly its rows: same rowids, same
 * values of the same types (quote() tells 3 from 3.0 and 'a' from X'61'). */
static void
assert_same_tables (const char *original,
                    const char *repaired,
                    const char *except)
{
  g_autofree char *attach = g_strdup_printf ("ATTACH '%s' AS r", repaired);
  g_autoptr(GPtrArray) tables = g_ptr_array_new_with_free_func (g_free);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  guint n_rows = 0;

  g_assert_cmpint (sqlite3_open (original, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, attach, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT name FROM main.sqlite_schema WHERE type = "
                                           "'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (tables, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_finalize (stmt);
  g_assert_cmpuint (tables->len, >, 10);

  for (guint i = 0; i < tables->len; i++)
    {
      const char *t = g_ptr_array_index (tables, i);
      g_autoptr(GString) columns = g_string_new ("rowid");
      g_autofree char *info = g_strdup_printf ("SELECT name FROM main.pragma_table_info('%s')", t);
      g_autofree char *count_o = g_strdup_printf ("SELECT count(*) FROM main.\"%s\"", t);
      g_autofree char *count_r = g_strdup_printf ("SELECT count(*) FROM r.\"%s\"", t);
      g_autofree char *differ = NULL;
      gint64 n_o, n_r, n_diff;

      if (g_strcmp0 (t, except) == 0)
        continue;
      g_assert_cmpint (sqlite3_prepare_v2 (db, info, -1, &stmt, NULL), ==, SQLITE_OK);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        g_string_append_printf (columns, ", quote(\"%s\")", sqlite3_column_text (stmt, 0));
      sqlite3_finalize (stmt);
      differ = g_strdup_printf ("SELECT count(*) FROM (SELECT %s FROM main.\"%s\" EXCEPT SELECT "
                                "%s FROM r.\"%s\")", columns->str, t, columns->str, t);

#define INT_OF(sql, out) \
      G_STMT_START { \
        g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK); \
        g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW); \
        out = sqlite3_column_int64 (stmt, 0); \
        sqlite3_finalize (stmt); \
      } G_STMT_END
      INT_OF (count_o, n_o);
      INT_OF (count_r, n_r);
      INT_OF (differ, n_diff);
#undef INT_OF
      if (n_o != n_r || n_diff != 0)
        g_error ("table %s: %" G_GINT64_FORMAT " rows before, %" G_GINT64_FORMAT " after, %"
                 G_GINT64_FORMAT " not the same", t, n_o, n_r, n_diff);
      n_rows += n_o;
    }
  sqlite3_close (db);
  g_assert_cmpuint (n_rows, >, 10000);
}

typedef struct
{
  char           *dir;
  char           *db;
  char           *pristine;
  char           *backups;
  MwMigrationSet *set;
} Shop;

static void
shop_set_up (Shop *s, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  s->dir = mw_test_make_tmp_dir ("repair-shop");
  s->db = g_build_filename (s->dir, "pos_system.db", NULL);
  s->pristine = g_build_filename (s->dir, "pristine.db", NULL);
  s->backups = g_build_filename (s->dir, "backups", NULL);
  s->set = mw_migration_set_load (migrations_dir, &error);
  g_assert_no_error (error);
}

static void
shop_tear_down (Shop *s, gconstpointer data)
{
  if (!g_test_failed ())
    mw_test_remove_tree (s->dir);
  g_free (s->dir);
  g_free (s->db);
  g_free (s->pristine);
  g_free (s->backups);
  g_clear_object (&s->set);
}

/* The shop as it was, kept aside; then @pages scrambled in the shop's file. */
static void
shop_damage (Shop *s, const char *pages_sql)
{
  g_autoptr(GArray) pages = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (s->db, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (s->pristine, contents, len, NULL));
  pages = pages_of (s->db, pages_sql);
  g_assert_cmpuint (pages->len, >, 0);
  scramble_pages (s->db, pages);
}

static MwRepairReport *
shop_repair (Shop *s)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *before = mw_test_file_digest (s->db);
  MwRepairReport *report = mw_repair (s->db, s->backups, s->set, NULL, NULL, &error);
  g_autofree char *after = mw_test_file_digest (s->db);

  g_assert_no_error (error);
  g_assert_nonnull (report);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (report->strategy, ==, MW_REPAIR_SALVAGE);
  g_assert_cmpint (mw_test_sql_int (report->repaired_path, "SELECT count(*) FROM "
                                    "pragma_integrity_check WHERE integrity_check <> 'ok'"), ==, 0);
  return report;
}

/* The migration state of @path: up to date, or pending after @level migrations. */
static void
assert_level (Shop *s, const char *path, MwState state, guint level)
{
  g_autoptr(MwDiagnosis) diagnosis = mw_diagnose (path, s->set, NULL);

  g_assert_cmpstr (mw_state_to_string (diagnosis->state), ==, mw_state_to_string (state));
  g_assert_cmpuint (diagnosis->n_applied, ==, level);
}

#define SCHEMA_PAGES "SELECT pageno FROM dbstat WHERE name = 'sqlite_schema'"

/* Page 1 random: the shop's schema spans five pages, and the other four still hold
 * its records, root pages included; every row comes back through its own b-tree. */
static void
test_page_one_lost (Shop *s, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;

  make_demo (s->db, "7");
  g_assert_cmpint (mw_test_sql_int (s->db, "SELECT count(*) FROM dbstat WHERE name = "
                                    "'sqlite_schema'"), >, 1);
  shop_damage (s, "SELECT 1");
  report = shop_repair (s);
  g_assert_cmpint (report->schema_source, ==, MW_REPAIR_SCHEMA_PAGES);
  g_assert_cmpint (report->lost_and_found, ==, 0);
  assert_same_tables (s->pristine, report->repaired_path, NULL);
  assert_level (s, report->repaired_path, MW_STATE_UP_TO_DATE, 7);
}

/* Page 1 and every other page of the schema random: only the migrations can tell the
 * tables; the history's rows, found on their page, say which level. Every row, in
 * its own table, byte for byte; still up to date. */
static void
test_schema_lost_up_to_date (Shop *s, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;
  g_autofree char *text = NULL;

  make_demo (s->db, "7");
  shop_damage (s, SCHEMA_PAGES);
  report = shop_repair (s);
  g_assert_cmpint (report->schema_source, ==, MW_REPAIR_SCHEMA_MIGRATIONS);
  g_assert_cmpstr (report->schema_level, ==, "0006_receipt_email_and_refunds");
  g_assert_true (report->schema_level_from_history);
  g_assert_cmpint (report->lost_and_found, ==, 0);
  assert_same_tables (s->pristine, report->repaired_path, NULL);
  assert_level (s, report->repaired_path, MW_STATE_UP_TO_DATE, 7);
  text = mw_repair_report_to_text (report);
  mw_test_assert_mentions (text, "0006_receipt_email_and_refunds");
}

/* The same on a shop three updates behind: its level is kept, the rest still pending. */
static void
test_schema_lost_pending (Shop *s, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;

  make_demo (s->db, "3");
  shop_damage (s, SCHEMA_PAGES);
  report = shop_repair (s);
  g_assert_cmpint (report->schema_source, ==, MW_REPAIR_SCHEMA_MIGRATIONS);
  g_assert_cmpstr (report->schema_level, ==, "0002_product_batches");
  g_assert_cmpint (report->lost_and_found, ==, 0);
  assert_same_tables (s->pristine, report->repaired_path, NULL);
  assert_level (s, report->repaired_path, MW_STATE_PENDING, 3);
}

/* A shop filled at level 3, then updated: its older sales are records written before
 * `ALTER TABLE … ADD COLUMN receipt_email`, one field short. They go back into the
 * updated table, reading as before (the column's default). */
static void
test_schema_lost_after_update (Shop *s, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;

  make_demo (s->db, "3");
  migrator = mw_migrator_new (s->db, s->set);
  mw_migrator_set_backup (migrator, FALSE, NULL);
  g_assert_true (mw_migrator_run (migrator, NULL, &error));
  g_assert_no_error (error);
  shop_damage (s, SCHEMA_PAGES);
  report = shop_repair (s);
  g_assert_cmpstr (report->schema_level, ==, "0006_receipt_email_and_refunds");
  g_assert_cmpint (report->lost_and_found, ==, 0);
  assert_same_tables (s->pristine, report->repaired_path, NULL);
  assert_level (s, report->repaired_path, MW_STATE_UP_TO_DATE, 7);
}

/* The history's page lost too: the level whose tables fit the rows found is taken;
 * every other row is back in its table, and the report says how the level was told. */
static void
test_schema_and_history_lost (Shop *s, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;
  g_autoptr(GError) error = NULL;

  make_demo (s->db, "7");
  shop_damage (s, "SELECT pageno FROM dbstat WHERE name IN ('sqlite_schema', "
                  "'__drizzle_migrations')");
  report = shop_repair (s);
  g_assert_cmpint (report->schema_source, ==, MW_REPAIR_SCHEMA_MIGRATIONS);
  g_assert_cmpstr (report->schema_level, ==, "0006_receipt_email_and_refunds");
  g_assert_false (report->schema_level_from_history);
  g_assert_cmpint (report->lost_and_found, ==, 0);
  assert_same_tables (s->pristine, report->repaired_path, "__drizzle_migrations");
  g_assert_cmpint (mw_test_sql_int (report->repaired_path, "SELECT count(*) FROM "
                                    "__drizzle_migrations"), ==, 0);
}

/* Three leaf pages of the sales overwritten: the report says, in the shop's words,
 * when the lost sales were made — between the sales recovered on either side. */
static void
test_lost_sales_dated (Shop *s, gconstpointer data)
{
  g_autoptr(MwRepairReport) report = NULL;
  g_autofree char *text = NULL;
  MwRepairTable *t;
  gint64 first, last, before_ms, after_ms;

  make_demo (s->db, "7");
  /* The 11th leaf of transactions, in key order: rowids first..last. */
  first = mw_test_sql_int (s->db, "SELECT min(rowid) FROM transactions WHERE rowid > (SELECT "
                                  "sum(ncell) FROM (SELECT ncell FROM dbstat WHERE name = "
                                  "'transactions' AND pagetype = 'leaf' ORDER BY path LIMIT 10))");
  last = first - 1 + mw_test_sql_int (s->db, "SELECT ncell FROM dbstat WHERE name = "
                                             "'transactions' AND pagetype = 'leaf' ORDER BY "
                                             "path LIMIT 1 OFFSET 10");
  {
    g_autofree char *sql = g_strdup_printf ("SELECT created_at FROM transactions WHERE rowid = %"
                                            G_GINT64_FORMAT, first - 1);

    after_ms = mw_test_sql_int (s->db, sql);
    g_free (sql);
    sql = g_strdup_printf ("SELECT created_at FROM transactions WHERE rowid = %" G_GINT64_FORMAT,
                           last + 1);
    before_ms = mw_test_sql_int (s->db, sql);
  }
  shop_damage (s, "SELECT pageno FROM dbstat WHERE name = 'transactions' AND pagetype = 'leaf' "
                  "ORDER BY path LIMIT 1 OFFSET 10");
  report = shop_repair (s);
  t = table_in (report, "transactions");
  /* count(*) still reads through the intact primary-key index: the loss is exact. */
  g_assert_cmpint (t->lost, ==, last - first + 1);
  g_assert_cmpint (t->recovered, ==, 4000 - (last - first + 1));
  g_assert_nonnull (t->lost_after);
  g_assert_nonnull (t->lost_before);
  g_assert_cmpint (g_date_time_to_unix (t->lost_after), ==, after_ms / 1000);
  g_assert_cmpint (g_date_time_to_unix (t->lost_before), ==, before_ms / 1000);
  text = mw_repair_report_to_text (report);
  mw_test_assert_mentions (text, "Sales (transactions)");
  mw_test_assert_mentions (text, "made between");
}

/* ---- a disk that fails while the copy is written --------------------------------------- */

/*
 * A VFS over the default one that fails the Nth write, truncate or sync of any file
 * whose name has ".repaired-" (the repaired copy and its journal): once with an I/O
 * error, or from N on with "disk full". The repair must then fail with nothing left
 * behind, or succeed with a copy that holds everything its report says.
 */
typedef struct
{
  sqlite3_file  base;
  sqlite3_file *real;
  gboolean      target;
} FaultyFile;

static struct
{
  sqlite3_vfs *real;
  sqlite3_vfs  vfs;
  gint64       fail_at;    /* 0: never */
  gboolean     full;       /* from fail_at on, SQLITE_FULL; else one SQLITE_IOERR */
  gint64       count;
} faults;

static int
fault_hit (sqlite3_file *file,
           int           io_error)
{
  FaultyFile *f = (FaultyFile *) file;

  if (!f->target)
    return SQLITE_OK;
  faults.count++;
  if (faults.fail_at > 0 &&
      (faults.count == faults.fail_at || (faults.full && faults.count > faults.fail_at)))
    return faults.full ? SQLITE_FULL : io_error;
  return SQLITE_OK;
}

#define REAL(file) (((FaultyFile *) (file))->real)

static int
faulty_close (sqlite3_file *file)
{
  int rc = REAL (file)->pMethods ? REAL (file)->pMethods->xClose (REAL (file)) : SQLITE_OK;

  return rc;
}

static int
faulty_read (sqlite3_file *file, void *buf, int n, sqlite3_int64 offset)
{
  return REAL (file)->pMethods->xRead (REAL (file), buf, n, offset);
}

static int
faulty_write (sqlite3_file *file, const void *buf, int n, sqlite3_int64 offset)
{
  int rc = fault_hit (file, SQLITE_IOERR_WRITE);

  return rc != SQLITE_OK ? rc : REAL (file)->pMethods->xWrite (REAL (file), buf, n, offset);
}

static int
faulty_truncate (sqlite3_file *file, sqlite3_int64 size)
{
  int rc = fault_hit (file, SQLITE_IOERR_TRUNCATE);

  return rc != SQLITE_OK ? rc : REAL (file)->pMethods->xTruncate (REAL (file), size);
}

static int
faulty_sync (sqlite3_file *file, int flags)
{
  int rc = fault_hit (file, SQLITE_IOERR_FSYNC);

  return rc != SQLITE_OK ? rc : REAL (file)->pMethods->xSync (REAL (file), flags);
}

static int
faulty_file_size (sqlite3_file *file, sqlite3_int64 *size)
{
  return REAL (file)->pMethods->xFileSize (REAL (file), size);
}

static int
faulty_lock (sqlite3_file *file, int level)
{
  return REAL (file)->pMethods->xLock (REAL (file), level);
}

static int
faulty_unlock (sqlite3_file *file, int level)
{
  return REAL (file)->pMethods->xUnlock (REAL (file), level);
}

static int
faulty_check_reserved_lock (sqlite3_file *file, int *out)
{
  return REAL (file)->pMethods->xCheckReservedLock (REAL (file), out);
}

static int
faulty_file_control (sqlite3_file *file, int op, void *arg)
{
  return REAL (file)->pMethods->xFileControl (REAL (file), op, arg);
}

static int
faulty_sector_size (sqlite3_file *file)
{
  return REAL (file)->pMethods->xSectorSize (REAL (file));
}

static int
faulty_device_characteristics (sqlite3_file *file)
{
  return REAL (file)->pMethods->xDeviceCharacteristics (REAL (file));
}

static const sqlite3_io_methods faulty_io = {
  1,
  faulty_close,
  faulty_read,
  faulty_write,
  faulty_truncate,
  faulty_sync,
  faulty_file_size,
  faulty_lock,
  faulty_unlock,
  faulty_check_reserved_lock,
  faulty_file_control,
  faulty_sector_size,
  faulty_device_characteristics,
  NULL, NULL, NULL, NULL, NULL, NULL,
};

static int
faulty_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
  FaultyFile *f = (FaultyFile *) file;
  int rc;

  f->real = (sqlite3_file *) (f + 1);
  f->target = name != NULL && strstr (name, ".repaired-") != NULL;
  rc = faults.real->xOpen (faults.real, name, f->real, flags, out_flags);
  /* Without WAL and memory maps (the version 1 methods): none is used here. */
  f->base.pMethods = rc == SQLITE_OK ? &faulty_io : NULL;
  return rc;
}

static void
faults_install (void)
{
  faults.real = sqlite3_vfs_find (NULL);
  g_assert_nonnull (faults.real);
  faults.vfs = *faults.real;
  faults.vfs.zName = "mw-faulty";
  faults.vfs.szOsFile = (int) sizeof (FaultyFile) + faults.real->szOsFile;
  faults.vfs.xOpen = faulty_open;
  faults.vfs.pNext = NULL;
  g_assert_cmpint (sqlite3_vfs_register (&faults.vfs, 1), ==, SQLITE_OK);
}

static void
faults_remove (void)
{
  sqlite3_vfs_unregister (&faults.vfs);
  sqlite3_vfs_register (faults.real, 1);
}

static gboolean
left_behind (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;

  while ((entry = g_dir_read_name (d)) != NULL)
    if (strstr (entry, ".repaired-") != NULL || strstr (entry, ".repair-work") != NULL)
      return TRUE;
  return FALSE;
}

/* @damage made by the caller; then the repair is run failing at every Nth write of the
 * copy (or a sample of them; MW_FAULTS=all for each), in both modes. */
static void
repair_under_faults (Fixture *f)
{
  g_autoptr(MwRepairReport) clean = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *damaged = mw_test_file_digest (f->db);
  g_autofree char *expected_counts = NULL;
  gint64 total;
  gint64 step;
  guint failed = 0, succeeded = 0;

  faults_install ();
  faults.fail_at = 0;
  faults.count = 0;
  clean = mw_repair (f->db, f->backups, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  total = faults.count;
  g_assert_cmpint (total, >, 5);
  expected_counts = mw_test_count_rows (clean->repaired_path);
  g_unlink (clean->repaired_path);

  step = g_strcmp0 (g_getenv ("MW_FAULTS"), "all") == 0 ? 1 : MAX (total / 20, 1);
  for (int full = 0; full < 2; full++)
    /* Every one of the first writes (the schema, where a table was once dropped),
     * then a sample, then the last and one past it. */
    for (gint64 n = 1; n <= total + 1; n = n >= total || n < 40 ? n + 1 : MIN (n + step, total))
      {
        g_autoptr(MwRepairReport) report = NULL;
        g_autoptr(GError) fault_error = NULL;
        g_autofree char *after = NULL;

        faults.fail_at = n;
        faults.full = full;
        faults.count = 0;
        report = mw_repair (f->db, f->backups, NULL, NULL, NULL, &fault_error);
        faults.fail_at = 0;
        after = mw_test_file_digest (f->db);
        g_assert_cmpstr (after, ==, damaged);
        if (report == NULL)
          {
            /* Refused, with a reason, and nothing left behind. */
            g_assert_nonnull (fault_error);
            g_assert_false (left_behind (f->dir));
            failed++;
          }
        else
          {
            /* Offered: then whole — every table, every row its report counts. */
            g_autofree char *counts = mw_test_count_rows (report->repaired_path);

            g_assert_no_error (fault_error);
            g_assert_cmpstr (counts, ==, expected_counts);
            g_assert_cmpint (mw_test_sql_int (report->repaired_path, "SELECT count(*) FROM "
                                              "pragma_integrity_check WHERE integrity_check "
                                              "<> 'ok'"), ==, 0);
            g_assert_cmpint (mw_test_sql_int (report->repaired_path, "SELECT count(*) FROM "
                                              "sqlite_schema WHERE name = 'sales_by_shop'"), ==, 1);
            g_unlink (report->repaired_path);
            succeeded++;
          }
      }
  faults_remove ();
  g_test_message ("%" G_GINT64_FORMAT " writes of the copy; %u injections refused, %u whole",
                  total, failed, succeeded);
  g_assert_cmpuint (failed, >, 0);
  /* Past the last write, nothing fails: the copy is made. */
  g_assert_cmpuint (succeeded, ==, 2);
}

/* Salvage (three leaves overwritten): a table the disk would not let be created, rows
 * it would not let be written, the final commit — each refuses the copy. */
static void
test_faults_salvage (Fixture *f, gconstpointer data)
{
  g_autoptr(GArray) leaves = leaves_of (f->db, "sales");

  for (guint i = 3; i < 6; i++)
    overwrite_page (f->db, g_array_index (leaves, Leaf, i).pageno, 0xA5);
  repair_under_faults (f);
}

/* The light way (only an index damaged): VACUUM INTO and the index rebuilt. */
static void
test_faults_reindex (Fixture *f, gconstpointer data)
{
  gint64 index_leaf = page_of (f->db, "SELECT pageno FROM dbstat WHERE name = 'sales_by_shop' "
                                      "AND pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 5");

  overwrite_page (f->db, index_leaf, 0x3C);
  repair_under_faults (f);
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
  demo_db = g_getenv ("MW_DEMO_DB");
  migrations_dir = g_getenv ("MW_MIGRATIONS");

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
  ADD ("/mw/engine/repair/disk-fails-during-salvage", test_faults_salvage);
  ADD ("/mw/engine/repair/disk-fails-during-reindex", test_faults_reindex);
#undef ADD
  if (demo_db != NULL && migrations_dir != NULL)
    {
#define ADD(path, fn) g_test_add (path, Shop, NULL, shop_set_up, fn, shop_tear_down)
      ADD ("/mw/engine/repair/shop/page-one-lost", test_page_one_lost);
      ADD ("/mw/engine/repair/shop/schema-lost-up-to-date", test_schema_lost_up_to_date);
      ADD ("/mw/engine/repair/shop/schema-lost-pending", test_schema_lost_pending);
      ADD ("/mw/engine/repair/shop/schema-lost-after-update", test_schema_lost_after_update);
      ADD ("/mw/engine/repair/shop/schema-and-history-lost", test_schema_and_history_lost);
      ADD ("/mw/engine/repair/shop/lost-sales-dated", test_lost_sales_dated);
#undef ADD
    }

  return g_test_run ();
}
