/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-schema"

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib/gi18n.h>

#include "mw-db-private.h"
#include "mw-error.h"
#include "mw-schema.h"

/*
 * Schemas compared by structure, not by SQL text: what SQLite itself reports of each
 * table (WITHOUT ROWID, STRICT), column (declared type, NOT NULL, default, primary-key
 * position, hidden or generated), index (key columns with their order and collation,
 * unique, the partial WHERE), foreign key (columns, target, ON DELETE / ON UPDATE),
 * CHECK constraint, trigger and view (normalised SQL). Each object is one entry,
 * keyed by what it is and where; its value is its normalised definition. Two schemas
 * are compared entry by entry, so a difference is data: what, where, expected, actual.
 *
 * The reference is what the app's own migrations build: they are run on an empty
 * in-memory database exactly as `migrate` runs them (one transaction, foreign keys
 * off, each piece one statement), and the schema is read after each migration.
 */

struct _MwSchema
{
  GTree      *objects;   /* "object\x1ftable\x1fname" → normalised definition */
  GHashTable *tables;    /* name → MwSchemaTable */
  GPtrArray  *order;     /* (element-type MwSchemaTable) (transfer none): schema order */
};

struct _MwReference
{
  GPtrArray *levels;     /* (element-type MwSchema): level k = migrations 0..k-1 */
};

#define SEP "\x1f"

/* ---- normalising -------------------------------------------------------------------- */

/* SQL text compared by meaning rather than layout: whitespace collapsed, identifier
 * quotes dropped, keywords and names lower-cased — all outside string literals, whose
 * contents are kept exactly. */
static char *
normalise_sql (const char *sql)
{
  GString *out = g_string_new (NULL);
  gboolean space = FALSE;

  if (sql == NULL)
    return g_string_free (out, FALSE);

  for (const char *p = sql; *p != '\0'; p++)
    {
      if (*p == '\'')
        {
          if (space && out->len > 0)
            g_string_append_c (out, ' ');
          space = FALSE;
          g_string_append_c (out, *p++);
          while (*p != '\0')
            {
              g_string_append_c (out, *p);
              if (*p == '\'' && p[1] == '\'')
                g_string_append_c (out, *++p);
              else if (*p == '\'')
                break;
              p++;
            }
          if (*p == '\0')
            break;
          continue;
        }
      if (*p == '"' || *p == '`' || *p == '[' || *p == ']')
        continue;
      if (g_ascii_isspace (*p))
        {
          space = TRUE;
          continue;
        }
      if (strchr ("(),;=", *p) != NULL)
        {
          /* No space around punctuation: "f ( a , b )" and "f(a,b)" read alike. */
          space = FALSE;
          while (out->len > 0 && out->str[out->len - 1] == ' ')
            g_string_truncate (out, out->len - 1);
          if (*p != ';')
            g_string_append_c (out, *p);
          continue;
        }
      if (space && out->len > 0 && strchr ("(,=", out->str[out->len - 1]) == NULL)
        g_string_append_c (out, ' ');
      space = FALSE;
      g_string_append_c (out, g_ascii_tolower (*p));
    }
  while (out->len > 0 && out->str[out->len - 1] == ' ')
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}

static char *
normalise_type (const char *type)
{
  g_autofree char *n = normalise_sql (type);

  return g_ascii_strup (n, -1);
}

/* The CHECK constraints of a CREATE TABLE statement, each normalised: "CHECK" outside
 * quotes, then its balanced parentheses. */
static GPtrArray *
checks_of (const char *sql)
{
  GPtrArray *checks = g_ptr_array_new_with_free_func (g_free);
  const char *p = sql;

  while (p != NULL && *p != '\0')
    {
      if (*p == '\'' || *p == '"' || *p == '`' || *p == '[')
        {
          char close = *p == '[' ? ']' : *p;

          p = strchr (p + 1, close);
          if (p == NULL)
            break;
          p++;
          continue;
        }
      if (g_ascii_strncasecmp (p, "check", 5) == 0 &&
          (p == sql || !(g_ascii_isalnum (p[-1]) || p[-1] == '_')) &&
          !(g_ascii_isalnum (p[5]) || p[5] == '_'))
        {
          const char *q = p + 5;
          const char *start;
          int depth = 0;

          while (g_ascii_isspace (*q))
            q++;
          if (*q != '(')
            {
              p = q;
              continue;
            }
          start = q;
          for (; *q != '\0'; q++)
            {
              if (*q == '\'')
                {
                  q = strchr (q + 1, '\'');
                  if (q == NULL)
                    break;
                  continue;
                }
              if (*q == '(')
                depth++;
              else if (*q == ')' && --depth == 0)
                break;
            }
          if (q == NULL || *q == '\0')
            break;
          {
            g_autofree char *text = g_strndup (start, (gsize) (q - start + 1));

            g_ptr_array_add (checks, normalise_sql (text));
          }
          p = q + 1;
          continue;
        }
      p++;
    }
  return checks;
}

/* The WHERE of a partial index's CREATE INDEX statement, normalised. */
static char *
partial_where (const char *sql)
{
  g_autofree char *n = normalise_sql (sql);
  const char *where = n ? strstr (n, ") where ") : NULL;

  return where ? g_strdup (where + strlen (") where ")) : NULL;
}

/* ---- reading ------------------------------------------------------------------------ */

static void
column_free (MwSchemaColumn *column)
{
  g_free (column->name);
  g_free (column->type);
  g_free (column->default_sql);
  g_free (column);
}

static void
table_free (MwSchemaTable *table)
{
  g_free (table->name);
  g_ptr_array_unref (table->columns);
  g_free (table);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b,
                 gpointer      data)
{
  return strcmp (a, b);
}

static MwSchema *
schema_new (void)
{
  MwSchema *self = g_new0 (MwSchema, 1);

  self->objects = g_tree_new_full (compare_strings, NULL, g_free, g_free);
  self->tables = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify) table_free);
  self->order = g_ptr_array_new ();
  return self;
}

void
mw_schema_free (MwSchema *self)
{
  if (self == NULL)
    return;
  g_tree_unref (self->objects);
  g_ptr_array_unref (self->order);
  g_hash_table_unref (self->tables);
  g_free (self);
}

static void
add_object (MwSchema       *self,
            MwSchemaObject  object,
            const char     *table,
            const char     *name,
            char           *value)
{
  char *key = g_strdup_printf ("%d" SEP "%s" SEP "%s", object, table ? table : "",
                               name ? name : "");

  g_tree_replace (self->objects, key, value ? value : g_strdup (""));
}

static sqlite3_stmt *
prepare (sqlite3     *db,
         const char  *sql,
         const char  *arg1,
         const char  *arg2,
         GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_UNREADABLE,
                       _("Reading the database's structure"));
      sqlite3_finalize (stmt);
      return NULL;
    }
  if (arg1 != NULL)
    sqlite3_bind_text (stmt, 1, arg1, -1, SQLITE_TRANSIENT);
  if (arg2 != NULL)
    sqlite3_bind_text (stmt, 2, arg2, -1, SQLITE_TRANSIENT);
  return stmt;
}

static const char *
text_at (sqlite3_stmt *stmt,
         int           i)
{
  return (const char *) sqlite3_column_text (stmt, i);
}

static gboolean
read_table (MwSchema    *self,
            sqlite3     *db,
            const char  *schema_name,
            const char  *name,
            const char  *sql,
            GError     **error)
{
  MwSchemaTable *table = g_new0 (MwSchemaTable, 1);
  g_autoptr(GPtrArray) checks = NULL;
  sqlite3_stmt *stmt;
  int rc;

  table->name = g_strdup (name);
  table->columns = g_ptr_array_new_with_free_func ((GDestroyNotify) column_free);
  g_hash_table_replace (self->tables, table->name, table);
  g_ptr_array_add (self->order, table);

  /* pragma_table_list (SQLite 3.37) knows WITHOUT ROWID and STRICT. */
  stmt = prepare (db, "SELECT wr, strict FROM pragma_table_list(?1, ?2)", name, schema_name,
                  NULL);
  if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    {
      table->without_rowid = sqlite3_column_int (stmt, 0) != 0;
      table->strict = sqlite3_column_int (stmt, 1) != 0;
    }
  sqlite3_finalize (stmt);
  add_object (self, MW_SCHEMA_TABLE, name, NULL,
              g_strdup_printf ("%s%s", table->without_rowid ? "WITHOUT ROWID" : "rowid",
                               table->strict ? ", STRICT" : ""));

  stmt = prepare (db, "SELECT name, type, \"notnull\", dflt_value, pk, hidden "
                      "FROM pragma_table_xinfo(?1, ?2) ORDER BY cid", name, schema_name, error);
  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      MwSchemaColumn *c = g_new0 (MwSchemaColumn, 1);
      g_autofree char *type = NULL;
      g_autofree char *dflt = NULL;

      c->name = g_strdup (text_at (stmt, 0));
      c->type = g_strdup (text_at (stmt, 1) ? text_at (stmt, 1) : "");
      c->not_null = sqlite3_column_int (stmt, 2) != 0;
      c->default_sql = g_strdup (text_at (stmt, 3));
      c->pk = sqlite3_column_int (stmt, 4);
      c->hidden = sqlite3_column_int (stmt, 5) != 0;
      g_ptr_array_add (table->columns, c);

      type = normalise_type (c->type);
      dflt = c->default_sql ? normalise_sql (c->default_sql) : NULL;
      add_object (self, MW_SCHEMA_COLUMN, name, c->name,
                  g_strdup_printf ("%s%s%s%s%s%s", *type ? type : "(no type)",
                                   c->not_null ? " NOT NULL" : "",
                                   dflt ? " DEFAULT " : "", dflt ? dflt : "",
                                   c->pk ? (c->pk == 1 ? " PRIMARY KEY" : " PRIMARY KEY (part)")
                                         : "",
                                   c->hidden ? " (generated or hidden)" : ""));
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_UNREADABLE,
                       _("Reading the database's structure"));
      return FALSE;
    }

  /* Indexes: those SQLite makes for UNIQUE and PRIMARY KEY constraints have names of
   * its choosing, so they are known by their columns; the others by name. */
  stmt = prepare (db, "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1, ?2)",
                  name, schema_name, error);
  if (stmt == NULL)
    return FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *index = text_at (stmt, 0);
      gboolean unique = sqlite3_column_int (stmt, 1) != 0;
      const char *origin = text_at (stmt, 2);
      g_autoptr(GString) cols = g_string_new (NULL);
      sqlite3_stmt *info;

      info = prepare (db, "SELECT name, \"desc\", coll FROM pragma_index_xinfo(?1, ?2) "
                          "WHERE key = 1 ORDER BY seqno", index, schema_name, NULL);
      while (info != NULL && sqlite3_step (info) == SQLITE_ROW)
        {
          const char *coll = text_at (info, 2);

          g_string_append_printf (cols, "%s%s%s%s%s", cols->len ? ", " : "",
                                  text_at (info, 0) ? text_at (info, 0) : "(expression)",
                                  sqlite3_column_int (info, 1) ? " DESC" : "",
                                  coll && g_ascii_strcasecmp (coll, "BINARY") != 0 ? " COLLATE " : "",
                                  coll && g_ascii_strcasecmp (coll, "BINARY") != 0 ? coll : "");
        }
      sqlite3_finalize (info);

      if (g_strcmp0 (origin, "c") != 0)
        {
          g_autofree char *what = g_strdup_printf ("%s (%s)", g_strcmp0 (origin, "pk") == 0
                                                              ? "PRIMARY KEY" : "UNIQUE",
                                                   cols->str);

          add_object (self, MW_SCHEMA_INDEX, name, what, g_strdup (what));
        }
      else
        {
          g_autofree char *where = NULL;

          if (sqlite3_column_int (stmt, 3))
            {
              g_autofree char *quoted = mw_db_quote_identifier (schema_name);
              g_autofree char *select = g_strdup_printf ("SELECT sql FROM %s.sqlite_schema "
                                                         "WHERE type = 'index' AND name = ?1",
                                                         quoted);
              sqlite3_stmt *s = prepare (db, select, index, NULL, NULL);

              if (s != NULL && sqlite3_step (s) == SQLITE_ROW)
                where = partial_where (text_at (s, 0));
              sqlite3_finalize (s);
            }
          add_object (self, MW_SCHEMA_INDEX, name, index,
                      g_strdup_printf ("%s(%s)%s%s", unique ? "UNIQUE " : "", cols->str,
                                       where ? " WHERE " : "", where ? where : ""));
        }
    }
  sqlite3_finalize (stmt);

  /* Foreign keys, by their columns and target. */
  stmt = prepare (db, "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete "
                      "FROM pragma_foreign_key_list(?1, ?2) ORDER BY id, seq",
                  name, schema_name, error);
  if (stmt == NULL)
    return FALSE;
  {
    g_autoptr(GString) from = g_string_new (NULL);
    g_autoptr(GString) to = g_string_new (NULL);
    g_autofree char *target = NULL;
    g_autofree char *actions = NULL;
    int current = -1;
    gboolean more = TRUE;

    while (more)
      {
        more = sqlite3_step (stmt) == SQLITE_ROW;
        if (current >= 0 && (!more || sqlite3_column_int (stmt, 0) != current))
          {
            g_autofree char *key = g_strdup_printf ("(%s) → %s", from->str, target);

            add_object (self, MW_SCHEMA_FOREIGN_KEY, name, key,
                        g_strdup_printf ("(%s) → %s(%s) %s", from->str, target, to->str,
                                         actions));
            g_string_truncate (from, 0);
            g_string_truncate (to, 0);
          }
        if (!more)
          break;
        current = sqlite3_column_int (stmt, 0);
        g_free (target);
        target = g_strdup (text_at (stmt, 1));
        g_free (actions);
        actions = g_strdup_printf ("ON UPDATE %s ON DELETE %s", text_at (stmt, 4),
                                   text_at (stmt, 5));
        g_string_append_printf (from, "%s%s", from->len ? ", " : "", text_at (stmt, 2));
        g_string_append_printf (to, "%s%s", to->len ? ", " : "",
                                text_at (stmt, 3) ? text_at (stmt, 3) : "");
      }
  }
  sqlite3_finalize (stmt);

  checks = checks_of (sql);
  for (guint i = 0; i < checks->len; i++)
    add_object (self, MW_SCHEMA_CHECK, name, g_ptr_array_index (checks, i),
                g_strdup (g_ptr_array_index (checks, i)));
  return TRUE;
}

/**
 * mw_schema_read:
 * @schema_name: "main", or an attached database's name
 * @migrations_table: (nullable): the migrations table, left out of the comparison
 *
 * Reads a database's structure through SQLite's own pragmas. Changes nothing.
 *
 * Returns: (transfer full): the schema, or %NULL with @error set
 */
MwSchema *
mw_schema_read (sqlite3     *db,
                const char  *schema_name,
                const char  *migrations_table,
                GError     **error)
{
  g_autoptr(MwSchema) self = schema_new ();
  g_autofree char *quoted = mw_db_quote_identifier (schema_name ? schema_name : "main");
  g_autofree char *select = g_strdup_printf ("SELECT type, name, tbl_name, sql FROM %s.sqlite_schema "
                                             "WHERE name NOT LIKE 'sqlite\\_%%' ESCAPE '\\' "
                                             "ORDER BY rowid", quoted);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (db != NULL, NULL);

  if (schema_name == NULL)
    schema_name = "main";
  if (migrations_table == NULL)
    migrations_table = "__drizzle_migrations";

  stmt = prepare (db, select, NULL, NULL, error);
  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *type = text_at (stmt, 0);
      const char *name = text_at (stmt, 1);
      const char *sql = text_at (stmt, 3);

      if (name == NULL || g_str_equal (name, migrations_table))
        continue;
      if (g_strcmp0 (type, "table") == 0)
        {
          if (!read_table (self, db, schema_name, name, sql, error))
            {
              sqlite3_finalize (stmt);
              return NULL;
            }
        }
      else if (g_strcmp0 (type, "trigger") == 0)
        add_object (self, MW_SCHEMA_TRIGGER, NULL, name, normalise_sql (sql));
      else if (g_strcmp0 (type, "view") == 0)
        add_object (self, MW_SCHEMA_VIEW, NULL, name, normalise_sql (sql));
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_CORRUPT,
                       _("Reading the database's structure"));
      return NULL;
    }
  return g_steal_pointer (&self);
}

const MwSchemaTable *
mw_schema_lookup_table (MwSchema   *self,
                        const char *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  return g_hash_table_lookup (self->tables, name);
}

/**
 * mw_schema_get_tables:
 *
 * Returns: (transfer none) (element-type MwSchemaTable): the tables, in the order the
 *   schema holds them
 */
GPtrArray *
mw_schema_get_tables (MwSchema *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->order;
}

guint
mw_schema_get_n_objects (MwSchema *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return (guint) g_tree_nnodes (self->objects);
}

/* ---- comparing ---------------------------------------------------------------------- */

void
mw_schema_diff_free (MwSchemaDiff *diff)
{
  if (diff == NULL)
    return;
  g_free (diff->table);
  g_free (diff->name);
  g_free (diff->expected);
  g_free (diff->actual);
  g_free (diff);
}

static void
split_key (const char      *key,
           MwSchemaObject  *object,
           char           **table,
           char           **name)
{
  g_auto(GStrv) parts = g_strsplit (key, SEP, 3);

  *object = (MwSchemaObject) atoi (parts[0]);
  *table = parts[1] && *parts[1] ? g_strdup (parts[1]) : NULL;
  *name = parts[1] && parts[2] && *parts[2] ? g_strdup (parts[2]) : NULL;
}

static gboolean
collect_key (gpointer key,
             gpointer value,
             gpointer data)
{
  g_ptr_array_add (data, key);
  return FALSE;
}

static int
compare_keys (gconstpointer a,
              gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/**
 * mw_schema_compare:
 *
 * Compares two schemas object by object. A missing or extra table is one
 * difference, not one per column.
 *
 * Returns: (transfer full) (element-type MwSchemaDiff): the differences, in a stable
 *   order; empty when the schemas are the same
 */
GPtrArray *
mw_schema_compare (MwSchema *expected,
                   MwSchema *actual)
{
  GPtrArray *diffs = g_ptr_array_new_with_free_func ((GDestroyNotify) mw_schema_diff_free);
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  g_return_val_if_fail (expected != NULL && actual != NULL, diffs);

  g_tree_foreach (expected->objects, collect_key, keys);
  g_tree_foreach (actual->objects, collect_key, keys);
  g_ptr_array_sort (keys, compare_keys);

  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index (keys, i);
      const char *want = g_tree_lookup (expected->objects, key);
      const char *have = g_tree_lookup (actual->objects, key);
      MwSchemaDiff *diff;
      MwSchemaObject object;
      char *table, *name;

      if (!g_hash_table_add (seen, (gpointer) key))
        continue;
      if (want != NULL && have != NULL && g_str_equal (want, have))
        continue;

      split_key (key, &object, &table, &name);
      /* Within a table one side does not have at all, only the table is a difference. */
      if (object != MW_SCHEMA_TABLE && table != NULL &&
          (g_hash_table_lookup (expected->tables, table) == NULL ||
           g_hash_table_lookup (actual->tables, table) == NULL))
        {
          g_free (table);
          g_free (name);
          continue;
        }

      diff = g_new0 (MwSchemaDiff, 1);
      diff->kind = want == NULL ? MW_SCHEMA_DIFF_EXTRA
                 : have == NULL ? MW_SCHEMA_DIFF_MISSING : MW_SCHEMA_DIFF_CHANGED;
      diff->object = object;
      diff->table = table;
      diff->name = name;
      diff->expected = g_strdup (want);
      diff->actual = g_strdup (have);
      g_ptr_array_add (diffs, diff);
    }
  return diffs;
}

const char *
mw_schema_object_to_string (MwSchemaObject object)
{
  static const char * const names[] = {
    "table", "column", "index", "foreign-key", "check", "trigger", "view",
  };

  g_return_val_if_fail ((guint) object < G_N_ELEMENTS (names), NULL);
  return names[object];
}

static const char *
object_words (MwSchemaObject object)
{
  switch (object)
    {
    case MW_SCHEMA_TABLE:       return _("table");
    case MW_SCHEMA_COLUMN:      return _("column");
    case MW_SCHEMA_INDEX:       return _("index");
    case MW_SCHEMA_FOREIGN_KEY: return _("link to another table");
    case MW_SCHEMA_CHECK:       return _("check");
    case MW_SCHEMA_TRIGGER:     return _("trigger");
    case MW_SCHEMA_VIEW:        return _("view");
    default:                    return "?";
    }
}

/**
 * mw_schema_diff_to_text:
 *
 * Returns: (transfer full): the difference in plain words, one line
 */
char *
mw_schema_diff_to_text (const MwSchemaDiff *d)
{
  g_autofree char *where = NULL;

  g_return_val_if_fail (d != NULL, NULL);

  if (d->object == MW_SCHEMA_TABLE)
    where = g_strdup_printf (_("table %s"), d->table);
  else if (d->table != NULL)
    where = g_strdup_printf (_("%s %s of table %s"), object_words (d->object), d->name,
                             d->table);
  else
    where = g_strdup_printf ("%s %s", object_words (d->object), d->name);

  switch (d->kind)
    {
    case MW_SCHEMA_DIFF_MISSING:
      return g_strdup_printf (_("Missing: %s (the app expects %s)"), where, d->expected);
    case MW_SCHEMA_DIFF_EXTRA:
      return g_strdup_printf (_("Not in the app's schema: %s (%s)"), where, d->actual);
    case MW_SCHEMA_DIFF_CHANGED:
    default:
      return g_strdup_printf (_("Different: %s is %s; the app expects %s"), where, d->actual,
                              d->expected);
    }
}

void
mw_schema_diff_to_json (const MwSchemaDiff *d,
                        JsonBuilder        *builder)
{
  static const char * const kinds[] = { "missing", "extra", "changed" };

  g_return_if_fail (d != NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder, kinds[d->kind]);
  json_builder_set_member_name (builder, "object");
  json_builder_add_string_value (builder, mw_schema_object_to_string (d->object));
  json_builder_set_member_name (builder, "table");
  json_builder_add_string_value (builder, d->table);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, d->name);
  json_builder_set_member_name (builder, "expected");
  json_builder_add_string_value (builder, d->expected);
  json_builder_set_member_name (builder, "actual");
  json_builder_add_string_value (builder, d->actual);
  json_builder_end_object (builder);
}

/* ---- the reference ------------------------------------------------------------------ */

/**
 * mw_reference_apply:
 *
 * Runs one migration on @db as `migrate` does: each piece prepared and run as one
 * statement.
 */
gboolean
mw_reference_apply (sqlite3            *db,
                    const MwMigration  *migration,
                    GError            **error)
{
  for (guint p = 0; p < migration->statements->len; p++)
    {
      const char *piece = g_ptr_array_index (migration->statements, p);
      sqlite3_stmt *stmt = NULL;
      const char *tail = NULL;
      int rc = sqlite3_prepare_v2 (db, piece, -1, &stmt, &tail);

      if (rc == SQLITE_OK && stmt == NULL)
        continue;
      if (rc == SQLITE_OK && tail != NULL && !mw_sql_is_blank (tail))
        {
          sqlite3_finalize (stmt);
          g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID,
                       _("Update “%s”, statement %u, holds more than one SQL statement."),
                       migration->tag, p + 1);
          return FALSE;
        }
      if (rc == SQLITE_OK)
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
          ;
      sqlite3_finalize (stmt);
      if (rc != SQLITE_OK && rc != SQLITE_DONE)
        {
          g_autofree char *doing = g_strdup_printf (_("Update “%s”, statement %u, fails on a new "
                                                      "database"), migration->tag, p + 1);

          mw_db_set_error (error, db, rc, MW_ENGINE_ERROR_MIGRATIONS_INVALID, doing);
          return FALSE;
        }
    }
  return TRUE;
}

static sqlite3 *
open_memory (GError **error)
{
  sqlite3 *db = mw_db_open (":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0, error);

  /* As the migrator runs them: foreign keys off, outside the one transaction. */
  if (db != NULL && (!mw_db_exec (db, "PRAGMA foreign_keys = OFF", error) ||
                     !mw_db_exec (db, "BEGIN", error)))
    g_clear_pointer (&db, mw_db_close);
  return db;
}

/**
 * mw_reference_open_level:
 *
 * An in-memory database holding what the app's migrations 0..@level-1 build, inside
 * an open transaction.
 *
 * Returns: (transfer full): the connection, or %NULL with a MIGRATIONS_INVALID error
 */
sqlite3 *
mw_reference_open_level (MwMigrationSet  *set,
                         guint            level,
                         GError         **error)
{
  g_autoptr(sqlite3) db = open_memory (error);

  g_return_val_if_fail (MW_IS_MIGRATION_SET (set), NULL);
  g_return_val_if_fail (level <= mw_migration_set_get_n_migrations (set), NULL);

  if (db == NULL)
    return NULL;
  for (guint i = 0; i < level; i++)
    if (!mw_reference_apply (db, mw_migration_set_get_migration (set, i), error))
      return NULL;
  return g_steal_pointer (&db);
}

/**
 * mw_reference_build:
 *
 * Builds the schema the app expects at every level, from its own migrations.
 *
 * Returns: (transfer full): the reference, or %NULL when a migration cannot build on
 *   a new database (a packaging fault, MIGRATIONS_INVALID)
 */
MwReference *
mw_reference_build (MwMigrationSet  *set,
                    GError         **error)
{
  g_autoptr(MwReference) self = g_new0 (MwReference, 1);
  g_autoptr(sqlite3) db = NULL;
  guint n;

  g_return_val_if_fail (MW_IS_MIGRATION_SET (set), NULL);

  self->levels = g_ptr_array_new_with_free_func ((GDestroyNotify) mw_schema_free);
  db = open_memory (error);
  if (db == NULL)
    return NULL;

  n = mw_migration_set_get_n_migrations (set);
  for (guint level = 0; level <= n; level++)
    {
      MwSchema *schema;

      if (level > 0 &&
          !mw_reference_apply (db, mw_migration_set_get_migration (set, level - 1), error))
        return NULL;
      schema = mw_schema_read (db, "main", NULL, error);
      if (schema == NULL)
        return NULL;
      g_ptr_array_add (self->levels, schema);
    }
  return g_steal_pointer (&self);
}

void
mw_reference_free (MwReference *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->levels);
  g_free (self);
}

guint
mw_reference_get_n_levels (MwReference *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->levels->len;
}

/**
 * mw_reference_get_schema:
 * @level: 0 (nothing applied) to the number of migrations
 *
 * Returns: (transfer none): what the app's migrations 0..@level-1 build
 */
MwSchema *
mw_reference_get_schema (MwReference *self,
                         guint        level)
{
  g_return_val_if_fail (self != NULL && level < self->levels->len, NULL);
  return g_ptr_array_index (self->levels, level);
}

/**
 * mw_reference_closest:
 * @out_n_diffs: (out) (optional): the differences at that level
 * @out_first_exact: (out) (optional): the lowest level that matches exactly, or
 *   G_MAXUINT when none does
 *
 * Which level of the app's schema the database is closest to: the fewest
 * differences; of levels alike (a migration that only changes rows), the highest.
 *
 * Returns: the level
 */
guint
mw_reference_closest (MwReference *self,
                      MwSchema    *actual,
                      guint       *out_n_diffs,
                      guint       *out_first_exact)
{
  guint best = 0, best_n = G_MAXUINT, first_exact = G_MAXUINT;

  g_return_val_if_fail (self != NULL && actual != NULL, 0);

  for (guint level = 0; level < self->levels->len; level++)
    {
      g_autoptr(GPtrArray) diffs = mw_schema_compare (g_ptr_array_index (self->levels, level),
                                                      actual);

      if (diffs->len == 0 && first_exact == G_MAXUINT)
        first_exact = level;
      if (diffs->len <= best_n)
        {
          best = level;
          best_n = diffs->len;
        }
    }
  if (out_n_diffs != NULL)
    *out_n_diffs = best_n;
  if (out_first_exact != NULL)
    *out_first_exact = first_exact;
  return best;
}

/* ---- the check: a database against the app's schema --------------------------------- */

void
mw_schema_check_free (MwSchemaCheck *check)
{
  if (check == NULL)
    return;
  g_clear_pointer (&check->diffs, g_ptr_array_unref);
  g_free (check);
}

/**
 * mw_schema_check:
 * @recorded_level: the level the database's history records, or -1 when it has no
 *   usable history (untracked, unknown): then the closest level is taken, and named
 *
 * Compares a database's structure with what the app's own migrations build. Opens
 * the database read-only; changes nothing.
 *
 * Returns: (transfer full): the level compared against and the differences, or
 *   %NULL with @error set (the database cannot be read, or a migration cannot build
 *   on a new database)
 */
MwSchemaCheck *
mw_schema_check (const char      *database_path,
                 MwMigrationSet  *set,
                 int              recorded_level,
                 const char      *migrations_table,
                 GError         **error)
{
  g_autoptr(MwReference) reference = NULL;
  g_autoptr(MwSchema) actual = NULL;
  g_autoptr(sqlite3) db = NULL;
  MwSchemaCheck *check;
  guint n_diffs = 0;

  g_return_val_if_fail (database_path != NULL, NULL);
  g_return_val_if_fail (MW_IS_MIGRATION_SET (set), NULL);

  reference = mw_reference_build (set, error);
  if (reference == NULL)
    return NULL;
  db = mw_db_open (database_path, SQLITE_OPEN_READONLY, 1000, error);
  if (db == NULL)
    return NULL;
  mw_db_exec (db, "PRAGMA query_only = ON", NULL);
  actual = mw_schema_read (db, "main",
                           migrations_table ? migrations_table : mw_migration_set_get_table (set),
                           error);
  if (actual == NULL)
    return NULL;

  check = g_new0 (MwSchemaCheck, 1);
  check->level = mw_reference_closest (reference, actual, &n_diffs, &check->exact_level);
  check->exact_level_high = check->exact_level;
  if (check->exact_level != G_MAXUINT)
    {
      /* Levels that build the same tables (updates that only change rows): the lowest
       * is the proven one, so such updates after it run (again) rather than never. A
       * data update written as drizzle-kit's custom migrations are (idempotent, or
       * failing on a duplicate, which rolls everything back) is safe to run twice; a
       * data fix skipped is lost silently. */
      check->level = check->exact_level;
      while (check->exact_level_high + 1 < mw_reference_get_n_levels (reference))
        {
          g_autoptr(GPtrArray) next = mw_schema_compare (
            mw_reference_get_schema (reference, check->exact_level_high + 1), actual);

          if (next->len > 0)
            break;
          check->exact_level_high++;
        }
    }
  if (recorded_level >= 0 && (guint) recorded_level < mw_reference_get_n_levels (reference))
    {
      check->level = (guint) recorded_level;
      check->recorded = TRUE;
    }
  check->n_levels = mw_reference_get_n_levels (reference);
  check->diffs = mw_schema_compare (mw_reference_get_schema (reference, check->level), actual);
  return check;
}

/**
 * mw_schema_check_to_text:
 *
 * Returns: (transfer full): the check in plain words: which level, then each
 *   difference on its own line
 */
char *
mw_schema_check_to_text (MwSchemaCheck  *check,
                         MwMigrationSet *set)
{
  GString *text = g_string_new (NULL);
  const char *tag = check->level > 0 && set != NULL
                    ? mw_migration_set_get_migration (set, check->level - 1)->tag : NULL;

  g_return_val_if_fail (check != NULL, NULL);

  if (check->diffs->len == 0)
    {
      g_string_append_printf (text, _("The database's tables are exactly what the app's updates "
                                      "build up to %s (level %u of %u)."),
                              tag ? tag : _("the start"), check->level, check->n_levels - 1);
      if (!check->recorded && check->exact_level_high > check->level)
        g_string_append_printf (text, _(" Levels %u to %u build the same tables: the updates "
                                        "after level %u only change rows, and are applied."),
                                check->level, check->exact_level_high, check->level);
    }
  else
    g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE,
                                               "%u difference from what the app's updates build "
                                               "up to %s (level %u of %u, %s):",
                                               "%u differences from what the app's updates build "
                                               "up to %s (level %u of %u, %s):",
                                               check->diffs->len),
                            check->diffs->len, tag ? tag : _("the start"), check->level,
                            check->n_levels - 1,
                            check->recorded ? _("the level its history records")
                                            : _("the closest level"));
  g_string_append_c (text, '\n');
  for (guint i = 0; i < check->diffs->len; i++)
    {
      g_autofree char *line = mw_schema_diff_to_text (g_ptr_array_index (check->diffs, i));

      g_string_append_printf (text, "  %s\n", line);
    }
  return g_string_free (text, FALSE);
}

/**
 * mw_schema_check_to_json:
 *
 * Adds the check as one object: match, level, tag, recorded, exact_level,
 * differences (their count) and diffs (each kind, object, table, name, expected,
 * actual).
 */
void
mw_schema_check_to_json (MwSchemaCheck  *check,
                         MwMigrationSet *set,
                         gboolean        with_diffs,
                         JsonBuilder    *builder)
{
  g_return_if_fail (check != NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "match");
  json_builder_add_boolean_value (builder, check->diffs->len == 0);
  json_builder_set_member_name (builder, "level");
  json_builder_add_int_value (builder, check->level);
  json_builder_set_member_name (builder, "tag");
  json_builder_add_string_value (builder, check->level > 0 && set != NULL
                                 ? mw_migration_set_get_migration (set, check->level - 1)->tag
                                 : NULL);
  json_builder_set_member_name (builder, "recorded");
  json_builder_add_boolean_value (builder, check->recorded);
  json_builder_set_member_name (builder, "exact_level");
  if (check->exact_level != G_MAXUINT)
    json_builder_add_int_value (builder, check->exact_level);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "exact_level_high");
  if (check->exact_level_high != G_MAXUINT)
    json_builder_add_int_value (builder, check->exact_level_high);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "differences");
  json_builder_add_int_value (builder, check->diffs->len);
  if (with_diffs)
    {
      json_builder_set_member_name (builder, "diffs");
      json_builder_begin_array (builder);
      for (guint i = 0; i < check->diffs->len; i++)
        mw_schema_diff_to_json (g_ptr_array_index (check->diffs, i), builder);
      json_builder_end_array (builder);
    }
  json_builder_end_object (builder);
}
