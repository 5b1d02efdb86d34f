/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-ticker"

#include "config.h"

#include <math.h>

#include "mw-thread-private.h"
#include "mw-ticker-private.h"

/*
 * A check of a large database is one SQLite call that takes seconds: `quick_check`,
 * `integrity_check(table)`, `foreign_key_check(table)`. All SQLite tells while it
 * works is its progress handler, called every MW_TICKER_OPS virtual-machine steps,
 * and a check takes a predictable number of those per page or per row. The handler
 * only counts (it runs every few tens of microseconds, in the middle of SQLite's
 * work); a heartbeat thread turns the count into the bar ten times a second:
 *
 *  - a phase (one message) restarts the bar at 0; stretches of it (a table each)
 *    take their share [start, end); the bar never goes back within a phase;
 *  - it never claims a stretch is done: up to 90 % of the estimate it moves in step
 *    with the ticks, past that it slows down and only approaches the stretch's end,
 *    so a file that takes more steps than estimated still shows movement and never
 *    100 % while the work goes on; one that takes fewer ends its stretch early;
 *  - quick_check first walks every b-tree without calling the handler at all (about
 *    half its time on SQLite 3.40): that walk is shown by the time it is expected to
 *    take, until the first tick says it is over;
 *  - with a limit (a hash running beside the check on the other core), the bar shows
 *    the slower of the two.
 *
 * The handler also stops SQLite (SQLITE_INTERRUPT) when the cancellable is
 * cancelled.
 */

#define HEARTBEAT_US (100 * 1000)

/* The bar is a few hundred pixels wide: a smaller step is not seen, and not sent. */
#define MIN_STEP 0.002

struct _MwTicker
{
  MwProgress        *progress;      /* (nullable) */
  GCancellable      *cancellable;   /* (nullable) */
  gint               ticks;         /* (atomic) handler calls in this stretch */

  GMutex             mutex;         /* everything below */
  GCond              cond;
  GThread           *heartbeat;
  gint64             started;       /* when the stretch began (monotonic µs) */
  double             expected;      /* ticks the stretch is expected to take */
  double             walk_share;    /* of the stretch, before the first tick */
  double             walk_us;       /* how long that walk is expected to take */
  double             start;
  double             end;
  double             shown;         /* the bar never goes below this */
  double             reported;      /* the last fraction sent to the progress */
  MwTickerLimitFunc  limit;
  gpointer           limit_data;
  gboolean           stopping;
};

/* 0…1 for @x of the estimate: linear, then approaching 1 without reaching it, with
 * no kink where the two meet. */
static double
ease (double x)
{
  if (x < 0.9)
    return MAX (x, 0.0);
  return 0.9 + 0.1 * (1.0 - exp (-(x - 0.9) / 0.1));
}

static void
show_locked (MwTicker *self,
             double    fraction,
             gboolean  always)
{
  if (fraction <= self->shown && !always)
    return;
  self->shown = MAX (fraction, self->shown);
  if (self->progress != NULL && (always || self->shown - self->reported >= MIN_STEP))
    {
      self->reported = self->shown;
      mw_progress_set_fraction (self->progress, self->shown);
    }
}

static void
beat_locked (MwTicker *self)
{
  double ticks = g_atomic_int_get (&self->ticks);
  double done;

  if (ticks == 0 && self->walk_share > 0.0)
    done = self->walk_share * ease ((g_get_monotonic_time () - self->started) / self->walk_us);
  else
    done = self->walk_share + (1.0 - self->walk_share) * ease (ticks / self->expected);
  if (self->limit != NULL)
    done = MIN (done, CLAMP (self->limit (self->limit_data), 0.0, 1.0));
  show_locked (self, self->start + (self->end - self->start) * done, FALSE);
}

static gpointer
heartbeat_thread (gpointer data)
{
  MwTicker *self = data;

  mw_thread_run_in_background ();
  g_mutex_lock (&self->mutex);
  while (!self->stopping)
    {
      g_cond_wait_until (&self->cond, &self->mutex, g_get_monotonic_time () + HEARTBEAT_US);
      if (!self->stopping)
        beat_locked (self);
    }
  g_mutex_unlock (&self->mutex);
  return NULL;
}

static void
begin_stretch_locked (MwTicker *self,
                      double    start,
                      double    end,
                      double    expected_ticks)
{
  g_atomic_int_set (&self->ticks, 0);
  self->started = g_get_monotonic_time ();
  self->expected = MAX (expected_ticks, 1.0);
  self->walk_share = 0.0;
  self->walk_us = 1.0;
  self->start = MAX (start, self->shown);
  self->end = MAX (end, self->start);
}

/**
 * mw_ticker_new:
 * @progress: (nullable): the bar; without one the ticker only stops SQLite on cancel
 * @cancellable: (nullable)
 *
 * Returns: (transfer full): a ticker; its first phase shows 0 until a phase begins
 */
MwTicker *
mw_ticker_new (MwProgress   *progress,
               GCancellable *cancellable)
{
  MwTicker *self = g_new0 (MwTicker, 1);

  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  self->progress = progress != NULL ? g_object_ref (progress) : NULL;
  self->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  begin_stretch_locked (self, 0.0, 1.0, 1.0);
  if (progress != NULL)
    self->heartbeat = g_thread_new ("mw-progress-ticker", heartbeat_thread, self);
  return self;
}

/**
 * mw_ticker_free:
 *
 * Stops the heartbeat. Uninstall the handler from every connection first.
 */
void
mw_ticker_free (MwTicker *self)
{
  if (self == NULL)
    return;

  g_mutex_lock (&self->mutex);
  self->stopping = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->mutex);
  if (self->heartbeat != NULL)
    g_thread_join (self->heartbeat);

  g_clear_object (&self->progress);
  g_clear_object (&self->cancellable);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
  g_free (self);
}

/**
 * mw_ticker_restart:
 * @message: what the new phase does
 *
 * Begins a new phase: the bar restarts at 0 with @message.
 */
void
mw_ticker_restart (MwTicker   *self,
                   const char *message)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->mutex);
  self->shown = 0.0;
  self->reported = 0.0;
  self->limit = NULL;
  begin_stretch_locked (self, 0.0, 1.0, 1.0);
  if (self->progress != NULL)
    mw_progress_update (self->progress, 0.0, message);
  g_mutex_unlock (&self->mutex);
}

/**
 * mw_ticker_follow:
 * @message: what the new phase does
 * @limit: the task the bar follows
 *
 * Begins a new phase whose bar shows @limit's fraction alone, from 0: work done
 * outside SQLite (a hash), while a check that may still run beside it no longer moves
 * the bar (what it has left is expected to take less).
 */
void
mw_ticker_follow (MwTicker          *self,
                  const char        *message,
                  MwTickerLimitFunc  limit,
                  gpointer           user_data)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->mutex);
  self->shown = 0.0;
  self->reported = 0.0;
  /* Counted as done, whatever ticks still come: the limit alone moves the bar. */
  begin_stretch_locked (self, 0.0, 1.0, 1.0);
  g_atomic_int_set (&self->ticks, G_MAXINT / 2);
  self->limit = limit;
  self->limit_data = user_data;
  if (self->progress != NULL)
    mw_progress_update (self->progress, 0.0, message);
  g_mutex_unlock (&self->mutex);
}

/**
 * mw_ticker_phase:
 * @message: (nullable): a new message (the phase goes on: the bar does not restart)
 * @start: where the stretch begins on the bar; never below what is shown
 * @end: where it ends
 * @expected_ticks: how many handler calls it is expected to take
 *
 * Begins a stretch of the current phase (a table of a check), and shows its start.
 */
void
mw_ticker_phase (MwTicker   *self,
                 const char *message,
                 double      start,
                 double      end,
                 double      expected_ticks)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->mutex);
  begin_stretch_locked (self, start, end, expected_ticks);
  if (message != NULL && self->progress != NULL)
    {
      self->shown = self->start;
      self->reported = self->start;
      mw_progress_update (self->progress, self->start, message);
    }
  else
    show_locked (self, self->start, TRUE);
  g_mutex_unlock (&self->mutex);
}

/**
 * mw_ticker_set_message:
 *
 * A new message for the phase that goes on: the bar stays where it is.
 */
void
mw_ticker_set_message (MwTicker   *self,
                       const char *message)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->mutex);
  if (self->progress != NULL)
    {
      self->reported = self->shown;
      mw_progress_update (self->progress, self->shown, message);
    }
  g_mutex_unlock (&self->mutex);
}

/**
 * mw_ticker_set_walk:
 * @share: the part of the stretch done before SQLite's first tick
 * @seconds: how long that part is expected to take
 *
 * For quick_check, which walks every b-tree before its first tick.
 */
void
mw_ticker_set_walk (MwTicker *self,
                    double    share,
                    double    seconds)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->mutex);
  self->walk_share = CLAMP (share, 0.0, 1.0);
  self->walk_us = MAX (seconds * G_USEC_PER_SEC, 1.0);
  g_mutex_unlock (&self->mutex);
}

/**
 * mw_ticker_expect_file_check:
 * @full: integrity_check, else quick_check
 *
 * Begins a stretch over the whole bar for SQLite's check of the whole file on @db,
 * estimated from its page count.
 */
void
mw_ticker_expect_file_check (MwTicker *self,
                             sqlite3  *db,
                             gboolean  full)
{
  sqlite3_stmt *stmt = NULL;
  double pages = 1.0;

  g_return_if_fail (self != NULL);

  if (sqlite3_prepare_v2 (db, "PRAGMA page_count", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    pages = MAX (sqlite3_column_int64 (stmt, 0), 1);
  sqlite3_finalize (stmt);

  mw_ticker_phase (self, NULL, 0.0, 1.0,
                   pages * (full ? MW_TICKS_PER_PAGE_INTEGRITY : MW_TICKS_PER_PAGE_QUICK));
  mw_ticker_set_walk (self, full ? MW_INTEGRITY_CHECK_WALK_SHARE : MW_QUICK_CHECK_WALK_SHARE,
                      pages * MW_CHECK_WALK_US_PER_PAGE / G_USEC_PER_SEC);
}

/**
 * mw_ticker_set_limit:
 * @limit: (nullable): the other task's fraction done
 *
 * The bar shows the slower of the check and @limit, until the next phase.
 */
void
mw_ticker_set_limit (MwTicker          *self,
                     MwTickerLimitFunc  limit,
                     gpointer           user_data)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->mutex);
  self->limit = limit;
  self->limit_data = user_data;
  g_mutex_unlock (&self->mutex);
}

/**
 * mw_ticker_show:
 * @fraction: a fraction of the current stretch, 0…1
 *
 * Moves the bar forward to @fraction of the stretch (never back): for work done
 * outside SQLite, e.g. waiting for the limit's task after the check.
 */
void
mw_ticker_show (MwTicker *self,
                double    fraction)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->mutex);
  /* Never the stretch's end: whatever called this still has its result to hand on. */
  show_locked (self, self->start + (self->end - self->start) * CLAMP (fraction, 0.0, 0.99),
               FALSE);
  g_mutex_unlock (&self->mutex);
}

/**
 * mw_ticker_cb:
 *
 * The progress handler (sqlite3_progress_handler()'s callback, with the ticker): it
 * counts, and says whether to stop.
 *
 * Returns: non-zero to stop SQLite (cancelled)
 */
int
mw_ticker_cb (void *data)
{
  MwTicker *self = data;

  g_atomic_int_inc (&self->ticks);
  return self->cancellable != NULL && g_cancellable_is_cancelled (self->cancellable);
}

/**
 * mw_ticker_install:
 *
 * Makes @ticker @db's progress handler (replacing any other).
 */
void
mw_ticker_install (MwTicker *self,
                   sqlite3  *db)
{
  sqlite3_progress_handler (db, MW_TICKER_OPS, mw_ticker_cb, self);
}
