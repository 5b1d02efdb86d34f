/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-repair"

#include "config.h"

#include <string.h>

#include "mw-salvage-private.h"

/*
 * A table's shape, and whether a record found on a page can be one of its rows.
 *
 * A record holds one field per column, in column order, each with a storage class.
 * SQLite's rules (datatype3.html) make some records impossible for a table:
 *
 *   - more fields than the table has columns;
 *   - fewer fields, unless every missing column can be missing: a record written
 *     before `ALTER TABLE … ADD COLUMN` lacks the added columns, and ADD COLUMN only
 *     accepts a column that is nullable or has a default;
 *   - NULL in a NOT NULL column — except the INTEGER PRIMARY KEY (the rowid alias),
 *     which is always stored as NULL, and must be;
 *   - an integer or a real in a column of TEXT affinity (SQLite stores numbers given
 *     to such a column as text).
 *
 * Among the records a table can hold, some are what it normally holds (an integer in
 * an INTEGER column) and some merely possible (text an INTEGER column could not
 * convert): the fit is a score, so that the most natural table wins where several can.
 */

char *
mw_signature_of (GArray *values)
{
  char *signature = g_malloc (values->len + 1);

  for (guint i = 0; i < values->len; i++)
    {
      switch (g_array_index (values, MwValue, i).type)
        {
        case MW_VALUE_INTEGER: signature[i] = 'I'; break;
        case MW_VALUE_FLOAT:   signature[i] = 'F'; break;
        case MW_VALUE_TEXT:    signature[i] = 'T'; break;
        case MW_VALUE_BLOB:    signature[i] = 'B'; break;
        case MW_VALUE_NULL:
        default:               signature[i] = 'N'; break;
        }
    }
  signature[values->len] = '\0';
  return signature;
}

/* The column affinity SQLite derives from a declared type (datatype3.html, 3.1). */
static char
affinity_of (const char *declared)
{
  g_autofree char *upper = g_ascii_strup (declared ? declared : "", -1);

  if (strstr (upper, "INT") != NULL)
    return 'I';
  if (strstr (upper, "CHAR") != NULL || strstr (upper, "CLOB") != NULL ||
      strstr (upper, "TEXT") != NULL)
    return 'T';
  if (upper[0] == '\0' || strstr (upper, "BLOB") != NULL)
    return 'B';
  if (strstr (upper, "REAL") != NULL || strstr (upper, "FLOA") != NULL ||
      strstr (upper, "DOUB") != NULL)
    return 'R';
  return 'N';
}

static void
foreign_key_free (MwForeignKey *fk)
{
  g_free (fk->parent);
  g_array_unref (fk->columns);
  g_strfreev (fk->parent_columns);
  g_free (fk);
}

/* When a row was made: created_at, else the first *_at column, else a date or time. */
static int
find_time_column (MwShape *shape)
{
  for (guint i = 0; i < shape->n_columns; i++)
    if (g_ascii_strcasecmp (shape->names[i], "created_at") == 0)
      return (int) i;
  for (guint i = 0; i < shape->n_columns; i++)
    if (g_str_has_suffix (shape->names[i], "_at") && shape->affinity[i] != 'B')
      return (int) i;
  for (guint i = 0; i < shape->n_columns; i++)
    if (strstr (shape->names[i], "time") != NULL || strstr (shape->names[i], "date") != NULL)
      return (int) i;
  return -1;
}

/**
 * mw_shape_new:
 *
 * Returns: (transfer full) (nullable): the shape of @table in @db
 */
MwShape *
mw_shape_new (sqlite3    *db,
              const char *table)
{
  g_autoptr(MwShape) shape = g_new0 (MwShape, 1);
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  g_autoptr(GString) affinity = g_string_new (NULL);
  g_autoptr(GByteArray) flags = g_byte_array_new ();
  sqlite3_stmt *stmt = NULL;
  guint n_pk = 0;
  int pk_column = -1;
  gboolean pk_integer = FALSE;
  gboolean without_rowid = FALSE;

  shape->table = g_strdup (table);
  shape->rowid_column = -1;
  shape->foreign_keys = g_ptr_array_new_with_free_func ((GDestroyNotify) foreign_key_free);

  if (sqlite3_prepare_v2 (db, "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk "
                              "FROM pragma_table_info(?1)", -1, &stmt, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text (stmt, 1, table, -1, SQLITE_STATIC);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *type = (const char *) sqlite3_column_text (stmt, 1);
      guint8 f = 0;

      g_strv_builder_add (names, (const char *) sqlite3_column_text (stmt, 0));
      g_string_append_c (affinity, affinity_of (type));
      if (sqlite3_column_int (stmt, 2))
        f |= MW_COLUMN_NOT_NULL;
      if (sqlite3_column_int (stmt, 3))
        f |= MW_COLUMN_DEFAULT;
      g_byte_array_append (flags, &f, 1);
      if (sqlite3_column_int (stmt, 4) > 0)
        {
          n_pk++;
          pk_column = (int) shape->n_columns;
          pk_integer = type != NULL && g_ascii_strcasecmp (type, "INTEGER") == 0;
        }
      shape->n_columns++;
    }
  sqlite3_finalize (stmt);
  if (shape->n_columns == 0)
    return NULL;

  if (sqlite3_prepare_v2 (db, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                          -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, table, -1, SQLITE_STATIC);
      if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_text (stmt, 0) != NULL)
        {
          g_autofree char *upper = g_ascii_strup ((const char *) sqlite3_column_text (stmt, 0), -1);
          g_autoptr(GRegex) re = g_regex_new ("\\)\\s*WITHOUT\\s+ROWID\\s*[,;]?\\s*$", 0, 0, NULL);

          without_rowid = g_regex_match (re, upper, 0, NULL);
        }
    }
  sqlite3_finalize (stmt);
  /* A WITHOUT ROWID table is stored as an index b-tree: no table leaf holds its rows. */
  if (without_rowid)
    return NULL;

  shape->names = g_strv_builder_end (names);
  shape->affinity = g_string_free (g_steal_pointer (&affinity), FALSE);
  shape->flags = g_byte_array_free (g_steal_pointer (&flags), FALSE);
  if (n_pk == 1 && pk_integer)
    shape->rowid_column = pk_column;
  shape->time_column = find_time_column (shape);

  if (sqlite3_prepare_v2 (db, "SELECT id, \"table\", \"from\", \"to\" FROM "
                              "pragma_foreign_key_list(?1) ORDER BY id, seq", -1, &stmt,
                          NULL) == SQLITE_OK)
    {
      MwForeignKey *fk = NULL;
      g_autoptr(GStrvBuilder) to = NULL;
      gboolean to_named = TRUE;
      int id = -1;

      sqlite3_bind_text (stmt, 1, table, -1, SQLITE_STATIC);
      for (gboolean more = sqlite3_step (stmt) == SQLITE_ROW; ; more = sqlite3_step (stmt) == SQLITE_ROW)
        {
          if (fk != NULL && (!more || sqlite3_column_int (stmt, 0) != id))
            {
              fk->parent_columns = to_named ? g_strv_builder_end (to) : NULL;
              g_clear_pointer (&to, g_strv_builder_unref);
              g_ptr_array_add (shape->foreign_keys, g_steal_pointer (&fk));
            }
          if (!more)
            break;
          if (fk == NULL)
            {
              fk = g_new0 (MwForeignKey, 1);
              fk->parent = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
              fk->columns = g_array_new (FALSE, FALSE, sizeof (guint));
              to = g_strv_builder_new ();
              to_named = TRUE;
              id = sqlite3_column_int (stmt, 0);
            }
          {
            const char *from = (const char *) sqlite3_column_text (stmt, 2);
            const char *to_column = (const char *) sqlite3_column_text (stmt, 3);
            guint k = 0;

            while (k < shape->n_columns && g_strcmp0 (shape->names[k], from) != 0)
              k++;
            if (k == shape->n_columns)
              k = G_MAXUINT;   /* cannot be; checked when used */
            g_array_append_val (fk->columns, k);
            if (to_column == NULL)
              to_named = FALSE;
            else
              g_strv_builder_add (to, to_column);
          }
        }
    }
  sqlite3_finalize (stmt);
  return g_steal_pointer (&shape);
}

void
mw_shape_free (MwShape *shape)
{
  if (shape == NULL)
    return;
  g_free (shape->table);
  g_strfreev (shape->names);
  g_free (shape->affinity);
  g_free (shape->flags);
  g_clear_pointer (&shape->foreign_keys, g_ptr_array_unref);
  g_clear_pointer (&shape->indexes, g_ptr_array_unref);
  g_free (shape);
}

/**
 * mw_shape_read_indexes:
 * @schema_db: a database whose schema has the table's indexes
 *
 * Fills @shape's indexes: those on plain columns that hold an entry for every row
 * (no expression, no WHERE), as their entries on the pages can witness its rows.
 */
void
mw_shape_read_indexes (MwShape *shape,
                       sqlite3 *schema_db)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt = NULL;

  g_clear_pointer (&shape->indexes, g_ptr_array_unref);
  shape->indexes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  if (schema_db == NULL ||
      sqlite3_prepare_v2 (schema_db, "SELECT name FROM pragma_index_list(?1) WHERE partial = 0",
                          -1, &stmt, NULL) != SQLITE_OK)
    return;
  sqlite3_bind_text (stmt, 1, shape->table, -1, SQLITE_STATIC);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (names, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_finalize (stmt);

  for (guint i = 0; i < names->len; i++)
    {
      g_autoptr(GArray) columns = g_array_new (FALSE, FALSE, sizeof (guint));
      gboolean plain = TRUE;

      if (sqlite3_prepare_v2 (schema_db, "SELECT cid FROM pragma_index_info(?1) ORDER BY seqno",
                              -1, &stmt, NULL) != SQLITE_OK)
        continue;
      sqlite3_bind_text (stmt, 1, g_ptr_array_index (names, i), -1, SQLITE_STATIC);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          int cid = sqlite3_column_int (stmt, 0);
          guint column = (guint) cid;

          if (cid < 0 || column >= shape->n_columns || (int) column == shape->rowid_column)
            plain = FALSE;
          else
            g_array_append_val (columns, column);
        }
      sqlite3_finalize (stmt);
      if (plain && columns->len > 0)
        g_ptr_array_add (shape->indexes, g_steal_pointer (&columns));
    }
}

/* FNV-1a, over a value's class and bytes. */
static guint64
hash_bytes (guint64       h,
            const guint8 *bytes,
            gsize         n)
{
  for (gsize i = 0; i < n; i++)
    {
      h ^= bytes[i];
      h *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return h;
}

static guint64
hash_value (guint64        h,
            const MwValue *v)
{
  guint8 kind = (guint8) v->type;
  gint64 length = (gint64) v->n_bytes;

  h = hash_bytes (h, &kind, 1);
  switch (v->type)
    {
    case MW_VALUE_INTEGER:
      return hash_bytes (h, (const guint8 *) &v->integer, sizeof v->integer);
    case MW_VALUE_FLOAT:
      return hash_bytes (h, (const guint8 *) &v->real, sizeof v->real);
    case MW_VALUE_TEXT:
    case MW_VALUE_BLOB:
      h = hash_bytes (h, (const guint8 *) &length, sizeof length);
      return hash_bytes (h, v->bytes, v->n_bytes);
    case MW_VALUE_NULL:
    default:
      return h;
    }
}

/**
 * mw_index_key_hash:
 * @columns: (nullable): which of @values make the key, in order; %NULL: all of them
 *
 * A fingerprint of an index entry: its key values and the rowid. A table row's, for
 * one of its indexes, equals the entry's that index holds for it.
 */
guint64
mw_index_key_hash (GArray      *values,
                   const guint *columns,
                   guint        n_columns,
                   gint64       rowid)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);

  for (guint i = 0; i < n_columns; i++)
    h = hash_value (h, &g_array_index (values, MwValue, columns ? columns[i] : i));
  return hash_bytes (h, (const guint8 *) &rowid, sizeof rowid);
}

/**
 * mw_schema_db_new:
 * @entries: (element-type MwSchemaEntry): a schema
 *
 * Returns: (transfer full) (nullable): an empty database in memory with that schema
 *   (what of it SQLite accepts), to ask about it
 */
sqlite3 *
mw_schema_db_new (GPtrArray *entries)
{
  sqlite3 *db = mw_db_open (":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0, NULL);

  if (db == NULL)
    return NULL;
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < entries->len; i++)
      {
        MwSchemaEntry *e = g_ptr_array_index (entries, i);

        if (g_str_has_prefix (e->name, "sqlite_") || g_str_equal (e->type, "table") != (pass == 0))
          continue;
        sqlite3_exec (db, e->sql, NULL, NULL, NULL);
      }
  return db;
}

/**
 * mw_shape_fit:
 * @signature: a record's shape (mw_signature_of())
 *
 * @score: (out) (optional): how naturally it is one: 2 per field of the column's own
 *   kind, 1 per NULL, -2 per missing column, 1 more when none is missing
 *
 * Returns: whether the record can be a row of the table
 */
gboolean
mw_shape_fit (const MwShape *shape,
              const char    *signature,
              int           *out_score)
{
  gsize n = strlen (signature);
  int score = 0;

  if (n > shape->n_columns || n == 0)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      char a = shape->affinity[i];

      if ((int) i == shape->rowid_column)
        {
          if (signature[i] != 'N')
            return FALSE;
          score += 2;
          continue;
        }
      switch (signature[i])
        {
        case 'N':
          if (shape->flags[i] & MW_COLUMN_NOT_NULL)
            return FALSE;
          score += 1;
          break;
        case 'I':
          if (a == 'T')
            return FALSE;
          score += 2;
          break;
        case 'F':
          if (a == 'T')
            return FALSE;
          score += a == 'I' ? 0 : 2;
          break;
        case 'T':
          score += a == 'T' || a == 'B' ? 2 : 0;
          break;
        case 'B':
        default:
          score += a == 'B' ? 2 : 0;
          break;
        }
    }
  for (gsize i = n; i < shape->n_columns; i++)
    {
      if ((int) i != shape->rowid_column &&
          (shape->flags[i] & (MW_COLUMN_NOT_NULL | MW_COLUMN_DEFAULT)) == MW_COLUMN_NOT_NULL)
        return FALSE;
      score -= 2;
    }
  if (n == shape->n_columns)
    score += 1;
  if (out_score != NULL)
    *out_score = score;
  return TRUE;
}

/**
 * mw_shapes_of_schema:
 * @entries: (element-type MwSchemaEntry): a schema
 *
 * Returns: (transfer full) (element-type MwShape): the shape of each of its tables
 */
GPtrArray *
mw_shapes_of_schema (GPtrArray *entries)
{
  GPtrArray *shapes = g_ptr_array_new_with_free_func ((GDestroyNotify) mw_shape_free);
  g_autoptr(sqlite3) scratch = mw_schema_db_new (entries);

  if (scratch == NULL)
    return shapes;
  for (guint i = 0; i < entries->len; i++)
    {
      MwSchemaEntry *e = g_ptr_array_index (entries, i);
      MwShape *shape;

      if (!g_str_equal (e->type, "table") || g_str_has_prefix (e->name, "sqlite_"))
        continue;
      shape = mw_shape_new (scratch, e->name);
      if (shape != NULL)
        g_ptr_array_add (shapes, shape);
    }
  return shapes;
}
