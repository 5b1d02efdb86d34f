/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-thread"

#include "config.h"

#include <glib.h>
#ifdef __linux__
# include <sys/resource.h>
# include <sys/syscall.h>
# include <unistd.h>
#endif

#include "mw-thread-private.h"

static void
lower_to (int nice)
{
#ifdef __linux__
  static GPrivate lowered;

  if (g_private_get (&lowered) == NULL)
    {
      if (setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), nice) != 0)
        g_debug ("Could not lower the worker's priority");
      g_private_set (&lowered, GINT_TO_POINTER (1));
    }
#endif
}

/**
 * mw_thread_run_in_background:
 *
 * Called at the start of an engine worker: lowers the calling thread's scheduling
 * priority (nice 10), so that on a small machine the wizard window's main loop still
 * gets a core when backups, checks and migrations keep both busy. Thread-local on
 * Linux (a thread has its own nice value); elsewhere it does nothing.
 */
void
mw_thread_run_in_background (void)
{
  lower_to (10);
}

/**
 * mw_thread_run_with_slack:
 *
 * mw_thread_run_in_background() for a helper whose work can wait for another
 * worker's, which the caller waits for anyway (a check beside the copy's hash): nice
 * 15, so that on two cores the other gets the larger share.
 */
void
mw_thread_run_with_slack (void)
{
  lower_to (15);
}
