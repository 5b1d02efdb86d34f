/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-gui"

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "mw-support.h"

/*
 * Diagnostics for technicians: database facts, the text copied to the clipboard and
 * the support bundle. A bundle holds no customer rows (no table is ever read but the
 * schema's pragmas and __drizzle_migrations, through the diagnosis), and every free
 * text in it (log, error messages, failed SQL) goes through mw_support_redact(),
 * because a failed statement or an error can quote values such as password hashes
 * or licence keys.
 */

void
mw_database_facts_free (MwDatabaseFacts *facts)
{
  if (facts == NULL)
    return;
  g_free (facts->path);
  g_free (facts->journal_mode);
  g_free (facts->encoding);
  g_free (facts->error);
  g_free (facts);
}

static goffset
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (goffset) st.st_size : -1;
}

static gint64
pragma_int (sqlite3    *db,
            const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}

static char *
pragma_text (sqlite3    *db,
             const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  char *value = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return value;
}

/**
 * mw_database_facts_read:
 *
 * Reads the file's sizes and header facts through SQLite, read-only (a missing
 * file is not created). Blocks for at most a second when another program holds
 * the database.
 */
MwDatabaseFacts *
mw_database_facts_read (const char *database_path)
{
  MwDatabaseFacts *facts = g_new0 (MwDatabaseFacts, 1);
  g_autofree char *wal = g_strconcat (database_path, "-wal", NULL);
  sqlite3 *db = NULL;

  facts->path = g_strdup (database_path);
  facts->size = file_size (database_path);
  facts->wal_size = MAX (file_size (wal), 0);
  facts->page_size = facts->page_count = facts->freelist_count = -1;

  if (facts->size < 0)
    {
      facts->error = g_strdup (_("The file does not exist."));
      return facts;
    }
  if (sqlite3_open_v2 (database_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    {
      facts->error = g_strdup (db ? sqlite3_errmsg (db) : "out of memory");
      sqlite3_close (db);
      return facts;
    }
  sqlite3_busy_timeout (db, 1000);
  facts->page_size = pragma_int (db, "PRAGMA page_size");
  facts->page_count = pragma_int (db, "PRAGMA page_count");
  facts->freelist_count = pragma_int (db, "PRAGMA freelist_count");
  facts->journal_mode = pragma_text (db, "PRAGMA journal_mode");
  facts->encoding = pragma_text (db, "PRAGMA encoding");
  if (facts->page_count < 0)
    facts->error = g_strdup (sqlite3_errmsg (db));
  sqlite3_close (db);
  return facts;
}

static void
facts_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  g_task_return_pointer (task, mw_database_facts_read (task_data),
                         (GDestroyNotify) mw_database_facts_free);
}

void
mw_database_facts_read_async (const char          *database_path,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, mw_database_facts_read_async);
  g_task_set_task_data (task, g_strdup (database_path), g_free);
  g_task_run_in_thread (task, facts_thread);
}

MwDatabaseFacts *
mw_database_facts_read_finish (GAsyncResult  *result,
                               GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * mw_support_redact:
 *
 * Masks what may be a secret in free text: password hashes (bcrypt, argon2,
 * scrypt/pbkdf2 forms), licence-key-like groups, long hex or base64 runs, and the
 * value of anything named like a password, PIN, token, secret or key.
 *
 * Returns: (transfer full): the text with each such value replaced by [redacted]
 */
char *
mw_support_redact (const char *text)
{
  static const char * const patterns[] = {
    /* name = 'value', name: value, "name":"value" */
    "(?i)((?:password|passwd|pin|secret|token|api[_-]?key|licen[cs]e[_-]?key|"
    "private[_-]?key|salt|hash)[\"']?\\s*[:=]\\s*)(\"[^\"]*\"|'[^']*'|[^\\s,;)]+)",
    /* modular crypt hashes */
    "\\$(?:2[abxy]?|argon2(?:id|i|d)|scrypt|pbkdf2[-_a-z0-9]*|[156])\\$[^\\s'\",;)]+",
    /* licence keys: groups of 4-6 capitals/digits joined by dashes */
    "\\b[A-Z0-9]{4,6}(?:-[A-Z0-9]{4,6}){3,}\\b",
    /* long hex or base64 runs: hashes, keys, tokens */
    "\\b[0-9a-fA-F]{32,}\\b",
    "[A-Za-z0-9+/]{40,}={0,2}",
  };
  g_autofree char *result = g_strdup (text ? text : "");

  for (guint i = 0; i < G_N_ELEMENTS (patterns); i++)
    {
      g_autoptr(GRegex) regex = g_regex_new (patterns[i], G_REGEX_OPTIMIZE, 0, NULL);
      char *next;

      g_assert (regex != NULL);
      next = g_regex_replace (regex, result, -1, 0, i == 0 ? "\\1[redacted]" : "[redacted]",
                              0, NULL);
      if (next != NULL)
        {
          g_free (result);
          result = next;
        }
    }
  return g_steal_pointer (&result);
}

static void
append_size (GString    *out,
             const char *name,
             goffset     bytes)
{
  g_string_append_printf (out, "%s: %" G_GOFFSET_FORMAT " bytes (%.1f MB)\n", name, bytes,
                          (double) bytes / (1024.0 * 1024.0));
}

/**
 * mw_support_diagnostics_text:
 * @facts: (nullable)
 *
 * Returns: (transfer full): a plain-text summary a technician can paste into a
 *   ticket: versions, paths, state, migration table, database facts
 */
char *
mw_support_diagnostics_text (MwDiagnosis           *diagnosis,
                             const MwSettings *options,
                             MwDatabaseFacts       *facts)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "Migration Wizard %s, SQLite %s, GLib %u.%u.%u\n",
                          PACKAGE_VERSION, sqlite3_libversion (), glib_major_version,
                          glib_minor_version, glib_micro_version);
  g_string_append_printf (out, "Database: %s\n", options->database);
  g_string_append_printf (out, "Backups: %s\n", options->backup_dir);
  if (diagnosis != NULL)
    {
      g_autofree char *message = mw_support_redact (diagnosis->message);

      g_string_append_printf (out, "State: %s\n", mw_state_to_string (diagnosis->state));
      g_string_append_printf (out, "Message: %s\n", message);
      if (diagnosis->detail != NULL)
        {
          g_autofree char *detail = mw_support_redact (diagnosis->detail);

          g_string_append_printf (out, "Detail: %s\n", detail);
        }
      if (diagnosis->set != NULL)
        g_string_append_printf (out, "Migrations: %s\n",
                                mw_migration_set_get_folder (diagnosis->set));
      g_string_append_printf (out, "Applied: %u, pending: %u (out of order: %u), modified: %u\n",
                              diagnosis->n_applied, diagnosis->n_pending,
                              diagnosis->n_out_of_order, diagnosis->n_modified);
      if (diagnosis->lock_pid > 0)
        g_string_append_printf (out, "Held by: %s (pid %d)\n",
                                diagnosis->lock_process ? diagnosis->lock_process : "?",
                                diagnosis->lock_pid);
      for (guint i = 0; diagnosis->migrations && i < diagnosis->migrations->len; i++)
        {
          MwMigrationState *m = &g_array_index (diagnosis->migrations, MwMigrationState, i);

          g_string_append_printf (out, "  %-40s %13" G_GINT64_FORMAT " %.12s %s\n",
                                  m->migration->tag, m->migration->when, m->migration->hash,
                                  mw_migration_status_to_string (m->status));
        }
      for (guint i = 0; diagnosis->unknown && i < diagnosis->unknown->len; i++)
        {
          MwAppliedRow *row = g_ptr_array_index (diagnosis->unknown, i);

          g_string_append_printf (out, "  unknown row: hash %.12s created_at %" G_GINT64_FORMAT "\n",
                                  row->hash ? row->hash : "", row->created_at);
        }
    }
  if (facts != NULL)
    {
      append_size (out, "Size", facts->size);
      append_size (out, "WAL size", facts->wal_size);
      g_string_append_printf (out, "Page size: %" G_GINT64_FORMAT ", pages: %" G_GINT64_FORMAT
                              ", free pages: %" G_GINT64_FORMAT "\n",
                              facts->page_size, facts->page_count, facts->freelist_count);
      g_string_append_printf (out, "Journal mode: %s, encoding: %s\n",
                              facts->journal_mode ? facts->journal_mode : "?",
                              facts->encoding ? facts->encoding : "?");
      if (facts->error != NULL)
        g_string_append_printf (out, "Could not read: %s\n", facts->error);
    }

  return g_string_free (out, FALSE);
}

/**
 * mw_support_write_bundle:
 * @log: (nullable): the operation log
 *
 * Writes one JSON file with everything a support technician needs: versions,
 * options, the diagnosis (migration table, unknown rows), database facts, the
 * backups' descriptions and the operation log. No table rows; free texts redacted.
 */
gboolean
mw_support_write_bundle (const char             *path,
                         MwDiagnosis            *diagnosis,
                         const MwSettings       *options,
                         MwDatabaseFacts        *facts,
                         const char             *log,
                         GError                **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GPtrArray) backups = mw_backup_list (options->backup_dir, NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *created = g_date_time_format_iso8601 (now);
  g_autofree char *text = NULL;
  g_autofree char *log_redacted = mw_support_redact (log);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "bundle");
  json_builder_add_string_value (builder, "migration-wizard support bundle");
  json_builder_set_member_name (builder, "created");
  json_builder_add_string_value (builder, created);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, PACKAGE_VERSION);
  json_builder_set_member_name (builder, "sqlite_version");
  json_builder_add_string_value (builder, sqlite3_libversion ());
  json_builder_set_member_name (builder, "database");
  json_builder_add_string_value (builder, options->database);
  json_builder_set_member_name (builder, "backup_dir");
  json_builder_add_string_value (builder, options->backup_dir);

  if (diagnosis != NULL)
    {
      g_autoptr(JsonBuilder) inner = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *detail = mw_support_redact (diagnosis->detail);
      g_autofree char *message = mw_support_redact (diagnosis->message);

      /* The engine's messages are free text: redacted; the migrations' own
       * hashes stay readable. */
      mw_diagnosis_to_json (diagnosis, inner);
      node = json_builder_get_root (inner);
      json_object_set_string_member (json_node_get_object (node), "message", message);
      json_object_set_string_member (json_node_get_object (node), "detail", detail);
      json_builder_set_member_name (builder, "diagnosis");
      json_builder_add_value (builder, g_steal_pointer (&node));
    }

  if (facts != NULL)
    {
      json_builder_set_member_name (builder, "facts");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, facts->size);
      json_builder_set_member_name (builder, "wal_size");
      json_builder_add_int_value (builder, facts->wal_size);
      json_builder_set_member_name (builder, "page_size");
      json_builder_add_int_value (builder, facts->page_size);
      json_builder_set_member_name (builder, "page_count");
      json_builder_add_int_value (builder, facts->page_count);
      json_builder_set_member_name (builder, "freelist_count");
      json_builder_add_int_value (builder, facts->freelist_count);
      json_builder_set_member_name (builder, "journal_mode");
      json_builder_add_string_value (builder, facts->journal_mode);
      json_builder_set_member_name (builder, "error");
      json_builder_add_string_value (builder, facts->error);
      json_builder_end_object (builder);
    }

  json_builder_set_member_name (builder, "backups");
  json_builder_begin_array (builder);
  for (guint i = 0; backups != NULL && i < backups->len; i++)
    mw_backup_to_json (g_ptr_array_index (backups, i), builder);
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "log");
  json_builder_add_string_value (builder, log_redacted);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}
