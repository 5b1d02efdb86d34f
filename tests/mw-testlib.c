/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "mw-testlib.h"

char *
mw_test_make_tmp_dir (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *base = g_dir_make_tmp ("mw-test-XXXXXX", &error);
  char *dir;

  g_assert_no_error (error);
  dir = g_build_filename (base, name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  return dir;
}

/* Removes @path's parent temp dir made by mw_test_make_tmp_dir(). */
void
mw_test_remove_tree (const char *path)
{
  g_autofree char *base = g_path_get_dirname (path);
  g_autofree char *quoted = g_shell_quote (base);
  g_autofree char *cmd = g_strdup_printf ("rm -rf %s", quoted);

  g_assert_true (g_str_has_prefix (base, g_get_tmp_dir ()));
  g_assert_cmpint (system (cmd), ==, 0);
}

void
mw_test_write_file (const char *path,
                    const char *text)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_mkdir_with_parents (dir, 0755);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

void
mw_test_write_journal (const char   *folder,
                       guint         n,
                       const char   *tags[],
                       const gint64  whens[],
                       const char   *sqls[])
{
  g_autofree MwTestMigration *list = g_new0 (MwTestMigration, n + 1);

  for (guint i = 0; i < n; i++)
    list[i] = (MwTestMigration) { tags[i], whens[i], sqls[i] };
  mw_test_write_migrations (folder, list);
}

/* A drizzle-kit 0.x folder: meta/_journal.json listing @migrations in their order,
 * and one <tag>.sql each. Files of an earlier call that are not listed stay. */
void
mw_test_write_migrations (const char            *folder,
                          const MwTestMigration *migrations)
{
  g_autoptr(GString) json = g_string_new ("{\"version\":\"7\",\"dialect\":\"sqlite\",\"entries\":[");
  g_autofree char *journal = g_build_filename (folder, "meta", "_journal.json", NULL);

  for (guint i = 0; migrations[i].tag != NULL; i++)
    {
      g_autofree char *name = g_strconcat (migrations[i].tag, ".sql", NULL);
      g_autofree char *path = g_build_filename (folder, name, NULL);

      g_string_append_printf (json, "%s{\"idx\":%u,\"version\":\"6\",\"when\":%" G_GINT64_FORMAT
                              ",\"tag\":\"%s\",\"breakpoints\":true}",
                              i ? "," : "", i, migrations[i].when, migrations[i].tag);
      mw_test_write_file (path, migrations[i].sql);
    }
  g_string_append (json, "]}");
  mw_test_write_file (journal, json->str);
}

/* Runs a program to completion; returns its exit status. */
int
mw_test_spawn (char       **out,
               char       **err,
               const char  *first_arg,
               ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *sout = NULL, *serr = NULL;
  const char *arg;
  int wait_status = 0;
  va_list ap;

  g_ptr_array_add (argv, (char *) first_arg);
  va_start (ap, first_arg);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                &sout, &serr, &wait_status, &error);
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_printerr ("--- %s\n--- stdout:\n%s--- stderr:\n%s", first_arg, sout, serr);
  if (out)
    *out = g_steal_pointer (&sout);
  if (err)
    *err = g_steal_pointer (&serr);
  g_assert_true (WIFEXITED (wait_status));
  return WEXITSTATUS (wait_status);
}

void
mw_test_sql_exec (const char *db_path,
                  const char *sql)
{
  sqlite3 *db = NULL;
  char *msg = NULL;

  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
  sqlite3_close (db);
}

static sqlite3_stmt *
query_one (const char *db_path,
           const char *sql,
           sqlite3   **db)
{
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db_path, db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  if (sqlite3_prepare_v2 (*db, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (*db));
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return stmt;
}

gint64
mw_test_sql_int (const char *db_path,
                 const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = query_one (db_path, sql, &db);
  gint64 v = sqlite3_column_int64 (stmt, 0);

  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return v;
}

char *
mw_test_sql_text (const char *db_path,
                  const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = query_one (db_path, sql, &db);
  char *v = g_strdup ((const char *) sqlite3_column_text (stmt, 0));

  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return v;
}

char *
mw_test_file_digest (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, NULL))
    return g_strdup ("(missing)");
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) data, len);
}

static void
append_rows (GString      *out,
             sqlite3_stmt *stmt)
{
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      for (int i = 0; i < sqlite3_column_count (stmt); i++)
        {
          int type = sqlite3_column_type (stmt, i);

          g_string_append_printf (out, "%s%c:", i ? " | " : "", "?irtbn"[type]);
          if (type == SQLITE_BLOB)
            {
              const guchar *blob = sqlite3_column_blob (stmt, i);

              for (int b = 0; b < sqlite3_column_bytes (stmt, i); b++)
                g_string_append_printf (out, "%02x", blob[b]);
            }
          else
            {
              const char *v = (const char *) sqlite3_column_text (stmt, i);

              g_string_append (out, v ? v : "NULL");
            }
        }
      g_string_append_c (out, '\n');
    }
}

static char *
dump_query (const char *db_path,
            const char *sql)
{
  g_autoptr(GString) out = g_string_new (NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  append_rows (out, stmt);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The rows @sql returns, one line each, every value with its storage type. */
char *
mw_test_dump_query (const char *db_path,
                    const char *sql)
{
  return dump_query (db_path, sql);
}

/* The schema as text: every object's type, name, table and exact SQL (not its root
 * page, which depends on the order things were written). */
char *
mw_test_dump_schema (const char *db_path)
{
  return dump_query (db_path, "SELECT type, name, tbl_name, sql FROM sqlite_schema "
                              "ORDER BY type, name");
}

/* __drizzle_migrations in rowid order, with each value's storage type. */
char *
mw_test_dump_migrations (const char *db_path)
{
  return dump_query (db_path, "SELECT id, typeof(id), hash, created_at, typeof(created_at) "
                              "FROM \"__drizzle_migrations\" ORDER BY rowid");
}

/* "table: N" for every table, in name order. */
char *
mw_test_count_rows (const char *db_path)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *names = dump_query (db_path, "SELECT name FROM sqlite_schema WHERE type = "
                                                "'table' ORDER BY name");
  g_auto(GStrv) lines = g_strsplit (names, "\n", -1);

  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      const char *name = strchr (lines[i], ':') + 1;
      g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM \"%s\"", name);

      g_string_append_printf (out, "%s: %" G_GINT64_FORMAT "\n", name,
                              mw_test_sql_int (db_path, sql));
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Everything a person could look at: the schema, then every table's rows (with each
 * value's storage type) in rowid order. Equal dumps mean an unchanged database. */
char *
mw_test_dump_database (const char *db_path)
{
  g_autofree char *schema = mw_test_dump_schema (db_path);
  g_autoptr(GString) out = g_string_new (schema);
  g_autoptr(GPtrArray) tables = g_ptr_array_new_with_free_func (g_free);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT name FROM sqlite_schema WHERE type = 'table' "
                                           "ORDER BY name", -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (tables, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_finalize (stmt);

  for (guint i = 0; i < tables->len; i++)
    {
      g_autofree char *by_rowid = g_strdup_printf ("SELECT * FROM \"%s\" ORDER BY rowid",
                                                   (char *) g_ptr_array_index (tables, i));
      g_autofree char *by_key = g_strdup_printf ("SELECT * FROM \"%s\" ORDER BY 1",
                                                 (char *) g_ptr_array_index (tables, i));

      g_string_append_printf (out, "== %s\n", (char *) g_ptr_array_index (tables, i));
      /* WITHOUT ROWID tables have no rowid: their first column is their key. */
      if (sqlite3_prepare_v2 (db, by_rowid, -1, &stmt, NULL) != SQLITE_OK &&
          sqlite3_prepare_v2 (db, by_key, -1, &stmt, NULL) != SQLITE_OK)
        g_error ("%s: %s", by_key, sqlite3_errmsg (db));
      append_rows (out, stmt);
      sqlite3_finalize (stmt);
    }
  sqlite3_close (db);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Size, modification time (ns) and SHA-256 of @path: equal strings mean the file was
 * neither written nor touched. */
char *
mw_test_file_state (const char *path)
{
  g_autofree char *digest = NULL;
  struct stat st;

  if (stat (path, &st) != 0)
    return g_strdup ("(missing)");
  digest = mw_test_file_digest (path);
  return g_strdup_printf ("size=%" G_GINT64_FORMAT " mtime=%" G_GINT64_FORMAT ".%09ld sha256=%s",
                          (gint64) st.st_size, (gint64) st.st_mtim.tv_sec,
                          st.st_mtim.tv_nsec, digest);
}

/* Dates @path an hour back, so that any later write shows in its mtime whatever the
 * file system's timestamp granularity. */
void
mw_test_age_file (const char *path)
{
  struct timespec times[2];

  g_assert_cmpint (clock_gettime (CLOCK_REALTIME, &times[0]), ==, 0);
  times[0].tv_sec -= 3600;
  times[1] = times[0];
  g_assert_cmpint (utimensat (AT_FDCWD, path, times, 0), ==, 0);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The names in @dir, sorted, one per line. */
char *
mw_test_list_dir (const char *dir)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  const char *name;

  if (d == NULL)
    return g_strdup ("(missing)");
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (out, "%s\n", (char *) g_ptr_array_index (names, i));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Another program in the middle of a write: a connection that began a write
 * transaction and ran @sql in it, holding SQLite's write lock until released. */
sqlite3 *
mw_test_hold_write_lock (const char *db_path,
                         const char *sql)
{
  sqlite3 *db = NULL;
  char *msg = NULL;

  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  if (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
      (sql != NULL && sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK))
    g_error ("%s: %s", sql, msg);
  return db;
}

void
mw_test_release_lock (sqlite3 *db)
{
  g_assert_cmpint (sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}
