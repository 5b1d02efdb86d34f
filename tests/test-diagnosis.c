/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Diagnosis on real databases: each state of the closed set, from the database a shop
 * could really have, and never a byte changed.
 */

#include "config.h"

#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

#include "mw-engine.h"
#include "mw-testlib.h"

typedef struct
{
  char           *dir;
  char           *folder;
  char           *db;
  MwMigrationSet *set;
} Fixture;

static const char *tags[] = { "0000_init", "0001_add", "0002_more" };
static const gint64 whens[] = { 1700000000000, 1700000100000, 1700000200000 };
static const char *sqls[] = {
  "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL, `name` text);",
  "ALTER TABLE `shops` ADD `town` text;",
  "CREATE TABLE `tills` (`id` text PRIMARY KEY NOT NULL);\n--> statement-breakpoint\n"
  "CREATE INDEX `tills_id` ON `tills` (`id`);",
};

static void
load_set (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&f->set);
  f->set = mw_migration_set_load (f->folder, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = mw_test_make_tmp_dir ("diagnosis");
  f->folder = g_build_filename (f->dir, "migrations", NULL);
  f->db = g_build_filename (f->dir, "pos_system.db", NULL);
  mw_test_write_journal (f->folder, 3, tags, whens, sqls);
  load_set (f);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->set);
  mw_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->folder);
  g_free (f->db);
}

static void
migrate_to (Fixture *f, const char *tag)
{
  g_autoptr(MwMigrator) migrator = mw_migrator_new (f->db, f->set);
  g_autoptr(GError) error = NULL;

  mw_migrator_set_target (migrator, tag);
  g_assert_true (mw_migrator_run (migrator, NULL, &error));
  g_assert_no_error (error);
}

static MwDiagnosis *
diagnose_unchanged (Fixture *f)
{
  g_autofree char *before = mw_test_file_digest (f->db);
  g_autofree char *after = NULL;
  MwDiagnosis *diagnosis = mw_diagnose (f->db, f->set, NULL);

  after = mw_test_file_digest (f->db);
  g_assert_cmpstr (before, ==, after);
  return diagnosis;
}

static MwMigrationStatus
status_of (MwDiagnosis *d, guint i)
{
  return g_array_index (d->migrations, MwMigrationState, i).status;
}

static void
test_missing (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = mw_diagnose (f->db, f->set, NULL);

  g_assert_cmpint (d->state, ==, MW_STATE_MISSING);
  g_assert_cmpuint (d->n_pending, ==, 3);
  g_assert_false (g_file_test (f->db, G_FILE_TEST_EXISTS));
}

static void
test_pending_then_up_to_date (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) pending = NULL;
  g_autoptr(MwDiagnosis) done = NULL;

  migrate_to (f, "0000_init");
  pending = diagnose_unchanged (f);
  g_assert_cmpint (pending->state, ==, MW_STATE_PENDING);
  g_assert_cmpuint (pending->n_pending, ==, 2);
  g_assert_cmpint (status_of (pending, 0), ==, MW_MIGRATION_STATUS_APPLIED);
  g_assert_cmpint (status_of (pending, 1), ==, MW_MIGRATION_STATUS_PENDING);
  g_assert_cmpstr (pending->last_applied->tag, ==, "0000_init");

  migrate_to (f, NULL);
  done = diagnose_unchanged (f);
  g_assert_cmpint (done->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_cmpuint (done->n_applied, ==, 3);
}

static void
test_out_of_order (Fixture *f, gconstpointer data)
{
  const char *t[] = { "0000_init", "0001_add", "0002_more", "0003_backdated" };
  const gint64 w[] = { whens[0], whens[1], whens[2], whens[1] - 1000 };
  const char *s[] = { sqls[0], sqls[1], sqls[2], "CREATE INDEX `shops_town` ON `shops` (`town`);" };
  g_autoptr(MwDiagnosis) d = NULL;

  migrate_to (f, NULL);
  mw_test_write_journal (f->folder, 4, t, w, s);
  load_set (f);
  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_PENDING);
  g_assert_cmpint (status_of (d, 3), ==, MW_MIGRATION_STATUS_OUT_OF_ORDER);
  g_assert_cmpuint (d->n_out_of_order, ==, 1);
}

static void
test_modified_and_line_endings (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->folder, "0002_more.sql", NULL);
  g_autofree char *crlf = NULL;
  g_autoptr(MwDiagnosis) d1 = NULL;
  g_autoptr(MwDiagnosis) d2 = NULL;
  g_auto(GStrv) lines = g_strsplit (sqls[2], "\n", -1);

  migrate_to (f, NULL);

  /* Only git's autocrlf touched it: still applied. */
  crlf = g_strjoinv ("\r\n", lines);
  mw_test_write_file (path, crlf);
  load_set (f);
  d1 = diagnose_unchanged (f);
  g_assert_cmpint (d1->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_true (g_array_index (d1->migrations, MwMigrationState, 2).line_endings_only);

  /* Really changed: modified, and the state says so. */
  mw_test_write_file (path, "CREATE TABLE `tills` (`id` text PRIMARY KEY NOT NULL, `n` int);");
  load_set (f);
  d2 = diagnose_unchanged (f);
  g_assert_cmpint (d2->state, ==, MW_STATE_HASH_MISMATCH);
  g_assert_cmpint (status_of (d2, 2), ==, MW_MIGRATION_STATUS_MODIFIED);
  g_assert_cmpuint (d2->n_modified, ==, 1);
}

static void
test_newer_and_unknown (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) newer = NULL;
  g_autoptr(MwDiagnosis) unknown = NULL;

  migrate_to (f, NULL);
  mw_test_sql_exec (f->db, "INSERT INTO __drizzle_migrations (hash, created_at) "
                           "VALUES ('feedface', 1800000000000)");
  newer = diagnose_unchanged (f);
  g_assert_cmpint (newer->state, ==, MW_STATE_NEWER);
  g_assert_cmpuint (newer->unknown->len, ==, 1);

  mw_test_sql_exec (f->db, "UPDATE __drizzle_migrations SET created_at = 1600000000000 "
                           "WHERE hash = 'feedface'");
  unknown = diagnose_unchanged (f);
  g_assert_cmpint (unknown->state, ==, MW_STATE_UNKNOWN_HISTORY);
}

static void
test_untracked (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;

  mw_test_sql_exec (f->db, "CREATE TABLE shops (id text PRIMARY KEY, name text);"
                           "INSERT INTO shops VALUES ('1', 'Corner');");
  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_UNTRACKED);
}

static void
test_not_a_database_and_corrupt (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) text = NULL;
  g_autoptr(MwDiagnosis) damaged = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  mw_test_write_file (f->db, "id,name\n1,Corner Shop\n");
  text = diagnose_unchanged (f);
  g_assert_cmpint (text->state, ==, MW_STATE_NOT_A_DATABASE);
  g_unlink (f->db);

  /* A database whose schema page is overwritten after the 100-byte header. */
  migrate_to (f, NULL);
  g_assert_true (g_file_get_contents (f->db, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 1024);
  memset (contents + 100, 0x5a, 900);
  g_assert_true (g_file_set_contents (f->db, contents, len, NULL));
  damaged = diagnose_unchanged (f);
  g_assert_cmpint (damaged->state, ==, MW_STATE_CORRUPT);
  g_assert_nonnull (damaged->detail);
}

static void
test_locked (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;
  sqlite3 *pos = NULL;

  migrate_to (f, "0000_init");
  g_assert_cmpint (sqlite3_open (f->db, &pos), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (pos, "BEGIN IMMEDIATE; INSERT INTO shops VALUES ('a', 'b')",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  d = mw_diagnose (f->db, f->set, NULL);
  g_assert_cmpint (d->state, ==, MW_STATE_LOCKED);
  sqlite3_exec (pos, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close (pos);
}

static void
test_json (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  JsonObject *obj;
  JsonArray *migrations;

  migrate_to (f, "0001_add");
  d = mw_diagnose (f->db, f->set, NULL);
  mw_diagnosis_to_json (d, builder);
  root = json_builder_get_root (builder);
  obj = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "pending");
  g_assert_cmpint (json_object_get_int_member (obj, "pending"), ==, 1);
  migrations = json_object_get_array_member (obj, "migrations");
  g_assert_cmpuint (json_array_get_length (migrations), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (migrations, 2),
                                                  "status"), ==, "pending");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (migrations, 1),
                                               "when"), ==, whens[1]);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj, "unknown")), ==, 0);
}

static void
diagnose_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MwDiagnosis **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = mw_diagnose_finish (result, &error);
  g_assert_no_error (error);
}

static void
test_async (Fixture *f, gconstpointer data)
{
  MwDiagnosis *d = NULL;

  mw_diagnose_async (f->db, f->set, NULL, diagnose_done_cb, &d);
  while (d == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (d->state, ==, MW_STATE_MISSING);
  mw_diagnosis_unref (d);
}

static void
test_space_rule (void)
{
  const guint64 mib = 1024 * 1024;

  g_assert_cmpuint (mw_space_required_for (0, 0), ==, 50 * mib);
  g_assert_cmpuint (mw_space_required_for (100 * mib, 0), ==, 250 * mib);
  g_assert_cmpuint (mw_space_required_for (100 * mib, 20 * mib), ==, 300 * mib);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/mw/engine/diagnosis/missing", test_missing);
  ADD ("/mw/engine/diagnosis/pending-then-up-to-date", test_pending_then_up_to_date);
  ADD ("/mw/engine/diagnosis/out-of-order", test_out_of_order);
  ADD ("/mw/engine/diagnosis/modified-and-line-endings", test_modified_and_line_endings);
  ADD ("/mw/engine/diagnosis/newer-and-unknown-history", test_newer_and_unknown);
  ADD ("/mw/engine/diagnosis/untracked", test_untracked);
  ADD ("/mw/engine/diagnosis/not-a-database-and-corrupt", test_not_a_database_and_corrupt);
  ADD ("/mw/engine/diagnosis/locked", test_locked);
  ADD ("/mw/engine/diagnosis/json", test_json);
  ADD ("/mw/engine/diagnosis/async", test_async);
  g_test_add_func ("/mw/engine/diagnosis/space-rule", test_space_rule);
#undef ADD

  return g_test_run ();
}
