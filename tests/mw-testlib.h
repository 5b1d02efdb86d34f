/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* Helpers shared by the test programs: real files, real processes. */

/* One migration of a drizzle-kit 0.x folder; lists end with a { NULL } entry. */
typedef struct
{
  const char *tag;
  gint64      when;
  const char *sql;
} MwTestMigration;

char        *mw_test_make_tmp_dir    (const char  *name);
void         mw_test_remove_tree     (const char  *path);
void         mw_test_write_file      (const char  *path,
                                      const char  *text);
void         mw_test_write_journal   (const char  *folder,
                                      guint        n,
                                      const char  *tags[],
                                      const gint64 whens[],
                                      const char  *sqls[]);
void         mw_test_write_migrations (const char           *folder,
                                       const MwTestMigration *migrations);
int          mw_test_spawn           (char       **out,
                                      char       **err,
                                      const char  *first_arg,
                                      ...) G_GNUC_NULL_TERMINATED;
void         mw_test_sql_exec        (const char  *db_path,
                                      const char  *sql);
gint64       mw_test_sql_int         (const char  *db_path,
                                      const char  *sql);
char        *mw_test_sql_text        (const char  *db_path,
                                      const char  *sql);
char        *mw_test_file_digest     (const char  *path);
char        *mw_test_dump_query      (const char  *db_path,
                                      const char  *sql);
char        *mw_test_dump_schema     (const char  *db_path);
char        *mw_test_dump_migrations (const char  *db_path);
char        *mw_test_count_rows      (const char  *db_path);
char        *mw_test_dump_database   (const char  *db_path);
char        *mw_test_file_state      (const char  *path);
void         mw_test_age_file        (const char  *path);
char        *mw_test_list_dir        (const char  *dir);
sqlite3     *mw_test_hold_write_lock (const char  *db_path,
                                      const char  *sql);
void         mw_test_release_lock    (sqlite3     *db);

G_END_DECLS
