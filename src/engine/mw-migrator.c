/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-migrator"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mw-db-private.h"
#include "mw-diagnosis.h"
#include "mw-error.h"
#include "mw-history-private.h"
#include "mw-migrator.h"
#include "mw-restore.h"
#include "mw-verify.h"
#include "mw-thread-private.h"

/*
 * Applying migrations: drizzle-orm's result, without drizzle-orm's traps.
 *
 * What ends up in the database is what drizzle-orm's migrate() would leave — the
 * same statements in the same order, the same __drizzle_migrations DDL and rows —
 * so that the POS, which still calls migrate() at start-up, finds nothing to do.
 * What differs is how it gets there:
 *
 *  - foreign keys are turned off BEFORE the transaction (SQLite ignores the pragma
 *    inside one, so drizzle-kit's own "PRAGMA foreign_keys=OFF" piece is a no-op and
 *    a table rebuild's DROP TABLE would cascade-delete child rows: drizzle-orm
 *    #5782), `PRAGMA foreign_key_check` decides whether to commit, and the setting is
 *    restored afterwards;
 *  - back-dated (out-of-order) migrations are applied, where drizzle-orm's
 *    high-water-mark rule skips them forever;
 *  - the whole run is one BEGIN IMMEDIATE transaction: the write lock is taken
 *    before anything is read, the history is re-read under it, and any failure or a
 *    cancel rolls everything back, the migrations table included;
 *  - a statement that would end our transaction (BEGIN, COMMIT, ...) is refused before
 *    anything runs, and a piece holding two statements is refused as better-sqlite3
 *    (the POS's driver) refuses it, instead of running half of it as sql.js would.
 */

#define DEFAULT_BUSY_TIMEOUT_MS 5000
#define PROGRESS_HANDLER_OPS 10000

struct _MwMigrator
{
  GObject         parent_instance;

  char           *database_path;
  MwMigrationSet *set;
  MwProgress     *progress;
  char           *target;
  GPtrArray      *applied;        /* (element-type utf8) tags applied by the last run */
  GPtrArray      *violations;     /* (element-type utf8) "child → parent: N rows" */
  char           *failed_tag;
  char           *failed_sql;
  char           *backup_dir;
  MwBackup       *backup;         /* the last run's backup */
  char           *failed_aside;   /* where a failed, possibly changed database was kept */
  guint           failed_statement;
  guint           busy_timeout_ms;
  guint           step;           /* the run's step now (see count_steps()) */
  gpointer        run;            /* (RunContext *) the run in progress */
  guint           accept_modified : 1;
  guint           make_backup : 1;
  guint           verify : 1;
  guint           existed : 1;    /* the database file existed, with content, at the start */
};

G_DEFINE_FINAL_TYPE (MwMigrator, mw_migrator, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PROGRESS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
mw_migrator_finalize (GObject *object)
{
  MwMigrator *self = MW_MIGRATOR (object);

  g_clear_pointer (&self->database_path, g_free);
  g_clear_pointer (&self->target, g_free);
  g_clear_pointer (&self->applied, g_ptr_array_unref);
  g_clear_pointer (&self->violations, g_ptr_array_unref);
  g_clear_pointer (&self->failed_tag, g_free);
  g_clear_pointer (&self->failed_sql, g_free);
  g_clear_pointer (&self->backup_dir, g_free);
  g_clear_pointer (&self->backup, mw_backup_unref);
  g_clear_pointer (&self->failed_aside, g_free);
  g_clear_object (&self->set);
  g_clear_object (&self->progress);

  G_OBJECT_CLASS (mw_migrator_parent_class)->finalize (object);
}

static void
mw_migrator_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  MwMigrator *self = MW_MIGRATOR (object);

  switch (prop_id)
    {
    case PROP_PROGRESS:
      g_value_set_object (value, self->progress);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mw_migrator_class_init (MwMigratorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mw_migrator_finalize;
  object_class->get_property = mw_migrator_get_property;

  properties[PROP_PROGRESS] =
    g_param_spec_object ("progress", NULL, NULL,
                         MW_TYPE_PROGRESS,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
mw_migrator_init (MwMigrator *self)
{
  self->progress = mw_progress_new ();
  self->applied = g_ptr_array_new_with_free_func (g_free);
  self->violations = g_ptr_array_new_with_free_func (g_free);
  self->busy_timeout_ms = DEFAULT_BUSY_TIMEOUT_MS;
  self->make_backup = TRUE;
  self->verify = TRUE;
}

/* ---- the run ------------------------------------------------------------------------- */

typedef struct
{
  MwMigrator   *self;
  GCancellable *cancellable;
  /* A check's progress, estimated from SQLite's progress callbacks per page (as
   * mw-verify.c measures them): the checks report nothing else while they run. */
  gint64        ticks;
  double        ticks_expected;   /* 0: not in a check */
} RunContext;

/* quick_check and integrity_check: progress callbacks (every PROGRESS_HANDLER_OPS
 * operations) per page, measured on demo databases. */
#define TICKS_PER_PAGE_QUICK     0.045
#define TICKS_PER_PAGE_INTEGRITY 0.07

static int
progress_handler_cb (void *data)
{
  RunContext *ctx = data;

  if (ctx->ticks_expected > 0 && ctx->self->progress != NULL)
    {
      ctx->ticks++;
      mw_progress_set_fraction (ctx->self->progress,
                                MIN (0.99, (double) ctx->ticks / ctx->ticks_expected));
    }
  /* Non-zero makes SQLite abandon the statement with SQLITE_INTERRUPT. */
  return ctx->cancellable != NULL && g_cancellable_is_cancelled (ctx->cancellable) ? 1 : 0;
}

/* Steps of a run, said as "Step N of M" by the fronts: check, back up, update
 * (saving included), check again; only those this run does. */
static guint
count_steps (MwMigrator *self)
{
  return (self->verify ? 2 : 0) + (self->make_backup && self->existed ? 1 : 0) + 1;
}

static void
begin_step (MwMigrator *self,
            const char *message)
{
  if (self->progress == NULL)
    return;
  self->step++;
  mw_progress_set_step (self->progress, MIN (self->step, count_steps (self)),
                        count_steps (self), message);
}

static void
start_check_ticks (RunContext *ctx,
                   sqlite3    *db,
                   double      ticks_per_page)
{
  ctx->ticks = 0;
  ctx->ticks_expected = ticks_per_page * (double) MAX (1, mw_db_query_int (db, "PRAGMA page_count", 1));
}

static const char *
skip_blank (const char *sql)
{
  const char *p = sql;

  for (;;)
    {
      while (g_ascii_isspace (*p))
        p++;
      if (p[0] == '-' && p[1] == '-')
        {
          while (*p && *p != '\n')
            p++;
        }
      else if (p[0] == '/' && p[1] == '*')
        {
          const char *end = strstr (p + 2, "*/");

          if (end == NULL)
            return p + strlen (p);
          p = end + 2;
        }
      else
        return p;
    }
}

/* Statements that would end or escape the one transaction everything runs in. */
static gboolean
is_transaction_control (const char *piece)
{
  static const char *keywords[] = {
    "BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "ATTACH", "DETACH",
  };
  const char *p = skip_blank (piece);
  gsize len = 0;

  while (g_ascii_isalpha (p[len]))
    len++;
  for (guint i = 0; i < G_N_ELEMENTS (keywords); i++)
    if (len == strlen (keywords[i]) && g_ascii_strncasecmp (p, keywords[i], len) == 0)
      return TRUE;
  return FALSE;
}

static char *
excerpt (const char *sql)
{
  g_autofree char *copy = g_strstrip (g_strdup (skip_blank (sql)));

  if (g_utf8_strlen (copy, -1) > 200)
    {
      g_autofree char *cut = g_utf8_substring (copy, 0, 200);

      return g_strconcat (cut, "…", NULL);
    }
  return g_steal_pointer (&copy);
}

static gboolean
cancelled_error (GCancellable  *cancellable,
                 GError       **error)
{
  return g_cancellable_set_error_if_cancelled (cancellable, error);
}

static gboolean
run_piece (MwMigrator         *self,
           sqlite3            *db,
           const MwMigration  *migration,
           guint               piece_idx,
           GCancellable       *cancellable,
           GError            **error)
{
  const char *piece = g_ptr_array_index (migration->statements, piece_idx);
  sqlite3_stmt *stmt = NULL;
  const char *tail = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db, piece, -1, &stmt, &tail);
  if (rc == SQLITE_OK && stmt == NULL)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATION_FAILED,
                   _("Update “%s”, statement %u, is empty."), migration->tag, piece_idx + 1);
      return FALSE;
    }
  if (rc == SQLITE_OK && tail != NULL && !mw_sql_is_blank (tail))
    {
      sqlite3_finalize (stmt);
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATION_FAILED,
                   _("Update “%s”, statement %u, holds more than one SQL statement: a "
                   "“--> statement-breakpoint” is missing (the POS's driver rejects this "
                   "too). The migration must be fixed by its developers."),
                   migration->tag, piece_idx + 1);
      return FALSE;
    }

  if (rc == SQLITE_OK)
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      ;
  if (rc == SQLITE_DONE)
    rc = SQLITE_OK;
  sqlite3_finalize (stmt);

  if (rc != SQLITE_OK)
    {
      g_autofree char *doing = NULL;

      if ((rc & 0xff) == SQLITE_INTERRUPT && cancelled_error (cancellable, error))
        return FALSE;
      if ((rc & 0xff) == SQLITE_FULL)
        {
          /* The transaction is rolled back by SQLite itself: nothing is lost. */
          g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_NO_SPACE,
                       _("The disk became full while applying update “%s” (statement %u). "
                         "Nothing was changed: everything was rolled back. Free some disk "
                         "space on the database's disk and try again."),
                       migration->tag, piece_idx + 1);
          return FALSE;
        }
      doing = g_strdup_printf (_("Update “%s”, statement %u, failed"), migration->tag,
                               piece_idx + 1);
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED, doing);
      return FALSE;
    }

  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* Rows breaking a foreign key, counted per "child → parent" pair. */
static GHashTable *
count_fk_violations (sqlite3     *db,
                     GError     **error)
{
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db, "PRAGMA foreign_key_check", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      {
        g_autofree char *pair = g_strdup_printf ("%s → %s",
                                                 (const char *) sqlite3_column_text (stmt, 0),
                                                 (const char *) sqlite3_column_text (stmt, 2));
        guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, pair));

        g_hash_table_replace (counts, g_steal_pointer (&pair), GUINT_TO_POINTER (n + 1));
      }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED, "Checking foreign keys");
      return NULL;
    }
  return g_steal_pointer (&counts);
}

/* Only violations the updates add count: a shop whose database already had orphan rows
 * (reported by the preflight) must not be stuck forever. */
static gboolean
check_foreign_keys (MwMigrator  *self,
                    sqlite3     *db,
                    GHashTable  *baseline,
                    GError     **error)
{
  g_autoptr(GHashTable) counts = count_fk_violations (db, error);
  g_autoptr(GString) summary = g_string_new (NULL);
  GHashTableIter iter;
  gpointer key, value;
  guint64 total = 0;

  if (counts == NULL)
    return FALSE;

  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      guint before = baseline ? GPOINTER_TO_UINT (g_hash_table_lookup (baseline, key)) : 0;
      guint now = GPOINTER_TO_UINT (value);
      g_autofree char *line = NULL;

      if (now <= before)
        continue;
      line = g_strdup_printf ("%s: %u rows", (const char *) key, now - before);
      g_string_append_printf (summary, "%s%s", summary->len ? "; " : "", line);
      g_ptr_array_add (self->violations, g_steal_pointer (&line));
      total += now - before;
    }

  if (total == 0)
    return TRUE;

  g_ptr_array_sort (self->violations, compare_strings);
  g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION,
               _("The updates would leave %llu rows pointing at rows that do not exist (%s). "
                 "Nothing was changed: everything was rolled back."),
               (unsigned long long) total, summary->str);
  return FALSE;
}

/* Preflight, inside the transaction and before the backup: is the database sound
 * enough to update (quick_check, unless verifying is off), and is there room for the
 * backup and the update on each volume concerned. Foreign keys already broken are only
 * looked at if the final check finds any (see mw_migrator_run()). */
static gboolean
preflight (MwMigrator   *self,
           sqlite3      *db,
           RunContext   *ctx,
           GError      **error)
{
  g_autofree char *result = NULL;
  gboolean sound;

  if (!self->verify)
    goto space;

  begin_step (self, _("Checking the database before updating"));
  if (ctx != NULL)
    start_check_ticks (ctx, db, TICKS_PER_PAGE_QUICK);
  sound = mw_db_check_integrity (db, FALSE, 20, "; ", &result, NULL);
  if (ctx != NULL)
    ctx->ticks_expected = 0;
  if (!sound)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                   _("The database is damaged, so it was not updated (quick_check: %s). Nothing "
                   "was changed."), result && *result ? result : sqlite3_errmsg (db));
      return FALSE;
    }

space:
  return mw_space_check (self->database_path,
                         self->make_backup && self->existed ? self->backup_dir : NULL,
                         error);
}

static gboolean
refuse_for_state (MwMigrator  *self,
                  MwState      state,
                  GError     **error)
{
  switch (state)
    {
    case MW_STATE_NEWER:
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED,
                   _("The database was set up by a newer version of the app; this version "
                   "cannot update it. Install the latest app. Nothing was changed."));
      return TRUE;
    case MW_STATE_UNKNOWN_HISTORY:
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED,
                   _("The database records updates this app does not know. Nothing was "
                   "changed; contact support."));
      return TRUE;
    case MW_STATE_UNTRACKED:
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED,
                   _("The database has tables but no record of its updates. Nothing was "
                   "changed; contact support."));
      return TRUE;
    case MW_STATE_HASH_MISMATCH:
      if (self->accept_modified)
        return FALSE;
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED,
                   _("Updates already applied to the database have since been changed in the "
                   "app. Nothing was changed; restore a backup or contact support."));
      return TRUE;
    default:
      return FALSE;
    }
}

static void
remember_failure (MwMigrator        *self,
                  const MwMigration *migration,
                  guint              piece_idx)
{
  g_free (self->failed_tag);
  g_free (self->failed_sql);
  self->failed_tag = g_strdup (migration->tag);
  self->failed_statement = piece_idx + 1;
  self->failed_sql = piece_idx < migration->statements->len
                     ? excerpt (g_ptr_array_index (migration->statements, piece_idx))
                     : NULL;
}

static gboolean
apply_in_transaction (MwMigrator    *self,
                      sqlite3       *db,
                      GHashTable    *baseline,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GArray) states = g_array_new (FALSE, TRUE, sizeof (MwMigrationState));
  g_autoptr(GPtrArray) unknown = mw_applied_rows_new ();
  g_autoptr(GPtrArray) todo = g_ptr_array_new ();
  gboolean v1 = mw_migration_set_get_format (self->set) == MW_FOLDER_FORMAT_V1;
  const MwMigration *target = NULL;
  MwHistory history = { 0 };
  guint total = 0, done = 0;
  MwState state;

  if (self->target != NULL)
    {
      target = mw_migration_set_lookup_tag (self->set, self->target);
      if (target == NULL)
        {
          g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID,
                       _("There is no migration “%s” in %s."), self->target,
                       mw_migration_set_get_folder (self->set));
          return FALSE;
        }
    }

  if (!mw_history_read (db, &history, error))
    {
      mw_history_clear (&history);
      return FALSE;
    }
  mw_history_match (self->set, &history, states, unknown);
  state = mw_history_classify (self->set, &history, states, unknown);
  if (refuse_for_state (self, state, error))
    {
      mw_history_clear (&history);
      return FALSE;
    }

  for (guint i = 0; i < states->len; i++)
    {
      const MwMigrationState *s = &g_array_index (states, MwMigrationState, i);

      if (target != NULL && s->migration->idx > target->idx)
        break;
      if (s->status != MW_MIGRATION_STATUS_PENDING &&
          s->status != MW_MIGRATION_STATUS_OUT_OF_ORDER)
        continue;

      for (guint p = 0; p < s->migration->statements->len; p++)
        if (is_transaction_control (g_ptr_array_index (s->migration->statements, p)))
          {
            remember_failure (self, s->migration, p);
            g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATION_FAILED,
                         _("Update “%s”, statement %u, controls transactions itself (%s); it "
                         "cannot run safely inside the update's transaction. Nothing was "
                         "changed. The migration must be fixed by its developers."),
                         s->migration->tag, p + 1, self->failed_sql);
            mw_history_clear (&history);
            return FALSE;
          }

      g_ptr_array_add (todo, (gpointer) s->migration);
      total += s->migration->statements->len;
    }

  if (todo->len == 0)
    {
      mw_history_clear (&history);
      return TRUE;
    }

  if (!preflight (self, db, self->run, error))
    {
      mw_history_clear (&history);
      return FALSE;
    }

  /* The backup is taken here, while this connection holds the write lock and has not
   * written yet: another connection can read the database for the backup, and nobody
   * can write between the backup and the migration, so restoring it can never lose a
   * sale. */
  if (self->make_backup && self->existed && self->backup == NULL)
    {
      g_autoptr(GError) backup_error = NULL;

      begin_step (self, _("Making a backup of the database"));
      self->backup = mw_backup_create (self->database_path, self->backup_dir,
                                       MW_BACKUP_REASON_PRE_MIGRATION, self->set,
                                       self->progress, cancellable, &backup_error);
      if (self->backup == NULL)
        {
          mw_history_clear (&history);
          if (g_error_matches (backup_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_propagate_error (error, g_steal_pointer (&backup_error));
              return FALSE;
            }
          g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BACKUP_FAILED,
                       _("No verified backup could be made, so nothing was changed: %s"),
                       backup_error->message);
          return FALSE;
        }
    }

  if (!history.has_table)
    {
      if (!mw_db_exec (db, v1 ? MW_MIGRATIONS_TABLE_DDL_V1 : MW_MIGRATIONS_TABLE_DDL_JOURNAL,
                       error))
        {
          mw_history_clear (&history);
          return FALSE;
        }
    }
  else if (v1 && !history.has_name_column)
    {
      if (!mw_history_upgrade_to_v1 (db, states, error))
        {
          mw_history_clear (&history);
          return FALSE;
        }
    }
  mw_history_clear (&history);

  begin_step (self, _("Applying the updates"));
  for (guint m = 0; m < todo->len; m++)
    {
      const MwMigration *migration = g_ptr_array_index (todo, m);
      g_autofree char *message = g_strdup_printf (_("Applying update %u of %u: %s"),
                                                  m + 1, todo->len, migration->tag);

      mw_progress_update (self->progress, total ? (double) done / total : 0.0, message);

      for (guint p = 0; p < migration->statements->len; p++)
        {
          if (cancelled_error (cancellable, error) ||
              !run_piece (self, db, migration, p, cancellable, error))
            {
              remember_failure (self, migration, p);
              return FALSE;
            }
          done++;
          mw_progress_set_fraction (self->progress, (double) done / total);
        }

      if (!mw_history_record_applied (db, migration, v1, error))
        {
          remember_failure (self, migration, migration->statements->len);
          return FALSE;
        }
      g_ptr_array_add (self->applied, g_strdup (migration->tag));
    }

  mw_progress_update (self->progress, 1.0, _("Checking the database's links between tables"));
  return check_foreign_keys (self, db, baseline, error);
}

static void
reset_result (MwMigrator *self)
{
  g_ptr_array_set_size (self->applied, 0);
  g_ptr_array_set_size (self->violations, 0);
  g_clear_pointer (&self->failed_tag, g_free);
  g_clear_pointer (&self->failed_sql, g_free);
  g_clear_pointer (&self->backup, mw_backup_unref);
  g_clear_pointer (&self->failed_aside, g_free);
  self->failed_statement = 0;
}

/* After committing, the whole file is checked: what the migrations did must leave a
 * sound database. (Foreign keys were checked before the commit.) */
static gboolean
check_integrity (MwMigrator  *self,
                 sqlite3     *db,
                 GError     **error)
{
  g_autofree char *problems = NULL;
  g_autoptr(sqlite3) fresh = NULL;

  RunContext *ctx = self->run;
  gboolean sound;

  begin_step (self, _("Checking the whole database"));
  /* A connection of its own: it reads what is on disk now, schema included, not what
   * this connection has cached. */
  fresh = mw_db_open (self->database_path, SQLITE_OPEN_READONLY, self->busy_timeout_ms, NULL);
  if (fresh != NULL)
    db = fresh;
  if (ctx != NULL)
    {
      /* Not stoppable any more (the updates are saved): only its progress. */
      start_check_ticks (ctx, db, TICKS_PER_PAGE_INTEGRITY);
      ctx->cancellable = NULL;
      sqlite3_progress_handler (db, PROGRESS_HANDLER_OPS, progress_handler_cb, ctx);
    }
  sound = mw_db_check_integrity (db, TRUE, 20, "; ", &problems, NULL);
  if (ctx != NULL)
    {
      sqlite3_progress_handler (db, 0, NULL, NULL);
      ctx->ticks_expected = 0;
    }
  if (!sound)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CHECK_FAILED,
                   _("The updates were applied, but the database failed its integrity check "
                     "afterwards: %s."),
                   problems ? problems : sqlite3_errmsg (db));
      return FALSE;
    }
  return TRUE;
}

/* One attempt: the whole run, inside one transaction. */
static gboolean
run_once (MwMigrator    *self,
          GCancellable  *cancellable,
          GError       **error)
{
  g_autoptr(sqlite3) db = NULL;
  g_autoptr(GError) local_error = NULL;
  RunContext ctx = { self, cancellable, 0, 0 };
  int foreign_keys = 0;
  gboolean ok;

  reset_result (self);
  self->step = 0;
  self->run = &ctx;
  mw_progress_update (self->progress, 0.0, _("Opening the database"));
  {
    GStatBuf st;

    self->existed = g_stat (self->database_path, &st) == 0 && st.st_size > 0;
  }

  db = mw_db_open (self->database_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                   (int) self->busy_timeout_ms, error);
  if (db == NULL)
    return FALSE;

  foreign_keys = (int) mw_db_query_int (db, "PRAGMA foreign_keys", 0);
  /* Must happen outside the transaction to have any effect. */
  if (!mw_db_exec (db, "PRAGMA foreign_keys = OFF", error))
    return FALSE;

  sqlite3_progress_handler (db, PROGRESS_HANDLER_OPS, progress_handler_cb, &ctx);

  if (!mw_db_exec (db, "BEGIN IMMEDIATE", &local_error))
    {
      if (g_error_matches (local_error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED))
        g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED,
                     _("The database is in use by another program and could not be locked "
                     "within %.1f seconds. Close the POS app and try again. (%s)"),
                     self->busy_timeout_ms / 1000.0, local_error->message);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  ok = apply_in_transaction (self, db, NULL, cancellable, &local_error);
  if (!ok && g_error_matches (local_error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION))
    {
      g_autoptr(GHashTable) baseline = NULL;

      /* Were those rows already broken before the updates (written long ago with
       * foreign keys off)? Only new violations may block a shop; finding out costs a
       * second pass, so it is done only in this rare case. */
      mw_db_exec (db, "ROLLBACK", NULL);
      g_ptr_array_set_size (self->applied, 0);
      baseline = count_fk_violations (db, NULL);
      if (baseline != NULL && g_hash_table_size (baseline) > 0 &&
          mw_db_exec (db, "BEGIN IMMEDIATE", NULL))
        {
          g_clear_error (&local_error);
          g_ptr_array_set_size (self->violations, 0);
          ok = apply_in_transaction (self, db, baseline, cancellable, &local_error);
        }
    }
  if (ok)
    {
      /* From here on a cancel could not undo anything: say so. */
      mw_progress_set_cancellable (self->progress, FALSE);
      mw_progress_update (self->progress, 1.0, _("Saving"));
      ok = mw_db_exec (db, "COMMIT", &local_error);
    }
  if (!ok)
    {
      g_ptr_array_set_size (self->applied, 0);
      /* ROLLBACK fails only when SQLite already rolled back (e.g. SQLITE_FULL). */
      if (!sqlite3_get_autocommit (db))
        mw_db_exec (db, "ROLLBACK", NULL);
    }

  sqlite3_progress_handler (db, 0, NULL, NULL);
  if (foreign_keys)
    mw_db_exec (db, "PRAGMA foreign_keys = ON", NULL);

  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (self->verify && self->applied->len > 0 && !check_integrity (self, db, error))
    return FALSE;

  mw_progress_update (self->progress, 1.0,
                      self->applied->len ? _("All updates applied") : _("Nothing to do"));
  mw_progress_flush (self->progress);
  return TRUE;
}

/* Whether a failed run may have left the database other than it was before: the
 * check after committing failed, or the file no longer passes quick_check (which it
 * did before the backup). A clean rollback leaves it exactly as the backup has it. */
static gboolean
may_be_changed (MwMigrator   *self,
                const GError *error)
{
  g_autoptr(GError) check_error = NULL;
  g_autoptr(MwVerifyReport) report = NULL;

  if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CHECK_FAILED))
    return TRUE;
  if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FALSE;
  report = mw_verify (self->database_path, FALSE, NULL, NULL, &check_error);
  return g_error_matches (check_error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT);
}

/**
 * mw_migrator_run:
 *
 * Applies every pending migration (out-of-order ones included) in one transaction, or
 * nothing. Blocks; may be called from any thread, one run at a time per migrator.
 * Creates the database if it does not exist. A database busy beyond the busy timeout
 * (the POS still closing) is tried again up to 3 times, waiting longer each time; a
 * failure of any other kind is final.
 *
 * Returns: %TRUE on success (also when there was nothing to do); %FALSE with @error
 *   set, and the database exactly as it was
 */
gboolean
mw_migrator_run (MwMigrator    *self,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (MW_IS_MIGRATOR (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint attempt = 1; ; attempt++)
    {
      g_clear_error (&local_error);
      mw_progress_set_cancellable (self->progress, TRUE);
      gboolean done = run_once (self, cancellable, &local_error);

      /* run_once()'s context lived on its stack. */
      self->run = NULL;
      if (done)
        return TRUE;
      if (attempt > 3 || !g_error_matches (local_error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED))
        break;

      mw_progress_update (self->progress, 0.0,
                          _("The database is busy; trying again in a moment"));
      /* 0.5 s, 1 s, 2 s; a cancel ends the wait at once. */
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      g_usleep (G_USEC_PER_SEC / 2 * (1u << (attempt - 1)));
    }

  /* Any failure after the backup that may have left the database changed: keep it
   * aside, put the verified backup back. */
  if (self->backup != NULL && may_be_changed (self, local_error))
    {
      g_autoptr(GError) restore_error = NULL;
      g_autofree char *message = NULL;

      if (mw_restore_after_failure (self->database_path, self->backup, self->progress,
                                    &self->failed_aside, &restore_error))
        message = g_strdup_printf (_("%s The database as the failed update left it is kept as "
                                     "%s; the backup %s, made just before, was restored."),
                                   local_error->message, self->failed_aside, self->backup->path);
      else
        message = g_strdup_printf (_("%s Putting back the backup %s failed too (%s): restore it "
                                     "from the backups."),
                                   local_error->message, self->backup->path,
                                   restore_error->message);
      g_free (local_error->message);
      local_error->message = g_steal_pointer (&message);
    }
  else if (self->backup != NULL && g_error_matches (local_error, MW_ENGINE_ERROR,
                                                    MW_ENGINE_ERROR_MIGRATION_FAILED))
    {
      g_autofree char *message = g_strdup_printf (_("%s The backup made just before is %s."),
                                                  local_error->message, self->backup->path);

      g_free (local_error->message);
      local_error->message = g_steal_pointer (&message);
    }

  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  GError *error = NULL;

  mw_thread_run_in_background ();
  if (mw_migrator_run (source_object, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * mw_migrator_run_async:
 *
 * Runs mw_migrator_run() in a worker thread. Progress is reported through
 * mw_migrator_get_progress() in the caller's main context.
 */
void
mw_migrator_run_async (MwMigrator          *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (MW_IS_MIGRATOR (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mw_migrator_run_async);
  /* The outcome is decided by the database, not by whether the caller still waits. */
  g_task_set_return_on_cancel (task, FALSE);
  g_task_run_in_thread (task, run_thread);
}

gboolean
mw_migrator_run_finish (MwMigrator    *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * mw_migrator_new:
 *
 * Returns: (transfer full): a migrator for @database_path with the migrations of @set
 */
MwMigrator *
mw_migrator_new (const char     *database_path,
                 MwMigrationSet *set)
{
  MwMigrator *self;

  g_return_val_if_fail (database_path != NULL, NULL);
  g_return_val_if_fail (MW_IS_MIGRATION_SET (set), NULL);

  self = g_object_new (MW_TYPE_MIGRATOR, NULL);
  self->database_path = g_strdup (database_path);
  self->set = g_object_ref (set);
  return self;
}

/**
 * mw_migrator_set_target:
 * @tag: (nullable): the last migration to apply, or %NULL for all
 *
 * Stops after @tag: used to build databases at an older level (demo data, tests).
 */
void
mw_migrator_set_target (MwMigrator *self,
                        const char *tag)
{
  g_return_if_fail (MW_IS_MIGRATOR (self));
  g_free (self->target);
  self->target = g_strdup (tag);
}

void
mw_migrator_set_busy_timeout (MwMigrator *self,
                              guint       milliseconds)
{
  g_return_if_fail (MW_IS_MIGRATOR (self));
  self->busy_timeout_ms = milliseconds;
}

/**
 * mw_migrator_set_accept_modified:
 *
 * Lets a technician apply pending migrations although applied ones changed since.
 */
void
mw_migrator_set_accept_modified (MwMigrator *self,
                                 gboolean    accept_modified)
{
  g_return_if_fail (MW_IS_MIGRATOR (self));
  self->accept_modified = !!accept_modified;
}

/**
 * mw_migrator_get_progress:
 *
 * Returns: (transfer none): the progress of the current or last run
 */
MwProgress *
mw_migrator_get_progress (MwMigrator *self)
{
  g_return_val_if_fail (MW_IS_MIGRATOR (self), NULL);
  return self->progress;
}

/**
 * mw_migrator_get_applied:
 *
 * Returns: (transfer none) (element-type utf8): the tags the last successful run applied
 */
GPtrArray *
mw_migrator_get_applied (MwMigrator *self)
{
  g_return_val_if_fail (MW_IS_MIGRATOR (self), NULL);
  return self->applied;
}

/**
 * mw_migrator_get_failed_aside:
 *
 * Returns: (nullable): where the last run kept a database it may have left changed
 *   (`<db>.failed.YYYYMMDD-HHMMSS`) when it put the backup back; %NULL otherwise
 */
const char *
mw_migrator_get_failed_aside (MwMigrator *self)
{
  g_return_val_if_fail (MW_IS_MIGRATOR (self), NULL);
  return self->failed_aside;
}

/**
 * mw_migrator_get_failed_tag:
 *
 * Returns: (nullable): the migration the last run failed in
 */
const char *
mw_migrator_get_failed_tag (MwMigrator *self)
{
  g_return_val_if_fail (MW_IS_MIGRATOR (self), NULL);
  return self->failed_tag;
}

/**
 * mw_migrator_get_failed_statement:
 *
 * Returns: the 1-based statement the last run failed at; past the last statement
 *   when recording the migration failed; 0 when nothing failed
 */
guint
mw_migrator_get_failed_statement (MwMigrator *self)
{
  g_return_val_if_fail (MW_IS_MIGRATOR (self), 0);
  return self->failed_statement;
}

/**
 * mw_migrator_get_failed_sql:
 *
 * Returns: (nullable): the start of the failing statement's text
 */
const char *
mw_migrator_get_failed_sql (MwMigrator *self)
{
  g_return_val_if_fail (MW_IS_MIGRATOR (self), NULL);
  return self->failed_sql;
}

/**
 * mw_migrator_get_violations:
 *
 * Returns: (transfer none) (element-type utf8): "child → parent: N rows" for each
 *   foreign key the last run would have broken
 */
GPtrArray *
mw_migrator_get_violations (MwMigrator *self)
{
  g_return_val_if_fail (MW_IS_MIGRATOR (self), NULL);
  return self->violations;
}

/**
 * mw_migrator_set_backup:
 * @backup_dir: (nullable): where; default `backups/` beside the database
 *
 * Whether a verified backup is made before anything changes (the default), when there
 * is something to apply to an existing database.
 */
void
mw_migrator_set_backup (MwMigrator *self,
                        gboolean    make_backup,
                        const char *backup_dir)
{
  g_return_if_fail (MW_IS_MIGRATOR (self));
  self->make_backup = !!make_backup;
  g_free (self->backup_dir);
  self->backup_dir = g_strdup (backup_dir);
}

/**
 * mw_migrator_set_verify:
 *
 * Whether the whole database is checked (`integrity_check`) after committing (the
 * default).
 */
void
mw_migrator_set_verify (MwMigrator *self,
                        gboolean    verify)
{
  g_return_if_fail (MW_IS_MIGRATOR (self));
  self->verify = !!verify;
}

/**
 * mw_migrator_get_backup:
 *
 * Returns: (transfer none) (nullable): the backup the last run made
 */
MwBackup *
mw_migrator_get_backup (MwMigrator *self)
{
  g_return_val_if_fail (MW_IS_MIGRATOR (self), NULL);
  return self->backup;
}

/**
 * mw_migrator_set_progress:
 * @progress: the caller's progress object
 *
 * Reports the runs' progress on @progress (which a window may already be bound to)
 * instead of the migrator's own.
 */
void
mw_migrator_set_progress (MwMigrator *self,
                          MwProgress *progress)
{
  g_return_if_fail (MW_IS_MIGRATOR (self));
  g_return_if_fail (MW_IS_PROGRESS (progress));

  if (g_set_object (&self->progress, progress))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
}

/**
 * mw_migrator_failure_to_text:
 * @error: how the last run failed
 * @database_path: (nullable): the database to name
 *
 * The failure for a technician, beside the error's own message (which a remedy
 * already says): the migration and the (1-based) statement it failed at, the statement's text, the foreign keys it would have
 * broken, the backup made before. The window's details and the command line both
 * print this.
 *
 * Returns: (transfer full): the text, one fact per line
 */
char *
mw_migrator_failure_to_text (MwMigrator   *self,
                             const GError *error,
                             const char   *database_path)
{
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (MW_IS_MIGRATOR (self), NULL);
  g_return_val_if_fail (error != NULL, NULL);

  if (self->failed_tag != NULL)
    g_string_append_printf (text, _("Migration: %s, statement %u\n"), self->failed_tag,
                            self->failed_statement);
  if (self->failed_sql != NULL)
    g_string_append_printf (text, _("Statement: %s\n"), self->failed_sql);
  for (guint i = 0; i < self->violations->len; i++)
    g_string_append_printf (text, "%s\n", (const char *) g_ptr_array_index (self->violations, i));
  if (self->backup != NULL)
    g_string_append_printf (text, _("Backup made before: %s\n"), self->backup->path);
  if (database_path != NULL)
    g_string_append_printf (text, _("Database: %s\n"), database_path);
  return g_string_free (text, FALSE);
}

/**
 * mw_migrator_failure_to_json:
 *
 * Adds the failure as one object (`migrate --json`'s `error`): message, migration,
 * statement (1-based), sql, violations, and where a database the failed update may
 * have changed was kept, with the backup put back in its place.
 */
void
mw_migrator_failure_to_json (MwMigrator   *self,
                             const GError *error,
                             JsonBuilder  *builder)
{
  g_return_if_fail (MW_IS_MIGRATOR (self));
  g_return_if_fail (error != NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, error->message);
  if (self->failed_tag != NULL)
    {
      json_builder_set_member_name (builder, "migration");
      json_builder_add_string_value (builder, self->failed_tag);
      json_builder_set_member_name (builder, "statement");
      json_builder_add_int_value (builder, self->failed_statement);
      if (self->failed_sql != NULL)
        {
          json_builder_set_member_name (builder, "sql");
          json_builder_add_string_value (builder, self->failed_sql);
        }
    }
  if (self->violations->len > 0)
    {
      json_builder_set_member_name (builder, "violations");
      json_builder_begin_array (builder);
      for (guint i = 0; i < self->violations->len; i++)
        json_builder_add_string_value (builder, g_ptr_array_index (self->violations, i));
      json_builder_end_array (builder);
    }
  if (self->failed_aside != NULL && self->backup != NULL)
    {
      json_builder_set_member_name (builder, "failed_aside");
      json_builder_add_string_value (builder, self->failed_aside);
      json_builder_set_member_name (builder, "restored_from");
      json_builder_add_string_value (builder, self->backup->path);
    }
  json_builder_end_object (builder);
}
