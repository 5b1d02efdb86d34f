/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

void   mw_accessibility_scroll_focus_when_needed (GtkScrolledWindow *scrolled);
void   mw_accessibility_update_scroll_focus      (GtkScrolledWindow *scrolled);
void   mw_accessibility_update_scroll_focus_under (GtkWidget        *root);
void   mw_accessibility_no_enter                 (GtkWidget         *button);
void   mw_accessibility_name_button              (GtkWidget         *button);
void   mw_accessibility_name_buttons             (GtkWidget         *root);
char  *mw_accessibility_strip_mnemonic           (const char        *label);

G_END_DECLS
