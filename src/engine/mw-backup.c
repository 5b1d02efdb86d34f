/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-backup"

/* sync_file_range (Linux). */
#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#ifdef G_OS_UNIX
# include <unistd.h>
#else
# include <io.h>
#endif

#include "mw-backup.h"
#include "mw-backup-private.h"
#include "mw-db-private.h"
#include "mw-diagnosis.h"
#include "mw-error.h"
#include "mw-fs-private.h"
#include "mw-history-private.h"
#include "mw-json-private.h"
#include "mw-page-record-private.h"
#include "mw-thread-private.h"
#include "mw-ticker-private.h"

/*
 * Verified backups.
 *
 * A backup is made through SQLite (the backup API), never by copying the file: a copy
 * of a live database without its -wal loses committed data, and one without its hot
 * -journal is corrupt. It is written under a temporary name, switched to the rollback
 * journal (a backup is a single file), fsynced, opened again and checked
 * (`quick_check`, the page count) — the flush and the check side by side, both done
 * before it is renamed into place and the folder is fsynced. Its JSON sidecar says
 * what it is; only a backup whose sidecar says it was verified, and whose file still
 * has the recorded size (and, before a restore, the recorded SHA-256), is offered for
 * restore.
 *
 * The backups folder is made private (others may not write to it), every file in it
 * is created new (never through a symlink planted at its name), and a backup that is
 * a symlink (to a database anywhere else) is listed as not usable and never restored.
 */

#define BACKUP_BUSY_TIMEOUT_MS 5000
/* How long a backup waits for others' writes to end, so that its copy and the
 * database's check read one snapshot; then the copy is checked itself instead. */
#define SNAPSHOT_WAIT_MS 1000
#define BACKUP_PREFIX "aurswift-backup-"

G_DEFINE_BOXED_TYPE (MwBackup, mw_backup, mw_backup_ref, mw_backup_unref)

static const char *reason_names[MW_N_BACKUP_REASONS] = {
  [MW_BACKUP_REASON_PRE_MIGRATION] = "pre-migration",
  [MW_BACKUP_REASON_PRE_RESTORE] = "pre-restore",
  [MW_BACKUP_REASON_PRE_FRESH] = "pre-fresh",
  [MW_BACKUP_REASON_PRE_REPAIR] = "pre-repair",
  [MW_BACKUP_REASON_PRE_ADOPT] = "pre-adopt",
  [MW_BACKUP_REASON_MANUAL] = "manual",
};

const char *
mw_backup_reason_to_string (MwBackupReason reason)
{
  g_return_val_if_fail (reason < MW_N_BACKUP_REASONS, "manual");
  return reason_names[reason];
}

gboolean
mw_backup_reason_from_string (const char     *text,
                              MwBackupReason *reason)
{
  for (guint i = 0; i < MW_N_BACKUP_REASONS; i++)
    if (g_strcmp0 (text, reason_names[i]) == 0)
      {
        *reason = i;
        return TRUE;
      }
  return FALSE;
}

MwBackup *
mw_backup_ref (MwBackup *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
mw_backup_unref (MwBackup *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_free (self->path);
  g_free (self->sidecar_path);
  g_clear_pointer (&self->created, g_date_time_unref);
  g_free (self->source);
  g_free (self->sha256);
  g_free (self->level_tag);
  g_free (self->sqlite_version);
  g_free (self->problem);
  g_free (self->holds_set);
  g_free (self->holds_set_sha256);
  g_free (self);
}

static MwBackup *
mw_backup_new (void)
{
  MwBackup *self = g_new0 (MwBackup, 1);

  g_atomic_ref_count_init (&self->ref_count);
  return self;
}

/**
 * mw_backup_default_dir:
 *
 * Returns: (transfer full): `backups/` beside the database
 */
char *
mw_backup_default_dir (const char *database_path)
{
  g_autofree char *dir = g_path_get_dirname (database_path);

  return g_build_filename (dir, "backups", NULL);
}

/* ---- sidecars ------------------------------------------------------------------------ */

void
mw_backup_to_json (MwBackup    *self,
                   JsonBuilder *builder)
{
  g_autofree char *created = g_date_time_format_iso8601 (self->created);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "file");
  json_builder_add_string_value (builder, self->path);
  json_builder_set_member_name (builder, "created");
  json_builder_add_string_value (builder, created);
  json_builder_set_member_name (builder, "reason");
  json_builder_add_string_value (builder, mw_backup_reason_to_string (self->reason));
  json_builder_set_member_name (builder, "source");
  json_builder_add_string_value (builder, self->source);
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, self->size);
  json_builder_set_member_name (builder, "sha256");
  json_builder_add_string_value (builder, self->sha256);
  json_builder_set_member_name (builder, "level");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "tag");
  if (self->level_tag)
    json_builder_add_string_value (builder, self->level_tag);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "count");
  json_builder_add_int_value (builder, self->level_count);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "sqlite_version");
  json_builder_add_string_value (builder, self->sqlite_version);
  json_builder_set_member_name (builder, "verified");
  json_builder_add_boolean_value (builder, self->verified);
  if (self->problem != NULL)
    {
      json_builder_set_member_name (builder, "problem");
      json_builder_add_string_value (builder, self->problem);
    }
  if (self->holds_set_sha256 != NULL)
    {
      json_builder_set_member_name (builder, "holds_set");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, self->holds_set);
      json_builder_set_member_name (builder, "sha256");
      json_builder_add_string_value (builder, self->holds_set_sha256);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
}

static gboolean
write_sidecar (MwBackup  *self,
               GError   **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  mw_backup_to_json (self, builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);

  return mw_fs_write_atomic (self->sidecar_path, text, strlen (text), 0600, error);
}

static MwBackup *
read_sidecar (const char *db_path,
              const char *sidecar_path)
{
  g_autoptr(MwBackup) self = mw_backup_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) sidecar_error = NULL;
  JsonObject *obj, *level, *holds;
  GStatBuf st;

  self->path = g_strdup (db_path);
  self->sidecar_path = g_strdup (sidecar_path);

  root = mw_json_load_file (sidecar_path, MW_FS_MAX_OWN_JSON, &sidecar_error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      if (sidecar_error != NULL)
        g_debug ("%s", sidecar_error->message);
      self->problem = g_strdup (_("Its description file is missing or unreadable."));
      if (g_lstat (db_path, &st) == 0)
        {
          self->size = st.st_size;
          self->created = g_date_time_new_from_unix_local (st.st_mtime);
        }
      else
        self->created = g_date_time_new_now_local ();
      self->reason = MW_BACKUP_REASON_MANUAL;
      return g_steal_pointer (&self);
    }

  obj = json_node_get_object (root);
  self->created = g_date_time_new_from_iso8601 (mw_json_get_string (obj, "created", ""), NULL);
  if (self->created == NULL)
    self->created = g_date_time_new_from_unix_utc (0);
  if (!mw_backup_reason_from_string (mw_json_get_string (obj, "reason", ""), &self->reason))
    self->reason = MW_BACKUP_REASON_MANUAL;
  self->source = g_strdup (mw_json_get_string (obj, "source", NULL));
  self->size = mw_json_get_int (obj, "size", -1);
  self->sha256 = g_strdup (mw_json_get_string (obj, "sha256", NULL));
  self->sqlite_version = g_strdup (mw_json_get_string (obj, "sqlite_version", NULL));
  self->verified = mw_json_get_boolean (obj, "verified", FALSE);
  level = mw_json_get_object (obj, "level");
  if (level != NULL)
    {
      self->level_tag = g_strdup (mw_json_get_string (level, "tag", NULL));
      self->level_count = (guint) CLAMP (mw_json_get_int (level, "count", 0), 0, G_MAXUINT);
    }
  holds = mw_json_get_object (obj, "holds_set");
  if (holds != NULL)
    {
      self->holds_set = g_strdup (mw_json_get_string (holds, "name", NULL));
      self->holds_set_sha256 = g_strdup (mw_json_get_string (holds, "sha256", NULL));
    }
  /* A backup without a SHA-256 cannot be checked before a restore. */
  if (self->sha256 == NULL)
    self->verified = FALSE;

  /* Cheap check on every listing; the full one (hash, quick_check) before a restore. */
  if (g_lstat (db_path, &st) != 0)
    {
      self->verified = FALSE;
      self->problem = g_strdup (_("The backup file is missing."));
    }
  else if (!S_ISREG (st.st_mode))
    {
      self->verified = FALSE;
      self->problem = g_strdup (_("The backup is not a plain file (a symbolic link to "
                                  "somewhere else?), so it is never restored."));
    }
  else if (st.st_size != self->size)
    {
      self->verified = FALSE;
      self->problem = g_strdup_printf (_("The backup file changed size since it was made "
                                         "(%lld bytes, recorded %lld)."),
                                       (long long) st.st_size, (long long) self->size);
    }
  else if (!self->verified)
    self->problem = g_strdup (_("The backup failed its check when it was made."));

  return g_steal_pointer (&self);
}

/* ---- making one ---------------------------------------------------------------------- */

static char *
pick_name (const char *dir,
           GDateTime  *now)
{
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");

  /* Never reuse a name, even within one second; a name taken by anything at all (a
   * dangling symlink included) is skipped, the temporary one and its companions too. */
  for (guint i = 1; ; i++)
    {
      g_autofree char *name = i == 1
        ? g_strdup_printf (BACKUP_PREFIX "%s.db", stamp)
        : g_strdup_printf (BACKUP_PREFIX "%s-%u.db", stamp, i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *sidecar = g_strconcat (path, ".json", NULL);
      g_autofree char *tmp_name = g_strconcat (".", name, ".tmp", NULL);
      g_autofree char *tmp = g_build_filename (dir, tmp_name, NULL);
      gboolean taken = mw_fs_lexists (path) || mw_fs_lexists (sidecar);

      for (guint k = 0; k < MW_N_SET_SUFFIXES && !taken; k++)
        {
          g_autofree char *member = g_strconcat (tmp, mw_set_suffixes[k], NULL);

          taken = mw_fs_lexists (member);
        }
      if (!taken)
        return g_steal_pointer (&path);
    }
}

static gboolean
read_level (sqlite3         *db,
            MwMigrationSet  *set,
            MwBackup        *backup,
            GError         **error)
{
  MwHistory history = { 0 };

  if (!mw_history_read (db, set != NULL ? mw_migration_set_get_table (set) : NULL, &history,
                        error))
    {
      mw_history_clear (&history);
      return FALSE;
    }
  backup->level_count = history.rows ? history.rows->len : 0;
  if (set != NULL)
    {
      g_autoptr(GArray) states = g_array_new (FALSE, TRUE, sizeof (MwMigrationState));
      g_autoptr(GPtrArray) unknown = mw_applied_rows_new ();

      mw_history_match (set, &history, states, unknown);
      for (guint i = 0; i < states->len; i++)
        {
          const MwMigrationState *s = &g_array_index (states, MwMigrationState, i);

          if (s->status == MW_MIGRATION_STATUS_APPLIED || s->status == MW_MIGRATION_STATUS_MODIFIED)
            {
              g_free (backup->level_tag);
              backup->level_tag = g_strdup (s->migration->tag);
            }
        }
    }
  mw_history_clear (&history);
  return TRUE;
}

/**
 * mw_backup_check_copy:
 *
 * SQLite's quick_check of a copy made through SQLite (a backup, a restored or a
 * repaired copy) before it is trusted. Only the first problem is reported.
 */
gboolean
mw_backup_check_copy (sqlite3     *db,
                      const char  *path,
                      GError     **error)
{
  g_autofree char *problems = NULL;

  if (!mw_db_check_integrity (db, FALSE, 1, "; ", &problems, NULL))
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                   _("The backup %s failed its check: %s"), path,
                   problems ? problems : sqlite3_errmsg (db));
      return FALSE;
    }
  return TRUE;
}

/* ---- the proof: SQLite's check and the hash, side by side ----------------------------- */

/* The SHA-256 of a copy, computed on the other core while this one has SQLite check
 * the copy: the same two passes over the file in the time of the slower one. */
typedef struct
{
  int           fd;           /* held until every connection to the file is closed */
  const char   *path;
  gint64        size;
  GCancellable *cancellable;
  MwPageRecord *record;       /* (nullable) what SQLite wrote: each page must read back so */
  GMappedFile  *map;          /* (nullable) a new copy, read from memory */
  GThread      *thread;
  GThread      *sync_thread;  /* a new copy: flushed to disk while it is hashed */
  GError       *sync_error;   /* the flush's, or the pages' comparison */
  gboolean      started;
  GMutex        mutex;
  GCond         cond;
  gint64        hashed;       /* bytes so far (mutex) */
  gboolean      done;         /* (mutex) */
  char         *sha256;
  GError       *error;
} HashJob;

static void
hash_bytes_cb (gint64   bytes,
               gpointer data)
{
  HashJob *job = data;

  g_mutex_lock (&job->mutex);
  job->hashed = bytes;
  g_mutex_unlock (&job->mutex);
}

static gpointer
hash_thread (gpointer data)
{
  HashJob *job = data;

  mw_thread_run_in_background ();
  if (job->map != NULL)
    job->sha256 = mw_sha256_of_bytes ((const guint8 *) g_mapped_file_get_contents (job->map),
                                      g_mapped_file_get_length (job->map), hash_bytes_cb, job,
                                      job->cancellable, &job->error);
  else
    job->sha256 = mw_sha256_of_fd (job->fd, job->path, hash_bytes_cb, job, job->cancellable,
                                   &job->error);
  g_mutex_lock (&job->mutex);
  job->done = TRUE;
  g_cond_signal (&job->cond);
  g_mutex_unlock (&job->mutex);
  return NULL;
}

/* A new copy is flushed to disk (SQLite wrote it without syncing) while it is hashed:
 * the flush waits for the disk, the hash reads what is already in memory. Through the
 * job's own fd: opening and closing another would drop the check's locks. Then, when
 * the copy is mapped, its pages are compared with what SQLite wrote, beside the hash
 * (else the hash's read compares them). */
static gpointer
sync_thread (gpointer data)
{
  HashJob *job = data;

  mw_thread_wait_in_background ();
#ifdef G_OS_UNIX
  if (fsync (job->fd) != 0)
#else
  if (_commit (job->fd) != 0)
#endif
    {
      mw_fs_set_error (&job->sync_error, errno, _("Cannot flush %s to disk"), job->path);
      return NULL;
    }
  if (job->map != NULL && job->record != NULL)
    {
      mw_thread_run_with_slack ();
      mw_page_record_verify (job->record,
                             (const guint8 *) g_mapped_file_get_contents (job->map),
                             g_mapped_file_get_length (job->map), job->path, &job->sync_error);
    }
  return NULL;
}

/* The hash's fraction done: the check's progress shows the slower of the two. */
static double
hash_fraction (gpointer data)
{
  HashJob *job = data;
  double fraction;

  g_mutex_lock (&job->mutex);
  fraction = job->size > 0 ? (double) job->hashed / job->size : 0.0;
  g_mutex_unlock (&job->mutex);
  return fraction;
}

/* Opens @path and starts hashing it (and, for a new copy, flushing it to disk). The
 * fd is opened before any SQLite connection to the file and closed by
 * hash_job_finish() after the last one: closing an fd of a database drops the
 * process's POSIX locks on it. */
static gboolean
hash_job_start (HashJob       *job,
                const char    *path,
                gboolean       sync_first,
                MwPageRecord  *record,
                GCancellable  *cancellable,
                GError       **error)
{
  GStatBuf st;

  *job = (HashJob) { 0 };
  g_mutex_init (&job->mutex);
  g_cond_init (&job->cond);
  job->started = TRUE;
  job->path = path;
  job->cancellable = cancellable;
  job->fd = mw_fs_open_regular (path, FALSE, -1, &st, error);
  if (job->fd < 0)
    return FALSE;
  job->size = st.st_size;
  /* A new copy, our own file, is read from memory (an existing backup, which another
   * program might truncate meanwhile, through read()). */
  if (sync_first && job->size > 0)
    job->map = g_mapped_file_new_from_fd (job->fd, FALSE, NULL);
  /* The pages are compared in memory, beside the hash: only a mapped copy. */
  job->record = job->map != NULL ? record : NULL;
  job->thread = g_thread_new ("mw-backup-hash", hash_thread, job);
  if (sync_first)
    job->sync_thread = g_thread_new ("mw-backup-sync", sync_thread, job);
  return TRUE;
}

/* Waits for the hash, moving @ticker's bar (if any) with it. Call only once every
 * SQLite connection to the file is closed.
 *
 * Returns: (transfer full): the hash, or %NULL with @error set */
static char *
hash_job_finish (HashJob   *job,
                 MwTicker  *ticker,
                 GError   **error)
{
  char *sha256;

  g_assert (job->started);
  if (job->thread != NULL)
    {
      for (;;)
        {
          gint64 until = g_get_monotonic_time () + 100 * G_TIME_SPAN_MILLISECOND;
          gboolean done;
          double fraction;

          g_mutex_lock (&job->mutex);
          if (!job->done)
            g_cond_wait_until (&job->cond, &job->mutex, until);
          done = job->done;
          fraction = job->size > 0 ? (double) job->hashed / job->size : 0.0;
          g_mutex_unlock (&job->mutex);
          if (done)
            break;
          /* Not under the job's lock: the ticker calls hash_fraction() under its own. */
          if (ticker != NULL)
            mw_ticker_show (ticker, fraction);
        }
      g_thread_join (g_steal_pointer (&job->thread));
    }
  if (job->sync_thread != NULL)
    g_thread_join (g_steal_pointer (&job->sync_thread));
  g_clear_pointer (&job->map, g_mapped_file_unref);
  if (job->fd >= 0)
    close (job->fd);
  job->fd = -1;
  g_mutex_clear (&job->mutex);
  g_cond_clear (&job->cond);
  job->started = FALSE;

  sha256 = g_steal_pointer (&job->sha256);
  if (sha256 == NULL && job->error != NULL)
    g_propagate_error (error, g_steal_pointer (&job->error));
  else if (sha256 != NULL && job->sync_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->sync_error));
      g_clear_pointer (&sha256, g_free);
    }
  g_clear_error (&job->error);
  g_clear_error (&job->sync_error);
  return sha256;
}

/* SQLite's check of the copy at @path with progress (Checking the backup), while
 * @job hashes it. */
static sqlite3 *
check_copy (const char    *path,
            const char    *name,
            HashJob       *job,
            MwTicker      *ticker,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(sqlite3) db = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean ok;

  db = mw_db_open (path, SQLITE_OPEN_READONLY, BACKUP_BUSY_TIMEOUT_MS, error);
  if (db == NULL)
    return NULL;
  mw_ticker_expect_file_check (ticker, db, FALSE);
  mw_ticker_set_limit (ticker, hash_fraction, job);
  mw_ticker_install (ticker, db);
  ok = mw_backup_check_copy (db, name, &local_error);
  sqlite3_progress_handler (db, 0, NULL, NULL);
  /* From here the hash's progress is shown by hash_job_finish(). */
  mw_ticker_set_limit (ticker, NULL, NULL);
  if (!ok)
    {
      /* Cancelled: the handler stopped the check, which then reads as a failure. */
      if (!g_cancellable_set_error_if_cancelled (cancellable, error))
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return g_steal_pointer (&db);
}

/* ---- the source's check, beside the copy --------------------------------------------- */

/* SQLite's quick_check of the database, on a connection of its own that reads the very
 * snapshot the copy is made from, on the other core while this one copies. */
typedef struct
{
  sqlite3  *db;         /* in a read transaction begun with the copy's */
  GThread  *thread;
  gboolean  ok;
  char     *problems;
} SourceCheck;

/* Begins a read transaction on @db (its first read takes the snapshot). */
static gboolean
begin_read (sqlite3 *db)
{
  if (!mw_db_exec (db, "BEGIN", NULL))
    return FALSE;
  if (mw_db_query_int (db, "SELECT count(*) FROM sqlite_schema", -1) < 0)
    {
      sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

/* A connection to the database as @src's: it reads, never writes, never checkpoints. */
static sqlite3 *
open_reader (const char  *database_path,
             GError     **error)
{
  g_autofree char *wal = g_strconcat (database_path, "-wal", NULL);
  sqlite3 *db = mw_db_open (database_path, SQLITE_OPEN_READWRITE, BACKUP_BUSY_TIMEOUT_MS, error);

  if (db == NULL)
    return NULL;
  mw_db_exec (db, "PRAGMA query_only = ON", NULL);
  if (mw_fs_lexists (wal))
    sqlite3_db_config (db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
  return db;
}

/* Puts @src and a new check connection in read transactions on one snapshot. Nobody
 * may commit between the two: @writes_excluded says the caller holds the write lock
 * (and has not written); otherwise a third connection takes it for the moment the
 * two begin (in WAL mode a commit could come between them; in rollback mode the
 * first reader's lock already keeps it out), and lets it go at once: from then on
 * each reads its snapshot whatever others commit.
 *
 * Returns: (transfer full) (nullable): the check's connection; %NULL when the two
 *   cannot be set up so (then @src is in no transaction, and the copy is checked) */
static sqlite3 *
begin_same_snapshot (sqlite3    *src,
                     const char *database_path,
                     gboolean    writes_excluded)
{
  g_autoptr(sqlite3) guard = NULL;
  g_autoptr(sqlite3) check = open_reader (database_path, NULL);

  if (check == NULL)
    return NULL;
  /* The check reads every page from memory SQLite maps, not copied out of the file. */
  sqlite3_exec (check, "PRAGMA mmap_size = " G_STRINGIFY (MW_COPY_MMAP_BYTES), NULL, NULL, NULL);
  if (!writes_excluded)
    {
      /* Not query_only, which refuses BEGIN IMMEDIATE; it never writes either. */
      guard = mw_db_open (database_path, SQLITE_OPEN_READWRITE, SNAPSHOT_WAIT_MS, NULL);
      if (guard != NULL)
        sqlite3_db_config (guard, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
      if (guard == NULL || !mw_db_exec (guard, "BEGIN IMMEDIATE", NULL))
        return NULL;
    }
  if (!begin_read (src))
    return NULL;
  if (!begin_read (check))
    {
      sqlite3_exec (src, "ROLLBACK", NULL, NULL, NULL);
      return NULL;
    }
  if (guard != NULL)
    sqlite3_exec (guard, "ROLLBACK", NULL, NULL, NULL);
  return g_steal_pointer (&check);
}

static gpointer
source_check_thread (gpointer data)
{
  SourceCheck *check = data;

  /* The copy and then its hash are the longer way: they get the larger share. */
  mw_thread_run_with_slack ();
  check->ok = mw_db_check_integrity (check->db, FALSE, 1, "; ", &check->problems, NULL);
  return NULL;
}

/* Waits for the source's check and ends its transaction.
 *
 * Returns: whether the database passed it; otherwise @error says why (cancelled, or
 *   damaged: #MW_ENGINE_ERROR_CORRUPT) */
static gboolean
source_check_finish (SourceCheck   *check,
                     const char    *database_path,
                     GCancellable  *cancellable,
                     GError       **error)
{
  gboolean ok;

  if (check->thread == NULL)
    return FALSE;
  g_thread_join (g_steal_pointer (&check->thread));
  sqlite3_progress_handler (check->db, 0, NULL, NULL);
  sqlite3_exec (check->db, "COMMIT", NULL, NULL, NULL);
  ok = check->ok;
  if (!ok && !g_cancellable_set_error_if_cancelled (cancellable, error))
    g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                 _("The database %s failed its check while it was backed up: %s"), database_path,
                 check->problems ? check->problems : sqlite3_errmsg (check->db));
  g_clear_pointer (&check->problems, g_free);
  return ok;
}

/* The copy's fraction: the bar's limit while the source's check runs beside it, else
 * the bar itself (@ticker). */
typedef struct
{
  gint      millionths;   /* (atomic) */
  MwTicker *ticker;
  int       fd;           /* the copy, to start its write-back as it grows */
  guint     steps;
} CopyFraction;

/* Every few steps of the copy, the disk is given what SQLite has written so far
 * (Linux): the flush at the end then has little left to wait for, and the kernel's
 * work after each write (on ext4, marking the written blocks) comes in small pieces
 * instead of one burst of a gigabyte that takes a core from the window for tens of
 * milliseconds at a time. */
#define COPY_STEPS_PER_WRITE_BACK 4

static void
copy_fraction_cb (double   fraction,
                  gpointer data)
{
  CopyFraction *copy = data;

  g_atomic_int_set (&copy->millionths, (gint) (fraction * 1e6));
  if (copy->ticker != NULL)
    mw_ticker_show (copy->ticker, fraction);
#ifdef __linux__
  if (copy->fd >= 0 && ++copy->steps % COPY_STEPS_PER_WRITE_BACK == 0)
    sync_file_range (copy->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
}

static double
copy_fraction (gpointer data)
{
  CopyFraction *copy = data;

  return g_atomic_int_get (&copy->millionths) / 1e6;
}

/* ---- making a backup -------------------------------------------------------------------- */

/* Makes a verified backup of what @src sees. @src must not be in a transaction; the
 * migrator holds the write lock on its own connection and lets this one read
 * (@writes_excluded).
 *
 * The proof, in the time of the copy and one read of it:
 *  - SQLite's quick_check of the database, on the other core while the copy is made,
 *    on a connection reading the very snapshot the copy is made from;
 *  - the copy read back (hashed for the sidecar meanwhile): every page is, byte for
 *    byte, what SQLite's backup wrote there, and there are exactly those pages
 *    (mw-page-record.c); the copy opened by SQLite: its page count, its migrations;
 *  - flushed to disk meanwhile, all before the rename.
 * A copy equal to pages that passed quick_check passes it too (quick_check reads
 * only the file, and SQLite's backup changes nothing but page 1's header counters).
 * When the two cannot be set up so (the snapshot cannot be shared, a write the record
 * did not expect), the copy itself is quick_checked after it is made, as before. */
static MwBackup *
mw_backup_create_from_connection (sqlite3         *src,
                                  const char      *database_path,
                                  const char      *backup_dir,
                                  MwBackupReason   reason,
                                  MwMigrationSet  *set,
                                  gboolean         writes_excluded,
                                  MwProgress      *progress,
                                  GCancellable    *cancellable,
                                  GError         **error)
{
  g_autoptr(MwBackup) self = mw_backup_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *given_dir = backup_dir ? g_strdup (backup_dir) : mw_backup_default_dir (database_path);
  g_autofree char *dir = g_canonicalize_filename (given_dir, NULL);
  g_autofree char *tmp = NULL, *base = NULL, *tmp_name = NULL, *journal = NULL;
  g_autoptr(sqlite3) check = NULL;
  g_autoptr(MwPageRecord) record = NULL;
  SourceCheck source = { NULL };
  CopyFraction copied = { .fd = -1 };
  HashJob hash_job = { .fd = -1 };
  g_autoptr(MwTicker) ticker = NULL;
  gboolean proven_by_record;
  int pages = -1;
  gint64 check_pages;
  GStatBuf st;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      mw_fs_set_error (error, errno, _("Cannot create the backup folder %s"), dir);
      return NULL;
    }
  if (!mw_fs_private_dir (dir, error))
    return NULL;

  self->created = g_date_time_ref (now);
  self->reason = reason;
  self->source = g_canonicalize_filename (database_path, NULL);
  self->sqlite_version = g_strdup (sqlite3_libversion ());
  self->path = pick_name (dir, now);
  self->sidecar_path = g_strconcat (self->path, ".json", NULL);
  base = g_path_get_basename (self->path);
  tmp_name = g_strconcat (".", base, ".tmp", NULL);
  tmp = g_build_filename (dir, tmp_name, NULL);
  journal = g_strconcat (tmp, "-journal", NULL);

  /* Created new and private here, so SQLite opens our own empty file and nothing
   * planted at the name; its fd is kept until SQLite is done with the file (closing an
   * fd of a database drops the process's POSIX locks on it). */
  copied.fd = mw_fs_create_exclusive (tmp, 0600, error);
  if (copied.fd < 0)
    return NULL;
  ticker = mw_ticker_new (progress, cancellable);
  mw_ticker_restart (ticker, _("Making a backup of the database"));

  source.db = begin_same_snapshot (src, database_path, writes_excluded);
  if (source.db != NULL)
    {
      record = mw_page_record_new ();
      /* The bar: the slower of the check and the copy. */
      mw_ticker_expect_file_check (ticker, source.db, FALSE);
      mw_ticker_set_limit (ticker, copy_fraction, &copied);
      mw_ticker_install (ticker, source.db);
      source.thread = g_thread_new ("mw-backup-check", source_check_thread, &source);
    }
  else
    {
      g_debug ("The database is checked through its copy");
      copied.ticker = ticker;
    }

  if (!mw_copy_through_sqlite_full (src, tmp, record, copy_fraction_cb, &copied, cancellable,
                                    &pages, error))
    goto failed;
  if (source.db != NULL)
    sqlite3_exec (src, "COMMIT", NULL, NULL, NULL);
  proven_by_record = source.db != NULL && mw_page_record_usable (record);

  /* The copy read back (and hashed) on the other core once the check is done there,
   * flushed to disk meanwhile. */
  if (!hash_job_start (&hash_job, tmp, TRUE, proven_by_record ? record : NULL, cancellable,
                       error))
    goto failed;
  /* Compared only when the copy could be mapped; otherwise SQLite checks it. */
  proven_by_record = hash_job.record != NULL;
  if (source.db != NULL)
    {
      /* The bar: the hash from 0 (the check beside it, which ran with the copy, has
       * less left; without it check_copy() below starts the phase). */
      mw_ticker_follow (ticker, _("Checking the backup"), hash_fraction, &hash_job);
      if (!source_check_finish (&source, database_path, cancellable, error))
        goto failed;
      g_clear_pointer (&source.db, mw_db_close);
    }

  if (proven_by_record)
    {
      mw_ticker_set_limit (ticker, NULL, NULL);
      check = mw_db_open (tmp, SQLITE_OPEN_READONLY, BACKUP_BUSY_TIMEOUT_MS, error);
    }
  else
    {
      mw_ticker_restart (ticker, _("Checking the backup"));
      check = check_copy (tmp, self->path, &hash_job, ticker, cancellable, error);
    }
  if (check == NULL || !read_level (check, set, self, error))
    goto failed;
  check_pages = mw_db_query_int (check, "PRAGMA page_count", -1);
  if (check_pages != pages)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                   _("The backup %s has %d pages where the database had %d."), self->path,
                   (int) check_pages, pages);
      goto failed;
    }
  g_clear_pointer (&check, mw_db_close);

  self->sha256 = hash_job_finish (&hash_job, ticker, error);
  close (copied.fd);
  copied.fd = -1;
  if (self->sha256 == NULL)
    goto failed;
  if (g_lstat (tmp, &st) != 0)
    {
      mw_fs_set_error (error, errno, _("Cannot read %s"), tmp);
      goto failed;
    }
  self->size = st.st_size;
  self->verified = TRUE;

  if (g_rename (tmp, self->path) != 0)
    {
      mw_fs_set_error (error, errno, _("Cannot put the backup in place at %s"), self->path);
      goto failed;
    }
  if (!mw_fsync_path (dir, TRUE, error) || !write_sidecar (self, error))
    return NULL;

  return g_steal_pointer (&self);

failed:
  g_clear_pointer (&check, mw_db_close);
  if (source.db != NULL)
    {
      /* The copy failed while the source's check goes on: stopped, not waited for. */
      if (source.thread != NULL)
        {
          sqlite3_interrupt (source.db);
          source_check_finish (&source, database_path, NULL, NULL);
        }
      g_clear_pointer (&source.db, mw_db_close);
      sqlite3_exec (src, "ROLLBACK", NULL, NULL, NULL);
    }
  if (hash_job.started)
    g_free (hash_job_finish (&hash_job, NULL, NULL));
  if (copied.fd >= 0)
    close (copied.fd);
  /* Only our own temporary file: never anything that was there before. */
  g_unlink (tmp);
  g_unlink (journal);
  return NULL;
}

static MwBackup *
backup_create (const char      *database_path,
               const char      *backup_dir,
               MwBackupReason   reason,
               MwMigrationSet  *set,
               gboolean         writes_excluded,
               MwProgress      *progress,
               GCancellable    *cancellable,
               GError         **error)
{
  g_autoptr(sqlite3) src = NULL;

  g_return_val_if_fail (database_path != NULL, NULL);

  if (!mw_fs_check_database_file (database_path, error))
    return NULL;
  if (!g_file_test (database_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_DATABASE_MISSING,
                   _("There is no database at %s to back up."), database_path);
      return NULL;
    }

  /* Whatever SQLite would change of the set just by opening it (a hot or foreign
   * journal) is first copied aside, byte for byte. */
  if (!mw_set_protect (database_path, backup_dir, NULL, error))
    return NULL;

  /* Read-write so that SQLite can roll back a hot journal and read a WAL database;
   * query_only so that this connection itself never writes; committed data in the
   * -wal stays there (open_reader()). */
  src = open_reader (database_path, error);
  if (src == NULL)
    return NULL;

  return mw_backup_create_from_connection (src, database_path, backup_dir, reason, set,
                                           writes_excluded, progress, cancellable, error);
}

/**
 * mw_backup_create:
 * @backup_dir: (nullable): where to put it; default `backups/` beside the database
 * @set: (nullable): the app's migrations, to record the backup's migration level by tag
 * @progress: (nullable): receives the copy's progress
 *
 * Makes a verified backup of @database_path. On any failure nothing is left behind
 * but what was there before.
 *
 * Returns: (transfer full): the backup, or %NULL with @error set
 */
MwBackup *
mw_backup_create (const char      *database_path,
                  const char      *backup_dir,
                  MwBackupReason   reason,
                  MwMigrationSet  *set,
                  MwProgress      *progress,
                  GCancellable    *cancellable,
                  GError         **error)
{
  return backup_create (database_path, backup_dir, reason, set, FALSE, progress, cancellable,
                        error);
}

/**
 * mw_backup_create_locked:
 *
 * mw_backup_create() for a caller that holds the database's write lock on a
 * connection of its own and has not written through it.
 */
MwBackup *
mw_backup_create_locked (const char      *database_path,
                         const char      *backup_dir,
                         MwBackupReason   reason,
                         MwMigrationSet  *set,
                         MwProgress      *progress,
                         GCancellable    *cancellable,
                         GError         **error)
{
  return backup_create (database_path, backup_dir, reason, set, TRUE, progress, cancellable,
                        error);
}

typedef struct
{
  char           *database_path;
  char           *backup_dir;
  MwBackupReason  reason;
  MwMigrationSet *set;
  MwProgress     *progress;
} CreateData;

static void
create_data_free (CreateData *data)
{
  g_free (data->database_path);
  g_free (data->backup_dir);
  g_clear_object (&data->set);
  g_clear_object (&data->progress);
  g_free (data);
}

static void
create_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  CreateData *data = task_data;
  GError *error = NULL;
  MwBackup *backup;

  backup = mw_backup_create (data->database_path, data->backup_dir, data->reason, data->set,
                             data->progress, cancellable, &error);
  if (backup != NULL)
    g_task_return_pointer (task, backup, (GDestroyNotify) mw_backup_unref);
  else
    g_task_return_error (task, error);
}

/**
 * mw_backup_create_async:
 *
 * Runs mw_backup_create() in a worker thread.
 */
void
mw_backup_create_async (const char          *database_path,
                        const char          *backup_dir,
                        MwBackupReason       reason,
                        MwMigrationSet      *set,
                        MwProgress          *progress,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  CreateData *data = g_new0 (CreateData, 1);

  data->database_path = g_strdup (database_path);
  data->backup_dir = g_strdup (backup_dir);
  data->reason = reason;
  data->set = set ? g_object_ref (set) : NULL;
  data->progress = progress ? g_object_ref (progress) : NULL;
  g_task_set_source_tag (task, mw_backup_create_async);
  g_task_set_task_data (task, data, (GDestroyNotify) create_data_free);
  g_task_run_in_thread (task, create_thread);
}

MwBackup *
mw_backup_create_finish (GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * mw_backup_record_set:
 * @set_path: the set kept aside, as it is now named
 * @set_sha256: its mw_set_digest(), which equals the database's when this backup was
 *   made
 *
 * Records in the backup's sidecar that it holds exactly that set: only then may
 * retention remove the set (mw_prune_aside_sets()).
 */
gboolean
mw_backup_record_set (MwBackup    *self,
                      const char  *set_path,
                      const char  *set_sha256,
                      GError     **error)
{
  g_return_val_if_fail (self != NULL && set_path != NULL && set_sha256 != NULL, FALSE);

  g_free (self->holds_set);
  self->holds_set = g_path_get_basename (set_path);
  g_free (self->holds_set_sha256);
  self->holds_set_sha256 = g_strdup (set_sha256);
  return write_sidecar (self, error);
}

/**
 * mw_backup_record_aside:
 * @before_sha256: (nullable): the set's digest before @backup was made of it
 *
 * Once a set was moved aside: when it is still, byte for byte, what @backup was made
 * of, the backup's sidecar says so, and retention may one day remove the set. For
 * restore and the fresh start, which back a database up before moving it aside.
 */
void
mw_backup_record_aside (MwBackup   *backup,
                         const char *before_sha256,
                         const char *aside)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *now = NULL;

  if (backup == NULL || before_sha256 == NULL)
    return;
  now = mw_set_digest (aside, &error);
  if (now == NULL || !g_str_equal (now, before_sha256))
    {
      g_message ("%s changed between its backup and its move: it is kept for good%s%s", aside,
                 error ? ": " : "", error ? error->message : "");
      return;
    }
  if (!mw_backup_record_set (backup, aside, now, &error))
    g_message ("Could not record in %s that it holds %s (the set is kept for good): %s",
               backup->sidecar_path, aside, error->message);
}

/* ---- listing and checking ------------------------------------------------------------ */

static int
compare_newest_first (gconstpointer a,
                      gconstpointer b)
{
  const MwBackup *x = *(MwBackup * const *) a;
  const MwBackup *y = *(MwBackup * const *) b;
  int by_time = g_date_time_compare (y->created, x->created);

  return by_time != 0 ? by_time : g_strcmp0 (y->path, x->path);
}

/**
 * mw_backup_list:
 *
 * Returns: (transfer full) (element-type MwBackup): the backups in @backup_dir, newest
 *   first; an empty array when the folder does not exist
 */
GPtrArray *
mw_backup_list (const char  *backup_dir,
                GError     **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) mw_backup_unref);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *name;

  dir = g_dir_open (backup_dir, 0, &local_error);
  if (dir == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&list);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL, *sidecar = NULL;

      if (!g_str_has_prefix (name, BACKUP_PREFIX) || !g_str_has_suffix (name, ".db"))
        continue;
      path = g_build_filename (backup_dir, name, NULL);
      sidecar = g_strconcat (path, ".json", NULL);
      g_ptr_array_add (list, read_sidecar (path, sidecar));
    }

  g_ptr_array_sort (list, compare_newest_first);
  return g_steal_pointer (&list);
}

/**
 * mw_backup_verify:
 * @progress: (nullable): receives the check's progress (Checking the backup)
 *
 * The full check before a backup is trusted for a restore: the recorded size and
 * SHA-256, and SQLite's quick_check, the two side by side. On failure the backup is
 * marked unverified, with the reason in `problem`.
 */
gboolean
mw_backup_verify (MwBackup      *self,
                  MwProgress    *progress,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autoptr(sqlite3) db = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GError) hash_error = NULL;
  g_autofree char *sha = NULL;
  HashJob hash_job = { .fd = -1 };
  g_autoptr(MwTicker) ticker = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  if (!self->verified)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                   _("The backup %s cannot be trusted: %s"), self->path,
                   self->problem ? self->problem : "it was never verified");
      return FALSE;
    }

  ticker = mw_ticker_new (progress, cancellable);
  mw_ticker_restart (ticker, _("Checking the backup"));
  if (hash_job_start (&hash_job, self->path, FALSE, NULL, cancellable, &local_error))
    {
      db = check_copy (self->path, self->path, &hash_job, ticker, cancellable, &local_error);
      g_clear_pointer (&db, mw_db_close);
    }
  /* After the check's connection is closed (POSIX locks), and even when it failed:
   * a file whose bytes changed since is best told as that. */
  if (hash_job.started)
    sha = hash_job_finish (&hash_job, local_error == NULL ? ticker : NULL, &hash_error);
  if (sha != NULL && g_strcmp0 (sha, self->sha256) != 0)
    {
      g_clear_error (&local_error);
      g_set_error (&local_error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                   _("The backup %s has changed since it was made (its SHA-256 differs)."),
                   self->path);
    }
  else if (local_error == NULL && hash_error != NULL)
    local_error = g_steal_pointer (&hash_error);

  if (local_error != NULL)
    {
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          self->verified = FALSE;
          g_free (self->problem);
          self->problem = g_strdup (local_error->message);
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}
