/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "mw-diagnosis.h"
#include "mw-error.h"
#include "mw-migration-set.h"
#include "mw-migrator.h"
#include "mw-progress.h"
#include "mw-config.h"
#include "mw-backup.h"
#include "mw-operation.h"
#include "mw-verify.h"
#include "mw-repair.h"
#include "mw-settings.h"
#include "mw-log.h"
#include "mw-support.h"
