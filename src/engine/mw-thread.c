/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-thread"

/* SCHED_IDLE (Linux). */
#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
#include "config.h"

#include <glib.h>
#ifdef __linux__
# include <pthread.h>
# include <sched.h>
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
 * mw_thread_wait_in_background:
 *
 * For a helper that mostly waits for the disk (a flush): Linux's idle scheduling
 * class. Such a thread wakes at every page the disk has written — thousands of times
 * a second during a flush — and, of normal priority, each wake-up could take the core
 * from the window's main loop; an idle-class thread never preempts another. Its own
 * work (the next wait) takes microseconds; for work after the wait, the thread calls
 * mw_thread_run_with_slack(). Elsewhere that is all it does.
 */
void
mw_thread_wait_in_background (void)
{
#ifdef __linux__
  struct sched_param param = { .sched_priority = 0 };

  if (pthread_setschedparam (pthread_self (), SCHED_IDLE, &param) == 0)
    return;
  g_debug ("Could not put the waiting thread in the idle class");
#endif
  mw_thread_run_with_slack ();
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
#ifdef __linux__
  struct sched_param param = { .sched_priority = 0 };

  /* Back from the idle class, if it was put there to wait. */
  pthread_setschedparam (pthread_self (), SCHED_OTHER, &param);
#endif
  lower_to (15);
}
