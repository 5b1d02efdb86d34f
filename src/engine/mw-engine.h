/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "mw-diagnosis.h"
#include "mw-error.h"
#include "mw-migration-set.h"
#include "mw-migrator.h"
#include "mw-progress.h"
#include "mw-config.h"
#include "mw-backup.h"
#include "mw-instance-lock.h"
#include "mw-operation.h"
#include "mw-restore.h"
#include "mw-retention.h"
#include "mw-verify.h"
#include "mw-remedy.h"
#include "mw-repair.h"
#include "mw-settings.h"
