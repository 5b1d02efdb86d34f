/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <sqlite3.h>

#include "mw-migration-set.h"

G_BEGIN_DECLS

/* Rehearsing pending migrations before anything is touched. Implemented in
 * mw-rehearsal.c; the diagnosis and the migrator both ask it. */

/* What the rehearsal found wrong, when it did. */
typedef struct
{
  const MwMigration *migration;        /* borrowed */
  guint              piece;            /* 0-based */
  gboolean           needs_newer_sqlite;
} MwRehearsalFault;

gboolean     mw_rehearse                 (sqlite3           *db,
                                          const char        *migrations_table,
                                          gboolean           v1,
                                          GPtrArray         *todo,
                                          MwRehearsalFault  *fault,
                                          GError           **error);
gboolean     mw_sql_controls_transaction (const char        *piece);

G_END_DECLS
