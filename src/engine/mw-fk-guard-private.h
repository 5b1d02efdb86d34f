/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/* Which child tables an update can have given a foreign-key violation, proven from
 * what it did rather than by reading every child. Implemented in mw-fk-guard.c. */

typedef struct _MwFkGuard MwFkGuard;

MwFkGuard *mw_fk_guard_new              (sqlite3    *db);
void       mw_fk_guard_free             (MwFkGuard  *self);
void       mw_fk_guard_parent_touched   (MwFkGuard  *self,
                                         const char *parent,
                                         gboolean    stepping);
void       mw_fk_guard_take_snapshots   (MwFkGuard  *self,
                                         sqlite3    *db);
gboolean   mw_fk_guard_parent_kept_keys (MwFkGuard  *self,
                                         sqlite3    *db,
                                         const char *parent);
gboolean   mw_fk_guard_links_changed    (MwFkGuard  *self,
                                         sqlite3    *db,
                                         const char *child);
gboolean   mw_fk_guard_is_link_column   (MwFkGuard  *self,
                                         const char *child,
                                         const char *column);
gboolean   mw_fk_guard_is_snapshotting  (MwFkGuard  *self);
void       mw_fk_guard_drop_snapshots   (MwFkGuard  *self,
                                         sqlite3    *db);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwFkGuard, mw_fk_guard_free)

G_END_DECLS
