/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The remedy model: for each state of a real database and each way an operation
 * fails, the choices a person gets (in order, which are possible), the recommended
 * one, the exit status, the backup a restore would use — and the renderers the
 * fronts print (the failing statement named by its 1-based number).
 */

#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "mw-test-util.h"

typedef MwTestFixture Fixture;

static const MwTestMigration base[] = {
  { "0000_init", 1700000000000,
    "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL, `name` text);" },
  { "0001_add", 1700000100000, "ALTER TABLE `shops` ADD `town` text;" },
  { NULL }
};

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  mw_test_fixture_set_up (f, data);
  mw_test_fixture_write (f, base);
}

static MwSettings *
settings_for (Fixture *f)
{
  MwSettings *s = mw_settings_new ();

  s->database = g_strdup (f->db);
  s->migrations = g_strdup (f->folder);
  s->backup_dir = mw_backup_default_dir (f->db);
  return s;
}

/* The choices as "action" or "action (unavailable)", in order, the recommended one
 * marked with a star: what a person sees, as one string. */
static char *
choices_of (MwRemedy *r)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < r->choices->len; i++)
    {
      const MwChoice *c = &g_array_index (r->choices, MwChoice, i);

      g_string_append_printf (out, "%s%s%s%s", i ? " " : "", mw_action_to_string (c->action),
                              c->action == r->recommended ? "*" : "",
                              c->available ? "" : "(unavailable)");
    }
  return g_string_free (out, FALSE);
}

static MwRemedy *
remedy_for (Fixture *f, MwSettings *s, MwState expected)
{
  g_autoptr(MwDiagnosis) d = mw_diagnose (f->db, f->set, NULL);

  g_assert_cmpstr (mw_state_to_string (d->state), ==, mw_state_to_string (expected));
  return mw_remedy_for_diagnosis (d, s);
}

static void
assert_remedy (MwRemedy   *r,
               const char *id,
               const char *choices,
               MwExitCode  exit_code)
{
  g_autofree char *actual = choices_of (r);

  g_assert_cmpstr (r->id, ==, id);
  g_assert_cmpstr (actual, ==, choices);
  g_assert_cmpint (r->exit_code, ==, exit_code);
  g_assert_nonnull (r->title);
  g_assert_nonnull (r->message);
}

static void
test_ready_and_up_to_date (Fixture *f, gconstpointer data)
{
  g_autoptr(MwSettings) s = settings_for (f);
  g_autoptr(MwRemedy) missing = NULL;
  g_autoptr(MwRemedy) pending = NULL;
  g_autoptr(MwRemedy) after_update = NULL;
  g_autoptr(MwRemedy) done = NULL;

  missing = remedy_for (f, s, MW_STATE_MISSING);
  assert_remedy (missing, "ready", "cancel migrate*", MW_EXIT_MISSING);
  g_assert_false (missing->automatic);
  g_assert_true (mw_state_may_migrate (MW_STATE_MISSING, FALSE));

  mw_test_fixture_migrate (f, "0000_init");
  pending = remedy_for (f, s, MW_STATE_PENDING);
  assert_remedy (pending, "ready", "cancel migrate*", MW_EXIT_PENDING);
  g_assert_false (pending->automatic);

  /* After an update, applying is the normal path: no person needed. */
  s->after_update = TRUE;
  after_update = remedy_for (f, s, MW_STATE_PENDING);
  g_assert_true (after_update->automatic);
  g_assert_cmpint (after_update->recommended, ==, MW_ACTION_MIGRATE);

  mw_test_fixture_migrate (f, NULL);
  done = remedy_for (f, s, MW_STATE_UP_TO_DATE);
  assert_remedy (done, "up-to-date", "retry close*", MW_EXIT_OK);
  g_assert_false (mw_state_may_migrate (MW_STATE_UP_TO_DATE, FALSE));
}

static void
test_hash_mismatch_offers_the_backup (Fixture *f, gconstpointer data)
{
  g_autoptr(MwSettings) s = settings_for (f);
  g_autoptr(MwRemedy) without = NULL;
  g_autoptr(MwRemedy) with = NULL;
  g_autoptr(MwBackup) backup = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->folder, "0001_add.sql", NULL);
  g_autofree char *text = NULL;

  mw_test_fixture_migrate (f, NULL);
  mw_test_write_file (path, "ALTER TABLE `shops` ADD `town` text; -- changed since");
  mw_test_fixture_load (f);

  /* No backup yet: Restore is shown but not possible, and says why. */
  without = remedy_for (f, s, MW_STATE_HASH_MISMATCH);
  assert_remedy (without, "hash-mismatch", "cancel* fresh restore(unavailable)",
                 MW_EXIT_HASH_MISMATCH);
  g_assert_null (without->backup);
  g_assert_nonnull (strstr (g_array_index (without->choices, MwChoice, 2).why_not,
                            s->backup_dir));
  g_assert_false (mw_remedy_offers (without, MW_ACTION_RESTORE));
  g_assert_false (mw_state_may_migrate (MW_STATE_HASH_MISMATCH, FALSE));
  g_assert_true (mw_state_may_migrate (MW_STATE_HASH_MISMATCH, TRUE));

  /* With a verified backup: that one is named, and a restore would use it. */
  backup = mw_backup_create (f->db, s->backup_dir, MW_BACKUP_REASON_PRE_MIGRATION, f->set,
                             NULL, NULL, &error);
  g_assert_no_error (error);
  with = remedy_for (f, s, MW_STATE_HASH_MISMATCH);
  assert_remedy (with, "hash-mismatch", "cancel* fresh restore", MW_EXIT_HASH_MISMATCH);
  g_assert_nonnull (with->backup);
  g_assert_cmpstr (with->backup->path, ==, backup->path);
  g_assert_true (mw_remedy_offers (with, MW_ACTION_RESTORE));

  /* The terminal's rendering: the words, then the commands, none destructive first. */
  text = mw_remedy_to_text (with, s);
  g_assert_nonnull (strstr (text, "migration-wizard restore"));
  g_assert_nonnull (strstr (text, "migration-wizard fresh --yes"));
  g_assert_null (strstr (text, "(recommended)"));
}

static void
test_incompatible_and_damaged (Fixture *f, gconstpointer data)
{
  g_autoptr(MwSettings) s = settings_for (f);
  g_autoptr(MwRemedy) untracked = NULL;
  g_autoptr(MwRemedy) not_db = NULL;
  g_autoptr(MwRemedy) corrupt = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  mw_test_sql_exec (f->db, "CREATE TABLE shops (id text PRIMARY KEY, name text);");
  untracked = remedy_for (f, s, MW_STATE_UNTRACKED);
  assert_remedy (untracked, "incompatible", "cancel* fresh", MW_EXIT_UNTRACKED);

  mw_test_write_file (f->db, "id,name\n1,Corner Shop\n");
  not_db = remedy_for (f, s, MW_STATE_NOT_A_DATABASE);
  assert_remedy (not_db, "incompatible", "cancel* fresh", MW_EXIT_NOT_A_DATABASE);

  g_unlink (f->db);
  mw_test_fixture_migrate (f, "0000_init");
  g_assert_true (g_file_get_contents (f->db, &contents, &len, NULL));
  memset (contents + 100, 0x5a, 900);
  g_assert_true (g_file_set_contents (f->db, contents, len, NULL));
  corrupt = remedy_for (f, s, MW_STATE_CORRUPT);
  assert_remedy (corrupt, "corrupt", "cancel fresh repair*", MW_EXIT_CORRUPT);
}

/* Damaged, with a verified backup: the backup is offered beside Try Repair (which is
 * recommended, with why), and each choice says what it costs. */
static void
test_corrupt_offers_the_backup_with_costs (Fixture *f, gconstpointer data)
{
  g_autoptr(MwSettings) s = settings_for (f);
  g_autoptr(MwRemedy) corrupt = NULL;
  g_autoptr(MwBackup) backup = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  mw_test_fixture_migrate (f, "0000_init");
  mw_test_sql_exec (f->db, "CREATE TABLE transactions (id text PRIMARY KEY, created_at integer);"
                           "INSERT INTO transactions VALUES ('a', 1), ('b', 2)");
  backup = mw_backup_create (f->db, s->backup_dir, MW_BACKUP_REASON_PRE_MIGRATION, f->set,
                             NULL, NULL, &error);
  g_assert_no_error (error);
  mw_test_sql_exec (f->db, "INSERT INTO transactions VALUES ('c', 3), ('d', 4), ('e', 5)");
  g_assert_cmpint (mw_shop_count_sales_since (f->db, backup->path, backup->created), ==, 3);

  g_assert_true (g_file_get_contents (f->db, &contents, &len, NULL));
  memset (contents + 100, 0x5a, 900);
  g_assert_true (g_file_set_contents (f->db, contents, len, NULL));
  corrupt = remedy_for (f, s, MW_STATE_CORRUPT);
  assert_remedy (corrupt, "corrupt", "cancel fresh restore repair*", MW_EXIT_CORRUPT);
  g_assert_cmpstr (corrupt->backup->path, ==, backup->path);
  g_assert_nonnull (corrupt->reason);
  for (guint i = 1; i < corrupt->choices->len; i++)
    g_assert_nonnull (g_array_index (corrupt->choices, MwChoice, i).cost);
  /* The damaged file cannot be counted: the cost says so without a number. */
  g_assert_nonnull (strstr (g_array_index (corrupt->choices, MwChoice, 2).cost, "Loses "));
}

/* Updates to apply, but the backups folder cannot be made: said now, before
 * Update Now, naming the folder. */
static void
test_backup_folder_checked_first (Fixture *f, gconstpointer data)
{
  g_autoptr(MwSettings) s = settings_for (f);
  g_autoptr(MwRemedy) r = NULL;
  g_autofree char *file = g_build_filename (f->dir, "not a folder", NULL);

  mw_test_fixture_migrate (f, "0000_init");
  mw_test_write_file (file, "x");
  g_free (s->backup_dir);
  s->backup_dir = g_build_filename (file, "backups", NULL);
  r = remedy_for (f, s, MW_STATE_PENDING);
  assert_remedy (r, "backup-folder", "quit retry*", MW_EXIT_BACKUP_FAILED);
  g_assert_nonnull (strstr (r->message, s->backup_dir));
}

/* Shop words: sizes in GB where they are GB, tables by what they hold, times as a
 * person says them. */
static void
test_shop_words (Fixture *f, gconstpointer data)
{
  g_autofree char *gb = mw_shop_format_size ((guint64) (81001.7 * 1024 * 1024));
  g_autofree char *mb = mw_shop_format_size ((guint64) (15.6 * 1024 * 1024));
  g_autofree char *sales = mw_shop_table_noun ("transactions", 45);
  g_autofree char *one = mw_shop_table_noun ("payments", 1);
  g_autofree char *other = mw_shop_table_noun ("audit_logs", 3);
  g_autoptr(GDateTime) now = g_date_time_new_local (2026, 3, 14, 16, 0, 0);
  g_autoptr(GDateTime) today = g_date_time_new_local (2026, 3, 14, 14, 2, 0);
  g_autoptr(GDateTime) yesterday = g_date_time_new_local (2026, 3, 13, 18, 2, 0);
  g_autoptr(GDateTime) long_ago = g_date_time_new_local (2026, 1, 12, 9, 5, 0);
  g_autofree char *t1 = mw_shop_format_time (today, now);
  g_autofree char *t2 = mw_shop_format_time (yesterday, now);
  g_autofree char *t3 = mw_shop_format_time (long_ago, now);

  g_assert_cmpstr (gb, ==, "79.1 GB");
  g_assert_cmpstr (mb, ==, "15.6 MB");
  g_assert_cmpstr (sales, ==, "45 sales");
  g_assert_cmpstr (one, ==, "1 payment");
  g_assert_cmpstr (other, ==, "3 rows of audit_logs");
  g_assert_cmpstr (t1, ==, "14:02 today");
  g_assert_cmpstr (t2, ==, "yesterday 18:02");
  g_assert_cmpstr (t3, ==, "12 Jan 09:05");
}

static void
test_newer_and_installation_offer_nothing_harmful (Fixture *f, gconstpointer data)
{
  g_autoptr(MwSettings) s = settings_for (f);
  g_autoptr(MwRemedy) newer = NULL;
  g_autoptr(MwRemedy) installation = NULL;
  g_autoptr(MwDiagnosis) d = NULL;
  g_autoptr(GError) error = NULL;

  mw_test_fixture_migrate (f, NULL);
  mw_test_sql_exec (f->db, "INSERT INTO __drizzle_migrations (hash, created_at) "
                           "VALUES ('feedface', 1800000000000)");
  newer = remedy_for (f, s, MW_STATE_NEWER);
  assert_remedy (newer, "newer", "quit*", MW_EXIT_NEWER);

  g_set_error (&error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND, "no folder");
  d = mw_diagnosis_new_for_error (f->db, error);
  installation = mw_remedy_for_diagnosis (d, s);
  assert_remedy (installation, "installation", "quit*", MW_EXIT_NO_MIGRATIONS);
}

static void
test_locked_is_retried (Fixture *f, gconstpointer data)
{
  g_autoptr(MwSettings) s = settings_for (f);
  g_autoptr(MwRemedy) r = NULL;
  sqlite3 *holder;

  mw_test_fixture_migrate (f, "0000_init");
  holder = mw_test_hold_write_lock (f->db, "INSERT INTO shops VALUES ('x', 'y')");
  r = remedy_for (f, s, MW_STATE_LOCKED);
  mw_test_release_lock (holder);
  assert_remedy (r, "locked", "cancel retry*", MW_EXIT_LOCKED);
  /* Locked may be the POS still closing: the migrator itself waits for it. */
  g_assert_true (mw_state_may_migrate (MW_STATE_LOCKED, FALSE));
}

static MwRemedy *
remedy_with_schema (Fixture *f, MwSettings *s, MwState expected)
{
  g_autoptr(MwDiagnosis) d = mw_diagnose_full (f->db, f->set, MW_DIAGNOSE_SCHEMA, NULL, NULL);

  g_assert_cmpstr (mw_state_to_string (d->state), ==, mw_state_to_string (expected));
  return mw_remedy_for_diagnosis (d, s);
}

/* When the tables can be compared with the app's, keeping the data is offered first,
 * as the default — never Start Fresh. */
static void
test_keep_data_is_recommended (Fixture *f, gconstpointer data)
{
  g_autoptr(MwSettings) s = settings_for (f);
  g_autoptr(MwRemedy) legacy = NULL;
  g_autoptr(MwRemedy) changed = NULL;
  g_autoptr(MwRemedy) changed_after_update = NULL;
  g_autoptr(MwRemedy) carried = NULL;
  g_autofree char *path = g_build_filename (f->folder, "0001_add.sql", NULL);
  g_autofree char *text = NULL;

  /* A legacy database: the tables of level 1, no history. */
  mw_test_fixture_migrate (f, "0000_init");
  mw_test_sql_exec (f->db, "INSERT INTO shops VALUES ('s1', 'Corner');"
                           "DROP TABLE __drizzle_migrations");
  legacy = remedy_with_schema (f, s, MW_STATE_UNTRACKED);
  assert_remedy (legacy, "incompatible", "cancel fresh adopt*", MW_EXIT_UNTRACKED);
  g_assert_nonnull (strstr (legacy->message, "exactly what this version expects"));
  g_assert_null (strstr (legacy->message, "contact support"));
  g_assert_false (legacy->automatic);
  text = mw_remedy_to_text (legacy, s);
  g_assert_nonnull (strstr (text, "migration-wizard adopt --yes"));
  g_assert_nonnull (strstr (text, "(recommended)"));

  /* An applied update changed by a comment only: proven, and after an update applied
   * without asking. */
  g_unlink (f->db);
  mw_test_fixture_migrate (f, NULL);
  mw_test_write_file (path, "ALTER TABLE `shops` ADD `town` text; -- reviewed");
  mw_test_fixture_load (f);
  changed = remedy_with_schema (f, s, MW_STATE_HASH_MISMATCH);
  assert_remedy (changed, "hash-mismatch", "cancel fresh restore(unavailable) adopt*",
                 MW_EXIT_HASH_MISMATCH);
  g_assert_false (changed->automatic);
  s->after_update = TRUE;
  changed_after_update = remedy_with_schema (f, s, MW_STATE_HASH_MISMATCH);
  g_assert_true (changed_after_update->automatic);
  s->after_update = FALSE;

  /* A column added by hand: no level matches; every row is carried, and the preview
   * says what stays behind. */
  mw_test_sql_exec (f->db, "ALTER TABLE shops ADD COLUMN note text; DELETE FROM "
                           "__drizzle_migrations");
  carried = remedy_with_schema (f, s, MW_STATE_UNTRACKED);
  assert_remedy (carried, "incompatible", "cancel fresh adopt*", MW_EXIT_UNTRACKED);
  g_assert_nonnull (strstr (carried->message, "1 part this version no longer uses"));
}

/* Each way the update can fail, as the engine reports it. */
static void
test_migrate_errors (Fixture *f, gconstpointer data)
{
  static const struct
  {
    GQuark      (*domain) (void);
    int          code;
    const char  *id;
    const char  *choices;
    MwExitCode   exit_code;
  } cases[] = {
    { g_io_error_quark, G_IO_ERROR_CANCELLED, "cancelled", "close retry*", MW_EXIT_CANCELLED },
    { mw_engine_error_quark, MW_ENGINE_ERROR_LOCKED, "locked", "cancel retry*", MW_EXIT_LOCKED },
    { mw_engine_error_quark, MW_ENGINE_ERROR_NO_SPACE, "no-space", "quit retry*",
      MW_EXIT_NO_SPACE },
    { mw_engine_error_quark, MW_ENGINE_ERROR_BACKUP_FAILED, "backup-failed", "cancel retry*",
      MW_EXIT_BACKUP_FAILED },
    { mw_engine_error_quark, MW_ENGINE_ERROR_CORRUPT, "corrupt", "cancel fresh repair*",
      MW_EXIT_CORRUPT },
    { mw_engine_error_quark, MW_ENGINE_ERROR_MIGRATION_FAILED, "migration-failed",
      "cancel* fresh restore(unavailable)", MW_EXIT_MIGRATION_FAILED },
    { mw_engine_error_quark, MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION, "migration-failed",
      "cancel* fresh restore(unavailable)", MW_EXIT_FOREIGN_KEYS },
    { mw_engine_error_quark, MW_ENGINE_ERROR_CHECK_FAILED, "migration-failed",
      "cancel* fresh restore(unavailable)", MW_EXIT_CHECK_FAILED },
    { mw_engine_error_quark, MW_ENGINE_ERROR_REFUSED, "recheck", "retry*",
      MW_EXIT_MIGRATION_FAILED },
  };
  g_autoptr(MwSettings) s = settings_for (f);
  g_autoptr(MwDiagnosis) d = mw_diagnose (f->db, f->set, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = g_error_new (cases[i].domain (), cases[i].code, "what happened");
      g_autoptr(MwRemedy) r = mw_remedy_for_error (MW_OPERATION_MIGRATE, error, NULL, d, s);

      assert_remedy (r, cases[i].id, cases[i].choices, cases[i].exit_code);
      g_assert_cmpint (mw_exit_code_for_error (error), ==, cases[i].exit_code);
      g_assert_true (r->automatic == (cases[i].code == MW_ENGINE_ERROR_REFUSED &&
                                      cases[i].domain () == MW_ENGINE_ERROR));
      /* The one place that says what was kept: once, not once per layer. */
      if (g_str_equal (cases[i].id, "migration-failed"))
        {
          const char *kept = strstr (r->message, "was not changed");

          if (cases[i].code == MW_ENGINE_ERROR_CHECK_FAILED)
            g_assert_null (kept);
          else
            {
              g_assert_nonnull (kept);
              g_assert_null (strstr (kept + 1, "was not changed"));
            }
        }
    }
}

static void
test_operation_errors (Fixture *f, gconstpointer data)
{
  g_autoptr(MwSettings) s = settings_for (f);
  g_autoptr(GError) io = g_error_new (MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE, "disk");
  g_autoptr(GError) cancelled = g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "stop");
  g_autoptr(GError) missing = g_error_new (MW_ENGINE_ERROR, MW_ENGINE_ERROR_DATABASE_MISSING,
                                           "gone");
  g_autoptr(MwRemedy) restore = mw_remedy_for_error (MW_OPERATION_RESTORE, io, NULL, NULL, s);
  g_autoptr(MwRemedy) repair = mw_remedy_for_error (MW_OPERATION_REPAIR, io, NULL, NULL, s);
  g_autoptr(MwRemedy) repair_cancelled = mw_remedy_for_error (MW_OPERATION_REPAIR, cancelled,
                                                              NULL, NULL, s);
  g_autoptr(MwRemedy) repair_missing = mw_remedy_for_error (MW_OPERATION_REPAIR, missing,
                                                            NULL, NULL, s);

  assert_remedy (restore, "operation-failed", "close retry*", MW_EXIT_UNREADABLE);
  g_assert_cmpstr (restore->title, ==, "Restore Failed");
  assert_remedy (repair, "repair-failed", "close retry*", MW_EXIT_REPAIR_FAILED);
  assert_remedy (repair_cancelled, "repair-failed", "close retry*", MW_EXIT_CANCELLED);
  assert_remedy (repair_missing, "repair-failed", "close retry*", MW_EXIT_MISSING);
}

/* A real failure in the second statement of the second migration: every renderer
 * names statement 2 (it once said 3 in the window). */
static void
test_failure_renderers (Fixture *f, gconstpointer data)
{
  static const MwTestMigration failing[] = {
    base[0],
    { "0001_broken", 1700000100000,
      "ALTER TABLE `shops` ADD `town` text;\n--> statement-breakpoint\n"
      "SELECT abs(-9223372036854775807 - 1);" },
    { NULL }
  };
  g_autoptr(MwSettings) s = settings_for (f);
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MwRemedy) r = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  JsonObject *obj;

  mw_test_fixture_migrate (f, "0000_init");
  mw_test_fixture_write (f, failing);
  migrator = mw_migrator_new (f->db, f->set);
  mw_migrator_set_backup (migrator, TRUE, s->backup_dir);
  g_assert_false (mw_migrator_run (migrator, NULL, &error));
  g_assert_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATION_FAILED);
  g_assert_cmpuint (mw_migrator_get_failed_statement (migrator), ==, 2);

  text = mw_migrator_failure_to_text (migrator, error, f->db);
  g_assert_nonnull (strstr (text, "Migration: 0001_broken, statement 2\n"));
  g_assert_nonnull (strstr (text, "abs(-9223372036854775807 - 1)"));
  g_assert_nonnull (strstr (text, mw_migrator_get_backup (migrator)->path));

  mw_migrator_failure_to_json (migrator, error, builder);
  root = json_builder_get_root (builder);
  obj = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (obj, "migration"), ==, "0001_broken");
  g_assert_cmpint (json_object_get_int_member (obj, "statement"), ==, 2);

  /* The remedy carries that text as its details, and offers the backup just made. */
  r = mw_remedy_for_error (MW_OPERATION_MIGRATE, error, migrator, NULL, s);
  assert_remedy (r, "migration-failed", "cancel* fresh restore", MW_EXIT_MIGRATION_FAILED);
  g_assert_cmpstr (r->detail, ==, text);
  g_assert_cmpstr (r->backup->path, ==, mw_migrator_get_backup (migrator)->path);
}

/* The migration table prints the same time everywhere: UTC, labelled. */
static void
test_migration_table (Fixture *f, gconstpointer data)
{
  g_autoptr(MwDiagnosis) d = NULL;
  g_autofree char *table = NULL;
  g_autofree char *when = mw_format_migration_time (1700000000000);

  g_assert_cmpstr (when, ==, "2023-11-14 22:13 UTC");
  mw_test_fixture_migrate (f, "0000_init");
  d = mw_diagnose (f->db, f->set, NULL);
  table = mw_diagnosis_migrations_to_text (d);
  g_assert_nonnull (strstr (table, "0000_init"));
  g_assert_nonnull (strstr (table, "2023-11-14 22:13 UTC"));
  g_assert_nonnull (strstr (table, "applied"));
  g_assert_nonnull (strstr (table, "pending"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add ("/mw/engine/remedy/" name, Fixture, NULL, fixture_set_up, func, \
              mw_test_fixture_tear_down)
  ADD ("ready-and-up-to-date", test_ready_and_up_to_date);
  ADD ("hash-mismatch-offers-the-backup", test_hash_mismatch_offers_the_backup);
  ADD ("incompatible-and-damaged", test_incompatible_and_damaged);
  ADD ("newer-and-installation-offer-nothing-harmful",
       test_newer_and_installation_offer_nothing_harmful);
  ADD ("corrupt-offers-the-backup-with-costs", test_corrupt_offers_the_backup_with_costs);
  ADD ("backup-folder-checked-first", test_backup_folder_checked_first);
  ADD ("shop-words", test_shop_words);
  ADD ("locked-is-retried", test_locked_is_retried);
  ADD ("keep-data-is-recommended", test_keep_data_is_recommended);
  ADD ("migrate-errors", test_migrate_errors);
  ADD ("operation-errors", test_operation_errors);
  ADD ("failure-renderers", test_failure_renderers);
  ADD ("migration-table", test_migration_table);
#undef ADD

  return g_test_run ();
}
