/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Diagnosis on real databases: each state of the closed set, from a database a shop
 * could really have, and never a byte of it changed.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

#include "mw-test-util.h"

typedef MwTestFixture Fixture;

static const MwTestMigration base[] = {
  { "0000_init", 1700000000000,
    "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL, `name` text);" },
  { "0001_add", 1700000100000, "ALTER TABLE `shops` ADD `town` text;" },
  { "0002_more", 1700000200000,
    "CREATE TABLE `tills` (`id` text PRIMARY KEY NOT NULL);\n--> statement-breakpoint\n"
    "CREATE INDEX `tills_id` ON `tills` (`id`);" },
  { NULL }
};

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  mw_test_fixture_set_up (f, data);
  mw_test_fixture_write (f, base);
}

/* What a technician would compare: the database file itself (bytes and mtime), and
 * the files beside it (no -journal, -wal or backup left behind). */
typedef struct
{
  char *db;
  char *listing;
} Snapshot;

static void
snapshot_take (Fixture *f, Snapshot *s)
{
  if (g_file_test (f->db, G_FILE_TEST_EXISTS))
    mw_test_age_file (f->db);
  s->db = mw_test_file_state (f->db);
  s->listing = mw_test_list_dir (f->dir);
}

static void
snapshot_assert_unchanged (Fixture *f, Snapshot *s)
{
  g_autofree char *db = mw_test_file_state (f->db);
  g_autofree char *listing = mw_test_list_dir (f->dir);

  g_assert_cmpstr (db, ==, s->db);
  g_assert_cmpstr (listing, ==, s->listing);
  g_clear_pointer (&s->db, g_free);
  g_clear_pointer (&s->listing, g_free);
}

/* Diagnoses, asserting that nothing on disk changed. */
static MwDiagnosis *
diagnose_unchanged (Fixture *f)
{
  Snapshot s;
  MwDiagnosis *diagnosis;

  snapshot_take (f, &s);
  diagnosis = mw_diagnose (f->db, f->set, NULL);
  snapshot_assert_unchanged (f, &s);
  g_assert_nonnull (diagnosis->message);
  return diagnosis;
}

static const MwMigrationState *
state_of (MwDiagnosis *d, guint i)
{
  g_assert_cmpuint (i, <, d->migrations->len);
  return &g_array_index (d->migrations, MwMigrationState, i);
}

static MwMigrationStatus
status_of (MwDiagnosis *d, guint i)
{
  return state_of (d, i)->status;
}

static void
test_missing (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = diagnose_unchanged (f);

  g_assert_cmpint (d->state, ==, MW_STATE_MISSING);
  g_assert_false (d->exists);
  g_assert_cmpuint (d->n_pending, ==, 3);
  g_assert_cmpuint (d->n_applied, ==, 0);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (status_of (d, i), ==, MW_MIGRATION_STATUS_PENDING);
  g_assert_false (g_file_test (f->db, G_FILE_TEST_EXISTS));
  mw_test_assert_mentions (d->message, f->db);
}

static void
test_up_to_date (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;

  mw_test_fixture_migrate (f, NULL);
  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_true (d->exists);
  g_assert_true (d->has_migrations_table);
  g_assert_cmpuint (d->n_applied, ==, 3);
  g_assert_cmpuint (d->n_pending, ==, 0);
  g_assert_cmpuint (d->n_user_tables, ==, 2);
  g_assert_cmpuint (d->unknown->len, ==, 0);
  g_assert_cmpstr (d->last_applied->tag, ==, "0002_more");
  for (guint i = 0; i < 3; i++)
    {
      const MwMigrationState *s = state_of (d, i);

      g_assert_cmpint (s->status, ==, MW_MIGRATION_STATUS_APPLIED);
      g_assert_cmpstr (s->applied_hash, ==, s->migration->hash);
      g_assert_cmpint (s->applied_when, ==, base[i].when);
      g_assert_false (s->line_endings_only);
      g_assert_false (s->when_differs);
    }
}

static void
test_pending (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;

  mw_test_fixture_migrate (f, "0000_init");
  mw_test_sql_exec (f->db, "INSERT INTO shops VALUES ('s1', 'Corner Shop')");
  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_PENDING);
  g_assert_cmpuint (d->n_pending, ==, 2);
  g_assert_cmpuint (d->n_applied, ==, 1);
  g_assert_cmpuint (d->n_out_of_order, ==, 0);
  g_assert_cmpint (status_of (d, 0), ==, MW_MIGRATION_STATUS_APPLIED);
  g_assert_cmpint (status_of (d, 1), ==, MW_MIGRATION_STATUS_PENDING);
  g_assert_cmpint (status_of (d, 2), ==, MW_MIGRATION_STATUS_PENDING);
  g_assert_null (state_of (d, 1)->applied_hash);
  g_assert_cmpstr (d->last_applied->tag, ==, "0000_init");
  g_assert_cmpuint (d->space_required, >=, 50 * 1024 * 1024);
  mw_test_assert_mentions (d->message, "2 updates");
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops"), ==, 1);
}

static void
test_empty_file (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;

  /* A zero-byte file is an empty SQLite database: everything is to be applied. */
  mw_test_write_file (f->db, "");
  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_PENDING);
  g_assert_cmpuint (d->n_pending, ==, 3);
}

static void
test_out_of_order (Fixture *f, gconstpointer data)
{
  /* A hand-written migration back-dated between two others: drizzle-orm's
   * high-water-mark rule would skip it forever. */
  const MwTestMigration list[] = {
    base[0], base[1],
    { "0002_backdated", base[0].when + 50000, "CREATE INDEX `shops_town` ON `shops` (`town`);" },
    { "0003_more", base[2].when, base[2].sql },
    { NULL }
  };
  const MwTestMigration applied[] = { base[0], base[1], { "0003_more", base[2].when, base[2].sql },
                                      { NULL } };
  g_autoptr(MwDiagnosis) d = NULL;

  /* The shop got 0000, 0001 and 0003 from an older app build. */
  mw_test_fixture_write (f, applied);
  mw_test_fixture_migrate (f, NULL);
  mw_test_fixture_write (f, list);

  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_PENDING);
  g_assert_cmpint (status_of (d, 0), ==, MW_MIGRATION_STATUS_APPLIED);
  g_assert_cmpint (status_of (d, 1), ==, MW_MIGRATION_STATUS_APPLIED);
  g_assert_cmpint (status_of (d, 2), ==, MW_MIGRATION_STATUS_OUT_OF_ORDER);
  g_assert_cmpint (status_of (d, 3), ==, MW_MIGRATION_STATUS_APPLIED);
  g_assert_cmpuint (d->n_out_of_order, ==, 1);
  g_assert_cmpuint (d->n_pending, ==, 1);
  g_assert_cmpuint (d->n_applied, ==, 3);
  g_assert_cmpstr (mw_migration_status_to_string (status_of (d, 2)), ==, "out-of-order");
}

static void
test_modified (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->folder, "0002_more.sql", NULL);
  g_autoptr(MwDiagnosis) d = NULL;

  mw_test_fixture_migrate (f, NULL);
  mw_test_write_file (path, "CREATE TABLE `tills` (`id` text PRIMARY KEY NOT NULL, `n` int);");
  mw_test_fixture_load (f);

  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_HASH_MISMATCH);
  g_assert_cmpint (status_of (d, 0), ==, MW_MIGRATION_STATUS_APPLIED);
  g_assert_cmpint (status_of (d, 2), ==, MW_MIGRATION_STATUS_MODIFIED);
  g_assert_cmpstr (state_of (d, 2)->applied_hash, !=, state_of (d, 2)->migration->hash);
  g_assert_cmpuint (d->n_modified, ==, 1);
  g_assert_cmpuint (d->unknown->len, ==, 0);
}

static void
test_line_endings_only (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->folder, "0002_more.sql", NULL);
  g_auto(GStrv) lines = g_strsplit (base[2].sql, "\n", -1);
  g_autofree char *crlf = g_strjoinv ("\r\n", lines);
  g_autoptr(MwDiagnosis) to_crlf = NULL;
  g_autoptr(MwDiagnosis) to_lf = NULL;
  const MwTestMigration crlf_list[] = { base[0], base[1], { base[2].tag, base[2].when, crlf },
                                        { NULL } };

  /* Applied from LF files; the app now ships them with CRLF (git autocrlf). */
  mw_test_fixture_migrate (f, NULL);
  mw_test_write_file (path, crlf);
  mw_test_fixture_load (f);
  to_crlf = diagnose_unchanged (f);
  g_assert_cmpint (to_crlf->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_cmpint (status_of (to_crlf, 2), ==, MW_MIGRATION_STATUS_APPLIED);
  g_assert_true (state_of (to_crlf, 2)->line_endings_only);
  g_assert_false (state_of (to_crlf, 1)->line_endings_only);
  g_assert_cmpuint (to_crlf->n_modified, ==, 0);

  /* And the other way round. */
  g_unlink (f->db);
  mw_test_fixture_write (f, crlf_list);
  mw_test_fixture_migrate (f, NULL);
  mw_test_fixture_write (f, base);
  to_lf = diagnose_unchanged (f);
  g_assert_cmpint (to_lf->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_true (state_of (to_lf, 2)->line_endings_only);
}

static void
test_newer (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;
  const MwAppliedRow *row;

  mw_test_fixture_migrate (f, NULL);
  mw_test_sql_exec (f->db, "INSERT INTO __drizzle_migrations (hash, created_at) "
                           "VALUES ('feedface', 1800000000000)");
  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_NEWER);
  g_assert_cmpuint (d->n_applied, ==, 3);
  g_assert_cmpuint (d->unknown->len, ==, 1);
  row = g_ptr_array_index (d->unknown, 0);
  g_assert_cmpstr (row->hash, ==, "feedface");
  g_assert_cmpint (row->created_at, ==, 1800000000000);
  mw_test_assert_mentions (d->message, "newer version");
}

static void
test_unknown_history (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;

  /* An older row no local migration explains (a regenerated baseline, say). */
  mw_test_fixture_migrate (f, NULL);
  mw_test_sql_exec (f->db, "INSERT INTO __drizzle_migrations (hash, created_at) "
                           "VALUES ('0123abcd', 1600000000000)");
  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_UNKNOWN_HISTORY);
  g_assert_cmpuint (d->unknown->len, ==, 1);
  g_assert_cmpstr (((MwAppliedRow *) g_ptr_array_index (d->unknown, 0))->hash, ==, "0123abcd");
}

static void
test_untracked (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;

  mw_test_sql_exec (f->db, "CREATE TABLE shops (id text PRIMARY KEY, name text);"
                           "INSERT INTO shops VALUES ('1', 'Corner');");
  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_UNTRACKED);
  g_assert_false (d->has_migrations_table);
  g_assert_cmpuint (d->n_user_tables, ==, 1);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops"), ==, 1);
}

static void
test_not_a_database (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) text = NULL;
  g_autoptr(MwDiagnosis) noise = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_autofree guint32 *bytes = g_new (guint32, 16384);

  mw_test_write_file (f->db, "id,name\n1,Corner Shop\n2,Station Kiosk\n");
  text = diagnose_unchanged (f);
  g_assert_cmpint (text->state, ==, MW_STATE_NOT_A_DATABASE);
  mw_test_assert_mentions (text->message, f->db);

  for (guint i = 0; i < 16384; i++)
    bytes[i] = g_rand_int (rand);
  g_assert_true (g_file_set_contents (f->db, (const char *) bytes, 16384 * 4, NULL));
  noise = diagnose_unchanged (f);
  g_assert_cmpint (noise->state, ==, MW_STATE_NOT_A_DATABASE);
}

static void
test_corrupt_schema_page (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  /* Page 1 holds sqlite_schema after the 100-byte file header: overwrite it. */
  mw_test_fixture_migrate (f, "0000_init");
  g_assert_true (g_file_get_contents (f->db, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 1024);
  memset (contents + 100, 0x5a, 900);
  g_assert_true (g_file_set_contents (f->db, contents, len, NULL));

  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_CORRUPT);
  g_assert_nonnull (d->detail);
}

static void
test_corrupt_truncated (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  /* A copy cut short (a full disk, an interrupted transfer): many pages, half kept. */
  mw_test_fixture_migrate (f, NULL);
  mw_test_sql_exec (f->db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 2000) INSERT INTO tills SELECT printf('till-%06d-%s', i, "
                           "hex(randomblob(40))) FROM n");
  g_assert_true (g_file_get_contents (f->db, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 40 * 4096);
  g_assert_true (g_file_set_contents (f->db, contents, len / 2, NULL));

  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_CORRUPT);
  g_assert_nonnull (d->detail);
}

static void
test_locked (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) pending = NULL;
  g_autoptr(MwDiagnosis) after = NULL;
  sqlite3 *pos;
  gint64 start;

  /* The POS is in the middle of a sale: it holds the write lock. */
  mw_test_fixture_migrate (f, "0000_init");
  pos = mw_test_hold_write_lock (f->db, "INSERT INTO shops VALUES ('s1', 'Sale in progress')");

  start = g_get_monotonic_time ();
  pending = mw_diagnose (f->db, f->set, NULL);
  g_assert_cmpint (pending->state, ==, MW_STATE_LOCKED);
  /* It waited for the busy timeout (2 s) before saying so, and no longer. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 1900 * 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 15 * G_USEC_PER_SEC);
  g_assert_cmpuint (pending->n_pending, ==, 2);
  mw_test_assert_mentions (pending->message, "in use");

  /* The sale still completes. */
  g_assert_cmpint (sqlite3_exec (pos, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (pos), ==, SQLITE_OK);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops"), ==, 1);

  after = mw_diagnose (f->db, f->set, NULL);
  g_assert_cmpint (after->state, ==, MW_STATE_PENDING);
}

static void
test_locked_up_to_date (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;
  sqlite3 *pos;
  gint64 start;

  /* Nothing to apply: a POS writing at the same time does not matter, nor slow it. */
  mw_test_fixture_migrate (f, NULL);
  pos = mw_test_hold_write_lock (f->db, "INSERT INTO shops VALUES ('s1', 'Sale in progress', NULL)");
  start = g_get_monotonic_time ();
  d = mw_diagnose (f->db, f->set, NULL);
  g_assert_cmpint (d->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  mw_test_release_lock (pos);
}

/* Waits until @db_path cannot even be read: the other process holds its lock. */
static void
wait_until_unreadable (const char *db_path)
{
  for (guint i = 0; i < 500; i++)
    {
      sqlite3 *db = NULL;
      int rc;

      g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
      rc = sqlite3_exec (db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
      sqlite3_close (db);
      if (rc == SQLITE_BUSY)
        return;
      g_usleep (10 * 1000);
    }
  g_error ("the sqlite3 process never locked %s", db_path);
}

static void
test_locked_by_other_process (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) holder = NULL;
  g_autoptr(MwDiagnosis) d = NULL;
  g_autofree char *pid_text = NULL;
  g_autofree char *program = g_find_program_in_path ("sqlite3");
  GOutputStream *in;
  /* A busy timeout, so that our polling reads never make its BEGIN fail. */
  const char *script = ".timeout 10000\nBEGIN EXCLUSIVE;\nINSERT INTO shops VALUES ('s1', 'Held');\n";

  if (program == NULL)
    {
      g_test_skip ("no sqlite3 program");
      return;
    }
  mw_test_fixture_migrate (f, "0000_init");
  holder = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE, &error, "sqlite3", "-batch", f->db,
                             NULL);
  g_assert_no_error (error);
  in = g_subprocess_get_stdin_pipe (holder);
  g_assert_true (g_output_stream_write_all (in, script, strlen (script), NULL, NULL, &error));
  g_assert_true (g_output_stream_flush (in, NULL, &error));
  g_assert_no_error (error);
  wait_until_unreadable (f->db);

  d = mw_diagnose (f->db, f->set, NULL);
  g_assert_cmpint (d->state, ==, MW_STATE_LOCKED);
  /* The technician is told which program to close. */
  g_assert_cmpstr (d->lock_process, ==, "sqlite3");
  g_assert_cmpint (d->lock_pid, ==, atoi (g_subprocess_get_identifier (holder)));
  pid_text = g_strdup_printf ("%d", d->lock_pid);
  mw_test_assert_mentions (d->message, pid_text);

  /* End of input: sqlite3 rolls back and exits normally. */
  g_assert_true (g_output_stream_close (in, NULL, &error));
  g_assert_true (g_subprocess_wait_check (holder, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM shops"), ==, 0);
}

static void
test_wal_not_checkpointed (Fixture *f, gconstpointer data)
{
  g_autofree char *wal = g_strconcat (f->db, "-wal", NULL);
  g_autofree char *db_before = NULL, *wal_before = NULL, *db_after = NULL, *wal_after = NULL;
  g_autoptr(MwDiagnosis) d = NULL;
  g_autofree char *insert = NULL;
  const MwMigration *last;
  sqlite3 *pos = NULL;

  /* The POS (WAL mode) applied the last migration and closed without a checkpoint,
   * as after a crash: that migration and a sale are only in the -wal. */
  mw_test_fixture_migrate (f, "0001_add");
  mw_test_sql_exec (f->db, "PRAGMA journal_mode = WAL");
  last = mw_migration_set_get_migration (f->set, 2);
  insert = g_strdup_printf ("CREATE TABLE `tills` (`id` text PRIMARY KEY NOT NULL);"
                            "CREATE INDEX `tills_id` ON `tills` (`id`);"
                            "INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('%s', %"
                            G_GINT64_FORMAT ");"
                            "INSERT INTO shops VALUES ('s1', 'Corner', 'Leeds');",
                            last->hash, last->when);
  g_assert_cmpint (sqlite3_open (f->db, &pos), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_db_config (pos, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (pos, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (pos, insert, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (pos), ==, SQLITE_OK);
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));

  mw_test_age_file (f->db);
  mw_test_age_file (wal);
  db_before = mw_test_file_state (f->db);
  wal_before = mw_test_file_state (wal);

  d = mw_diagnose (f->db, f->set, NULL);
  db_after = mw_test_file_state (f->db);
  wal_after = mw_test_file_state (wal);

  /* It read the -wal (the last migration counts as applied) ... */
  g_assert_cmpint (d->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_cmpint (d->wal_size, >, 0);
  /* ... and left the database and its -wal exactly as they were. */
  g_assert_cmpstr (db_after, ==, db_before);
  g_assert_cmpstr (wal_after, ==, wal_before);
}

static void
test_wal_clean (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) up_to_date = NULL;
  g_autoptr(MwDiagnosis) pending = NULL;

  /* A WAL database closed cleanly (no -wal beside it): nothing is left behind. */
  mw_test_fixture_migrate (f, NULL);
  mw_test_sql_exec (f->db, "PRAGMA journal_mode = WAL");
  up_to_date = diagnose_unchanged (f);
  g_assert_cmpint (up_to_date->state, ==, MW_STATE_UP_TO_DATE);

  g_unlink (f->db);
  mw_test_fixture_migrate (f, "0000_init");
  mw_test_sql_exec (f->db, "PRAGMA journal_mode = WAL");
  pending = diagnose_unchanged (f);
  g_assert_cmpint (pending->state, ==, MW_STATE_PENDING);
}

static JsonObject *
element (JsonArray *array, guint i)
{
  g_assert_cmpuint (i, <, json_array_get_length (array));
  return json_array_get_object_element (array, i);
}

/* The diagnosis as `status --json` prints it, printed and parsed back. */
static JsonNode *
to_json (MwDiagnosis *d)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) built = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  mw_diagnosis_to_json (d, builder);
  built = json_builder_get_root (builder);
  text = json_to_string (built, TRUE);
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_copy (json_parser_get_root (parser));
}

static void
test_json (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *obj;
  JsonArray *migrations;

  mw_test_fixture_migrate (f, "0001_add");
  d = mw_diagnose (f->db, f->set, NULL);
  root = to_json (d);
  obj = json_node_get_object (root);

  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "pending");
  g_assert_cmpstr (json_object_get_string_member (obj, "message"), ==, d->message);
  g_assert_cmpstr (json_object_get_string_member (obj, "database"), ==, f->db);
  g_assert_cmpstr (json_object_get_string_member (obj, "migrations_folder"), ==, f->folder);
  g_assert_cmpstr (json_object_get_string_member (obj, "format"), ==, "journal");
  g_assert_true (json_object_get_boolean_member (obj, "exists"));
  g_assert_cmpint (json_object_get_int_member (obj, "pending"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (obj, "applied"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (obj, "last_applied"), ==, "0001_add");

  migrations = json_object_get_array_member (obj, "migrations");
  g_assert_cmpuint (json_array_get_length (migrations), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *m = element (migrations, i);
      const MwMigration *local = mw_migration_set_get_migration (f->set, i);

      g_assert_cmpstr (json_object_get_string_member (m, "tag"), ==, base[i].tag);
      g_assert_cmpint (json_object_get_int_member (m, "when"), ==, base[i].when);
      g_assert_cmpstr (json_object_get_string_member (m, "hash"), ==, local->hash);
      g_assert_cmpstr (json_object_get_string_member (m, "status"), ==,
                       i < 2 ? "applied" : "pending");
      g_assert_true (json_object_has_member (m, "applied_hash") == (i < 2));
    }
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj, "unknown")), ==, 0);
}

static void
test_json_unknown (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonArray *unknown;

  mw_test_fixture_migrate (f, NULL);
  mw_test_sql_exec (f->db, "INSERT INTO __drizzle_migrations (hash, created_at) "
                           "VALUES ('feedface', 1800000000000), ('0123abcd', NULL)");
  d = mw_diagnose (f->db, f->set, NULL);
  root = to_json (d);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "state"), ==, "newer");
  unknown = json_object_get_array_member (json_node_get_object (root), "unknown");
  g_assert_cmpuint (json_array_get_length (unknown), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (element (unknown, 0), "hash"), ==, "feedface");
  g_assert_cmpint (json_object_get_int_member (element (unknown, 0), "created_at"), ==,
                   1800000000000);
  g_assert_true (json_object_get_null_member (element (unknown, 1), "created_at"));
}

static void
test_migrations_missing (Fixture *f, gconstpointer data)
{
  g_autofree char *nowhere = g_build_filename (f->dir, "nowhere", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MwMigrationSet) set = mw_migration_set_load (nowhere, &error);
  g_autoptr(MwDiagnosis) d = NULL;

  /* A packaging fault is never reported as a problem with the shop's data. */
  g_assert_null (set);
  mw_test_fixture_migrate (f, NULL);
  d = mw_diagnosis_new_for_error (f->db, error);
  g_assert_cmpint (d->state, ==, MW_STATE_NO_MIGRATIONS);
  g_assert_true (d->exists);
  mw_test_assert_mentions (d->message, "Reinstall");
  mw_test_assert_mentions (d->detail, nowhere);
}

static void
diagnose_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MwDiagnosis **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = mw_diagnose_finish (result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*out);
}

static void
test_async (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;

  mw_test_fixture_migrate (f, "0000_init");
  mw_diagnose_async (f->db, f->set, MW_DIAGNOSE_NONE, NULL, NULL, diagnose_done_cb, &d);
  while (d == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (d->state, ==, MW_STATE_PENDING);
  g_assert_cmpuint (d->n_pending, ==, 2);
}

static void
test_space_rule (void)
{
  const guint64 mib = 1024 * 1024;

  g_assert_cmpuint (mw_space_required_for (0, 0), ==, 50 * mib);
  g_assert_cmpuint (mw_space_required_for (10 * mib, 0), ==, 50 * mib);
  g_assert_cmpuint (mw_space_required_for (100 * mib, 0), ==, 250 * mib);
  g_assert_cmpuint (mw_space_required_for (100 * mib, 20 * mib), ==, 300 * mib);
}

static void
test_state_names (void)
{
  /* The stable names `status --json` prints, one per state, all distinct. */
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (MwState s = 0; s < MW_N_STATES; s++)
    {
      const char *name = mw_state_to_string (s);

      g_assert_nonnull (name);
      g_assert_false (g_hash_table_contains (seen, name));
      g_hash_table_add (seen, (gpointer) name);
    }
  g_assert_cmpstr (mw_state_to_string (MW_STATE_HASH_MISMATCH), ==, "hash-mismatch");
  g_assert_cmpstr (mw_state_to_string (MW_STATE_UNKNOWN_HISTORY), ==, "unknown-history");
  g_assert_cmpstr (mw_state_to_string (MW_STATE_NOT_A_DATABASE), ==, "not-a-database");
}


/* ---- what the app's driver would refuse, found by the diagnosis ----------------------- */

/* Adds one more migration to the fixture's folder and reloads it. */
static void
add_migration (Fixture    *f,
               const char *tag,
               const char *sql)
{
  MwTestMigration list[5] = { base[0], base[1], base[2], { tag, 1700000300000, sql }, { NULL } };

  mw_test_fixture_write (f, list);
}

/* A copy that names columns the old table does not have, in double quotes: the app's
 * driver refuses it ("no such column"); Debian's SQLite would store the names as
 * strings. The diagnosis says invalid-migrations, naming file and statement. */
static void
test_invalid_double_quoted (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;

  mw_test_fixture_migrate (f, NULL);
  mw_test_sql_exec (f->db, "INSERT INTO shops VALUES ('s1', 'Corner Shop', 'Leeds')");
  add_migration (f, "0003_copy",
                 "CREATE TABLE `shops_new` (`id` text PRIMARY KEY NOT NULL, `name` text, "
                 "`vat_number` text);\n--> statement-breakpoint\n"
                 "INSERT INTO `shops_new`(\"id\", \"name\", \"vat_number\") "
                 "SELECT \"id\", \"name\", \"vat_number\" FROM `shops`;");
  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_INVALID_MIGRATIONS);
  g_assert_cmpint (mw_exit_code_for_state (d->state), ==, 20);
  g_assert_nonnull (d->invalid_migration);
  g_assert_cmpstr (d->invalid_migration->tag, ==, "0003_copy");
  g_assert_cmpuint (d->invalid_statement, ==, 2);
  g_assert_false (d->needs_newer_sqlite);
  mw_test_assert_mentions (d->detail, "0003_copy.sql");
  mw_test_assert_mentions (d->detail, "statement 2 of 2");
  mw_test_assert_mentions (d->detail, "no such column: vat_number");
  /* still the pending count a migrate would have had */
  g_assert_cmpuint (d->n_pending, ==, 1);
}

/* Each statement meets the schema the ones before it leave (here a column a previous
 * pending migration dropped), and a piece with two statements or one that ends the
 * transaction is refused too; a missing database is rehearsed from nothing. */
static void
test_invalid_rehearsed_in_order (Fixture *f, gconstpointer data)
{
  static const struct { const char *sql; guint statement; const char *mention; } cases[] = {
    { "ALTER TABLE `shops` DROP COLUMN `town`;\n--> statement-breakpoint\n"
      "UPDATE `shops` SET `town` = 'Leeds';", 2, "no such column: town" },
    { "CREATE INDEX `a` ON `shops` (`name`);\nCREATE INDEX `b` ON `shops` (`town`);", 1,
      "more than one SQL statement" },
    { "CREATE TABLE `x` (`y` text);\n--> statement-breakpoint\nCOMMIT;", 2,
      "controls transactions" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(MwDiagnosis) missing = NULL;
      g_autoptr(MwDiagnosis) d = NULL;

      add_migration (f, "0003_bad", cases[i].sql);
      missing = diagnose_unchanged (f);
      g_assert_cmpint (missing->state, ==, MW_STATE_INVALID_MIGRATIONS);
      g_assert_cmpuint (missing->invalid_statement, ==, cases[i].statement);
      mw_test_assert_mentions (missing->detail, cases[i].mention);

      mw_test_fixture_write (f, base);
      mw_test_fixture_migrate (f, "0001_add");
      add_migration (f, "0003_bad", cases[i].sql);
      d = diagnose_unchanged (f);
      g_assert_cmpint (d->state, ==, MW_STATE_INVALID_MIGRATIONS);
      g_assert_cmpstr (d->invalid_migration->tag, ==, "0003_bad");
      g_assert_cmpuint (d->invalid_statement, ==, cases[i].statement);
      mw_test_assert_mentions (d->detail, cases[i].mention);
      g_assert_cmpint (g_unlink (f->db), ==, 0);
    }
}

/* An SQL function the app's SQLite (3.50) has and this one (3.40) lacks: refused up
 * front, naming the function and the version that brought it, never half-run. A
 * function no SQLite has is the migration's fault. */
static void
test_invalid_needs_newer_sqlite (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;
  g_autoptr(MwDiagnosis) typo = NULL;

  if (sqlite3_libversion_number () >= 3041000)
    {
      g_test_skip ("this SQLite has unhex()");
      return;
    }
  mw_test_fixture_migrate (f, NULL);
  add_migration (f, "0003_codes", "UPDATE `shops` SET `name` = unhex('4869');");
  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_INVALID_MIGRATIONS);
  g_assert_true (d->needs_newer_sqlite);
  mw_test_assert_mentions (d->detail, "unhex()");
  mw_test_assert_mentions (d->detail, "3.41");
  mw_test_assert_mentions (d->detail, sqlite3_libversion ());
  mw_test_assert_mentions (d->message, "newer SQLite");

  add_migration (f, "0003_codes", "UPDATE `shops` SET `name` = unhexx('4869');");
  typo = diagnose_unchanged (f);
  g_assert_cmpint (typo->state, ==, MW_STATE_INVALID_MIGRATIONS);
  g_assert_false (typo->needs_newer_sqlite);
  mw_test_assert_mentions (typo->detail, "no such function: unhexx");
}

/* What depends on the rows is for the real run to find (and SQLite's statistics are
 * there to meet), and a rehearsal never takes long: a table built from a large query
 * is not computed by `status`. */
static void
test_rehearsal_leaves_data_to_the_run (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;
  g_autoptr(MwDiagnosis) slow = NULL;
  gint64 start;

  mw_test_fixture_migrate (f, NULL);
  mw_test_sql_exec (f->db, "INSERT INTO shops VALUES ('s1', 'A', NULL), ('s2', 'A', NULL); "
                           "ANALYZE");
  add_migration (f, "0003_unique", "CREATE UNIQUE INDEX `shops_name` ON `shops` (`name`);\n"
                 "--> statement-breakpoint\nDELETE FROM `sqlite_stat1` WHERE `tbl` = 'tills';");
  d = diagnose_unchanged (f);
  g_assert_cmpint (d->state, ==, MW_STATE_PENDING);

  add_migration (f, "0003_tally",
                 "CREATE TABLE `tally` AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
                 "SELECT i + 1 FROM c WHERE i < 200000000) SELECT i FROM c;\n"
                 "--> statement-breakpoint\nCREATE INDEX `tally_i` ON `tally` (`i`);");
  start = g_get_monotonic_time ();
  slow = diagnose_unchanged (f);
  g_assert_cmpint (slow->state, ==, MW_STATE_PENDING);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
}

/* ---- the migrations table as drizzle-orm keeps it ----------------------------------- */

/* (2) A v1 folder meeting a 0.x table with nothing to apply: drizzle-orm 1.x's
 * migrate() would still upgrade the table, so the database is not up to date. */
static void
test_v1_folder_upgrades_0x_table (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) before = NULL;
  g_autoptr(MwDiagnosis) after = NULL;
  g_autofree char *v1 = g_build_filename (f->dir, "migrations-v1", NULL);
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(GError) error = NULL;
  const char *names[] = { "20231114221320_init", "20231114221500_add", "20231114221640_more" };

  /* the same files, as `drizzle-kit up` lays them out (times to the second) */
  mw_test_fixture_migrate (f, NULL);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *path = g_build_filename (v1, names[i], "migration.sql", NULL);

      mw_test_write_file (path, base[i].sql);
    }
  set = mw_migration_set_load (v1, &error);
  g_assert_no_error (error);

  before = mw_diagnose (f->db, set, NULL);
  g_assert_cmpint (before->state, ==, MW_STATE_PENDING);
  g_assert_cmpuint (before->n_pending, ==, 0);
  g_assert_cmpuint (before->n_applied, ==, 3);
  g_assert_true (before->table_update);
  mw_test_assert_mentions (before->message, "older layout");

  {
    g_autoptr(MwMigrator) migrator = mw_migrator_new (f->db, set);

    mw_migrator_set_backup (migrator, TRUE, f->backups);
    g_assert_true (mw_migrator_run (migrator, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (mw_migrator_get_applied (migrator)->len, ==, 0);
    g_assert_true (mw_migrator_get_table_changed (migrator));
    g_assert_nonnull (mw_migrator_get_backup (migrator));
  }
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations WHERE "
                                           "name IS NOT NULL AND applied_at IS NULL"), ==, 3);
  after = mw_diagnose (f->db, set, NULL);
  g_assert_cmpint (after->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_false (after->table_update);
}

/* (7) An empty journal: drizzle-orm creates its table even so. */
static void
test_empty_journal (Fixture *f, gconstpointer data)
{
  const MwTestMigration none[] = { { NULL } };
  g_autoptr(MwDiagnosis) missing = NULL;
  g_autoptr(MwDiagnosis) empty = NULL;
  g_autoptr(MwDiagnosis) done = NULL;

  mw_test_fixture_write (f, none);
  missing = diagnose_unchanged (f);
  g_assert_cmpint (missing->state, ==, MW_STATE_MISSING);
  g_assert_cmpuint (missing->n_pending, ==, 0);

  mw_test_sql_exec (f->db, "PRAGMA user_version = 0");   /* an empty database file */
  empty = diagnose_unchanged (f);
  g_assert_cmpint (empty->state, ==, MW_STATE_PENDING);
  g_assert_cmpuint (empty->n_pending, ==, 0);
  g_assert_true (empty->table_update);
  mw_test_assert_mentions (empty->message, "no update history yet");

  mw_test_fixture_migrate (f, NULL);
  done = diagnose_unchanged (f);
  g_assert_cmpint (done->state, ==, MW_STATE_UP_TO_DATE);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM __drizzle_migrations"), ==, 0);
}

/* (4) migrate(db, { migrationsTable }): named, it is the only table read; not named,
 * the one table of drizzle's shape is found and the diagnosis says so; two such
 * tables are not guessed between. */
static void
test_custom_migrations_table (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) found = NULL;
  g_autoptr(MwDiagnosis) named = NULL;
  g_autoptr(MwDiagnosis) wrong_name = NULL;
  g_autoptr(MwDiagnosis) two = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;

  mw_test_fixture_migrate (f, "0001_add");
  mw_test_sql_exec (f->db, "ALTER TABLE __drizzle_migrations RENAME TO app_migrations");

  found = diagnose_unchanged (f);
  g_assert_cmpint (found->state, ==, MW_STATE_PENDING);
  g_assert_cmpuint (found->n_applied, ==, 2);
  g_assert_cmpstr (found->migrations_table, ==, "app_migrations");
  g_assert_true (found->migrations_table_detected);
  mw_test_assert_mentions (found->message, "“app_migrations”, found by its layout");
  mw_diagnosis_to_json (found, builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json = json_generator_to_data (generator, NULL);
  mw_test_assert_mentions (json, "\"migrations_table\":\"app_migrations\"");
  mw_test_assert_mentions (json, "\"migrations_table_found_by_shape\":true");

  mw_migration_set_set_table (f->set, "app_migrations");
  named = diagnose_unchanged (f);
  g_assert_cmpint (named->state, ==, MW_STATE_PENDING);
  g_assert_false (named->migrations_table_detected);

  /* Named, it is never replaced by a guess. */
  mw_migration_set_set_table (f->set, "__drizzle_migrations");
  wrong_name = diagnose_unchanged (f);
  g_assert_cmpint (wrong_name->state, ==, MW_STATE_UNTRACKED);

  mw_migration_set_set_table (f->set, NULL);
  mw_test_sql_exec (f->db, "CREATE TABLE other_migrations (id SERIAL PRIMARY KEY, "
                           "hash text NOT NULL, created_at numeric)");
  two = diagnose_unchanged (f);
  g_assert_cmpint (two->state, ==, MW_STATE_UNTRACKED);
  g_assert_false (two->migrations_table_detected);

  /* The migrator writes where the diagnosis read. */
  mw_test_sql_exec (f->db, "DROP TABLE other_migrations");
  mw_test_fixture_migrate (f, NULL);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM app_migrations"), ==, 3);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                           "'__drizzle_migrations'"), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) \
  g_test_add ("/mw/engine/diagnosis/" path, Fixture, NULL, fixture_set_up, fn, \
              mw_test_fixture_tear_down)
  ADD ("missing", test_missing);
  ADD ("up-to-date", test_up_to_date);
  ADD ("pending", test_pending);
  ADD ("empty-file", test_empty_file);
  ADD ("out-of-order", test_out_of_order);
  ADD ("modified", test_modified);
  ADD ("line-endings-only", test_line_endings_only);
  ADD ("newer", test_newer);
  ADD ("unknown-history", test_unknown_history);
  ADD ("untracked", test_untracked);
  ADD ("not-a-database", test_not_a_database);
  ADD ("corrupt/schema-page", test_corrupt_schema_page);
  ADD ("corrupt/truncated", test_corrupt_truncated);
  ADD ("locked/pending", test_locked);
  ADD ("locked/up-to-date-is-not-blocked", test_locked_up_to_date);
  ADD ("locked/by-another-process", test_locked_by_other_process);
  ADD ("json", test_json);
  ADD ("json-unknown-rows", test_json_unknown);
  ADD ("migrations-missing", test_migrations_missing);
  ADD ("async", test_async);
  g_test_add_func ("/mw/engine/diagnosis/space-rule", test_space_rule);
  g_test_add_func ("/mw/engine/diagnosis/state-names", test_state_names);
  ADD ("wal/clean", test_wal_clean);
  ADD ("wal/left-as-it-was", test_wal_not_checkpointed);
  ADD ("invalid/double-quoted-string", test_invalid_double_quoted);
  ADD ("invalid/rehearsed-in-order", test_invalid_rehearsed_in_order);
  ADD ("invalid/needs-newer-sqlite", test_invalid_needs_newer_sqlite);
  ADD ("rehearsal-leaves-data-to-the-run", test_rehearsal_leaves_data_to_the_run);
  ADD ("table/v1-folder-upgrades-0x-table", test_v1_folder_upgrades_0x_table);
  ADD ("table/empty-journal", test_empty_journal);
  ADD ("table/custom-name", test_custom_migrations_table);
#undef ADD

  return g_test_run ();
}
