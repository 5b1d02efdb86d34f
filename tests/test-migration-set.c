/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Reading migration folders exactly as drizzle-orm does, and refusing bad ones with a
 * message that names the file and entry.
 */

#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "mw-engine.h"
#include "mw-testlib.h"

/* printf %s 'CREATE TABLE a (x);' | sha256sum */
#define KNOWN_VECTOR "5d4dfde3b9ddf0a46b24120bb95e8ec12aaf6782f4c94912c492152df44fac27"

typedef struct
{
  char *dir;
  char *folder;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = mw_test_make_tmp_dir ("migrations sets ü");
  f->folder = g_build_filename (f->dir, "drizzle", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  mw_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->folder);
}

static void
write_in (Fixture *f, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (f->folder, name, NULL);

  mw_test_write_file (path, text);
}

static void
test_journal_order_split_hash (Fixture *f, gconstpointer data)
{
  /* Journal order is the order, not `when` order; the split fires inside a comment
   * and keeps every byte; the hash is of the raw bytes (BOM and CRLF kept). */
  const char *tags[] = { "0000_b", "0001_a" };
  const gint64 whens[] = { 1700000000000, 1600000000000 };
  const char *sqls[] = { "\xEF\xBB\xBF" "CREATE TABLE a (x);\r\n--> statement-breakpoint\r\n"
                         "CREATE TABLE b (y); -- a comment --> statement-breakpoint inside\n"
                         "CREATE TABLE c (z);",
                         "CREATE TABLE a2 (x);" };
  g_autoptr(GError) error = NULL;
  g_autoptr(MwMigrationSet) set = NULL;
  const MwMigration *m0, *m1;
  g_autofree char *expected = NULL;

  mw_test_write_journal (f->folder, 2, tags, whens, sqls);
  set = mw_migration_set_load (f->folder, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mw_migration_set_get_format (set), ==, MW_FOLDER_FORMAT_JOURNAL);
  g_assert_cmpuint (mw_migration_set_get_n_migrations (set), ==, 2);

  m0 = mw_migration_set_get_migration (set, 0);
  m1 = mw_migration_set_get_migration (set, 1);
  g_assert_cmpstr (m0->tag, ==, "0000_b");
  g_assert_cmpstr (m1->tag, ==, "0001_a");
  g_assert_cmpint (m1->when, ==, 1600000000000);
  g_assert_true (mw_migration_set_lookup_tag (set, "0001_a") == m1);
  g_assert_cmpint (mw_migration_set_get_newest_when (set), ==, 1700000000000);

  g_assert_cmpuint (m0->statements->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (m0->statements, 0), ==, "\xEF\xBB\xBF" "CREATE TABLE a (x);\r\n");
  g_assert_cmpstr (g_ptr_array_index (m0->statements, 1), ==,
                   "\r\nCREATE TABLE b (y); -- a comment ");
  g_assert_cmpstr (g_ptr_array_index (m0->statements, 2), ==, " inside\nCREATE TABLE c (z);");

  expected = g_compute_checksum_for_string (G_CHECKSUM_SHA256, sqls[0], -1);
  g_assert_cmpstr (m0->hash, ==, expected);

}

static void
test_known_vector (void)
{
  g_autofree char *hash = mw_sha256_hex ("CREATE TABLE a (x);", strlen ("CREATE TABLE a (x);"));

  g_assert_cmpstr (hash, ==, KNOWN_VECTOR);
}

static void
test_split_like_javascript (void)
{
  g_autoptr(GPtrArray) none = mw_sql_split ("SELECT 1;");
  g_autoptr(GPtrArray) edges = mw_sql_split ("--> statement-breakpoint--> statement-breakpoint");

  g_assert_cmpuint (none->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (none, 0), ==, "SELECT 1;");
  /* "".split(sep) semantics: empty pieces at both ends and between */
  g_assert_cmpuint (edges->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (edges, 1), ==, "");

  g_assert_true (mw_sql_is_blank ("  \n-- only a comment\n/* and a block */ ;"));
  g_assert_false (mw_sql_is_blank ("-- comment\nDROP TABLE x"));
}

static void
test_v1_folder (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MwMigrationSet) set = NULL;
  gint64 ms = 0;

  write_in (f, "20240315093000_second/migration.sql", "CREATE TABLE b (x);");
  write_in (f, "20240101120000_first/migration.sql", "CREATE TABLE a (x);");
  write_in (f, "20240101120000_first/snapshot.json", "{}");
  write_in (f, "not-a-migration/readme.txt", "ignored: no migration.sql");

  set = mw_migration_set_load (f->folder, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mw_migration_set_get_format (set), ==, MW_FOLDER_FORMAT_V1);
  g_assert_cmpuint (mw_migration_set_get_n_migrations (set), ==, 2);
  g_assert_cmpstr (mw_migration_set_get_migration (set, 0)->tag, ==, "20240101120000_first");
  /* Date.UTC(2024, 0, 1, 12, 0, 0) */
  g_assert_cmpint (mw_migration_set_get_migration (set, 0)->when, ==, 1704110400000);
  g_assert_true (mw_v1_name_to_millis ("20240315093000_x", &ms));
  g_assert_cmpint (ms, ==, 1710495000000);
  g_assert_false (mw_v1_name_to_millis ("2024_bad", &ms));
}

typedef struct
{
  const char *name;
  const char *journal;     /* NULL: keep a valid one */
  const char *sql0;        /* NULL: a valid statement */
  const char *must_mention;
} BadCase;

static const BadCase bad_cases[] = {
  { "malformed-json", "{\"entries\": [", NULL, "_journal.json" },
  { "not-an-object", "[1, 2, 3]", NULL, "not a JSON object" },
  { "no-entries", "{\"dialect\": \"sqlite\"}", NULL, "entries" },
  { "entry-without-tag", "{\"entries\": [{\"when\": 1}]}", NULL, "entry 0" },
  { "fractional-when", "{\"entries\": [{\"tag\": \"0000_a\", \"when\": 1.5}]}", NULL, "when" },
  { "missing-sql", "{\"entries\": [{\"tag\": \"0000_missing\", \"when\": 1}]}", NULL, "0000_missing" },
  { "tag-escapes", "{\"entries\": [{\"tag\": \"../x\", \"when\": 1}]}", NULL, "outside" },
  { "absolute-tag", "{\"entries\": [{\"tag\": \"/etc/passwd\", \"when\": 1}]}", NULL, "outside" },
  { "duplicate-tags", "{\"entries\": [{\"tag\": \"0000_a\", \"when\": 1}, {\"tag\": \"0000_a\", \"when\": 2}]}",
    NULL, "twice" },
  { "postgres-journal", "{\"dialect\": \"postgresql\", \"entries\": []}", NULL, "postgresql" },
  { "trailing-breakpoint", NULL, "CREATE TABLE a (x);\n--> statement-breakpoint\n", "empty statement" },
  { "comment-only-piece", NULL, "CREATE TABLE a (x);--> statement-breakpoint\n-- nothing here\n",
    "piece 2 of 2" },
  { "invalid-utf8", NULL, "CREATE TABLE a (\xff\xfe);", "UTF-8" },
};

static void
test_bad_input (Fixture *f, gconstpointer data)
{
  const BadCase *bad = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MwMigrationSet) set = NULL;

  write_in (f, "meta/_journal.json",
            bad->journal ? bad->journal : "{\"entries\": [{\"tag\": \"0000_a\", \"when\": 1}]}");
  write_in (f, "0000_a.sql", bad->sql0 ? bad->sql0 : "CREATE TABLE a (x);");

  set = mw_migration_set_load (f->folder, &error);
  g_assert_null (set);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID);
  if (strstr (error->message, bad->must_mention) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, bad->must_mention);
}

static void
test_unreadable_sql (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MwMigrationSet) set = NULL;
  g_autofree char *sql = g_build_filename (f->folder, "0000_a.sql", NULL);

  if (geteuid () == 0)
    {
      g_test_skip ("root reads files whatever their mode");
      return;
    }
  write_in (f, "meta/_journal.json", "{\"entries\": [{\"tag\": \"0000_a\", \"when\": 1}]}");
  write_in (f, "0000_a.sql", "CREATE TABLE a (x);");
  g_chmod (sql, 0);
  set = mw_migration_set_load (f->folder, &error);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID);
}

static void
test_locate (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *found = NULL;
  g_autofree char *wrong = g_build_filename (f->dir, "elsewhere", NULL);
  g_auto(GStrv) places = mw_migrations_search_list ();
  char *none;

  write_in (f, "meta/_journal.json", "{\"entries\": []}");
  found = mw_migrations_locate (f->folder, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, f->folder);

  /* A folder named explicitly is never replaced by a guess. */
  none = mw_migrations_locate (wrong, f->folder, &error);
  g_assert_null (none);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, wrong));
  g_clear_error (&error);

  /* Nothing given and nothing installed: every place tried is named. */
  none = mw_migrations_locate (NULL, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND);
  g_assert_cmpuint (g_strv_length (places), >=, 3);
  for (guint i = 0; places[i] != NULL; i++)
    {
      g_autofree char *canonical = g_canonicalize_filename (places[i], NULL);

      g_assert_nonnull (strstr (error->message, canonical));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn, data) g_test_add (path, Fixture, data, fixture_set_up, fn, fixture_tear_down)
  ADD ("/mw/engine/migration-set/journal-order-split-hash", test_journal_order_split_hash, NULL);
  g_test_add_func ("/mw/engine/migration-set/sha256-known-vector", test_known_vector);
  g_test_add_func ("/mw/engine/migration-set/split-like-javascript", test_split_like_javascript);
  ADD ("/mw/engine/migration-set/v1-folder", test_v1_folder, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/mw/engine/migration-set/bad/%s", bad_cases[i].name);

      ADD (path, test_bad_input, &bad_cases[i]);
    }
  ADD ("/mw/engine/migration-set/bad/unreadable-sql", test_unreadable_sql, NULL);
  ADD ("/mw/engine/migration-set/locate", test_locate, NULL);
#undef ADD

  return g_test_run ();
}
