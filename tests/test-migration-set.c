/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Reading migration folders exactly as drizzle-orm does (order, split, hash, v1
 * timestamps), and refusing every bad one with a message that names the file or entry.
 */

#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "mw-test-util.h"

/* printf %s 'CREATE TABLE a (x);' | sha256sum */
#define VECTOR_PLAIN "5d4dfde3b9ddf0a46b24120bb95e8ec12aaf6782f4c94912c492152df44fac27"
/* printf '\xef\xbb\xbfCREATE TABLE a (x);\r\n--> statement-breakpoint\r\nCREATE TABLE b (y);\r\n'
 *   | sha256sum */
#define BOM_CRLF_SQL "\xEF\xBB\xBF" "CREATE TABLE a (x);\r\n--> statement-breakpoint\r\n" \
                     "CREATE TABLE b (y);\r\n"
#define VECTOR_BOM_CRLF "46fb91be7fcc1670801be73fa4953dff63a1a9798bd4ca814a4466cae9e4bccd"

typedef MwTestFixture Fixture;

#define ONE_ENTRY(entry) "{\"version\":\"7\",\"dialect\":\"sqlite\",\"entries\":[" entry "]}"

static void
write_in (Fixture    *f,
          const char *name,
          const char *text)
{
  g_autofree char *path = g_build_filename (f->folder, name, NULL);

  mw_test_write_file (path, text);
}

static char *
statement (const MwMigration *m,
           guint              i)
{
  g_assert_cmpuint (i, <, m->statements->len);
  return g_ptr_array_index (m->statements, i);
}

/* The hash as coreutils computes it from the file on disk: the independent check. */
static char *
sha256sum (const char *path)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (mw_test_spawn (&out, NULL, "sha256sum", "--", path, NULL), ==, 0);
  g_assert_cmpuint (strlen (out), >, 64);
  return g_strndup (out, 64);
}

static void
test_journal_order (Fixture *f, gconstpointer data)
{
  /* Journal order is the order: not `when` order, not name order. */
  const MwTestMigration list[] = {
    { "0000_init", 1700000000000, "CREATE TABLE shops (id text);" },
    { "0002_late", 1700000300000, "CREATE TABLE tills (id text);" },
    { "0001_backdated", 1600000000000, "CREATE TABLE staff (id text);" },
    { NULL }
  };
  MwMigrationSet *set = mw_test_fixture_write (f, list);

  g_assert_cmpint (mw_migration_set_get_format (set), ==, MW_FOLDER_FORMAT_JOURNAL);
  g_assert_cmpuint (mw_migration_set_get_n_migrations (set), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      const MwMigration *m = mw_migration_set_get_migration (set, i);
      g_autofree char *name = g_strconcat (list[i].tag, ".sql", NULL);
      g_autofree char *path = g_build_filename (f->folder, name, NULL);

      g_assert_cmpuint (m->idx, ==, i);
      g_assert_cmpstr (m->tag, ==, list[i].tag);
      g_assert_cmpint (m->when, ==, list[i].when);
      g_assert_cmpstr (m->path, ==, path);
      g_assert_true (mw_migration_set_lookup_tag (set, list[i].tag) == m);
      g_assert_cmpuint (m->statements->len, ==, 1);
      g_assert_cmpstr (statement (m, 0), ==, list[i].sql);
    }
  g_assert_null (mw_migration_set_lookup_tag (set, "0003_missing"));
  g_assert_cmpint (mw_migration_set_get_newest_when (set), ==, 1700000300000);
  g_assert_cmpuint (mw_migration_set_get_n_statements (set), ==, 3);
  g_assert_cmpstr (mw_migration_set_get_folder (set), ==, f->folder);
}

static void
test_split (Fixture *f, gconstpointer data)
{
  /* drizzle-orm's plain String.split: every byte kept, no trimming, and the separator
   * splits inside a comment and inside a string literal too. */
  const char *sql =
    "CREATE TABLE a (x);\n--> statement-breakpoint\n"
    "CREATE TABLE b (y); -- note --> statement-breakpoint stays split\n"
    "CREATE TABLE c (z);--> statement-breakpoint"
    "INSERT INTO c VALUES ('--> statement-breakpoint');";
  const MwTestMigration list[] = { { "0000_split", 1700000000000, sql }, { NULL } };
  const MwMigration *m = mw_migration_set_get_migration (mw_test_fixture_write (f, list), 0);

  g_assert_cmpuint (m->statements->len, ==, 5);
  g_assert_cmpstr (statement (m, 0), ==, "CREATE TABLE a (x);\n");
  g_assert_cmpstr (statement (m, 1), ==, "\nCREATE TABLE b (y); -- note ");
  g_assert_cmpstr (statement (m, 2), ==, " stays split\nCREATE TABLE c (z);");
  g_assert_cmpstr (statement (m, 3), ==, "INSERT INTO c VALUES ('");
  g_assert_cmpstr (statement (m, 4), ==, "');");
}

static void
test_split_like_javascript (void)
{
  /* Expected values: node -e 'console.log(JSON.stringify(S.split("--> statement-breakpoint")))' */
  static const struct
  {
    const char *text;
    guint       n;
    const char *pieces[3];
  } cases[] = {
    { "SELECT 1;", 1, { "SELECT 1;" } },
    { "", 1, { "" } },
    { "a--> statement-breakpoint", 2, { "a", "" } },
    { "--> statement-breakpoint--> statement-breakpoint", 3, { "", "", "" } },
    { "a -->  statement-breakpoint b", 1, { "a -->  statement-breakpoint b" } },
    { "a --> Statement-Breakpoint b", 1, { "a --> Statement-Breakpoint b" } },
    { " a \n--> statement-breakpoint\n b ", 2, { " a \n", "\n b " } },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GPtrArray) pieces = mw_sql_split (cases[c].text);

      g_assert_cmpuint (pieces->len, ==, cases[c].n);
      for (guint i = 0; i < cases[c].n; i++)
        g_assert_cmpstr (g_ptr_array_index (pieces, i), ==, cases[c].pieces[i]);
    }

  g_assert_true (mw_sql_is_blank (""));
  g_assert_true (mw_sql_is_blank ("  \n-- only a comment\n/* and a block */ ;"));
  g_assert_true (mw_sql_is_blank ("/* unterminated"));
  g_assert_false (mw_sql_is_blank ("-- comment\nDROP TABLE x"));
  g_assert_false (mw_sql_is_blank ("/* c */ SELECT 1"));
}

static void
test_hash (Fixture *f, gconstpointer data)
{
  /* Raw bytes: the BOM and CRLF line endings are part of what is hashed. */
  const MwTestMigration list[] = {
    { "0000_plain", 1700000000000, "CREATE TABLE a (x);" },
    { "0001_bom_crlf", 1700000100000, BOM_CRLF_SQL },
    { "0002_unicode", 1700000200000, "INSERT INTO a VALUES ('Kassé — 5 €');\n" },
    { NULL }
  };
  MwMigrationSet *set = mw_test_fixture_write (f, list);
  const MwMigration *bom = mw_migration_set_get_migration (set, 1);

  g_assert_cmpstr (mw_migration_set_get_migration (set, 0)->hash, ==, VECTOR_PLAIN);
  g_assert_cmpstr (bom->hash, ==, VECTOR_BOM_CRLF);
  for (guint i = 0; i < 3; i++)
    {
      const MwMigration *m = mw_migration_set_get_migration (set, i);
      g_autofree char *independent = sha256sum (m->path);

      g_assert_cmpstr (m->hash, ==, independent);
    }

  /* The pieces keep the BOM and the CR, as drizzle-orm's do. */
  g_assert_cmpuint (bom->statements->len, ==, 2);
  g_assert_cmpstr (statement (bom, 0), ==, "\xEF\xBB\xBF" "CREATE TABLE a (x);\r\n");
  g_assert_cmpstr (statement (bom, 1), ==, "\r\nCREATE TABLE b (y);\r\n");

  {
    g_autofree char *direct = mw_sha256_hex ("CREATE TABLE a (x);", strlen ("CREATE TABLE a (x);"));

    g_assert_cmpstr (direct, ==, VECTOR_PLAIN);
  }
}

static void
test_line_ending_variants (Fixture *f, gconstpointer data)
{
  const MwTestMigration list[] = {
    { "0000_lf", 1700000000000, "CREATE TABLE a (x);\n--> statement-breakpoint\nSELECT 1;\n" },
    { NULL }
  };
  const MwMigration *m = mw_migration_set_get_migration (mw_test_fixture_write (f, list), 0);
  const char *crlf = "CREATE TABLE a (x);\r\n--> statement-breakpoint\r\nSELECT 1;\r\n";
  g_autofree char *crlf_hash = mw_sha256_hex (crlf, strlen (crlf));
  g_autofree char *other_hash = mw_sha256_hex ("SELECT 2;", strlen ("SELECT 2;"));

  g_assert_true (mw_migration_hash_differs_only_in_line_endings (m, crlf_hash));
  g_assert_false (mw_migration_hash_differs_only_in_line_endings (m, other_hash));
  g_assert_false (mw_migration_hash_differs_only_in_line_endings (m, NULL));
}

static void
test_v1_folder (Fixture *f, gconstpointer data)
{
  MwMigrationSet *set;
  const MwMigration *m;
  gint64 ms = 0;

  write_in (f, "20240315093000_second/migration.sql",
            "CREATE TABLE b (x);\n--> statement-breakpoint\nCREATE INDEX b_x ON b (x);");
  write_in (f, "20240101120000_first/migration.sql", "CREATE TABLE a (x);");
  write_in (f, "20240101120000_first/snapshot.json", "{}");
  write_in (f, "20240101120000_again/migration.sql", "CREATE TABLE c (x);");
  write_in (f, "not-a-migration/readme.txt", "ignored: no migration.sql");
  write_in (f, "README.md", "ignored: not a folder");

  set = mw_test_fixture_load (f);
  g_assert_cmpint (mw_migration_set_get_format (set), ==, MW_FOLDER_FORMAT_V1);
  g_assert_cmpuint (mw_migration_set_get_n_migrations (set), ==, 3);

  /* Sorted by name, whatever order the directory lists them in. */
  g_assert_cmpstr (mw_migration_set_get_migration (set, 0)->tag, ==, "20240101120000_again");
  m = mw_migration_set_get_migration (set, 1);
  g_assert_cmpstr (m->tag, ==, "20240101120000_first");
  /* Date.UTC(2024, 0, 1, 12, 0, 0) */
  g_assert_cmpint (m->when, ==, 1704110400000);
  g_assert_cmpstr (m->hash, ==, VECTOR_PLAIN);
  m = mw_migration_set_get_migration (set, 2);
  g_assert_cmpstr (m->tag, ==, "20240315093000_second");
  /* Date.UTC(2024, 2, 15, 9, 30, 0) */
  g_assert_cmpint (m->when, ==, 1710495000000);
  g_assert_cmpuint (m->statements->len, ==, 2);
  g_assert_cmpint (mw_migration_set_get_newest_when (set), ==, 1710495000000);

  g_assert_true (mw_v1_name_to_millis ("20240229235959_leap", &ms));
  g_assert_cmpint (ms, ==, 1709251199000);
}

/* drizzle-orm 1.x's time for a folder name: parseInt(name.slice(a, b), 10) of each
 * piece given to Date.UTC. Expected values from node 20 running drizzle-orm
 * 1.0.0-rc.5's formatToMillis; NaN (no time: created_at NULL) is -1 here. */
static void
test_v1_name_times (void)
{
  static const struct { const char *name; gint64 millis; } vectors[] = {
    { "20230229000000_no_leap", 1677628800000 },     /* Feb 29 of 2023 is Mar 1 */
    { "20241301000000_month_13", 1735689600000 },    /* month 13 is next January */
    { "20240100000000_day0", 1703980800000 },        /* day 0 is the day before */
    { "00990101000000_y99", 915148800000 },          /* years 0-99 are 19xx */
    { "-0010101000000_neg", -62198755200000 },
    { " 2024 1 1 1 1 1x", -55784933939000 },         /* parseInt skips spaces */
    { "2024123124606_x", 1735693206000 },            /* "6_" is 6 */
    { "20240101120000", 1704110400000 },
    { "2024_bad", -1 },
    { "init", -1 },
    { "2024010112ab00_x", -1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      gint64 ms = 0;
      gboolean has_time = mw_v1_name_to_millis (vectors[i].name, &ms);

      g_test_message ("%s", vectors[i].name);
      g_assert_cmpint (has_time, ==, vectors[i].millis != -1);
      if (has_time)
        g_assert_cmpint (ms, ==, vectors[i].millis);
    }
}

/* Folder names in localeCompare's order, as node 20 sorts them:
 * [...names].sort((a, b) => a.localeCompare(b)). */
static const char *locale_sorted[] = {
  "~x", "$x", "20250101000000 d", "20250101000000_a", "20250101000000_A",
  "20250101000000_\xc3\xa1", "20250101000000_b", "20250101000000-c", "20250101000000.e", "9x",
  "a", "A", "a b", "a_b", "a-b", "a.b", "a1", "a10", "a2", "ab", "alpha", "Beta", "eclair",
  "Eclair", "\xc3\xa9" "clair", "Seed", "seed_data", "x_a", "x1", "zeta",
};

static void
test_locale_compare (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (locale_sorted); i++)
    for (guint j = 0; j < G_N_ELEMENTS (locale_sorted); j++)
      {
        int c = mw_locale_compare (locale_sorted[i], locale_sorted[j]);

        if ((i < j && c >= 0) || (i > j && c <= 0) || (i == j && c != 0))
          g_error ("“%s” vs “%s”: %d", locale_sorted[i], locale_sorted[j], c);
      }
}

/* A v1 folder is applied in localeCompare order (not byte order: `x_a` before `x1`,
 * `alpha` before `Beta`), and a folder whose name holds no time is applied too, with
 * none. */
static void
test_v1_order_and_untimed (Fixture *f, gconstpointer data)
{
  const char *expected[] = {
    "20250101000000_a", "20250101000000_A", "20250101000000_b", "20250101000000-c", "alpha",
    "Beta", "seed_data", "x_a", "x1",
  };
  MwMigrationSet *set;

  for (guint i = G_N_ELEMENTS (expected); i-- > 0;)
    {
      g_autofree char *path = g_strdup_printf ("%s/migration.sql", expected[i]);
      g_autofree char *sql = g_strdup_printf ("CREATE TABLE t%u (x);", i);

      write_in (f, path, sql);
    }

  set = mw_test_fixture_load (f);
  g_assert_cmpuint (mw_migration_set_get_n_migrations (set), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      const MwMigration *m = mw_migration_set_get_migration (set, i);

      g_assert_cmpstr (m->tag, ==, expected[i]);
      if (g_ascii_isdigit (m->tag[0]))
        g_assert_cmpint (m->when, ==, 1735689600000);
      else
        g_assert_cmpint (m->when, ==, MW_MIGRATION_NO_TIME);
    }
  g_assert_cmpint (mw_migration_set_get_newest_when (set), ==, 1735689600000);
}

/* A journal's `when` as drizzle-orm reads it: JSON.parse's double. Beyond 2^53 it is
 * rounded as JavaScript rounds it; written with an exponent or a zero fraction it is
 * the same number; beyond what a 64-bit created_at holds it is refused, naming the
 * entry (json-glib would silently wrap it to -1). */
static void
test_journal_when_like_javascript (Fixture *f, gconstpointer data)
{
  static const struct { const char *when; gint64 expected; } cases[] = {
    { "9007199254740993", G_GINT64_CONSTANT (9007199254740992) },
    { "1.7e12", G_GINT64_CONSTANT (1700000000000) },
    { "1700000000000.0", G_GINT64_CONSTANT (1700000000000) },
    { "-5", -5 },
    { "9223372036854774784", G_GINT64_CONSTANT (9223372036854774784) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *journal = g_strdup_printf (ONE_ENTRY ("{\"idx\": 0, \"tag\": \"0000_a\", "
                                                             "\"when\": %s}"), cases[i].when);
      MwMigrationSet *set;

      write_in (f, "meta/_journal.json", journal);
      write_in (f, "0000_a.sql", "CREATE TABLE a (x);");
      set = mw_test_fixture_load (f);
      g_assert_cmpint (mw_migration_set_get_migration (set, 0)->when, ==, cases[i].expected);
    }
}

typedef struct
{
  const char *name;
  const char *journal;     /* NULL: a valid one listing 0000_a */
  const char *sql0;        /* NULL: a valid 0000_a.sql */
  const char *mention[2];  /* what the message must name */
} BadCase;

static const BadCase bad_cases[] = {
  { "malformed-json", "{\"entries\": [", NULL, { "meta/_journal.json", NULL } },
  { "not-an-object", "[1, 2, 3]", NULL, { "meta/_journal.json", "not a JSON object" } },
  { "no-entries", "{\"dialect\": \"sqlite\"}", NULL, { "meta/_journal.json", "entries" } },
  { "entries-not-an-array", "{\"entries\": {\"tag\": \"0000_a\"}}", NULL,
    { "meta/_journal.json", "entries" } },
  { "entry-not-an-object", ONE_ENTRY ("\"0000_a\""), NULL, { "meta/_journal.json", "entry 0" } },
  { "entry-without-tag", ONE_ENTRY ("{\"idx\": 0, \"when\": 1700000000000}"), NULL,
    { "entry 0", "tag" } },
  { "tag-not-a-string", ONE_ENTRY ("{\"tag\": 7, \"when\": 1700000000000}"), NULL,
    { "entry 0", "tag" } },
  { "when-missing", ONE_ENTRY ("{\"tag\": \"0000_a\"}"), NULL, { "0000_a", "when" } },
  { "when-fractional", ONE_ENTRY ("{\"tag\": \"0000_a\", \"when\": 1.5}"), NULL,
    { "0000_a", "when" } },
  { "when-a-string", ONE_ENTRY ("{\"tag\": \"0000_a\", \"when\": \"1700000000000\"}"), NULL,
    { "0000_a", "when" } },
  { "when-null", ONE_ENTRY ("{\"tag\": \"0000_a\", \"when\": null}"), NULL, { "0000_a", "when" } },
  { "when-beyond-64-bits", ONE_ENTRY ("{\"tag\": \"0000_a\", \"when\": 99999999999999999999999}"),
    NULL, { "entry 0 (“0000_a”)", "99999999999999999999999" } },
  { "when-2-to-the-63", ONE_ENTRY ("{\"tag\": \"0000_a\", \"when\": 9223372036854775807}"),
    NULL, { "0000_a", "64-bit" } },
  { "when-a-number-json-refuses", ONE_ENTRY ("{\"tag\": \"0000_a\", \"when\": 017}"), NULL,
    { "meta/_journal.json", NULL } },
  { "missing-sql", ONE_ENTRY ("{\"tag\": \"0000_a\", \"when\": 1},"
                              "{\"tag\": \"0001_missing\", \"when\": 2}"),
    NULL, { "0001_missing.sql", NULL } },
  { "tag-escapes", ONE_ENTRY ("{\"tag\": \"../x\", \"when\": 1}"), NULL, { "../x", "outside" } },
  { "tag-absolute", ONE_ENTRY ("{\"tag\": \"/etc/passwd\", \"when\": 1}"), NULL,
    { "/etc/passwd", "outside" } },
  { "tag-in-subfolder", ONE_ENTRY ("{\"tag\": \"sub/../../x\", \"when\": 1}"), NULL,
    { "sub/../../x", "outside" } },
  { "second-entry-escapes", ONE_ENTRY ("{\"tag\": \"0000_a\", \"when\": 1},"
                                       "{\"tag\": \"..\", \"when\": 2}"),
    NULL, { "entry 1", "outside" } },
  { "duplicate-tags", ONE_ENTRY ("{\"tag\": \"0000_a\", \"when\": 1}, {\"tag\": \"0000_a\", \"when\": 2}"),
    NULL, { "0000_a", "twice" } },
  { "dialect-postgresql", "{\"dialect\": \"postgresql\", \"entries\": []}", NULL,
    { "meta/_journal.json", "postgresql" } },
  { "empty-file", NULL, "", { "0000_a.sql", "empty statement" } },
  { "trailing-breakpoint", NULL, "CREATE TABLE a (x);\n--> statement-breakpoint\n",
    { "0000_a.sql", "piece 2 of 2" } },
  { "comment-only-piece", NULL,
    "CREATE TABLE a (x);--> statement-breakpoint\n-- nothing here\n--> statement-breakpoint\nSELECT 1;",
    { "0000_a.sql", "piece 2 of 3" } },
  { "invalid-utf8", NULL, "CREATE TABLE a (\xff\xfe);", { "0000_a.sql", "UTF-8" } },
};

static void
test_bad_input (Fixture *f, gconstpointer data)
{
  const BadCase *bad = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MwMigrationSet) set = NULL;

  write_in (f, "meta/_journal.json",
            bad->journal ? bad->journal : ONE_ENTRY ("{\"tag\": \"0000_a\", \"when\": 1}"));
  write_in (f, "0000_a.sql", bad->sql0 ? bad->sql0 : "CREATE TABLE a (x);");

  set = mw_migration_set_load (f->folder, &error);
  g_assert_null (set);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID);
  for (guint i = 0; i < G_N_ELEMENTS (bad->mention) && bad->mention[i] != NULL; i++)
    mw_test_assert_mentions (error->message, bad->mention[i]);
}

static void
expect_invalid (Fixture    *f,
                const char *mention)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MwMigrationSet) set = mw_migration_set_load (f->folder, &error);

  g_assert_null (set);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID);
  mw_test_assert_mentions (error->message, mention);
}

static void
test_nul_byte (Fixture *f, gconstpointer data)
{
  static const char bytes[] = "CREATE TABLE a (x);\0DROP TABLE a;";
  g_autofree char *sql = g_build_filename (f->folder, "0000_a.sql", NULL);

  write_in (f, "meta/_journal.json", ONE_ENTRY ("{\"tag\": \"0000_a\", \"when\": 1}"));
  g_assert_true (g_file_set_contents (sql, bytes, sizeof bytes - 1, NULL));
  expect_invalid (f, "0000_a.sql");
}

static void
test_unreadable (Fixture *f, gconstpointer data)
{
  g_autofree char *sql = g_build_filename (f->folder, "0000_a.sql", NULL);
  g_autofree char *journal = g_build_filename (f->folder, "meta", "_journal.json", NULL);

  if (geteuid () == 0)
    {
      g_test_skip ("root reads files whatever their mode");
      return;
    }
  write_in (f, "meta/_journal.json", ONE_ENTRY ("{\"tag\": \"0000_a\", \"when\": 1}"));
  write_in (f, "0000_a.sql", "CREATE TABLE a (x);");

  g_assert_cmpint (g_chmod (sql, 0), ==, 0);
  expect_invalid (f, "0000_a.sql");
  g_assert_cmpint (g_chmod (sql, 0644), ==, 0);

  g_assert_cmpint (g_chmod (journal, 0), ==, 0);
  expect_invalid (f, "_journal.json");
  g_assert_cmpint (g_chmod (journal, 0644), ==, 0);
}

static void
test_v1_bad_sql (Fixture *f, gconstpointer data)
{
  write_in (f, "20240101120000_init/migration.sql", "CREATE TABLE a (x);--> statement-breakpoint");
  expect_invalid (f, "20240101120000_init");
}

static void
test_not_found (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MwMigrationSet) missing = NULL;
  g_autoptr(MwMigrationSet) empty = NULL;

  /* No folder at all, and a folder holding no migrations: a packaging fault. */
  missing = mw_migration_set_load (f->folder, &error);
  g_assert_null (missing);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND);
  mw_test_assert_mentions (error->message, f->folder);
  g_clear_error (&error);

  write_in (f, "meta/0000_snapshot.json", "{}");
  empty = mw_migration_set_load (f->folder, &error);
  g_assert_null (empty);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND);
  mw_test_assert_mentions (error->message, f->folder);
}

static void
test_locate (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *found = NULL;
  g_autofree char *configured = NULL;
  g_autofree char *dotted = g_build_filename (f->dir, ".", "migrations", NULL);
  g_autofree char *wrong = g_build_filename (f->dir, "elsewhere", NULL);
  char *none;

  write_in (f, "meta/_journal.json", "{\"entries\": []}");

  /* The folder named on the command line, as a canonical path. */
  found = mw_migrations_locate (dotted, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, f->folder);

  /* The configured one when none is named; the named one wins over it. */
  configured = mw_migrations_locate (NULL, f->folder, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (configured, ==, f->folder);
  g_clear_pointer (&found, g_free);
  found = mw_migrations_locate (f->folder, wrong, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, f->folder);

  /* A folder named explicitly is never replaced by a guess or by the configuration. */
  none = mw_migrations_locate (wrong, f->folder, &error);
  g_assert_null (none);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND);
  mw_test_assert_mentions (error->message, wrong);
  g_clear_error (&error);

  none = mw_migrations_locate (NULL, wrong, &error);
  g_assert_null (none);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND);
  mw_test_assert_mentions (error->message, wrong);
  g_clear_error (&error);

  /* A folder that exists but holds no migrations is not one. */
  none = mw_migrations_locate (f->dir, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND);
  g_clear_error (&error);
}

static gboolean
holds_migrations (const char *folder)
{
  g_autofree char *journal = g_build_filename (folder, "meta", "_journal.json", NULL);
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  if (g_file_test (journal, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *sql = g_build_filename (folder, name, "migration.sql", NULL);

      if (g_file_test (sql, G_FILE_TEST_IS_REGULAR))
        return TRUE;
    }
  return FALSE;
}

static void
test_locate_nothing (void)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) places = mw_migrations_search_list ();
  g_autofree char *found = NULL;

  g_assert_cmpuint (g_strv_length (places), >=, 3);
  for (guint i = 0; places[i] != NULL; i++)
    if (holds_migrations (places[i]))
      {
        /* Installed on this machine: then the first place holding them is used. */
        g_autofree char *canonical = g_canonicalize_filename (places[i], NULL);

        found = mw_migrations_locate (NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpstr (found, ==, canonical);
        g_test_message ("migrations installed at %s: not-found case not testable here", canonical);
        return;
      }

  /* Nothing given and nothing installed: every place tried is named. */
  found = mw_migrations_locate (NULL, NULL, &error);
  g_assert_null (found);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND);
  for (guint i = 0; places[i] != NULL; i++)
    {
      g_autofree char *canonical = g_canonicalize_filename (places[i], NULL);

      mw_test_assert_mentions (error->message, canonical);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn, data) \
  g_test_add ("/mw/engine/migration-set/" path, Fixture, data, \
              mw_test_fixture_set_up, fn, mw_test_fixture_tear_down)
  ADD ("journal-order", test_journal_order, NULL);
  ADD ("split", test_split, NULL);
  g_test_add_func ("/mw/engine/migration-set/split-like-javascript", test_split_like_javascript);
  ADD ("hash-raw-bytes", test_hash, NULL);
  ADD ("line-ending-variants", test_line_ending_variants, NULL);
  ADD ("v1-folder", test_v1_folder, NULL);
  g_test_add_func ("/mw/engine/migration-set/v1-name-times-like-javascript", test_v1_name_times);
  g_test_add_func ("/mw/engine/migration-set/locale-compare", test_locale_compare);
  ADD ("v1-order-and-untimed-names", test_v1_order_and_untimed, NULL);
  ADD ("journal-when-like-javascript", test_journal_when_like_javascript, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/mw/engine/migration-set/bad/%s",
                                               bad_cases[i].name);

      g_test_add (path, Fixture, &bad_cases[i], mw_test_fixture_set_up, test_bad_input,
                  mw_test_fixture_tear_down);
    }
  ADD ("bad/nul-byte", test_nul_byte, NULL);
  ADD ("bad/unreadable", test_unreadable, NULL);
  ADD ("bad/v1-empty-statement", test_v1_bad_sql, NULL);
  ADD ("not-found", test_not_found, NULL);
  ADD ("locate", test_locate, NULL);
  g_test_add_func ("/mw/engine/migration-set/locate-nothing-installed", test_locate_nothing);
#undef ADD

  return g_test_run ();
}
