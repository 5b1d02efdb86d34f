/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "mw-engine.h"

G_BEGIN_DECLS

typedef enum
{
  MW_CHECK_OK,
  MW_CHECK_PROBLEM,
  MW_CHECK_WAITING,
  MW_CHECK_INFO,
} MwCheckResult;

#define MW_TYPE_CHECK_LIST (mw_check_list_get_type ())

G_DECLARE_FINAL_TYPE (MwCheckList, mw_check_list, MW, CHECK_LIST, GtkWidget)

void     mw_check_list_clear          (MwCheckList   *self);
void     mw_check_list_add            (MwCheckList   *self,
                                       MwCheckResult  result,
                                       const char    *name,
                                       const char    *found);
void     mw_check_list_show_diagnosis (MwCheckList   *self,
                                       MwDiagnosis   *diagnosis,
                                       gboolean       reading_pages);
guint    mw_check_list_get_n_checks   (MwCheckList   *self);

char  *mw_check_list_dup_text            (MwCheckList *self);
void   mw_check_list_set_database_source (MwCheckList *self,
                                          const char  *source);

G_END_DECLS
