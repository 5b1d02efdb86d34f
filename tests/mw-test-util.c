/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "mw-test-util.h"

void
mw_test_fixture_set_up (MwTestFixture *f,
                        gconstpointer  data)
{
  mw_test_fixture_set_up_named (f, "shop", "pos_system.db");
}

/* Like mw_test_fixture_set_up(), with the folder and the database named as a shop's
 * could be (spaces, accents). */
void
mw_test_fixture_set_up_named (MwTestFixture *f,
                              const char    *dir_name,
                              const char    *db_name)
{
  f->dir = mw_test_make_tmp_dir (dir_name);
  f->folder = g_build_filename (f->dir, "migrations", NULL);
  f->db = g_build_filename (f->dir, db_name, NULL);
  f->backups = g_build_filename (f->dir, "backups", NULL);
  f->set = NULL;
}

void
mw_test_fixture_tear_down (MwTestFixture *f,
                           gconstpointer  data)
{
  g_clear_object (&f->set);
  mw_test_remove_tree (f->dir);
  g_clear_pointer (&f->dir, g_free);
  g_clear_pointer (&f->folder, g_free);
  g_clear_pointer (&f->db, g_free);
  g_clear_pointer (&f->backups, g_free);
}

/* (Re)reads the migrations folder, which must be valid. */
MwMigrationSet *
mw_test_fixture_load (MwTestFixture *f)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&f->set);
  f->set = mw_migration_set_load (f->folder, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->set);
  return f->set;
}

/* Writes a 0.x folder holding exactly @migrations and loads it. */
MwMigrationSet *
mw_test_fixture_write (MwTestFixture         *f,
                       const MwTestMigration *migrations)
{
  mw_test_write_migrations (f->folder, migrations);
  return mw_test_fixture_load (f);
}

/* A migrator for the fixture's database and set, stopping after @target (or not). */
MwMigrator *
mw_test_fixture_migrator (MwTestFixture *f,
                          const char    *target)
{
  MwMigrator *migrator;

  g_assert_nonnull (f->set);
  migrator = mw_migrator_new (f->db, f->set);
  mw_migrator_set_target (migrator, target);
  return migrator;
}

/* Brings the database to @target (NULL: all), which must succeed. */
void
mw_test_fixture_migrate (MwTestFixture *f,
                         const char    *target)
{
  g_autoptr(MwMigrator) migrator = mw_test_fixture_migrator (f, target);
  g_autoptr(GError) error = NULL;
  gboolean ok = mw_migrator_run (migrator, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

void
mw_test_assert_mentions_impl (const char *file,
                              int         line,
                              const char *func,
                              const char *message,
                              const char *text)
{
  g_autofree char *what = NULL;

  if (message != NULL && strstr (message, text) != NULL)
    return;
  what = g_strdup_printf ("“%s” does not mention “%s”", message ? message : "(null)", text);
  g_assertion_message (G_LOG_DOMAIN, file, line, func, what);
}
