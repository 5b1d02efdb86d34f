/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A log file is moved aside to "<path>.1" (replacing the previous one) before a write
 * would take it past this size: at most twice this much on disk. */
#define MW_LOG_FILE_MAX_SIZE (1024 * 1024)

/* The operation log: every step the wizard took and every message the engine
 * logged, with the time; shown in the technician view, saved in support bundles
 * and, once a file is set, kept on disk across runs. */
void   mw_log_install   (void);
void   mw_log_set_file  (const char *path);
void   mw_log_add       (const char *format,
                         ...) G_GNUC_PRINTF (1, 2);
char  *mw_log_dup_text  (void);
char  *mw_log_dup_file_text (const char *path);

G_END_DECLS
