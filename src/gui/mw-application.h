/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "mw-engine.h"

G_BEGIN_DECLS

#define MW_TYPE_APPLICATION (mw_application_get_type ())

G_DECLARE_FINAL_TYPE (MwApplication, mw_application, MW, APPLICATION, GtkApplication)

MwApplication         *mw_application_new             (const MwSettings      *settings);
MwApplication         *mw_application_new_full        (const MwSettings      *settings,
                                                       gboolean               unique);
char                  *mw_application_id_for          (const char            *database);
const MwSettings      *mw_application_get_settings    (MwApplication         *self);
int                    mw_application_get_exit_status (MwApplication         *self);
void                   mw_application_set_exit_status (MwApplication         *self,
                                                       int                    status);

G_END_DECLS
