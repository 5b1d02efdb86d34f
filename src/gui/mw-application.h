/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "mw-retention.h"

G_BEGIN_DECLS

/* What the wizard was asked to work on, resolved from the command line and the
 * configuration file (command line first), exactly as the headless front does. */
typedef struct
{
  char     *database;
  char     *migrations;        /* (nullable): searched */
  char     *config_migrations; /* (nullable): from the configuration file */
  char     *backup_dir;
  char     *then_run;          /* (nullable) */
  guint     busy_timeout_ms;
  gboolean  after_update;
  MwRetention retention;       /* all 0: the defaults */
  guint     keep_old_sets;     /* 0: the default */
} MwWizardOptions;

MwWizardOptions *mw_wizard_options_copy (const MwWizardOptions *options);
void             mw_wizard_options_free (MwWizardOptions       *options);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwWizardOptions, mw_wizard_options_free)

#define MW_TYPE_APPLICATION (mw_application_get_type ())

G_DECLARE_FINAL_TYPE (MwApplication, mw_application, MW, APPLICATION, GtkApplication)

MwApplication         *mw_application_new             (const MwWizardOptions *options);
const MwWizardOptions *mw_application_get_options     (MwApplication         *self);
int                    mw_application_get_exit_status (MwApplication         *self);
void                   mw_application_set_exit_status (MwApplication         *self,
                                                       int                    status);

/* The operation log: every step the wizard took and every message the engine
 * logged, with the time; shown in the technician view and saved in support bundles. */
void                   mw_log_install                 (void);
void                   mw_log_add                     (const char            *format,
                                                       ...) G_GNUC_PRINTF (1, 2);
char                  *mw_log_dup_text                (void);

G_END_DECLS
