/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-demo-db"

#include "config.h"

#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

#include "mw-engine.h"

/*
 * mw-demo-db: a realistic AurSwift shop database, at any migration level, of any size.
 *
 * The schema is created by the engine (migrations up to --level), then read back from
 * SQLite, so the generator follows the schema wherever the migrations take it: tables
 * are filled parents first, every foreign key points at a real row, unique columns get
 * unique values, and each column gets a value that fits its name (prices in pence,
 * timestamps over the last months, staff names, SKUs, ...). Reference tables
 * (businesses, staff, products, ...) have fixed sizes; the trading tables (sales and
 * their items, payments, stock movements, shifts, audit log) grow in rounds until the
 * file reaches --size. Output is deterministic for a given --seed.
 */

typedef enum
{
  GEN_NULL,
  GEN_UUID,            /* the row's own text id */
  GEN_PARENT,          /* a foreign key */
  GEN_TIMESTAMP,
  GEN_BOOL,
  GEN_MONEY,
  GEN_QUANTITY,
  GEN_RATE,
  GEN_EMAIL,
  GEN_PHONE,
  GEN_PERSON,
  GEN_FIRST_NAME,
  GEN_LAST_NAME,
  GEN_PRODUCT_NAME,
  GEN_CODE,            /* sku, barcode, receipt number, licence key, ... */
  GEN_SECRET,          /* password hashes, pins */
  GEN_STATUS,
  GEN_METHOD,
  GEN_JSON,
  GEN_WORDS,
  GEN_INTEGER,
  GEN_REAL,
} Gen;

typedef struct Table Table;

typedef struct
{
  char     *name;
  char     *type;
  Gen       gen;
  Table    *parent;       /* GEN_PARENT */
  gboolean  not_null;
  gboolean  unique;
  gboolean  has_default;
} Column;

struct Table
{
  char      *name;
  GPtrArray *columns;     /* (element-type Column) */
  GPtrArray *parents;     /* (element-type Table) borrowed */
  sqlite3_stmt *insert;
  guint      index;       /* seed for ids */
  gboolean   fact;        /* grows with --size */
  double     weight;      /* fact rows per sale */
  guint64    fixed_rows;
  guint64    count;       /* rows inserted */
  gboolean   done;
  gboolean   text_pk;
  int        pk_column;   /* index into columns, -1 */
};

typedef struct
{
  sqlite3   *db;
  GPtrArray *tables;      /* in insertion order */
  guint64    seed;
  gint64     now_ms;
  gint64     span_ms;
  guint64    expected_sales;
  guint64    sales;       /* fact "time" cursor */
} Demo;

/* ---- deterministic randomness --------------------------------------------------------- */

static inline guint64
mix64 (guint64 x)
{
  x += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return x ^ (x >> 31);
}

static inline guint64
rnd (Demo *demo, guint64 a, guint64 b, guint64 c)
{
  return mix64 (demo->seed ^ mix64 (a * 0x100000001b3ULL ^ mix64 (b ^ mix64 (c))));
}

static void
format_uuid (Demo *demo, guint table_index, guint64 row, char out[37])
{
  guint64 hi = rnd (demo, table_index, row, 1);
  guint64 lo = rnd (demo, table_index, row, 2);

  hi = (hi & ~G_GUINT64_CONSTANT (0xf000)) | 0x4000;
  lo = (lo & G_GUINT64_CONSTANT (0x3fffffffffffffff)) | G_GUINT64_CONSTANT (0x8000000000000000);
  g_snprintf (out, 37, "%08x-%04x-%04x-%04x-%012" G_GINT64_MODIFIER "x",
              (guint) (hi >> 32), (guint) ((hi >> 16) & 0xffff), (guint) (hi & 0xffff),
              (guint) (lo >> 48), lo & G_GUINT64_CONSTANT (0xffffffffffff));
}

static const char *first_names[] = {
  "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Arthur", "Ivy", "Leo",
  "Freya", "Oscar", "Lily", "Harry", "Grace", "Jack", "Priya", "Mohammed", "Zara", "Kwame",
};
static const char *last_names[] = {
  "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
  "Khan", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Robinson", "Okafor", "Nowak",
};
static const char *product_words[] = {
  "Semi-Skimmed Milk 2L", "Wholemeal Bread 800g", "Free Range Eggs x6", "Cheddar 400g",
  "Bananas (loose)", "Orange Juice 1L", "Ground Coffee 227g", "English Breakfast Tea x80",
  "Baked Beans 415g", "Basmati Rice 1kg", "Penne Pasta 500g", "Tinned Tomatoes 400g",
  "Salted Butter 250g", "Greek Yoghurt 500g", "Digestive Biscuits", "Crisps Multipack",
  "Sparkling Water 1.5L", "Cola 2L", "Red Wine 75cl", "Lager 4x440ml", "Dish Soap 500ml",
  "Toilet Roll x9", "Toothpaste 75ml", "Shampoo 400ml", "Dog Food 400g", "AA Batteries x4",
  "Birthday Card", "Newspaper", "Chocolate Bar", "Sandwich Meal Deal",
};
static const char *words[] = {
  "front", "till", "counter", "weekend", "morning", "delivery", "shelf", "aisle", "promo",
  "staff", "refund", "float", "stock", "check", "manager", "note", "customer", "order",
};
static const char *statuses[] = { "completed", "completed", "completed", "completed",
                                  "completed", "completed", "completed", "voided", "refunded" };
static const char *methods[] = { "card", "card", "card", "cash", "cash", "contactless",
                                 "contactless", "voucher" };

/* ---- schema -------------------------------------------------------------------------- */

static gboolean
name_has (const char *name, const char *part)
{
  return strstr (name, part) != NULL;
}

static gboolean
name_ends (const char *name, const char *suffix)
{
  return g_str_has_suffix (name, suffix);
}

static Gen
classify (const Column *col)
{
  const char *n = col->name;
  g_autofree char *type = g_ascii_strdown (col->type, -1);
  gboolean is_int = name_has (type, "int");
  gboolean is_real = name_has (type, "real") || name_has (type, "float") ||
                     name_has (type, "double") || name_has (type, "numeric");

  if (name_ends (n, "_at") || name_ends (n, "_date") || name_ends (n, "_time") ||
      g_str_equal (n, "date") || g_str_equal (n, "timestamp") || name_has (n, "expir") ||
      name_has (n, "_until") || name_has (n, "valid_from"))
    return is_int || is_real ? GEN_TIMESTAMP : GEN_TIMESTAMP;
  if (g_str_has_prefix (n, "is_") || g_str_has_prefix (n, "has_") || g_str_equal (n, "active") ||
      g_str_equal (n, "enabled") || name_ends (n, "_enabled") || name_ends (n, "_required") ||
      g_str_has_prefix (n, "requires_") || g_str_has_prefix (n, "allow") ||
      g_str_has_prefix (n, "track_"))
    return GEN_BOOL;
  if (name_has (n, "password") || name_has (n, "pin") || name_has (n, "salt") ||
      name_has (n, "secret") || name_has (n, "token"))
    return GEN_SECRET;
  if (name_has (n, "email"))
    return GEN_EMAIL;
  if (name_has (n, "phone") || name_has (n, "mobile"))
    return GEN_PHONE;
  if (g_str_equal (n, "first_name") || g_str_equal (n, "firstname"))
    return GEN_FIRST_NAME;
  if (g_str_equal (n, "last_name") || g_str_equal (n, "lastname") || g_str_equal (n, "surname"))
    return GEN_LAST_NAME;
  if (name_has (n, "rate") || name_has (n, "percent"))
    return is_int ? GEN_QUANTITY : GEN_RATE;
  if (name_has (n, "price") || name_has (n, "cost") || name_has (n, "amount") ||
      name_has (n, "total") || name_has (n, "subtotal") || name_has (n, "tax") ||
      name_has (n, "vat") || name_has (n, "discount") || name_has (n, "change") ||
      name_has (n, "cash") || name_has (n, "float") || name_has (n, "expected") ||
      name_has (n, "counted") || name_has (n, "difference") || name_has (n, "variance") ||
      name_has (n, "pence") || name_has (n, "value") || name_has (n, "tendered"))
    return is_int || is_real ? GEN_MONEY : GEN_CODE;
  if (name_has (n, "quantity") || name_has (n, "qty") || name_has (n, "stock") ||
      name_has (n, "count") || name_has (n, "level") || name_has (n, "minutes") ||
      name_has (n, "duration") || name_has (n, "number") || name_has (n, "age") ||
      name_has (n, "seq") || name_has (n, "sort") || name_has (n, "position"))
    return is_int || is_real ? GEN_QUANTITY : GEN_CODE;
  if (name_has (n, "sku") || name_has (n, "barcode") || name_has (n, "code") ||
      name_has (n, "key") || name_has (n, "receipt") || name_has (n, "reference") ||
      name_has (n, "serial") || name_has (n, "batch") || name_has (n, "plu") ||
      name_has (n, "device") || name_has (n, "fingerprint") || name_has (n, "machine"))
    return GEN_CODE;
  if (name_has (n, "status") || name_has (n, "state"))
    return GEN_STATUS;
  if (name_has (n, "method") || name_has (n, "type") || name_has (n, "kind") ||
      name_has (n, "reason") || name_has (n, "action") || name_has (n, "event"))
    return GEN_METHOD;
  if (name_has (n, "json") || name_has (n, "metadata") || name_has (n, "details") ||
      name_has (n, "permissions") || name_has (n, "settings") || name_has (n, "data") ||
      name_has (n, "payload") || name_has (n, "changes") || name_has (n, "features"))
    return GEN_JSON;
  if (g_str_equal (n, "name") || name_has (n, "title") || name_has (n, "label"))
    return GEN_PRODUCT_NAME;
  if (name_has (n, "name") || name_has (n, "contact") || name_has (n, "user"))
    return GEN_PERSON;
  if (is_int)
    return GEN_INTEGER;
  if (is_real)
    return GEN_REAL;
  return GEN_WORDS;
}

static const struct { const char *name; guint64 rows; } fixed_sizes[] = {
  { "businesses", 1 }, { "roles", 5 }, { "users", 14 }, { "user_roles", 14 },
  { "terminals", 4 }, { "vat_categories", 3 }, { "categories", 40 }, { "suppliers", 25 },
  { "products", 2500 }, { "product_batches", 3000 }, { "licences", 1 }, { "licenses", 1 },
  { "licence_activations", 4 }, { "license_activations", 4 }, { "app_settings", 20 },
  { "settings", 20 }, { "discounts", 30 }, { "permissions", 40 }, { "role_permissions", 60 },
  { "customers", 800 },
};

static const struct { const char *part; double weight; } fact_weights[] = {
  { "transaction_items", 3.2 }, { "sale_items", 3.2 }, { "transactions", 1.0 },
  { "sales", 1.0 }, { "payments", 1.05 }, { "refunds", 0.02 }, { "stock_movements", 3.2 },
  { "stock_adjustments", 0.05 }, { "audit_logs", 1.1 }, { "cart_items", 3.3 },
  { "cart_sessions", 1.02 }, { "shifts", 0.012 }, { "clock_events", 0.025 },
  { "breaks", 0.012 }, { "cash_drawer_counts", 0.024 }, { "receipts", 1.0 },
  { "z_reports", 0.004 }, { "sync_queue", 0.2 }, { "print_jobs", 0.3 },
};

static void
column_free (Column *c)
{
  g_free (c->name);
  g_free (c->type);
  g_free (c);
}

static void
table_free (Table *t)
{
  g_free (t->name);
  g_ptr_array_unref (t->columns);
  g_ptr_array_unref (t->parents);
  sqlite3_finalize (t->insert);
  g_free (t);
}

static Table *
find_table (GPtrArray *tables, const char *name)
{
  for (guint i = 0; i < tables->len; i++)
    if (g_ascii_strcasecmp (((Table *) g_ptr_array_index (tables, i))->name, name) == 0)
      return g_ptr_array_index (tables, i);
  return NULL;
}

static char *
quote_ident (const char *name)
{
  g_autoptr(GString) s = g_string_new ("\"");

  for (const char *p = name; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (s, '"');
      g_string_append_c (s, *p);
    }
  g_string_append_c (s, '"');
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static GPtrArray *
read_schema (sqlite3 *db)
{
  GPtrArray *tables = g_ptr_array_new_with_free_func ((GDestroyNotify) table_free);
  sqlite3_stmt *stmt = NULL;

  sqlite3_prepare_v2 (db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT "
                          "LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '__drizzle_migrations' "
                          "ORDER BY name", -1, &stmt, NULL);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      Table *t = g_new0 (Table, 1);

      t->name = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      t->columns = g_ptr_array_new_with_free_func ((GDestroyNotify) column_free);
      t->parents = g_ptr_array_new ();
      t->pk_column = -1;
      t->index = tables->len + 1;
      g_ptr_array_add (tables, t);
    }
  sqlite3_finalize (stmt);

  for (guint i = 0; i < tables->len; i++)
    {
      Table *t = g_ptr_array_index (tables, i);
      char *sql = NULL;
      int n_pk = 0;

      sql = sqlite3_mprintf ("SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk "
                             "FROM pragma_table_info(%Q)", t->name);
      sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
      sqlite3_free (g_steal_pointer (&sql));
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          Column *c = g_new0 (Column, 1);

          c->name = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
          c->type = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
          c->not_null = sqlite3_column_int (stmt, 2);
          c->has_default = sqlite3_column_int (stmt, 3);
          if (sqlite3_column_int (stmt, 4) > 0)
            {
              n_pk++;
              t->pk_column = (int) t->columns->len;
            }
          c->gen = classify (c);
          g_ptr_array_add (t->columns, c);
        }
      sqlite3_finalize (stmt);

      if (n_pk == 1)
        {
          Column *pk = g_ptr_array_index (t->columns, t->pk_column);
          g_autofree char *type = g_ascii_strdown (pk->type, -1);

          if (strstr (type, "int") != NULL)
            pk->gen = GEN_NULL;   /* rowid alias: SQLite numbers it */
          else
            {
              pk->gen = GEN_UUID;
              t->text_pk = TRUE;
            }
        }
      else
        t->pk_column = -1;
    }

  /* Second pass: every table's primary key is known now. */
  for (guint i = 0; i < tables->len; i++)
    {
      Table *t = g_ptr_array_index (tables, i);
      char *sql = NULL;

      /* Foreign keys to a parent's single-column primary key. */
      sql = sqlite3_mprintf ("SELECT \"table\", \"from\" FROM pragma_foreign_key_list(%Q)",
                             t->name);
      sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
      sqlite3_free (g_steal_pointer (&sql));
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          Table *parent = find_table (tables, (const char *) sqlite3_column_text (stmt, 0));
          const char *from = (const char *) sqlite3_column_text (stmt, 1);

          for (guint k = 0; k < t->columns->len; k++)
            {
              Column *c = g_ptr_array_index (t->columns, k);

              if (g_str_equal (c->name, from))
                {
                  if (parent != NULL && parent != t && parent->text_pk)
                    {
                      c->gen = GEN_PARENT;
                      c->parent = parent;
                      g_ptr_array_add (t->parents, parent);
                    }
                  else
                    c->gen = c->not_null ? c->gen : GEN_NULL;
                }
            }
        }
      sqlite3_finalize (stmt);

      /* Columns of unique indexes get unique values; in a composite index that is more
       * than needed, and harmless. Foreign keys keep pointing at real parents. */
      sql = sqlite3_mprintf ("SELECT ii.name FROM pragma_index_list(%Q) il, "
                             "pragma_index_info(il.name) ii WHERE il.\"unique\"",
                             t->name);
      sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
      sqlite3_free (g_steal_pointer (&sql));
      while (sqlite3_step (stmt) == SQLITE_ROW)
        for (guint k = 0; k < t->columns->len; k++)
          {
            Column *c = g_ptr_array_index (t->columns, k);

            if (g_str_equal (c->name, (const char *) sqlite3_column_text (stmt, 0)))
              c->unique = TRUE;
          }
      sqlite3_finalize (stmt);

      t->fixed_rows = 20;
      for (guint k = 0; k < G_N_ELEMENTS (fixed_sizes); k++)
        if (g_str_equal (t->name, fixed_sizes[k].name))
          t->fixed_rows = fixed_sizes[k].rows;
      for (guint k = 0; k < G_N_ELEMENTS (fact_weights); k++)
        if (strstr (t->name, fact_weights[k].part) != NULL)
          {
            t->fact = TRUE;
            t->weight = fact_weights[k].weight;
            break;
          }
    }

  return tables;
}

/* Parents before children. */
static GPtrArray *
order_tables (GPtrArray *tables)
{
  GPtrArray *ordered = g_ptr_array_new ();
  gboolean progress = TRUE;

  while (ordered->len < tables->len && progress)
    {
      progress = FALSE;
      for (guint i = 0; i < tables->len; i++)
        {
          Table *t = g_ptr_array_index (tables, i);
          gboolean ready = !t->done;

          for (guint k = 0; ready && k < t->parents->len; k++)
            ready = ((Table *) g_ptr_array_index (t->parents, k))->done;
          if (ready)
            {
              t->done = TRUE;
              g_ptr_array_add (ordered, t);
              progress = TRUE;
            }
        }
    }
  /* Cycles: whatever is left goes last; its foreign keys still point at rows that
   * exist by the time the check runs, since ids are computed, not looked up. */
  for (guint i = 0; i < tables->len; i++)
    if (!((Table *) g_ptr_array_index (tables, i))->done)
      g_ptr_array_add (ordered, g_ptr_array_index (tables, i));
  return ordered;
}

static gboolean
prepare_inserts (Demo *demo, GError **error)
{
  for (guint i = 0; i < demo->tables->len; i++)
    {
      Table *t = g_ptr_array_index (demo->tables, i);
      g_autoptr(GString) sql = g_string_new (NULL);
      g_autofree char *q = quote_ident (t->name);

      g_string_append_printf (sql, "INSERT INTO %s (", q);
      for (guint k = 0; k < t->columns->len; k++)
        {
          g_autofree char *c = quote_ident (((Column *) g_ptr_array_index (t->columns, k))->name);

          g_string_append_printf (sql, "%s%s", k ? ", " : "", c);
        }
      g_string_append (sql, ") VALUES (");
      for (guint k = 0; k < t->columns->len; k++)
        g_string_append_printf (sql, "%s?", k ? ", " : "");
      g_string_append (sql, ")");

      if (sqlite3_prepare_v2 (demo->db, sql->str, -1, &t->insert, NULL) != SQLITE_OK)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", sql->str,
                       sqlite3_errmsg (demo->db));
          return FALSE;
        }
      t->done = FALSE;
    }
  return TRUE;
}

/* Which parent row a child row belongs to. Trading rows follow each other in time, so
 * a sale's items point at that sale, not at a random one. */
static guint64
pick_parent (Demo *demo, Table *t, Column *c, guint64 row)
{
  Table *p = c->parent;
  guint64 n = MAX (p->count, 1);

  if (p->fact && t->fact)
    {
      guint64 idx = (guint64) ((double) row * p->weight / t->weight);

      return MIN (idx, n - 1);
    }
  if (p->fact)
    return rnd (demo, t->index, row, 7) % n;
  return rnd (demo, t->index, row, (guint64) c->name[0] * 131 + strlen (c->name)) % n;
}

static gint64
row_time (Demo *demo, Table *t, guint64 row)
{
  if (t->fact)
    {
      double sale = t->weight > 0 ? (double) row / t->weight : (double) row;
      double pos = demo->expected_sales ? sale / (double) demo->expected_sales : 1.0;

      pos = MIN (pos, 1.0);
      return demo->now_ms - demo->span_ms + (gint64) (pos * (double) demo->span_ms) +
             (gint64) (rnd (demo, t->index, row, 11) % 60000);
    }
  return demo->now_ms - demo->span_ms - (gint64) (rnd (demo, t->index, row, 11) % (86400000LL * 365));
}

static gboolean
insert_row (Demo *demo, Table *t, guint64 row, GError **error)
{
  sqlite3_stmt *s = t->insert;
  char buf[160];
  int rc;

  for (guint k = 0; k < t->columns->len; k++)
    {
      Column *c = g_ptr_array_index (t->columns, k);
      int pos = (int) k + 1;
      guint64 r = rnd (demo, t->index, row, k + 100);

      switch (c->gen)
        {
        case GEN_NULL:
          sqlite3_bind_null (s, pos);
          break;
        case GEN_UUID:
          format_uuid (demo, t->index, row, buf);
          sqlite3_bind_text (s, pos, buf, 36, SQLITE_TRANSIENT);
          break;
        case GEN_PARENT:
          format_uuid (demo, c->parent->index, pick_parent (demo, t, c, row), buf);
          sqlite3_bind_text (s, pos, buf, 36, SQLITE_TRANSIENT);
          break;
        case GEN_TIMESTAMP:
          {
            gint64 ms = row_time (demo, t, row);

            if (strstr (c->name, "end") || strstr (c->name, "closed") || strstr (c->name, "updated") ||
                strstr (c->name, "expir") || strstr (c->name, "until"))
              ms += 8 * 3600 * 1000;
            if (g_ascii_strncasecmp (c->type, "text", 4) == 0)
              {
                g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (ms / 1000);
                g_autofree char *iso = g_date_time_format_iso8601 (dt);

                sqlite3_bind_text (s, pos, iso, -1, SQLITE_TRANSIENT);
              }
            else
              sqlite3_bind_int64 (s, pos, ms);
          }
          break;
        case GEN_BOOL:
          sqlite3_bind_int (s, pos, r % 10 != 0);
          break;
        case GEN_MONEY:
          sqlite3_bind_int64 (s, pos, 49 + (gint64) (r % 4000));
          break;
        case GEN_QUANTITY:
          sqlite3_bind_int64 (s, pos, c->unique ? (gint64) row + 1 : 1 + (gint64) (r % 24));
          break;
        case GEN_RATE:
          sqlite3_bind_double (s, pos, (double) ((r % 3) * 10) / (r % 2 ? 1.0 : 2.0));
          break;
        case GEN_EMAIL:
          g_snprintf (buf, sizeof buf, "%s.%s%" G_GUINT64_FORMAT "@example.co.uk",
                      first_names[r % G_N_ELEMENTS (first_names)],
                      last_names[(r >> 8) % G_N_ELEMENTS (last_names)], row);
          sqlite3_bind_text (s, pos, buf, -1, SQLITE_TRANSIENT);
          break;
        case GEN_PHONE:
          g_snprintf (buf, sizeof buf, "07%09" G_GUINT64_FORMAT, r % 1000000000);
          sqlite3_bind_text (s, pos, buf, -1, SQLITE_TRANSIENT);
          break;
        case GEN_FIRST_NAME:
          sqlite3_bind_text (s, pos, first_names[r % G_N_ELEMENTS (first_names)], -1,
                             SQLITE_STATIC);
          break;
        case GEN_LAST_NAME:
          sqlite3_bind_text (s, pos, last_names[r % G_N_ELEMENTS (last_names)], -1,
                             SQLITE_STATIC);
          break;
        case GEN_PERSON:
          g_snprintf (buf, sizeof buf, c->unique ? "%s %s %" G_GUINT64_FORMAT : "%s %s",
                      first_names[r % G_N_ELEMENTS (first_names)],
                      last_names[(r >> 8) % G_N_ELEMENTS (last_names)], row);
          sqlite3_bind_text (s, pos, buf, -1, SQLITE_TRANSIENT);
          break;
        case GEN_PRODUCT_NAME:
          if (g_str_equal (t->name, "businesses"))
            g_snprintf (buf, sizeof buf, "Corner Shop %" G_GUINT64_FORMAT, row + 1);
          else if (strstr (t->name, "user") || strstr (t->name, "staff"))
            g_snprintf (buf, sizeof buf, "%s %s", first_names[r % G_N_ELEMENTS (first_names)],
                        last_names[(r >> 8) % G_N_ELEMENTS (last_names)]);
          else if (strstr (t->name, "product") || strstr (t->name, "item"))
            g_snprintf (buf, sizeof buf, "%s", product_words[r % G_N_ELEMENTS (product_words)]);
          else
            g_snprintf (buf, sizeof buf, "%s %s", words[r % G_N_ELEMENTS (words)],
                        t->name);
          if (c->unique)
            g_snprintf (buf + strlen (buf), sizeof buf - strlen (buf), " #%" G_GUINT64_FORMAT,
                        row + 1);
          sqlite3_bind_text (s, pos, buf, -1, SQLITE_TRANSIENT);
          break;
        case GEN_CODE:
          if (strstr (c->name, "key") || strstr (c->name, "licen"))
            g_snprintf (buf, sizeof buf, "AURS-%04X-%04X-%04X-%04X", (guint) (r & 0xffff),
                        (guint) ((r >> 16) & 0xffff), (guint) ((r >> 32) & 0xffff),
                        (guint) (row & 0xffff));
          else
            g_snprintf (buf, sizeof buf, "%05" G_GUINT64_FORMAT "%08" G_GUINT64_FORMAT,
                        r % 100000, row);
          sqlite3_bind_text (s, pos, buf, -1, SQLITE_TRANSIENT);
          break;
        case GEN_SECRET:
          g_snprintf (buf, sizeof buf, "$2b$10$%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER
                      "x%012" G_GINT64_MODIFIER "x", r, mix64 (r), (guint64) (mix64 (r + 1) & G_GUINT64_CONSTANT (0xffffffffffff)));
          sqlite3_bind_text (s, pos, buf, -1, SQLITE_TRANSIENT);
          break;
        case GEN_STATUS:
          sqlite3_bind_text (s, pos, statuses[r % G_N_ELEMENTS (statuses)], -1, SQLITE_STATIC);
          break;
        case GEN_METHOD:
          if (strstr (c->name, "type") && strstr (t->name, "stock"))
            sqlite3_bind_text (s, pos, r % 8 ? "sale" : "delivery", -1, SQLITE_STATIC);
          else if (strstr (c->name, "type") && strstr (t->name, "clock"))
            sqlite3_bind_text (s, pos, r % 2 ? "in" : "out", -1, SQLITE_STATIC);
          else if (strstr (t->name, "audit"))
            sqlite3_bind_text (s, pos, r % 3 ? "sale.completed" : "drawer.opened", -1,
                               SQLITE_STATIC);
          else
            sqlite3_bind_text (s, pos, methods[r % G_N_ELEMENTS (methods)], -1, SQLITE_STATIC);
          break;
        case GEN_JSON:
          g_snprintf (buf, sizeof buf, "{\"terminal\":%u,\"note\":\"%s\"}", (guint) (r % 4) + 1,
                      words[r % G_N_ELEMENTS (words)]);
          sqlite3_bind_text (s, pos, buf, -1, SQLITE_TRANSIENT);
          break;
        case GEN_INTEGER:
          sqlite3_bind_int64 (s, pos, c->unique ? (gint64) row + 1 : (gint64) (r % 1000));
          break;
        case GEN_REAL:
          sqlite3_bind_double (s, pos, (double) (r % 10000) / 100.0);
          break;
        case GEN_WORDS:
        default:
          g_snprintf (buf, sizeof buf, "%s %s", words[r % G_N_ELEMENTS (words)],
                      words[(r >> 8) % G_N_ELEMENTS (words)]);
          if (c->unique)
            g_snprintf (buf + strlen (buf), sizeof buf - strlen (buf), " %" G_GUINT64_FORMAT, row);
          sqlite3_bind_text (s, pos, buf, -1, SQLITE_TRANSIENT);
          break;
        }
    }

  rc = sqlite3_step (s);
  sqlite3_reset (s);
  if (rc != SQLITE_DONE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Filling %s, row %" G_GUINT64_FORMAT
                   ": %s", t->name, row, sqlite3_errmsg (demo->db));
      return FALSE;
    }
  t->count++;
  return TRUE;
}

static gint64
db_bytes (Demo *demo)
{
  sqlite3_stmt *stmt = NULL;
  gint64 bytes = 0;

  sqlite3_prepare_v2 (demo->db, "SELECT page_count * page_size FROM pragma_page_count(), "
                                "pragma_page_size()", -1, &stmt, NULL);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    bytes = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return bytes;
}

static gboolean
fill_round (Demo *demo, GPtrArray *order, guint64 sales, GError **error)
{
  demo->sales += sales;
  for (guint i = 0; i < order->len; i++)
    {
      Table *t = g_ptr_array_index (order, i);
      guint64 want = (guint64) ((double) demo->sales * t->weight);

      if (!t->fact)
        continue;
      while (t->count < want)
        if (!insert_row (demo, t, t->count, error))
          return FALSE;
    }
  return TRUE;
}

static gboolean
parse_size (const char *text, gint64 *out)
{
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);

  if (end == text || v < 0)
    return FALSE;
  switch (g_ascii_toupper (*end))
    {
    case 'K': v *= 1024; break;
    case 'M': v *= 1024 * 1024; break;
    case 'G': v *= 1024.0 * 1024 * 1024; break;
    case '\0': break;
    default: return FALSE;
    }
  *out = (gint64) v;
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *database = NULL;
  g_autofree char *migrations = NULL;
  g_autofree char *level = NULL;
  g_autofree char *size_text = NULL;
  g_autofree char *journal_mode = NULL;
  gint64 seed = 1, months = 9, target = 0;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "database", 'd', 0, G_OPTION_ARG_FILENAME, &database, "Database to create", "PATH" },
    { "migrations", 'm', 0, G_OPTION_ARG_FILENAME, &migrations, "Migrations folder", "DIR" },
    { "level", 'l', 0, G_OPTION_ARG_STRING, &level,
      "Last migration to apply, as a tag or a count (default: all)", "TAG|N" },
    { "size", 's', 0, G_OPTION_ARG_STRING, &size_text,
      "Approximate database size, e.g. 50M, 1G (default 20M)", "SIZE" },
    { "months", 0, 0, G_OPTION_ARG_INT64, &months, "Months of trading (default 9)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
    { "journal-mode", 0, 0, G_OPTION_ARG_STRING, &journal_mode,
      "Journal mode the shop runs with: wal (default) or delete", "MODE" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress output", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- create a realistic AurSwift demo database");
  g_autoptr(GError) error = NULL;
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GPtrArray) order = NULL;
  g_autofree char *pragma = NULL;
  Demo demo = { 0 };
  g_autoptr(GTimer) timer = g_timer_new ();
  guint64 batch;
  gint64 final_bytes;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (database == NULL || migrations == NULL)
    {
      g_printerr ("--database and --migrations are required\n");
      return 2;
    }
  if (!parse_size (size_text ? size_text : "20M", &target))
    {
      g_printerr ("Cannot read the size “%s” (e.g. 500M, 1G)\n", size_text);
      return 2;
    }
  if (g_file_test (database, G_FILE_TEST_EXISTS))
    {
      g_printerr ("%s already exists; this tool only creates new databases.\n", database);
      return 1;
    }

  set = mw_migration_set_load (migrations, &error);
  if (set == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  /* A level given as a number counts migrations: "3" is the first three. */
  if (level != NULL && level[0] != '\0' && strspn (level, "0123456789") == strlen (level))
    {
      guint64 n = g_ascii_strtoull (level, NULL, 10);

      if (n == 0 || n > mw_migration_set_get_n_migrations (set))
        {
          g_printerr ("--level %s: the folder has %u migrations\n", level,
                      mw_migration_set_get_n_migrations (set));
          return 2;
        }
      g_free (level);
      level = g_strdup (mw_migration_set_get_migration (set, (guint) n - 1)->tag);
    }

  migrator = mw_migrator_new (database, set);
  mw_migrator_set_target (migrator, level);
  if (!mw_migrator_run (migrator, NULL, &error))
    {
      g_printerr ("Creating the schema: %s\n", error->message);
      return 1;
    }

  if (sqlite3_open (database, &demo.db) != SQLITE_OK)
    {
      g_printerr ("Cannot open %s\n", database);
      return 1;
    }
  sqlite3_exec (demo.db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = OFF; "
                         "PRAGMA journal_mode = MEMORY; PRAGMA cache_size = -65536", NULL, NULL, NULL);
  demo.seed = mix64 ((guint64) seed);
  demo.now_ms = g_get_real_time () / 1000;
  demo.now_ms -= demo.now_ms % 1000;
  demo.span_ms = months * 30 * 86400000LL;
  demo.tables = read_schema (demo.db);
  order = order_tables (demo.tables);

  if (!prepare_inserts (&demo, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  sqlite3_exec (demo.db, "BEGIN", NULL, NULL, NULL);
  for (guint i = 0; i < order->len; i++)
    {
      Table *t = g_ptr_array_index (order, i);

      if (t->fact)
        continue;
      for (guint64 r = 0; r < t->fixed_rows; r++)
        if (!insert_row (&demo, t, r, &error))
          {
            g_printerr ("%s\n", error->message);
            return 1;
          }
    }

  /* A first small round tells how many bytes a sale costs, so that timestamps can be
   * spread evenly over the trading period. */
  batch = 2000;
  demo.expected_sales = batch;
  if (!fill_round (&demo, order, batch, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  sqlite3_exec (demo.db, "COMMIT", NULL, NULL, NULL);
  {
    gint64 base = db_bytes (&demo);
    double per_sale = 0;

    sqlite3_exec (demo.db, "BEGIN", NULL, NULL, NULL);
    fill_round (&demo, order, batch, &error);
    sqlite3_exec (demo.db, "COMMIT", NULL, NULL, NULL);
    per_sale = (double) MAX (db_bytes (&demo) - base, 1) / (double) batch;
    demo.expected_sales = MAX ((guint64) ((double) target / per_sale), demo.sales);
  }

  {
    gboolean any_fact = FALSE;

    for (guint i = 0; i < order->len; i++)
      any_fact |= ((Table *) g_ptr_array_index (order, i))->fact;
    if (!any_fact)
      target = 0;   /* nothing that grows: the reference data is all there is */
  }

  while (db_bytes (&demo) < target)
    {
      guint64 step = MAX (MIN (demo.expected_sales / 50, 200000), 2000);

      sqlite3_exec (demo.db, "BEGIN", NULL, NULL, NULL);
      if (!fill_round (&demo, order, step, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      sqlite3_exec (demo.db, "COMMIT", NULL, NULL, NULL);
      if (!quiet && isatty (STDERR_FILENO))
        g_printerr ("\r%6.1f MB of %.1f MB, %" G_GUINT64_FORMAT " sales",
                    db_bytes (&demo) / 1048576.0, target / 1048576.0, demo.sales);
    }
  if (!quiet && isatty (STDERR_FILENO))
    g_printerr ("\r\033[K");

  pragma = g_strdup_printf ("PRAGMA journal_mode = %s",
                            journal_mode && g_ascii_strcasecmp (journal_mode, "delete") == 0
                            ? "DELETE" : "WAL");
  sqlite3_exec (demo.db, pragma, NULL, NULL, NULL);

  {
    sqlite3_stmt *stmt = NULL;
    int bad = 0;

    sqlite3_prepare_v2 (demo.db, "PRAGMA foreign_key_check", -1, &stmt, NULL);
    while (sqlite3_step (stmt) == SQLITE_ROW)
      bad++;
    sqlite3_finalize (stmt);
    if (bad > 0)
      {
        g_printerr ("The demo data has %d foreign-key violations: a generator bug.\n", bad);
        return 1;
      }
  }

  final_bytes = db_bytes (&demo);
  g_clear_pointer (&demo.tables, g_ptr_array_unref);
  sqlite3_close (demo.db);

  if (!quiet)
    g_printerr ("Created %s: %.1f MB, %" G_GUINT64_FORMAT " sales over %" G_GINT64_FORMAT
                " months, level %s, in %.1f s\n",
                database, (double) final_bytes / 1048576.0, demo.sales, months,
                level ? level : "latest", g_timer_elapsed (timer, NULL));
  return 0;
}
