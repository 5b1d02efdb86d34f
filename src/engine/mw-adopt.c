/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-adopt"

#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "mw-adopt.h"
#include "mw-backup-private.h"
#include "mw-db-private.h"
#include "mw-diagnosis.h"
#include "mw-error.h"
#include "mw-fs-private.h"
#include "mw-migrator.h"
#include "mw-operation.h"
#include "mw-schema.h"
#include "mw-thread-private.h"

/*
 * Keeping a shop's data when its history does not fit the app (untracked, unknown
 * history, changed migrations): the original app's worst defect was to send such
 * shops to Start Fresh. Two ways, chosen by proof, never by guess:
 *
 *  - re-stamp: the database's tables are exactly what the app's own migrations build
 *    up to level k (mw-schema.c compares them structurally). Then only the history is
 *    wrong: the migrator rewrites it to what drizzle-orm would have written for 0..k
 *    and applies the rest, in its one transaction, after its verified backup. No row
 *    is copied.
 *
 *  - carry: no level matches (a regenerated baseline that also changed tables, a
 *    legacy database, columns added by hand). A new database is built beside the
 *    original exactly as `migrate` builds one from scratch, and every row is carried
 *    into it by table and column name (renames mapped by a technician), SQLite doing
 *    the work (INSERT … SELECT over the attached original, read-only). A table whose
 *    bulk copy hits a constraint is copied row by row, so each rejected row is
 *    counted and named by its key — never silently dropped. The app's own rows
 *    (reference data) yield to the shop's rows with the same key. Nothing is deleted
 *    from the original: with --yes it is kept aside, whole, as `.old.<stamp>`, after a
 *    verified backup, through the operation journal.
 */

#define BUSY_TIMEOUT_MS 5000
/* The new database's page cache while rows are carried, and while an index is sorted. */
#define CARRY_CACHE_KIB "16384"
#define SORT_CACHE_KIB  "8192"
/* The second connection that checks the new database. */
#define HELPER_CACHE_KIB "4096"
#define MAX_REJECTED_KEYS 20

G_DEFINE_BOXED_TYPE (MwAdoptReport, mw_adopt_report, mw_adopt_report_ref,
                     mw_adopt_report_unref)

/* ---- the report ---------------------------------------------------------------------- */

static void
adopt_table_free (MwAdoptTable *t)
{
  g_free (t->table);
  g_free (t->from);
  g_ptr_array_unref (t->rejected_keys);
  g_ptr_array_unref (t->not_carried);
  g_ptr_array_unref (t->defaulted);
  g_free (t->needs_value);
  g_free (t->time_column);
  g_free (t);
}

static MwAdoptTable *
adopt_table_new (const char *table)
{
  MwAdoptTable *t = g_new0 (MwAdoptTable, 1);

  t->table = g_strdup (table);
  t->rows_before = -1;
  t->rejected_keys = g_ptr_array_new_with_free_func (g_free);
  t->not_carried = g_ptr_array_new_with_free_func (g_free);
  t->defaulted = g_ptr_array_new_with_free_func (g_free);
  return t;
}

typedef struct
{
  MwAdoptReport  public;
  GPtrArray     *applied;          /* restamp: the updates applied after it */
  GPtrArray     *replaced_rows;    /* restamp: the history rows replaced */
} MwAdoptReportPrivate;

static MwAdoptReport *
report_new (const char *database_path)
{
  MwAdoptReportPrivate *priv = g_new0 (MwAdoptReportPrivate, 1);
  MwAdoptReport *self = &priv->public;

  g_atomic_ref_count_init (&self->ref_count);
  self->database_path = g_strdup (database_path);
  self->tables = g_ptr_array_new_with_free_func ((GDestroyNotify) adopt_table_free);
  self->left_behind = g_ptr_array_new_with_free_func (g_free);
  self->needs_values = g_ptr_array_new_with_free_func (g_free);
  self->orphans = g_ptr_array_new_with_free_func (g_free);
  self->problems = g_ptr_array_new_with_free_func (g_free);
  priv->applied = g_ptr_array_new_with_free_func (g_free);
  priv->replaced_rows = g_ptr_array_new_with_free_func (g_free);
  return self;
}

MwAdoptReport *
mw_adopt_report_ref (MwAdoptReport *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
mw_adopt_report_unref (MwAdoptReport *self)
{
  MwAdoptReportPrivate *priv = (MwAdoptReportPrivate *) self;

  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->database_path);
  g_free (self->adopted_path);
  g_ptr_array_unref (self->tables);
  g_ptr_array_unref (self->left_behind);
  g_ptr_array_unref (self->needs_values);
  g_ptr_array_unref (self->orphans);
  g_ptr_array_unref (self->problems);
  g_ptr_array_unref (priv->applied);
  g_ptr_array_unref (priv->replaced_rows);
  g_free (priv);
}

static void
add_strings (JsonBuilder *builder,
             const char  *name,
             GPtrArray   *strings)
{
  json_builder_set_member_name (builder, name);
  json_builder_begin_array (builder);
  for (guint i = 0; strings != NULL && i < strings->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (strings, i));
  json_builder_end_array (builder);
}

/**
 * mw_adopt_report_to_json:
 *
 * Adds the report as one object: method (`restamp` or `carry`), level, the adopted
 * copy, per table its rows before, carried, rejected (with keys), replaced, the
 * columns not carried and defaulted, and what needs a value; the tables left behind,
 * the orphans, and for a re-stamp the history rows replaced and the updates applied.
 */
void
mw_adopt_report_to_json (MwAdoptReport *self,
                         JsonBuilder   *builder)
{
  MwAdoptReportPrivate *priv = (MwAdoptReportPrivate *) self;

  g_return_if_fail (self != NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "method");
  json_builder_add_string_value (builder, self->method == MW_ADOPT_RESTAMP ? "restamp" : "carry");
  json_builder_set_member_name (builder, "level");
  json_builder_add_int_value (builder, self->level);
  json_builder_set_member_name (builder, "database");
  json_builder_add_string_value (builder, self->database_path);
  json_builder_set_member_name (builder, "adopted");
  json_builder_add_string_value (builder, self->adopted_path);
  json_builder_set_member_name (builder, "ready");
  json_builder_add_boolean_value (builder, self->ready);
  json_builder_set_member_name (builder, "carried");
  json_builder_add_int_value (builder, self->carried);
  json_builder_set_member_name (builder, "rejected");
  json_builder_add_int_value (builder, self->rejected);
  json_builder_set_member_name (builder, "tables");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->tables->len; i++)
    {
      MwAdoptTable *t = g_ptr_array_index (self->tables, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "table");
      json_builder_add_string_value (builder, t->table);
      json_builder_set_member_name (builder, "from");
      json_builder_add_string_value (builder, t->from);
      json_builder_set_member_name (builder, "rows_before");
      json_builder_add_int_value (builder, t->rows_before);
      json_builder_set_member_name (builder, "carried");
      json_builder_add_int_value (builder, t->carried);
      json_builder_set_member_name (builder, "rejected");
      json_builder_add_int_value (builder, t->rejected);
      json_builder_set_member_name (builder, "replaced");
      json_builder_add_int_value (builder, t->replaced);
      add_strings (builder, "rejected_keys", t->rejected_keys);
      add_strings (builder, "columns_not_carried", t->not_carried);
      add_strings (builder, "columns_defaulted", t->defaulted);
      json_builder_set_member_name (builder, "needs_value");
      json_builder_add_string_value (builder, t->needs_value);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  add_strings (builder, "left_behind", self->left_behind);
  add_strings (builder, "needs_values", self->needs_values);
  add_strings (builder, "orphans", self->orphans);
  add_strings (builder, "problems", self->problems);
  add_strings (builder, "replaced_history", priv->replaced_rows);
  add_strings (builder, "applied", priv->applied);
  json_builder_end_object (builder);
}

/**
 * mw_adopt_report_to_text:
 *
 * Returns: (transfer full): the report for a person: what was done or would be,
 *   then table by table
 */
char *
mw_adopt_report_to_text (MwAdoptReport *self)
{
  MwAdoptReportPrivate *priv = (MwAdoptReportPrivate *) self;
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (self != NULL, NULL);

  if (self->method == MW_ADOPT_RESTAMP)
    {
      g_string_append_printf (text, _("The database's tables are exactly what the app's updates "
                                      "build up to level %u: only its update history is "
                                      "rewritten (no row is copied), then the remaining updates "
                                      "are applied.\n"), self->level);
      for (guint i = 0; i < priv->replaced_rows->len; i++)
        g_string_append_printf (text, _("  history row replaced: %s\n"),
                                (const char *) g_ptr_array_index (priv->replaced_rows, i));
      if (priv->applied->len > 0)
        {
          g_string_append (text, _("  updates applied:"));
          for (guint i = 0; i < priv->applied->len; i++)
            g_string_append_printf (text, " %s", (const char *) g_ptr_array_index (priv->applied, i));
          g_string_append_c (text, '\n');
        }
      return g_string_free (text, FALSE);
    }

  g_string_append_printf (text, _("The data is carried into a new database built by the app's "
                                  "updates: %lld rows carried, %lld refused by the app's "
                                  "rules.\n"),
                          (long long) self->carried, (long long) self->rejected);
  if (self->adopted_path != NULL)
    g_string_append_printf (text, _("New database: %s\n"), self->adopted_path);
  g_string_append_printf (text, "\n  %-28s %10s %10s %9s\n", _("table"), _("before"),
                          _("carried"), _("refused"));
  for (guint i = 0; i < self->tables->len; i++)
    {
      MwAdoptTable *t = g_ptr_array_index (self->tables, i);
      g_autofree char *before = t->rows_before >= 0
                                ? g_strdup_printf ("%" G_GINT64_FORMAT, t->rows_before)
                                : g_strdup (_("new"));

      g_string_append_printf (text, "  %-28s %10s %10" G_GINT64_FORMAT " %9" G_GINT64_FORMAT "\n",
                              t->table, before, t->carried, t->rejected);
      if (t->from != NULL && g_strcmp0 (t->from, t->table) != 0)
        g_string_append_printf (text, _("      from the table %s\n"), t->from);
      for (guint k = 0; k < t->not_carried->len; k++)
        g_string_append_printf (text, _("      column %s is not in this version (its values stay in "
                                        "the kept database)\n"),
                                (const char *) g_ptr_array_index (t->not_carried, k));
      for (guint k = 0; k < t->defaulted->len; k++)
        g_string_append_printf (text, _("      new column %s takes its default\n"),
                                (const char *) g_ptr_array_index (t->defaulted, k));
      if (t->replaced > 0)
        g_string_append_printf (text, _("      %lld of the app's own rows yielded to the shop's rows "
                                        "with the same key\n"), (long long) t->replaced);
      for (guint k = 0; k < t->rejected_keys->len; k++)
        g_string_append_printf (text, _("      refused: %s\n"),
                                (const char *) g_ptr_array_index (t->rejected_keys, k));
      if (t->needs_value != NULL)
        g_string_append_printf (text, _("      NOT CARRIED: %s\n"), t->needs_value);
    }
  for (guint i = 0; i < self->left_behind->len; i++)
    g_string_append_printf (text, _("Not in this version: table %s (its rows stay in the kept "
                                    "database)\n"),
                            (const char *) g_ptr_array_index (self->left_behind, i));
  for (guint i = 0; i < self->orphans->len; i++)
    g_string_append_printf (text, _("Rows whose parent is missing (kept): %s\n"),
                            (const char *) g_ptr_array_index (self->orphans, i));
  for (guint i = 0; i < self->problems->len; i++)
    g_string_append_printf (text, "%s\n", (const char *) g_ptr_array_index (self->problems, i));
  if (self->needs_values->len > 0)
    g_string_append_printf (text, _("A value is needed for each new required column (give it "
                                    "with --value TABLE.COLUMN=VALUE): %s\n"),
                            (const char *) g_ptr_array_index (self->needs_values, 0));
  return g_string_free (text, FALSE);
}

/* ---- options ------------------------------------------------------------------------- */

MwAdoptOptions *
mw_adopt_options_new (void)
{
  MwAdoptOptions *options = g_new0 (MwAdoptOptions, 1);

  options->tables = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  options->columns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  options->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return options;
}

void
mw_adopt_options_free (MwAdoptOptions *options)
{
  if (options == NULL)
    return;
  g_hash_table_unref (options->tables);
  g_hash_table_unref (options->columns);
  g_hash_table_unref (options->values);
  g_free (options);
}

static gboolean
split_assignment (const char  *text,
                  char       **left,
                  char       **right)
{
  const char *eq = strchr (text, '=');

  if (eq == NULL || eq == text || eq[1] == '\0')
    return FALSE;
  *left = g_strstrip (g_strndup (text, (gsize) (eq - text)));
  *right = g_strstrip (g_strdup (eq + 1));
  return **left != '\0' && **right != '\0';
}

/**
 * mw_adopt_options_add_map:
 * @mapping: `OLD=NEW` (a renamed table) or `TABLE.OLD=NEW` (a renamed column of the
 *   shop's table TABLE)
 */
gboolean
mw_adopt_options_add_map (MwAdoptOptions  *options,
                          const char      *mapping,
                          GError         **error)
{
  g_autofree char *left = NULL;
  g_autofree char *right = NULL;

  if (!split_assignment (mapping, &left, &right))
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BAD_MAPPING,
                   _("“%s” is not a mapping: write OLD=NEW for a table, TABLE.OLD=NEW for a "
                     "column."), mapping);
      return FALSE;
    }
  {
    GHashTable *into = strchr (left, '.') ? options->columns : options->tables;

    g_hash_table_replace (into, g_steal_pointer (&left), g_steal_pointer (&right));
  }
  return TRUE;
}

/**
 * mw_adopt_options_add_value:
 * @assignment: `TABLE.COLUMN=VALUE`: the value a new required column of the app's
 *   table takes in every carried row (a number, or text)
 */
gboolean
mw_adopt_options_add_value (MwAdoptOptions  *options,
                            const char      *assignment,
                            GError         **error)
{
  g_autofree char *left = NULL;
  g_autofree char *right = NULL;

  if (!split_assignment (assignment, &left, &right) || strchr (left, '.') == NULL)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BAD_MAPPING,
                   _("“%s” is not a value: write TABLE.COLUMN=VALUE."), assignment);
      return FALSE;
    }
  g_hash_table_replace (options->values, g_steal_pointer (&left), g_steal_pointer (&right));
  return TRUE;
}

/* ---- carrying ------------------------------------------------------------------------ */

typedef enum
{
  AFFINITY_INTEGER,
  AFFINITY_TEXT,
  AFFINITY_BLOB,
  AFFINITY_REAL,
  AFFINITY_NUMERIC,
} Affinity;

/* SQLite's rules for a declared type's affinity (datatype3.html, 3.1). */
static Affinity
affinity_of (const char *type)
{
  g_autofree char *up = g_ascii_strup (type ? type : "", -1);

  if (strstr (up, "INT"))
    return AFFINITY_INTEGER;
  if (strstr (up, "CHAR") || strstr (up, "CLOB") || strstr (up, "TEXT"))
    return AFFINITY_TEXT;
  if (*up == '\0' || strstr (up, "BLOB"))
    return AFFINITY_BLOB;
  if (strstr (up, "REAL") || strstr (up, "FLOA") || strstr (up, "DOUB"))
    return AFFINITY_REAL;
  return AFFINITY_NUMERIC;
}

/* A technician's value as an SQL literal of the column's kind, or NULL when it is
 * not one (a word for an INTEGER column). */
static char *
value_literal (const char           *value,
               const MwSchemaColumn *column)
{
  Affinity affinity = affinity_of (column->type);
  gint64 i;
  char *end = NULL;

  if (affinity == AFFINITY_INTEGER)
    return g_ascii_string_to_signed (value, 10, G_MININT64, G_MAXINT64, &i, NULL)
           ? g_strdup_printf ("%" G_GINT64_FORMAT, i) : NULL;
  if (affinity == AFFINITY_REAL || affinity == AFFINITY_NUMERIC)
    {
      g_ascii_strtod (value, &end);
      if (end == value || *end != '\0')
        return NULL;
      return g_strdup (value);
    }
  {
    g_autofree char *escaped = NULL;
    g_auto(GStrv) parts = g_strsplit (value, "'", -1);

    escaped = g_strjoinv ("''", parts);
    return g_strdup_printf ("'%s'", escaped);
  }
}

/* An INTEGER PRIMARY KEY: the rowid itself, which SQLite fills. */
static gboolean
is_rowid_alias (const MwSchemaTable  *table,
                const MwSchemaColumn *column)
{
  guint n_pk = 0;

  if (table->without_rowid || column->pk == 0)
    return FALSE;
  for (guint i = 0; i < table->columns->len; i++)
    if (((MwSchemaColumn *) g_ptr_array_index (table->columns, i))->pk > 0)
      n_pk++;
  return n_pk == 1 && g_ascii_strcasecmp (column->type, "INTEGER") == 0;
}

static const MwSchemaColumn *
find_column (const MwSchemaTable *table,
             const char          *name)
{
  for (guint i = 0; table != NULL && i < table->columns->len; i++)
    {
      const MwSchemaColumn *c = g_ptr_array_index (table->columns, i);

      if (g_ascii_strcasecmp (c->name, name) == 0)
        return c;
    }
  return NULL;
}

static gboolean
has_rowid_alias (const MwSchemaTable *table)
{
  for (guint i = 0; i < table->columns->len; i++)
    if (is_rowid_alias (table, g_ptr_array_index (table->columns, i)))
      return TRUE;
  return FALSE;
}

typedef struct
{
  sqlite3              *db;          /* the new database; the original attached as "old" */
  MwSchema             *old_schema;
  MwSchema             *new_schema;
  const MwAdoptOptions *options;
  MwAdoptReport        *report;
} Carry;

static gint64
count_rows (sqlite3    *db,
            const char *schema,
            const char *table)
{
  g_autofree char *quoted = mw_db_quote_identifier (table);
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s.%s", schema, quoted);

  return mw_db_query_int (db, sql, -1);
}

/* The shop's table the app's @table takes its rows from: mapped, else the same name. */
static const MwSchemaTable *
source_for (Carry      *c,
            const char *table)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, c->options->tables);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_str_equal (value, table))
      return mw_schema_lookup_table (c->old_schema, key);
  if (g_hash_table_lookup (c->options->tables, table) != NULL)
    return NULL;   /* that name was mapped away to another table */
  return mw_schema_lookup_table (c->old_schema, table);
}

/* The shop's column the app's @column takes its values from: mapped, else the same name. */
static const MwSchemaColumn *
source_column_for (Carry               *c,
                   const MwSchemaTable *source,
                   const char          *column)
{
  GHashTableIter iter;
  gpointer key, value;
  g_autofree char *prefix = g_strconcat (source->name, ".", NULL);

  g_hash_table_iter_init (&iter, c->options->columns);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_str_has_prefix (key, prefix) && g_str_equal (value, column))
      return find_column (source, (const char *) key + strlen (prefix));
  return find_column (source, column);
}

static gboolean
column_mapped_away (Carry               *c,
                    const MwSchemaTable *source,
                    const char          *column)
{
  g_autofree char *key = g_strconcat (source->name, ".", column, NULL);

  return g_hash_table_contains (c->options->columns, key);
}

/* Row by row, when the bulk copy hits a constraint: each refused row counted and
 * named by its key, the others carried. */
static gboolean
carry_rows_one_by_one (Carry         *c,
                       MwAdoptTable  *t,
                       const char    *select_sql,
                       const char    *insert_sql,
                       int            n_values,
                       GCancellable  *cancellable,
                       GError       **error)
{
  sqlite3_stmt *select = NULL;
  sqlite3_stmt *insert = NULL;
  int rc;

  if (sqlite3_prepare_v2 (c->db, select_sql, -1, &select, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2 (c->db, insert_sql, -1, &insert, NULL) != SQLITE_OK)
    {
      mw_db_set_error (error, c->db, sqlite3_errcode (c->db), MW_ENGINE_ERROR_MIGRATION_FAILED,
                       _("Preparing to carry the rows one by one"));
      sqlite3_finalize (select);
      sqlite3_finalize (insert);
      return FALSE;
    }
  t->carried = 0;
  while ((rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        break;
      sqlite3_reset (insert);
      sqlite3_clear_bindings (insert);
      for (int i = 0; i < n_values; i++)
        sqlite3_bind_value (insert, i + 1, sqlite3_column_value (select, i));
      rc = sqlite3_step (insert);
      if (rc == SQLITE_DONE)
        t->carried++;
      else if ((rc & 0xff) == SQLITE_CONSTRAINT)
        {
          t->rejected++;
          if (t->rejected_keys->len < MAX_REJECTED_KEYS)
            {
              const char *key = (const char *) sqlite3_column_text (select, n_values);

              g_ptr_array_add (t->rejected_keys,
                               g_strdup_printf ("%s: %s", key ? key : "?",
                                                sqlite3_errmsg (c->db)));
            }
        }
      else
        {
          mw_db_set_error (error, c->db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED,
                           _("Carrying a row"));
          break;
        }
    }
  sqlite3_finalize (select);
  sqlite3_finalize (insert);
  return error == NULL || *error == NULL;
}

static gboolean
carry_table (Carry               *c,
             const MwSchemaTable *target,
             MwAdoptTable        *t,
             GCancellable        *cancellable,
             GError             **error)
{
  const MwSchemaTable *source = source_for (c, target->name);
  g_autoptr(GString) columns = g_string_new (NULL);
  g_autoptr(GString) values = g_string_new (NULL);
  g_autoptr(GString) keys = g_string_new (NULL);
  g_autoptr(GString) source_keys = g_string_new (NULL);
  g_autofree char *quoted_target = mw_db_quote_identifier (target->name);
  g_autofree char *quoted_source = NULL;
  gboolean keys_carried = TRUE;
  guint n_keys = 0;
  int n_values = 0;

  if (source == NULL)
    return TRUE;   /* a table this version adds: its own rows only */

  t->from = g_strdup (source->name);
  quoted_source = mw_db_quote_identifier (source->name);

  /* Keep the rowids of tables that have no INTEGER PRIMARY KEY: nothing else in the
   * database may know a row by another number. */
  if (!target->without_rowid && !source->without_rowid && !has_rowid_alias (target))
    {
      g_string_append (columns, "rowid");
      g_string_append (values, "old_t.rowid");
      n_values++;
    }

  for (guint i = 0; i < target->columns->len; i++)
    {
      const MwSchemaColumn *col = g_ptr_array_index (target->columns, i);
      const MwSchemaColumn *from;
      g_autofree char *quoted = NULL;
      g_autofree char *value_key = NULL;
      const char *value;

      if (col->hidden)
        continue;
      quoted = mw_db_quote_identifier (col->name);
      from = source_column_for (c, source, col->name);
      value_key = g_strconcat (target->name, ".", col->name, NULL);
      value = g_hash_table_lookup (c->options->values, value_key);

      if (from != NULL)
        {
          g_autofree char *quoted_from = mw_db_quote_identifier (from->name);

          g_string_append_printf (columns, "%s%s", columns->len ? ", " : "", quoted);
          g_string_append_printf (values, "%sold_t.%s", values->len ? ", " : "", quoted_from);
          n_values++;
          if (col->pk > 0)
            {
              g_string_append_printf (keys, "%s%s", keys->len ? ", " : "", quoted);
              g_string_append_printf (source_keys, "%s%s", source_keys->len ? ", " : "",
                                      quoted_from);
              n_keys++;
            }
          continue;
        }
      if (col->pk > 0)
        keys_carried = FALSE;

      if (value != NULL)
        {
          g_autofree char *literal = value_literal (value, col);

          if (literal == NULL)
            {
              g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BAD_MAPPING,
                           _("The value “%s” given for %s.%s is not a %s."), value,
                           target->name, col->name,
                           affinity_of (col->type) == AFFINITY_INTEGER ? _("whole number")
                                                                         : _("number"));
              return FALSE;
            }
          g_string_append_printf (columns, "%s%s", columns->len ? ", " : "", quoted);
          g_string_append_printf (values, "%s%s", values->len ? ", " : "", literal);
          n_values++;
          continue;
        }
      if (is_rowid_alias (target, col))
        continue;
      if (col->not_null && col->default_sql == NULL)
        {
          t->needs_value = g_strdup_printf (_("the new column %s.%s is required and has no "
                                              "default"), target->name, col->name);
          g_ptr_array_add (c->report->needs_values,
                           g_strconcat (target->name, ".", col->name, NULL));
          continue;
        }
      g_ptr_array_add (t->defaulted, g_strdup (col->name));
    }

  for (guint i = 0; i < source->columns->len; i++)
    {
      const MwSchemaColumn *col = g_ptr_array_index (source->columns, i);
      g_autofree char *mapped_key = g_strconcat (source->name, ".", col->name, NULL);
      const char *mapped = g_hash_table_lookup (c->options->columns, mapped_key);

      if (col->hidden)
        continue;
      if (find_column (target, mapped ? mapped : col->name) == NULL ||
          (mapped == NULL && column_mapped_away (c, source, col->name)))
        g_ptr_array_add (t->not_carried, g_strdup (col->name));
    }

  /* A table that is not copied is counted; a copied one is counted by its copy, which
   * reads every row (carried + rejected), rather than by reading it twice. */
  if (t->needs_value != NULL || n_values == 0)
    {
      t->rows_before = count_rows (c->db, "old", source->name);
      return TRUE;
    }

  /* The app's own rows (reference data its updates inserted) yield to the shop's row
   * with the same key. */
  {
    g_autofree char *del = NULL;

    if (n_keys > 0 && keys_carried)
      del = n_keys == 1
            ? g_strdup_printf ("DELETE FROM main.%s WHERE %s IN (SELECT %s FROM old.%s)",
                               quoted_target, keys->str, source_keys->str, quoted_source)
            : g_strdup_printf ("DELETE FROM main.%s WHERE (%s) IN (SELECT %s FROM old.%s)",
                               quoted_target, keys->str, source_keys->str, quoted_source);
    else if (!target->without_rowid && !source->without_rowid && n_keys == 0)
      del = g_strdup_printf ("DELETE FROM main.%s WHERE rowid IN (SELECT rowid FROM old.%s)",
                             quoted_target, quoted_source);
    if (del != NULL)
      {
        if (!mw_db_exec (c->db, del, error))
          return FALSE;
        t->replaced = sqlite3_changes (c->db);
      }
  }

  {
    g_autofree char *insert = g_strdup_printf ("INSERT INTO main.%s (%s) SELECT %s FROM old.%s "
                                                "AS old_t", quoted_target, columns->str,
                                                values->str, quoted_source);
    g_autoptr(GError) bulk_error = NULL;

    if (!mw_db_exec (c->db, "SAVEPOINT carry", error))
      return FALSE;
    if (mw_db_exec (c->db, insert, &bulk_error))
      {
        /* Every row the SELECT gave was inserted: no WHERE, no OR IGNORE. */
        t->carried = sqlite3_changes64 (c->db);
        t->rows_before = t->carried;
        return mw_db_exec (c->db, "RELEASE carry", error);
      }
    mw_db_exec (c->db, "ROLLBACK TO carry", NULL);
    g_debug ("Bulk copy of %s refused (%s): row by row", target->name, bulk_error->message);
    {
      g_autoptr(GString) placeholders = g_string_new (NULL);
      g_autofree char *select = NULL;
      g_autofree char *insert_one = NULL;

      for (int i = 0; i < n_values; i++)
        g_string_append_printf (placeholders, "%s?", i ? ", " : "");
      select = g_strdup_printf ("SELECT %s, %s FROM old.%s AS old_t", values->str,
                                source->without_rowid ? (source_keys->len ? source_keys->str
                                                                          : "NULL")
                                                      : "old_t.rowid",
                                quoted_source);
      insert_one = g_strdup_printf ("INSERT INTO main.%s (%s) VALUES (%s)", quoted_target,
                                    columns->str, placeholders->str);
      if (!carry_rows_one_by_one (c, t, select, insert_one, n_values, cancellable, error))
        return FALSE;
      t->rows_before = t->carried + t->rejected;
    }
    return mw_db_exec (c->db, "RELEASE carry", error);
  }
}

/* AUTOINCREMENT counters, user_version and application_id: carried too. */
static gboolean
carry_counters (Carry   *c,
                GError **error)
{
  gint64 user_version = mw_db_query_int (c->db, "PRAGMA old.user_version", 0);
  gint64 application_id = mw_db_query_int (c->db, "PRAGMA old.application_id", 0);
  g_autofree char *set_versions = g_strdup_printf ("PRAGMA main.user_version = %" G_GINT64_FORMAT
                                                   "; PRAGMA main.application_id = %"
                                                   G_GINT64_FORMAT, user_version,
                                                   application_id);

  if (!mw_db_exec (c->db, set_versions, error))
    return FALSE;
  if (mw_db_query_int (c->db, "SELECT count(*) FROM old.sqlite_schema WHERE name = "
                              "'sqlite_sequence'", 0) == 0 ||
      mw_db_query_int (c->db, "SELECT count(*) FROM main.sqlite_schema WHERE name = "
                              "'sqlite_sequence'", 0) == 0)
    return TRUE;

  for (guint i = 0; i < c->report->tables->len; i++)
    {
      MwAdoptTable *t = g_ptr_array_index (c->report->tables, i);
      sqlite3_stmt *stmt = NULL;
      static const char * const steps[] = {
        "UPDATE main.sqlite_sequence SET seq = max(seq, (SELECT seq FROM old.sqlite_sequence "
        "WHERE name = ?1)) WHERE name = ?2 AND EXISTS (SELECT 1 FROM old.sqlite_sequence "
        "WHERE name = ?1)",
        "INSERT INTO main.sqlite_sequence (name, seq) SELECT ?2, seq FROM old.sqlite_sequence "
        "WHERE name = ?1 AND NOT EXISTS (SELECT 1 FROM main.sqlite_sequence WHERE name = ?2)",
      };

      if (t->from == NULL || t->needs_value != NULL)
        continue;
      {
        g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM main.sqlite_schema WHERE "
                                                "type = 'table' AND name = '%s' AND sql LIKE "
                                                "'%%AUTOINCREMENT%%'", t->table);

        if (strchr (t->table, '\'') != NULL || mw_db_query_int (c->db, sql, 0) == 0)
          continue;
      }
      for (guint k = 0; k < G_N_ELEMENTS (steps); k++)
        {
          int rc = sqlite3_prepare_v2 (c->db, steps[k], -1, &stmt, NULL);

          if (rc == SQLITE_OK)
            {
              sqlite3_bind_text (stmt, 1, t->from, -1, SQLITE_STATIC);
              sqlite3_bind_text (stmt, 2, t->table, -1, SQLITE_STATIC);
              rc = sqlite3_step (stmt);
            }
          sqlite3_finalize (stmt);
          if (rc != SQLITE_DONE)
            {
              mw_db_set_error (error, c->db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED,
                               _("Carrying the AUTOINCREMENT counters"));
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* Earlier adopted copies that were never put in place are this program's own output,
 * made from the untouched original: a new one replaces them. */
static void
remove_older_copies (const char *database_path)
{
  g_autofree char *dir = g_path_get_dirname (database_path);
  g_autofree char *base = g_path_get_basename (database_path);
  g_autofree char *prefix = g_strconcat (base, ".adopted-", NULL);
  g_autoptr(GDir) folder = g_dir_open (dir, 0, NULL);
  const char *name;

  while (folder != NULL && (name = g_dir_read_name (folder)) != NULL)
    {
      if (g_str_has_prefix (name, prefix) && !g_str_has_suffix (name, "-wal") &&
          !g_str_has_suffix (name, "-shm") && !g_str_has_suffix (name, "-journal"))
        {
          g_autofree char *path = g_build_filename (dir, name, NULL);

          g_message ("Removing an earlier adopted copy never put in place: %s", path);
          mw_remove_set (path);
        }
    }
}

static char *
unique_adopted_path (const char *database_path)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");

  for (guint i = 1; ; i++)
    {
      char *candidate = i == 1 ? g_strdup_printf ("%s.adopted-%s", database_path, stamp)
                               : g_strdup_printf ("%s.adopted-%s-%u", database_path, stamp, i);

      if (!g_file_test (candidate, G_FILE_TEST_EXISTS))
        return candidate;
      g_free (candidate);
    }
}

/* A database attached read-only as @alias, by URI: its path escaped so that no
 * character in it can be read as part of the URI. */
static char *
attach_sql (const char *database_path,
            const char *alias)
{
  g_autofree char *absolute = g_canonicalize_filename (database_path, NULL);
  g_autofree char *escaped = g_uri_escape_string (absolute, "/", FALSE);
  g_auto(GStrv) quotes = g_strsplit (escaped, "'", -1);
  g_autofree char *sql_safe = g_strjoinv ("''", quotes);

  return g_strdup_printf ("ATTACH DATABASE 'file:%s?mode=ro' AS %s", sql_safe, alias);
}

/* ---- building the new database around the rows -------------------------------------- *
 *
 * SQLite fills an index far faster by sorting the rows once (CREATE INDEX) than by
 * inserting them one by one into it, and a shop's tables are mostly index. So when it
 * can, the carry builds the new database from the app's one (built by the migrator,
 * attached as "app") object by object, in the app's sqlite_schema order and with its
 * own SQL text, each table filled before the indexes that may come after its rows:
 *
 *  - a table is created, then given the app's own rows (reference data, rowids kept);
 *  - an index made by CREATE UNIQUE INDEX is created before the shop's rows go in, so
 *    that a row it refuses is refused, counted and named as before;
 *  - the shop's rows go in right after the table's last such index; the other indexes
 *    that come after that point are created from the filled table.
 *
 * The result's sqlite_schema is the app's, row for row (type, name, table, SQL, order;
 * only the root pages differ): checked before committing. Schemas this cannot rebuild
 * as the migrations did (triggers, which would not fire on the carried rows; virtual
 * tables; SQLite's statistics) are carried the plain way, into the app's database.
 */

typedef struct
{
  char *type;
  char *name;
  char *table;
  char *sql;
} SchemaRow;

static void
schema_row_free (SchemaRow *row)
{
  g_free (row->type);
  g_free (row->name);
  g_free (row->table);
  g_free (row->sql);
  g_free (row);
}

/* sqlite_schema of @schema, in its order. */
static GPtrArray *
read_schema_rows (sqlite3     *db,
                  const char  *schema,
                  GError     **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) schema_row_free);
  g_autofree char *sql = g_strdup_printf ("SELECT type, name, tbl_name, sql FROM %s.sqlite_schema "
                                          "ORDER BY rowid", schema);
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  while (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      SchemaRow *row = g_new0 (SchemaRow, 1);

      row->type = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      row->name = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      row->table = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      row->sql = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      g_ptr_array_add (rows, row);
      rc = SQLITE_OK;
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED,
                       _("Reading the new database's structure"));
      return NULL;
    }
  return g_steal_pointer (&rows);
}

/* Whether the app's database at @app_path holds only what the rebuild reproduces
 * exactly: tables, their indexes, views, and sqlite_sequence. If so, @out_setup is
 * what the new file takes from its header before anything is written to it. */
static gboolean
can_rebuild (const char  *app_path,
             char       **out_setup)
{
  g_autoptr(sqlite3) db = mw_db_open (app_path, SQLITE_OPEN_READONLY, BUSY_TIMEOUT_MS, NULL);
  sqlite3_stmt *stmt = NULL;

  if (db == NULL ||
      mw_db_query_int (db, "SELECT count(*) FROM sqlite_schema WHERE "
                              "type NOT IN ('table', 'index', 'view') OR "
                              "(type = 'table' AND (rootpage = 0 OR (name LIKE 'sqlite\\_%' "
                              "ESCAPE '\\' AND name <> 'sqlite_sequence'))) OR "
                              "(type = 'index' AND sql IS NULL AND "
                              "name NOT LIKE 'sqlite\\_autoindex\\_%' ESCAPE '\\')", 1) != 0)
    return FALSE;
  if (sqlite3_prepare_v2 (db, "SELECT page_size, auto_vacuum, encoding FROM pragma_page_size, "
                              "pragma_auto_vacuum, pragma_encoding", -1, &stmt,
                          NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    *out_setup = g_strdup_printf ("PRAGMA main.page_size = %d; PRAGMA main.auto_vacuum = %d; "
                                  "PRAGMA main.encoding = '%s'", sqlite3_column_int (stmt, 0),
                                  sqlite3_column_int (stmt, 1),
                                  (const char *) sqlite3_column_text (stmt, 2));
  sqlite3_finalize (stmt);
  return *out_setup != NULL;
}

/* The app's own rows of @table (reference data its migrations inserted), rowids and
 * AUTOINCREMENT counter kept. */
static gboolean
copy_app_rows (Carry               *c,
               const MwSchemaTable *table,
               GError             **error)
{
  g_autoptr(GString) columns = g_string_new (NULL);
  g_autofree char *quoted = mw_db_quote_identifier (table->name);
  g_autofree char *sql = NULL;

  if (!table->without_rowid && !has_rowid_alias (table))
    g_string_append (columns, "rowid");
  for (guint i = 0; i < table->columns->len; i++)
    {
      const MwSchemaColumn *col = g_ptr_array_index (table->columns, i);
      g_autofree char *quoted_col = NULL;

      if (col->hidden)
        continue;
      quoted_col = mw_db_quote_identifier (col->name);
      g_string_append_printf (columns, "%s%s", columns->len ? ", " : "", quoted_col);
    }
  if (columns->len == 0)
    return TRUE;
  sql = g_strdup_printf ("INSERT INTO main.%s (%s) SELECT %s FROM app.%s", quoted,
                         columns->str, columns->str, quoted);
  if (!mw_db_exec (c->db, sql, error))
    return FALSE;

  if (mw_db_query_int (c->db, "SELECT count(*) FROM main.sqlite_schema WHERE name = "
                              "'sqlite_sequence'", 0) > 0)
    {
      static const char * const steps[] = {
        "DELETE FROM main.sqlite_sequence WHERE name = ?1",
        "INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM app.sqlite_sequence "
        "WHERE name = ?1",
      };

      for (guint k = 0; k < G_N_ELEMENTS (steps); k++)
        {
          sqlite3_stmt *stmt = NULL;
          int rc = sqlite3_prepare_v2 (c->db, steps[k], -1, &stmt, NULL);

          if (rc == SQLITE_OK)
            {
              sqlite3_bind_text (stmt, 1, table->name, -1, SQLITE_STATIC);
              rc = sqlite3_step (stmt);
            }
          sqlite3_finalize (stmt);
          if (rc != SQLITE_DONE)
            {
              mw_db_set_error (error, c->db, rc, MW_ENGINE_ERROR_MIGRATION_FAILED,
                               _("Copying the app's AUTOINCREMENT counters"));
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* The shop's rows of the app's @i-th table, into its report entry. */
static gboolean
carry_one (Carry         *c,
           guint          i,
           MwProgress    *progress,
           GCancellable  *cancellable,
           GError       **error)
{
  GPtrArray *targets = mw_schema_get_tables (c->new_schema);
  const MwSchemaTable *target = g_ptr_array_index (targets, i);
  g_autofree char *message = g_strdup_printf (_("Carrying %s (%u of %u)"), target->name, i + 1,
                                              targets->len);

  if (progress != NULL)
    mw_progress_update (progress, (double) i / targets->len, message);
  return !g_cancellable_set_error_if_cancelled (cancellable, error) &&
         carry_table (c, target, g_ptr_array_index (c->report->tables, i), cancellable, error);
}

/* Into the app's database itself, indexes and all. */
static gboolean
carry_into_app (Carry         *c,
                MwProgress    *progress,
                GCancellable  *cancellable,
                GError       **error)
{
  for (guint i = 0; i < c->report->tables->len; i++)
    if (!carry_one (c, i, progress, cancellable, error))
      return FALSE;
  return TRUE;
}

/* Rebuilding the app's database around the shop's rows (see above). */
static gboolean
rebuild_and_carry (Carry         *c,
                   MwProgress    *progress,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_autoptr(GPtrArray) rows = read_schema_rows (c->db, "app", error);
  g_autoptr(GPtrArray) built = NULL;
  g_autoptr(MwSchema) app_tables = NULL;
  g_autoptr(GHashTable) carry_at = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) target_at = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *targets = mw_schema_get_tables (c->new_schema);
  sqlite3_stmt *unique = NULL;
  guint n_carried = 0;

  /* Every table the app has, its migrations table included: their own rows. */
  if (rows == NULL ||
      (app_tables = mw_schema_read (c->db, "app", "", error)) == NULL)
    return FALSE;
  for (guint i = 0; i < targets->len; i++)
    g_hash_table_insert (target_at, ((MwSchemaTable *) g_ptr_array_index (targets, i))->name,
                         GUINT_TO_POINTER (i));

  /* Where each table takes the shop's rows: after its last CREATE UNIQUE INDEX. */
  if (sqlite3_prepare_v2 (c->db, "SELECT count(*) FROM pragma_index_list(?1, 'app') "
                                 "WHERE name = ?2 AND \"unique\" AND origin = 'c'", -1, &unique,
                          NULL) != SQLITE_OK)
    {
      mw_db_set_error (error, c->db, sqlite3_errcode (c->db), MW_ENGINE_ERROR_MIGRATION_FAILED,
                       _("Reading the new database's indexes"));
      return FALSE;
    }
  for (guint i = 0; i < rows->len; i++)
    {
      SchemaRow *row = g_ptr_array_index (rows, i);

      if (g_strcmp0 (row->type, "table") == 0)
        g_hash_table_insert (carry_at, row->name, GUINT_TO_POINTER (i));
      else if (g_strcmp0 (row->type, "index") == 0 && row->sql != NULL)
        {
          sqlite3_reset (unique);
          sqlite3_bind_text (unique, 1, row->table, -1, SQLITE_STATIC);
          sqlite3_bind_text (unique, 2, row->name, -1, SQLITE_STATIC);
          if (sqlite3_step (unique) == SQLITE_ROW && sqlite3_column_int (unique, 0) > 0)
            g_hash_table_insert (carry_at, row->table, GUINT_TO_POINTER (i));
        }
    }
  sqlite3_finalize (unique);

  for (guint i = 0; i < rows->len; i++)
    {
      SchemaRow *row = g_ptr_array_index (rows, i);
      gboolean is_table = g_strcmp0 (row->type, "table") == 0;
      const char *table = is_table ? row->name : row->table;
      gpointer at, k;

      /* Made by SQLite itself, with the table that needs it. */
      if ((is_table && g_strcmp0 (row->name, "sqlite_sequence") == 0) || row->sql == NULL)
        continue;
      /* SQLite sorts an index in as much memory as its page cache may hold: the two
       * share the carry's budget rather than each taking all of it. */
      if (!is_table && !mw_db_exec (c->db, "PRAGMA main.cache_size = -" SORT_CACHE_KIB, error))
        return FALSE;
      if (!mw_db_exec (c->db, row->sql, error))
        return FALSE;
      if (!is_table && !mw_db_exec (c->db, "PRAGMA main.cache_size = -" CARRY_CACHE_KIB, error))
        return FALSE;
      if (is_table && mw_schema_lookup_table (app_tables, row->name) != NULL &&
          !copy_app_rows (c, mw_schema_lookup_table (app_tables, row->name), error))
        return FALSE;
      if (table != NULL && g_hash_table_lookup_extended (carry_at, table, NULL, &at) &&
          GPOINTER_TO_UINT (at) == i &&
          g_hash_table_lookup_extended (target_at, table, NULL, &k))
        {
          if (!carry_one (c, GPOINTER_TO_UINT (k), progress, cancellable, error))
            return FALSE;
          n_carried++;
        }
    }

  /* The proof that this is the app's database: its sqlite_schema, row for row. */
  built = read_schema_rows (c->db, "main", error);
  if (built == NULL)
    return FALSE;
  for (guint i = 0; n_carried == targets->len && i <= rows->len; i++)
    {
      SchemaRow *a = i < rows->len ? g_ptr_array_index (rows, i) : NULL;
      SchemaRow *b = i < built->len ? g_ptr_array_index (built, i) : NULL;

      if (a == NULL && b == NULL)
        return TRUE;
      if (a == NULL || b == NULL || g_strcmp0 (a->type, b->type) != 0 ||
          g_strcmp0 (a->name, b->name) != 0 || g_strcmp0 (a->table, b->table) != 0 ||
          g_strcmp0 (a->sql, b->sql) != 0)
        break;
    }
  g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATION_FAILED,
               _("The new database did not come out with the app's structure (%u of %u tables "
                 "carried); it is not used."), n_carried, targets->len);
  return FALSE;
}

/* "child → parent: N" for each foreign key whose parent row is missing, in order. */
static void
collect_orphans (sqlite3   *db,
                 GPtrArray *orphans)
{
  sqlite3_stmt *stmt = NULL;
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key, value;

  if (sqlite3_prepare_v2 (db, "SELECT \"table\", parent FROM pragma_foreign_key_check", -1,
                          &stmt, NULL) == SQLITE_OK)
    while (sqlite3_step (stmt) == SQLITE_ROW)
      {
        char *pair = g_strdup_printf ("%s → %s", sqlite3_column_text (stmt, 0),
                                      sqlite3_column_text (stmt, 1));

        g_hash_table_replace (counts, pair,
                              GSIZE_TO_POINTER (GPOINTER_TO_SIZE (g_hash_table_lookup (counts, pair)) + 1));
      }
  sqlite3_finalize (stmt);
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_ptr_array_add (orphans, g_strdup_printf ("%s: %" G_GSIZE_FORMAT, (char *) key,
                                               GPOINTER_TO_SIZE (value)));
  g_ptr_array_sort (orphans, (GCompareFunc) g_strcmp0);
}

/* The new database's checks, shared by two connections on two cores. Together they
 * are its whole integrity_check: quick_check reads every page (each b-tree's shape,
 * each page used once, the freelist, NOT NULL and CHECK), integrity_check(table) of
 * every table matches each index entry to its row and proves UNIQUE. */
typedef struct
{
  const char *path;
  GPtrArray  *tables;      /* (element-type utf8) every table of the new database */
  gint        next;        /* the next table to check, taken by either connection */
  GPtrArray  *orphans;     /* the report's: only the helper touches it until joined */
  GString    *problems;    /* the helper's findings */
} Checks;

/* integrity_check(table) of the tables not yet taken, until none is left. */
static void
check_tables (sqlite3  *db,
              Checks   *checks,
              GString  *problems)
{
  int i;

  while ((i = g_atomic_int_add (&checks->next, 1)) < (int) checks->tables->len)
    {
      g_autofree char *quoted = mw_db_quote_identifier (g_ptr_array_index (checks->tables, i));
      g_autofree char *sql = g_strdup_printf ("PRAGMA main.integrity_check(%s)", quoted);
      sqlite3_stmt *stmt = NULL;
      int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

      while (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          const char *line = (const char *) sqlite3_column_text (stmt, 0);

          if (g_strcmp0 (line, "ok") != 0)
            g_string_append_printf (problems, "%s%s", problems->len ? "; " : "", line);
          rc = SQLITE_OK;
        }
      if (rc != SQLITE_DONE)
        g_string_append_printf (problems, "%s%s", problems->len ? "; " : "", sqlite3_errmsg (db));
      sqlite3_finalize (stmt);
    }
}

static int
compare_carried (gconstpointer a,
                 gconstpointer b)
{
  const MwAdoptTable *ta = *(MwAdoptTable * const *) a;
  const MwAdoptTable *tb = *(MwAdoptTable * const *) b;

  return ta->carried < tb->carried ? 1 : ta->carried > tb->carried ? -1 : 0;
}

/* The helper: the foreign keys, then tables. Not a read-only connection: SQLite skips
 * CHECK and NOT NULL in integrity_check on those.
 * Returns: non-%NULL if it could open the new database */
static gpointer
checks_thread (gpointer data)
{
  Checks *checks = data;
  g_autoptr(sqlite3) db = mw_db_open (checks->path, SQLITE_OPEN_READWRITE, BUSY_TIMEOUT_MS,
                                      NULL);

  if (db == NULL || !mw_db_exec (db, "PRAGMA query_only = ON", NULL) ||
      !mw_db_exec (db, "PRAGMA cache_size = -" HELPER_CACHE_KIB, NULL))
    return NULL;
  collect_orphans (db, checks->orphans);
  check_tables (db, checks, checks->problems);
  return checks;
}

/* The shop's rows carried into the new database at report->adopted_path: rebuilt
 * from the app's database at @app_path when @setup says how, else the app's database
 * itself, already moved there. */
static gboolean
carry (MwAdoptReport         *report,
       MwMigrationSet        *set,
       const char            *app_path,
       const char            *setup,
       const MwAdoptOptions  *options,
       MwProgress            *progress,
       GCancellable          *cancellable,
       GError               **error)
{
  g_autoptr(sqlite3) db = NULL;
  g_autoptr(MwSchema) old_schema = NULL;
  g_autoptr(MwSchema) new_schema = NULL;
  g_autofree char *attach = attach_sql (report->database_path, "old");
  g_autofree char *attach_app = setup ? attach_sql (app_path, "app") : NULL;
  Carry c = { 0 };
  GPtrArray *targets;
  gboolean carried;
  Checks checks = { 0 };
  g_autoptr(GString) helper_problems = g_string_new (NULL);
  g_autoptr(GPtrArray) tables = NULL;
  GThread *helper = NULL;

  if (setup != NULL)
    {
      /* Our own new file, never one planted at the name; the mode SQLite gives one. */
      int fd = mw_fs_create_exclusive (report->adopted_path, 0644, error);

      if (fd < 0)
        return FALSE;
      close (fd);
    }
  db = mw_db_open (report->adopted_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI,
                   BUSY_TIMEOUT_MS, error);
  /* The copy is nobody's data until it is checked, fsynced and swapped in (the swap
   * checks it again): while it is built, its journal stays in memory (savepoints
   * still roll back) and nothing waits for the disk. */
  if (db == NULL ||
      !mw_db_exec (db, "PRAGMA foreign_keys = OFF", error) ||
      !mw_db_exec (db, "PRAGMA journal_mode = MEMORY", error) ||
      !mw_db_exec (db, "PRAGMA synchronous = OFF", error) ||
      !mw_db_exec (db, "PRAGMA cache_size = -" CARRY_CACHE_KIB, error) ||
      /* An index made after the rows is a sort: on the other core too. */
      !mw_db_exec (db, "PRAGMA threads = 2", error) ||
      (setup != NULL && !mw_db_exec (db, setup, error)) ||
      !mw_db_exec (db, attach, error) ||
      (attach_app != NULL && !mw_db_exec (db, attach_app, error)))
    return FALSE;

  old_schema = mw_schema_read (db, "old", mw_migration_set_get_table (set), error);
  new_schema = old_schema ? mw_schema_read (db, setup ? "app" : "main",
                                            mw_migration_set_get_table (set), error)
                          : NULL;
  if (new_schema == NULL)
    return FALSE;

  /* A mapping that names nothing is a technician's typo: say so before any work. */
  {
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, options->tables);
    while (g_hash_table_iter_next (&iter, &key, &value))
      if (mw_schema_lookup_table (old_schema, key) == NULL ||
          mw_schema_lookup_table (new_schema, value) == NULL)
        {
          g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BAD_MAPPING,
                       _("The mapping %s=%s names a table that does not exist (%s)."),
                       (const char *) key, (const char *) value,
                       mw_schema_lookup_table (old_schema, key) == NULL
                       ? _("not in the shop's database") : _("not in this version of the app"));
          return FALSE;
        }
    g_hash_table_iter_init (&iter, options->columns);
    while (g_hash_table_iter_next (&iter, &key, &value))
      {
        g_auto(GStrv) parts = g_strsplit (key, ".", 2);
        const MwSchemaTable *old_table = mw_schema_lookup_table (old_schema, parts[0]);

        if (old_table == NULL || find_column (old_table, parts[1]) == NULL)
          {
            g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BAD_MAPPING,
                         _("The mapping %s=%s names a column the shop's database does not "
                           "have."), (const char *) key, (const char *) value);
            return FALSE;
          }
      }
    g_hash_table_iter_init (&iter, options->values);
    while (g_hash_table_iter_next (&iter, &key, &value))
      {
        g_auto(GStrv) parts = g_strsplit (key, ".", 2);
        const MwSchemaTable *new_table = mw_schema_lookup_table (new_schema, parts[0]);

        if (new_table == NULL || find_column (new_table, parts[1]) == NULL)
          {
            g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BAD_MAPPING,
                         _("The value for %s names a column this version of the app does not "
                           "have."), (const char *) key);
            return FALSE;
          }
      }
  }

  c.db = db;
  c.old_schema = old_schema;
  c.new_schema = new_schema;
  c.options = options;
  c.report = report;

  /* The report lists the app's tables in its order, whatever order they are filled in. */
  targets = mw_schema_get_tables (new_schema);
  for (guint i = 0; i < targets->len; i++)
    g_ptr_array_add (report->tables,
                     adopt_table_new (((MwSchemaTable *) g_ptr_array_index (targets, i))->name));

  if (!mw_db_exec (db, "BEGIN", error))
    return FALSE;
  carried = setup != NULL ? rebuild_and_carry (&c, progress, cancellable, error)
                          : carry_into_app (&c, progress, cancellable, error);
  if (!carried || !carry_counters (&c, error) || !mw_db_exec (db, "COMMIT", error))
    {
      if (!sqlite3_get_autocommit (db))
        mw_db_exec (db, "ROLLBACK", NULL);
      return FALSE;
    }

  /* What the shop had and this version has no table for stays in the kept database. */
  {
    GPtrArray *old_tables = mw_schema_get_tables (old_schema);

    for (guint i = 0; i < old_tables->len; i++)
      {
        const MwSchemaTable *old_table = g_ptr_array_index (old_tables, i);
        gboolean used = FALSE;

        for (guint k = 0; k < report->tables->len && !used; k++)
          used = g_strcmp0 (((MwAdoptTable *) g_ptr_array_index (report->tables, k))->from,
                            old_table->name) == 0;
        if (!used)
          g_ptr_array_add (report->left_behind,
                           g_strdup_printf (_("%s (%lld rows)"), old_table->name,
                                            (long long) count_rows (db, "old", old_table->name)));
      }
  }
  mw_db_exec (db, "DETACH DATABASE old", NULL);
  if (attach_app != NULL)
    mw_db_exec (db, "DETACH DATABASE app", NULL);

  for (guint i = 0; i < report->tables->len; i++)
    {
      MwAdoptTable *t = g_ptr_array_index (report->tables, i);

      report->carried += t->carried;
      report->rejected += t->rejected;
    }

  /* The whole integrity_check of the new database, and the rows whose parent is
   * missing (listed, never deleted), on this connection and a helper's on the other
   * core: this one reads every page, then both take the tables one by one. */
  if (progress != NULL)
    mw_progress_update (progress, 1.0, _("Checking the new database"));
  tables = read_schema_rows (db, "main", error);
  if (tables == NULL)
    return FALSE;
  /* The biggest first, so that neither connection is left with one at the end. */
  checks.tables = g_ptr_array_new_with_free_func (g_free);
  {
    g_autoptr(GPtrArray) by_size = g_ptr_array_sized_new (report->tables->len);

    for (guint i = 0; i < report->tables->len; i++)
      g_ptr_array_add (by_size, g_ptr_array_index (report->tables, i));
    g_ptr_array_sort (by_size, compare_carried);
    for (guint i = 0; i < by_size->len; i++)
      g_ptr_array_add (checks.tables,
                       g_strdup (((MwAdoptTable *) g_ptr_array_index (by_size, i))->table));
  }
  for (guint i = 0; i < tables->len; i++)
    {
      SchemaRow *row = g_ptr_array_index (tables, i);

      if (g_strcmp0 (row->type, "table") == 0 &&
          !g_ptr_array_find_with_equal_func (checks.tables, row->name, g_str_equal, NULL))
        g_ptr_array_add (checks.tables, g_strdup (row->name));
    }
  checks.path = report->adopted_path;
  checks.orphans = report->orphans;
  checks.problems = helper_problems;
  helper = g_thread_try_new ("mw-adopt-checks", checks_thread, &checks, NULL);

  {
    g_autofree char *problems = NULL;
    g_autoptr(GString) found = g_string_new (NULL);
    int rc = SQLITE_OK;

    if (!mw_db_check_integrity (db, FALSE, 20, "; ", &problems, &rc))
      g_string_append (found, problems && *problems ? problems : sqlite3_errstr (rc));
    check_tables (db, &checks, found);
    /* A helper that could not open the file took no table: only the foreign keys are
     * left, here. */
    if (helper == NULL || !g_thread_join (g_steal_pointer (&helper)))
      collect_orphans (db, report->orphans);
    if (helper_problems->len > 0)
      g_string_append_printf (found, "%s%s", found->len ? "; " : "", helper_problems->str);
    g_ptr_array_unref (checks.tables);
    if (found->len > 0)
      {
        g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CHECK_FAILED,
                     _("The new database failed its integrity check (%s); it is not used."),
                     found->str);
        return FALSE;
      }
  }

  report->ready = report->needs_values->len == 0;
  return TRUE;
}

static gboolean
build_carried (MwAdoptReport         *report,
               MwMigrationSet        *set,
               const MwAdoptOptions  *options,
               MwProgress            *progress,
               GCancellable          *cancellable,
               GError               **error)
{
  g_autoptr(MwMigrator) migrator = NULL;
  g_autofree char *app_path = NULL;
  g_autofree char *setup = NULL;
  gboolean ok;

  /* The app's database exactly as `migrate` builds one from scratch: schema and
   * __drizzle_migrations drizzle-orm's own. (A name an earlier copy left behind by a
   * crash is removed next time, as those copies are.) */
  remove_older_copies (report->database_path);
  report->adopted_path = unique_adopted_path (report->database_path);
  app_path = g_strconcat (report->adopted_path, ".app", NULL);
  mw_remove_set (app_path);
  if (progress != NULL)
    mw_progress_update (progress, 0.0, _("Building a new database with the app's updates"));
  migrator = mw_migrator_new (app_path, set);
  mw_migrator_set_backup (migrator, FALSE, NULL);
  if (!mw_migrator_run (migrator, cancellable, error))
    {
      mw_remove_set (app_path);
      return FALSE;
    }

  if (can_rebuild (app_path, &setup))
    {
      g_debug ("Carrying into a rebuild of the app's database, indexes after the rows");
      ok = carry (report, set, app_path, setup, options, progress, cancellable, error);
    }
  else
    ok = mw_rename (app_path, report->adopted_path, error) &&
         carry (report, set, NULL, NULL, options, progress, cancellable, error);
  mw_remove_set (app_path);
  return ok;
}

/* ---- preparing and committing -------------------------------------------------------- */

/**
 * mw_adopt_prepare:
 *
 * Decides how the database's data can be kept, and prepares it: for a proven level,
 * the re-stamp (nothing built, nothing changed yet); otherwise a new database beside
 * the original with every row carried. The original is only read.
 *
 * Returns: (transfer full): the report, or %NULL with @error set: REFUSED (a database
 *   newer than the app, or one whose history fits it), CORRUPT and friends (repair
 *   it first), BAD_MAPPING, MIGRATIONS_INVALID
 */
MwAdoptReport *
mw_adopt_prepare (const char            *database_path,
                  MwMigrationSet        *set,
                  const MwAdoptOptions  *options,
                  MwProgress            *progress,
                  GCancellable          *cancellable,
                  GError               **error)
{
  g_autoptr(MwAdoptReport) report = NULL;
  g_autoptr(MwAdoptOptions) no_options = NULL;
  g_autoptr(MwDiagnosis) d = NULL;
  g_autoptr(MwSchemaCheck) check = NULL;

  g_return_val_if_fail (database_path != NULL, NULL);
  g_return_val_if_fail (MW_IS_MIGRATION_SET (set), NULL);

  if (options == NULL)
    options = no_options = mw_adopt_options_new ();

  d = mw_diagnose (database_path, set, cancellable);
  switch (d->state)
    {
    case MW_STATE_UNTRACKED:
    case MW_STATE_UNKNOWN_HISTORY:
    case MW_STATE_HASH_MISMATCH:
      break;
    case MW_STATE_NEWER:
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED, "%s", d->message);
      return NULL;
    case MW_STATE_UP_TO_DATE:
    case MW_STATE_PENDING:
    case MW_STATE_MISSING:
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED,
                   _("The database's update history fits this app: nothing to adopt (use "
                     "migrate). Nothing was changed."));
      return NULL;
    case MW_STATE_CORRUPT:
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                   _("%s Repair it first (repair); its data is carried afterwards."), d->message);
      return NULL;
    case MW_STATE_NOT_A_DATABASE:
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_NOT_A_DATABASE, "%s", d->message);
      return NULL;
    case MW_STATE_LOCKED:
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED, "%s", d->message);
      return NULL;
    case MW_STATE_NO_SPACE:
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_NO_SPACE, "%s", d->message);
      return NULL;
    default:
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE, "%s%s%s", d->message,
                   d->detail ? " " : "", d->detail ? d->detail : "");
      return NULL;
    }

  check = mw_schema_check (database_path, set, mw_diagnosis_recorded_level (d), NULL, error);
  if (check == NULL)
    return NULL;

  report = report_new (database_path);
  report->level = check->level;
  report->n_levels = check->n_levels;
  if (check->diffs->len == 0)
    {
      /* The tables are the app's at a proven level: re-stamp, copy nothing. */
      report->method = MW_ADOPT_RESTAMP;
      report->ready = TRUE;
      return g_steal_pointer (&report);
    }

  report->method = MW_ADOPT_CARRY;
  if (!build_carried (report, set, options, progress, cancellable, error))
    {
      if (report->adopted_path != NULL)
        mw_remove_set (report->adopted_path);
      return NULL;
    }
  return g_steal_pointer (&report);
}

/**
 * mw_adopt_commit:
 * @out_aside: (out) (optional): carry: where the original was kept
 * @out_backup: (out) (optional): the verified backup made first
 *
 * Puts a prepared adoption in place. Re-stamp: the migrator rewrites the history and
 * applies the rest, in one transaction after its verified backup. Carry: a verified
 * backup of the original, then the new database is swapped in through the operation
 * journal, the original kept aside whole as `.old.<stamp>`.
 */
gboolean
mw_adopt_commit (MwAdoptReport  *report,
                 MwMigrationSet *set,
                 const char     *backup_dir,
                 MwProgress     *progress,
                 GCancellable   *cancellable,
                 char          **out_aside,
                 MwBackup      **out_backup,
                 GError        **error)
{
  MwAdoptReportPrivate *priv = (MwAdoptReportPrivate *) report;
  g_autoptr(MwBackup) backup = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (report != NULL, FALSE);

  if (!report->ready)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BAD_MAPPING,
                   _("The data cannot be carried yet: %s needs a value (--value). Nothing was "
                     "changed."),
                   report->needs_values->len ? (const char *) g_ptr_array_index (report->needs_values, 0)
                                             : "?");
      return FALSE;
    }

  if (report->method == MW_ADOPT_RESTAMP)
    {
      g_autoptr(MwMigrator) migrator = mw_migrator_new (report->database_path, set);

      if (progress != NULL)
        mw_migrator_set_progress (migrator, progress);
      mw_migrator_set_backup (migrator, TRUE, backup_dir);
      mw_migrator_set_restamp (migrator, (int) report->level);
      if (!mw_migrator_run (migrator, cancellable, error))
        return FALSE;
      for (guint i = 0; i < mw_migrator_get_replaced_rows (migrator)->len; i++)
        g_ptr_array_add (priv->replaced_rows,
                         g_strdup (g_ptr_array_index (mw_migrator_get_replaced_rows (migrator), i)));
      for (guint i = 0; i < mw_migrator_get_applied (migrator)->len; i++)
        g_ptr_array_add (priv->applied,
                         g_strdup (g_ptr_array_index (mw_migrator_get_applied (migrator), i)));
      if (out_backup != NULL && mw_migrator_get_backup (migrator) != NULL)
        *out_backup = mw_backup_ref (mw_migrator_get_backup (migrator));
      return TRUE;
    }

  if (progress != NULL)
    mw_progress_update (progress, 0.0, _("Backing up the database"));
  backup = mw_backup_create (report->database_path, backup_dir, MW_BACKUP_REASON_PRE_ADOPT, set,
                             progress, cancellable, &local_error);
  if (backup == NULL)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BACKUP_FAILED,
                   _("No verified backup could be made, so nothing was changed: %s"),
                   local_error->message);
      return FALSE;
    }
  if (progress != NULL)
    {
      mw_progress_set_cancellable (progress, FALSE);
      mw_progress_update (progress, 1.0, _("Putting the new database in place"));
    }
  if (!mw_adopt_swap (report->database_path, report->adopted_path, out_aside, error))
    return FALSE;
  g_message ("Adopted %s: %" G_GINT64_FORMAT " rows carried into the app's schema",
             report->database_path, report->carried);
  if (out_backup != NULL)
    *out_backup = g_steal_pointer (&backup);
  return TRUE;
}

/* ---- async ---------------------------------------------------------------------------- */

typedef struct
{
  char           *database_path;
  MwMigrationSet *set;
  MwAdoptOptions *options;       /* (borrowed from the caller until the task ends) */
  char           *backup_dir;
  MwProgress     *progress;
  gboolean        commit;
  char           *aside;
} AdoptData;

static void
adopt_data_free (AdoptData *data)
{
  g_free (data->database_path);
  g_clear_object (&data->set);
  g_free (data->backup_dir);
  g_clear_object (&data->progress);
  g_free (data->aside);
  g_free (data);
}

static void
adopt_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  AdoptData *data = task_data;
  GError *error = NULL;
  MwAdoptReport *report;

  mw_thread_run_in_background ();
  report = mw_adopt_prepare (data->database_path, data->set, data->options, data->progress,
                             cancellable, &error);
  if (report != NULL && !report->ready && report->adopted_path != NULL)
    {
      /* Incomplete (a table could not be carried): not left beside the database to be
       * mistaken for the result. The report says what is needed. */
      mw_remove_set (report->adopted_path);
      g_clear_pointer (&report->adopted_path, g_free);
    }
  else if (report != NULL && data->commit &&
      !mw_adopt_commit (report, data->set, data->backup_dir, data->progress, cancellable,
                        &data->aside, NULL, &error))
    {
      if (report->method == MW_ADOPT_CARRY && report->adopted_path != NULL)
        mw_remove_set (report->adopted_path);
      g_clear_pointer (&report, mw_adopt_report_unref);
    }
  if (report != NULL)
    g_task_return_pointer (task, report, (GDestroyNotify) mw_adopt_report_unref);
  else
    g_task_return_error (task, error);
}

/**
 * mw_adopt_async:
 * @options: (nullable): must stay alive until the callback runs
 * @commit: also put it in place (mw_adopt_commit())
 *
 * Runs mw_adopt_prepare() (and mw_adopt_commit()) in a worker thread.
 */
void
mw_adopt_async (const char           *database_path,
                MwMigrationSet       *set,
                const MwAdoptOptions *options,
                const char           *backup_dir,
                gboolean              commit,
                MwProgress           *progress,
                GCancellable         *cancellable,
                GAsyncReadyCallback   callback,
                gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  AdoptData *data;

  g_return_if_fail (database_path != NULL && MW_IS_MIGRATION_SET (set));

  data = g_new0 (AdoptData, 1);
  data->database_path = g_strdup (database_path);
  data->set = g_object_ref (set);
  data->options = (MwAdoptOptions *) options;
  data->backup_dir = g_strdup (backup_dir);
  data->progress = progress ? g_object_ref (progress) : NULL;
  data->commit = commit;
  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mw_adopt_async);
  g_task_set_task_data (task, data, (GDestroyNotify) adopt_data_free);
  g_task_run_in_thread (task, adopt_thread);
}

/**
 * mw_adopt_finish:
 * @out_aside: (out) (optional): carry with commit: where the original was kept
 *
 * Returns: (transfer full): the report, or %NULL with @error set
 */
MwAdoptReport *
mw_adopt_finish (GAsyncResult  *result,
                 char         **out_aside,
                 GError       **error)
{
  AdoptData *data;
  MwAdoptReport *report;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  data = g_task_get_task_data (G_TASK (result));
  report = g_task_propagate_pointer (G_TASK (result), error);
  if (report != NULL && out_aside != NULL)
    *out_aside = g_steal_pointer (&data->aside);
  return report;
}
