/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-shop"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>
#include <sqlite3.h>

#include "mw-shop.h"

/*
 * Shop words: what a number means to the people at the till. Tables become what
 * they hold ("45 sales", "144 sale items"), times are said as a person says them
 * ("14:02 today", "Tue 18:02"), sizes in MB or GB as they are, and what a choice
 * costs is counted from the databases themselves (the sales a restore would lose).
 * The window and the command line print these; the counts are never guesses.
 */

#define MIB (1024.0 * 1024.0)
#define GIB (1024.0 * 1024.0 * 1024.0)

static gint64
count_query (const char *database_path,
             const char *attach,
             const char *sql,
             gint64      since_seconds)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 count = -1;

  if (sqlite3_open_v2 (database_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    goto out;
  sqlite3_busy_timeout (db, 2000);
  if (attach != NULL)
    {
      if (sqlite3_prepare_v2 (db, "ATTACH DATABASE ?1 AS b", -1, &stmt, NULL) != SQLITE_OK)
        goto out;
      /* A plain path (URIs are off by default): the backup is only read. */
      sqlite3_bind_text (stmt, 1, attach, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        goto out;
      sqlite3_finalize (stmt);
      stmt = NULL;
    }
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    goto out;
  if (sqlite3_bind_parameter_count (stmt) >= 2)
    {
      sqlite3_bind_int64 (stmt, 1, since_seconds);
      sqlite3_bind_int64 (stmt, 2, since_seconds * 1000);
    }
  if (sqlite3_step (stmt) == SQLITE_ROW)
    count = sqlite3_column_int64 (stmt, 0);

out:
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return count;
}

/**
 * mw_shop_count_sales_since:
 * @backup_path: (nullable): the backup a restore would put back
 * @since: when that backup was made
 *
 * Counts the sales (`transactions`) a restore of the backup would lose: those in
 * the database that the backup does not have. When the backup cannot be compared
 * (none given, or unreadable), the sales recorded after @since (the app stores
 * times in milliseconds; older rows may be in seconds). Both databases are only
 * read.
 *
 * Returns: the count, or -1 when the database cannot tell (damaged, no such table)
 */
gint64
mw_shop_count_sales_since (const char *database_path,
                           const char *backup_path,
                           GDateTime  *since)
{
  gint64 count = -1;

  g_return_val_if_fail (database_path != NULL && since != NULL, -1);

  if (backup_path != NULL)
    count = count_query (database_path, backup_path,
                         "SELECT count(*) FROM main.\"transactions\" WHERE \"id\" NOT IN "
                         "(SELECT \"id\" FROM b.\"transactions\")", 0);
  if (count < 0)
    count = count_query (database_path, NULL,
                         "SELECT count(*) FROM \"transactions\" WHERE \"created_at\" > "
                         "CASE WHEN \"created_at\" < 100000000000 THEN ?1 ELSE ?2 END",
                         g_date_time_to_unix (since));
  return count;
}

/**
 * mw_shop_format_time:
 * @now: (nullable): the time to say it from; %NULL for now
 *
 * Returns: (transfer full): @when as a person says it: "14:02 today",
 *   "yesterday 18:02", "Tue 18:02" within the week, else "12 Mar 14:02"
 *   (with the year when it is not this one)
 */
char *
mw_shop_format_time (GDateTime *when,
                     GDateTime *now)
{
  g_autoptr(GDateTime) local = g_date_time_to_local (when);
  g_autoptr(GDateTime) here = now ? g_date_time_to_local (now) : g_date_time_new_now_local ();
  g_autofree char *clock = g_date_time_format (local, "%H:%M");
  int days;

  {
    g_autoptr(GDateTime) a = g_date_time_new_local (g_date_time_get_year (local),
                                                   g_date_time_get_month (local),
                                                   g_date_time_get_day_of_month (local), 0, 0, 0);
    g_autoptr(GDateTime) b = g_date_time_new_local (g_date_time_get_year (here),
                                                   g_date_time_get_month (here),
                                                   g_date_time_get_day_of_month (here), 0, 0, 0);

    days = (int) ((g_date_time_difference (b, a) + G_TIME_SPAN_HOUR * 12) / G_TIME_SPAN_DAY);
  }

  if (days == 0)
    /* TRANSLATORS: a time today, e.g. "14:02 today" */
    return g_strdup_printf (_("%s today"), clock);
  if (days == 1)
    /* TRANSLATORS: a time yesterday, e.g. "yesterday 18:02" */
    return g_strdup_printf (_("yesterday %s"), clock);
  if (days > 1 && days < 7)
    /* TRANSLATORS: g_date_time_format(): weekday and time, e.g. "Tue 18:02" */
    return g_date_time_format (local, _("%a %H:%M"));
  if (g_date_time_get_year (local) == g_date_time_get_year (here))
    /* TRANSLATORS: g_date_time_format(): day, month and time, e.g. "12 Mar 14:02" */
    return g_date_time_format (local, _("%-d %b %H:%M"));
  /* TRANSLATORS: g_date_time_format(): day, month, year and time */
  return g_date_time_format (local, _("%-d %b %Y %H:%M"));
}

/**
 * mw_shop_format_size:
 *
 * Returns: (transfer full): @bytes in MB, or in GB from 1 GB on ("79.1 GB free",
 *   never "81001.7 MB")
 */
char *
mw_shop_format_size (guint64 bytes)
{
  if ((double) bytes >= GIB)
    return g_strdup_printf (_("%.1f GB"), (double) bytes / GIB);
  return g_strdup_printf (_("%.1f MB"), (double) bytes / MIB);
}

/**
 * mw_shop_table_noun:
 *
 * Returns: (transfer full): @n rows of @table in shop words ("45 sales",
 *   "1 payment"); a table without a shop word is named ("3 rows of audit_logs")
 */
char *
mw_shop_table_noun (const char *table,
                    gint64      n)
{
  const unsigned long c = (unsigned long) MAX (n, 0);
  const long v = (long) c;

  if (g_str_equal (table, "transactions"))
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%ld sale", "%ld sales", c), v);
  if (g_str_equal (table, "transaction_items"))
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%ld sale item", "%ld sale items", c), v);
  if (g_str_equal (table, "payments"))
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%ld payment", "%ld payments", c), v);
  if (g_str_equal (table, "refunds"))
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%ld refund", "%ld refunds", c), v);
  if (g_str_equal (table, "products"))
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%ld product", "%ld products", c), v);
  if (g_str_equal (table, "product_batches"))
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%ld stock batch", "%ld stock batches", c), v);
  if (g_str_equal (table, "stock_movements"))
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%ld stock movement", "%ld stock movements", c), v);
  if (g_str_equal (table, "users"))
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%ld staff member", "%ld staff members", c), v);
  if (g_str_equal (table, "shifts"))
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%ld shift", "%ld shifts", c), v);
  if (g_str_equal (table, "customers"))
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%ld customer", "%ld customers", c), v);
  /* TRANSLATORS: rows of a table without a shop word, e.g. "3 rows of audit_logs" */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%ld row of %s", "%ld rows of %s", c),
                          v, table);
}

static void
append_list (GString    *out,
             GPtrArray  *items)
{
  for (guint i = 0; i < items->len; i++)
    {
      if (i > 0)
        g_string_append (out, i + 1 == items->len ? _(" and ") : ", ");
      g_string_append (out, g_ptr_array_index (items, i));
    }
}

/* The parent table named in an orphan line "child → parent: N". */
static char *
orphan_parent (const char *line,
               const char *child)
{
  g_autofree char *prefix = g_strconcat (child, " → ", NULL);
  const char *colon;

  if (!g_str_has_prefix (line, prefix))
    return NULL;
  colon = strrchr (line, ':');
  return colon ? g_strndup (line + strlen (prefix), colon - line - strlen (prefix)) : NULL;
}

/**
 * mw_shop_describe_repair:
 *
 * What a repair means for the shop, e.g. "45 sales could not be recovered; 144
 * sale items and 47 payments now have no sale." — from the report's per-table
 * counts, biggest losses first.
 *
 * Returns: (transfer full): one or two sentences
 */
char *
mw_shop_describe_repair (MwRepairReport *report)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GPtrArray) lost = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) orphans = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *parent = NULL;

  g_return_val_if_fail (report != NULL, NULL);

  for (guint i = 0; i < report->tables->len; i++)
    {
      MwRepairTable *t = g_ptr_array_index (report->tables, i);

      if (g_str_has_prefix (t->name, "__") || g_str_has_prefix (t->name, "sqlite_"))
        continue;
      if (t->lost > 0)
        g_ptr_array_add (lost, mw_shop_table_noun (t->name, t->lost));
      if (t->orphaned > 0)
        {
          g_ptr_array_add (orphans, mw_shop_table_noun (t->name, t->orphaned));
          for (guint j = 0; parent == NULL && j < report->orphans->len; j++)
            parent = orphan_parent (g_ptr_array_index (report->orphans, j), t->name);
        }
    }

  if (report->lost < 0)
    g_string_append (out, _("Some rows could not be read and are lost; the report below lists "
                            "each table."));
  else if (lost->len == 0)
    g_string_append (out, _("Everything was recovered: nothing is lost."));
  else
    {
      append_list (out, lost);
      g_string_append (out, _(" could not be recovered."));
    }

  if (orphans->len > 0)
    {
      g_autofree char *owner = parent ? mw_shop_table_noun (parent, 1) : NULL;
      /* "1 sale" → "sale": the noun alone, for "now have no sale". */
      const char *noun = owner ? strchr (owner, ' ') : NULL;

      g_string_append_c (out, ' ');
      append_list (out, orphans);
      if (noun != NULL)
        g_string_append_printf (out, _(" now have no %s (they are kept)."), noun + 1);
      else
        g_string_append (out, _(" now point at rows that are lost (they are kept)."));
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static GDateTime *
sale_time (gint64 created_at)
{
  /* The app stores milliseconds; older rows may be in seconds. */
  gint64 seconds = created_at >= 100000000000 ? created_at / 1000 : created_at;

  return g_date_time_new_from_unix_local (seconds);
}

/**
 * mw_shop_describe_lost_sales_in_backup:
 * @repaired_path: the repaired copy
 * @backup: (nullable): a verified backup
 *
 * Which of the sales the repair lost the backup still has, with their dates:
 * "The backup from 14:02 today still has 40 of the lost sales, from 12 Mar to
 * 14 Mar." Both files are only read.
 *
 * Returns: (transfer full) (nullable): the sentence, or %NULL when the backup has
 *   none of them or cannot tell
 */
char *
mw_shop_describe_lost_sales_in_backup (const char *repaired_path,
                                       MwBackup   *backup)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 count = 0, first = 0, last = 0;
  char *text = NULL;

  g_return_val_if_fail (repaired_path != NULL, NULL);

  if (backup == NULL || !backup->verified)
    return NULL;
  if (sqlite3_open_v2 (backup->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    goto out;
  if (sqlite3_prepare_v2 (db, "ATTACH DATABASE ?1 AS r", -1, &stmt, NULL) != SQLITE_OK)
    goto out;
  sqlite3_bind_text (stmt, 1, repaired_path, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    goto out;
  sqlite3_finalize (stmt);
  stmt = NULL;
  if (sqlite3_prepare_v2 (db, "SELECT count(*), min(\"created_at\"), max(\"created_at\") FROM "
                              "main.\"transactions\" WHERE \"id\" NOT IN (SELECT \"id\" FROM "
                              "r.\"transactions\")", -1, &stmt, NULL) != SQLITE_OK ||
      sqlite3_step (stmt) != SQLITE_ROW)
    goto out;
  count = sqlite3_column_int64 (stmt, 0);
  first = sqlite3_column_int64 (stmt, 1);
  last = sqlite3_column_int64 (stmt, 2);
  if (count > 0)
    {
      g_autoptr(GDateTime) from = sale_time (first);
      g_autoptr(GDateTime) to = sale_time (last);
      g_autofree char *when = mw_shop_format_time (backup->created, NULL);
      /* TRANSLATORS: g_date_time_format(): a day, e.g. "12 Mar" */
      g_autofree char *day_from = g_date_time_format (from, _("%-d %b"));
      g_autofree char *day_to = g_date_time_format (to, _("%-d %b"));

      if (g_strcmp0 (day_from, day_to) == 0)
        text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "The backup from %s still has %ld of the lost "
                                             "sales, from %s.",
                                             "The backup from %s still has %ld of the lost "
                                             "sales, from %s.", (unsigned long) count),
                                when, (long) count, day_from);
      else
        text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "The backup from %s still has %ld of the lost "
                                             "sales, from %s to %s.",
                                             "The backup from %s still has %ld of the lost "
                                             "sales, from %s to %s.", (unsigned long) count),
                                when, (long) count, day_from, day_to);
    }

out:
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return text;
}
