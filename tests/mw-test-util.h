/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "mw-engine.h"
#include "mw-testlib.h"

G_BEGIN_DECLS

/* Fixtures for the engine's unit tests, on top of mw-testlib (which knows nothing of
 * the engine and also serves the CLI and interop tests). */

/* A fresh temp dir per test, removed at its end: a migrations folder and a database
 * path in it (neither is created). */
typedef struct
{
  char           *dir;
  char           *folder;   /* dir/migrations */
  char           *db;       /* dir/pos_system.db */
  char           *backups;  /* dir/backups: where backups of db go by default */
  MwMigrationSet *set;      /* the folder as last loaded */
} MwTestFixture;

void            mw_test_fixture_set_up      (MwTestFixture         *f,
                                             gconstpointer          data);
void            mw_test_fixture_set_up_named (MwTestFixture        *f,
                                              const char           *dir_name,
                                              const char           *db_name);
void            mw_test_fixture_tear_down   (MwTestFixture         *f,
                                             gconstpointer          data);
MwMigrationSet *mw_test_fixture_load        (MwTestFixture         *f);
MwMigrationSet *mw_test_fixture_write       (MwTestFixture         *f,
                                             const MwTestMigration *migrations);
MwMigrator     *mw_test_fixture_migrator    (MwTestFixture         *f,
                                             const char            *target);
void            mw_test_fixture_migrate     (MwTestFixture         *f,
                                             const char            *target);

void            mw_test_assert_mentions_impl (const char           *file,
                                              int                   line,
                                              const char           *func,
                                              const char           *message,
                                              const char           *text);

/* Asserts that @message (an error's, a diagnosis') contains @text. */
#define mw_test_assert_mentions(message, text) \
  mw_test_assert_mentions_impl (__FILE__, __LINE__, G_STRFUNC, (message), (text))

G_END_DECLS
