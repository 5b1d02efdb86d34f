/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The migrations lint, finding by finding, on folders a developer could really ship,
 * and on the project's own real folders: each finding named by its code, in the
 * right file and line, with the right severity.
 */

#include "config.h"

#include <string.h>

#include "mw-test-util.h"

typedef MwTestFixture Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  mw_test_fixture_set_up (f, data);
}

/* The findings as "severity code file:line", one per line, in order. */
static char *
findings_of (MwLintReport *report)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < report->findings->len; i++)
    {
      MwLintFinding *finding = g_ptr_array_index (report->findings, i);

      if (g_str_equal (finding->code, "snapshot-missing"))
        continue;   /* these hand-written folders have no snapshots */
      g_string_append_printf (out, "%s %s %s:%u\n",
                              finding->severity == MW_LINT_ERROR ? "error" : "warning",
                              finding->code, finding->file ? finding->file : "-", finding->line);
    }
  return g_string_free (out, FALSE);
}

static MwLintReport *
lint (Fixture *f, const MwTestMigration *migrations)
{
  g_autoptr(GError) error = NULL;
  MwLintReport *report;

  mw_test_write_migrations (f->folder, migrations);
  report = mw_lint (f->folder, NULL, &error);
  g_assert_no_error (error);
  return report;
}

#define BP "\n--> statement-breakpoint\n"

static void
test_clean_folder (Fixture *f, gconstpointer data)
{
  const MwTestMigration ok[] = {
    { "0000_init", 1700000000000, "CREATE TABLE `shops` (`id` text PRIMARY KEY, `name` text);" },
    { "0001_more", 1700000100000, "ALTER TABLE `shops` ADD `town` text;" BP
                                  "CREATE INDEX `shops_town` ON `shops` (`town`);" },
    { NULL }
  };
  g_autoptr(MwLintReport) report = lint (f, ok);
  g_autofree char *findings = findings_of (report);

  g_assert_cmpstr (findings, ==, "");
  g_assert_cmpuint (report->n_errors, ==, 0);
}

static void
test_each_finding (Fixture *f, gconstpointer data)
{
  const MwTestMigration bad[] = {
    { "0000_init", 1700000000000,
      "CREATE TABLE `shops` (`id` text PRIMARY KEY, `name` text);" BP
      "CREATE TABLE `sales` (`id` text PRIMARY KEY, `shop_id` text REFERENCES `shops`(`id`) "
      "ON DELETE CASCADE, `note` text);" BP
      "CREATE TABLE `old_stuff` (`id` text);" },
    /* back-dated: older than 0000 */
    { "0001_backdated", 1600000000000, "ALTER TABLE `shops` ADD `town` text;" },
    /* two statements in one piece; a transaction statement */
    { "0002_two", 1700000200000,
      "CREATE INDEX `a` ON `shops` (`name`); CREATE INDEX `b` ON `shops` (`town`);" },
    { "0003_commit", 1700000300000, "COMMIT;" },
    /* a double-quoted name that is no column: a text value, or refused */
    { "0004_dqs", 1700000400000,
      "ALTER TABLE `shops` ADD `pin` text;" BP
      "UPDATE `shops` SET `pin` = \"pin_hash\";" },
    /* drizzle-kit's rebuild of a parent with ON DELETE CASCADE children, giving a new
     * required column no value */
    { "0005_rebuild", 1700000500000,
      "PRAGMA foreign_keys=OFF;" BP
      "CREATE TABLE `__new_shops` (`id` text PRIMARY KEY, `name` text, `town` text, "
      "`pin` text, `code` text NOT NULL);" BP
      "INSERT INTO `__new_shops`(\"id\", \"name\", \"town\", \"pin\") SELECT \"id\", \"name\", "
      "\"town\", \"pin\" FROM `shops`;" BP
      "DROP TABLE `shops`;" BP
      "ALTER TABLE `__new_shops` RENAME TO `shops`;" BP
      "PRAGMA foreign_keys=ON;" },
    /* drops */
    { "0006_drops", 1700000600000,
      "ALTER TABLE `sales` DROP COLUMN `note`;" BP "DROP TABLE `old_stuff`;" },
    /* a function this SQLite does not have */
    { "0007_newer", 1700000700000, "UPDATE `shops` SET `name` = no_such_fn(`name`);" },
    { NULL }
  };
  g_autoptr(MwLintReport) report = lint (f, bad);
  g_autofree char *findings = findings_of (report);
  g_autofree char *stray = g_build_filename (f->folder, "0099_forgotten.sql", NULL);
  g_autoptr(MwLintReport) with_stray = NULL;
  g_autofree char *stray_findings = NULL;

  g_test_message ("%s", findings);
  g_assert_nonnull (strstr (findings, "error when-older meta/_journal.json:1\n"));
  g_assert_nonnull (strstr (findings, "error piece-statements 0002_two.sql:1\n"));
  g_assert_nonnull (strstr (findings, "error transaction 0003_commit.sql:1\n"));
  g_assert_nonnull (strstr (findings, "error double-quoted 0004_dqs.sql:3\n"));
  g_assert_nonnull (strstr (findings, "error not-null-no-default 0005_rebuild.sql:5\n"));
  g_assert_nonnull (strstr (findings, "error cascade-rebuild 0005_rebuild.sql:7\n"));
  g_assert_nonnull (strstr (findings, "warning drop-column 0006_drops.sql:1\n"));
  g_assert_nonnull (strstr (findings, "warning drop-table 0006_drops.sql:3\n"));
  g_assert_nonnull (strstr (findings, "error newer-function 0007_newer.sql:1\n"));
  g_assert_cmpuint (report->n_errors, ==, 7);

  /* An SQL file the journal does not name. */
  mw_test_write_file (stray, "CREATE TABLE `never` (`id` text);");
  with_stray = mw_lint (f->folder, NULL, NULL);
  stray_findings = findings_of (with_stray);
  g_assert_nonnull (strstr (stray_findings, "warning unlisted-file 0099_forgotten.sql:0\n"));
}

/* A snapshot that disagrees with what the SQL builds. */
static void
test_snapshot_differs (Fixture *f, gconstpointer data)
{
  const MwTestMigration one[] = {
    { "0000_init", 1700000000000, "CREATE TABLE `shops` (`id` text PRIMARY KEY, `name` text);" },
    { NULL }
  };
  g_autofree char *snapshot = g_build_filename (f->folder, "meta", "0000_snapshot.json", NULL);
  g_autoptr(MwLintReport) report = NULL;
  g_autofree char *text = NULL;

  mw_test_write_migrations (f->folder, one);
  mw_test_write_file (snapshot,
                      "{\"version\":\"6\",\"dialect\":\"sqlite\",\"tables\":{\"shops\":{"
                      "\"name\":\"shops\",\"columns\":{"
                      "\"id\":{\"name\":\"id\",\"type\":\"text\",\"primaryKey\":true,\"notNull\":false},"
                      "\"name\":{\"name\":\"name\",\"type\":\"integer\",\"notNull\":true}}}}}");
  report = mw_lint (f->folder, NULL, NULL);
  text = mw_lint_report_to_text (report);
  g_assert_nonnull (strstr (text, "meta/0000_snapshot.json: warning [snapshot-differs]"));
  g_assert_nonnull (strstr (text, "shops.name"));
  g_assert_cmpuint (report->n_errors, ==, 0);
}

/* The project's own history: the two defects it was written to have. */
static void
test_real_folder (Fixture *f, gconstpointer data)
{
  const char *migrations = g_getenv ("MW_MIGRATIONS");
  g_autoptr(MwLintReport) report = NULL;
  g_autofree char *findings = NULL;

  g_assert_nonnull (migrations);
  report = mw_lint (migrations, NULL, NULL);
  findings = findings_of (report);
  g_assert_cmpstr (findings, ==,
                   "error cascade-rebuild 0003_users_username_required.sql:20\n"
                   "error when-older meta/_journal.json:44\n");
}

/* --since: what the next release does to shops on this one. */
static void
test_since (Fixture *f, gconstpointer data)
{
  const char *migrations = g_getenv ("MW_MIGRATIONS");
  const char *regenerated = g_getenv ("MW_REGENERATED");
  g_autoptr(MwLintReport) report = NULL;
  g_autoptr(MwLintReport) changed = NULL;
  g_autofree char *findings = NULL;
  g_autofree char *copy = g_strdup_printf ("cp -r '%s/.' '%s'", migrations, f->folder);
  g_autofree char *file = g_build_filename (f->folder, "0002_product_batches.sql", NULL);
  g_autofree char *text = NULL;
  g_autofree char *changed_text = NULL;

  report = mw_lint (regenerated, migrations, NULL);
  findings = findings_of (report);
  g_assert_nonnull (strstr (findings, "error regenerated-baseline -:0\n"));
  g_assert_nonnull (report->offer);
  g_assert_nonnull (strstr (report->offer, "carries every row"));

  /* An applied migration changed by a comment: every shop meets "updates changed",
   * and is offered the re-stamp. */
  g_assert_cmpint (system (copy), ==, 0);
  g_assert_true (g_file_get_contents (file, &text, NULL, NULL));
  changed_text = g_strconcat (text, "\n-- reviewed\n", NULL);
  mw_test_write_file (file, changed_text);
  changed = mw_lint (f->folder, migrations, NULL);
  g_clear_pointer (&findings, g_free);
  findings = findings_of (changed);
  g_assert_nonnull (strstr (findings, "error changed-applied 0002_product_batches.sql:0\n"));
  g_assert_nonnull (strstr (changed->offer, "re-stamped"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add ("/mw/engine/lint/" name, Fixture, NULL, fixture_set_up, func, \
              mw_test_fixture_tear_down)
  ADD ("clean-folder", test_clean_folder);
  ADD ("each-finding", test_each_finding);
  ADD ("snapshot-differs", test_snapshot_differs);
  ADD ("real-folder", test_real_folder);
  ADD ("since", test_since);
#undef ADD

  return g_test_run ();
}
