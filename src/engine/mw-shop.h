/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "mw-backup.h"
#include "mw-repair.h"

G_BEGIN_DECLS

gint64  mw_shop_count_sales_since   (const char      *database_path,
                                     const char      *backup_path,
                                     GDateTime       *since);
char   *mw_shop_format_time         (GDateTime       *when,
                                     GDateTime       *now);
char   *mw_shop_format_size         (guint64          bytes);
char   *mw_shop_describe_repair     (MwRepairReport  *report);
char   *mw_shop_describe_lost_sales_in_backup (const char *repaired_path,
                                              MwBackup   *backup);
char   *mw_shop_table_noun          (const char      *table,
                                     gint64           n);

G_END_DECLS
