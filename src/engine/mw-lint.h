/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mw-migration-set.h"

G_BEGIN_DECLS

typedef enum
{
  MW_LINT_WARNING,   /* worth a look: data may be lost, a snapshot is stale */
  MW_LINT_ERROR,     /* shops will meet a failure, a skipped update or lost rows */
} MwLintSeverity;

/* One finding: where (file and line), what, and why it matters to a shop. */
typedef struct
{
  MwLintSeverity  severity;
  char           *code;      /* stable: "when-older", "piece-statements", … */
  char           *file;      /* (nullable) relative to the migrations folder */
  guint           line;      /* 0: the whole file */
  char           *message;
} MwLintFinding;

typedef struct
{
  char      *folder;
  char      *since;          /* (nullable) the previous release's folder */
  GPtrArray *findings;       /* (element-type MwLintFinding) */
  guint      n_errors;
  guint      n_warnings;
  char      *offer;          /* (nullable) --since: what shops on the previous release get */
} MwLintReport;

MwLintReport *mw_lint                 (const char     *folder,
                                       const char     *since,
                                       GError        **error);
void          mw_lint_report_free     (MwLintReport   *report);
char         *mw_lint_report_to_text  (MwLintReport   *report);
void          mw_lint_report_to_json  (MwLintReport   *report,
                                       JsonBuilder    *builder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwLintReport, mw_lint_report_free)

G_END_DECLS
