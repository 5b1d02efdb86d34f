/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Progress from a worker to the window: values recorded from any thread, `notify`
 * emitted only in the owner's main context, coalesced into one pending notification
 * at a time, and a fraction-only update held back until 200 ms after the previous
 * notification (NOTIFY_INTERVAL_US in mw-progress.c). A changed message, a changed
 * cancellable flag and a flush are not held back, and bring forward a notification
 * that is waiting for the rate limit. A notification names only the properties that
 * changed since the previous one; a flush names all three.
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "mw-test-util.h"

/* mw-progress.c's NOTIFY_INTERVAL_US. Gaps are measured between our handlers, a few
 * microseconds after the progress stamps its own time: MIN_GAP leaves that margin;
 * a late main loop only makes gaps longer. */
#define INTERVAL_MS 200
#define MIN_GAP_US  ((INTERVAL_MS - 20) * 1000)

typedef struct
{
  gint64 time;
  double fraction;
} Seen;

typedef struct
{
  MwProgress *progress;
  GThread    *main_thread;
  GArray     *seen;          /* Seen: one per notify::fraction, in order */
  guint       n_message;
  guint       n_cancellable;
  gint        n_elsewhere;   /* notifications on any other thread (atomic) */
  gint        worker_done;   /* (atomic) */
  char       *message;       /* as read in the last notify::message */
  gboolean    cancellable;   /* as read in the last notify::cancellable */
} Fixture;

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    data)
{
  Fixture *f = data;

  /* A GTK widget bound to these may only be touched on the main thread. */
  if (g_thread_self () != f->main_thread)
    {
      g_atomic_int_inc (&f->n_elsewhere);
      return;
    }

  if (g_str_equal (pspec->name, "fraction"))
    {
      Seen s = { g_get_monotonic_time (), -1.0 };

      g_object_get (object, "fraction", &s.fraction, NULL);
      g_array_append_val (f->seen, s);
    }
  else if (g_str_equal (pspec->name, "message"))
    {
      g_clear_pointer (&f->message, g_free);
      g_object_get (object, "message", &f->message, NULL);
      f->n_message++;
    }
  else if (g_str_equal (pspec->name, "cancellable"))
    {
      g_object_get (object, "cancellable", &f->cancellable, NULL);
      f->n_cancellable++;
    }
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->main_thread = g_thread_self ();
  f->seen = g_array_new (FALSE, TRUE, sizeof (Seen));
  f->progress = mw_progress_new ();
  g_signal_connect (f->progress, "notify", G_CALLBACK (notify_cb), f);
}

static gboolean
flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the default main context until @done (NULL: never) holds or @timeout_ms pass;
 * returns whether it holds. */
static gboolean
iterate_until (Fixture  *f,
               gboolean (*done) (Fixture *),
               guint     timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, flag_cb, &timed_out);

  while (!(done != NULL && done (f)) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return done != NULL && done (f);
}

static void
iterate_for (Fixture *f,
             guint    ms)
{
  iterate_until (f, NULL, ms);
}

/* One pass over whatever is ready now, without waiting. */
static void
iterate_ready (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  MwProgress *weak = f->progress;
  gboolean timed_out = FALSE;
  guint id;

  /* A notification still pending holds its own reference: let it run (within one
   * interval), so the object is gone before the next test and nothing leaks. */
  g_signal_handlers_disconnect_by_data (f->progress, f);
  g_object_add_weak_pointer (G_OBJECT (weak), (gpointer *) &weak);
  g_clear_object (&f->progress);
  id = g_timeout_add (2000, flag_cb, &timed_out);
  while (weak != NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  g_assert_null (weak);

  g_clear_pointer (&f->seen, g_array_unref);
  g_clear_pointer (&f->message, g_free);
}

static guint
n_fraction (Fixture *f)
{
  return f->seen->len;
}

static const Seen *
last_seen (Fixture *f)
{
  g_assert_cmpuint (f->seen->len, >, 0);
  return &g_array_index (f->seen, Seen, f->seen->len - 1);
}

static gboolean
notified_twice (Fixture *f)
{
  return n_fraction (f) >= 2;
}

/* The bar shows 100 %. */
static gboolean
shows_full (Fixture *f)
{
  return n_fraction (f) > 0 && last_seen (f)->fraction == 1.0;
}

static void
join (GThreadFunc func,
      gpointer    data)
{
  g_thread_join (g_thread_new ("mw-test-worker", func, data));
}

/* ---- the owner's thread ------------------------------------------------------------- */

static gpointer
burst_worker (gpointer data)
{
  MwProgress *progress = data;

  mw_progress_update (progress, 0.0, "Reading every page");
  for (guint i = 1; i <= 10000; i++)
    mw_progress_set_fraction (progress, i / 10000.0);
  mw_progress_set_cancellable (progress, FALSE);
  return NULL;
}

/* Ten thousand updates from a worker while the window's loop is busy elsewhere: none
 * is emitted on the worker, and once the loop runs they arrive as one notification
 * per property, with the latest values. */
static void
test_burst_coalesced (Fixture *f, gconstpointer data)
{
  join (burst_worker, f->progress);
  g_assert_cmpuint (n_fraction (f), ==, 0);
  g_assert_cmpuint (f->n_message, ==, 0);
  g_assert_cmpint (g_atomic_int_get (&f->n_elsewhere), ==, 0);

  /* A first update is never held back: it is delivered on the next iteration. */
  iterate_ready ();
  g_assert_cmpuint (n_fraction (f), ==, 1);
  g_assert_cmpuint (f->n_message, ==, 1);
  g_assert_cmpuint (f->n_cancellable, ==, 1);
  g_assert_cmpfloat (last_seen (f)->fraction, ==, 1.0);
  g_assert_cmpstr (f->message, ==, "Reading every page");
  g_assert_false (f->cancellable);

  /* Nothing else is queued behind it. */
  iterate_for (f, 2 * INTERVAL_MS);
  g_assert_cmpuint (n_fraction (f), ==, 1);
  g_assert_cmpuint (f->n_message, ==, 1);
  g_assert_cmpuint (f->n_cancellable, ==, 1);
  g_assert_cmpint (g_atomic_int_get (&f->n_elsewhere), ==, 0);
}

typedef struct
{
  Fixture *f;
  gint64   duration_us;
  guint64  n_updates;
} Busy;

static gpointer
busy_worker (gpointer data)
{
  Busy *b = data;
  MwProgress *progress = b->f->progress;
  gint64 start = g_get_monotonic_time ();
  gint64 now;

  mw_progress_update (progress, 0.0, "Checking every page and index");
  while ((now = g_get_monotonic_time ()) - start < b->duration_us)
    {
      mw_progress_set_fraction (progress, 0.99 * (double) (now - start) / (double) b->duration_us);
      b->n_updates++;
    }
  mw_progress_set_fraction (progress, 1.0);
  g_atomic_int_set (&b->f->worker_done, 1);
  g_main_context_wakeup (NULL);
  return NULL;
}

static gboolean
worker_done_and_shown (Fixture *f)
{
  return g_atomic_int_get (&f->worker_done) && shows_full (f);
}

/* A worker updating as fast as it can for a second while the window's loop runs:
 * the bar moves during the work, never faster than one notification per interval,
 * and ends on the worker's last value (which needed no flush). */
static void
test_rate_limited (Fixture *f, gconstpointer data)
{
  Busy b = { f, G_USEC_PER_SEC, 0 };
  GThread *thread = g_thread_new ("mw-test-busy", busy_worker, &b);

  g_assert_true (iterate_until (f, worker_done_and_shown, 10000));
  g_thread_join (thread);

  g_assert_cmpint (g_atomic_int_get (&f->n_elsewhere), ==, 0);
  g_assert_cmpuint (b.n_updates, >, 10000);
  /* 1 s at one notification per 200 ms: the first, four or five more, the last. */
  g_assert_cmpuint (n_fraction (f), >=, 3);
  g_assert_cmpuint (n_fraction (f), <=, 1 + G_USEC_PER_SEC / (INTERVAL_MS * 1000) + 1);
  for (guint i = 1; i < f->seen->len; i++)
    {
      const Seen *prev = &g_array_index (f->seen, Seen, i - 1);
      const Seen *next = &g_array_index (f->seen, Seen, i);

      g_assert_cmpint (next->time - prev->time, >=, MIN_GAP_US);
      g_assert_cmpfloat (next->fraction, >=, prev->fraction);
    }
  g_assert_cmpfloat (last_seen (f)->fraction, ==, 1.0);
  /* A notification names what changed: the message once, the cancellable flag
   * never (a window's handlers for them do not run five times a second). */
  g_assert_cmpuint (f->n_message, ==, 1);
  g_assert_cmpuint (f->n_cancellable, ==, 0);
  g_assert_cmpstr (f->message, ==, "Checking every page and index");
}

/* Right after a notification, new fractions wait for the end of the interval and
 * then arrive together as the latest one. */
static void
test_fraction_held_back (Fixture *f, gconstpointer data)
{
  gint64 first;

  mw_progress_update (f->progress, 0.1, "Copying the database");
  iterate_ready ();
  g_assert_cmpuint (n_fraction (f), ==, 1);
  first = last_seen (f)->time;

  mw_progress_set_fraction (f->progress, 0.2);
  iterate_ready ();
  mw_progress_update (f->progress, 0.3, "Copying the database");  /* the same message */
  iterate_ready ();
  g_assert_cmpuint (n_fraction (f), ==, 1);

  g_assert_true (iterate_until (f, notified_twice, 5000));
  g_assert_cmpuint (n_fraction (f), ==, 2);
  g_assert_cmpfloat (last_seen (f)->fraction, ==, 0.3);
  g_assert_cmpint (last_seen (f)->time - first, >=, MIN_GAP_US);
}

/* A new message (the next step) is shown at once, not at the end of the interval. */
static void
test_message_change_not_held_back (Fixture *f, gconstpointer data)
{
  g_autofree char *kept = NULL;

  mw_progress_update (f->progress, 0.1, "Copying the database");
  iterate_ready ();
  g_assert_cmpuint (f->n_message, ==, 1);

  mw_progress_update (f->progress, 0.5, "Checking the copy");
  iterate_ready ();
  g_assert_cmpuint (f->n_message, ==, 2);
  g_assert_cmpuint (n_fraction (f), ==, 2);
  g_assert_cmpstr (f->message, ==, "Checking the copy");
  g_assert_cmpfloat (last_seen (f)->fraction, ==, 0.5);

  /* No message: the current one stays. */
  mw_progress_update (f->progress, 0.6, NULL);
  kept = mw_progress_dup_message (f->progress);
  g_assert_cmpstr (kept, ==, "Checking the copy");
  g_assert_cmpfloat (mw_progress_get_fraction (f->progress), ==, 0.6);
}

static void
count_cb (GObject    *object,
          GParamSpec *pspec,
          gpointer    data)
{
  (*(guint *) data)++;
}

/* A new step of a run ("Step 2 of 3") reaches the window as a notification of
 * step and n-steps, on the next iteration. */
static void
test_step_notified (Fixture *f, gconstpointer data)
{
  guint n_step = 0, n_n_steps = 0, step = 0, n_steps = 0;

  g_signal_connect (f->progress, "notify::step", G_CALLBACK (count_cb), &n_step);
  g_signal_connect (f->progress, "notify::n-steps", G_CALLBACK (count_cb), &n_n_steps);
  mw_progress_set_step (f->progress, 1, 3, "Making a backup of the database");
  iterate_ready ();
  g_assert_cmpuint (n_step, >=, 1);
  g_assert_cmpuint (n_n_steps, >=, 1);
  g_object_get (f->progress, "step", &step, "n-steps", &n_steps, NULL);
  g_assert_cmpuint (step, ==, 1);
  g_assert_cmpuint (n_steps, ==, 3);

  n_step = 0;
  mw_progress_set_step (f->progress, 2, 3, "Applying the updates");
  iterate_ready ();
  g_assert_cmpuint (n_step, >=, 1);
  g_object_get (f->progress, "step", &step, NULL);
  g_assert_cmpuint (step, ==, 2);
  g_assert_cmpstr (f->message, ==, "Applying the updates");
}

/* flush at the end of an operation: with nothing pending it notifies on the next
 * iteration; a last value still waiting for its interval arrives within it. */
static void
test_flush (Fixture *f, gconstpointer data)
{
  gint64 before;

  mw_progress_update (f->progress, 0.5, "Saving");
  iterate_ready ();
  g_assert_cmpuint (n_fraction (f), ==, 1);

  mw_progress_flush (f->progress);
  iterate_ready ();
  g_assert_cmpuint (n_fraction (f), ==, 2);
  g_assert_cmpuint (f->n_message, ==, 2);
  g_assert_cmpfloat (last_seen (f)->fraction, ==, 0.5);
  g_assert_cmpstr (f->message, ==, "Saving");

  before = g_get_monotonic_time ();
  mw_progress_set_fraction (f->progress, 1.0);
  mw_progress_flush (f->progress);
  /* The flush brings forward the notification the new fraction had scheduled for the
   * end of the interval: the final value shows on the next iteration, not 200 ms later
   * (an operation's "Done" must not arrive after its completion callback). */
  iterate_ready ();
  g_assert_cmpuint (n_fraction (f), ==, 3);
  g_assert_cmpfloat (last_seen (f)->fraction, ==, 1.0);
  g_assert_cmpint (last_seen (f)->time - before, <, INTERVAL_MS * 1000);
}

/* Turning Cancel off ("Saving") shows at once, even when a fraction is waiting for the
 * rate limit: the window must not offer Cancel while the commit runs. */
static void
test_cancellable_brought_forward (Fixture *f, gconstpointer data)
{
  mw_progress_update (f->progress, 0.5, "Applying");
  iterate_ready ();
  g_assert_cmpuint (n_fraction (f), ==, 1);
  g_assert_cmpuint (f->n_cancellable, ==, 0);   /* no news */

  mw_progress_set_fraction (f->progress, 0.9);
  mw_progress_set_cancellable (f->progress, FALSE);
  iterate_ready ();
  g_assert_cmpuint (f->n_cancellable, ==, 1);
  g_assert_false (f->cancellable);
  g_assert_cmpfloat (last_seen (f)->fraction, ==, 0.9);
}

static void
test_nan_is_not_a_fraction (Fixture *f, gconstpointer data)
{
  mw_progress_set_fraction (f->progress, 0.5);
  mw_progress_set_fraction (f->progress, NAN);
  g_assert_cmpfloat (mw_progress_get_fraction (f->progress), ==, 0.0);
}

/* ---- values --------------------------------------------------------------------------- */

static void
test_fraction_clamped (Fixture *f, gconstpointer data)
{
  double fraction = -1.0;

  g_assert_cmpfloat (mw_progress_get_fraction (f->progress), ==, 0.0);
  mw_progress_update (f->progress, -0.5, "Starting");
  g_assert_cmpfloat (mw_progress_get_fraction (f->progress), ==, 0.0);
  mw_progress_set_fraction (f->progress, 0.25);
  g_assert_cmpfloat (mw_progress_get_fraction (f->progress), ==, 0.25);
  mw_progress_set_fraction (f->progress, 1.7);
  g_assert_cmpfloat (mw_progress_get_fraction (f->progress), ==, 1.0);

  /* What a bound progress bar reads. */
  g_object_get (f->progress, "fraction", &fraction, NULL);
  g_assert_cmpfloat (fraction, ==, 1.0);
  g_assert_true (iterate_until (f, shows_full, 5000));
  g_assert_cmpuint (n_fraction (f), ==, 1);
}

static void
test_message_copied (Fixture *f, gconstpointer data)
{
  char *text = g_strdup ("Copying the database");
  g_autofree char *none = mw_progress_dup_message (f->progress);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *property = NULL;

  g_assert_null (none);

  /* The worker's buffer may be reused or freed right after the call. */
  mw_progress_update (f->progress, 0.1, text);
  memset (text, 'x', strlen (text));
  g_free (text);

  a = mw_progress_dup_message (f->progress);
  b = mw_progress_dup_message (f->progress);
  g_assert_cmpstr (a, ==, "Copying the database");
  g_assert_true (a != b);
  a[0] = 'c';
  g_assert_cmpstr (b, ==, "Copying the database");
  g_object_get (f->progress, "message", &property, NULL);
  g_assert_cmpstr (property, ==, "Copying the database");
}

static gpointer
not_cancellable_worker (gpointer data)
{
  mw_progress_set_cancellable (data, FALSE);
  return NULL;
}

/* The window hides Cancel while the worker commits, and shows it again after. */
static void
test_cancellable_flag (Fixture *f, gconstpointer data)
{
  gboolean cancellable = FALSE;

  g_assert_true (mw_progress_get_cancellable (f->progress));
  g_object_get (f->progress, "cancellable", &cancellable, NULL);
  g_assert_true (cancellable);

  join (not_cancellable_worker, f->progress);
  g_assert_false (mw_progress_get_cancellable (f->progress));
  g_assert_cmpuint (f->n_cancellable, ==, 0);
  iterate_ready ();
  g_assert_cmpuint (f->n_cancellable, ==, 1);
  g_assert_false (f->cancellable);
  g_assert_cmpint (g_atomic_int_get (&f->n_elsewhere), ==, 0);

  /* The same value again is not news. */
  mw_progress_set_cancellable (f->progress, FALSE);
  iterate_for (f, 2 * INTERVAL_MS);
  g_assert_cmpuint (f->n_cancellable, ==, 1);

  mw_progress_set_cancellable (f->progress, TRUE);
  iterate_ready ();
  g_assert_cmpuint (f->n_cancellable, ==, 2);
  g_assert_true (f->cancellable);
  g_assert_true (mw_progress_get_cancellable (f->progress));
}

/* ---- the owner's context -------------------------------------------------------------- */

static gpointer
one_update_worker (gpointer data)
{
  mw_progress_update (data, 0.4, "Restoring the backup");
  return NULL;
}

/* A progress made while another context is the thread's default notifies there, and
 * only there. */
static void
test_owner_context (Fixture *f, gconstpointer data)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(MwProgress) progress = NULL;
  MwProgress *weak;

  g_main_context_push_thread_default (context);
  progress = mw_progress_new ();
  g_main_context_pop_thread_default (context);
  g_signal_connect (progress, "notify", G_CALLBACK (notify_cb), f);

  join (one_update_worker, progress);
  iterate_for (f, 2 * INTERVAL_MS);
  g_assert_cmpuint (n_fraction (f), ==, 0);

  while (g_main_context_iteration (context, FALSE))
    ;
  g_assert_cmpuint (n_fraction (f), ==, 1);
  g_assert_cmpfloat (last_seen (f)->fraction, ==, 0.4);
  g_assert_cmpstr (f->message, ==, "Restoring the backup");
  g_assert_cmpint (g_atomic_int_get (&f->n_elsewhere), ==, 0);

  g_signal_handlers_disconnect_by_data (progress, f);
  weak = progress;
  g_object_add_weak_pointer (G_OBJECT (weak), (gpointer *) &weak);
  g_clear_object (&progress);
  g_assert_null (weak);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) \
  g_test_add ("/mw/engine/progress/" path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("burst-coalesced", test_burst_coalesced);
  ADD ("rate-limited", test_rate_limited);
  ADD ("fraction-held-back", test_fraction_held_back);
  ADD ("message-change-not-held-back", test_message_change_not_held_back);
  ADD ("flush", test_flush);
  ADD ("step-notified", test_step_notified);
  ADD ("cancellable-brought-forward", test_cancellable_brought_forward);
  ADD ("nan-is-not-a-fraction", test_nan_is_not_a_fraction);
  ADD ("fraction-clamped", test_fraction_clamped);
  ADD ("message-copied", test_message_copied);
  ADD ("cancellable-flag", test_cancellable_flag);
  ADD ("owner-context", test_owner_context);
#undef ADD

  return g_test_run ();
}
