/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "mw-window.h"

G_BEGIN_DECLS

#define MW_TYPE_TECHNICIAN_WINDOW (mw_technician_window_get_type ())

G_DECLARE_FINAL_TYPE (MwTechnicianWindow, mw_technician_window, MW, TECHNICIAN_WINDOW, GtkWindow)

MwTechnicianWindow *mw_technician_window_new             (MwWindow            *wizard);
void                mw_technician_window_refresh         (MwTechnicianWindow  *self);
char               *mw_technician_window_dup_diagnostics (MwTechnicianWindow  *self);
char               *mw_technician_window_dup_schema_text (MwTechnicianWindow  *self);
const char         *mw_technician_window_get_integrity_result (MwTechnicianWindow *self);
gboolean            mw_technician_window_save_bundle     (MwTechnicianWindow  *self,
                                                          const char          *path,
                                                          GError             **error);
gboolean            mw_technician_window_delete_backup   (MwTechnicianWindow  *self,
                                                          const char          *path,
                                                          GError             **error);
const char         *mw_technician_window_get_status      (MwTechnicianWindow  *self);
char               *mw_technician_window_dup_log_text    (MwTechnicianWindow  *self);
gboolean            mw_technician_window_export_log      (MwTechnicianWindow  *self,
                                                          const char          *path,
                                                          GError             **error);

G_END_DECLS
