/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define MW_TYPE_PROGRESS (mw_progress_get_type ())

G_DECLARE_FINAL_TYPE (MwProgress, mw_progress, MW, PROGRESS, GObject)

MwProgress *mw_progress_new          (void);
void        mw_progress_update       (MwProgress *self,
                                      double      fraction,
                                      const char *message);
void        mw_progress_set_fraction (MwProgress *self,
                                      double      fraction);
double      mw_progress_get_fraction (MwProgress *self);
char       *mw_progress_dup_message  (MwProgress *self);
char       *mw_progress_dup_state    (MwProgress *self,
                                      double     *out_fraction);
void        mw_progress_flush        (MwProgress *self);
void        mw_progress_set_step     (MwProgress *self,
                                      guint       step,
                                      guint       n_steps,
                                      const char *message);
void        mw_progress_get_step     (MwProgress *self,
                                      guint      *step,
                                      guint      *n_steps);
void        mw_progress_set_cancellable (MwProgress *self,
                                         gboolean    cancellable);
gboolean    mw_progress_get_cancellable (MwProgress *self);

G_END_DECLS
