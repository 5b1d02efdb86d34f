/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "mw-engine.h"

G_BEGIN_DECLS

int mw_gui_run (const MwSettings *settings);

G_END_DECLS
