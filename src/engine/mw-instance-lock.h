/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MwInstanceLock MwInstanceLock;

MwInstanceLock *mw_instance_lock_acquire  (const char      *database_path,
                                           GError         **error);
void            mw_instance_lock_release  (MwInstanceLock  *lock);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwInstanceLock, mw_instance_lock_release)

G_END_DECLS
