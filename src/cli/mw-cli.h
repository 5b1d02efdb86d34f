/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * MwExitCode:
 *
 * The headless front's exit statuses: one per situation, stable, documented in
 * README.md, so that launchers and scripts can act on them.
 */
typedef enum
{
  MW_EXIT_OK                 = 0,   /* up to date, or the command succeeded */
  MW_EXIT_INTERNAL           = 1,
  MW_EXIT_USAGE              = 2,
  MW_EXIT_PENDING            = 3,   /* status: updates to apply */
  MW_EXIT_MISSING            = 4,   /* status: no database yet */
  MW_EXIT_NEWER              = 10,
  MW_EXIT_HASH_MISMATCH      = 11,
  MW_EXIT_UNKNOWN_HISTORY    = 12,
  MW_EXIT_UNTRACKED          = 13,
  MW_EXIT_LOCKED             = 14,
  MW_EXIT_NO_SPACE           = 15,
  MW_EXIT_CORRUPT            = 16,
  MW_EXIT_NOT_A_DATABASE     = 17,
  MW_EXIT_UNREADABLE         = 18,
  MW_EXIT_NO_MIGRATIONS      = 19,
  MW_EXIT_INVALID_MIGRATIONS = 20,
  MW_EXIT_MIGRATION_FAILED   = 21,  /* rolled back: the database is as it was */
  MW_EXIT_FOREIGN_KEYS       = 22,  /* rolled back: the database is as it was */
  MW_EXIT_CANCELLED          = 23,  /* rolled back: the database is as it was */
  MW_EXIT_BACKUP_FAILED      = 24,  /* no verified backup: nothing was changed */
  MW_EXIT_CHECK_FAILED       = 25,  /* applied, but the integrity check failed afterwards */
  MW_EXIT_NEEDS_CONFIRMATION = 26,  /* restore/fresh without --yes: nothing was done */
  MW_EXIT_NO_BACKUP          = 27,  /* restore: no usable backup */
  MW_EXIT_REPAIRED_COPY      = 28,  /* repair without --yes: the copy made, nothing swapped */
  MW_EXIT_REPAIR_FAILED      = 29,  /* repair: nothing could be recovered; nothing changed */
} MwExitCode;

int        mw_cli_run                (int          argc,
                                      char       **argv);
gboolean   mw_cli_wants_command_line (int          argc,
                                      char       **argv);
MwExitCode mw_exit_code_for_state    (int          state);
MwExitCode mw_exit_code_for_error    (const GError *error);

G_END_DECLS
