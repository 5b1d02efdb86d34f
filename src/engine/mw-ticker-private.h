/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

#include "mw-progress.h"

G_BEGIN_DECLS

/* SQLite's progress handler as a progress bar for work SQLite does in one call (a
 * check, a statement). Implemented in mw-ticker.c. */

/* How often SQLite calls the handler, in virtual-machine steps. */
#define MW_TICKER_OPS 1000

/* Handler calls per unit of work, measured on the 1 GB demo shop (SQLite 3.40);
 * estimates only: the bar slows down rather than stop or jump when a file differs.
 *   quick_check: per page of the file, after a walk of every b-tree that calls no
 *     handler at all (about half its time: MW_QUICK_CHECK_WALK_*);
 *   integrity_check: the same walk, then per page;
 *   foreign_key_check: per page of the file;
 *   integrity_check(table): per row and per b-tree (the table and each index);
 *   foreign_key_check(table): per row and per foreign key. */
#define MW_TICKS_PER_PAGE_QUICK         0.29
#define MW_TICKS_PER_PAGE_INTEGRITY     0.43
#define MW_TICKS_PER_PAGE_FK            0.17
#define MW_QUICK_CHECK_WALK_SHARE       0.5
#define MW_INTEGRITY_CHECK_WALK_SHARE   0.1
#define MW_CHECK_WALK_US_PER_PAGE       3.0
#define MW_TICKS_PER_ROW_AND_TREE       0.0095
#define MW_TICKS_PER_ROW_AND_KEY        0.0045

/* Another task running beside the check (a hash): its fraction done, 0…1. The bar
 * shows the slower of the two. Called with the ticker's lock held: it must not call
 * back into the ticker. */
typedef double (*MwTickerLimitFunc) (gpointer user_data);

typedef struct _MwTicker MwTicker;

MwTicker *mw_ticker_new          (MwProgress        *progress,
                                  GCancellable      *cancellable);
void      mw_ticker_free         (MwTicker          *ticker);
void      mw_ticker_restart      (MwTicker          *ticker,
                                  const char        *message);
void      mw_ticker_follow       (MwTicker          *ticker,
                                  const char        *message,
                                  MwTickerLimitFunc  limit,
                                  gpointer           user_data);
void      mw_ticker_phase        (MwTicker          *ticker,
                                  const char        *message,
                                  double             start,
                                  double             end,
                                  double             expected_ticks);
void      mw_ticker_set_message  (MwTicker          *ticker,
                                  const char        *message);
void      mw_ticker_set_walk     (MwTicker          *ticker,
                                  double             share,
                                  double             seconds);
void      mw_ticker_expect_file_check (MwTicker     *ticker,
                                       sqlite3      *db,
                                       gboolean      full);
void      mw_ticker_set_limit    (MwTicker          *ticker,
                                  MwTickerLimitFunc  limit,
                                  gpointer           user_data);
void      mw_ticker_show         (MwTicker          *ticker,
                                  double             fraction);
void      mw_ticker_install      (MwTicker          *ticker,
                                  sqlite3           *db);
int       mw_ticker_cb           (void              *ticker);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwTicker, mw_ticker_free)

G_END_DECLS
