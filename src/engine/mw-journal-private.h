/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The operation journal, `<db>.mw-operation`: how far a crash-safe operation got.
 * Implemented in mw-journal.c, with the recovery that reads it. */
typedef struct
{
  char *operation;   /* "restore", "fresh", "repair" or "failed-restore" */
  char *step;
  char *tmp;         /* the new database, under its temporary name */
  char *aside;       /* where the old set goes */
  char *started;
} MwJournal;

void      mw_journal_init    (MwJournal    *j,
                              const char   *operation,
                              const char   *database_path);
void      mw_journal_clear   (MwJournal    *j);
gboolean  mw_journal_check_names (const MwJournal *j,
                              GError      **error);
gboolean  mw_journal_write   (const char   *database_path,
                              MwJournal    *j,
                              const char   *step,
                              GError      **error);
gboolean  mw_journal_remove  (const char   *database_path,
                              GError      **error);
gboolean  mw_journal_finish  (const char   *database_path,
                              MwJournal    *j,
                              GError      **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MwJournal, mw_journal_clear)

G_END_DECLS
