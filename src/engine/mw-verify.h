/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mw-progress.h"

G_BEGIN_DECLS

/* What a check found. A damaged database is an MW_ENGINE_ERROR_CORRUPT error, not
 * a report; rows pointing at missing rows are reported here (the shop may have had
 * them for years; they are not damage to the file). */
typedef struct
{
  gboolean  deep;               /* integrity_check + foreign_key_check, else quick_check */
  guint64   fk_violations;      /* deep only */
  char     *fk_summary;         /* (nullable) "child → parent: N rows", one per line */
  char     *summary;            /* a sentence for a person */
} MwVerifyReport;

void            mw_verify_report_free (MwVerifyReport       *report);

MwVerifyReport *mw_verify             (const char           *database_path,
                                       gboolean              deep,
                                       MwProgress           *progress,
                                       GCancellable         *cancellable,
                                       GError              **error);
void            mw_verify_async       (const char           *database_path,
                                       gboolean              deep,
                                       MwProgress           *progress,
                                       GCancellable         *cancellable,
                                       GAsyncReadyCallback   callback,
                                       gpointer              user_data);
MwVerifyReport *mw_verify_finish      (GAsyncResult         *result,
                                       GError              **error);

void            mw_verify_result_to_json (MwVerifyReport   *report,
                                          const GError     *error,
                                          gboolean          deep,
                                          JsonBuilder      *builder);
char           *mw_verify_result_to_text (MwVerifyReport   *report,
                                          const GError     *error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwVerifyReport, mw_verify_report_free)

G_END_DECLS
