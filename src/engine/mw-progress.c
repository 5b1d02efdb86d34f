/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-progress"

#include "config.h"

#include <errno.h>
#include <math.h>
#include <glib.h>
#ifdef G_OS_UNIX
# include <fcntl.h>
# include <glib-unix.h>
# include <unistd.h>
#endif

#include "mw-progress.h"

/*
 * MwProgress carries a worker's progress to the thread that created it.
 *
 * Workers call mw_progress_update() as often as they like (every statement, every
 * backup step); the values are stored under a mutex and the owner's main context is
 * woken at most once until it has looked. A new fraction waits for the rate limit
 * (at most ~5 notifications a second however hot the worker's loop is); a new
 * message (a new step), a change of whether cancelling is still safe, and a flush
 * are shown on the owner's next iteration, bringing forward a notification already
 * waiting for the rate limit. A notification names the properties that changed
 * since the previous one (a flush names all three). Properties are only ever
 * notified from the owner's context, so a GTK window can bind to them directly.
 *
 * The owner's main loop must never wait for a worker. A worker holding a lock the
 * owner needs can be preempted — by the very owner it just woke, which has the
 * higher priority (workers run at nice 10), or by any other program — and the window
 * then stalls until the worker gets a core again. So a worker never touches the
 * owner's GMainContext (attaching a source locks it and wakes the owner while
 * holding that lock): on Unix it writes one byte to a pipe the owner polls, after
 * letting go of the mutex, whose critical sections only copy a few values. All
 * sources are attached and removed by the owner itself.
 */

#define NOTIFY_INTERVAL_US (200 * 1000)

struct _MwProgress
{
  GObject       parent_instance;

  GMainContext *context;
#ifdef G_OS_UNIX
  int           wake_fds[2];    /* the workers write, the owner polls */
  GSource      *wake_source;    /* the owner's, for its lifetime */
#endif

  GMutex        mutex;          /* everything below */
  double        fraction;
  char         *message;
  guint         step;           /* 0: no steps */
  guint         n_steps;
  gint64        last_notify;
  guint         serial;         /* the message's, counted */
  double        shown_fraction; /* as last notified */
  guint         shown_serial;
  guint         shown_step;
  guint         shown_n_steps;
  gboolean      shown_cancellable;
  GSource      *timeout;        /* the owner's: a notification held for the rate limit */
  guint         woken : 1;      /* the owner has been woken and not yet looked */
  guint         urgent : 1;     /* what it will find must be shown at once */
  guint         flushed : 1;    /* every property is notified, changed or not */
  guint         cancellable : 1;
};

G_DEFINE_FINAL_TYPE (MwProgress, mw_progress, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_FRACTION,
  PROP_MESSAGE,
  PROP_CANCELLABLE,
  PROP_STEP,
  PROP_N_STEPS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Owner's side. */

/* Which properties changed since the last notification (all after a flush); the
 * next notification starts from here. */
static guint
take_changes_locked (MwProgress *self)
{
  guint changes = 0;

  if (self->flushed || self->fraction != self->shown_fraction)
    changes |= 1 << PROP_FRACTION;
  if (self->flushed || self->serial != self->shown_serial)
    changes |= 1 << PROP_MESSAGE;
  if (self->flushed || !self->cancellable != !self->shown_cancellable)
    changes |= 1 << PROP_CANCELLABLE;
  if (self->flushed || self->step != self->shown_step)
    changes |= 1 << PROP_STEP;
  if (self->flushed || self->n_steps != self->shown_n_steps)
    changes |= 1 << PROP_N_STEPS;
  self->shown_fraction = self->fraction;
  self->shown_serial = self->serial;
  self->shown_cancellable = self->cancellable;
  self->shown_step = self->step;
  self->shown_n_steps = self->n_steps;
  self->flushed = FALSE;
  self->woken = FALSE;
  self->urgent = FALSE;
  self->last_notify = g_get_monotonic_time ();
  return changes;
}

/* Only what changed: a window's handlers (a label, the actions) run for news only. */
static void
emit_notify (MwProgress *self,
             guint       changes)
{
  for (guint prop = PROP_FRACTION; prop < N_PROPS; prop++)
    if (changes & (1 << prop))
      g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static gboolean
timeout_cb (gpointer data)
{
  MwProgress *self = data;

  guint changes;

  g_mutex_lock (&self->mutex);
  /* Only the owner attaches and destroys this source: it is the current one. */
  g_clear_pointer (&self->timeout, g_source_unref);
  changes = take_changes_locked (self);
  g_mutex_unlock (&self->mutex);

  emit_notify (self, changes);
  return G_SOURCE_REMOVE;
}

/* The owner looks at what the workers left: shows it now, or when the rate limit
 * allows. */
static void
owner_look (MwProgress *self)
{
  gint64 wait_us;
  guint changes;

  g_mutex_lock (&self->mutex);
  if (!self->woken)
    {
      g_mutex_unlock (&self->mutex);
      return;
    }
  wait_us = self->urgent ? 0 : NOTIFY_INTERVAL_US - (g_get_monotonic_time () - self->last_notify);
  if (wait_us > 0)
    {
      /* Workers do not wake the owner again meanwhile (woken stays set), except for
       * something urgent, which brings this forward. */
      if (self->timeout == NULL)
        {
          self->timeout = g_timeout_source_new (MAX (1, (guint) (wait_us / 1000)));
          g_source_set_callback (self->timeout, timeout_cb, g_object_ref (self), g_object_unref);
          g_source_set_static_name (self->timeout, "[mw] progress notify");
          g_source_attach (self->timeout, self->context);
        }
      g_mutex_unlock (&self->mutex);
      return;
    }
  if (self->timeout != NULL)
    {
      g_source_destroy (self->timeout);
      g_clear_pointer (&self->timeout, g_source_unref);
    }
  changes = take_changes_locked (self);
  g_mutex_unlock (&self->mutex);

  emit_notify (self, changes);
}

#ifdef G_OS_UNIX
static gboolean
wake_cb (gint         fd,
         GIOCondition condition,
         gpointer     data)
{
  MwProgress *self = data;
  char buffer[64];
  gssize n, bytes = 0;

  /* Each byte carries a reference (wake_owner()): the object is alive until the
   * last one is dropped, here. */
  while ((n = read (fd, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))
    bytes += MAX (n, 0);
  owner_look (self);
  while (bytes-- > 0)
    g_object_unref (self);
  return G_SOURCE_CONTINUE;
}
#else
static gboolean
wake_idle_cb (gpointer data)
{
  owner_look (data);
  return G_SOURCE_REMOVE;
}
#endif

/* Workers' side. */

/* Records that the owner must look (@urgent: at once); returns whether it must be
 * woken, which the caller does with wake_owner() after letting go of the mutex. */
static gboolean
want_look_locked (MwProgress *self,
                  gboolean    urgent)
{
  gboolean wake = FALSE;

  if (urgent && !self->urgent)
    {
      self->urgent = TRUE;
      wake = TRUE;
    }
  if (!self->woken)
    {
      self->woken = TRUE;
      wake = TRUE;
    }
  return wake;
}

static void
wake_owner (MwProgress *self)
{
#ifdef G_OS_UNIX
  /* A reference for the owner's look: the last reference may meanwhile be dropped
   * by a worker. */
  gssize n;

  g_object_ref (self);
  while ((n = write (self->wake_fds[1], "!", 1)) < 0 && errno == EINTR)
    ;
  /* A full pipe already has the owner awake: the reference goes with no byte. */
  if (n != 1)
    g_object_unref (self);
#else
  GSource *source = g_idle_source_new ();

  g_source_set_callback (source, wake_idle_cb, g_object_ref (self), g_object_unref);
  g_source_set_static_name (source, "[mw] progress wake");
  g_source_attach (source, self->context);
  g_source_unref (source);
#endif
}

static void
mw_progress_finalize (GObject *object)
{
  MwProgress *self = MW_PROGRESS (object);

  /* No byte is in the pipe and no timeout is pending: each holds a reference. */
#ifdef G_OS_UNIX
  if (self->wake_source != NULL)
    {
      g_source_destroy (self->wake_source);
      g_clear_pointer (&self->wake_source, g_source_unref);
    }
  for (guint i = 0; i < 2; i++)
    if (self->wake_fds[i] >= 0)
      close (self->wake_fds[i]);
#endif
  g_clear_pointer (&self->message, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (mw_progress_parent_class)->finalize (object);
}

static void
mw_progress_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  MwProgress *self = MW_PROGRESS (object);

  switch (prop_id)
    {
    case PROP_FRACTION:
      g_value_set_double (value, mw_progress_get_fraction (self));
      break;

    case PROP_MESSAGE:
      g_value_take_string (value, mw_progress_dup_message (self));
      break;

    case PROP_CANCELLABLE:
      g_value_set_boolean (value, mw_progress_get_cancellable (self));
      break;

    case PROP_STEP:
    case PROP_N_STEPS:
      {
        guint step, n_steps;

        mw_progress_get_step (self, &step, &n_steps);
        g_value_set_uint (value, prop_id == PROP_STEP ? step : n_steps);
      }
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mw_progress_class_init (MwProgressClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mw_progress_finalize;
  object_class->get_property = mw_progress_get_property;

  properties[PROP_FRACTION] =
    g_param_spec_double ("fraction", NULL, NULL,
                         0.0, 1.0, 0.0,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  properties[PROP_MESSAGE] =
    g_param_spec_string ("message", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /* FALSE while the worker is past the point where it can stop safely (committing,
   * swapping files): a window says so instead of offering Cancel. */
  properties[PROP_CANCELLABLE] =
    g_param_spec_boolean ("cancellable", NULL, NULL,
                          TRUE,
                          (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /* The step the work is at (from 1; 0: no steps), of n-steps. */
  properties[PROP_STEP] =
    g_param_spec_uint ("step", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_N_STEPS] =
    g_param_spec_uint ("n-steps", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
mw_progress_init (MwProgress *self)
{
  g_mutex_init (&self->mutex);
  self->cancellable = TRUE;
  self->shown_cancellable = TRUE;
  self->context = g_main_context_ref_thread_default ();
#ifdef G_OS_UNIX
  {
    g_autoptr(GError) error = NULL;

    self->wake_fds[0] = self->wake_fds[1] = -1;
    if (!g_unix_open_pipe (self->wake_fds, FD_CLOEXEC, &error) ||
        !g_unix_set_fd_nonblocking (self->wake_fds[0], TRUE, &error) ||
        !g_unix_set_fd_nonblocking (self->wake_fds[1], TRUE, &error))
      g_error ("Cannot create the progress's pipe: %s", error->message);
    /* No reference: each byte written holds one (wake_owner()). */
    self->wake_source = g_unix_fd_source_new (self->wake_fds[0], G_IO_IN);
    g_source_set_callback (self->wake_source, (GSourceFunc) (void (*) (void)) wake_cb, self, NULL);
    g_source_set_static_name (self->wake_source, "[mw] progress wake");
    g_source_attach (self->wake_source, self->context);
  }
#endif
}

/**
 * mw_progress_new:
 *
 * Creates a progress object whose notifications are delivered in the thread-default
 * main context of the calling thread.
 */
MwProgress *
mw_progress_new (void)
{
  return g_object_new (MW_TYPE_PROGRESS, NULL);
}

/**
 * mw_progress_update:
 * @message: (nullable): a new message, or %NULL to keep the current one
 *
 * Records progress. Safe to call from any thread, as often as wanted.
 */
void
mw_progress_update (MwProgress *self,
                    double      fraction,
                    const char *message)
{
  char *copy = NULL;
  char *old = NULL;
  gboolean changed = FALSE;
  gboolean wake;

  g_return_if_fail (MW_IS_PROGRESS (self));

  /* Nothing is allocated or freed while the mutex is held. */
  g_mutex_lock (&self->mutex);
  if (message != NULL && g_strcmp0 (message, self->message) != 0)
    {
      g_mutex_unlock (&self->mutex);
      copy = g_strdup (message);
      g_mutex_lock (&self->mutex);
    }
  /* NaN compares false with everything: it would pass CLAMP. */
  self->fraction = isnan (fraction) ? 0.0 : CLAMP (fraction, 0.0, 1.0);
  if (copy != NULL && g_strcmp0 (copy, self->message) != 0)
    {
      old = self->message;
      self->message = g_steal_pointer (&copy);
      self->serial++;
      changed = TRUE;
    }
  /* A new message is a new step: shown at once. */
  wake = want_look_locked (self, changed);
  g_mutex_unlock (&self->mutex);

  if (wake)
    wake_owner (self);
  /* Each new message, timed: where a run's time goes (G_MESSAGES_DEBUG=mw-progress). */
  if (changed)
    g_debug ("%s", message);
  g_free (old);
  g_free (copy);
}

/**
 * mw_progress_set_step:
 * @step: from 1; 0 when the work has no steps
 * @n_steps: how many steps the work has
 *
 * A new step of a work made of several (check, back up, update, check again):
 * its own progress starts again from 0 with @message.
 */
void
mw_progress_set_step (MwProgress *self,
                      guint       step,
                      guint       n_steps,
                      const char *message)
{
  g_return_if_fail (MW_IS_PROGRESS (self));

  g_mutex_lock (&self->mutex);
  self->step = step;
  self->n_steps = n_steps;
  g_mutex_unlock (&self->mutex);
  mw_progress_update (self, 0.0, message);
  mw_progress_flush (self);
}

void
mw_progress_get_step (MwProgress *self,
                      guint      *step,
                      guint      *n_steps)
{
  g_return_if_fail (MW_IS_PROGRESS (self));

  g_mutex_lock (&self->mutex);
  if (step != NULL)
    *step = self->step;
  if (n_steps != NULL)
    *n_steps = self->n_steps;
  g_mutex_unlock (&self->mutex);
}

/**
 * mw_progress_set_fraction:
 *
 * Like mw_progress_update() without a message.
 */
void
mw_progress_set_fraction (MwProgress *self,
                          double      fraction)
{
  mw_progress_update (self, fraction, NULL);
}

double
mw_progress_get_fraction (MwProgress *self)
{
  double fraction;

  g_return_val_if_fail (MW_IS_PROGRESS (self), 0.0);

  g_mutex_lock (&self->mutex);
  fraction = self->fraction;
  g_mutex_unlock (&self->mutex);

  return fraction;
}

/**
 * mw_progress_dup_message:
 *
 * Returns: (transfer full) (nullable): the latest message
 */
char *
mw_progress_dup_message (MwProgress *self)
{
  double fraction;

  return mw_progress_dup_state (self, &fraction);
}

/**
 * mw_progress_dup_state:
 * @out_fraction: (out): the latest fraction
 *
 * The message and the fraction as one worker set them together (the two getters
 * called one after the other may see a new step's fraction with the previous
 * step's message).
 *
 * Returns: (transfer full) (nullable): the latest message
 */
char *
mw_progress_dup_state (MwProgress *self,
                       double     *out_fraction)
{
  char *message;

  g_return_val_if_fail (MW_IS_PROGRESS (self), NULL);

  g_mutex_lock (&self->mutex);
  *out_fraction = self->fraction;
  message = g_strdup (self->message);
  g_mutex_unlock (&self->mutex);
  return message;
}

/**
 * mw_progress_flush:
 *
 * Asks for a notification as soon as the owner's context runs, e.g. at the end of
 * an operation so the final value is not held back by the rate limit.
 */
void
mw_progress_flush (MwProgress *self)
{
  gboolean wake;

  g_return_if_fail (MW_IS_PROGRESS (self));

  g_mutex_lock (&self->mutex);
  self->flushed = TRUE;
  wake = want_look_locked (self, TRUE);
  g_mutex_unlock (&self->mutex);
  if (wake)
    wake_owner (self);
}

/**
 * mw_progress_set_cancellable:
 * @cancellable: whether cancelling now still leaves everything as it was
 *
 * Safe to call from any thread.
 */
void
mw_progress_set_cancellable (MwProgress *self,
                             gboolean    cancellable)
{
  gboolean wake = FALSE;

  g_return_if_fail (MW_IS_PROGRESS (self));

  g_mutex_lock (&self->mutex);
  if (self->cancellable != !!cancellable)
    {
      self->cancellable = !!cancellable;
      wake = want_look_locked (self, TRUE);
    }
  g_mutex_unlock (&self->mutex);
  if (wake)
    wake_owner (self);
}

gboolean
mw_progress_get_cancellable (MwProgress *self)
{
  gboolean cancellable;

  g_return_val_if_fail (MW_IS_PROGRESS (self), FALSE);

  g_mutex_lock (&self->mutex);
  cancellable = self->cancellable;
  g_mutex_unlock (&self->mutex);
  return cancellable;
}
