/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Hostile files: whoever can write to the database's or the backups' folder (a shared
 * Windows folder, a shop PC with one account, a technician's copied folder) plants
 * symlinks where the wizard writes, crafts its operation journal and backup sidecars,
 * nests JSON a hundred thousand levels deep, turns files into FIFOs. The real binary
 * must refuse each with a clear message and a documented exit status, without
 * touching anything outside its folders or losing anything inside them; `status`
 * changes no file of the set; modes are kept; pruning needs proof; the support
 * bundle leaks no secret.
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "mw-testlib.h"

typedef struct
{
  char *dir;
  char *outside;      /* a folder the wizard has no business in */
  char *migrations;
  char *db;
  char *backups;
} Fixture;

static const char *cli_path, *demo_db_path, *app_migrations;

static const char *shop_tags[] = { "0000_init", "0001_items", "0002_note" };
static const gint64 shop_whens[] = { 1700000000000, 1700000100000, 1700000200000 };
static const char *shop_sqls[] = {
  "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL, `name` text);\n"
  "--> statement-breakpoint\n"
  "CREATE TABLE `sales` (`id` integer PRIMARY KEY, `shop_id` text NOT NULL "
  "REFERENCES shops(id) ON DELETE CASCADE, `total` integer);",
  "ALTER TABLE `sales` ADD `note` text;",
  "CREATE INDEX `sales_by_shop` ON `sales` (`shop_id`);",
};

/* ---- helpers ------------------------------------------------------------------------- */

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = mw_test_make_tmp_dir ("Kasse Müller");
  f->outside = g_build_filename (f->dir, "..", "outside", NULL);
  f->migrations = g_build_filename (f->dir, "migrations", NULL);
  f->db = g_build_filename (f->dir, "pos_system.db", NULL);
  f->backups = g_build_filename (f->dir, "backups", NULL);
  g_assert_cmpint (g_mkdir_with_parents (f->outside, 0700), ==, 0);
  mw_test_write_journal (f->migrations, G_N_ELEMENTS (shop_tags), shop_tags, shop_whens,
                         shop_sqls);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  mw_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->outside);
  g_free (f->migrations);
  g_free (f->db);
  g_free (f->backups);
}

/* Runs the CLI with @args (NULL-terminated), at most 30 s: a hang fails the test.
 * @out_err gets what it printed, stderr then stdout. */
static int
run (char       **out_err,
     const char  *first,
     ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) err = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  const char *arg;
  va_list ap;
  g_autoptr(GString) out = g_string_new (NULL);
  GPid pid;
  int out_fd, err_fd, status = 0;
  char buffer[4096];
  gssize n;

  g_ptr_array_add (argv, (char *) cli_path);
  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  g_spawn_async_with_pipes (NULL, (char **) argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                            NULL, &pid, NULL, &out_fd, &err_fd, &error);
  g_assert_no_error (error);
  g_unix_set_fd_nonblocking (out_fd, TRUE, NULL);
  g_unix_set_fd_nonblocking (err_fd, TRUE, NULL);
  while (waitpid (pid, &status, WNOHANG) == 0)
    {
      while ((n = read (err_fd, buffer, sizeof buffer)) > 0)
        g_string_append_len (err, buffer, n);
      while ((n = read (out_fd, buffer, sizeof buffer)) > 0)
        g_string_append_len (out, buffer, n);
      if (g_get_monotonic_time () > deadline)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &status, 0);
          g_spawn_close_pid (pid);
          close (err_fd);
          close (out_fd);
          g_error ("%s %s hung", cli_path, first);
        }
      g_usleep (5000);
    }
  while ((n = read (err_fd, buffer, sizeof buffer)) > 0)
    g_string_append_len (err, buffer, n);
  while ((n = read (out_fd, buffer, sizeof buffer)) > 0)
    g_string_append_len (out, buffer, n);
  close (err_fd);
  close (out_fd);
  g_string_append (err, out->str);
  g_spawn_close_pid (pid);
  if (g_test_verbose ())
    g_printerr ("--- %s: %s\n", first, err->str);
  if (out_err != NULL)
    *out_err = g_string_free (g_steal_pointer (&err), FALSE);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
make_shop (Fixture *f)
{
  g_assert_cmpint (run (NULL, "migrate", "--quiet", "--to", "0000_init", "--database", f->db,
                        "--migrations", f->migrations, "--backup-dir", f->backups, NULL), ==, 0);
  mw_test_sql_exec (f->db, "INSERT INTO shops VALUES ('s1', 'Corner');"
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 500) INSERT INTO sales (shop_id, total) SELECT 's1', i FROM n;");
}

static char *
file_text (const char *path)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("(missing)");
  return g_steal_pointer (&text);
}

#define assert_owned_str(owned, expected) \
  G_STMT_START { \
    g_autofree char *owned_ = (owned); \
    g_assert_cmpstr (owned_, ==, (expected)); \
  } G_STMT_END

static guint
count_prefixed (const char *dir,
                const char *prefix,
                const char *suffix)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, prefix) && g_str_has_suffix (name, suffix))
      n++;
  return n;
}

static char *
stamp_in (int seconds)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GDateTime) then = g_date_time_add_seconds (now, seconds);

  return g_date_time_format (then, "%Y%m%d-%H%M%S");
}

/* ---- symlinks where the wizard writes --------------------------------------------------- */

/* A `.mw-lock` that is a symlink, or a second name of another file, is never written:
 * the file it leads to keeps its content. */
static void
test_lock_not_followed (Fixture *f, gconstpointer data)
{
  g_autofree char *victim = g_build_filename (f->outside, "victim.txt", NULL);
  g_autofree char *lock = g_strconcat (f->db, ".mw-lock", NULL);
  g_autofree char *err = NULL, *err2 = NULL;
  g_autofree char *before = NULL;

  make_shop (f);
  before = mw_test_file_digest (f->db);
  mw_test_write_file (victim, "precious");
  g_assert_cmpint (g_unlink (lock), ==, 0);
  g_assert_cmpint (symlink (victim, lock), ==, 0);

  g_assert_cmpint (run (&err, "migrate", "--database", f->db, "--migrations", f->migrations,
                        "--backup-dir", f->backups, NULL), ==, 18);
  g_assert_nonnull (strstr (err, ".mw-lock"));
  assert_owned_str (file_text (victim), "precious");
  assert_owned_str (mw_test_file_digest (f->db), before);
  g_assert_cmpint (run (NULL, "fresh", "--yes", "--database", f->db, "--migrations",
                        f->migrations, "--backup-dir", f->backups, NULL), ==, 18);
  assert_owned_str (file_text (victim), "precious");

  /* A hard link: the same file under a second name. */
  g_assert_cmpint (g_unlink (lock), ==, 0);
  g_assert_cmpint (link (victim, lock), ==, 0);
  g_assert_cmpint (run (&err2, "migrate", "--database", f->db, "--migrations", f->migrations,
                        "--backup-dir", f->backups, NULL), ==, 18);
  assert_owned_str (file_text (victim), "precious");
  assert_owned_str (mw_test_file_digest (f->db), before);
}

/* Dangling symlinks at every temporary backup name the next seconds could use: the
 * backup is still made inside backups/, and nothing is written where they point. */
static void
test_backup_tmp_not_followed (Fixture *f, gconstpointer data)
{
  g_autofree char *err = NULL;

  make_shop (f);
  g_assert_cmpint (g_mkdir_with_parents (f->backups, 0700), ==, 0);
  for (int s = -1; s < 15; s++)
    {
      g_autofree char *stamp = stamp_in (s);
      g_autofree char *tmp_name = g_strdup_printf (".aurswift-backup-%s.db.tmp", stamp);
      g_autofree char *tmp = g_build_filename (f->backups, tmp_name, NULL);
      g_autofree char *target_name = g_strdup_printf ("leak-%s.db", stamp);
      g_autofree char *target = g_build_filename (f->outside, target_name, NULL);

      g_assert_cmpint (symlink (target, tmp), ==, 0);
    }

  g_assert_cmpint (run (&err, "backup", "--database", f->db, "--backup-dir", f->backups,
                        "--migrations", f->migrations, NULL), ==, 0);
  assert_owned_str (mw_test_list_dir (f->outside), "");
  g_assert_cmpuint (count_prefixed (f->backups, "aurswift-backup-", ".db"), ==, 1);
  g_assert_cmpint (run (NULL, "restore", "--database", f->db, "--backup-dir", f->backups,
                        "--migrations", f->migrations, NULL), ==, 26);
}

/* A backups folder others may write to is made private; one that is not ours is refused. */
static void
test_backups_folder_private (Fixture *f, gconstpointer data)
{
  GStatBuf st;

  make_shop (f);
  g_assert_cmpint (g_mkdir_with_parents (f->backups, 0700), ==, 0);
  g_assert_cmpint (g_chmod (f->backups, 0777), ==, 0);
  g_assert_cmpint (run (NULL, "backup", "--database", f->db, "--backup-dir", f->backups,
                        "--migrations", f->migrations, NULL), ==, 0);
  g_assert_cmpint (g_stat (f->backups, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  /* A shared folder (sticky, like /tmp) is refused and left as it is, even as root. */
  {
    g_autofree char *shared = g_build_filename (f->dir, "shared", NULL);

    g_assert_cmpint (g_mkdir_with_parents (shared, 0700), ==, 0);
    g_assert_cmpint (g_chmod (shared, 01777), ==, 0);
    g_assert_cmpint (run (NULL, "backup", "--database", f->db, "--backup-dir", shared,
                          "--migrations", f->migrations, NULL), ==, 18);
    g_assert_cmpint (g_stat (shared, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 07777, ==, 01777);
    assert_owned_str (mw_test_list_dir (shared), "");
  }

  if (geteuid () == 0)
    {
      g_autofree char *theirs = g_build_filename (f->dir, "their backups", NULL);
      g_autofree char *err = NULL;

      g_assert_cmpint (g_mkdir_with_parents (theirs, 0700), ==, 0);
      g_assert_cmpint (chown (theirs, 65534, 65534), ==, 0);
      g_assert_cmpint (g_chmod (theirs, 0777), ==, 0);
      g_assert_cmpint (run (&err, "backup", "--database", f->db, "--backup-dir", theirs,
                            "--migrations", f->migrations, NULL), ==, 18);
      g_assert_nonnull (strstr (err, "other users"));
      assert_owned_str (mw_test_list_dir (theirs), "");
    }
}

/* A backup that is a symlink to a database elsewhere, with a matching sidecar, is
 * listed as not usable and never restored. */
static void
test_backup_symlink_not_restored (Fixture *f, gconstpointer data)
{
  g_autofree char *other = g_build_filename (f->outside, "other.db", NULL);
  g_autofree char *link_path = g_build_filename (f->backups,
                                                 "aurswift-backup-20200101-000000.db", NULL);
  g_autofree char *sidecar = g_strconcat (link_path, ".json", NULL);
  g_autofree char *sha = NULL, *json = NULL, *listing = NULL, *before = NULL;
  GStatBuf st;

  make_shop (f);
  before = mw_test_file_digest (f->db);
  mw_test_sql_exec (other, "PRAGMA journal_mode = DELETE; CREATE TABLE planted (x);");
  g_assert_cmpint (g_stat (other, &st), ==, 0);
  sha = mw_test_file_digest (other);
  g_assert_cmpint (g_mkdir_with_parents (f->backups, 0700), ==, 0);
  g_assert_cmpint (symlink (other, link_path), ==, 0);
  json = g_strdup_printf ("{\"created\":\"2020-01-01T00:00:00Z\",\"reason\":\"pre-migration\","
                          "\"size\":%" G_GINT64_FORMAT ",\"sha256\":\"%s\",\"verified\":true,"
                          "\"level\":{\"tag\":\"0000_init\",\"count\":1}}",
                          (gint64) st.st_size, sha);
  mw_test_write_file (sidecar, json);

  g_assert_cmpint (mw_test_spawn (&listing, NULL, cli_path, "backups", "--backup-dir",
                                  f->backups, "--database", f->db, NULL), ==, 0);
  g_assert_nonnull (strstr (listing, "NOT USABLE"));
  g_assert_cmpint (run (NULL, "restore", "--yes", "--database", f->db, "--backup-dir",
                        f->backups, "--migrations", f->migrations, NULL), ==, 27);
  g_assert_cmpint (run (NULL, "restore", "aurswift-backup-20200101-000000.db", "--yes",
                        "--database", f->db, "--backup-dir", f->backups, "--migrations",
                        f->migrations, NULL), ==, 27);
  assert_owned_str (mw_test_file_digest (f->db), before);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                           "'planted'"), ==, 0);
}

/* ---- the operation journal ------------------------------------------------------------ */

typedef struct
{
  const char *what;
  const char *json;    /* %1$s the database, %2$s the outside folder */
} Crafted;

static const Crafted crafted[] = {
  { "a temporary file outside the folder",
    "{\"operation\":\"restore\",\"step\":\"copying\",\"tmp\":\"%2$s/victim.txt\","
    "\"aside\":\"%1$s.old.20200101-000000\"}" },
  { "the database moved outside the folder",
    "{\"operation\":\"restore\",\"step\":\"copied\",\"tmp\":\"%1$s.mw-restore\","
    "\"aside\":\"%2$s/pos_system.db.old.20200101-000000\"}" },
  { "a planted file put in place",
    "{\"operation\":\"restore\",\"step\":\"copied\",\"tmp\":\"%1$s.planted\","
    "\"aside\":\"%1$s.old.20200101-000000\"}" },
  { "another operation's temporary name",
    "{\"operation\":\"fresh\",\"step\":\"created\",\"tmp\":\"%1$s.mw-restore\","
    "\"aside\":\"%1$s.old.20200101-000000\"}" },
  { "an aside name of no pattern of ours",
    "{\"operation\":\"repair\",\"step\":\"copied\",\"tmp\":\"%1$s.repaired-20200101-000000\","
    "\"aside\":\"%1$s.old.yesterday\"}" },
  { "an operation it does not perform",
    "{\"operation\":\"format\",\"step\":\"copied\",\"tmp\":\"%1$s.mw-format\","
    "\"aside\":\"%1$s.old.20200101-000000\"}" },
  { "a step it does not take",
    "{\"operation\":\"restore\",\"step\":\"explode\",\"tmp\":\"%1$s.mw-restore\","
    "\"aside\":\"%1$s.old.20200101-000000\"}" },
  { "members of the wrong type",
    "{\"operation\":5,\"step\":[\"copied\"],\"tmp\":{\"a\":1},\"aside\":null}" },
  { "not an object", "[\"restore\", \"copied\"]" },
  { "not JSON", "restore copied" },
};

static void
write_journal_text (const char *path,
                    const char *text)
{
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

/* Each crafted journal stops every command with 34, touching nothing: no file outside
 * is removed, the database stays, the planted file is not put in place, and the
 * journal itself is left for a person to look at. */
static void
test_journal_crafted (Fixture *f, gconstpointer data)
{
  g_autofree char *journal = g_strconcat (f->db, ".mw-operation", NULL);
  g_autofree char *victim = g_build_filename (f->outside, "victim.txt", NULL);
  g_autofree char *own_tmp = g_strconcat (f->db, ".mw-restore", NULL);
  g_autofree char *planted = g_strconcat (f->db, ".planted", NULL);
  g_autofree char *canonical_outside = NULL;
  g_autofree char *before = NULL;

  make_shop (f);
  before = mw_test_file_digest (f->db);
  canonical_outside = g_canonicalize_filename (f->outside, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (crafted); i++)
    {
      g_autofree char *text = NULL;
      g_autofree char *err = NULL;
      const char *commands[] = { "status", "migrate", "backup", "fresh", "repair" };

      mw_test_write_file (victim, "precious");
      mw_test_sql_exec (own_tmp, "CREATE TABLE IF NOT EXISTS planted (x)");
      mw_test_sql_exec (planted, "CREATE TABLE IF NOT EXISTS planted (x)");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
      text = g_strdup_printf (crafted[i].json, f->db, canonical_outside);
#pragma GCC diagnostic pop
      write_journal_text (journal, text);

      for (guint c = 0; c < G_N_ELEMENTS (commands); c++)
        {
          g_clear_pointer (&err, g_free);
          if (run (&err, commands[c], "--yes", "--database", f->db, "--migrations",
                   f->migrations, "--backup-dir", f->backups, NULL) != 34)
            g_error ("%s, %s: not refused with 34: %s", crafted[i].what, commands[c], err);
          g_assert_nonnull (strstr (err, "was not written by this program") != NULL
                            ? err : strstr (err, "cannot be read"));
        }
      assert_owned_str (file_text (victim), "precious");
      assert_owned_str (mw_test_file_digest (f->db), before);
      g_assert_true (g_file_test (own_tmp, G_FILE_TEST_EXISTS));
      g_assert_true (g_file_test (planted, G_FILE_TEST_EXISTS));
      g_assert_true (g_file_test (journal, G_FILE_TEST_EXISTS));
      g_assert_cmpuint (count_prefixed (f->dir, "pos_system.db.old.", ""), ==, 0);
      assert_owned_str (mw_test_list_dir (f->outside), "victim.txt\n");
    }

  /* A symlink at the journal's name, to a journal that would be obeyed. */
  {
    g_autofree char *elsewhere = g_build_filename (f->outside, "journal.json", NULL);
    g_autofree char *text = g_strdup_printf ("{\"operation\":\"restore\",\"step\":\"copying\","
                                             "\"tmp\":\"%s.mw-restore\",\"aside\":"
                                             "\"%s.old.20200101-000000\"}", f->db, f->db);

    mw_test_write_file (elsewhere, text);
    g_assert_cmpint (g_unlink (journal), ==, 0);
    g_assert_cmpint (symlink (elsewhere, journal), ==, 0);
    g_assert_cmpint (run (NULL, "status", "--database", f->db, "--migrations", f->migrations,
                          NULL), ==, 34);
    g_assert_true (g_file_test (own_tmp, G_FILE_TEST_EXISTS));
  }

  /* A hundred thousand nested arrays, and a journal of 4 MB: no crash, refused. */
  {
    g_autoptr(GString) deep = g_string_new (NULL);

    g_assert_cmpint (g_unlink (journal), ==, 0);
    for (guint i = 0; i < 100000; i++)
      g_string_append_c (deep, '[');
    write_journal_text (journal, deep->str);
    g_assert_cmpint (run (NULL, "status", "--database", f->db, "--migrations", f->migrations,
                          NULL), ==, 34);
    g_string_set_size (deep, 0);
    g_string_append_c (deep, '{');
    for (guint i = 0; i < 4 * 1024 * 1024; i++)
      g_string_append_c (deep, ' ');
    g_string_append_c (deep, '}');
    write_journal_text (journal, deep->str);
    g_assert_cmpint (run (NULL, "status", "--database", f->db, "--migrations", f->migrations,
                          NULL), ==, 34);
  }

  /* And the journal the wizard itself writes is obeyed: undone, the journal gone. */
  {
    g_autofree char *canonical_db = g_canonicalize_filename (f->db, NULL);
    g_autofree char *text = g_strdup_printf ("{\"operation\":\"restore\",\"step\":\"copying\","
                                             "\"tmp\":\"%s.mw-restore\",\"aside\":"
                                             "\"%s.old.20200101-000000\"}", canonical_db,
                                             canonical_db);
    g_autofree char *err = NULL;

    write_journal_text (journal, text);
    g_assert_cmpint (run (&err, "status", "--database", f->db, "--migrations", f->migrations,
                          NULL), ==, 3);
    g_assert_nonnull (strstr (err, "undone"));
    g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (own_tmp, G_FILE_TEST_EXISTS));
    assert_owned_str (mw_test_file_digest (f->db), before);
  }
}

/* ---- what is read --------------------------------------------------------------------- */

/* A migration that is a symlink out of the folder, to /dev/zero, or a FIFO: the
 * folder is malformed (20), at once, and nothing of it runs. A symlink that stays
 * inside the folder is followed. */
static void
test_migration_files_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *sql = g_build_filename (f->migrations, "0001_items.sql", NULL);
  g_autofree char *evil = g_build_filename (f->outside, "evil.sql", NULL);
  g_autofree char *inside = g_build_filename (f->migrations, "real", NULL);
  g_autofree char *inside_sql = g_build_filename (inside, "0001.sql", NULL);
  const char *targets[] = { evil, "/dev/zero" };
  g_autofree char *err = NULL;

  make_shop (f);
  mw_test_write_file (evil, "CREATE TABLE evil (x);");
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      g_assert_cmpint (g_unlink (sql), ==, 0);
      g_assert_cmpint (symlink (targets[i], sql), ==, 0);
      g_assert_cmpint (run (NULL, "status", "--database", f->db, "--migrations", f->migrations,
                            NULL), ==, 20);
      g_assert_cmpint (run (NULL, "migrate", "--database", f->db, "--migrations", f->migrations,
                            "--backup-dir", f->backups, NULL), ==, 20);
    }
  g_assert_cmpint (g_unlink (sql), ==, 0);
  g_assert_cmpint (mkfifo (sql, 0600), ==, 0);
  g_assert_cmpint (run (&err, "status", "--database", f->db, "--migrations", f->migrations,
                        NULL), ==, 20);
  g_assert_nonnull (strstr (err, "not a regular file"));
  g_assert_cmpint (run (NULL, "migrate", "--database", f->db, "--migrations", f->migrations,
                        "--backup-dir", f->backups, NULL), ==, 20);
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                           "'evil'"), ==, 0);

  g_assert_cmpint (g_unlink (sql), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (inside, 0700), ==, 0);
  mw_test_write_file (inside_sql, shop_sqls[1]);
  g_assert_cmpint (symlink ("real/0001.sql", sql), ==, 0);
  g_assert_cmpint (run (NULL, "migrate", "--quiet", "--database", f->db, "--migrations",
                        f->migrations, "--backup-dir", f->backups, NULL), ==, 0);
}

/* The database path is a FIFO: not a database (17), at once. */
static void
test_fifo_database (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (mkfifo (f->db, 0600), ==, 0);
  g_assert_cmpint (run (NULL, "verify", "--database", f->db, NULL), ==, 17);
  g_assert_cmpint (run (NULL, "status", "--database", f->db, "--migrations", f->migrations,
                        NULL), ==, 17);
  g_assert_cmpint (run (NULL, "migrate", "--database", f->db, "--migrations", f->migrations,
                        "--backup-dir", f->backups, NULL), ==, 17);
}

/* A hundred thousand levels of nesting in drizzle's journal and in a sidecar: no
 * crash; the folder is malformed, the backup not usable. */
static void
test_nested_json (Fixture *f, gconstpointer data)
{
  g_autofree char *journal = g_build_filename (f->migrations, "meta", "_journal.json", NULL);
  g_autofree char *backup = g_build_filename (f->backups, "aurswift-backup-20200101-000000.db",
                                              NULL);
  g_autofree char *sidecar = g_strconcat (backup, ".json", NULL);
  g_autofree char *listing = NULL, *err = NULL;
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autofree char *saved_journal = file_text (journal);

  make_shop (f);
  g_assert_cmpint (run (NULL, "backup", "--database", f->db, "--backup-dir", f->backups,
                        "--migrations", f->migrations, NULL), ==, 0);

  for (guint i = 0; i < 100000; i++)
    g_string_append (deep, "{\"a\":[");
  mw_test_write_file (journal, deep->str);
  g_assert_cmpint (run (&err, "status", "--database", f->db, "--migrations", f->migrations,
                        NULL), ==, 20);
  g_assert_nonnull (strstr (err, "nests more than"));

  mw_test_write_file (journal, saved_journal);
  mw_test_sql_exec (backup, "CREATE TABLE t (x)");
  mw_test_write_file (sidecar, deep->str);
  g_assert_cmpint (mw_test_spawn (&listing, NULL, cli_path, "backups", "--backup-dir",
                                  f->backups, "--database", f->db, NULL), ==, 0);
  g_assert_nonnull (strstr (listing, "NOT USABLE"));
  g_assert_cmpint (run (NULL, "restore", "aurswift-backup-20200101-000000.db", "--yes",
                        "--database", f->db, "--backup-dir", f->backups, "--migrations",
                        f->migrations, NULL), ==, 27);
}

/* ---- modes ----------------------------------------------------------------------------- */

static void
assert_mode (const char *path,
             guint       mode,
             uid_t       uid)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, mode);
  g_assert_cmpuint (st.st_uid, ==, uid);
}

/* restore, fresh and repair --yes: the new database has the mode (and, as root, the
 * owner) of the one it replaces. */
static void
test_modes_kept (Fixture *f, gconstpointer data)
{
  uid_t owner = geteuid () == 0 ? 65534 : geteuid ();

  make_shop (f);
  g_assert_cmpint (run (NULL, "backup", "--database", f->db, "--backup-dir", f->backups,
                        "--migrations", f->migrations, NULL), ==, 0);

  g_assert_cmpint (g_chmod (f->db, 0640), ==, 0);
  if (geteuid () == 0)
    g_assert_cmpint (chown (f->db, owner, owner), ==, 0);
  g_assert_cmpint (run (NULL, "restore", "--yes", "--database", f->db, "--backup-dir",
                        f->backups, "--migrations", f->migrations, NULL), ==, 0);
  assert_mode (f->db, 0640, owner);

  g_assert_cmpint (g_chmod (f->db, 0604), ==, 0);
  g_assert_cmpint (run (NULL, "fresh", "--yes", "--database", f->db, "--backup-dir",
                        f->backups, "--migrations", f->migrations, NULL), ==, 0);
  assert_mode (f->db, 0604, owner);

  /* A damaged one, repaired. */
  mw_test_sql_exec (f->db, "PRAGMA journal_mode = DELETE; INSERT INTO shops VALUES ('s1', 'A');"
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 3000) INSERT INTO sales (shop_id, total) SELECT 's1', i FROM n;");
  {
    gint64 leaf = mw_test_sql_int (f->db, "SELECT pageno FROM dbstat WHERE name = 'sales' AND "
                                          "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 3");
    FILE *file = fopen (f->db, "r+b");
    char garbage[4096];

    memset (garbage, 0x77, sizeof garbage);
    g_assert_nonnull (file);
    g_assert_cmpint (fseek (file, (long) ((leaf - 1) * 4096), SEEK_SET), ==, 0);
    g_assert_cmpuint (fwrite (garbage, 1, sizeof garbage, file), ==, sizeof garbage);
    fclose (file);
  }
  g_assert_cmpint (g_chmod (f->db, 0600), ==, 0);
  g_assert_cmpint (run (NULL, "repair", "--yes", "--database", f->db, "--backup-dir",
                        f->backups, "--migrations", f->migrations, NULL), ==, 0);
  assert_mode (f->db, 0600, owner);
}

/* ---- status changes nothing --------------------------------------------------------- */

static char *
set_state (const char *db)
{
  g_autofree char *wal = g_strconcat (db, "-wal", NULL);
  g_autofree char *journal = g_strconcat (db, "-journal", NULL);
  g_autofree char *a = mw_test_file_digest (db);
  g_autofree char *b = mw_test_file_digest (wal);
  g_autofree char *c = mw_test_file_digest (journal);

  return g_strdup_printf ("db %s, wal %s, journal %s", a, b, c);
}

/* A raw copy in @backups whose member @suffix is @digest. */
static gboolean
raw_copy_has (const char *backups,
              const char *suffix,
              const char *digest)
{
  g_autoptr(GDir) d = g_dir_open (backups, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = NULL, *sum = NULL;

      if (!g_str_has_prefix (name, "aurswift-raw-") || !g_str_has_suffix (name, suffix))
        continue;
      path = g_build_filename (backups, name, NULL);
      sum = mw_test_file_digest (path);
      if (g_str_equal (sum, digest))
        return TRUE;
    }
  return FALSE;
}

/* A -wal beside an empty database, a -journal SQLite cannot parse: status and verify
 * change nothing of the set (they read a copy, and say so); backup, migrate and fresh
 * first copy the whole set aside, byte for byte, so nothing of it is ever lost. */
static void
test_wal_beside_empty_kept (Fixture *f, gconstpointer data)
{
  g_autofree char *wal = g_strconcat (f->db, "-wal", NULL);
  g_autofree char *source = g_build_filename (f->outside, "source.db", NULL);
  g_autofree char *source_wal = g_strconcat (source, "-wal", NULL);
  g_autofree char *before = NULL, *json = NULL;

  /* An empty database with a -wal that has committed sales in it. */
  {
    sqlite3 *db = NULL;
    g_autofree char *wal_data = NULL;
    gsize len = 0;

    g_assert_cmpint (sqlite3_open (source, &db), ==, SQLITE_OK);
    sqlite3_db_config (db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    g_assert_cmpint (sqlite3_exec (db, "PRAGMA journal_mode = WAL; CREATE TABLE sales (x);"
                                       "INSERT INTO sales VALUES (1), (2), (3);",
                                   NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close (db);
    g_assert_true (g_file_get_contents (source_wal, &wal_data, &len, NULL));
    g_assert_cmpuint (len, >, 0);
    g_assert_true (g_file_set_contents (wal, wal_data, len, NULL));
    mw_test_write_file (f->db, "");
  }
  before = set_state (f->db);
  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *obj;

    g_assert_cmpint (mw_test_spawn (&json, NULL, cli_path, "status", "--json", "--database",
                                    f->db, "--migrations", f->migrations, NULL), <, 20);
    g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
    obj = json_node_get_object (json_parser_get_root (parser));
    g_assert_nonnull (strstr (json_object_get_string_member (obj, "checked_on_copy"),
                              "byte-for-byte copy"));
  }
  assert_owned_str (set_state (f->db), before);
  run (NULL, "verify", "--database", f->db, NULL);
  assert_owned_str (set_state (f->db), before);
  g_assert_cmpint (run (NULL, "migrate", "--database", f->db, "--migrations", f->migrations,
                        "--backup-dir", f->backups, NULL), ==, 0);
  {
    g_autofree char *wal_sum = mw_test_file_digest (source_wal);

    g_assert_true (raw_copy_has (f->backups, ".db-wal", wal_sum));
  }

}

static void
test_unparsable_journal_kept (Fixture *f, gconstpointer data)
{
  g_autofree char *journal = g_strconcat (f->db, "-journal", NULL);
  g_autofree char *before = NULL, *garbage_sum = NULL;
  g_autoptr(GString) garbage = g_string_new ("\x01 not a journal SQLite could parse ");

  /* A database with a -journal SQLite cannot parse. */
  make_shop (f);
  mw_test_sql_exec (f->db, "PRAGMA journal_mode = DELETE");
  for (guint i = 0; i < 200; i++)
    g_string_append (garbage, "garbage ");
  g_assert_true (g_file_set_contents (journal, garbage->str, garbage->len, NULL));
  garbage_sum = mw_test_file_digest (journal);
  before = set_state (f->db);

  g_assert_cmpint (run (NULL, "status", "--database", f->db, "--migrations", f->migrations,
                        NULL), ==, 3);
  assert_owned_str (set_state (f->db), before);
  g_assert_cmpint (run (NULL, "verify", "--database", f->db, NULL), ==, 0);
  assert_owned_str (set_state (f->db), before);

  g_assert_cmpint (run (NULL, "backup", "--database", f->db, "--migrations", f->migrations,
                        "--backup-dir", f->backups, NULL), ==, 0);
  g_assert_true (raw_copy_has (f->backups, ".db-journal", garbage_sum));

  /* fresh: the same journal again, kept by a raw copy too. */
  g_assert_true (g_file_set_contents (journal, garbage->str, garbage->len, NULL));
  g_assert_cmpint (run (NULL, "fresh", "--yes", "--database", f->db, "--migrations",
                        f->migrations, "--backup-dir", f->backups, NULL), ==, 0);
  g_assert_true (raw_copy_has (f->backups, ".db-journal", garbage_sum));
}

/* ---- retention needs proof ---------------------------------------------------------- */

/* A set kept aside minutes before a fresh start, of another database: the old rule
 * took the pre-fresh backup made then as covering it. Only a backup that provably
 * holds that very set may let it go. */
static void
test_prune_needs_proof (Fixture *f, gconstpointer data)
{
  g_autofree char *config = g_build_filename (f->dir, "wizard.ini", NULL);
  g_autofree char *text = g_strdup_printf ("[migration-wizard]\ndatabase=%s\nmigrations=%s\n"
                                           "backup-dir=%s\nkeep-old-sets=1\n", f->db,
                                           f->migrations, f->backups);
  g_autofree char *stamp = stamp_in (-60);
  g_autofree char *name = g_strdup_printf ("pos_system.db.old.%s", stamp);
  g_autofree char *unrelated = g_build_filename (f->dir, name, NULL);
  g_autofree char *sum = NULL;

  mw_test_write_file (config, text);
  make_shop (f);
  mw_test_write_file (unrelated, "the only copy of something that is not a database");
  sum = mw_test_file_digest (unrelated);

  for (int i = 0; i < 3; i++)
    g_assert_cmpint (run (NULL, "fresh", "--yes", "--config", config, NULL), ==, 0);

  /* The unrelated set stays; of the three fresh starts' sets, the newest stays and the
   * two others go (their pre-fresh backups hold exactly them). */
  assert_owned_str (mw_test_file_digest (unrelated), sum);
  g_assert_cmpuint (count_prefixed (f->dir, "pos_system.db.old.", ""), ==, 2);
}

/* ---- names and exit codes -------------------------------------------------------------- */

/* A database name so long that the names kept beside it would not fit: refused
 * before anything is done (18, never 1), the database as it was. */
static void
test_long_name (Fixture *f, gconstpointer data)
{
  g_autoptr(GString) name = g_string_new (NULL);
  g_autofree char *db = NULL, *err = NULL, *before = NULL, *expected = NULL;

  while (name->len < 237)
    g_string_append_c (name, 'k');
  g_string_append (name, ".db");
  db = g_build_filename (f->dir, name->str, NULL);
  g_assert_cmpint (run (NULL, "migrate", "--quiet", "--database", db, "--migrations",
                        f->migrations, "--backup-dir", f->backups, NULL), ==, 0);
  before = mw_test_file_digest (db);
  g_assert_cmpint (run (NULL, "backup", "--quiet", "--database", db, "--migrations",
                        f->migrations, "--backup-dir", f->backups, NULL), ==, 0);
  g_assert_cmpint (run (&err, "fresh", "--yes", "--database", db, "--migrations",
                        f->migrations, "--backup-dir", f->backups, NULL), ==, 18);
  g_assert_nonnull (strstr (err, "too long"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run (&err, "restore", "--yes", "--database", db, "--migrations",
                        f->migrations, "--backup-dir", f->backups, NULL), ==, 18);
  g_assert_nonnull (strstr (err, "too long"));
  assert_owned_str (mw_test_file_digest (db), before);
  expected = g_strdup_printf ("backups\n%s\n%s.mw-lock\nmigrations\n", name->str, name->str);
  assert_owned_str (mw_test_list_dir (f->dir), expected);
}

/* ---- the support bundle ------------------------------------------------------------- */

#define PIN          "7788"
#define ARGON2_SALT  "c2FsdHNhbHRzYWx0"
#define ARGON2_HASH  "ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGk"
#define LICENCE      "aurs-12ab-34cd"
#define JWT          "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0aWxsLTEifQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define SK_LIVE      "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
#define CARD         "4111 1111 1111 1111"
#define EMAIL        "jane.doe@example.com"
#define URL_PASSWORD "hunter2sync"
#define PASSCODE     "246813"
#define BEARER       "mF_9.B5f-4.1JqM"

/* `bundle FILE` on a demo shop whose migration history, paths and options carry every
 * kind of secret: none survives in the file, which still says what a technician needs. */
static void
test_bundle_redacts (Fixture *f, gconstpointer data)
{
  g_autofree char *home = g_build_filename (f->dir, "home", "jane.doe", NULL);
  g_autofree char *shop_dir = g_build_filename (home, ".config", "AurSwift", NULL);
  g_autofree char *db = g_build_filename (shop_dir, "pos_system.db", NULL);
  g_autofree char *backups = g_build_filename (f->dir, "backups of " EMAIL, NULL);
  g_autofree char *bundle = g_build_filename (f->dir, "bundle.json", NULL);
  g_autofree char *text = NULL, *out = NULL;
  const char *secrets[] = { PIN, ARGON2_SALT, ARGON2_HASH, LICENCE, JWT, SK_LIVE, CARD, EMAIL,
                            URL_PASSWORD, PASSCODE, BEARER, "jane.doe" };
  g_autofree char *then_run = g_strdup ("/opt/pos --licence " LICENCE " --token " SK_LIVE);
  g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "HOME", home, TRUE);
  g_autoptr(GError) error = NULL;
  const char *argv[] = { cli_path, "bundle", bundle, "--database", db, "--migrations",
                         app_migrations, "--backup-dir", backups, "--then-run", then_run, NULL };
  int status = 0;

  g_assert_cmpint (g_mkdir_with_parents (shop_dir, 0700), ==, 0);
  g_assert_cmpint (mw_test_spawn (NULL, NULL, demo_db_path, "--database", db, "--migrations",
                                  app_migrations, "--level", "3", "--quiet", NULL), ==, 0);
  /* Rows this app does not know, as a tampered or foreign history would have them. */
  mw_test_sql_exec (db, "INSERT INTO __drizzle_migrations (hash, created_at) VALUES "
                        "('{\"pin_code\": \"" PIN "\"}', 1),"
                        "('$argon2id$v=19$m=65536,t=3,p=4$" ARGON2_SALT "$" ARGON2_HASH "', 2),"
                        "('licence " LICENCE " for " EMAIL "', 3),"
                        "('Authorization: Bearer " BEARER "', 4),"
                        "('session " JWT "', 5),"
                        "('card " CARD " passcode: " PASSCODE "', 6),"
                        "('https://pos:" URL_PASSWORD "@sync.example.com/v1', 7)");

  g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_assert_nonnull (strstr (out, "Support bundle saved"));
  g_assert_true (g_file_get_contents (bundle, &text, NULL, NULL));

  g_assert_nonnull (strstr (text, "\"state\" : \"unknown-history\""));
  g_assert_nonnull (strstr (text, "0002_product_batches"));
  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    if (strstr (text, secrets[i]) != NULL)
      g_error ("“%s” survived in the bundle:\n%s", secrets[i], text);
  {
    GStatBuf st;

    g_assert_cmpint (g_stat (bundle, &st), ==, 0);
    g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
  }
  g_assert_cmpint (run (NULL, "bundle", NULL), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("DISPLAY");
  g_unsetenv ("WAYLAND_DISPLAY");

  cli_path = g_getenv ("MW_CLI");
  demo_db_path = g_getenv ("MW_DEMO_DB");
  app_migrations = g_getenv ("MW_MIGRATIONS");
  if (cli_path == NULL || demo_db_path == NULL || app_migrations == NULL)
    g_error ("MW_CLI, MW_DEMO_DB and MW_MIGRATIONS must be set");

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/mw/escapes/lock-never-followed", test_lock_not_followed);
  ADD ("/mw/escapes/backup-temporary-never-followed", test_backup_tmp_not_followed);
  ADD ("/mw/escapes/backups-folder-private", test_backups_folder_private);
  ADD ("/mw/escapes/backup-symlink-never-restored", test_backup_symlink_not_restored);
  ADD ("/mw/escapes/operation-journal-crafted", test_journal_crafted);
  ADD ("/mw/escapes/migration-files-refused", test_migration_files_refused);
  ADD ("/mw/escapes/fifo-database", test_fifo_database);
  ADD ("/mw/escapes/nested-json", test_nested_json);
  ADD ("/mw/escapes/modes-kept", test_modes_kept);
  ADD ("/mw/escapes/wal-beside-empty-database-kept", test_wal_beside_empty_kept);
  ADD ("/mw/escapes/unparsable-journal-kept", test_unparsable_journal_kept);
  ADD ("/mw/escapes/pruning-needs-proof", test_prune_needs_proof);
  ADD ("/mw/escapes/long-name-refused-before-anything", test_long_name);
  ADD ("/mw/escapes/bundle-redacts-every-secret", test_bundle_redacts);
#undef ADD

  return g_test_run ();
}
