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
#ifdef __linux__
  static GPrivate lowered;

  if (g_private_get (&lowered) == NULL)
    {
      if (setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 10) != 0)
        g_debug ("Could not lower the worker's priority");
      g_private_set (&lowered, GINT_TO_POINTER (1));
    }
#endif
}
