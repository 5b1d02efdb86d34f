/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Checking a database on request: what a sound, a damaged and a loosely linked shop
 * database report, quick and deep, and the file never changed by the check.
 */

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

#include "mw-test-util.h"

#define PAGE 4096
#define N_SALES 20000

typedef MwTestFixture Fixture;

/* A shop with a few staff and twenty thousand sales, in rollback-journal mode. */
static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  mw_test_fixture_set_up (f, data);
  mw_test_sql_exec (f->db,
    "PRAGMA page_size = 4096; PRAGMA journal_mode = DELETE;"
    "CREATE TABLE shops (id text PRIMARY KEY NOT NULL, name text NOT NULL);"
    "INSERT INTO shops VALUES ('s1', 'Corner shop'), ('s2', 'Station kiosk');"
    "CREATE TABLE staff (id text PRIMARY KEY NOT NULL, "
    "  shop_id text NOT NULL REFERENCES shops(id), name text);"
    "INSERT INTO staff VALUES ('u1', 's1', 'Ann'), ('u2', 's2', 'Bo');"
    "CREATE TABLE sales (id integer PRIMARY KEY, "
    "  shop_id text NOT NULL REFERENCES shops(id) ON DELETE CASCADE, "
    "  staff_id text REFERENCES staff(id), total integer NOT NULL, note text);"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
    "  INSERT INTO sales SELECT i, CASE i % 2 WHEN 0 THEN 's1' ELSE 's2' END, "
    "  CASE i % 2 WHEN 0 THEN 'u1' ELSE 'u2' END, i * 7, "
    "  printf('sale %06d %s', i, hex(randomblob(24))) FROM n;"
    "CREATE INDEX sales_by_shop ON sales (shop_id, total);");
}

/* What a technician would compare: the database file (bytes and mtime) and the files
 * beside it (no -journal or -wal left behind). */
typedef struct
{
  char *state;
  char *listing;
} Snapshot;

static void
snapshot_take (Fixture *f, Snapshot *s)
{
  mw_test_age_file (f->db);
  s->state = mw_test_file_state (f->db);
  s->listing = mw_test_list_dir (f->dir);
}

static void
snapshot_assert_unchanged (Fixture *f, Snapshot *s)
{
  g_autofree char *state = mw_test_file_state (f->db);
  g_autofree char *listing = mw_test_list_dir (f->dir);

  g_assert_cmpstr (state, ==, s->state);
  g_assert_cmpstr (listing, ==, s->listing);
  g_clear_pointer (&s->state, g_free);
  g_clear_pointer (&s->listing, g_free);
}

/* Verifies, asserting that nothing on disk changed, whatever the outcome. */
static MwVerifyReport *
verify_unchanged (Fixture       *f,
                  gboolean       deep,
                  MwProgress    *progress,
                  GCancellable  *cancellable,
                  GError       **error)
{
  Snapshot s;
  MwVerifyReport *report;

  snapshot_take (f, &s);
  report = mw_verify (f->db, deep, progress, cancellable, error);
  snapshot_assert_unchanged (f, &s);
  g_assert_true ((report == NULL) == (error != NULL && *error != NULL));
  return report;
}

static MwVerifyReport *
verify_ok (Fixture  *f,
           gboolean  deep)
{
  g_autoptr(GError) error = NULL;
  MwVerifyReport *report = verify_unchanged (f, deep, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (report);
  g_assert_true (report->deep == deep);
  return report;
}

/* ---- sound ---------------------------------------------------------------------------- */

static void
test_sound_quick (Fixture *f, gconstpointer data)
{
  g_autoptr(MwVerifyReport) report = verify_ok (f, FALSE);

  g_assert_cmpuint (report->fk_violations, ==, 0);
  g_assert_null (report->fk_summary);
  mw_test_assert_mentions (report->summary, "quick check");
}

static void
test_sound_deep (Fixture *f, gconstpointer data)
{
  g_autoptr(MwVerifyReport) report = verify_ok (f, TRUE);

  g_assert_cmpuint (report->fk_violations, ==, 0);
  g_assert_null (report->fk_summary);
  mw_test_assert_mentions (report->summary, "every link between tables holds");
}

/* ---- rows pointing at missing rows ---------------------------------------------------- */

/* Written with foreign keys off, as an older app version could have: 3 sales by staff
 * who were deleted, 1 sale of a closed shop, 2 staff of that shop. */
static void
add_orphans (Fixture *f)
{
  mw_test_sql_exec (f->db,
    "PRAGMA foreign_keys = OFF;"
    "UPDATE sales SET staff_id = 'u7' WHERE id IN (10, 20, 30);"
    "INSERT INTO sales (shop_id, total) VALUES ('s9', 500);"
    "INSERT INTO staff VALUES ('u8', 's9', 'Cy'), ('u9', 's9', 'Di');");
}

static void
test_orphans_deep (Fixture *f, gconstpointer data)
{
  g_autoptr(MwVerifyReport) report = NULL;

  add_orphans (f);
  report = verify_ok (f, TRUE);
  g_assert_cmpuint (report->fk_violations, ==, 6);
  g_assert_cmpstr (report->fk_summary, ==,
                   "sales → shops: 1\n"
                   "sales → staff: 3\n"
                   "staff → shops: 2");
  /* Not damage: every page is sound, and the person is told how many rows. */
  mw_test_assert_mentions (report->summary, "Every page and index is sound");
  mw_test_assert_mentions (report->summary, "6 rows refer to rows that no longer exist");
}

static void
test_orphans_quick (Fixture *f, gconstpointer data)
{
  g_autoptr(MwVerifyReport) report = NULL;

  add_orphans (f);
  report = verify_ok (f, FALSE);
  g_assert_cmpuint (report->fk_violations, ==, 0);
  g_assert_null (report->fk_summary);
  mw_test_assert_mentions (report->summary, "quick check");
}

static void
test_orphan_single (Fixture *f, gconstpointer data)
{
  g_autoptr(MwVerifyReport) report = NULL;

  mw_test_sql_exec (f->db, "UPDATE sales SET staff_id = 'u7' WHERE id = 42;");
  report = verify_ok (f, TRUE);
  g_assert_cmpuint (report->fk_violations, ==, 1);
  g_assert_cmpstr (report->fk_summary, ==, "sales → staff: 1");
  mw_test_assert_mentions (report->summary, "1 row refers to a row that no longer exists");
}

/* The POS (WAL mode) crashed with its last sales, one of them by a deleted member of
 * staff, only in its -wal: the check sees them, and leaves both files as they were. */
static void
test_wal_rows_checked (Fixture *f, gconstpointer data)
{
  g_autofree char *wal = g_strconcat (f->db, "-wal", NULL);
  g_autofree char *main_only = g_build_filename (f->dir, "main-file-only.db", NULL);
  g_autofree char *contents = NULL, *wal_before = NULL, *wal_after = NULL;
  g_autoptr(MwVerifyReport) report = NULL;
  gsize len = 0;
  sqlite3 *pos = NULL;

  g_assert_cmpint (sqlite3_open (f->db, &pos), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_db_config (pos, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (pos, "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;"
                                      "INSERT INTO sales (shop_id, staff_id, total) VALUES "
                                      "  ('s1', 'u1', 100), ('s1', 'u7', 200);",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (pos), ==, SQLITE_OK);
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));
  /* The new sales are not in the main file. */
  g_assert_true (g_file_get_contents (f->db, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (main_only, contents, (gssize) len, NULL));
  g_assert_cmpint (mw_test_sql_int (main_only, "SELECT count(*) FROM sales"), ==, N_SALES);
  g_assert_cmpint (g_remove (main_only), ==, 0);

  wal_before = mw_test_file_digest (wal);
  report = verify_ok (f, TRUE);
  wal_after = mw_test_file_digest (wal);
  g_assert_cmpstr (wal_after, ==, wal_before);
  g_assert_cmpuint (report->fk_violations, ==, 1);
  g_assert_cmpstr (report->fk_summary, ==, "sales → staff: 1");
}

/* ---- damage --------------------------------------------------------------------------- */

/* Overwrites a leaf page in the middle of the sales table, as a bad sector would. */
static void
damage_sales_leaf (Fixture *f)
{
  gint64 pageno = mw_test_sql_int (f->db, "SELECT pageno FROM dbstat WHERE name = 'sales' "
                                          "AND pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 20");
  guint8 garbage[PAGE];
  FILE *file;

  g_assert_cmpint (pageno, >, 1);
  memset (garbage, 0x5a, sizeof garbage);
  file = fopen (f->db, "r+b");
  g_assert_nonnull (file);
  g_assert_cmpint (fseek (file, (long) ((pageno - 1) * PAGE), SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (garbage, 1, PAGE, file), ==, PAGE);
  g_assert_cmpint (fclose (file), ==, 0);
}

static void
test_damaged_page (Fixture *f, gconstpointer data)
{
  gboolean deep = GPOINTER_TO_INT (data);
  g_autoptr(MwVerifyReport) report = NULL;
  g_autoptr(GError) error = NULL;

  damage_sales_leaf (f);
  report = verify_unchanged (f, deep, NULL, NULL, &error);
  g_assert_null (report);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT);
  mw_test_assert_mentions (error->message, f->db);
  mw_test_assert_mentions (error->message, "damaged");
}

static char *
find_bytes (char       *data,
            gsize       len,
            const char *bytes,
            gsize       n)
{
  for (gsize i = 0; i + n <= len; i++)
    if (memcmp (data + i, bytes, n) == 0)
      return data + i;
  return NULL;
}

/* One sale's shop changed in the table's page and not in the index, as a torn write
 * could leave it: every page still reads (the quick check passes), only the deep check
 * matches the index against the table. */
static void
change_shop_behind_index (Fixture *f)
{
  /* Sale 12345 (odd: shop s2, staff u2; total 86415, three bytes) is stored as
   * "s2" "u2" 01 51 8f "sale 012345 …". */
  static const char record[] = "s2u2\x01\x51\x8fsale 012345 ";
  g_autofree char *contents = NULL;
  g_autofree char *shop = NULL;
  gsize len = 0;
  char *at;

  g_assert_true (g_file_get_contents (f->db, &contents, &len, NULL));
  at = find_bytes (contents, len, record, sizeof record - 1);
  g_assert_nonnull (at);
  g_assert_null (find_bytes (at + 1, len - (gsize) (at + 1 - contents), record, sizeof record - 1));
  at[1] = '3';
  g_assert_true (g_file_set_contents (f->db, contents, (gssize) len, NULL));
  /* The table says s3; the index, which a query by shop reads, still says s2. */
  shop = mw_test_sql_text (f->db, "SELECT shop_id FROM sales WHERE id = 12345");
  g_assert_cmpstr (shop, ==, "s3");
  g_assert_cmpint (mw_test_sql_int (f->db, "SELECT count(*) FROM sales WHERE shop_id = 's3'"),
                   ==, 0);
}

static void
test_index_mismatch_deep (Fixture *f, gconstpointer data)
{
  g_autoptr(MwVerifyReport) report = NULL;
  g_autoptr(GError) error = NULL;

  change_shop_behind_index (f);
  report = verify_unchanged (f, TRUE, NULL, NULL, &error);
  g_assert_null (report);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT);
  mw_test_assert_mentions (error->message, f->db);
  /* SQLite's own findings, for whoever repairs it. */
  mw_test_assert_mentions (error->message, "row 12345 missing from index sales_by_shop");
}

static void
test_index_mismatch_quick (Fixture *f, gconstpointer data)
{
  g_autoptr(MwVerifyReport) report = NULL;

  change_shop_behind_index (f);
  report = verify_ok (f, FALSE);
  mw_test_assert_mentions (report->summary, "quick check");
}

static void
test_not_a_database (Fixture *f, gconstpointer data)
{
  g_autoptr(MwVerifyReport) report = NULL;
  g_autoptr(GError) error = NULL;

  mw_test_write_file (f->db, "Till report, Monday: 42 sales, nothing else to see here.\n");
  report = verify_unchanged (f, TRUE, NULL, NULL, &error);
  g_assert_null (report);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_NOT_A_DATABASE);
  mw_test_assert_mentions (error->message, f->db);
}

static void
test_missing (Fixture *f, gconstpointer data)
{
  g_autofree char *nowhere = g_build_filename (f->dir, "pos_system_old.db", NULL);
  g_autofree char *listing = mw_test_list_dir (f->dir);
  g_autofree char *after = NULL;
  g_autoptr(MwVerifyReport) report = NULL;
  g_autoptr(GError) error = NULL;

  report = mw_verify (nowhere, TRUE, NULL, NULL, &error);
  g_assert_null (report);
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_DATABASE_MISSING);
  mw_test_assert_mentions (error->message, nowhere);
  /* Not created by looking. */
  g_assert_false (g_file_test (nowhere, G_FILE_TEST_EXISTS));
  after = mw_test_list_dir (f->dir);
  g_assert_cmpstr (after, ==, listing);
}

/* ---- progress and cancel -------------------------------------------------------------- */

typedef struct
{
  GThread      *main_thread;
  GArray       *fractions;   /* double: each notified fraction, in order */
  char         *message;     /* as last notified */
  GCancellable *cancel_on_notify;
  GAsyncResult *result;
  gboolean      finished;
  gint          elsewhere;   /* (atomic) notifications off the main thread */
} Watch;

static void
watch_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    data)
{
  Watch *w = data;
  double fraction = -1.0;

  if (g_thread_self () != w->main_thread)
    {
      g_atomic_int_inc (&w->elsewhere);
      return;
    }
  g_object_get (object, "fraction", &fraction, NULL);
  g_array_append_val (w->fractions, fraction);
  g_clear_pointer (&w->message, g_free);
  g_object_get (object, "message", &w->message, NULL);
  if (w->cancel_on_notify != NULL)
    g_cancellable_cancel (w->cancel_on_notify);
}

static void
watch_init (Watch      *w,
            MwProgress *progress)
{
  *w = (Watch) {
    .main_thread = g_thread_self (),
    .fractions = g_array_new (FALSE, TRUE, sizeof (double)),
  };
  g_signal_connect (progress, "notify::fraction", G_CALLBACK (watch_notify_cb), w);
}

static void
watch_clear (Watch      *w,
             MwProgress *progress)
{
  g_signal_handlers_disconnect_by_data (progress, w);
  g_clear_pointer (&w->fractions, g_array_unref);
  g_clear_pointer (&w->message, g_free);
  g_clear_object (&w->result);
}

static double
watch_last (Watch *w)
{
  return w->fractions->len ? g_array_index (w->fractions, double, w->fractions->len - 1) : -1.0;
}

static gboolean
flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main context until the check finished and the bar shows 100 % (or, with
 * @to_the_end FALSE, only until it finished). */
static void
watch_run (Watch    *w,
           gboolean  to_the_end)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (30, flag_cb, &timed_out);

  while (!timed_out && (!w->finished || (to_the_end && watch_last (w) != 1.0)))
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  g_assert_false (timed_out);
}

static void
verify_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  Watch *w = data;

  g_assert_true (g_thread_self () == w->main_thread);
  w->result = g_object_ref (result);
  w->finished = TRUE;
}

static void
assert_fractions_rise_to_done (Watch *w)
{
  g_assert_cmpuint (w->fractions->len, >, 0);
  for (guint i = 0; i < w->fractions->len; i++)
    {
      double fraction = g_array_index (w->fractions, double, i);

      g_assert_cmpfloat (fraction, >=, 0.0);
      g_assert_cmpfloat (fraction, <=, 1.0);
      if (i > 0)
        g_assert_cmpfloat (fraction, >=, g_array_index (w->fractions, double, i - 1));
    }
  g_assert_cmpfloat (watch_last (w), ==, 1.0);
  g_assert_cmpstr (w->message, ==, "Done");
}

/* The window's path: the check in a worker, the bar filled on the main thread. */
static void
test_async_progress (Fixture *f, gconstpointer data)
{
  g_autoptr(MwProgress) progress = mw_progress_new ();
  g_autoptr(MwVerifyReport) report = NULL;
  g_autoptr(GError) error = NULL;
  Snapshot s;
  Watch w;

  add_orphans (f);
  watch_init (&w, progress);
  snapshot_take (f, &s);
  mw_verify_async (f->db, TRUE, progress, NULL, verify_done_cb, &w);
  watch_run (&w, TRUE);
  report = mw_verify_finish (w.result, &error);
  snapshot_assert_unchanged (f, &s);

  g_assert_no_error (error);
  g_assert_true (report->deep);
  g_assert_cmpuint (report->fk_violations, ==, 6);
  g_assert_cmpint (g_atomic_int_get (&w.elsewhere), ==, 0);
  assert_fractions_rise_to_done (&w);
  watch_clear (&w, progress);
}

static void
test_sync_progress (Fixture *f, gconstpointer data)
{
  g_autoptr(MwProgress) progress = mw_progress_new ();
  g_autoptr(MwVerifyReport) report = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  Watch w;

  watch_init (&w, progress);
  report = verify_unchanged (f, FALSE, progress, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (mw_progress_get_fraction (progress), ==, 1.0);
  message = mw_progress_dup_message (progress);
  g_assert_cmpstr (message, ==, "Done");

  /* Notified when the caller's loop runs again. */
  w.finished = TRUE;
  watch_run (&w, TRUE);
  assert_fractions_rise_to_done (&w);
  watch_clear (&w, progress);
}

typedef struct
{
  MwProgress *progress;
  gint        stop;               /* (atomic) */
  double      max_while_checking; /* the highest fraction shown before "Done" */
  gboolean    went_back;
} Poll;

/* What a window would show at any instant while the check runs: fraction, then message
 * (the last update sets both under one lock, so 1.0 read first means "Done" is set).
 * A busy machine may leave this thread few samples; what it saw still happened. */
static gpointer
poll_thread (gpointer data)
{
  Poll *p = data;
  double last = 0.0;

  while (!g_atomic_int_get (&p->stop))
    {
      double fraction = mw_progress_get_fraction (p->progress);
      g_autofree char *message = mw_progress_dup_message (p->progress);

      if (g_strcmp0 (message, "Done") != 0)
        p->max_while_checking = MAX (p->max_while_checking, fraction);
      p->went_back |= fraction < last;
      last = fraction;
    }
  return NULL;
}

/* The bar never shows 100 % before the check is done. */
static void
test_never_done_early (Fixture *f, gconstpointer data)
{
  gboolean deep = GPOINTER_TO_INT (data);
  g_autoptr(MwProgress) progress = mw_progress_new ();
  g_autoptr(MwVerifyReport) report = NULL;
  g_autoptr(GError) error = NULL;
  Poll p = { progress, 0, 0.0, FALSE };
  GThread *thread;
  Watch w;

  watch_init (&w, progress);
  thread = g_thread_new ("mw-test-poll", poll_thread, &p);
  report = mw_verify (f->db, deep, progress, NULL, &error);
  g_atomic_int_set (&p.stop, 1);
  g_thread_join (thread);
  g_assert_no_error (error);

  g_test_message ("highest before done: %.3f", p.max_while_checking);
  g_assert_cmpfloat (p.max_while_checking, <, 1.0);
  g_assert_cmpfloat (mw_progress_get_fraction (progress), ==, 1.0);
  /* Nor does it go back, from one step of the check to the next either. */
  g_assert_false (p.went_back);

  w.finished = TRUE;
  watch_run (&w, TRUE);
  watch_clear (&w, progress);
}

static void
test_cancelled_before (Fixture *f, gconstpointer data)
{
  gboolean deep = GPOINTER_TO_INT (data);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(MwProgress) progress = mw_progress_new ();
  g_autoptr(MwVerifyReport) report = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  g_cancellable_cancel (cancellable);
  report = verify_unchanged (f, deep, progress, cancellable, &error);
  g_assert_null (report);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* It stopped: the bar never claimed the check was done. */
  g_assert_cmpfloat (mw_progress_get_fraction (progress), <, 1.0);
  message = mw_progress_dup_message (progress);
  g_assert_cmpstr (message, !=, "Done");
}

/* Cancel pressed while the check waits for another program to finish writing: it
 * stops as soon as it runs, and says so. */
static void
test_cancelled_async (Fixture *f, gconstpointer data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(MwProgress) progress = mw_progress_new ();
  g_autoptr(MwVerifyReport) report = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = mw_test_file_digest (f->db);
  g_autofree char *after = NULL;
  g_autofree char *message = NULL;
  sqlite3 *writer = NULL;
  Watch w;

  /* Another program holds the database exclusively (it is committing). */
  g_assert_cmpint (sqlite3_open (f->db, &writer), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (writer, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);

  watch_init (&w, progress);
  mw_verify_async (f->db, TRUE, progress, cancellable, verify_done_cb, &w);
  g_cancellable_cancel (cancellable);
  g_assert_cmpint (sqlite3_exec (writer, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (writer), ==, SQLITE_OK);

  watch_run (&w, FALSE);
  report = mw_verify_finish (w.result, &error);
  g_assert_null (report);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpfloat (mw_progress_get_fraction (progress), <, 1.0);
  message = mw_progress_dup_message (progress);
  g_assert_cmpstr (message, !=, "Done");
  after = mw_test_file_digest (f->db);
  g_assert_cmpstr (after, ==, before);
  watch_clear (&w, progress);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, data, fn) \
  g_test_add ("/mw/engine/verify/" path, Fixture, GINT_TO_POINTER (data), fixture_set_up, fn, \
              mw_test_fixture_tear_down)
  ADD ("sound/quick", FALSE, test_sound_quick);
  ADD ("sound/deep", TRUE, test_sound_deep);
  ADD ("orphans/deep", TRUE, test_orphans_deep);
  ADD ("orphans/quick", FALSE, test_orphans_quick);
  ADD ("orphans/single", TRUE, test_orphan_single);
  ADD ("orphans/only-in-wal", TRUE, test_wal_rows_checked);
  ADD ("damaged-page/quick", FALSE, test_damaged_page);
  ADD ("damaged-page/deep", TRUE, test_damaged_page);
  ADD ("index-mismatch/deep", TRUE, test_index_mismatch_deep);
  ADD ("index-mismatch/quick", FALSE, test_index_mismatch_quick);
  ADD ("not-a-database", TRUE, test_not_a_database);
  ADD ("missing", TRUE, test_missing);
  ADD ("progress/sync", FALSE, test_sync_progress);
  ADD ("progress/async", TRUE, test_async_progress);
  ADD ("progress/never-done-early/quick", FALSE, test_never_done_early);
  ADD ("progress/never-done-early/deep", TRUE, test_never_done_early);
  ADD ("cancel/before-quick", FALSE, test_cancelled_before);
  ADD ("cancel/before-deep", TRUE, test_cancelled_before);
  ADD ("cancel/async", TRUE, test_cancelled_async);
#undef ADD

  return g_test_run ();
}
