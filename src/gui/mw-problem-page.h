/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* How a choice's button looks: the recommended one is suggested (blue), one that
 * replaces the database is destructive (red). */
typedef enum
{
  MW_BUTTON_PLAIN,
  MW_BUTTON_SUGGESTED,
  MW_BUTTON_DESTRUCTIVE,
} MwButtonStyle;

#define MW_TYPE_PROBLEM_PAGE (mw_problem_page_get_type ())

G_DECLARE_FINAL_TYPE (MwProblemPage, mw_problem_page, MW, PROBLEM_PAGE, GtkWidget)

void        mw_problem_page_show           (MwProblemPage      *self,
                                            const char         *id,
                                            const char         *icon_name,
                                            const char         *title,
                                            const char         *text,
                                            const char         *detail);
GtkWidget  *mw_problem_page_add_button     (MwProblemPage      *self,
                                            const char         *label,
                                            const char         *action_name,
                                            GVariant           *target,
                                            MwButtonStyle       style,
                                            const char         *tooltip);
const char *mw_problem_page_recommended_prefix (void);
void        mw_problem_page_set_advice     (MwProblemPage      *self,
                                            const char         *advice);
const char *mw_problem_page_get_advice     (MwProblemPage      *self);
void        mw_problem_page_add_report_row (MwProblemPage      *self,
                                            const char * const *cells,
                                            gboolean            heading);
void        mw_problem_page_set_expanded   (MwProblemPage      *self,
                                            gboolean            expanded);
const char *mw_problem_page_get_id         (MwProblemPage      *self);
const char *mw_problem_page_get_title      (MwProblemPage      *self);
const char *mw_problem_page_get_text       (MwProblemPage      *self);
const char *mw_problem_page_get_detail     (MwProblemPage      *self);

G_END_DECLS
