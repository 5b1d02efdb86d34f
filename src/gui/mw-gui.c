/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-gui"

#include "config.h"

#include <glib/gi18n.h>
#include <gtk/gtk.h>

#include "mw-application.h"
#include "mw-cli.h"
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

static int
run_headless (const MwWizardOptions *options,
              const char            *config_path)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *busy = NULL;
  int status;

  g_printerr (_("No display: running without a window.\n"));
  g_ptr_array_add (args, (char *) "migration-wizard");
  g_ptr_array_add (args, (char *) (options->after_update ? "migrate" : "status"));
  g_ptr_array_add (args, (char *) "--database");
  g_ptr_array_add (args, options->database);
  g_ptr_array_add (args, (char *) "--backup-dir");
  g_ptr_array_add (args, options->backup_dir);
  if (options->migrations != NULL)
    {
      g_ptr_array_add (args, (char *) "--migrations");
      g_ptr_array_add (args, options->migrations);
    }
  if (config_path != NULL)
    {
      g_ptr_array_add (args, (char *) "--config");
      g_ptr_array_add (args, (char *) config_path);
    }
  if (options->busy_timeout_ms > 0)
    {
      busy = g_strdup_printf ("--busy-timeout=%u", options->busy_timeout_ms);
      g_ptr_array_add (args, busy);
    }
  g_ptr_array_add (args, NULL);

  status = mw_cli_run ((int) args->len - 1, (char **) args->pdata);

  if (options->after_update && status == MW_EXIT_OK && options->then_run != NULL)
    {
      g_auto(GStrv) argv = NULL;
      g_autoptr(GError) error = NULL;

      if (!g_shell_parse_argv (options->then_run, NULL, &argv, &error) ||
          !g_spawn_async (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &error))
        {
          g_printerr (_("Could not start “%s”: %s\n"), options->then_run, error->message);
          return MW_EXIT_INTERNAL;
        }
    }
  return status;
}

/**
 * mw_gui_run:
 *
 * Parses the wizard's options and runs it; returns the process's exit status.
 */
int
mw_gui_run (int    argc,
            char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MwConfig) config = NULL;
  g_autoptr(MwApplication) app = NULL;
  g_auto(GStrv) args = NULL;
  g_autofree char *config_path = NULL;
  MwWizardOptions options = { 0 };
  int busy_timeout = 0;
  gboolean version = FALSE;
  char *app_argv[2] = { argv[0], NULL };
  gboolean bench = g_getenv ("MW_BENCH") != NULL;
  int status;
  GOptionEntry entries[] = {
    { "after-update", 0, 0, G_OPTION_ARG_NONE, &options.after_update,
      N_("Run right after the app was updated: no window when there is nothing to do, "
         "close by itself when the update succeeds"), NULL },
    { "then-run", 0, 0, G_OPTION_ARG_STRING, &options.then_run,
      N_("With --after-update: the command to start once the database is ready (the POS)"),
      N_("COMMAND") },
    { "database", 'd', 0, G_OPTION_ARG_FILENAME, &options.database,
      N_("The database file (default: from the configuration, else the app's)"), N_("PATH") },
    { "migrations", 'm', 0, G_OPTION_ARG_FILENAME, &options.migrations,
      N_("The app's migrations folder (default: searched)"), N_("DIR") },
    { "backup-dir", 0, 0, G_OPTION_ARG_FILENAME, &options.backup_dir,
      N_("Where backups are kept (default: backups/ beside the database)"), N_("DIR") },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      N_("A configuration file"), N_("FILE") },
    { "busy-timeout", 0, 0, G_OPTION_ARG_INT, &busy_timeout,
      N_("How long to wait for another program to release the database (ms)"), N_("MS") },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version"), NULL },
    { NULL }
  };

  bench_started_us = g_get_monotonic_time ();
  context = g_option_context_new (N_("- bring the AurSwift POS database up to date"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_description (context,
    N_("Without a command, opens the wizard window (or, with no display, does the same "
       "job headless).\nCommands for terminals and scripts: status, migrate, backup, "
       "backups, restore, fresh — see “migration-wizard status --help”."));

  args = g_strdupv (argv);
  if (!g_option_context_parse_strv (context, &args, &error))
    {
      g_printerr ("%s\n%s\n", error->message,
                  _("Run “migration-wizard --help” to see the commands and options."));
      return MW_EXIT_USAGE;
    }
  if (version)
    {
      g_print ("migration-wizard %s\n", PACKAGE_VERSION);
      return MW_EXIT_OK;
    }

  config = mw_config_load (config_path, &error);
  if (config == NULL)
    {
      g_printerr ("%s\n", error->message);
      status = MW_EXIT_USAGE;
      goto out;
    }
  if (options.database == NULL)
    options.database = g_strdup (config->database);
  if (options.database == NULL)
    options.database = mw_config_default_database ();
  if (options.backup_dir == NULL)
    options.backup_dir = g_strdup (config->backup_dir);
  if (options.backup_dir == NULL)
    options.backup_dir = mw_backup_default_dir (options.database);
  options.config_migrations = g_strdup (config->migrations);
  options.busy_timeout_ms = busy_timeout > 0 ? (guint) busy_timeout : config->busy_timeout_ms;
  options.retention = config->retention;
  options.keep_old_sets = config->keep_old_sets;

  /* A few labels and a progress bar: GTK's cairo renderer draws them in a fraction of
   * what software OpenGL costs on the machines this runs on — POS terminals without a
   * GPU, remote-desktop sessions — and keeps the main loop free while the engine
   * works (bench/gui.sh). GSK_RENDERER set by the user still wins. */
  g_setenv ("GSK_RENDERER", "cairo", FALSE);
  if (!gtk_init_check ())
    {
      status = run_headless (&options, config_path);
      goto out;
    }

  mw_register_resource ();
  mw_log_install ();
  app = mw_application_new (&options);
  if (bench)
    g_signal_connect (app, "window-added", G_CALLBACK (bench_window_added_cb), NULL);
  g_application_run (G_APPLICATION (app), 1, app_argv);
  status = mw_application_get_exit_status (app);
  if (bench)
    bench_report ();

out:
  g_free (options.database);
  g_free (options.migrations);
  g_free (options.config_migrations);
  g_free (options.backup_dir);
  g_free (options.then_run);
  return status;
}
