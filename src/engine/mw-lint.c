/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-lint"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>
#include <sqlite3.h>

#include "mw-db-private.h"
#include "mw-error.h"
#include "mw-lint.h"
#include "mw-schema.h"

/*
 * A check the app's developers run before they ship a release, so that the incidents
 * this wizard rescues shops from never reach a shop. Each migration is run, statement
 * by statement, on empty in-memory databases exactly as `migrate` runs it — one the
 * way the app's driver (better-sqlite3, built with SQLITE_DQS=0) reads SQL, one the way
 * a default SQLite build does, so a double-quoted name taken as a text value shows up
 * as the difference between the two. What it finds, with file and line:
 *
 *  errors (a shop meets a failure, a skipped update or lost rows): a `when` older than
 *  its predecessor's (drizzle-orm skips it on every upgraded install), a piece with no
 *  statement or several, a statement that ends the transaction, a statement that fails
 *  on a new database (an SQL function this SQLite lacks among them), a double-quoted
 *  name, a table rebuild of a parent with ON DELETE CASCADE children (drizzle-orm's
 *  migrate() empties them: #5782), a rebuild that gives a new NOT NULL column no value;
 *  and with --since the previous release's folder: applied migrations whose bytes
 *  changed, removed entries, a regenerated baseline;
 *
 *  warnings: a DROP of a table or a column, SQL files the journal does not name,
 *  snapshots missing or disagreeing with what the SQL builds.
 */

static void
finding_free (MwLintFinding *f)
{
  g_free (f->code);
  g_free (f->file);
  g_free (f->message);
  g_free (f);
}

void
mw_lint_report_free (MwLintReport *report)
{
  if (report == NULL)
    return;
  g_free (report->folder);
  g_free (report->since);
  g_ptr_array_unref (report->findings);
  g_free (report->offer);
  g_free (report);
}

static void add_finding (MwLintReport   *report,
                         MwLintSeverity  severity,
                         const char     *code,
                         const char     *file,
                         guint           line,
                         const char     *format,
                         ...) G_GNUC_PRINTF (6, 7);

static void
add_finding (MwLintReport   *report,
             MwLintSeverity  severity,
             const char     *code,
             const char     *file,
             guint           line,
             const char     *format,
             ...)
{
  MwLintFinding *f = g_new0 (MwLintFinding, 1);
  va_list args;

  f->severity = severity;
  f->code = g_strdup (code);
  f->file = g_strdup (file);
  f->line = line;
  va_start (args, format);
  f->message = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (report->findings, f);
  if (severity == MW_LINT_ERROR)
    report->n_errors++;
  else
    report->n_warnings++;
}

/* ---- reading the files ---------------------------------------------------------------- */

static char *
relative_to (const char *folder,
             const char *path)
{
  g_autofree char *prefix = g_strconcat (folder, G_DIR_SEPARATOR_S, NULL);

  return g_str_has_prefix (path, prefix) ? g_strdup (path + strlen (prefix)) : g_strdup (path);
}

static guint
line_at (const char *text,
         gsize       offset)
{
  guint line = 1;

  for (gsize i = 0; i < offset && text[i] != '\0'; i++)
    if (text[i] == '\n')
      line++;
  return line;
}

/* Where piece @index starts in the file, as drizzle-orm splits it (a plain split on
 * the breakpoint, no trimming), past its leading blank lines and comments. */
static guint
piece_line (const char        *text,
            const MwMigration *m,
            guint              index)
{
  static const char breakpoint[] = "--> statement-breakpoint";
  gsize offset = 0;
  const char *piece;

  if (text == NULL)
    return 0;
  for (guint i = 0; i < index; i++)
    offset += strlen (g_ptr_array_index (m->statements, i)) + strlen (breakpoint);
  piece = g_ptr_array_index (m->statements, index);
  for (const char *p = piece; *p != '\0'; p++)
    {
      if (g_ascii_isspace (*p))
        continue;
      if (p[0] == '-' && p[1] == '-')
        {
          while (p[1] != '\0' && p[1] != '\n')
            p++;
          continue;
        }
      offset += (gsize) (p - piece);
      break;
    }
  return line_at (text, offset);
}

static guint
journal_line (const char *journal_text,
              const char *tag)
{
  g_autofree char *needle = g_strdup_printf ("\"%s\"", tag);
  const char *at = journal_text ? strstr (journal_text, needle) : NULL;

  return at ? line_at (journal_text, (gsize) (at - journal_text)) : 0;
}

/* ---- running the migrations ------------------------------------------------------------ */

static sqlite3 *
open_scratch (gboolean double_quoted_strings)
{
  sqlite3 *db = mw_db_open (":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0, NULL);

  if (db == NULL)
    return NULL;
  /* SQLITE_DQS=0 is how the app's driver reads SQL; the other is a default build. */
  sqlite3_db_config (db, SQLITE_DBCONFIG_DQS_DML, double_quoted_strings ? 1 : 0, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_DQS_DDL, double_quoted_strings ? 1 : 0, NULL);
  mw_db_exec (db, "PRAGMA foreign_keys = OFF", NULL);
  mw_db_exec (db, "BEGIN", NULL);
  return db;
}

static gboolean
is_transaction_control (const char *sql)
{
  static const char * const keywords[] = {
    "BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "ATTACH", "DETACH",
  };
  gsize len = 0;

  while (g_ascii_isalpha (sql[len]))
    len++;
  for (guint i = 0; i < G_N_ELEMENTS (keywords); i++)
    if (len == strlen (keywords[i]) && g_ascii_strncasecmp (sql, keywords[i], len) == 0)
      return TRUE;
  return FALSE;
}

/* Runs one piece; %SQLITE_OK, or the failure with SQLite's message in @out_message. */
static int
run_piece (sqlite3     *db,
           const char  *piece,
           char       **out_message)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, piece, -1, &stmt, NULL);

  if (rc == SQLITE_OK && stmt != NULL)
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      ;
  if (rc == SQLITE_DONE)
    rc = SQLITE_OK;
  if (rc != SQLITE_OK && out_message != NULL)
    *out_message = g_strdup (sqlite3_errmsg (db));
  sqlite3_finalize (stmt);
  return rc;
}

static GRegex *
regex (const char *pattern)
{
  return g_regex_new (pattern, G_REGEX_CASELESS | G_REGEX_DOTALL, 0, NULL);
}

/* The tables whose rows a DROP of @table deletes through ON DELETE CASCADE when
 * foreign keys are on (as drizzle-orm's migrate() runs with better-sqlite3). */
static char *
cascade_children (sqlite3    *db,
                  const char *table)
{
  g_autoptr(GString) out = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT DISTINCT m.name FROM sqlite_schema m, "
                              "pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND "
                              "f.\"table\" = ?1 AND upper(f.on_delete) = 'CASCADE' AND "
                              "m.name <> ?1 ORDER BY 1", -1, &stmt, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text (stmt, 1, table, -1, SQLITE_STATIC);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (out, "%s%s", out->len ? ", " : "", sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return out->len ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}

/* A rebuild's INSERT INTO __new_x (columns) SELECT …: the new table's required columns
 * without a default that it gives no value (every shop with rows in x fails there). */
static char *
unfilled_required (sqlite3    *db,
                   const char *new_table,
                   const char *column_list)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *cleaned = g_strdup (column_list);
  g_auto(GStrv) given = NULL;
  sqlite3_stmt *stmt = NULL;

  g_strdelimit (cleaned, "`\"[]", ' ');
  given = g_strsplit (cleaned, ",", -1);
  for (guint i = 0; given[i] != NULL; i++)
    g_strstrip (given[i]);

  if (sqlite3_prepare_v2 (db, "SELECT name FROM pragma_table_xinfo(?1) WHERE \"notnull\" AND "
                              "dflt_value IS NULL AND NOT (pk AND upper(type) = 'INTEGER')",
                          -1, &stmt, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text (stmt, 1, new_table, -1, SQLITE_STATIC);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 0);
      gboolean found = FALSE;

      for (guint i = 0; given[i] != NULL && !found; i++)
        found = g_ascii_strcasecmp (given[i], name) == 0;
      if (!found)
        g_string_append_printf (out, "%s%s", out->len ? ", " : "", name);
    }
  sqlite3_finalize (stmt);
  return out->len ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}

static const char *
skip_comments (const char *sql)
{
  for (;;)
    {
      while (g_ascii_isspace (*sql))
        sql++;
      if (sql[0] == '-' && sql[1] == '-')
        {
          while (*sql != '\0' && *sql != '\n')
            sql++;
          continue;
        }
      if (sql[0] == '/' && sql[1] == '*')
        {
          const char *end = strstr (sql + 2, "*/");

          sql = end ? end + 2 : sql + strlen (sql);
          continue;
        }
      return sql;
    }
}

/* ---- snapshots ---------------------------------------------------------------------- */

static void
check_snapshot (MwLintReport *report,
                sqlite3      *db,
                const char   *folder,
                const char   *snapshot_path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *file = relative_to (folder, snapshot_path);
  g_autoptr(GString) differences = g_string_new (NULL);
  g_autoptr(GHashTable) in_snapshot = g_hash_table_new (g_str_hash, g_str_equal);
  JsonObject *root, *tables;
  GList *names;
  guint n = 0;
  sqlite3_stmt *stmt = NULL;

  if (!g_file_test (snapshot_path, G_FILE_TEST_IS_REGULAR))
    {
      add_finding (report, MW_LINT_WARNING, "snapshot-missing", file, 0,
                   _("The snapshot is missing: drizzle-kit's next `generate` compares with an "
                     "older state and may write a wrong migration."));
      return;
    }
  if (!json_parser_load_from_file (parser, snapshot_path, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      add_finding (report, MW_LINT_WARNING, "snapshot-unreadable", file, 0,
                   _("The snapshot cannot be read as JSON."));
      return;
    }
  root = json_node_get_object (json_parser_get_root (parser));
  tables = json_object_has_member (root, "tables") ? json_object_get_object_member (root, "tables")
                                                   : NULL;
  if (tables == NULL)
    return;

  names = json_object_get_members (tables);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *t = json_object_get_object_member (tables, l->data);
      const char *name = json_object_get_string_member_with_default (t, "name", l->data);
      JsonObject *columns = json_object_has_member (t, "columns")
                            ? json_object_get_object_member (t, "columns") : NULL;
      GList *cols;

      g_hash_table_add (in_snapshot, (gpointer) name);
      if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM pragma_table_xinfo(?1)", -1, &stmt,
                              NULL) != SQLITE_OK)
        continue;
      sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
      if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int (stmt, 0) == 0)
        {
          if (n++ < 3)
            g_string_append_printf (differences, _("%stable %s is in the snapshot only"),
                                    differences->len ? "; " : "", name);
          sqlite3_finalize (stmt);
          continue;
        }
      sqlite3_finalize (stmt);

      cols = columns ? json_object_get_members (columns) : NULL;
      for (GList *c = cols; c != NULL; c = c->next)
        {
          JsonObject *col = json_object_get_object_member (columns, c->data);
          const char *col_name = json_object_get_string_member_with_default (col, "name", c->data);
          const char *type = json_object_get_string_member_with_default (col, "type", "");
          gboolean not_null = json_object_get_boolean_member_with_default (col, "notNull", FALSE);
          gboolean found = FALSE;

          if (sqlite3_prepare_v2 (db, "SELECT type, \"notnull\" FROM pragma_table_xinfo(?1) "
                                      "WHERE name = ?2", -1, &stmt, NULL) != SQLITE_OK)
            continue;
          sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 2, col_name, -1, SQLITE_STATIC);
          if (sqlite3_step (stmt) == SQLITE_ROW)
            {
              found = TRUE;
              if ((g_ascii_strcasecmp ((const char *) sqlite3_column_text (stmt, 0), type) != 0 ||
                   (sqlite3_column_int (stmt, 1) != 0) != not_null) && n++ < 3)
                g_string_append_printf (differences, _("%scolumn %s.%s differs"),
                                        differences->len ? "; " : "", name, col_name);
            }
          sqlite3_finalize (stmt);
          if (!found && n++ < 3)
            g_string_append_printf (differences, _("%scolumn %s.%s is in the snapshot only"),
                                    differences->len ? "; " : "", name, col_name);
        }
      g_list_free (cols);
    }
  g_list_free (names);

  /* Tables the SQL builds that the snapshot does not have. */
  if (sqlite3_prepare_v2 (db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT "
                              "LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '__drizzle_migrations'",
                          -1, &stmt, NULL) == SQLITE_OK)
    while (sqlite3_step (stmt) == SQLITE_ROW)
      if (!g_hash_table_contains (in_snapshot, sqlite3_column_text (stmt, 0)) && n++ < 3)
        g_string_append_printf (differences, _("%stable %s is not in the snapshot"),
                                differences->len ? "; " : "", sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);

  if (n > 0)
    add_finding (report, MW_LINT_WARNING, "snapshot-differs", file, 0,
                 g_dngettext (GETTEXT_PACKAGE,
                              "The snapshot disagrees with what the SQL builds (%u difference: "
                              "%s).",
                              "The snapshot disagrees with what the SQL builds (%u differences: "
                              "%s).", n), n, differences->str);
}

/* ---- the checks ------------------------------------------------------------------------ */

static void
check_migrations (MwLintReport   *report,
                  MwMigrationSet *set)
{
  const char *folder = mw_migration_set_get_folder (set);
  gboolean journal = mw_migration_set_get_format (set) == MW_FOLDER_FORMAT_JOURNAL;
  g_autofree char *journal_path = g_build_filename (folder, "meta", "_journal.json", NULL);
  g_autofree char *journal_text = NULL;
  g_autoptr(sqlite3) strict = open_scratch (FALSE);
  g_autoptr(sqlite3) lax = open_scratch (TRUE);
  g_autoptr(GRegex) rename_re = regex ("ALTER\\s+TABLE\\s+[`\"\\[]?__new_([^`\"\\]\\s]+)[`\"\\]]?"
                                       "\\s+RENAME\\s+TO");
  g_autoptr(GRegex) drop_table_re = regex ("^DROP\\s+TABLE\\s+(?:IF\\s+EXISTS\\s+)?"
                                           "[`\"\\[]?([^`\"\\]\\s;]+)");
  g_autoptr(GRegex) drop_column_re = regex ("^ALTER\\s+TABLE\\s+[`\"\\[]?([^`\"\\]\\s]+)[`\"\\]]?"
                                            "\\s+DROP\\s+(?:COLUMN\\s+)?[`\"\\[]?([^`\"\\]\\s;]+)");
  g_autoptr(GRegex) rebuild_insert_re = regex ("^INSERT\\s+INTO\\s+[`\"\\[]?(__new_[^`\"\\]\\s(]+)"
                                               "[`\"\\]]?\\s*\\(([^)]*)\\)\\s*SELECT");
  gboolean diverged = FALSE;

  if (journal)
    g_file_get_contents (journal_path, &journal_text, NULL, NULL);

  for (guint i = 0; i < mw_migration_set_get_n_migrations (set); i++)
    {
      const MwMigration *m = mw_migration_set_get_migration (set, i);
      g_autofree char *file = relative_to (folder, m->path);
      g_autofree char *text = NULL;
      g_autoptr(GHashTable) rebuilt = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

      g_file_get_contents (m->path, &text, NULL, NULL);

      if (i > 0 && journal && m->when < mw_migration_set_get_migration (set, i - 1)->when)
        add_finding (report, MW_LINT_ERROR, "when-older", "meta/_journal.json",
                     journal_line (journal_text, m->tag),
                     _("“%s” has a `when` older than “%s” before it: drizzle-orm's migrate() "
                       "skips it, forever, on every install that already applied that one."),
                     m->tag, mw_migration_set_get_migration (set, i - 1)->tag);

      for (guint p = 0; p < m->statements->len; p++)
        {
          g_autoptr(GMatchInfo) match = NULL;

          if (g_regex_match (rename_re, g_ptr_array_index (m->statements, p), 0, &match))
            g_hash_table_add (rebuilt, g_match_info_fetch (match, 1));
        }

      for (guint p = 0; p < m->statements->len; p++)
        {
          const char *piece = g_ptr_array_index (m->statements, p);
          const char *sql = skip_comments (piece);
          guint line = piece_line (text, m, p);
          g_autofree char *strict_error = NULL;
          g_autofree char *lax_error = NULL;
          sqlite3_stmt *stmt = NULL;
          const char *tail = NULL;
          int rc_strict = SQLITE_OK, rc_lax;

          if (*sql == '\0')
            {
              add_finding (report, MW_LINT_ERROR, "piece-empty", file, line,
                           _("Statement %u holds no SQL statement: the app's driver refuses it."),
                           p + 1);
              continue;
            }
          if (sqlite3_prepare_v2 (lax, piece, -1, &stmt, &tail) == SQLITE_OK && stmt != NULL &&
              tail != NULL && !mw_sql_is_blank (tail))
            {
              add_finding (report, MW_LINT_ERROR, "piece-statements", file, line,
                           _("Statement %u holds more than one SQL statement (a “--> "
                             "statement-breakpoint” is missing): the app's driver runs only "
                             "the first, or refuses it."), p + 1);
              sqlite3_finalize (stmt);
              break;
            }
          sqlite3_finalize (stmt);
          if (is_transaction_control (sql))
            {
              add_finding (report, MW_LINT_ERROR, "transaction", file, line,
                           _("Statement %u controls transactions itself: drizzle-orm runs every "
                             "migration inside one transaction, so it fails or ends it early."),
                           p + 1);
              continue;
            }

          {
            g_autoptr(GMatchInfo) match = NULL;

            if (g_regex_match (drop_table_re, sql, 0, &match))
              {
                g_autofree char *table = g_match_info_fetch (match, 1);

                if (g_hash_table_contains (rebuilt, table))
                  {
                    g_autofree char *children = cascade_children (lax, table);

                    if (children != NULL)
                      add_finding (report, MW_LINT_ERROR, "cascade-rebuild", file, line,
                                   _("This rebuild drops %s, which %s point at with ON DELETE "
                                     "CASCADE: drizzle-orm's migrate() runs it inside its "
                                     "transaction with foreign keys on (better-sqlite3's "
                                     "default), where “PRAGMA foreign_keys=OFF” does nothing, so "
                                     "every row of %s is deleted (drizzle-orm #5782)."),
                                   table, children, children);
                  }
                else
                  add_finding (report, MW_LINT_WARNING, "drop-table", file, line,
                               _("DROP TABLE %s: every shop's rows in it are deleted."), table);
              }
          }
          {
            g_autoptr(GMatchInfo) match = NULL;

            if (g_regex_match (drop_column_re, sql, 0, &match))
              {
                g_autofree char *table = g_match_info_fetch (match, 1);
                g_autofree char *column = g_match_info_fetch (match, 2);

                add_finding (report, MW_LINT_WARNING, "drop-column", file, line,
                             _("DROP COLUMN %s.%s: every shop's values in it are deleted."),
                             table, column);
              }
          }
          {
            g_autoptr(GMatchInfo) match = NULL;

            if (g_regex_match (rebuild_insert_re, sql, 0, &match))
              {
                g_autofree char *table = g_match_info_fetch (match, 1);
                g_autofree char *columns = g_match_info_fetch (match, 2);
                g_autofree char *missing = unfilled_required (lax, table, columns);

                if (missing != NULL)
                  add_finding (report, MW_LINT_ERROR, "not-null-no-default", file, line,
                               _("The rebuild copies rows into %s without a value for %s, "
                                 "which is NOT NULL without a default: it fails on every shop "
                                 "that has rows there."), table, missing);
              }
          }

          if (!diverged)
            rc_strict = run_piece (strict, piece, &strict_error);
          rc_lax = run_piece (lax, piece, &lax_error);
          if (rc_strict != SQLITE_OK && rc_lax == SQLITE_OK)
            {
              add_finding (report, MW_LINT_ERROR, "double-quoted", file, line,
                           _("Statement %u uses a double-quoted name that is not a column "
                             "(%s): a default SQLite stores it as a text value, the app's "
                             "driver (SQLITE_DQS=0) refuses it. Use single quotes for text."),
                           p + 1, strict_error);
              diverged = TRUE;
            }
          else if (rc_lax != SQLITE_OK)
            {
              gboolean function = strstr (lax_error, "no such function") != NULL;

              add_finding (report, MW_LINT_ERROR, function ? "newer-function" : "fails",
                           file, line,
                           function
                           ? _("Statement %u fails on a new database: %s (SQLite %s here: the "
                               "function is newer, or comes from an extension).")
                           : _("Statement %u fails on a new database: %s (SQLite %s)."),
                           p + 1, lax_error, sqlite3_libversion ());
              break;
            }
        }

      if (journal)
        {
          g_autofree char *name = g_strdup_printf ("%04u_snapshot.json", i);
          g_autofree char *snapshot = g_build_filename (folder, "meta", name, NULL);

          check_snapshot (report, lax, folder, snapshot);
        }
      else
        {
          g_autofree char *dir = g_path_get_dirname (m->path);
          g_autofree char *snapshot = g_build_filename (dir, "snapshot.json", NULL);

          if (g_file_test (snapshot, G_FILE_TEST_EXISTS))
            check_snapshot (report, lax, folder, snapshot);
        }
    }

  /* SQL files the journal does not name: never run, whatever they hold. */
  if (journal)
    {
      g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *tag = NULL;

          if (!g_str_has_suffix (name, ".sql"))
            continue;
          tag = g_strndup (name, strlen (name) - 4);
          if (mw_migration_set_lookup_tag (set, tag) == NULL)
            add_finding (report, MW_LINT_WARNING, "unlisted-file", name, 0,
                         _("The journal does not name this file: drizzle-orm never runs it."));
        }
    }
}

/* --since: what the release does to shops on the previous one. */
static void
check_since (MwLintReport   *report,
             MwMigrationSet *set,
             MwMigrationSet *previous)
{
  guint n_previous = mw_migration_set_get_n_migrations (previous);
  guint n = mw_migration_set_get_n_migrations (set);
  gboolean regenerated = n_previous > 0 && n > 0 &&
                         g_strcmp0 (mw_migration_set_get_migration (previous, 0)->tag,
                                    mw_migration_set_get_migration (set, 0)->tag) != 0;

  if (regenerated)
    add_finding (report, MW_LINT_ERROR, "regenerated-baseline", NULL, 0,
                 _("The baseline was regenerated (“%s” replaces “%s”): no shop's history "
                   "matches this folder; every shop on the previous release meets "
                   "“unknown history”."),
                 mw_migration_set_get_migration (set, 0)->tag,
                 mw_migration_set_get_migration (previous, 0)->tag);
  else
    for (guint i = 0; i < n_previous; i++)
      {
        const MwMigration *old = mw_migration_set_get_migration (previous, i);
        const MwMigration *now = mw_migration_set_lookup_tag (set, old->tag);
        g_autofree char *file = now ? relative_to (mw_migration_set_get_folder (set), now->path)
                                    : NULL;

        if (now == NULL)
          add_finding (report, MW_LINT_ERROR, "removed-entry", NULL, 0,
                       _("“%s”, which shops on the previous release applied, was removed: they "
                         "meet “unknown history”."), old->tag);
        else if (g_strcmp0 (old->hash, now->hash) != 0)
          {
            if (mw_migration_hash_differs_only_in_line_endings (now, old->hash))
              add_finding (report, MW_LINT_WARNING, "changed-line-endings", file, 0,
                           _("Only the line endings of this applied migration changed: "
                             "drizzle-orm's hash differs; the wizard accepts it."));
            else
              add_finding (report, MW_LINT_ERROR, "changed-applied", file, 0,
                           _("This migration, which shops on the previous release applied, "
                             "changed: every one of them meets “updates changed”."));
          }
      }

  /* What those shops will be offered: their tables against this release's levels. */
  {
    g_autoptr(MwReference) before = mw_reference_build (previous, NULL);
    g_autoptr(MwReference) after = mw_reference_build (set, NULL);
    guint n_diffs = 0, exact = G_MAXUINT, level;

    if (before == NULL || after == NULL)
      return;
    level = mw_reference_closest (after, mw_reference_get_schema (before, n_previous), &n_diffs,
                                  &exact);
    if (!regenerated && report->n_errors == 0)
      report->offer = g_strdup (_("Shops on the previous release update as usual: their history "
                                  "fits this folder."));
    else if (exact != G_MAXUINT)
      report->offer = g_strdup_printf (_("Shops on the previous release are offered “Update and "
                                         "Keep My Data”: their tables are exactly this "
                                         "release's at level %u, so their history is "
                                         "re-stamped (no row copied) and the rest applied."),
                                       exact);
    else
      {
        g_autoptr(GPtrArray) diffs = mw_schema_compare (mw_reference_get_schema (after, level),
                                                        mw_reference_get_schema (before,
                                                                                 n_previous));
        g_autoptr(GString) list = g_string_new (NULL);

        for (guint i = 0; i < diffs->len && i < 5; i++)
          {
            g_autofree char *line = mw_schema_diff_to_text (g_ptr_array_index (diffs, i));

            g_string_append_printf (list, "\n  %s", line);
          }
        report->offer = g_strdup_printf (_("Shops on the previous release are offered “Update and "
                                           "Keep My Data”, which carries every row into a new "
                                           "database (their tables differ from every level of "
                                           "this release; closest: level %u, %u differences):%s"),
                                         level, n_diffs, list->str);
      }
  }
}

/**
 * mw_lint:
 * @since: (nullable): the previous release's migrations folder
 *
 * Checks an app's migrations folder before it ships.
 *
 * Returns: (transfer full): the findings, or %NULL when @since cannot be read (a
 *   folder that cannot be read is itself a finding)
 */
MwLintReport *
mw_lint (const char  *folder,
         const char  *since,
         GError     **error)
{
  g_autoptr(MwLintReport) report = g_new0 (MwLintReport, 1);
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(MwMigrationSet) previous = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (folder != NULL, NULL);

  report->folder = g_strdup (folder);
  report->since = g_strdup (since);
  report->findings = g_ptr_array_new_with_free_func ((GDestroyNotify) finding_free);

  if (since != NULL)
    {
      previous = mw_migration_set_load (since, error);
      if (previous == NULL)
        return NULL;
    }
  set = mw_migration_set_load (folder, &local_error);
  if (set == NULL)
    {
      add_finding (report, MW_LINT_ERROR, "invalid-folder", NULL, 0, "%s", local_error->message);
      return g_steal_pointer (&report);
    }

  check_migrations (report, set);
  if (previous != NULL)
    check_since (report, set, previous);
  return g_steal_pointer (&report);
}

/**
 * mw_lint_report_to_text:
 *
 * Returns: (transfer full): one line per finding, `file:line: error|warning: …`, then
 *   the counts and, with --since, what shops on the previous release are offered
 */
char *
mw_lint_report_to_text (MwLintReport *report)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < report->findings->len; i++)
    {
      MwLintFinding *f = g_ptr_array_index (report->findings, i);

      if (f->file != NULL && f->line > 0)
        g_string_append_printf (text, "%s:%u: ", f->file, f->line);
      else if (f->file != NULL)
        g_string_append_printf (text, "%s: ", f->file);
      g_string_append_printf (text, "%s [%s]: %s\n",
                              f->severity == MW_LINT_ERROR ? _("error") : _("warning"), f->code,
                              f->message);
    }
  g_string_append_printf (text, _("%u errors, %u warnings in %s\n"), report->n_errors,
                          report->n_warnings, report->folder);
  if (report->offer != NULL)
    g_string_append_printf (text, "%s\n", report->offer);
  return g_string_free (text, FALSE);
}

void
mw_lint_report_to_json (MwLintReport *report,
                        JsonBuilder  *builder)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "folder");
  json_builder_add_string_value (builder, report->folder);
  json_builder_set_member_name (builder, "since");
  json_builder_add_string_value (builder, report->since);
  json_builder_set_member_name (builder, "errors");
  json_builder_add_int_value (builder, report->n_errors);
  json_builder_set_member_name (builder, "warnings");
  json_builder_add_int_value (builder, report->n_warnings);
  json_builder_set_member_name (builder, "offer");
  json_builder_add_string_value (builder, report->offer);
  json_builder_set_member_name (builder, "findings");
  json_builder_begin_array (builder);
  for (guint i = 0; i < report->findings->len; i++)
    {
      MwLintFinding *f = g_ptr_array_index (report->findings, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "severity");
      json_builder_add_string_value (builder, f->severity == MW_LINT_ERROR ? "error" : "warning");
      json_builder_set_member_name (builder, "code");
      json_builder_add_string_value (builder, f->code);
      json_builder_set_member_name (builder, "file");
      json_builder_add_string_value (builder, f->file);
      json_builder_set_member_name (builder, "line");
      json_builder_add_int_value (builder, f->line);
      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, f->message);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}
