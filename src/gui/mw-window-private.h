/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "mw-check-list.h"
#include "mw-problem-page.h"
#include "mw-window.h"

G_BEGIN_DECLS

/* What the window's worker is doing; at most one thing at a time. */
typedef enum
{
  MW_WORK_NONE,
  MW_WORK_CHECK,
  MW_WORK_MIGRATE,
  MW_WORK_RESTORE,
  MW_WORK_FRESH,
  MW_WORK_REPAIR,
  MW_WORK_REPAIR_SWAP,
  MW_WORK_ADOPT,
} MwWork;

/* Which destructive choice a confirmation page is asking about. */
typedef enum
{
  MW_CONFIRM_NONE,
  MW_CONFIRM_RESTORE,
  MW_CONFIRM_FRESH,
  MW_CONFIRM_REPAIR,
} MwConfirm;

struct _MwWindow
{
  GtkApplicationWindow  parent_instance;

  /* Template widgets */
  GtkStack             *stack;
  GtkLabel             *notice_label;
  GtkButton            *details_button;
  GtkLabel             *checking_title;
  GtkLabel             *checking_text;
  MwCheckList          *checks_list;
  GtkLabel             *ready_title;
  GtkLabel             *ready_text;
  MwCheckList          *ready_checks;
  GtkButton            *update_button;
  GtkLabel             *work_title;
  GtkLabel             *work_step;
  GtkLabel             *work_phase;
  GtkLabel             *work_time;
  GtkLabel             *work_after_update;
  GtkProgressBar       *work_bar;
  GtkLabel             *work_note;
  GtkButton            *work_cancel;
  GtkLabel             *done_title;
  GtkLabel             *done_text;
  GtkButton            *done_check_again;
  GtkButton            *done_close;
  MwProblemPage        *problem_page;

  /* Owned */
  MwSettings           *settings;
  MwMigrationSet       *set;
  MwDiagnosis          *diagnosis;
  MwRemedy             *remedy;             /* what the shown problem offers */
  MwInstanceLock       *lock;
  GCancellable         *cancellable;
  MwProgress           *progress;           /* every operation reports here; the page binds */
  MwMigrator           *migrator;
  MwBackup             *offered_backup;     /* what Restore from Backup would restore */
  MwRepairReport       *repair;             /* the last repair's report */
  MwAdoptOptions       *adopt_options;      /* maps and values for a running adoption */
  char                 *return_problem;     /* the problem a confirmation came from */
  char                 *recovered;          /* what the start-up recovery reported */
  char                 *outcome_title;      /* what the last restore, fresh start or repair */
  char                 *outcome;            /*   did, until a page has said it */
  GtkWindow            *technician;         /* (weak) */
  gint64                work_started;       /* monotonic µs, for elapsed and estimate */
  gint64                step_started;
  guint                 clock_id;

  /* Flags */
  MwWork                work;
  MwConfirm             confirm;
  int                   exit_status;        /* as the application's */
  guint                 close_when_idle : 1;
  guint                 asked : 1;          /* a person was shown a choice */
  guint                 then_started : 1;   /* --then-run was started */
  guint                 recovery_done : 1;  /* an interrupted operation was looked for */
};

void  _mw_window_class_add_actions   (GtkWidgetClass *widget_class);
void  _mw_window_actions_update      (MwWindow       *self);

void  _mw_window_start_check         (MwWindow       *self);
gboolean _mw_window_begin_work       (MwWindow       *self,
                                      MwWork          work,
                                      const char     *title);
void  _mw_window_show_remedy         (MwWindow       *self,
                                      MwRemedy       *remedy);
void  _mw_window_show_choices        (MwWindow       *self);
void  _mw_window_show_confirmation   (MwWindow       *self,
                                      MwConfirm       kind,
                                      const char     *title,
                                      const char     *text,
                                      const char     *do_label);
void  _mw_window_show_no_backup      (MwWindow       *self,
                                      MwBackup       *backup);
void  _mw_window_set_exit_status     (MwWindow       *self,
                                      int             status);

void  _mw_window_migrate_cb          (GObject        *object,
                                      GAsyncResult   *result,
                                      gpointer        user_data);
void  _mw_window_operation_cb        (GObject        *object,
                                      GAsyncResult   *result,
                                      gpointer        user_data);
void  _mw_window_adopt_cb           (GObject        *object,
                                      GAsyncResult   *result,
                                      gpointer        user_data);
void  _mw_window_repair_cb           (GObject        *object,
                                      GAsyncResult   *result,
                                      gpointer        user_data);

G_END_DECLS
