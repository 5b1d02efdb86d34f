/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-progress"

#include "config.h"

#include <math.h>

#include "mw-progress.h"

/*
 * MwProgress carries a worker's progress to the thread that created it.
 *
 * Workers call mw_progress_update() as often as they like (every statement, every
 * backup step); the values are stored under a mutex and at most one source is
 * pending in the owner's main context. A new fraction waits for the rate limit (at
 * most ~5 notifications a second however hot the worker's loop is); a new message
 * (a new step), a change of whether cancelling is still safe, and a flush are shown
 * on the owner's next iteration, bringing forward a notification already waiting
 * for the rate limit. Properties are only ever notified from the owner's context,
 * so a GTK window can bind to them directly.
 */

#define NOTIFY_INTERVAL_US (200 * 1000)

struct _MwProgress
{
  GObject       parent_instance;

  GMutex        mutex;
  GMainContext *context;
  double        fraction;
  char         *message;
  guint         step;           /* 0: no steps */
  guint         n_steps;
  gint64        last_notify;
  GSource      *pending;        /* the notification waiting to run, if any */
  guint         pending_is_timeout : 1;
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

static gboolean
notify_idle_cb (gpointer data)
{
  MwProgress *self = data;

  g_mutex_lock (&self->mutex);
  /* A source that was replaced (brought forward) may still run once: harmless. */
  if (self->pending != NULL && self->pending == g_main_current_source ())
    g_clear_pointer (&self->pending, g_source_unref);
  self->last_notify = g_get_monotonic_time ();
  g_mutex_unlock (&self->mutex);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRACTION]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CANCELLABLE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STEP]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_STEPS]);

  return G_SOURCE_REMOVE;
}

static void
schedule_notify_locked (MwProgress *self,
                        gboolean    now)
{
  g_autoptr(GSource) source = NULL;
  gint64 wait_us;

  if (self->pending != NULL)
    {
      if (!now || !self->pending_is_timeout)
        return;
      /* Something that must show now: do not wait for the rate limit. */
      g_source_destroy (self->pending);
      g_clear_pointer (&self->pending, g_source_unref);
    }

  wait_us = now ? 0 : NOTIFY_INTERVAL_US - (g_get_monotonic_time () - self->last_notify);
  if (wait_us < 0)
    wait_us = 0;

  source = wait_us > 0 ? g_timeout_source_new ((guint) (wait_us / 1000)) : g_idle_source_new ();
  g_source_set_callback (source, notify_idle_cb, g_object_ref (self), g_object_unref);
  g_source_set_static_name (source, "[mw] progress notify");
  g_source_attach (source, self->context);
  self->pending = g_source_ref (source);
  self->pending_is_timeout = wait_us > 0;
}

static void
mw_progress_finalize (GObject *object)
{
  MwProgress *self = MW_PROGRESS (object);

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
  self->context = g_main_context_ref_thread_default ();
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
  gboolean changed_message = FALSE;

  g_return_if_fail (MW_IS_PROGRESS (self));

  g_mutex_lock (&self->mutex);
  /* NaN compares false with everything: it would pass CLAMP. */
  self->fraction = isnan (fraction) ? 0.0 : CLAMP (fraction, 0.0, 1.0);
  if (message != NULL && g_strcmp0 (message, self->message) != 0)
    {
      g_free (self->message);
      self->message = g_strdup (message);
      changed_message = TRUE;
    }
  schedule_notify_locked (self, changed_message);
  g_mutex_unlock (&self->mutex);
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
  char *message;

  g_return_val_if_fail (MW_IS_PROGRESS (self), NULL);

  g_mutex_lock (&self->mutex);
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
  g_return_if_fail (MW_IS_PROGRESS (self));

  g_mutex_lock (&self->mutex);
  schedule_notify_locked (self, TRUE);
  g_mutex_unlock (&self->mutex);
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
  g_return_if_fail (MW_IS_PROGRESS (self));

  g_mutex_lock (&self->mutex);
  if (self->cancellable != !!cancellable)
    {
      self->cancellable = !!cancellable;
      schedule_notify_locked (self, TRUE);
    }
  g_mutex_unlock (&self->mutex);
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
