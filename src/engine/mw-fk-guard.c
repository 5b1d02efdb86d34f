/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-fk-guard"

#include "config.h"

#include <string.h>

#include "mw-db-private.h"
#include "mw-fk-guard-private.h"

/*
 * A child table can gain a foreign-key violation in a transaction only if its own rows
 * or links changed, or if a parent lost a key value it pointed at. The migrator finds
 * out which parents may have lost one (SQLite's authorizer: a DELETE, a DROP TABLE, an
 * INSERT that may replace, an ALTER TABLE) and used to check every child of those:
 * `foreign_key_check(child)`, a lookup per child row. A parent a hundred times
 * smaller than its children — the staff table rebuilt by an update, pointed at by
 * every sale — made that the longest part of an update.
 *
 * The guard proves the same thing from the parent's side. Just before the first
 * statement that may take keys from a parent runs (after SQLite prepared it, before
 * its first step), the parent's primary-key values are copied into a temporary table;
 * when the updates are done, every one of them must still be a key of the parent,
 * compared as SQLite compares a child's value with its parent's key (the parent
 * column's own collation and affinity, which must not have changed). Then no child
 * that pointed at a row points at nothing now, and the children are not read. The
 * proof is only attempted where it is sound and cheaper:
 *
 *  - every foreign key into the parent names its primary key (or no column, which
 *    means the same); a key on other columns needs its unique index, which an update
 *    can drop: such children are checked as before;
 *  - the parent is smaller than its children together (max(rowid), one b-tree
 *    descent each);
 *  - the keys were copied before anything touched the parent: a parent first touched
 *    while a statement already runs (SQLite preparing it again) is not proven;
 *  - a child whose own links changed (a foreign key added, or rewritten by a parent's
 *    rename) is checked, as is one that is new.
 *
 * Names are compared ASCII-case-insensitively, as SQLite compares them.
 */

typedef enum
{
  PARENT_PENDING,     /* queued: copy its keys before the statement runs */
  PARENT_SNAPSHOT,    /* keys copied */
  PARENT_UNPROVABLE,  /* its children are checked */
} ParentState;

typedef struct
{
  ParentState  state;
  char        *snapshot;    /* the temporary table */
  GPtrArray   *columns;     /* the primary key's columns, as declared */
  GPtrArray   *types;       /* …their declared types */
  GPtrArray   *collations;  /* …and collations */
  int          kept;        /* -1: not compared yet */
} Parent;

struct _MwFkGuard
{
  GHashTable *links;        /* child → its links at the start, as a string */
  GHashTable *link_columns; /* child → (set) its columns that point at a parent */
  GHashTable *children;     /* parent → (GPtrArray) its children at the start */
  GHashTable *parents;      /* parent → Parent, once touched */
  GPtrArray  *pending;      /* parents to copy before the next statement runs */
  guint       n_snapshots;
  gboolean    snapshotting;
};

static void
parent_free (gpointer data)
{
  Parent *parent = data;

  g_free (parent->snapshot);
  g_clear_pointer (&parent->columns, g_ptr_array_unref);
  g_clear_pointer (&parent->types, g_ptr_array_unref);
  g_clear_pointer (&parent->collations, g_ptr_array_unref);
  g_free (parent);
}

/* A child's links now: "parent(from→to,…)" per foreign key, in SQLite's order, names
 * lowercased. Empty for a table without links (or none at all). */
static char *
read_links (sqlite3    *db,
            const char *child,
            GHashTable *columns,
            GPtrArray  *parents)
{
  GString *links = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;
  gint64 last_id = -1;

  if (sqlite3_prepare_v2 (db, "SELECT id, lower(\"table\"), lower(\"from\"), "
                              "lower(coalesce(\"to\", '')) FROM "
                              "pragma_foreign_key_list(?1) ORDER BY id, seq",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      /* Unreadable: a string no start can equal, so the child is checked. */
      g_string_append (links, "?");
      return g_string_free (links, FALSE);
    }
  sqlite3_bind_text (stmt, 1, child, -1, SQLITE_TRANSIENT);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      const char *parent = (const char *) sqlite3_column_text (stmt, 1);
      const char *from = (const char *) sqlite3_column_text (stmt, 2);
      const char *to = (const char *) sqlite3_column_text (stmt, 3);

      if (id != last_id)
        {
          g_string_append_printf (links, "%s%s(", last_id >= 0 ? ");" : "", parent);
          if (parents != NULL)
            g_ptr_array_add (parents, g_strdup (parent));
        }
      else
        g_string_append_c (links, ',');
      g_string_append_printf (links, "%s→%s", from, to);
      if (columns != NULL)
        g_hash_table_add (columns, g_strdup (from));
      last_id = id;
    }
  if (last_id >= 0)
    g_string_append_c (links, ')');
  sqlite3_finalize (stmt);
  return g_string_free (links, FALSE);
}

/* The columns of @table's primary key, in key order, as declared; empty when it has
 * none (a rowid table without PRIMARY KEY). */
static GPtrArray *
primary_key (sqlite3    *db,
             const char *table)
{
  GPtrArray *columns = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk",
                          -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, table, -1, SQLITE_TRANSIENT);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        g_ptr_array_add (columns, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
    }
  sqlite3_finalize (stmt);
  return columns;
}

/* Whether one foreign key's "to" columns (NULL: none named) name exactly @key. */
static gboolean
names_key (GPtrArray *to,
           GPtrArray *key)
{
  guint n_null = 0;

  if (to->len != key->len)
    return FALSE;
  for (guint i = 0; i < to->len; i++)
    n_null += g_ptr_array_index (to, i) == NULL;
  /* No column named: the primary key, by definition. */
  if (n_null > 0)
    return n_null == to->len;
  for (guint i = 0; i < to->len; i++)
    {
      const char *column = g_ptr_array_index (to, i);
      gboolean found = FALSE;

      for (guint k = 0; k < key->len; k++)
        found = found || g_ascii_strcasecmp (column, g_ptr_array_index (key, k)) == 0;
      for (guint j = 0; j < i; j++)
        found = found && g_ascii_strcasecmp (column, g_ptr_array_index (to, j)) != 0;
      if (!found)
        return FALSE;
    }
  return TRUE;
}

/* Whether every link into @parent names its primary key: its "to" columns are the
 * key's, or none. */
static gboolean
links_name_primary_key (sqlite3    *db,
                        const char *parent,
                        GPtrArray  *children)
{
  g_autoptr(GPtrArray) key = primary_key (db, parent);
  sqlite3_stmt *stmt = NULL;
  gboolean ok = key->len > 0;

  if (!ok ||
      sqlite3_prepare_v2 (db, "SELECT id, \"to\" FROM pragma_foreign_key_list(?1) "
                              "WHERE \"table\" = ?2 COLLATE NOCASE ORDER BY id, seq",
                          -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  for (guint i = 0; ok && i < children->len; i++)
    {
      g_autoptr(GPtrArray) to = g_ptr_array_new_with_free_func (g_free);
      gint64 id = -1;

      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, g_ptr_array_index (children, i), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 2, parent, -1, SQLITE_TRANSIENT);
      while (ok && sqlite3_step (stmt) == SQLITE_ROW)
        {
          /* One foreign key at a time. */
          if (id >= 0 && sqlite3_column_int64 (stmt, 0) != id)
            {
              ok = names_key (to, key);
              g_ptr_array_set_size (to, 0);
            }
          id = sqlite3_column_int64 (stmt, 0);
          g_ptr_array_add (to, g_strdup ((const char *) sqlite3_column_text (stmt, 1)));
        }
      if (ok && to->len > 0)
        ok = names_key (to, key);
    }
  sqlite3_finalize (stmt);
  return ok;
}

/**
 * mw_fk_guard_new:
 * @db: the connection the updates run on, before they run
 *
 * Reads every table's links as they are before the updates.
 */
MwFkGuard *
mw_fk_guard_new (sqlite3 *db)
{
  MwFkGuard *self = g_new0 (MwFkGuard, 1);
  sqlite3_stmt *stmt = NULL;

  self->links = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->link_columns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) g_hash_table_unref);
  self->children = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_ptr_array_unref);
  self->parents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, parent_free);
  self->pending = g_ptr_array_new_with_free_func (g_free);

  if (sqlite3_prepare_v2 (db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND "
                              "name NOT LIKE 'sqlite\\_%' ESCAPE '\\'", -1, &stmt, NULL) != SQLITE_OK)
    return self;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 0);
      g_autofree char *child = g_ascii_strdown (name, -1);
      GHashTable *columns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_autoptr(GPtrArray) parents = g_ptr_array_new_with_free_func (g_free);
      char *links = read_links (db, name, columns, parents);

      g_hash_table_insert (self->links, g_strdup (child), links);
      g_hash_table_insert (self->link_columns, g_strdup (child), columns);
      for (guint i = 0; i < parents->len; i++)
        {
          const char *parent = g_ptr_array_index (parents, i);
          GPtrArray *children = g_hash_table_lookup (self->children, parent);

          if (children == NULL)
            {
              children = g_ptr_array_new_with_free_func (g_free);
              g_hash_table_insert (self->children, g_strdup (parent), children);
            }
          if (!g_ptr_array_find_with_equal_func (children, child, g_str_equal, NULL))
            g_ptr_array_add (children, g_strdup (child));
        }
    }
  sqlite3_finalize (stmt);
  return self;
}

void
mw_fk_guard_free (MwFkGuard *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->links);
  g_hash_table_unref (self->link_columns);
  g_hash_table_unref (self->children);
  g_hash_table_unref (self->parents);
  g_ptr_array_unref (self->pending);
  g_free (self);
}

/**
 * mw_fk_guard_parent_touched:
 * @parent: a table a statement may take a row or a key value from
 * @stepping: the statement already runs (SQLite prepares it again): too late to copy
 *   the keys
 *
 * Called by the authorizer. Queues the parent's keys to be copied before the
 * statement runs.
 */
void
mw_fk_guard_parent_touched (MwFkGuard  *self,
                            const char *parent,
                            gboolean    stepping)
{
  g_autofree char *key = g_ascii_strdown (parent, -1);
  Parent *p;

  if (g_hash_table_contains (self->parents, key))
    return;
  p = g_new0 (Parent, 1);
  p->kept = -1;
  /* A parent without children at the start has nothing to prove: a child made since
   * is new, and checked. */
  if (stepping || !g_hash_table_contains (self->children, key))
    p->state = PARENT_UNPROVABLE;
  else
    {
      p->state = PARENT_PENDING;
      g_ptr_array_add (self->pending, g_strdup (key));
    }
  g_hash_table_insert (self->parents, g_steal_pointer (&key), p);
}

gboolean
mw_fk_guard_is_snapshotting (MwFkGuard *self)
{
  return self->snapshotting;
}

/* Copies @name's primary-key values into a temporary table, when that is sound and
 * cheaper than checking its children (see the top of this file). */
static void
take_snapshot (MwFkGuard  *self,
               sqlite3    *db,
               const char *name,
               Parent     *p)
{
  GPtrArray *children = g_hash_table_lookup (self->children, name);
  g_autofree char *quoted = mw_db_quote_identifier (name);
  g_autofree char *rows_sql = g_strdup_printf ("SELECT max(rowid) FROM main.%s", quoted);
  g_autoptr(GString) select = g_string_new (NULL);
  g_autofree char *sql = NULL;
  gint64 parent_rows, child_rows = 0;

  p->state = PARENT_UNPROVABLE;
  if (children == NULL || !links_name_primary_key (db, name, children))
    return;

  /* WITHOUT ROWID tables have no rowid: a middling guess, as elsewhere. */
  parent_rows = mw_db_query_int (db, rows_sql, 10000);
  for (guint i = 0; i < children->len; i++)
    {
      g_autofree char *child = mw_db_quote_identifier (g_ptr_array_index (children, i));
      g_autofree char *child_sql = g_strdup_printf ("SELECT max(rowid) FROM main.%s", child);

      child_rows += MAX (mw_db_query_int (db, child_sql, 10000), 0);
    }
  if (parent_rows > child_rows)
    return;

  p->columns = primary_key (db, name);
  p->types = g_ptr_array_new_with_free_func (g_free);
  p->collations = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < p->columns->len; i++)
    {
      const char *column = g_ptr_array_index (p->columns, i);
      g_autofree char *quoted_column = mw_db_quote_identifier (column);
      const char *type = NULL, *collation = NULL;

      if (sqlite3_table_column_metadata (db, "main", name, column, &type, &collation,
                                         NULL, NULL, NULL) != SQLITE_OK)
        return;
      g_ptr_array_add (p->types, g_ascii_strdown (type ? type : "", -1));
      g_ptr_array_add (p->collations, g_ascii_strdown (collation ? collation : "", -1));
      g_string_append_printf (select, "%s%s", i > 0 ? ", " : "", quoted_column);
    }

  p->snapshot = g_strdup_printf ("mw_fk_keys_%u", ++self->n_snapshots);
  sql = g_strdup_printf ("CREATE TEMP TABLE \"%s\" AS SELECT %s FROM main.%s", p->snapshot,
                         select->str, quoted);
  self->snapshotting = TRUE;
  if (mw_db_exec (db, sql, NULL))
    p->state = PARENT_SNAPSHOT;
  self->snapshotting = FALSE;
  g_debug ("keys of %s copied: %s", name, p->state == PARENT_SNAPSHOT ? "yes" : "no");
}

/**
 * mw_fk_guard_take_snapshots:
 *
 * Copies the keys of the parents queued while the next statement was prepared.
 */
void
mw_fk_guard_take_snapshots (MwFkGuard *self,
                            sqlite3   *db)
{
  for (guint i = 0; i < self->pending->len; i++)
    {
      const char *name = g_ptr_array_index (self->pending, i);

      take_snapshot (self, db, name, g_hash_table_lookup (self->parents, name));
    }
  g_ptr_array_set_size (self->pending, 0);
}

/**
 * mw_fk_guard_parent_kept_keys:
 * @parent: a table the updates may have taken a row or a key value from
 *
 * Returns: whether every key value @parent had before the updates is still one of
 *   its keys, compared as its children's values are; %FALSE when that cannot be
 *   told (then its children must be checked)
 */
gboolean
mw_fk_guard_parent_kept_keys (MwFkGuard  *self,
                              sqlite3    *db,
                              const char *parent)
{
  g_autofree char *key = g_ascii_strdown (parent, -1);
  Parent *p = g_hash_table_lookup (self->parents, key);
  g_autoptr(GPtrArray) columns = NULL;
  g_autoptr(GString) match = NULL;
  g_autofree char *quoted = NULL, *sql = NULL;

  if (p == NULL || p->state != PARENT_SNAPSHOT)
    return FALSE;
  if (p->kept >= 0)
    return p->kept;
  p->kept = FALSE;

  /* The same key: the same columns, declared types (affinity) and collations. */
  columns = primary_key (db, parent);
  if (columns->len != p->columns->len)
    return FALSE;
  match = g_string_new (NULL);
  for (guint i = 0; i < columns->len; i++)
    {
      const char *column = g_ptr_array_index (p->columns, i);
      g_autofree char *quoted_column = mw_db_quote_identifier (column);
      const char *type = NULL, *collation = NULL;

      if (g_ascii_strcasecmp (column, g_ptr_array_index (columns, i)) != 0 ||
          sqlite3_table_column_metadata (db, "main", parent, column, &type, &collation,
                                         NULL, NULL, NULL) != SQLITE_OK ||
          g_ascii_strcasecmp (type ? type : "", g_ptr_array_index (p->types, i)) != 0 ||
          g_ascii_strcasecmp (collation ? collation : "", g_ptr_array_index (p->collations, i)) != 0)
        return FALSE;
      g_string_append_printf (match, "%sp.%s = s.%s", i > 0 ? " AND " : "", quoted_column,
                              quoted_column);
    }

  /* A parent key that is gone (or NULL, which no child can match) counts. */
  quoted = mw_db_quote_identifier (parent);
  sql = g_strdup_printf ("SELECT count(*) FROM temp.\"%s\" s WHERE NOT EXISTS "
                         "(SELECT 1 FROM main.%s p WHERE %s)", p->snapshot, quoted, match->str);
  p->kept = mw_db_query_int (db, sql, -1) == 0;
  g_debug ("%s kept every key: %s", parent, p->kept ? "yes" : "no");
  return p->kept;
}

/**
 * mw_fk_guard_links_changed:
 *
 * Returns: whether @child's foreign keys differ from those it had before the
 *   updates (a table made since counts as changed if it has any)
 */
gboolean
mw_fk_guard_links_changed (MwFkGuard  *self,
                           sqlite3    *db,
                           const char *child)
{
  g_autofree char *key = g_ascii_strdown (child, -1);
  const char *before = g_hash_table_lookup (self->links, key);
  g_autofree char *now = read_links (db, child, NULL, NULL);

  return g_strcmp0 (before ? before : "", now) != 0;
}

/**
 * mw_fk_guard_is_link_column:
 *
 * Returns: whether @column of @child pointed at a parent before the updates (%TRUE
 *   for a table that did not exist then)
 */
gboolean
mw_fk_guard_is_link_column (MwFkGuard  *self,
                            const char *child,
                            const char *column)
{
  g_autofree char *key = g_ascii_strdown (child, -1);
  g_autofree char *column_key = g_ascii_strdown (column, -1);
  GHashTable *columns = g_hash_table_lookup (self->link_columns, key);

  return columns == NULL || g_hash_table_contains (columns, column_key) ||
         g_ascii_strcasecmp (column, "rowid") == 0;
}

/**
 * mw_fk_guard_drop_snapshots:
 *
 * Drops the temporary tables (the connection keeps them otherwise).
 */
void
mw_fk_guard_drop_snapshots (MwFkGuard *self,
                            sqlite3   *db)
{
  GHashTableIter iter;
  gpointer value;

  self->snapshotting = TRUE;
  g_hash_table_iter_init (&iter, self->parents);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Parent *p = value;

      if (p->snapshot != NULL)
        {
          g_autofree char *sql = g_strdup_printf ("DROP TABLE IF EXISTS temp.\"%s\"", p->snapshot);

          mw_db_exec (db, sql, NULL);
        }
    }
  self->snapshotting = FALSE;
}
