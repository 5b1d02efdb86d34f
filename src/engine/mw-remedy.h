/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mw-backup.h"
#include "mw-diagnosis.h"
#include "mw-migrator.h"
#include "mw-settings.h"

G_BEGIN_DECLS

/**
 * MwExitCode:
 *
 * The exit statuses of both fronts: one per situation, stable, documented in
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
  MW_EXIT_SCHEMA_DIFFERS     = 30,  /* schema: the tables differ from the app's */
  MW_EXIT_BAD_MAPPING        = 31,  /* adopt: a --map or --value that cannot apply */
  MW_EXIT_NEEDS_VALUE        = 32,  /* adopt: a new required column needs --value */
  MW_EXIT_LINT_ERRORS        = 33,  /* lint: the migrations have errors */
  MW_EXIT_OPERATION_JOURNAL  = 34,  /* an operation journal this program did not write: nothing touched */
} MwExitCode;

/**
 * MwAction:
 *
 * What a person (or a script) can do next. The fronts give each its words: a
 * button in the window, a command line in the terminal.
 */
typedef enum
{
  MW_ACTION_MIGRATE,        /* apply the pending updates (or create the database) */
  MW_ACTION_RESTORE,        /* restore the backup the remedy names */
  MW_ACTION_FRESH,          /* back up, keep the database aside, start empty */
  MW_ACTION_REPAIR,         /* make a repaired copy and its report */
  MW_ACTION_USE_REPAIRED,   /* put the repaired copy in place */
  MW_ACTION_RETRY,          /* check again, once the cause is fixed */
  MW_ACTION_CANCEL,         /* stop, leaving everything as it is */
  MW_ACTION_QUIT,           /* the same, for a problem nothing here can fix */
  MW_ACTION_CLOSE,          /* the same, after an outcome */
  MW_ACTION_ADOPT,          /* keep the data: re-stamp a proven level, or carry every row */
} MwAction;

/**
 * MwOperation:
 *
 * The operation whose failure a remedy answers.
 */
typedef enum
{
  MW_OPERATION_MIGRATE,
  MW_OPERATION_RESTORE,
  MW_OPERATION_FRESH,
  MW_OPERATION_REPAIR,
  MW_OPERATION_REPAIR_SWAP,
  MW_OPERATION_ADOPT,
} MwOperation;

typedef struct
{
  MwAction  action;
  gboolean  available;      /* offered but not possible now: shown, with why_not */
  char     *why_not;        /* (nullable) */
  char     *cost;           /* (nullable) one line: what choosing it costs or keeps */
} MwChoice;

/**
 * MwRemedy:
 *
 * What a diagnosis or a failed operation means for a person: which problem it is
 * (a stable id the window's pages and the tests use), in words, the actions that
 * are safe in the order they are shown, the one recommended and why, the backup a
 * restore would use, and the exit status. Decided here once; the window and the
 * command line only render it.
 */
typedef struct
{
  const char *id;           /* "ready", "up-to-date", "corrupt", "locked", … "recheck" */
  char       *title;
  char       *message;      /* plain words: what happened, what was kept, what to do */
  char       *detail;       /* (nullable) for technicians: paths, the exact error */
  GArray     *choices;      /* (element-type MwChoice) in the order shown */
  MwAction    recommended;  /* the default: Enter in the window */
  char       *reason;       /* (nullable) one line: why that one */
  MwBackup   *backup;       /* (nullable) what MW_ACTION_RESTORE would restore */
  MwExitCode  exit_code;    /* the status when the process ends here */
  gboolean    automatic;    /* the recommended action may be taken without asking */

  /*< private >*/
  gatomicrefcount ref_count;
} MwRemedy;

#define MW_TYPE_REMEDY (mw_remedy_get_type ())

GType        mw_remedy_get_type            (void) G_GNUC_CONST;
MwRemedy    *mw_remedy_ref                 (MwRemedy           *self);
void         mw_remedy_unref               (MwRemedy           *self);

MwRemedy    *mw_remedy_for_diagnosis       (MwDiagnosis        *diagnosis,
                                            const MwSettings   *settings);
MwRemedy    *mw_remedy_for_error           (MwOperation         operation,
                                            const GError       *error,
                                            MwMigrator         *migrator,
                                            MwDiagnosis        *diagnosis,
                                            const MwSettings   *settings);
gboolean     mw_remedy_offers              (MwRemedy           *self,
                                            MwAction            action);
char        *mw_remedy_to_text             (MwRemedy           *self,
                                            const MwSettings   *settings);
void         mw_remedy_to_json             (MwRemedy           *self,
                                            const MwSettings   *settings,
                                            JsonBuilder        *builder);

gboolean     mw_state_may_migrate          (MwState             state,
                                            gboolean            accept_modified);
MwExitCode   mw_exit_code_for_state        (MwState             state);
MwExitCode   mw_exit_code_for_error        (const GError       *error);
const char  *mw_action_to_string           (MwAction            action);
char        *mw_action_command_line        (MwAction            action,
                                            const MwSettings   *settings,
                                            MwBackup           *backup);
MwBackup    *mw_remedy_choose_backup       (const char         *backup_dir,
                                            const char         *wanted,
                                            GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwRemedy, mw_remedy_unref)

G_END_DECLS
