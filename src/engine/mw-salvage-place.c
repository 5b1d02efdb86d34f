/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-repair"

#include "config.h"

#include <string.h>

#include "mw-error.h"
#include "mw-salvage-private.h"

/*
 * Where the rows of pages no b-tree reaches go.
 *
 * The unit is a group of leaves (mw_pages_unreached_groups()): the leaves under one
 * surviving interior page belong to one b-tree, so to one table. A group goes to a
 * table whose shape can hold every record sampled from it (mw-salvage-shape.c):
 *
 *   - one such table: there;
 *   - several (tables of the same shape — roles and licence activations are both four
 *     texts and an integer): the foreign keys and the indexes decide. Each candidate's
 *     foreign-key columns are looked up in its parent tables among the rows already
 *     placed (a role's business exists, a licence activation's licence does not match
 *     a business id); each candidate's indexes must hold an entry (key columns,
 *     rowid) for the rows, among the index entries on the pages (app settings have a
 *     unique (business, key) index, roles none). Groups are decided in rounds, so that
 *     a parent placed in one round tells its children in the next; when nothing more
 *     tells, the most natural fit wins if it is the only one;
 *   - none: row by row, each into the one table that fits it best.
 *
 * A row no table fits, or that several fit equally, goes to lost_and_found with its
 * page, cell, rowid and every field. A row whose rowid its table already holds (read
 * by SQLite before) is not copied twice. An I/O error writing the new database stops
 * everything: the copy would miss rows the report does not count as lost.
 */

typedef struct
{
  MwRepairTable *table;
  MwShape       *shape;
  GPtrArray     *inserts;     /* sqlite3_stmt, by field count; NULL until needed */
  GPtrArray     *parents;     /* sqlite3_stmt per foreign key, or NULL (not checkable) */
  sqlite3_stmt  *exists;
  gboolean       candidate;
} Target;

typedef struct
{
  guint32 pgno;
  guint   cell;
} LostRow;

typedef struct
{
  MwPages        *pages;
  sqlite3        *out;
  MwRepairReport *report;
  GPtrArray      *targets;
  GArray         *lost;
  GError         *error;
} Placer;

static void
finalize_stmt (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
target_free (Target *t)
{
  mw_shape_free (t->shape);
  g_clear_pointer (&t->inserts, g_ptr_array_unref);
  g_clear_pointer (&t->parents, g_ptr_array_unref);
  sqlite3_finalize (t->exists);
  g_free (t);
}

static void
fail (Placer     *p,
      int         rc,
      const char *doing)
{
  if (p->error == NULL)
    mw_db_set_error (&p->error, p->out, rc, MW_ENGINE_ERROR_CORRUPT, doing);
}

static void
bind_values (sqlite3_stmt *stmt,
             int           first,
             GArray       *values,
             guint         n)
{
  for (guint i = 0; i < n; i++)
    {
      int at = first + (int) i;
      MwValue *v;

      if (i >= values->len)
        {
          sqlite3_bind_null (stmt, at);
          continue;
        }
      v = &g_array_index (values, MwValue, i);
      switch (v->type)
        {
        case MW_VALUE_INTEGER:
          sqlite3_bind_int64 (stmt, at, v->integer);
          break;
        case MW_VALUE_FLOAT:
          sqlite3_bind_double (stmt, at, v->real);
          break;
        case MW_VALUE_TEXT:
          sqlite3_bind_text (stmt, at, (const char *) v->bytes, (int) v->n_bytes, SQLITE_TRANSIENT);
          break;
        case MW_VALUE_BLOB:
          sqlite3_bind_blob (stmt, at, v->bytes, (int) v->n_bytes, SQLITE_TRANSIENT);
          break;
        case MW_VALUE_NULL:
        default:
          sqlite3_bind_null (stmt, at);
          break;
        }
    }
}

static void
lose (Placer  *p,
      guint32  pgno,
      guint    cell)
{
  LostRow row = { pgno, cell };

  g_array_append_val (p->lost, row);
}

/* The INSERT for records of @n fields: the columns a shorter record lacks are left
 * out, so they take their default, as SQLite reads such a record. */
static sqlite3_stmt *
insert_for (Placer *p,
            Target *t,
            guint   n)
{
  sqlite3_stmt *stmt = g_ptr_array_index (t->inserts, n);

  if (stmt == NULL)
    {
      g_autofree char *q = mw_db_quote_identifier (t->table->name);
      g_autoptr(GString) columns = g_string_new (NULL);
      g_autoptr(GString) params = g_string_new ("?");
      g_autofree char *sql = NULL;
      int rc;

      for (guint i = 0; i < n; i++)
        {
          g_autofree char *c = mw_db_quote_identifier (t->shape->names[i]);

          g_string_append_printf (columns, ", %s", c);
          g_string_append (params, ", ?");
        }
      sql = g_strdup_printf ("INSERT INTO main.%s (rowid%s) VALUES (%s)", q, columns->str,
                             params->str);
      rc = sqlite3_prepare_v2 (p->out, sql, -1, &stmt, NULL);
      if (rc != SQLITE_OK)
        {
          fail (p, rc, "Preparing a row's copy");
          return NULL;
        }
      g_ptr_array_index (t->inserts, n) = stmt;
    }
  return stmt;
}

/* Into @t; FALSE only on a fatal error. */
static gboolean
insert_into (Placer  *p,
             Target  *t,
             guint32  pgno,
             guint    cell,
             gint64   rowid,
             GArray  *values)
{
  sqlite3_stmt *stmt = insert_for (p, t, values->len);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_reset (stmt);
  sqlite3_bind_int64 (stmt, 1, rowid);
  bind_values (stmt, 2, values, values->len);
  if (t->shape->rowid_column >= 0 && (guint) t->shape->rowid_column < values->len)
    sqlite3_bind_int64 (stmt, 2 + t->shape->rowid_column, rowid);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc == SQLITE_DONE)
    {
      t->table->recovered++;
      if (t->table->lost > 0)
        t->table->lost--;
      return TRUE;
    }
  if ((rc & 0xff) != SQLITE_CONSTRAINT)
    {
      fail (p, rc, "Copying a row found on the pages");
      return FALSE;
    }
  /* The same rowid already there: SQLite read this row before. Anything else (a key
   * another row holds, a constraint it breaks) is kept in lost_and_found. */
  sqlite3_reset (t->exists);
  sqlite3_bind_int64 (t->exists, 1, rowid);
  if (sqlite3_step (t->exists) != SQLITE_ROW)
    lose (p, pgno, cell);
  sqlite3_reset (t->exists);
  return TRUE;
}

/* The one table that fits a row best, else lost_and_found. */
static void
place_row (Placer     *p,
           guint32     pgno,
           guint       cell,
           gint64      rowid,
           GArray     *values,
           const char *signature)
{
  Target *best = NULL;
  int best_score = G_MININT;
  guint n_best = 0;

  for (guint k = 0; k < p->targets->len; k++)
    {
      Target *t = g_ptr_array_index (p->targets, k);
      int score;

      if (!t->candidate || !mw_shape_fit (t->shape, signature, &score))
        continue;
      if (score > best_score)
        {
          best = t;
          best_score = score;
          n_best = 1;
        }
      else if (score == best_score)
        n_best++;
    }
  if (n_best == 1)
    insert_into (p, best, pgno, cell, rowid, values);
  else
    lose (p, pgno, cell);
}

typedef struct
{
  Placer   *placer;
  Target   *target;     /* (nullable): row by row */
  gboolean  keep_all;   /* every row to lost_and_found */
} RowContext;

static void
row_cb (guint32   pgno,
        guint     cell,
        gint64    rowid,
        GArray   *values,
        gpointer  user_data)
{
  RowContext *ctx = user_data;
  g_autofree char *signature = NULL;

  if (ctx->placer->error != NULL)
    return;
  if (ctx->keep_all)
    {
      lose (ctx->placer, pgno, cell);
      return;
    }
  signature = mw_signature_of (values);
  if (ctx->target != NULL && mw_shape_fit (ctx->target->shape, signature, NULL))
    insert_into (ctx->placer, ctx->target, pgno, cell, rowid, values);
  else if (ctx->target != NULL && !ctx->target->candidate)
    lose (ctx->placer, pgno, cell);    /* a known b-tree: its table, or nowhere */
  else
    place_row (ctx->placer, pgno, cell, rowid, values, signature);
}

static gboolean
insert_leaves (Placer       *p,
               GArray       *leaves,
               Target       *target,
               GCancellable *cancellable)
{
  RowContext ctx = { p, target, FALSE };

  for (guint i = 0; i < leaves->len && p->error == NULL; i++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, &p->error))
        break;
      mw_pages_for_each_row (p->pages, g_array_index (leaves, guint32, i), row_cb, &ctx);
    }
  return p->error == NULL;
}


/* ---- foreign keys as evidence ----------------------------------------------------- */

/* The lookup of one foreign key's parent row; NULL when it cannot be checked (a
 * self-reference, a parent that is not there or has no key). */
static sqlite3_stmt *
parent_lookup (Placer       *p,
               Target       *t,
               MwForeignKey *fk)
{
  g_auto(GStrv) columns = NULL;
  g_autoptr(GString) sql = NULL;
  g_autofree char *q = NULL;
  sqlite3_stmt *stmt = NULL;

  if (g_str_equal (fk->parent, t->table->name))
    return NULL;
  for (guint i = 0; i < fk->columns->len; i++)
    if (g_array_index (fk->columns, guint, i) >= t->shape->n_columns)
      return NULL;
  if (fk->parent_columns != NULL)
    columns = g_strdupv (fk->parent_columns);
  else
    {
      g_autoptr(GStrvBuilder) pk = g_strv_builder_new ();

      if (sqlite3_prepare_v2 (p->out, "SELECT name FROM pragma_table_info(?1) WHERE pk > 0 "
                                      "ORDER BY pk", -1, &stmt, NULL) != SQLITE_OK)
        return NULL;
      sqlite3_bind_text (stmt, 1, fk->parent, -1, SQLITE_STATIC);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        g_strv_builder_add (pk, (const char *) sqlite3_column_text (stmt, 0));
      sqlite3_finalize (stmt);
      stmt = NULL;
      columns = g_strv_builder_end (pk);
    }
  if (g_strv_length (columns) != fk->columns->len || fk->columns->len == 0)
    return NULL;

  q = mw_db_quote_identifier (fk->parent);
  sql = g_string_new (NULL);
  g_string_append_printf (sql, "SELECT 1 FROM main.%s WHERE ", q);
  for (guint i = 0; columns[i] != NULL; i++)
    {
      g_autofree char *c = mw_db_quote_identifier (columns[i]);

      g_string_append_printf (sql, "%s%s = ?%u", i ? " AND " : "", c, i + 1);
    }
  g_string_append (sql, " LIMIT 1");
  if (sqlite3_prepare_v2 (p->out, sql->str, -1, &stmt, NULL) != SQLITE_OK)
    return NULL;
  return stmt;
}

static gboolean
table_has_rows (sqlite3    *db,
                const char *table)
{
  g_autofree char *q = mw_db_quote_identifier (table);
  g_autofree char *sql = g_strdup_printf ("SELECT EXISTS (SELECT 1 FROM main.%s)", q);

  return mw_db_query_int (db, sql, 0) == 1;
}

typedef struct
{
  Placer   *placer;
  Target   *target;
  gboolean *checkable;   /* per foreign key: its parent has rows to compare with */
  guint    *hits;        /* per foreign key */
  guint    *misses;
  guint     rows;
} Evidence;

static void
evidence_cb (guint32   pgno,
             guint     cell,
             gint64    rowid,
             GArray   *values,
             gpointer  user_data)
{
  Evidence *ev = user_data;
  Target *t = ev->target;

  if (ev->rows++ >= 64)
    return;
  for (guint f = 0; f < t->shape->foreign_keys->len; f++)
    {
      MwForeignKey *fk = g_ptr_array_index (t->shape->foreign_keys, f);
      sqlite3_stmt *stmt = g_ptr_array_index (t->parents, f);
      gboolean complete = TRUE;

      if (stmt == NULL || !ev->checkable[f])
        continue;
      sqlite3_reset (stmt);
      for (guint i = 0; i < fk->columns->len && complete; i++)
        {
          guint column = g_array_index (fk->columns, guint, i);
          g_autoptr(GArray) one = g_array_new (FALSE, TRUE, sizeof (MwValue));

          if (column >= values->len ||
              g_array_index (values, MwValue, column).type == MW_VALUE_NULL)
            {
              complete = FALSE;
              break;
            }
          g_array_append_val (one, g_array_index (values, MwValue, column));
          bind_values (stmt, (int) i + 1, one, 1);
        }
      if (!complete)
        continue;
      if (sqlite3_step (stmt) == SQLITE_ROW)
        ev->hits[f]++;
      else
        ev->misses[f]++;
      sqlite3_reset (stmt);
    }
}

/* How well @t's foreign keys hold for a sample of @group's rows: per key, from -1 (no
 * parent holds them) to 1 (every one does), summed; FALSE when nothing could be
 * checked (no key, or no parent row placed yet). */
static gboolean
foreign_key_evidence (Placer      *p,
                      MwLeafGroup *group,
                      Target      *t,
                      double      *out_sum)
{
  guint n_fk = t->shape->foreign_keys->len;
  g_autofree gboolean *checkable = g_new0 (gboolean, MAX (n_fk, 1));
  g_autofree guint *hits = g_new0 (guint, MAX (n_fk, 1));
  g_autofree guint *misses = g_new0 (guint, MAX (n_fk, 1));
  Evidence ev = { p, t, checkable, hits, misses, 0 };
  gboolean any = FALSE;
  double sum = 0;

  if (t->parents == NULL)
    {
      t->parents = g_ptr_array_new_with_free_func (finalize_stmt);
      for (guint f = 0; f < n_fk; f++)
        g_ptr_array_add (t->parents, parent_lookup (p, t, g_ptr_array_index (t->shape->foreign_keys, f)));
    }
  for (guint f = 0; f < n_fk; f++)
    {
      MwForeignKey *fk = g_ptr_array_index (t->shape->foreign_keys, f);

      checkable[f] = g_ptr_array_index (t->parents, f) != NULL && table_has_rows (p->out, fk->parent);
      any |= checkable[f];
    }
  if (!any)
    return FALSE;
  for (guint i = 0; i < MIN (group->leaves->len, 3) && ev.rows < 64; i++)
    mw_pages_for_each_row (p->pages, g_array_index (group->leaves, guint32, i), evidence_cb, &ev);
  any = FALSE;
  for (guint f = 0; f < n_fk; f++)
    if (hits[f] + misses[f] > 0)
      {
        sum += ((double) hits[f] - (double) misses[f]) / (double) (hits[f] + misses[f]);
        any = TRUE;
      }
  *out_sum = sum;
  return any;
}

/* ---- indexes as evidence ------------------------------------------------------------ */

/* A table's index holds an entry (key columns, rowid) for each of its rows: a group
 * whose rows the entries found on the pages match is that table's. */
typedef struct
{
  guint hits;
  guint expected;
} Tally;

typedef struct
{
  GPtrArray  *fits;        /* (element-type Target) */
  GPtrArray  *tallies;     /* per fit: GArray of Tally, per index */
  GHashTable *wanted;      /* fingerprint → GPtrArray of Tally* */
  guint       rows;
} IndexSample;

static void
want (GHashTable *wanted,
      guint64     fingerprint,
      Tally      *tally)
{
  GPtrArray *list = g_hash_table_lookup (wanted, &fingerprint);

  if (list == NULL)
    {
      list = g_ptr_array_new ();
      g_hash_table_insert (wanted, g_memdup2 (&fingerprint, sizeof fingerprint), list);
    }
  g_ptr_array_add (list, tally);
  tally->expected++;
}

static void
index_sample_cb (guint32   pgno,
                 guint     cell,
                 gint64    rowid,
                 GArray   *values,
                 gpointer  user_data)
{
  IndexSample *sample = user_data;

  if (sample->rows++ >= 64)
    return;
  for (guint k = 0; k < sample->fits->len; k++)
    {
      Target *t = g_ptr_array_index (sample->fits, k);
      GArray *tallies = g_ptr_array_index (sample->tallies, k);

      for (guint j = 0; j < t->shape->indexes->len; j++)
        {
          GArray *columns = g_ptr_array_index (t->shape->indexes, j);
          gboolean complete = TRUE;

          for (guint c = 0; c < columns->len; c++)
            complete &= g_array_index (columns, guint, c) < values->len;
          if (complete)
            want (sample->wanted,
                  mw_index_key_hash (values, (const guint *) columns->data, columns->len, rowid),
                  &g_array_index (tallies, Tally, j));
        }
    }
}

static void
index_entry_cb (guint32   pgno,
                guint     cell,
                gint64    rowid,
                GArray   *values,
                gpointer  user_data)
{
  GHashTable *wanted = user_data;
  MwValue *last = &g_array_index (values, MwValue, values->len - 1);
  guint64 fingerprint;
  GPtrArray *list;

  if (last->type != MW_VALUE_INTEGER)
    return;
  fingerprint = mw_index_key_hash (values, NULL, values->len - 1, last->integer);
  list = g_hash_table_lookup (wanted, &fingerprint);
  for (guint i = 0; list != NULL && i < list->len; i++)
    ((Tally *) g_ptr_array_index (list, i))->hits++;
}


/* ---- deciding the groups ---------------------------------------------------------- */

typedef struct
{
  MwLeafGroup *group;
  GPtrArray   *fits;      /* (element-type Target) */
  GArray      *scores;    /* (element-type double): the mean fit of its records */
  GPtrArray   *tallies;   /* (nullable) per fit: GArray of Tally, per index */
} Pending;

static void
pending_free (Pending *pending)
{
  g_ptr_array_unref (pending->fits);
  g_array_unref (pending->scores);
  g_clear_pointer (&pending->tallies, g_ptr_array_unref);
  g_free (pending);
}

/* Samples every pending group's rows for each candidate's index entries, then reads
 * every index entry of the file once. */
static void
count_index_entries (Placer    *p,
                     GPtrArray *pending)
{
  g_autoptr(GHashTable) wanted = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                        (GDestroyNotify) g_ptr_array_unref);

  for (guint i = 0; i < pending->len; i++)
    {
      Pending *one = g_ptr_array_index (pending, i);
      IndexSample sample = { one->fits, NULL, wanted, 0 };

      one->tallies = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
      for (guint k = 0; k < one->fits->len; k++)
        {
          Target *t = g_ptr_array_index (one->fits, k);
          GArray *tallies = g_array_new (FALSE, TRUE, sizeof (Tally));

          g_array_set_size (tallies, t->shape->indexes ? t->shape->indexes->len : 0);
          g_ptr_array_add (one->tallies, tallies);
        }
      sample.tallies = one->tallies;
      for (guint l = 0; l < MIN (one->group->leaves->len, 3) && sample.rows < 64; l++)
        mw_pages_for_each_row (p->pages, g_array_index (one->group->leaves, guint32, l),
                               index_sample_cb, &sample);
    }
  if (g_hash_table_size (wanted) > 0)
    mw_pages_for_each_index_entry (p->pages, index_entry_cb, wanted);
}

/* Per index of the candidate: from -1 (none of the rows' entries found) to 1 (all),
 * summed; FALSE when it has no index to check. */
static gboolean
index_evidence (Pending *pending,
                guint    k,
                double  *out_sum)
{
  GArray *tallies = pending->tallies ? g_ptr_array_index (pending->tallies, k) : NULL;
  gboolean any = FALSE;
  double sum = 0;

  for (guint j = 0; tallies != NULL && j < tallies->len; j++)
    {
      Tally *tally = &g_array_index (tallies, Tally, j);

      if (tally->expected == 0)
        continue;
      sum += 2.0 * MIN (tally->hits, tally->expected) / tally->expected - 1.0;
      any = TRUE;
    }
  *out_sum = sum;
  return any;
}

/* The candidates that can hold every record sampled from @group, with how well. */
static Pending *
pending_new (Placer      *p,
             MwLeafGroup *group)
{
  g_autoptr(GHashTable) signatures = mw_pages_group_signatures (p->pages, group);
  Pending *pending = g_new0 (Pending, 1);

  pending->group = group;
  pending->fits = g_ptr_array_new ();
  pending->scores = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint k = 0; k < p->targets->len; k++)
    {
      Target *t = g_ptr_array_index (p->targets, k);
      GHashTableIter iter;
      gpointer key, count;
      double total = 0, rows = 0;
      gboolean all = g_hash_table_size (signatures) > 0;

      if (!t->candidate)
        continue;
      g_hash_table_iter_init (&iter, signatures);
      while (all && g_hash_table_iter_next (&iter, &key, &count))
        {
          int score;

          all = mw_shape_fit (t->shape, key, &score);
          total += (double) score * GPOINTER_TO_UINT (count);
          rows += GPOINTER_TO_UINT (count);
        }
      if (all)
        {
          double mean = total / rows;

          g_ptr_array_add (pending->fits, t);
          g_array_append_val (pending->scores, mean);
        }
    }
  return pending;
}

/* The winner among @pending's candidates, by fit and foreign-key evidence; NULL on a
 * tie. @out_evidence: whether foreign keys took part. */
static Target *
decide (Placer   *p,
        Pending  *pending,
        gboolean *out_evidence)
{
  Target *best = NULL;
  double best_total = -G_MAXDOUBLE;
  guint n_best = 0;

  *out_evidence = FALSE;
  for (guint k = 0; k < pending->fits->len; k++)
    {
      Target *t = g_ptr_array_index (pending->fits, k);
      double total = g_array_index (pending->scores, double, k);
      double sum;

      if (foreign_key_evidence (p, pending->group, t, &sum))
        {
          total += 8 * sum;
          *out_evidence = TRUE;
        }
      if (index_evidence (pending, k, &sum))
        {
          total += 8 * sum;
          *out_evidence = TRUE;
        }
      g_debug ("group at page %u (%" G_GUINT64_FORMAT " rows) as %s: fit %.2f, total %.2f",
               pending->group->top, pending->group->n_cells, t->table->name,
               g_array_index (pending->scores, double, k), total);
      if (total > best_total + 1e-9)
        {
          best = t;
          best_total = total;
          n_best = 1;
        }
      else if (total > best_total - 1e-9)
        n_best++;
    }
  return n_best == 1 ? best : NULL;
}

static void
lose_leaves (Placer *p,
             GArray *leaves)
{
  RowContext ctx = { p, NULL, TRUE };

  for (guint i = 0; i < leaves->len; i++)
    mw_pages_for_each_row (p->pages, g_array_index (leaves, guint32, i), row_cb, &ctx);
}


/* ---- lost_and_found ---------------------------------------------------------------- */

typedef struct
{
  Placer       *placer;
  sqlite3_stmt *insert;
  guint         width;
} LostContext;

static void
lost_width_cb (guint32   pgno,
               guint     cell,
               gint64    rowid,
               GArray   *values,
               gpointer  user_data)
{
  LostContext *ctx = user_data;

  ctx->width = MAX (ctx->width, values->len);
}

static void
lost_insert_cb (guint32   pgno,
                guint     cell,
                gint64    rowid,
                GArray   *values,
                gpointer  user_data)
{
  LostContext *ctx = user_data;
  int rc;

  if (ctx->placer->error != NULL)
    return;
  sqlite3_reset (ctx->insert);
  sqlite3_clear_bindings (ctx->insert);
  sqlite3_bind_int64 (ctx->insert, 1, pgno);
  sqlite3_bind_int64 (ctx->insert, 2, cell);
  sqlite3_bind_int64 (ctx->insert, 3, rowid);
  sqlite3_bind_int64 (ctx->insert, 4, values->len);
  bind_values (ctx->insert, 5, values, MIN (values->len, ctx->width));
  rc = sqlite3_step (ctx->insert);
  if (rc == SQLITE_DONE)
    ctx->placer->report->lost_and_found++;
  else
    fail (ctx->placer, rc, "Keeping a row in lost_and_found");
}

/* Every row no table took, with its page, cell, rowid and fields. */
static gboolean
write_lost_and_found (Placer *p)
{
  LostContext ctx = { p, NULL, 0 };
  g_autoptr(GString) create = NULL;
  g_autoptr(GString) params = NULL;
  g_autofree char *insert = NULL;
  int rc;

  if (p->lost->len == 0)
    return TRUE;
  for (guint i = 0; i < p->lost->len; i++)
    {
      LostRow *row = &g_array_index (p->lost, LostRow, i);

      mw_pages_for_each_row_at (p->pages, row->pgno, row->cell, lost_width_cb, &ctx);
    }
  create = g_string_new ("CREATE TABLE IF NOT EXISTS lost_and_found (pgno INTEGER, cell INTEGER, "
                         "id INTEGER, nfield INTEGER");
  params = g_string_new ("?, ?, ?, ?");
  for (guint c = 0; c < ctx.width; c++)
    {
      g_string_append_printf (create, ", c%u", c);
      g_string_append (params, ", ?");
    }
  g_string_append (create, ")");
  if (!mw_salvage_exec (p->out, create->str, &p->error))
    return FALSE;
  insert = g_strdup_printf ("INSERT INTO lost_and_found VALUES (%s)", params->str);
  rc = sqlite3_prepare_v2 (p->out, insert, -1, &ctx.insert, NULL);
  if (rc != SQLITE_OK)
    {
      fail (p, rc, "Creating lost_and_found");
      return FALSE;
    }
  for (guint i = 0; i < p->lost->len && p->error == NULL; i++)
    {
      LostRow *row = &g_array_index (p->lost, LostRow, i);

      mw_pages_for_each_row_at (p->pages, row->pgno, row->cell, lost_insert_cb, &ctx);
    }
  sqlite3_finalize (ctx.insert);
  if (p->report->expected != NULL && p->report->lost_and_found > 0)
    g_hash_table_insert (p->report->expected, g_strdup ("lost_and_found"), g_strdup ("table"));
  return p->error == NULL;
}


/**
 * mw_salvage_place:
 * @pages: the work copy, with everything SQLite read, and the free list, marked
 * @schema_db: (nullable): a database whose schema has the tables' indexes
 * @candidates: (element-type MwRepairTable): the tables that may have rows on pages
 *   nothing reaches (those that lost rows, or every table when the schema was lost)
 * @roots: (nullable) (element-type utf8 guint): table → root page, for tables whose
 *   b-tree is known but SQLite cannot read (the schema rebuilt from its pages)
 *
 * Puts every row found on table leaf pages that nothing reaches, and on the b-trees
 * of @roots, into its table, else into lost_and_found; inside the caller's
 * transaction on @out.
 *
 * Returns: %FALSE with @error set on a write error or cancellation
 */
gboolean
mw_salvage_place (MwPages         *pages,
                  sqlite3         *out,
                  sqlite3         *schema_db,
                  GPtrArray       *candidates,
                  GHashTable      *roots,
                  MwRepairReport  *report,
                  GCancellable    *cancellable,
                  GError         **error)
{
  g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  g_autoptr(GArray) lost = g_array_new (FALSE, FALSE, sizeof (LostRow));
  g_autoptr(GPtrArray) groups = NULL;
  g_autoptr(GPtrArray) pending = g_ptr_array_new_with_free_func ((GDestroyNotify) pending_free);
  Placer p = { pages, out, report, targets, lost, NULL };

  for (guint i = 0; i < report->tables->len; i++)
    {
      MwRepairTable *table = g_ptr_array_index (report->tables, i);
      g_autofree char *q = mw_db_quote_identifier (table->name);
      g_autofree char *exists = g_strdup_printf ("SELECT 1 FROM main.%s WHERE rowid = ?1", q);
      Target *t;
      MwShape *shape;

      if (table->absent || (shape = mw_shape_new (out, table->name)) == NULL)
        continue;
      mw_shape_read_indexes (shape, schema_db);
      t = g_new0 (Target, 1);
      t->table = table;
      t->shape = shape;
      t->inserts = g_ptr_array_new_with_free_func (finalize_stmt);
      g_ptr_array_set_size (t->inserts, shape->n_columns + 1);
      t->candidate = candidates != NULL && g_ptr_array_find (candidates, table, NULL);
      if (sqlite3_prepare_v2 (out, exists, -1, &t->exists, NULL) != SQLITE_OK)
        {
          target_free (t);
          continue;
        }
      g_ptr_array_add (targets, t);
    }

  /* The b-trees whose root is known: their rows are their table's. */
  if (roots != NULL)
    {
      GHashTableIter iter;
      gpointer name, root;

      g_hash_table_iter_init (&iter, roots);
      while (p.error == NULL && g_hash_table_iter_next (&iter, &name, &root))
        {
          g_autoptr(GArray) leaves = g_array_new (FALSE, FALSE, sizeof (guint32));
          Target *target = NULL;

          for (guint k = 0; k < targets->len; k++)
            if (g_str_equal (((Target *) g_ptr_array_index (targets, k))->table->name, name))
              target = g_ptr_array_index (targets, k);
          mw_pages_walk (pages, GPOINTER_TO_UINT (root), leaves);
          if (target != NULL)
            {
              gboolean was = target->candidate;

              /* A row its own b-tree holds is its table's, or nobody's. */
              target->candidate = FALSE;
              insert_leaves (&p, leaves, target, cancellable);
              target->candidate = was;
            }
        }
    }

  /* Then what nothing reaches, group by group. */
  groups = mw_pages_unreached_groups (pages);
  for (guint i = 0; i < groups->len && p.error == NULL; i++)
    {
      MwLeafGroup *group = g_ptr_array_index (groups, i);
      Pending *one = pending_new (&p, group);

      if (one->fits->len == 1)
        insert_leaves (&p, group->leaves, g_ptr_array_index (one->fits, 0), cancellable);
      else if (one->fits->len == 0)
        insert_leaves (&p, group->leaves, NULL, cancellable);
      else
        {
          g_ptr_array_add (pending, one);
          continue;
        }
      pending_free (one);
    }

  /* Groups several tables could hold: in rounds, foreign keys and indexes first. */
  if (pending->len > 0)
    count_index_entries (&p, pending);
  while (pending->len > 0 && p.error == NULL)
    {
      gboolean progress = FALSE;

      for (guint i = 0; i < pending->len && p.error == NULL; )
        {
          Pending *one = g_ptr_array_index (pending, i);
          gboolean evidence;
          Target *winner = decide (&p, one, &evidence);

          if (winner != NULL && evidence)
            {
              insert_leaves (&p, one->group->leaves, winner, cancellable);
              g_ptr_array_remove_index (pending, i);
              progress = TRUE;
            }
          else
            i++;
        }
      if (progress)
        continue;
      /* Nothing more tells: each group one table fits best goes there; their rows may
       * then tell the groups left in the next round. */
      for (guint i = 0; i < pending->len && p.error == NULL; )
        {
          Pending *one = g_ptr_array_index (pending, i);
          gboolean evidence;
          Target *winner = decide (&p, one, &evidence);

          if (winner != NULL)
            {
              insert_leaves (&p, one->group->leaves, winner, cancellable);
              g_ptr_array_remove_index (pending, i);
              progress = TRUE;
            }
          else
            i++;
        }
      if (!progress)
        break;
    }
  for (guint i = 0; i < pending->len && p.error == NULL; i++)
    lose_leaves (&p, ((Pending *) g_ptr_array_index (pending, i))->group->leaves);

  if (p.error == NULL)
    write_lost_and_found (&p);
  if (p.error != NULL)
    {
      g_propagate_error (error, p.error);
      return FALSE;
    }
  return TRUE;
}
