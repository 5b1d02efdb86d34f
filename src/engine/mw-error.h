/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MW_ENGINE_ERROR (mw_engine_error_quark ())

/**
 * MwEngineError:
 *
 * What went wrong, in terms a front end can switch on. Every message that comes with
 * one of these names the file or table involved and says what to do next.
 */
typedef enum
{
  MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND = 1, /* packaging fault: no migrations folder */
  MW_ENGINE_ERROR_MIGRATIONS_INVALID,       /* packaging fault: folder unreadable or malformed */
  MW_ENGINE_ERROR_DATABASE_MISSING,
  MW_ENGINE_ERROR_NOT_A_DATABASE,
  MW_ENGINE_ERROR_CORRUPT,
  MW_ENGINE_ERROR_LOCKED,
  MW_ENGINE_ERROR_UNREADABLE,               /* permissions, I/O error */
  MW_ENGINE_ERROR_READ_ONLY,
  MW_ENGINE_ERROR_NO_SPACE,
  MW_ENGINE_ERROR_REFUSED,                  /* the database's state forbids migrating */
  MW_ENGINE_ERROR_MIGRATION_FAILED,
  MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION,
  MW_ENGINE_ERROR_BACKUP_FAILED,            /* no verified backup could be made */
  MW_ENGINE_ERROR_CHECK_FAILED,             /* integrity check failed after committing */
  MW_ENGINE_ERROR_BAD_MAPPING,              /* adopt: a mapping or value that cannot apply */
  MW_ENGINE_ERROR_OPERATION_JOURNAL,        /* an operation journal this program did not write */
} MwEngineError;

GQuark mw_engine_error_quark (void);

G_END_DECLS
