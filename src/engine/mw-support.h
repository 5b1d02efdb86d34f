/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "mw-diagnosis.h"
#include "mw-settings.h"

G_BEGIN_DECLS

/* What a technician asks first about a database file; read without writing. */
typedef struct
{
  char    *path;
  goffset  size;
  goffset  wal_size;
  gint64   page_size;
  gint64   page_count;
  gint64   freelist_count;
  char    *journal_mode;
  char    *encoding;
  char    *error;          /* (nullable) why the rest could not be read */
} MwDatabaseFacts;

MwDatabaseFacts *mw_database_facts_read         (const char             *database_path);
void             mw_database_facts_free         (MwDatabaseFacts        *facts);
void             mw_database_facts_read_async   (const char             *database_path,
                                                 GCancellable           *cancellable,
                                                 GAsyncReadyCallback     callback,
                                                 gpointer                user_data);
MwDatabaseFacts *mw_database_facts_read_finish  (GAsyncResult           *result,
                                                 GError                **error);

char            *mw_support_redact              (const char             *text);
char            *mw_support_redact_for          (const char             *text,
                                                 const char             *home_dir,
                                                 const char             *user_name);
char            *mw_support_diagnostics_text    (MwDiagnosis            *diagnosis,
                                                 const MwSettings       *settings,
                                                 MwDatabaseFacts        *facts);
gboolean         mw_support_write_bundle        (const char             *path,
                                                 MwDiagnosis            *diagnosis,
                                                 const MwSettings       *settings,
                                                 MwDatabaseFacts        *facts,
                                                 const char             *log,
                                                 GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwDatabaseFacts, mw_database_facts_free)

G_END_DECLS
