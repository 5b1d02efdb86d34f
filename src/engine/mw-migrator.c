/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-migrator"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mw-backup-private.h"
#include "mw-db-private.h"
#include "mw-diagnosis.h"
#include "mw-error.h"
#include "mw-fs-private.h"
#include "mw-history-private.h"
#include "mw-migrator.h"
#include "mw-fk-guard-private.h"
#include "mw-schema.h"
#include "mw-rehearsal-private.h"
#include "mw-restore.h"
#include "mw-verify.h"
#include "mw-thread-private.h"
#include "mw-ticker-private.h"

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
 *  - the pending migrations are rehearsed first on a copy of the schema
 *    (mw-rehearsal.c): a statement that would end our transaction (BEGIN, COMMIT, ...),
 *    a piece holding two statements, or one that fails to prepare as better-sqlite3
 *    (the POS's driver) would fail it, is refused before the backup and before
 *    anything runs, instead of being half-run as sql.js would;
 *  - a first run that fails leaves no database behind: the file SQLite created is
 *    removed again while it is still empty.
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
  int             restamp_level;  /* -1: the history is read as it is */
  GHashTable     *written;        /* tables the run's statements wrote (the authorizer) */
  GHashTable     *keys_touched;   /* …that may have lost a row or a key value (see below) */
  GHashTable     *updated;        /* table → (set of) columns an UPDATE set */
  GHashTable     *rows_written;   /* tables whose own links may now point at nothing */
  MwFkGuard      *fk_guard;       /* the run's: parents' keys, children's links */
  GPtrArray      *fk_checked;     /* (element-type utf8) the children the run checked */
  gboolean        stepping;       /* a statement runs (the authorizer: too late to copy keys) */
  const char     *preparing;      /* the statement SQLite is preparing, for the authorizer */
  GPtrArray      *replaced_rows;  /* (element-type utf8) history rows a re-stamp replaced */
  guint           step;           /* the run's step now (see count_steps()) */
  guint           accept_modified : 1;
  guint           make_backup : 1;
  guint           verify : 1;
  guint           full_checks : 1; /* whole-database checks, not only what the updates wrote */
  guint           existed : 1;    /* the database file existed, with content, at the start */
  guint           created : 1;    /* there was no file at all: this run's SQLite made it */
  guint           table_changed : 1; /* the last run created or upgraded the history table */
  dev_t           created_dev;    /* …and which file that was */
  ino_t           created_ino;
};

G_DEFINE_FINAL_TYPE (MwMigrator, mw_migrator, G_TYPE_OBJECT)

/* SQLite's names are case-insensitive (ASCII): "TILLS" in a child's REFERENCES is the
 * table "tills" an update wrote. The written tables are looked up that way. */
static guint
name_hash (gconstpointer key)
{
  g_autofree char *lower = g_ascii_strdown (key, -1);

  return g_str_hash (lower);
}

static gboolean
name_equal (gconstpointer a,
            gconstpointer b)
{
  return g_ascii_strcasecmp (a, b) == 0;
}

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
  g_clear_pointer (&self->replaced_rows, g_ptr_array_unref);
  g_clear_pointer (&self->written, g_hash_table_unref);
  g_clear_pointer (&self->keys_touched, g_hash_table_unref);
  g_clear_pointer (&self->updated, g_hash_table_unref);
  g_clear_pointer (&self->rows_written, g_hash_table_unref);
  g_clear_pointer (&self->fk_guard, mw_fk_guard_free);
  g_clear_pointer (&self->fk_checked, g_ptr_array_unref);
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
  self->violations = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  self->busy_timeout_ms = DEFAULT_BUSY_TIMEOUT_MS;
  self->restamp_level = -1;
  self->written = g_hash_table_new_full (name_hash, name_equal, g_free, NULL);
  self->keys_touched = g_hash_table_new_full (name_hash, name_equal, g_free, NULL);
  self->rows_written = g_hash_table_new_full (name_hash, name_equal, g_free, NULL);
  self->updated = g_hash_table_new_full (name_hash, name_equal, g_free,
                                         (GDestroyNotify) g_hash_table_unref);
  self->replaced_rows = g_ptr_array_new_with_free_func (g_free);
  self->make_backup = TRUE;
  self->verify = TRUE;
}

/* ---- the run ------------------------------------------------------------------------- */

static int
progress_handler_cb (void *data)
{
  GCancellable *cancellable = data;

  /* Non-zero makes SQLite abandon the statement with SQLITE_INTERRUPT. */
  return g_cancellable_is_cancelled (cancellable) ? 1 : 0;
}

/* The run's own progress handler only watches for a cancel; a check installs a
 * ticker (progress and cancel) for its time, then puts this one back. */
static void
watch_for_cancel (sqlite3      *db,
                  GCancellable *cancellable)
{
  sqlite3_progress_handler (db, PROGRESS_HANDLER_OPS, progress_handler_cb, cancellable);
}

/* SQLite's check of the whole file on @db (quick_check, or @full integrity_check),
 * with progress under @message; as mw_db_check_integrity(). The caller puts its own
 * progress handler back afterwards. */
static gboolean
check_file_with_progress (MwMigrator    *self,
                          sqlite3       *db,
                          gboolean       full,
                          const char    *message,
                          GCancellable  *cancellable,
                          char         **out_problems,
                          int           *out_rc)
{
  g_autoptr(MwTicker) ticker = mw_ticker_new (self->progress, cancellable);
  gboolean ok;

  mw_ticker_restart (ticker, message);
  mw_ticker_expect_file_check (ticker, db, full);
  mw_ticker_install (ticker, db);
  ok = mw_db_check_integrity (db, full, 20, "; ", out_problems, out_rc);
  sqlite3_progress_handler (db, 0, NULL, NULL);
  return ok;
}

/* Steps of a run, said as "Step N of M" by the fronts: check, back up, update
 * (saving included), check again; only those this run does. */
static guint
count_steps (MwMigrator *self)
{
  gboolean backup = self->make_backup && self->existed;

  /* The preflight check is the backup's own when there is one (see preflight()). */
  return (self->verify && !backup ? 1 : 0) + (backup ? 1 : 0) + 1 + (self->verify ? 1 : 0);
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

  /* For the authorizer, which SQLite also calls when it prepares the statement again
   * in sqlite3_step() (after a schema change). */
  self->preparing = piece;
  rc = sqlite3_prepare_v2 (db, piece, -1, &stmt, &tail);
  if (rc == SQLITE_OK && stmt == NULL)
    {
      self->preparing = NULL;
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATION_FAILED,
                   _("Update “%s”, statement %u, is empty."), migration->tag, piece_idx + 1);
      return FALSE;
    }
  if (rc == SQLITE_OK && tail != NULL && !mw_sql_is_blank (tail))
    {
      self->preparing = NULL;
      sqlite3_finalize (stmt);
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATION_FAILED,
                   _("Update “%s”, statement %u, holds more than one SQL statement: a "
                   "“--> statement-breakpoint” is missing (the POS's driver rejects this "
                   "too). The migration must be fixed by its developers."),
                   migration->tag, piece_idx + 1);
      return FALSE;
    }

  /* The keys of the parents this statement may take keys from, before it runs. */
  if (rc == SQLITE_OK && self->fk_guard != NULL)
    mw_fk_guard_take_snapshots (self->fk_guard, db);
  self->stepping = TRUE;
  if (rc == SQLITE_OK)
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      ;
  self->stepping = FALSE;
  if (rc == SQLITE_DONE)
    rc = SQLITE_OK;
  sqlite3_finalize (stmt);
  self->preparing = NULL;

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

/* ---- what the updates touched ----------------------------------------------------------
 *
 * SQLite's authorizer reports every table each statement writes as SQLite prepares it
 * (triggers included). Three things are kept, each table's name ASCII-lowercased, as
 * SQLite compares names:
 *
 *  - written: tables whose rows or definition changed. Their own foreign keys are
 *    checked (a row inserted or changed, a column added with REFERENCES), and their
 *    integrity after committing.
 *  - keys_touched: tables that may have lost a row or a key value a child points at:
 *    DELETE, DROP TABLE (a rebuild drops the old table), INSERT (OR REPLACE, or a
 *    constraint's ON CONFLICT REPLACE, deletes the row it collides with), DROP INDEX
 *    (a parent key needs its unique index), ALTER TABLE other than ADD COLUMN (a
 *    rename). Every table pointing at one is checked.
 *  - updated: the columns an UPDATE set (UPSERTs too). A child is checked when one of
 *    them is a key it points at, or belongs to a unique index of the parent (UPDATE OR
 *    REPLACE deletes the row it collides with), or when the parent has generated
 *    columns, a unique index on an expression or a partial one (what they depend on
 *    is not followed).
 *
 * A child none of this applies to kept every row and every parent row it pointed at:
 * it cannot have gained a violation, and foreign_key_check() of it, which costs a
 * lookup per row and key, is not run. (The database was proven sound before the
 * update by the backup's check; with full-checks every table is checked.) */

static gboolean
is_name_char (char c)
{
  return g_ascii_isalnum (c) || c == '_' || c == '$' || (guchar) c >= 0x80;
}

/* Moves past @keyword (any case) at *@p, if it is there as a whole word. */
static gboolean
skip_keyword (const char **p,
              const char  *keyword)
{
  gsize n = strlen (keyword);

  if (g_ascii_strncasecmp (*p, keyword, n) != 0 || is_name_char ((*p)[n]))
    return FALSE;
  *p += n;
  return TRUE;
}

/* Moves past one name at *@p: bare, "quoted", `quoted` or [quoted]. */
static gboolean
skip_name (const char **p)
{
  const char *q = *p;
  char close = *q == '"' ? '"' : *q == '`' ? '`' : *q == '[' ? ']' : 0;

  if (close != 0)
    {
      for (q++; *q; q++)
        if (*q == close)
          {
            /* A doubled quote is one quote in the name; ] cannot be doubled. */
            if (close != ']' && q[1] == close)
              q++;
            else
              break;
          }
      if (*q != close)
        return FALSE;
      *p = q + 1;
      return TRUE;
    }
  while (is_name_char (*q))
    q++;
  if (q == *p)
    return FALSE;
  *p = q;
  return TRUE;
}

/* "ALTER TABLE [schema.]name ADD …": the one ALTER TABLE that changes no row, no key
 * and no name. */
static gboolean
is_add_column (const char *sql)
{
  const char *p = skip_blank (sql);

  if (!skip_keyword (&p, "ALTER"))
    return FALSE;
  p = skip_blank (p);
  if (!skip_keyword (&p, "TABLE"))
    return FALSE;
  p = skip_blank (p);
  if (!skip_name (&p))
    return FALSE;
  p = skip_blank (p);
  if (*p == '.')
    {
      p = skip_blank (p + 1);
      if (!skip_name (&p))
        return FALSE;
      p = skip_blank (p);
    }
  return skip_keyword (&p, "ADD");
}

static void
add_name (GHashTable *set,
          const char *name)
{
  g_hash_table_add (set, g_ascii_strdown (name, -1));
}

static int
authorizer_cb (void       *data,
               int         action,
               const char *arg1,
               const char *arg2,
               const char *database,
               const char *trigger)
{
  MwMigrator *self = data;
  const char *history = mw_migration_set_get_table (self->set);
  const char *table = NULL;
  gboolean touches_keys = FALSE;
  gboolean rows_written = FALSE;

  /* The guard's own temporary tables. */
  if (self->fk_guard != NULL && mw_fk_guard_is_snapshotting (self->fk_guard))
    return SQLITE_OK;

  switch (action)
    {
    case SQLITE_INSERT:
    case SQLITE_DROP_TABLE:
      touches_keys = rows_written = TRUE;
      table = arg1;
      break;
    case SQLITE_DELETE:
      touches_keys = TRUE;
      table = arg1;
      break;
    case SQLITE_CREATE_TABLE:
      rows_written = TRUE;
      table = arg1;
      break;
    case SQLITE_UPDATE:
      table = arg1;
      break;
    case SQLITE_DROP_INDEX:
      touches_keys = TRUE;
      table = arg2;
      break;
    case SQLITE_ALTER_TABLE:
      touches_keys = rows_written = self->preparing == NULL || !is_add_column (self->preparing);
      table = arg2;
      break;
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_DROP_TRIGGER:
      table = arg2;
      break;
    default:
      break;
    }
  if (table == NULL || g_ascii_strncasecmp (table, "sqlite_", 7) == 0 ||
      g_ascii_strcasecmp (table, history ? history : "__drizzle_migrations") == 0)
    return SQLITE_OK;

  add_name (self->written, table);
  if (rows_written)
    add_name (self->rows_written, table);
  if (touches_keys)
    {
      add_name (self->keys_touched, table);
      if (self->fk_guard != NULL)
        mw_fk_guard_parent_touched (self->fk_guard, table, self->stepping);
    }
  if (action == SQLITE_UPDATE && arg2 != NULL)
    {
      g_autofree char *key = g_ascii_strdown (table, -1);
      GHashTable *columns = g_hash_table_lookup (self->updated, key);

      if (columns == NULL)
        {
          columns = g_hash_table_new_full (name_hash, name_equal, g_free, NULL);
          g_hash_table_insert (self->updated, g_steal_pointer (&key), columns);
        }
      add_name (columns, arg2);
    }
  return SQLITE_OK;
}

static gboolean
contains_name (GHashTable *set,
               const char *name)
{
  g_autofree char *key = name ? g_ascii_strdown (name, -1) : NULL;

  return key != NULL && g_hash_table_contains (set, key);
}

/* Whether an UPDATE of @parent may have changed a key its children point at
 * (@to: the column a foreign key names, NULL for the primary key), or deleted a
 * row through OR REPLACE. */
static gboolean
update_touches_keys (sqlite3    *db,
                     const char *parent,
                     const char *to,
                     GHashTable *columns)
{
  sqlite3_stmt *stmt = NULL;
  gboolean touches = FALSE;
  char *sql;

  if (g_hash_table_contains (columns, "rowid") || (to != NULL && contains_name (columns, to)))
    return TRUE;

  /* The primary key (when the foreign key names no column), the columns of every
   * unique index; anything not followed column by column counts as touched. */
  sql = sqlite3_mprintf ("SELECT 1 FROM pragma_table_xinfo(%Q) WHERE hidden IN (2, 3) "
                         "UNION ALL SELECT 2 FROM pragma_index_list(%Q) WHERE \"unique\" AND partial "
                         "UNION ALL SELECT 3 FROM pragma_index_list(%Q) l, "
                         "pragma_index_xinfo(l.name) x WHERE l.\"unique\" AND x.key AND x.cid = -2",
                         parent, parent, parent);
  /* Any row, or a failing query, counts as touched. */
  touches = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK ||
            sqlite3_step (stmt) != SQLITE_DONE;
  sqlite3_finalize (stmt);
  stmt = NULL;
  sqlite3_free (sql);
  if (touches)
    return TRUE;

  sql = sqlite3_mprintf ("SELECT name FROM pragma_table_info(%Q) WHERE pk > 0 AND %d "
                         "UNION ALL SELECT x.name FROM pragma_index_list(%Q) l, "
                         "pragma_index_xinfo(l.name) x WHERE l.\"unique\" AND x.key",
                         parent, to == NULL, parent);
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    touches = TRUE;
  else
    {
      int rc;

      while (!touches && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
        touches = contains_name (columns, (const char *) sqlite3_column_text (stmt, 0));
      touches = touches || rc != SQLITE_DONE;
    }
  sqlite3_finalize (stmt);
  sqlite3_free (sql);
  return touches;
}

/* Whether @child's own rows may now point at nothing: rows inserted, a table made,
 * dropped or rebuilt, an UPDATE that set a column pointing at a parent, or links
 * that changed (a column added with REFERENCES, a parent's rename). */
static gboolean
own_links_touched (MwMigrator *self,
                   sqlite3    *db,
                   const char *child)
{
  g_autofree char *key = g_ascii_strdown (child, -1);
  GHashTable *columns = g_hash_table_lookup (self->updated, key);

  if (self->fk_guard == NULL)
    return contains_name (self->written, child);
  if (contains_name (self->rows_written, child))
    return TRUE;
  if (columns != NULL)
    {
      GHashTableIter iter;
      gpointer column;

      g_hash_table_iter_init (&iter, columns);
      while (g_hash_table_iter_next (&iter, &column, NULL))
        if (mw_fk_guard_is_link_column (self->fk_guard, child, column))
          return TRUE;
    }
  return mw_fk_guard_links_changed (self->fk_guard, db, child);
}

/* The tables whose rows can point at a row that is gone after these updates: those
 * whose own links the updates touched, and those with a foreign key into a table
 * that may have lost a row or a key value (see above) — unless the guard proved that
 * parent kept every key it had (mw-fk-guard.c). Tables without foreign keys have
 * nothing to check. */
static GPtrArray *
tables_to_check (MwMigrator *self,
                 sqlite3    *db)
{
  g_autoptr(GHashTable) checked = g_hash_table_new_full (name_hash, name_equal, g_free, NULL);
  GPtrArray *tables = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *last = NULL;
  gboolean own = FALSE;
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT m.name, f.\"table\", f.\"to\" FROM sqlite_schema m "
                              "JOIN pragma_foreign_key_list(m.name) f WHERE "
                              "m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
                          -1, &stmt, NULL) != SQLITE_OK)
    return tables;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 0);
      const char *parent = (const char *) sqlite3_column_text (stmt, 1);
      const char *to = (const char *) sqlite3_column_text (stmt, 2);
      g_autofree char *parent_key = parent ? g_ascii_strdown (parent, -1) : NULL;
      GHashTable *columns = parent_key ? g_hash_table_lookup (self->updated, parent_key) : NULL;
      gboolean check;

      if (contains_name (checked, name))
        continue;
      if (g_strcmp0 (last, name) != 0)
        {
          g_free (last);
          last = g_strdup (name);
          own = own_links_touched (self, db, name);
        }
      check = own ||
              (parent != NULL && contains_name (self->keys_touched, parent) &&
               (self->fk_guard == NULL ||
                !mw_fk_guard_parent_kept_keys (self->fk_guard, db, parent))) ||
              (columns != NULL && update_touches_keys (db, parent, to, columns));
      if (check)
        {
          add_name (checked, name);
          g_ptr_array_add (tables, g_strdup (name));
        }
    }
  sqlite3_finalize (stmt);
  return tables;
}

/* The work a check does on @table, in the progress handler's calls: its rows (its
 * largest rowid: one b-tree descent, where count(*) would read the table) times the
 * b-trees an integrity_check walks (the table and its indexes) or the foreign keys a
 * foreign_key_check follows. */
static double
estimate_ticks (sqlite3    *db,
                const char *table,
                gboolean    foreign_keys)
{
  g_autofree char *quoted = mw_db_quote_identifier (table);
  g_autofree char *rows_sql = g_strdup_printf ("SELECT max(rowid) FROM %s", quoted);
  char *per_row_sql = foreign_keys
    ? sqlite3_mprintf ("SELECT count(DISTINCT id) FROM pragma_foreign_key_list(%Q)", table)
    : sqlite3_mprintf ("SELECT 1 + count(*) FROM pragma_index_list(%Q)", table);
  /* WITHOUT ROWID tables have no rowid: a middling guess. */
  gint64 rows = MAX (mw_db_query_int (db, rows_sql, 10000), 1);
  gint64 per_row = MAX (mw_db_query_int (db, per_row_sql, 1), 1);

  sqlite3_free (per_row_sql);
  return (double) rows * per_row * (foreign_keys ? MW_TICKS_PER_ROW_AND_KEY
                                                 : MW_TICKS_PER_ROW_AND_TREE);
}

/* "child → parent" → rows, for @tables (NULL: the whole database); the progress on
 * @ticker (nullable), each table's share of the bar by its estimated work. */
static GHashTable *
count_fk_violations (sqlite3     *db,
                     GPtrArray   *tables,
                     MwTicker    *ticker,
                     GError     **error)
{
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GArray) work = g_array_new (FALSE, TRUE, sizeof (double));
  guint n = tables ? tables->len : 1;
  double total = 0.0, before = 0.0;

  for (guint i = 0; ticker != NULL && i < n; i++)
    {
      double w = tables ? estimate_ticks (db, g_ptr_array_index (tables, i), TRUE)
                        : mw_db_query_int (db, "PRAGMA page_count", 1) * MW_TICKS_PER_PAGE_FK;

      g_array_append_val (work, w);
      total += w;
    }

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *quoted = tables ? mw_db_quote_identifier (g_ptr_array_index (tables, i))
                                       : NULL;
      g_autofree char *sql = quoted ? g_strdup_printf ("PRAGMA foreign_key_check(%s)", quoted)
                                    : g_strdup ("PRAGMA foreign_key_check");
      sqlite3_stmt *stmt = NULL;
      int rc;

      if (ticker != NULL)
        {
          double w = g_array_index (work, double, i);

          mw_ticker_phase (ticker, NULL, before / total, (before + w) / total, w);
          before += w;
        }
      rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
      if (rc == SQLITE_OK)
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
          {
            g_autofree char *pair = g_strdup_printf ("%s → %s",
                                                     (const char *) sqlite3_column_text (stmt, 0),
                                                     (const char *) sqlite3_column_text (stmt, 2));
            guint count = GPOINTER_TO_UINT (g_hash_table_lookup (counts, pair));

            g_hash_table_replace (counts, g_steal_pointer (&pair), GUINT_TO_POINTER (count + 1));
          }
      sqlite3_finalize (stmt);
      if (rc != SQLITE_DONE)
        {
          mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED,
                           "Checking foreign keys");
          return NULL;
        }
    }
  return g_steal_pointer (&counts);
}

/* Only violations the updates add count: a shop whose database already had orphan rows
 * (reported by the preflight) must not be stuck forever. */
static gboolean
check_foreign_keys (MwMigrator    *self,
                    sqlite3       *db,
                    GHashTable    *baseline,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_autoptr(GPtrArray) tables = self->full_checks ? NULL : tables_to_check (self, db);
  g_autoptr(MwTicker) ticker = mw_ticker_new (self->progress, cancellable);

  /* Kept for the count before the updates, should this find violations. */
  g_clear_pointer (&self->fk_checked, g_ptr_array_unref);
  if (tables != NULL)
    {
      self->fk_checked = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < tables->len; i++)
        g_ptr_array_add (self->fk_checked, g_strdup (g_ptr_array_index (tables, i)));
    }
  g_autoptr(GHashTable) counts = NULL;

  if (tables != NULL)
    for (guint i = 0; i < tables->len; i++)
      g_debug ("foreign_key_check(%s)", (const char *) g_ptr_array_index (tables, i));
  mw_ticker_restart (ticker, _("Checking the database's links between tables"));
  mw_ticker_install (ticker, db);
  counts = count_fk_violations (db, tables, ticker, error);
  watch_for_cancel (db, cancellable);
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
preflight (MwMigrator    *self,
           sqlite3       *db,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autofree char *result = NULL;
  gboolean sound;
  int rc = SQLITE_DONE;

  /* The verified backup reads every page of the database and checks the copy with
   * quick_check: that proves the source pages too, so they are not read twice. */
  if (!self->verify || (self->make_backup && self->existed))
    goto space;

  begin_step (self, _("Checking the database before updating"));
  sound = check_file_with_progress (self, db, FALSE, _("Checking the database before updating"),
                                    cancellable, &result, &rc);
  watch_for_cancel (db, cancellable);
  if ((rc & 0xff) == SQLITE_INTERRUPT && cancelled_error (cancellable, error))
    return FALSE;
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

/* Adopting a proven level (mw_migrator_set_restamp()): under the write lock, the
 * tables are compared once more with what the app's migrations 0..level-1 build —
 * exactly equal, or nothing happens — and the run then goes on as if those were the
 * applied ones and the rest pending. */
static gboolean
restamp_plan (MwMigrator   *self,
              sqlite3      *db,
              GArray       *states,
              MwState      *state,
              GError      **error)
{
  g_autoptr(sqlite3) reference = NULL;
  g_autoptr(MwSchema) expected = NULL;
  g_autoptr(MwSchema) actual = NULL;
  g_autoptr(GPtrArray) diffs = NULL;
  guint level = (guint) self->restamp_level;

  if (*state == MW_STATE_NEWER)
    return TRUE;   /* refused as usual */

  reference = mw_reference_open_level (self->set, level, error);
  if (reference == NULL)
    return FALSE;
  expected = mw_schema_read (reference, "main", NULL, error);
  actual = expected ? mw_schema_read (db, "main", mw_migration_set_get_table (self->set), error)
                    : NULL;
  if (actual == NULL)
    return FALSE;
  diffs = mw_schema_compare (expected, actual);
  if (diffs->len > 0)
    {
      g_autofree char *first = mw_schema_diff_to_text (g_ptr_array_index (diffs, 0));

      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED,
                   _("The database's tables are not exactly what the app's updates build up "
                     "to level %u (%s), so its history cannot be re-stamped. Nothing was "
                     "changed."), level, first);
      return FALSE;
    }

  for (guint i = 0; i < states->len; i++)
    {
      MwMigrationState *s = &g_array_index (states, MwMigrationState, i);

      s->status = s->migration->idx < level ? MW_MIGRATION_STATUS_APPLIED
                                            : MW_MIGRATION_STATUS_PENDING;
    }
  *state = MW_STATE_PENDING;
  return TRUE;
}

/* The history rewritten to what drizzle-orm would have written for the proven level;
 * the rows it replaces are kept in the report and the log. */
static gboolean
restamp_history (MwMigrator  *self,
                 sqlite3     *db,
                 MwHistory   *history,
                 GError     **error)
{
  gboolean v1 = mw_migration_set_get_format (self->set) == MW_FOLDER_FORMAT_V1;

  for (guint i = 0; history->rows != NULL && i < history->rows->len; i++)
    {
      const MwAppliedRow *row = g_ptr_array_index (history->rows, i);
      char *line = g_strdup_printf ("%s %s%" G_GINT64_FORMAT "%s%s", row->hash ? row->hash : "-",
                                    row->created_at_is_null ? "(no time)" : "",
                                    row->created_at_is_null ? 0 : row->created_at,
                                    row->name ? " " : "", row->name ? row->name : "");

      g_message ("Re-stamp: replacing history row %s", line);
      g_ptr_array_add (self->replaced_rows, line);
    }
  if (history->has_table)
    {
      g_autofree char *quoted = mw_db_quote_identifier (history->table);
      g_autofree char *sql = g_strdup_printf ("DELETE FROM %s", quoted);

      if (!mw_db_exec (db, sql, error))
        return FALSE;
    }
  for (guint i = 0; i < (guint) self->restamp_level; i++)
    if (!mw_history_record_applied (db, history, mw_migration_set_get_migration (self->set, i),
                                    v1, error))
      return FALSE;
  g_message ("Re-stamped the history at level %d", self->restamp_level);
  return TRUE;
}

/* The backup's check failed: was it the source's damage, copied as it was? */
static gboolean
source_is_damaged (sqlite3 *db)
{
  g_autofree char *problems = NULL;

  return !mw_db_check_integrity (db, FALSE, 20, "; ", &problems, NULL);
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
  MwRehearsalFault fault;
  guint total = 0, done = 0;
  gboolean ok = FALSE;
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

  if (!mw_history_read (db, mw_migration_set_get_table (self->set), &history, error))
    goto out;
  mw_history_match (self->set, &history, states, unknown);
  state = mw_history_classify (self->set, &history, states, unknown);
  if (self->restamp_level >= 0 && !restamp_plan (self, db, states, &state, error))
    goto out;
  if (refuse_for_state (self, state, error))
    goto out;

  for (guint i = 0; i < states->len; i++)
    {
      const MwMigrationState *s = &g_array_index (states, MwMigrationState, i);

      if (target != NULL && s->migration->idx > target->idx)
        break;
      if (s->status != MW_MIGRATION_STATUS_PENDING &&
          s->status != MW_MIGRATION_STATUS_OUT_OF_ORDER)
        continue;
      g_ptr_array_add (todo, (gpointer) s->migration);
      total += s->migration->statements->len;
    }

  /* drizzle-orm's migrate() creates the table, or brings a 0.x one to the v1 layout,
   * even with nothing to apply: so must this, or the POS changes the file after us. */
  if (todo->len == 0 && self->restamp_level < 0 &&
      !mw_history_needs_table (self->set, &history))
    {
      ok = TRUE;
      goto out;
    }

  /* A migration the POS's driver would refuse is a packaging fault: refused before
   * the backup and before anything runs. */
  if (!mw_rehearse (db, history.table, v1, todo, &fault, error))
    {
      remember_failure (self, fault.migration, fault.piece);
      goto out;
    }

  if (!preflight (self, db, cancellable, error))
    goto out;

  /* The backup is taken here, while this connection holds the write lock and has not
   * written yet: another connection can read the database for the backup, and nobody
   * can write between the backup and the migration, so restoring it can never lose a
   * sale. */
  if (self->make_backup && self->existed && self->backup == NULL)
    {
      g_autoptr(GError) backup_error = NULL;

      begin_step (self, _("Making a backup of the database"));
      self->backup = mw_backup_create_locked (self->database_path, self->backup_dir,
                                              MW_BACKUP_REASON_PRE_MIGRATION, self->set,
                                              self->progress, cancellable, &backup_error);
      if (self->backup == NULL)
        {
          if (g_error_matches (backup_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_propagate_error (error, g_steal_pointer (&backup_error));
          else if (g_error_matches (backup_error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT) &&
                   self->verify && source_is_damaged (db))
            g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                         _("The database is damaged, so it was not updated (quick_check, as its "
                           "backup was verified: %s). Nothing was changed."),
                         backup_error->message);
          else
            g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BACKUP_FAILED,
                         _("No verified backup could be made, so nothing was changed: %s"),
                         backup_error->message);
          goto out;
        }
    }

  if (!history.has_table)
    {
      if (!mw_history_create_table (db, &history, v1, error))
        goto out;
      self->table_changed = TRUE;
    }
  else if (v1 && !history.has_name_column)
    {
      if (!mw_history_upgrade_to_v1 (db, &history, states, error))
        goto out;
      self->table_changed = TRUE;
    }
  if (self->restamp_level >= 0 && !restamp_history (self, db, &history, error))
    goto out;

  begin_step (self, _("Applying the updates"));
  g_clear_pointer (&self->fk_guard, mw_fk_guard_free);
  if (!self->full_checks)
    self->fk_guard = mw_fk_guard_new (db);
  sqlite3_set_authorizer (db, authorizer_cb, self);
  for (guint m = 0; m < todo->len; m++)
    {
      const MwMigration *migration = g_ptr_array_index (todo, m);
      g_autofree char *message = g_strdup_printf (_("Applying update %u of %u: %s"),
                                                  m + 1, todo->len, migration->tag);

      /* Of total + 1: recording each update and checking come after the statements. */
      mw_progress_update (self->progress, (double) done / (total + 1), message);

      for (guint p = 0; p < migration->statements->len; p++)
        {
          if (cancelled_error (cancellable, error) ||
              !run_piece (self, db, migration, p, cancellable, error))
            {
              remember_failure (self, migration, p);
              goto out;
            }
          done++;
          mw_progress_set_fraction (self->progress, (double) done / (total + 1));
        }

      if (!mw_history_record_applied (db, &history, migration, v1, error))
        {
          remember_failure (self, migration, migration->statements->len);
          goto out;
        }
      g_ptr_array_add (self->applied, g_strdup (migration->tag));
    }

  sqlite3_set_authorizer (db, NULL, NULL);
  ok = check_foreign_keys (self, db, baseline, cancellable, error);
  if (self->fk_guard != NULL)
    mw_fk_guard_drop_snapshots (self->fk_guard, db);

out:
  sqlite3_set_authorizer (db, NULL, NULL);
  mw_history_clear (&history);
  return ok;
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
  g_ptr_array_set_size (self->replaced_rows, 0);
  g_hash_table_remove_all (self->written);
  g_hash_table_remove_all (self->keys_touched);
  g_hash_table_remove_all (self->rows_written);
  g_hash_table_remove_all (self->updated);
  self->failed_statement = 0;
  self->table_changed = FALSE;
}

/* integrity_check(table) of each table the updates wrote, in a thread of its own, on a
 * connection of its own (read-write but query_only, for the same reason as the
 * file's check), beside the file's quick_check. */
typedef struct
{
  char       *database_path;
  guint       busy_timeout_ms;
  GPtrArray  *tables;         /* (element-type utf8) as the schema spells them */
  GArray     *work;           /* (element-type double) estimated handler calls each */
  double      total;
  GThread    *thread;
  GMutex      mutex;
  GCond       cond;
  guint       current;        /* the table being checked (mutex) */
  gboolean    done;           /* (mutex) */
  gint        ticks;          /* (atomic) handler calls in the current table */
  GString    *found;          /* the thread's until done */
} TableCheck;

static int
table_check_tick_cb (void *data)
{
  TableCheck *tc = data;

  g_atomic_int_inc (&tc->ticks);
  return 0;
}

/* Of the whole table check, 0…1; never back, never 1 before the end. */
static double
table_check_fraction (gpointer data)
{
  TableCheck *tc = data;
  double before = 0.0, w;
  guint current;

  g_mutex_lock (&tc->mutex);
  current = tc->current;
  g_mutex_unlock (&tc->mutex);
  if (current >= tc->work->len || tc->total <= 0.0)
    return 0.99;
  for (guint i = 0; i < current; i++)
    before += g_array_index (tc->work, double, i);
  w = g_array_index (tc->work, double, current);
  return MIN (before + MIN ((double) g_atomic_int_get (&tc->ticks), 0.9 * w), tc->total) /
         tc->total;
}

static gpointer
table_check_thread (gpointer data)
{
  TableCheck *tc = data;
  g_autoptr(sqlite3) db = NULL;
  g_autoptr(GError) error = NULL;

  mw_thread_run_in_background ();
  db = mw_db_open (tc->database_path, SQLITE_OPEN_READWRITE, (int) tc->busy_timeout_ms, &error);
  if (db == NULL || !mw_db_exec (db, "PRAGMA query_only = ON", &error))
    g_string_append (tc->found, error->message);
  else
    {
      /* Pages read from memory SQLite maps, not copied out of the file one by one. */
      sqlite3_exec (db, "PRAGMA mmap_size = " G_STRINGIFY (MW_COPY_MMAP_BYTES), NULL, NULL, NULL);
      sqlite3_progress_handler (db, MW_TICKER_OPS, table_check_tick_cb, tc);
    }

  for (guint i = 0; db != NULL && tc->found->len == 0 && i < tc->tables->len; i++)
    {
      g_autofree char *quoted = mw_db_quote_identifier (g_ptr_array_index (tc->tables, i));
      g_autofree char *sql = g_strdup_printf ("PRAGMA integrity_check(%s)", quoted);
      sqlite3_stmt *stmt = NULL;
      int rc;

      g_mutex_lock (&tc->mutex);
      tc->current = i;
      g_atomic_int_set (&tc->ticks, 0);
      g_mutex_unlock (&tc->mutex);
      rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
      if (rc == SQLITE_OK)
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
          {
            const char *line = (const char *) sqlite3_column_text (stmt, 0);

            if (g_strcmp0 (line, "ok") != 0)
              g_string_append_printf (tc->found, "%s%s", tc->found->len ? "; " : "", line);
          }
      sqlite3_finalize (stmt);
      if (rc != SQLITE_DONE && tc->found->len == 0)
        g_string_append (tc->found, sqlite3_errmsg (db));
    }

  g_mutex_lock (&tc->mutex);
  tc->current = tc->tables->len;
  tc->done = TRUE;
  g_cond_signal (&tc->cond);
  g_mutex_unlock (&tc->mutex);
  return NULL;
}

/* The tables the updates wrote that are still there (not a rebuild's __new_ table),
 * spelled as the schema spells them, each with its estimated work; the check starts
 * when there is any. */
static void
table_check_start (TableCheck *tc,
                   MwMigrator *self,
                   sqlite3    *db)
{
  GHashTableIter iter;
  gpointer key;

  g_mutex_init (&tc->mutex);
  g_cond_init (&tc->cond);
  tc->database_path = g_strdup (self->database_path);
  tc->busy_timeout_ms = self->busy_timeout_ms;
  tc->tables = g_ptr_array_new_with_free_func (g_free);
  tc->work = g_array_new (FALSE, TRUE, sizeof (double));
  tc->found = g_string_new (NULL);

  g_hash_table_iter_init (&iter, self->written);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      char *name_sql = sqlite3_mprintf ("SELECT name FROM sqlite_schema WHERE type = 'table' "
                                        "AND name = %Q COLLATE NOCASE", (char *) key);
      sqlite3_stmt *stmt = NULL;

      if (sqlite3_prepare_v2 (db, name_sql, -1, &stmt, NULL) == SQLITE_OK &&
          sqlite3_step (stmt) == SQLITE_ROW)
        g_ptr_array_add (tc->tables, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
      sqlite3_finalize (stmt);
      sqlite3_free (name_sql);
    }
  g_ptr_array_sort (tc->tables, compare_strings);
  for (guint i = 0; i < tc->tables->len; i++)
    {
      double w = MAX (estimate_ticks (db, g_ptr_array_index (tc->tables, i), FALSE), 1.0);

      g_array_append_val (tc->work, w);
      tc->total += w;
    }
  if (tc->tables->len > 0)
    tc->thread = g_thread_new ("mw-check-tables", table_check_thread, tc);
}

/* Waits for the thread and adds what it found to @found. */
static void
table_check_finish (TableCheck *tc,
                    GString    *found)
{
  if (tc->thread != NULL)
    g_thread_join (g_steal_pointer (&tc->thread));
  if (tc->found->len > 0)
    g_string_append_printf (found, "%s%s", found->len ? "; " : "", tc->found->str);
  g_string_free (tc->found, TRUE);
  g_ptr_array_unref (tc->tables);
  g_array_unref (tc->work);
  g_free (tc->database_path);
  g_mutex_clear (&tc->mutex);
  g_cond_clear (&tc->cond);
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
  g_autoptr(GString) found = g_string_new (NULL);

  begin_step (self, self->full_checks ? _("Checking the whole database")
                                      : _("Checking what the updates changed"));
  /* A connection of its own: it reads what is on disk now, schema included, not what
   * this connection has cached. Not a read-only one: SQLite skips CHECK and NOT NULL
   * constraints in integrity_check on those, and a migration can break them
   * (ignore_check_constraints). */
  fresh = mw_db_open (self->database_path, SQLITE_OPEN_READWRITE, self->busy_timeout_ms, NULL);
  if (fresh != NULL && mw_db_exec (fresh, "PRAGMA query_only = ON", NULL))
    {
      db = fresh;
      sqlite3_exec (db, "PRAGMA mmap_size = " G_STRINGIFY (MW_COPY_MMAP_BYTES), NULL, NULL, NULL);
    }

  if (self->full_checks)
    {
      if (!check_file_with_progress (self, db, TRUE, _("Checking the whole database"), NULL,
                                     &problems, NULL))
        g_string_append (found, problems ? problems : sqlite3_errmsg (db));
    }
  else
    {
      g_autoptr(MwTicker) ticker = mw_ticker_new (self->progress, NULL);
      TableCheck tc = { 0 };
      guint shown_table = G_MAXUINT;

      /* Every page of the file (quick_check, O(N)) on this connection, and on the other
       * core, on a connection of its own, the full check — every index entry against
       * its row, every constraint — of each table the updates wrote. Tables they did
       * not touch were proven by the backup's check before the update and are the same
       * pages now. */
      table_check_start (&tc, self, db);
      mw_ticker_restart (ticker, _("Checking the database file"));
      mw_ticker_expect_file_check (ticker, db, FALSE);
      if (tc.thread != NULL)
        mw_ticker_set_limit (ticker, table_check_fraction, &tc);
      mw_ticker_install (ticker, db);
      if (!mw_db_check_integrity (db, FALSE, 20, "; ", &problems, NULL))
        g_string_append (found, problems ? problems : sqlite3_errmsg (db));
      sqlite3_progress_handler (db, 0, NULL, NULL);
      mw_ticker_set_limit (ticker, NULL, NULL);

      /* The tables may take longer than the file: say which one, and follow it. */
      while (tc.thread != NULL)
        {
          guint current;
          gboolean done;

          g_mutex_lock (&tc.mutex);
          if (!tc.done)
            g_cond_wait_until (&tc.cond, &tc.mutex,
                               g_get_monotonic_time () + 100 * G_TIME_SPAN_MILLISECOND);
          current = tc.current;
          done = tc.done;
          g_mutex_unlock (&tc.mutex);
          if (done)
            break;
          if (current != shown_table && current < tc.tables->len)
            {
              g_autofree char *message =
                g_strdup_printf (_("Checking the changed tables (%u of %u): %s"), current + 1,
                                 tc.tables->len, (const char *) g_ptr_array_index (tc.tables, current));

              mw_ticker_set_message (ticker, message);
              shown_table = current;
            }
          mw_ticker_show (ticker, table_check_fraction (&tc));
        }
      table_check_finish (&tc, found);
    }

  if (found->len > 0)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CHECK_FAILED,
                   _("The updates were applied, but the database failed its integrity check "
                     "afterwards: %s."), found->str);
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
  int foreign_keys = 0;
  gboolean ok;

  reset_result (self);
  self->step = 0;
  mw_progress_update (self->progress, 0.0, _("Opening the database"));
  {
    GStatBuf st;

    self->existed = g_stat (self->database_path, &st) == 0 && st.st_size > 0;
  }

  db = mw_db_open (self->database_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                   (int) self->busy_timeout_ms, error);
  if (db == NULL)
    return FALSE;
  if (self->created && self->created_ino == 0)
    {
      GStatBuf st;

      if (g_stat (self->database_path, &st) == 0)
        {
          self->created_dev = st.st_dev;
          self->created_ino = st.st_ino;
        }
    }

  foreign_keys = (int) mw_db_query_int (db, "PRAGMA foreign_keys", 0);
  /* Must happen outside the transaction to have any effect. */
  if (!mw_db_exec (db, "PRAGMA foreign_keys = OFF", error))
    return FALSE;

  watch_for_cancel (db, cancellable);

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
      {
        /* The same tables as the check that found them (the parents' copied keys
         * went with the rollback). */
        baseline = count_fk_violations (db, self->full_checks ? NULL : self->fk_checked,
                                        NULL, NULL);
      }
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
      /* One call to SQLite, with nothing to count: the bar starts the step. */
      mw_progress_update (self->progress, 0.0, _("Saving"));
      ok = mw_db_exec (db, "COMMIT", &local_error);
    }
  if (!ok)
    {
      g_ptr_array_set_size (self->applied, 0);
      self->table_changed = FALSE;
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

/* A first run that failed leaves the database missing, as it was: the file this run's
 * SQLite created is removed while it is still that file and still empty (a rollback
 * leaves it so; an empty file holds nothing anybody could lose), with an empty
 * -journal beside it. */
static void
remove_created_file (MwMigrator *self)
{
  g_autofree char *journal = g_strconcat (self->database_path, "-journal", NULL);
  GStatBuf st;

  if (!self->created || self->created_ino == 0)
    return;
  if (g_lstat (self->database_path, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size != 0 ||
      st.st_dev != self->created_dev || st.st_ino != self->created_ino)
    return;
  if (g_unlink (self->database_path) != 0)
    {
      g_info ("Could not remove the empty %s: %s", self->database_path, g_strerror (errno));
      return;
    }
  if (g_lstat (journal, &st) == 0 && S_ISREG (st.st_mode) && st.st_size == 0)
    g_unlink (journal);
  g_info ("Removed the empty %s this failed first update had created", self->database_path);
}

/* A failed write (a full disk, an I/O error) can leave SQLite's own rollback of this
 * run unfinished: the original pages still in a hot -journal, for whoever opens the
 * database next. That journal is this run's own, so a new connection plays it back
 * now: the database is as it was before the run, on disk, when the run returns. */
static void
complete_rollback (MwMigrator *self)
{
  g_autofree char *why = mw_set_sqlite_would_modify (self->database_path);
  g_autoptr(sqlite3) db = NULL;

  if (why == NULL)
    return;
  db = mw_db_open (self->database_path, SQLITE_OPEN_READWRITE, (int) self->busy_timeout_ms, NULL);
  if (db != NULL && mw_db_query_int (db, "SELECT count(*) FROM sqlite_schema", -1) >= 0)
    g_info ("Finished rolling back the failed update (%s)", why);
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

  /* Whatever SQLite would change of the set just by opening it (a hot or foreign
   * journal, which it plays back or throws away) is first copied aside, byte for byte. */
  if (!mw_set_protect (self->database_path, self->backup_dir, NULL, error))
    return FALSE;

  {
    GStatBuf st;

    self->created = g_lstat (self->database_path, &st) != 0 && errno == ENOENT;
    self->created_dev = 0;
    self->created_ino = 0;
  }

  for (guint attempt = 1; ; attempt++)
    {
      g_clear_error (&local_error);
      mw_progress_set_cancellable (self->progress, TRUE);
      gboolean done = run_once (self, cancellable, &local_error);

      if (done)
        return TRUE;
      if (attempt > 3 || !g_error_matches (local_error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED))
        break;

      mw_progress_update (self->progress, 0.0,
                          _("The database is busy; trying again in a moment"));
      /* 0.5 s, 1 s, 2 s; a cancel ends the wait at once. */
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          remove_created_file (self);
          return FALSE;
        }
      g_usleep (G_USEC_PER_SEC / 2 * (1u << (attempt - 1)));
    }

  complete_rollback (self);
  remove_created_file (self);

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
  /* A clean rollback: the error says what failed; where the backup made just before
   * is, the remedy and mw_migrator_failure_to_text() say, once. */

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
 * mw_migrator_get_table_changed:
 *
 * Returns: whether the last successful run created the migrations table or brought it
 *   to drizzle-orm 1.x's layout (as the app's migrate() would have, even with no
 *   migration to apply)
 */
gboolean
mw_migrator_get_table_changed (MwMigrator *self)
{
  g_return_val_if_fail (MW_IS_MIGRATOR (self), FALSE);
  return self->table_changed;
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
 *   foreign key the last run would have broken (its pdata %NULL-terminated)
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
 * mw_migrator_set_full_checks:
 *
 * Whether the checks after applying cover the whole database (the foreign keys of
 * every table, `integrity_check` of every table and index) rather than what the
 * updates wrote and what points at it (the default: see check_integrity()).
 */
void
mw_migrator_set_full_checks (MwMigrator *self,
                             gboolean    full)
{
  g_return_if_fail (MW_IS_MIGRATOR (self));
  self->full_checks = !!full;
}

/**
 * mw_migrator_set_restamp:
 * @level: the level the database's tables were proven to be at (migrations
 *   0..@level-1), or -1 to read the history as it is (the default)
 *
 * Adopts a database whose history does not fit the app (untracked, unknown,
 * changed) but whose tables are exactly what the app's migrations build up to
 * @level: in the run's one transaction, after its verified backup, the tables are
 * compared again, the history is rewritten to what drizzle-orm would have written,
 * and the pending migrations are applied as usual.
 */
void
mw_migrator_set_restamp (MwMigrator *self,
                         int         level)
{
  g_return_if_fail (MW_IS_MIGRATOR (self));
  g_return_if_fail (level < 0 || (guint) level <= mw_migration_set_get_n_migrations (self->set));
  self->restamp_level = level < 0 ? -1 : level;
}

/**
 * mw_migrator_get_replaced_rows:
 *
 * Returns: (transfer none) (element-type utf8): the history rows the last run's
 *   re-stamp replaced ("hash created_at [name]")
 */
GPtrArray *
mw_migrator_get_replaced_rows (MwMigrator *self)
{
  g_return_val_if_fail (MW_IS_MIGRATOR (self), NULL);
  return self->replaced_rows;
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
