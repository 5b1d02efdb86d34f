/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The entry point main.c looks up when it loads the wizard window as a module.
 */
#include "config.h"

#include <gmodule.h>

#include "mw-gui.h"

G_MODULE_EXPORT int mw_gui_module_run (int    argc,
                                       char **argv);

G_MODULE_EXPORT int
mw_gui_module_run (int    argc,
                   char **argv)
{
  return mw_gui_run (argc, argv);
}
