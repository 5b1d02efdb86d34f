/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "mw-engine.h"

G_BEGIN_DECLS

#define MW_TYPE_APPLICATION (mw_application_get_type ())

G_DECLARE_FINAL_TYPE (MwApplication, mw_application, MW, APPLICATION, GtkApplication)

MwApplication         *mw_application_new             (const MwSettings      *settings);
const MwSettings      *mw_application_get_settings    (MwApplication         *self);
int                    mw_application_get_exit_status (MwApplication         *self);
void                   mw_application_set_exit_status (MwApplication         *self,
                                                       int                    status);

/* The operation log: every step the wizard took and every message the engine
 * logged, with the time; shown in the technician view and saved in support bundles. */
void                   mw_log_install                 (void);
void                   mw_log_add                     (const char            *format,
                                                       ...) G_GNUC_PRINTF (1, 2);
char                  *mw_log_dup_text                (void);

G_END_DECLS
