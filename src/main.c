/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <locale.h>
#include <glib/gi18n.h>
#include <gmodule.h>

#include "mw-cli.h"

/* Where the wizard window's module is: beside the program in a build tree
 * (src/gui/), else where it is installed. */
static GModule *
open_gui_module (GString *tried)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self ? g_path_get_dirname (self) : NULL;
  g_autofree char *beside = dir ? g_build_filename (dir, "gui", NULL) : NULL;
  const char *folders[] = { beside, MW_PKGLIBDIR };

  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      g_autofree char *path = NULL;
      GModule *module;

      if (folders[i] == NULL)
        continue;
      path = g_module_build_path (folders[i], "mw-gui");
      module = g_module_open (path, G_MODULE_BIND_LOCAL);
      if (module != NULL)
        return module;
      g_string_append_printf (tried, "\n  %s: %s", path, g_module_error ());
    }
  return NULL;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GString) tried = g_string_new (NULL);
  g_autoptr(MwCliOptions) options = NULL;
  g_autoptr(GError) error = NULL;
  GModule *module;
  MwGuiRunFunc run = NULL;
  int status;

  setlocale (LC_ALL, "");
  /* MW_LOCALEDIR: translations not installed yet (the build tree's po/, for tests). */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("MW_LOCALEDIR") ? g_getenv ("MW_LOCALEDIR")
                                                             : MW_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* One option table and one resolution of the settings, for both fronts. */
  options = mw_cli_options_parse (argc, argv, &error);
  if (options == NULL)
    {
      g_printerr ("%s\n%s\n", error->message,
                  _("Run “migration-wizard --help” to see the commands and options."));
      return MW_EXIT_USAGE;
    }

  /* Every run, after-update runs nobody watched included, leaves its lines in the
   * log beside the backups (bounded and rotated; mw-log.c). */
  if (!options->version)
    {
      g_autofree char *log = mw_log_path_for (options->settings);

      mw_log_set_file (log);
      mw_log_add ("Migration Wizard %s: %s%s, database %s", PACKAGE_VERSION,
                  options->command ? options->command : "window",
                  options->settings->after_update ? " after an update" : "",
                  options->settings->database);
    }

  if (!mw_cli_options_want_window (options))
    {
      status = mw_cli_run (options);
      mw_log_add ("Ended with exit status %d", status);
      return status;
    }

  module = open_gui_module (tried);
  if (module == NULL || !g_module_symbol (module, "mw_gui_module_run", (gpointer *) &run))
    {
      g_printerr (_("The wizard window is not installed with this program (a packaging "
                    "fault; the commands still work, see “migration-wizard --help”). "
                    "Tried:%s\n"), tried->str);
      return MW_EXIT_INTERNAL;
    }
  /* The module stays loaded until the process ends. */
  status = run (options->settings);
  if (status == MW_GUI_NO_DISPLAY)
    status = mw_cli_run_headless (options);
  mw_log_add ("Ended with exit status %d", status);
  return status;
}
