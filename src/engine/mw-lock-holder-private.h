/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Who holds SQLite's locks on a database. Implemented in mw-lock-holder.c. */

gboolean     mw_lock_holder            (const char      *database_path,
                                        int             *out_pid,
                                        char           **out_name);

G_END_DECLS
