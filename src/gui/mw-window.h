/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "mw-application.h"
#include "mw-engine.h"

G_BEGIN_DECLS

#define MW_TYPE_WINDOW (mw_window_get_type ())

G_DECLARE_FINAL_TYPE (MwWindow, mw_window, MW, WINDOW, GtkApplicationWindow)

MwWindow         *mw_window_new             (MwApplication     *application,
                                             const MwSettings  *settings);
void              mw_window_start           (MwWindow          *self);
const char       *mw_window_get_page        (MwWindow          *self);
const char       *mw_window_get_problem     (MwWindow          *self);
const char       *mw_window_get_title_text  (MwWindow          *self);
const char       *mw_window_get_phase_text  (MwWindow          *self);
const char       *mw_window_get_step_text   (MwWindow          *self);
const char       *mw_window_get_notice      (MwWindow          *self);
const char       *mw_window_get_problem_text (MwWindow         *self);
const char       *mw_window_get_detail_text (MwWindow          *self);
GPtrArray        *mw_window_list_buttons    (MwWindow          *self);
gboolean          mw_window_is_busy         (MwWindow          *self);
MwDiagnosis      *mw_window_get_diagnosis   (MwWindow          *self);
MwMigrationSet   *mw_window_get_set         (MwWindow          *self);
const MwSettings *mw_window_get_settings    (MwWindow          *self);

G_END_DECLS
