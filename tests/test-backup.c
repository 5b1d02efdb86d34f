/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Verified backups: made through SQLite (so data still in the -wal is in them), checked,
 * described by a sidecar, and not trusted once damaged.
 */

#include "config.h"

#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mw-db-private.h"
#include "mw-fs-private.h"
#include "mw-page-record-private.h"
#include "mw-test-util.h"

typedef MwTestFixture Fixture;

static const MwTestMigration tills[] = {
  { "0000_init", 1700000000000,
    "CREATE TABLE `sales` (`id` integer PRIMARY KEY, `total` integer NOT NULL);" },
  { "0001_tills", 1700000100000, "CREATE TABLE `tills` (`id` text PRIMARY KEY NOT NULL);" },
  { NULL }
};

/* A shop at the first level with 5000 sales, in a folder whose name needs care. */
static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  mw_test_fixture_set_up_named (f, "backup tëst", "pos_system.db");
  mw_test_fixture_write (f, tills);
  mw_test_fixture_migrate (f, "0000_init");
  mw_test_sql_exec (f->db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 5000) INSERT INTO sales (total) SELECT i FROM n;");
}

static MwBackup *
backup_now (Fixture *f, MwBackupReason reason)
{
  g_autoptr(GError) error = NULL;
  MwBackup *backup = mw_backup_create (f->db, NULL, reason, f->set, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (backup);
  return backup;
}

static void
test_wal_data_is_in_the_backup (Fixture *f, gconstpointer data)
{
  g_autoptr(MwBackup) backup = NULL;
  g_autofree char *wal = g_strconcat (f->db, "-wal", NULL);
  g_autofree char *backup_wal = NULL;
  g_autofree char *header = NULL;
  sqlite3 *pos = NULL;
  GStatBuf st;

  /* The POS, in WAL mode, has committed 250 more sales that are only in its -wal. */
  g_assert_cmpint (sqlite3_open (f->db, &pos), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (pos, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
                                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                                 "WHERE i < 250) INSERT INTO sales (total) SELECT i FROM n;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (g_stat (wal, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 0);

  backup = backup_now (f, MW_BACKUP_REASON_MANUAL);
  sqlite3_close (pos);

  g_assert_cmpint (mw_test_sql_int (backup->path, "SELECT count(*) FROM sales"), ==, 5250);
  /* A backup is one file in rollback-journal mode: nothing beside it. */
  header = mw_test_sql_text (backup->path, "PRAGMA journal_mode");
  g_assert_cmpstr (header, ==, "delete");
  backup_wal = g_strconcat (backup->path, "-wal", NULL);
  g_assert_false (g_file_test (backup_wal, G_FILE_TEST_EXISTS));
}

static void
test_sidecar_and_name (Fixture *f, gconstpointer data)
{
  g_autoptr(MwBackup) a = backup_now (f, MW_BACKUP_REASON_MANUAL);
  g_autoptr(MwBackup) b = backup_now (f, MW_BACKUP_REASON_PRE_MIGRATION);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *digest = NULL, *base = NULL, *canonical_db = NULL;
  JsonObject *obj;
  GStatBuf st;

  /* Two in the same second never share a name. */
  g_assert_cmpstr (a->path, !=, b->path);
  base = g_path_get_basename (a->path);
  g_assert_true (g_regex_match_simple ("^aurswift-backup-\\d{8}-\\d{6}(-\\d+)?\\.db$", base, 0, 0));
  g_assert_true (g_str_has_prefix (a->path, f->backups));

  g_assert_cmpint (g_stat (a->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  json_parser_load_from_file (parser, a->sidecar_path, &error);
  g_assert_no_error (error);
  obj = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (obj, "reason"), ==, "manual");
  canonical_db = g_canonicalize_filename (f->db, NULL);
  g_assert_cmpstr (json_object_get_string_member (obj, "source"), ==, canonical_db);
  g_assert_cmpint (json_object_get_int_member (obj, "size"), ==, st.st_size);
  digest = mw_test_file_digest (a->path);
  g_assert_cmpstr (json_object_get_string_member (obj, "sha256"), ==, digest);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (obj, "level"), "tag"),
                   ==, "0000_init");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (obj, "level"), "count"),
                   ==, 1);
  g_assert_cmpstr (json_object_get_string_member (obj, "sqlite_version"), ==, sqlite3_libversion ());
  g_assert_true (json_object_get_boolean_member (obj, "verified"));
  {
    g_autoptr(GDateTime) created =
      g_date_time_new_from_iso8601 (json_object_get_string_member (obj, "created"), NULL);
    g_assert_nonnull (created);
  }
}

static void
test_damaged_backup_not_trusted (Fixture *f, gconstpointer data)
{
  g_autoptr(MwBackup) made = backup_now (f, MW_BACKUP_REASON_MANUAL);
  g_autoptr(MwBackup) truncated_made = backup_now (f, MW_BACKUP_REASON_MANUAL);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;
  MwBackup *damaged = NULL, *truncated = NULL;

  /* One backup gets a few bytes flipped in the middle, same size... */
  g_assert_true (g_file_get_contents (made->path, &contents, &len, NULL));
  contents[len / 2] ^= 0xff;
  contents[len / 2 + 1] ^= 0xff;
  g_assert_true (g_file_set_contents (made->path, contents, len, NULL));
  /* ...the other is cut short. */
  g_assert_cmpint (truncate (truncated_made->path, (off_t) len / 2), ==, 0);

  list = mw_backup_list (f->backups, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  for (guint i = 0; i < list->len; i++)
    {
      MwBackup *b = g_ptr_array_index (list, i);

      if (g_str_equal (b->path, made->path))
        damaged = b;
      else
        truncated = b;
    }
  g_assert_false (truncated->verified);
  g_assert_nonnull (strstr (truncated->problem, "size"));

  /* Same size: only the full check finds it, and then it is not offered. */
  g_assert_false (mw_backup_verify (damaged, NULL, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT);
  g_assert_false (damaged->verified);
  g_assert_nonnull (damaged->problem);
}

/* One leaf page of the sales overwritten: what quick_check finds. */
static void
damage_a_leaf (const char *db)
{
  gint64 leaf = mw_test_sql_int (db, "SELECT pageno FROM dbstat WHERE name = 'sales' AND "
                                     "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 3");
  gint64 page_size = mw_test_sql_int (db, "PRAGMA page_size");
  g_autofree char *garbage = g_malloc (page_size);
  FILE *file = fopen (db, "r+b");

  memset (garbage, 0x42, page_size);
  g_assert_nonnull (file);
  g_assert_cmpint (fseek (file, (long) ((leaf - 1) * page_size), SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (garbage, 1, page_size, file), ==, (gsize) page_size);
  fclose (file);
}

/* The database is checked while it is copied: a damaged one gets no backup (none that
 * could be offered), says what SQLite found, and is left as it was. */
static void
test_damaged_database_gets_no_backup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MwBackup) backup = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autofree char *before = NULL, *after = NULL;

  damage_a_leaf (f->db);
  before = mw_test_file_digest (f->db);
  backup = mw_backup_create (f->db, NULL, MW_BACKUP_REASON_MANUAL, f->set, NULL, NULL, &error);
  g_assert_null (backup);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT);
  mw_test_assert_mentions (error->message, "failed its check");
  g_clear_error (&error);
  list = mw_backup_list (f->backups, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 0);
  after = mw_test_file_digest (f->db);
  g_assert_cmpstr (after, ==, before);
}

/* The POS holds the write lock, with a sale not yet committed, for longer than the
 * backup waits to share one snapshot between the copy and the check: the backup is
 * still made (its copy then checked by SQLite itself), with every committed sale and
 * not the pending one; in WAL mode (data in the -wal) and in rollback mode. */
static void
test_backup_while_the_pos_writes (Fixture *f, gconstpointer data)
{
  const char *modes[] = { "DELETE", "WAL" };

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autofree char *setup = g_strdup_printf ("PRAGMA journal_mode=%s; PRAGMA "
                                                "wal_autocheckpoint=0; INSERT INTO sales "
                                                "(total) VALUES (-1);", modes[i]);
      g_autofree char *pending = g_strdup_printf ("BEGIN IMMEDIATE; INSERT INTO sales (total) "
                                                  "VALUES (%d);", -100 - (int) i);
      g_autofree char *find = g_strdup_printf ("SELECT count(*) FROM sales WHERE total = %d",
                                               -100 - (int) i);
      g_autoptr(MwBackup) backup = NULL;
      sqlite3 *pos = NULL;

      g_assert_cmpint (sqlite3_open (f->db, &pos), ==, SQLITE_OK);
      g_assert_cmpint (sqlite3_exec (pos, setup, NULL, NULL, NULL), ==, SQLITE_OK);
      g_assert_cmpint (sqlite3_exec (pos, pending, NULL, NULL, NULL), ==, SQLITE_OK);
      backup = backup_now (f, MW_BACKUP_REASON_MANUAL);
      g_assert_true (backup->verified);
      /* Each round's committed sale (-1) and the last round's pending one, since
       * committed: not this round's. */
      g_assert_cmpint (mw_test_sql_int (backup->path, "SELECT count(*) FROM sales"), ==,
                       5001 + 2 * i);
      g_assert_cmpint (mw_test_sql_int (backup->path, find), ==, 0);
      g_assert_cmpint (sqlite3_exec (pos, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
      sqlite3_close (pos);
    }
}

/* What SQLite writes through the recording VFS is what must read back: the file as
 * written passes, one byte changed, a page cut off or a page too many do not. */
static void
test_page_record (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "recorded.db", NULL);
  g_autoptr(MwPageRecord) record = mw_page_record_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *longer = NULL;
  sqlite3 *db;
  gsize len = 0;

  db = mw_db_open_full (path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000,
                        mw_page_record_vfs (), &error);
  g_assert_no_error (error);
  g_assert_true (mw_page_record_attach (record, db));
  g_assert_true (mw_db_exec (db, "CREATE TABLE t (x); WITH RECURSIVE n(i) AS (SELECT 1 UNION "
                                 "ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t "
                                 "SELECT printf('row %d', i) FROM n; DELETE FROM t WHERE "
                                 "rowid % 3 = 0; VACUUM;", &error));
  mw_db_close (db);
  g_assert_true (mw_page_record_usable (record));

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 4 * 4096);
  g_assert_true (mw_page_record_verify (record, (guint8 *) contents, len, path, &error));
  g_assert_no_error (error);

  contents[len - 4096 - 100] ^= 0x10;
  g_assert_false (mw_page_record_verify (record, (guint8 *) contents, len, path, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT);
  mw_test_assert_mentions (error->message, "differs");
  g_clear_error (&error);
  contents[len - 4096 - 100] ^= 0x10;

  g_assert_false (mw_page_record_verify (record, (guint8 *) contents, len - 4096, path, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT);
  g_clear_error (&error);

  longer = g_malloc0 (len + 4096);
  memcpy (longer, contents, len);
  g_assert_false (mw_page_record_verify (record, (guint8 *) longer, len + 4096, path, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT);
}

static void
test_missing_database (Fixture *f, gconstpointer data)
{
  g_autofree char *nowhere = g_build_filename (f->dir, "none.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MwBackup) backup = mw_backup_create (nowhere, NULL, MW_BACKUP_REASON_MANUAL, NULL,
                                                 NULL, NULL, &error);

  g_assert_null (backup);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_DATABASE_MISSING);
  g_assert_false (g_file_test (f->backups, G_FILE_TEST_EXISTS));
}

static void
test_migrate_backs_up_only_when_there_is_work (Fixture *f, gconstpointer data)
{
  g_autoptr(MwMigrator) migrator = mw_migrator_new (f->db, f->set);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  MwBackup *backup;

  g_assert_true (mw_migrator_run (migrator, NULL, &error));
  backup = mw_migrator_get_backup (migrator);
  g_assert_nonnull (backup);
  g_assert_cmpint (backup->reason, ==, MW_BACKUP_REASON_PRE_MIGRATION);
  /* The backup has the database as it was before the migration. */
  g_assert_cmpstr (backup->level_tag, ==, "0000_init");
  g_assert_cmpint (mw_test_sql_int (backup->path, "SELECT count(*) FROM sqlite_schema WHERE name = 'tills'"), ==, 0);
  g_assert_cmpint (mw_test_sql_int (backup->path, "SELECT count(*) FROM sales"), ==, 5000);

  /* Up to date: no backup. */
  g_assert_true (mw_migrator_run (migrator, NULL, &error));
  g_assert_null (mw_migrator_get_backup (migrator));
  list = mw_backup_list (f->backups, &error);
  g_assert_cmpuint (list->len, ==, 1);
}

static void
test_retention (Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) removed = NULL;
  g_autoptr(GPtrArray) left = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *offered = NULL;
  MwRetention retention;
  guint n_manual = 0, n_pre = 0, n_old_level = 0;
  const char *protect[2] = { NULL, NULL };

  /* Seven manual backups at level 0000 (the first of them "offered" by a dialog), then
   * the database moves to level 0001 and gets four pre-migration ones. */
  for (guint i = 0; i < 7; i++)
    {
      g_autoptr(MwBackup) b = backup_now (f, MW_BACKUP_REASON_MANUAL);

      if (i == 0)
        offered = g_strdup (b->path);
    }
  {
    g_autoptr(MwMigrator) migrator = mw_migrator_new (f->db, f->set);

    mw_migrator_set_backup (migrator, FALSE, NULL);
    g_assert_true (mw_migrator_run (migrator, NULL, &error));
  }
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(MwBackup) b = backup_now (f, MW_BACKUP_REASON_PRE_MIGRATION);
    }

  mw_retention_init_defaults (&retention);
  retention.keep[MW_BACKUP_REASON_MANUAL] = 2;
  retention.keep[MW_BACKUP_REASON_PRE_MIGRATION] = 1;
  protect[0] = offered;
  removed = mw_backup_prune (f->backups, &retention, protect, &error);
  g_assert_no_error (error);

  left = mw_backup_list (f->backups, &error);
  for (guint i = 0; i < left->len; i++)
    {
      MwBackup *b = g_ptr_array_index (left, i);

      if (b->reason == MW_BACKUP_REASON_MANUAL)
        n_manual++;
      else
        n_pre++;
      if (g_strcmp0 (b->level_tag, "0000_init") == 0)
        n_old_level++;
      g_assert_true (b->verified);
    }
  /* Pre-migration: 1 kept. Manual: the newest 2, and the offered one. The newest of
   * the older level is among the newest manual ones, so nothing more is needed. */
  g_assert_cmpuint (n_pre, ==, 1);
  g_assert_cmpuint (n_manual, ==, 3);
  g_assert_cmpuint (n_old_level, ==, 3);
  g_assert_cmpuint (removed->len, ==, 7);
  g_assert_true (g_file_test (offered, G_FILE_TEST_EXISTS));
  for (guint i = 0; i < removed->len; i++)
    {
      g_autofree char *sidecar = g_strconcat (g_ptr_array_index (removed, i), ".json", NULL);

      g_assert_false (g_file_test (g_ptr_array_index (removed, i), G_FILE_TEST_EXISTS));
      g_assert_false (g_file_test (sidecar, G_FILE_TEST_EXISTS));
    }

  /* Keeping 0 of a kind still keeps the newest of each recent level. */
  retention.keep[MW_BACKUP_REASON_MANUAL] = 0;
  retention.keep[MW_BACKUP_REASON_PRE_MIGRATION] = 0;
  g_clear_pointer (&removed, g_ptr_array_unref);
  g_clear_pointer (&left, g_ptr_array_unref);
  removed = mw_backup_prune (f->backups, &retention, NULL, &error);
  left = mw_backup_list (f->backups, &error);
  g_assert_cmpuint (left->len, ==, 2);
}

/* The sidecar's SHA-256 (nettle's) is the file's, as sha256sum and GLib compute it:
 * backups made before nettle stay verifiable, and a technician can check one by hand. */
static void
test_hash_as_sha256sum (Fixture *f, gconstpointer data)
{
  g_autoptr(MwBackup) backup = backup_now (f, MW_BACKUP_REASON_MANUAL);
  g_autofree char *glib_digest = mw_test_file_digest (backup->path);
  g_autofree char *out = NULL;
  g_autofree char *sha256sum = g_find_program_in_path ("sha256sum");
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (backup->sha256, ==, glib_digest);
  if (sha256sum != NULL)
    {
      g_assert_cmpint (mw_test_spawn (&out, NULL, sha256sum, backup->path, NULL), ==, 0);
      g_assert_true (g_str_has_prefix (out, backup->sha256));
    }
  /* What a restore checks, side by side with quick_check. */
  g_assert_true (mw_backup_verify (backup, NULL, NULL, &error));
  g_assert_no_error (error);
}

/* Lengths around the read buffer (256 KiB) and SHA-256's 64-byte blocks. */
static void
test_hash_lengths (Fixture *f, gconstpointer data)
{
  const gsize lengths[] = { 0, 1, 55, 56, 63, 64, 65, 256 * 1024 - 1, 256 * 1024,
                            256 * 1024 + 1, 5 * 1024 * 1024 + 17 };
  g_autofree char *path = g_build_filename (f->dir, "bytes", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
    {
      g_autofree guchar *bytes = g_malloc (MAX (lengths[i], 1));
      g_autofree char *expected = NULL;
      g_autofree char *got = NULL;
      g_autoptr(GError) error = NULL;

      for (gsize k = 0; k < lengths[i]; k++)
        bytes[k] = (guchar) (k * 131 + i);
      g_assert_true (g_file_set_contents (path, (char *) bytes, lengths[i], NULL));
      expected = g_compute_checksum_for_data (G_CHECKSUM_SHA256, bytes, lengths[i]);
      got = mw_sha256_of_file (path, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (got, ==, expected);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) \
  g_test_add (path, Fixture, NULL, fixture_set_up, fn, mw_test_fixture_tear_down)
  ADD ("/mw/engine/backup/wal-data-is-in-the-backup", test_wal_data_is_in_the_backup);
  ADD ("/mw/engine/backup/sidecar-and-name", test_sidecar_and_name);
  ADD ("/mw/engine/backup/damaged-backup-not-trusted", test_damaged_backup_not_trusted);
  ADD ("/mw/engine/backup/missing-database", test_missing_database);
  ADD ("/mw/engine/backup/damaged-database-gets-no-backup", test_damaged_database_gets_no_backup);
  ADD ("/mw/engine/backup/while-the-pos-writes", test_backup_while_the_pos_writes);
  ADD ("/mw/engine/backup/page-record", test_page_record);
  ADD ("/mw/engine/backup/migrate-backs-up-only-when-there-is-work",
       test_migrate_backs_up_only_when_there_is_work);
  ADD ("/mw/engine/backup/retention", test_retention);
  ADD ("/mw/engine/backup/hash-as-sha256sum", test_hash_as_sha256sum);
  ADD ("/mw/engine/backup/hash-lengths", test_hash_lengths);
#undef ADD

  return g_test_run ();
}
