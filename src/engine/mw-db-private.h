/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* SQLite connections as the engine opens them, and the small queries every part of it
 * runs on one. Implemented in mw-db.c. */

sqlite3     *mw_db_open                  (const char      *path,
                                          int              flags,
                                          int              busy_timeout_ms,
                                          GError         **error);
sqlite3     *mw_db_open_full             (const char      *path,
                                          int              flags,
                                          int              busy_timeout_ms,
                                          const char      *vfs,
                                          GError         **error);
void         mw_db_close                 (sqlite3         *db);
char        *mw_db_filename              (const char      *path);
void         mw_db_allow_salvage         (sqlite3         *db);
gboolean     mw_db_exec                  (sqlite3         *db,
                                          const char      *sql,
                                          GError         **error);
void         mw_db_set_error             (GError         **error,
                                          sqlite3         *db,
                                          int              rc,
                                          int              fallback_code,
                                          const char      *doing);
int          mw_engine_error_from_sqlite (int              rc,
                                          int              fallback_code);

gint64       mw_db_query_int             (sqlite3         *db,
                                          const char      *sql,
                                          gint64           fallback);
char        *mw_db_quote_identifier      (const char      *name);
gboolean     mw_db_check_integrity       (sqlite3         *db,
                                          gboolean         full,
                                          int              max_errors,
                                          const char      *separator,
                                          char           **out_problems,
                                          int             *out_rc);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3, mw_db_close)

G_END_DECLS
