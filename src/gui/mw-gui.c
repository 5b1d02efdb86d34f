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

/*
 * The wizard's entry point: options as the headless front reads them, plus the
 * launch modes. Without a display (ssh, a service) it falls back to the headless
 * front doing the same job: `migrate` after an update, else `status`.
 */

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

  if (!gtk_init_check ())
    {
      status = run_headless (&options, config_path);
      goto out;
    }

  mw_register_resource ();
  mw_log_install ();
  app = mw_application_new (&options);
  g_application_run (G_APPLICATION (app), 1, app_argv);
  status = mw_application_get_exit_status (app);

out:
  g_free (options.database);
  g_free (options.migrations);
  g_free (options.config_migrations);
  g_free (options.backup_dir);
  g_free (options.then_run);
  return status;
}
