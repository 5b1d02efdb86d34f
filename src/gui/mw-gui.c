/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-gui"

#include "config.h"

#include <glib/gi18n.h>
#include <gtk/gtk.h>

#include "mw-application.h"
#include "mw-engine.h"
#include "mw-gui.h"
#include "mw-resources.h"
#include "mw-window.h"

/*
 * The wizard's entry point: options as the headless front reads them, plus the
 * launch modes. Without a display (ssh, a service) it falls back to the headless
 * front doing the same job: `migrate` after an update, else `status`.
 */

/* Measurements for bench/ (MW_BENCH=1): the time from the start of the process to
 * the first frame drawn, and the main loop's longest stall (the longest gap between
 * two runs of a 1 ms timer) while the engine works. Printed on stderr at exit. */

static gint64 bench_started_us;
static gint64 bench_first_frame_us;
static gint64 bench_last_tick_us;
static gint64 bench_longest_stall_us;

static gboolean bench_was_busy;

/* Gaps count while the engine works (a worker is running): what a person watching the
 * progress would feel; not the window's own opening and closing. */
static gboolean
bench_tick_cb (gpointer user_data)
{
  GApplication *app = g_application_get_default ();
  GtkWindow *window = app ? gtk_application_get_active_window (GTK_APPLICATION (app)) : NULL;
  gboolean busy = window != NULL && MW_IS_WINDOW (window) && mw_window_is_busy (MW_WINDOW (window));
  gint64 now = g_get_monotonic_time ();

  if ((busy || bench_was_busy) && bench_last_tick_us != 0 &&
      now - bench_last_tick_us > bench_longest_stall_us)
    bench_longest_stall_us = now - bench_last_tick_us;
  bench_last_tick_us = now;
  bench_was_busy = busy;
  return G_SOURCE_CONTINUE;
}

static void
bench_after_paint_cb (GdkFrameClock *clock,
                      gpointer       user_data)
{
  if (bench_first_frame_us != 0)
    return;
  bench_first_frame_us = g_get_monotonic_time ();
  g_timeout_add (1, bench_tick_cb, NULL);
  if (g_getenv ("MW_BENCH_QUIT_AFTER_FIRST_FRAME") != NULL)
    g_application_quit (g_application_get_default ());
}

static void
bench_window_mapped_cb (GtkWidget *widget,
                        gpointer   user_data)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);

  if (clock != NULL)
    g_signal_connect (clock, "after-paint", G_CALLBACK (bench_after_paint_cb), NULL);
}

static void
bench_window_added_cb (GtkApplication *app,
                       GtkWindow      *window,
                       gpointer        user_data)
{
  g_signal_connect (window, "map", G_CALLBACK (bench_window_mapped_cb), NULL);
}

static void
bench_report (void)
{
  if (bench_first_frame_us != 0)
    g_printerr ("bench: first-frame-ms %.1f\nbench: longest-stall-ms %.1f\n",
                (bench_first_frame_us - bench_started_us) / 1000.0,
                bench_longest_stall_us / 1000.0);
  else
    g_printerr ("bench: no frame drawn\n");
}

/**
 * mw_gui_run:
 * @settings: resolved once by the program's option table
 *
 * Runs the wizard window.
 *
 * Returns: the process's exit status, or %MW_GUI_NO_DISPLAY when there is no
 *   display (the caller then does the same job headless)
 */
int
mw_gui_run (const MwSettings *settings)
{
  g_autoptr(MwApplication) app = NULL;
  char *app_argv[2] = { (char *) "migration-wizard", NULL };
  gboolean bench = g_getenv ("MW_BENCH") != NULL;
  gboolean remote;
  int status;

  bench_started_us = g_get_monotonic_time ();

  /* A few labels and a progress bar: GTK's cairo renderer draws them in a fraction of
   * what software OpenGL costs on the machines this runs on — POS terminals without a
   * GPU, remote-desktop sessions — and keeps the main loop free while the engine
   * works (bench/gui.sh). GSK_RENDERER set by the user still wins. */
  g_setenv ("GSK_RENDERER", "cairo", FALSE);
  if (!gtk_init_check ())
    return MW_GUI_NO_DISPLAY;

  mw_register_resource ();
  mw_log_install ();
  app = mw_application_new (settings);
  {
    g_autoptr(GError) error = NULL;

    remote = FALSE;
    /* Without a session bus: one process, one window; the database's instance lock
     * still keeps two wizards from working on it at once. */
    if (!g_application_register (G_APPLICATION (app), NULL, &error))
      {
        g_info ("No application uniqueness (%s)", error->message);
        g_clear_object (&app);
        app = mw_application_new_full (settings, FALSE);
      }
    else
      remote = g_application_get_is_remote (G_APPLICATION (app));
  }
  if (bench)
    g_signal_connect (app, "window-added", G_CALLBACK (bench_window_added_cb), NULL);
  g_application_run (G_APPLICATION (app), 1, app_argv);
  status = mw_application_get_exit_status (app);
  if (remote)
    {
      /* Another wizard has this database open: its window was brought forward. It
       * starts the POS when it is done; a launcher waiting on this one must not. */
      mw_log_add ("The wizard already open on this database was brought forward");
      status = settings->after_update ? MW_EXIT_LOCKED : MW_EXIT_OK;
    }
  if (bench)
    bench_report ();
  return status;
}
