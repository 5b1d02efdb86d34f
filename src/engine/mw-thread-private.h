/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Engine worker threads. Implemented in mw-thread.c. */

void      mw_thread_run_in_background (void);
void      mw_thread_run_with_slack    (void);
void      mw_thread_wait_in_background (void);

G_END_DECLS
