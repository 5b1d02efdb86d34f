/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The entry point main.c looks up when it loads the wizard window as a module.
 */
#include "config.h"

#include <gmodule.h>

#include "mw-gui.h"

G_MODULE_EXPORT int mw_gui_module_run (const MwSettings *settings);

G_MODULE_EXPORT int
mw_gui_module_run (const MwSettings *settings)
{
  return mw_gui_run (settings);
}
