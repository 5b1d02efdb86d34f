/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mw-migration-set.h"
#include "mw-progress.h"
#include "mw-schema.h"

G_BEGIN_DECLS

/**
 * MwState:
 *
 * The closed set of situations a database can be in; every front end switches on it.
 */
typedef enum
{
  MW_STATE_MISSING,             /* no database yet: it will be created */
  MW_STATE_UP_TO_DATE,
  MW_STATE_PENDING,             /* migrations to apply */
  MW_STATE_NEWER,               /* set up by a newer app */
  MW_STATE_HASH_MISMATCH,       /* applied migrations changed since */
  MW_STATE_UNKNOWN_HISTORY,     /* recorded migrations this app does not know */
  MW_STATE_UNTRACKED,           /* tables, but no migration history */
  MW_STATE_LOCKED,
  MW_STATE_NO_SPACE,
  MW_STATE_CORRUPT,
  MW_STATE_NOT_A_DATABASE,
  MW_STATE_UNREADABLE,          /* cannot be opened: permissions, I/O errors */
  MW_STATE_NO_MIGRATIONS,       /* packaging fault: the migrations folder is missing */
  MW_STATE_INVALID_MIGRATIONS,  /* packaging fault: the migrations folder is malformed */
} MwState;

#define MW_N_STATES (MW_STATE_INVALID_MIGRATIONS + 1)

typedef enum
{
  MW_MIGRATION_STATUS_APPLIED,
  MW_MIGRATION_STATUS_PENDING,
  MW_MIGRATION_STATUS_MODIFIED,      /* applied, but the file's hash changed since */
  MW_MIGRATION_STATUS_OUT_OF_ORDER,  /* pending, older than the newest applied one */
} MwMigrationStatus;

/* One local migration and what the database says of it. */
typedef struct
{
  const MwMigration *migration;       /* borrowed from the diagnosis' set */
  MwMigrationStatus  status;
  char              *applied_hash;    /* as recorded, when applied or modified */
  gint64             applied_when;    /* created_at as recorded */
  char              *applied_at;      /* v1 tables only */
  gint64             applied_rowid;   /* the row's rowid in __drizzle_migrations */
  guint              line_endings_only : 1; /* recorded hash matches with other line endings */
  guint              when_differs : 1;      /* matched by hash, recorded with another time */
} MwMigrationState;

/* A row of __drizzle_migrations. */
typedef struct
{
  char     *hash;
  gint64    created_at;
  char     *name;           /* v1 tables only */
  char     *applied_at;     /* v1 tables only */
  gint64    rowid;
  gboolean  created_at_is_null;
} MwAppliedRow;

/**
 * MwDiagnoseFlags:
 * @MW_DIAGNOSE_READ_PAGES: also read every page (`quick_check`) of a database that
 *   could otherwise be updated or used, so damage inside the tables is found now
 * @MW_DIAGNOSE_SCHEMA: for a history that does not fit the app (untracked, unknown,
 *   changed), also compare the tables with the app's schema (MwDiagnosis.schema)
 */
typedef enum
{
  MW_DIAGNOSE_NONE       = 0,
  MW_DIAGNOSE_READ_PAGES = 1 << 0,
  MW_DIAGNOSE_SCHEMA     = 1 << 1,
} MwDiagnoseFlags;

typedef struct _MwDiagnosis MwDiagnosis;

struct _MwDiagnosis
{
  MwState         state;
  char           *database_path;
  char           *message;          /* plain words: what it means and what to do */
  char           *detail;           /* (nullable) the exact error, for technicians */
  MwMigrationSet *set;              /* (nullable) */
  GArray         *migrations;       /* (element-type MwMigrationState) */
  GPtrArray      *unknown;          /* (element-type MwAppliedRow) rows matching no migration */
  guint           n_applied;
  guint           n_pending;        /* pending + out-of-order: what a migrate would apply */
  guint           n_out_of_order;
  guint           n_modified;
  guint           n_user_tables;
  gboolean        exists;
  gboolean        pages_checked;    /* every page read (MW_DIAGNOSE_READ_PAGES) and sound */
  gboolean        has_migrations_table;
  goffset         database_size;
  goffset         wal_size;
  guint64         space_required;
  guint64         space_available;
  int             lock_pid;         /* 0 when unknown */
  char           *lock_process;     /* (nullable) */
  const MwMigration *last_applied;  /* (nullable) newest applied in folder order */
  MwSchemaCheck  *schema;           /* (nullable) MW_DIAGNOSE_SCHEMA: the tables against
                                     * the app's schema */
  gint64          n_sales;          /* MW_DIAGNOSE_SCHEMA: the shop's rows, -1: unknown */
  gint64          n_products;
  gint64          n_staff;
  char           *migrations_table; /* (nullable) the history's table, when read */
  gboolean        migrations_table_detected; /* not named: found by its shape */
  gboolean        table_update;     /* the table must be created or brought to the v1
                                     * layout, as the app's migrate() would */
  const MwMigration *invalid_migration; /* (nullable) invalid-migrations: the one refused */
  guint           invalid_statement;    /* its statement, 1-based */
  gboolean        needs_newer_sqlite;   /* refused because this SQLite is too old */
  char           *checked_on_copy;  /* (nullable) why it was read from a byte-for-byte copy:
                                     * SQLite would have changed the set just by opening it */

  /*< private >*/
  gatomicrefcount ref_count;
};

#define MW_TYPE_DIAGNOSIS (mw_diagnosis_get_type ())

GType         mw_diagnosis_get_type              (void) G_GNUC_CONST;
MwDiagnosis  *mw_diagnosis_ref                   (MwDiagnosis          *self);
void          mw_diagnosis_unref                 (MwDiagnosis          *self);

MwDiagnosis  *mw_diagnose                        (const char           *database_path,
                                                  MwMigrationSet       *set,
                                                  GCancellable         *cancellable);
MwDiagnosis  *mw_diagnose_full                   (const char           *database_path,
                                                  MwMigrationSet       *set,
                                                  MwDiagnoseFlags       flags,
                                                  MwProgress           *progress,
                                                  GCancellable         *cancellable);
void          mw_diagnose_async                  (const char           *database_path,
                                                  MwMigrationSet       *set,
                                                  MwDiagnoseFlags       flags,
                                                  MwProgress           *progress,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
MwDiagnosis  *mw_diagnose_finish                 (GAsyncResult         *result,
                                                  GError              **error);
gboolean      mw_diagnosis_wants_schema          (MwDiagnosis          *self);
int           mw_diagnosis_recorded_level        (MwDiagnosis          *self);
gboolean      mw_diagnosis_wants_page_read       (MwDiagnosis          *self);
void          mw_diagnosis_read_pages_async      (MwDiagnosis          *self,
                                                  MwProgress           *progress,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
void          mw_diagnosis_read_pages_finish     (MwDiagnosis          *self,
                                                  GAsyncResult         *result);
MwDiagnosis  *mw_diagnosis_new_for_error         (const char           *database_path,
                                                  const GError         *migrations_error);

void          mw_diagnosis_to_json               (MwDiagnosis          *self,
                                                  JsonBuilder          *builder);

char         *mw_diagnosis_to_text               (MwDiagnosis          *self);
char         *mw_diagnosis_migrations_to_text    (MwDiagnosis          *self);
const char   *mw_migration_status_label          (MwMigrationStatus     status);
char         *mw_format_migration_time           (gint64                millis);

const char   *mw_state_to_string                 (MwState               state);
const char   *mw_migration_status_to_string      (MwMigrationStatus     status);
guint64       mw_space_required_for              (goffset               database_size,
                                                  goffset               wal_size);
gboolean      mw_space_check                     (const char           *database_path,
                                                  const char           *backup_dir,
                                                  GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwDiagnosis, mw_diagnosis_unref)

G_END_DECLS
