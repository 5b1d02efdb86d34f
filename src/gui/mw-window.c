/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-gui"

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "mw-accessibility.h"
#include "mw-technician-window.h"
#include "mw-window-private.h"

/*
 * The wizard: one window whose pages follow the engine's work.
 *
 *   checking → ready (updates to apply) | done (up to date) | problem
 *   ready → working (updating) → done | problem (failed, cancelled)
 *   problem → confirmation (a "problem" page too) → working (restore, fresh
 *   start, repair) → done | problem
 *
 * The engine decides what a diagnosis or a failure means (MwRemedy: the page, the
 * words, the choices, the recommended one, the exit status); this file only shows
 * it. Every engine call runs in a GTask worker and reports on the window's one
 * MwProgress, to which the working page is bound. Every choice is a widget action
 * ("wizard.*", mw-window-actions.c), enabled or disabled in one place, so buttons,
 * the keyboard and the tests all take the same path. A destructive choice always
 * goes through a confirmation page that says what is kept and where; nothing is
 * chosen without a person, in after-update mode too.
 */

G_DEFINE_FINAL_TYPE (MwWindow, mw_window, GTK_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_PAGE,
  PROP_PROBLEM,
  PROP_BUSY,
  PROP_DIAGNOSIS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

void
_mw_window_set_exit_status (MwWindow *self,
                            int       status)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  self->exit_status = status;
  if (app != NULL)
    mw_application_set_exit_status (MW_APPLICATION (app), status);
}

static void
set_work (MwWindow *self,
          MwWork    work)
{
  gboolean was_busy = self->work != MW_WORK_NONE;

  self->work = work;
  /* The instance lock is held only while working: an idle window (waiting for a
   * person, perhaps for hours) does not keep a technician's terminal out. */
  if (work == MW_WORK_NONE)
    {
      g_clear_pointer (&self->lock, mw_instance_lock_release);
      g_clear_handle_id (&self->clock_id, g_source_remove);
    }
  if (was_busy != (work != MW_WORK_NONE))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  _mw_window_actions_update (self);
}

static void
set_diagnosis (MwWindow    *self,
               MwDiagnosis *diagnosis)
{
  if (self->diagnosis == diagnosis)
    return;
  g_clear_pointer (&self->diagnosis, mw_diagnosis_unref);
  self->diagnosis = diagnosis ? mw_diagnosis_ref (diagnosis) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DIAGNOSIS]);
}

static void
show_page (MwWindow   *self,
           const char *name,
           GtkWidget  *default_widget)
{
  gtk_stack_set_visible_child_name (self->stack, name);
  mw_accessibility_name_buttons (gtk_stack_get_visible_child (self->stack));
  mw_accessibility_update_scroll_focus_under (gtk_stack_get_visible_child (self->stack));
  gtk_window_set_default_widget (GTK_WINDOW (self), default_widget);
  if (default_widget != NULL)
    gtk_widget_grab_focus (default_widget);
  /* A selectable label that takes the focus selects all its text: not wanted. */
  gtk_label_select_region (self->done_text, 0, 0);
  gtk_label_select_region (self->checking_text, 0, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAGE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROBLEM]);
  _mw_window_actions_update (self);
}

static void
present (MwWindow *self)
{
  if (!gtk_widget_get_visible (GTK_WIDGET (self)))
    gtk_window_present (GTK_WINDOW (self));
}

/* Says what the last restore, fresh start or repair did above every page, until
 * the window closes: the check after it may lead anywhere. */
static void
update_notice (MwWindow *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  if (self->recovered != NULL)
    g_string_append (text, self->recovered);
  if (self->outcome != NULL)
    g_string_append_printf (text, "%s%s. %s", text->len ? "\n" : "", self->outcome_title,
                            self->outcome);
  gtk_label_set_text (self->notice_label, text->str);
  gtk_widget_set_visible (GTK_WIDGET (self->notice_label), text->len > 0);
}

/* In after-update mode the POS starts once the database is ready, whichever way the
 * wizard ends: by itself, or by a person closing it after a restore or a repair. */
static void
start_then (MwWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (!self->settings->after_update || self->then_started || self->exit_status != MW_EXIT_OK)
    return;
  self->then_started = TRUE;
  mw_log_add ("Starting the POS: %s", self->settings->then_run ? self->settings->then_run : "-");
  if (!mw_settings_run_then (self->settings, &error))
    g_warning ("%s", error->message);
}

/* The database is ready. After an update that needed nobody, the window goes and
 * the POS starts; otherwise the Done page says what happened (and, after an update,
 * that closing starts the POS). */
static void
finish_ready (MwWindow   *self,
              const char *title,
              const char *text)
{
  g_autofree char *full_title = NULL;
  g_autofree char *full_text = NULL;

  _mw_window_set_exit_status (self, MW_EXIT_OK);
  if (self->settings->after_update && !self->asked)
    {
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  full_title = g_strdup (self->outcome_title ? self->outcome_title : title);
  full_text = g_strdup_printf ("%s%s%s%s%s", self->outcome ? self->outcome : "",
                               self->outcome ? "\n\n" : "", text,
                               self->settings->after_update ? "\n\n" : "",
                               self->settings->after_update
                               ? _("The POS starts when you close this window.") : "");
  /* Said here now: not above the next pages too. */
  g_clear_pointer (&self->outcome_title, g_free);
  g_clear_pointer (&self->outcome, g_free);
  update_notice (self);
  gtk_label_set_text (self->done_title, full_title);
  gtk_label_set_text (self->done_text, full_text);
  gtk_window_set_title (GTK_WINDOW (self), full_title);
  present (self);
  show_page (self, "done", GTK_WIDGET (self->done_close));
}

/* Shows the problem page with @choices' words; the buttons follow. */
static void
begin_problem (MwWindow   *self,
               const char *id,
               const char *icon,
               const char *title,
               const char *text,
               const char *detail)
{
  mw_problem_page_show (self->problem_page, id, icon, title, text, detail);
  gtk_window_set_title (GTK_WINDOW (self), title);
  mw_log_add ("Shown: %s", title);
}

static void
end_problem (MwWindow  *self,
             GtkWidget *default_button)
{
  self->asked = TRUE;
  present (self);
  show_page (self, "problem", default_button);
}

static const char *
icon_for (const char *id)
{
  static const struct { const char *id; const char *icon; } icons[] = {
    { "no-space",         "drive-harddisk-symbolic" },
    { "locked",           "system-lock-screen-symbolic" },
    { "already-running",  "system-lock-screen-symbolic" },
    { "newer",            "software-update-available-symbolic" },
    { "unreadable",       "dialog-error-symbolic" },
    { "installation",     "dialog-error-symbolic" },
    { "backup-failed",    "dialog-error-symbolic" },
    { "backup-folder",    "dialog-error-symbolic" },
    { "operation-failed", "dialog-error-symbolic" },
    { "repair-failed",    "dialog-error-symbolic" },
    { "cancelled",        "dialog-information-symbolic" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (icons); i++)
    if (g_str_equal (icons[i].id, id))
      return icons[i].icon;
  return "dialog-warning-symbolic";
}

/* The window's words for an action: a button label and the action it drives. */
static char *
label_for (MwRemedy *remedy,
           MwAction  action)
{
  switch (action)
    {
    case MW_ACTION_MIGRATE:      return g_strdup (_("_Update Now"));
    case MW_ACTION_RESTORE:
      if (remedy->backup != NULL)
        {
          g_autofree char *when = mw_shop_format_time (remedy->backup->created, NULL);

          /* TRANSLATORS: e.g. "Restore the Backup from 14:02 today" */
          return g_strdup_printf (_("Restore the _Backup from %s"), when);
        }
      return g_strdup (_("Restore from _Backup"));
    case MW_ACTION_FRESH:        return g_strdup (_("Backup & Start _Fresh"));
    case MW_ACTION_REPAIR:       return g_strdup (_("Try _Repair"));
    case MW_ACTION_USE_REPAIRED: return g_strdup (_("_Use the Repaired Database"));
    case MW_ACTION_RETRY:
      /* After an outcome the database may have changed: check it again. */
      return g_strdup (g_str_equal (remedy->id, "operation-failed") ||
                       g_str_equal (remedy->id, "repair-failed") ? _("Check _Again")
                                                                 : _("_Try Again"));
    case MW_ACTION_CANCEL:       return g_strdup (_("_Cancel"));
    case MW_ACTION_QUIT:         return g_strdup (_("_Quit"));
    case MW_ACTION_CLOSE:        return g_strdup (_("_Close"));
    case MW_ACTION_ADOPT:        return g_strdup (_("Update and _Keep My Data"));
    default:                     g_assert_not_reached ();
    }
}

/* The engine's recommendation and its one line of why, then what each choice
 * costs, in the words of the buttons. */
static char *
advice_for (MwRemedy *remedy)
{
  GString *advice = g_string_new (NULL);

  for (guint i = 0; i < remedy->choices->len; i++)
    {
      const MwChoice *c = &g_array_index (remedy->choices, MwChoice, i);
      g_autofree char *label = label_for (remedy, c->action);
      g_autofree char *name = mw_accessibility_strip_mnemonic (label);

      if (c->action == remedy->recommended && remedy->reason != NULL && remedy->choices->len > 1)
        {
          /* TRANSLATORS: "Recommended: Try Repair — it keeps the most of your data, …" */
          g_autofree char *line = g_strdup_printf (_("Recommended: %s — %s"), name,
                                                   remedy->reason);

          g_string_prepend (advice, line);
          if (advice->len > strlen (line))
            g_string_insert (advice, strlen (line), "\n");
        }
      if (c->cost != NULL && c->available)
        g_string_append_printf (advice, "%s• %s: %s", advice->len ? "\n" : "", name, c->cost);
    }
  return g_string_free (advice, FALSE);
}

static const char *
action_name_for (MwAction action)
{
  switch (action)
    {
    case MW_ACTION_MIGRATE:      return "wizard.update";
    case MW_ACTION_RESTORE:      return "wizard.restore";
    case MW_ACTION_FRESH:        return "wizard.fresh";
    case MW_ACTION_REPAIR:       return "wizard.repair";
    case MW_ACTION_USE_REPAIRED: return "wizard.use-repaired";
    case MW_ACTION_RETRY:        return "wizard.retry";
    case MW_ACTION_CLOSE:        return "wizard.close";
    case MW_ACTION_ADOPT:        return "wizard.adopt";
    case MW_ACTION_CANCEL:
    case MW_ACTION_QUIT:
    default:                     return "wizard.cancel";
    }
}

/**
 * _mw_window_show_remedy:
 *
 * Shows a problem the engine's remedy describes: its words, its choices in its
 * order, its recommended choice as the default (Enter).
 */
void
_mw_window_show_remedy (MwWindow *self,
                        MwRemedy *remedy)
{
  GtkWidget *default_button = NULL;

  if (self->remedy != remedy)
    {
      g_clear_pointer (&self->remedy, mw_remedy_unref);
      self->remedy = mw_remedy_ref (remedy);
    }
  g_clear_pointer (&self->offered_backup, mw_backup_unref);
  if (remedy->backup != NULL)
    self->offered_backup = mw_backup_ref (remedy->backup);
  _mw_window_set_exit_status (self, remedy->exit_code);

  {
    /* For a technician at a terminal: each choice's command line, in the details. */
    g_autoptr(GString) detail = g_string_new (remedy->detail);

    for (guint i = 0; i < remedy->choices->len; i++)
      {
        const MwChoice *c = &g_array_index (remedy->choices, MwChoice, i);
        g_autofree char *command = c->available
                                   ? mw_action_command_line (c->action, self->settings,
                                                             remedy->backup)
                                   : NULL;
        g_autofree char *label = label_for (remedy, c->action);
        g_autofree char *name = mw_accessibility_strip_mnemonic (label);

        if (command == NULL)
          continue;
        if (detail->len > 0 && detail->str[detail->len - 1] != '\n')
          g_string_append_c (detail, '\n');
        /* TRANSLATORS: "Try Repair from a terminal: migration-wizard repair --database …" */
        g_string_append_printf (detail, _("%s from a terminal: %s\n"), name, command);
      }
    begin_problem (self, remedy->id, icon_for (remedy->id), remedy->title, remedy->message,
                   detail->len ? detail->str : NULL);
  }
  for (guint i = 0; i < remedy->choices->len; i++)
    {
      const MwChoice *c = &g_array_index (remedy->choices, MwChoice, i);
      gboolean is_default = c->action == remedy->recommended;
      g_autofree char *label = label_for (remedy, c->action);
      GtkWidget *button;

      button = mw_problem_page_add_button (self->problem_page, label,
                                           action_name_for (c->action), NULL,
                                           is_default ? MW_BUTTON_SUGGESTED : MW_BUTTON_PLAIN,
                                           c->available ? NULL : c->why_not);
      if (is_default)
        default_button = button;
    }
  {
    g_autofree char *advice = advice_for (remedy);

    mw_problem_page_set_advice (self->problem_page, advice);
  }
  end_problem (self, default_button);
}

/**
 * _mw_window_show_confirmation:
 *
 * A destructive choice asks first, saying what is kept and where. Cancel (the
 * default) goes back to the problem it came from.
 */
void
_mw_window_show_confirmation (MwWindow   *self,
                              MwConfirm   kind,
                              const char *title,
                              const char *text,
                              const char *do_label)
{
  GtkWidget *cancel;

  g_free (self->return_problem);
  self->return_problem = g_strdup (mw_problem_page_get_id (self->problem_page));
  self->confirm = kind;
  begin_problem (self, kind == MW_CONFIRM_RESTORE ? "confirm-restore" : "confirm-fresh",
                 "dialog-question-symbolic", title, text, NULL);
  cancel = mw_problem_page_add_button (self->problem_page, _("_Cancel"), "wizard.cancel", NULL,
                                       MW_BUTTON_SUGGESTED, NULL);
  mw_problem_page_add_button (self->problem_page, do_label, "wizard.confirm", NULL,
                              MW_BUTTON_DESTRUCTIVE, NULL);
  end_problem (self, cancel);
}

/**
 * _mw_window_show_no_backup:
 * @backup: (nullable): the backup that was asked for, when it is not usable
 */
void
_mw_window_show_no_backup (MwWindow *self,
                           MwBackup *backup)
{
  g_autofree char *why = g_strdup_printf (_("No usable backup was found in %s. Nothing was "
                                            "changed."), self->settings->backup_dir);
  GtkWidget *again;

  begin_problem (self, "no-backup", "dialog-error-symbolic", _("No Usable Backup"), why,
                 backup && backup->problem ? backup->problem : NULL);
  mw_problem_page_add_button (self->problem_page, _("_Close"), "wizard.close", NULL,
                              MW_BUTTON_PLAIN, NULL);
  again = mw_problem_page_add_button (self->problem_page, _("Check _Again"), "wizard.retry",
                                      NULL, MW_BUTTON_SUGGESTED, NULL);
  end_problem (self, again);
}

/* A problem the wizard itself meets before the engine can say anything: only Quit
 * (and Try Again where that can help). */
static void
show_stop (MwWindow   *self,
           const char *id,
           const char *title,
           const char *text,
           int         exit_status,
           gboolean    can_retry)
{
  GtkWidget *quit;
  GtkWidget *again = NULL;

  _mw_window_set_exit_status (self, exit_status);
  begin_problem (self, id, icon_for (id), title, text, NULL);
  quit = mw_problem_page_add_button (self->problem_page, _("_Quit"), "wizard.cancel", NULL,
                                     can_retry ? MW_BUTTON_PLAIN : MW_BUTTON_SUGGESTED, NULL);
  if (can_retry)
    again = mw_problem_page_add_button (self->problem_page, _("_Try Again"), "wizard.retry",
                                        NULL, MW_BUTTON_SUGGESTED, NULL);
  end_problem (self, again ? again : quit);
}

/* Takes the database's instance lock (one wizard working on a database at a time);
 * when another wizard holds it, says so, with Try Again. */
static gboolean
take_lock (MwWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->lock != NULL)
    return TRUE;
  self->lock = mw_instance_lock_acquire (self->settings->database, &error);
  if (self->lock != NULL)
    return TRUE;
  mw_log_add ("Another wizard is working on the database: %s", error->message);
  show_stop (self, "already-running", _("Migration Wizard Is Already Working on This Database"),
             error->message, MW_EXIT_LOCKED, TRUE);
  return FALSE;
}

/* What each state of the database shows: the engine's remedy, rendered. */
static void
route (MwWindow *self)
{
  g_autoptr(MwRemedy) remedy = mw_remedy_for_diagnosis (self->diagnosis, self->settings);
  MwDiagnosis *d = self->diagnosis;

  mw_log_add ("Diagnosis: %s", mw_state_to_string (d->state));
  g_clear_pointer (&self->remedy, mw_remedy_unref);
  self->remedy = mw_remedy_ref (remedy);
  _mw_window_set_exit_status (self, remedy->exit_code);

  if (g_str_equal (remedy->id, "up-to-date"))
    {
      finish_ready (self, remedy->title, remedy->message);
      return;
    }

  if (remedy->automatic && remedy->recommended == MW_ACTION_ADOPT)
    {
      /* After an update: the changed updates still build exactly the recorded tables
       * (a comment, whitespace). Adopted without asking; logged. */
      mw_log_add ("The changed updates build exactly the recorded tables: adopting without "
                  "asking");
      gtk_widget_activate_action (GTK_WIDGET (self), "wizard.adopt", NULL);
      return;
    }

  if (g_str_equal (remedy->id, "ready"))
    {
      if (remedy->automatic)
        {
          gtk_widget_activate_action (GTK_WIDGET (self), "wizard.update", NULL);
          return;
        }
      gtk_label_set_text (self->ready_title, remedy->title);
      gtk_label_set_text (self->ready_text, remedy->message);
      gtk_button_set_label (self->update_button, d->state == MW_STATE_MISSING
                                                 ? _("C_reate Database") : _("_Update Now"));
      mw_check_list_show_diagnosis (self->ready_checks, d, FALSE);
      gtk_window_set_title (GTK_WINDOW (self), remedy->title);
      self->asked = TRUE;
      present (self);
      show_page (self, "ready", GTK_WIDGET (self->update_button));
      return;
    }

  _mw_window_show_remedy (self, remedy);
}

/**
 * _mw_window_show_choices:
 *
 * Back to the choices a confirmation came from: the problem the last remedy
 * showed, or the page the diagnosis leads to.
 */
void
_mw_window_show_choices (MwWindow *self)
{
  if (self->remedy != NULL && !g_str_equal (self->remedy->id, "ready") &&
      !g_str_equal (self->remedy->id, "up-to-date"))
    _mw_window_show_remedy (self, self->remedy);
  else if (self->diagnosis != NULL)
    route (self);
  else
    _mw_window_start_check (self);
}

static void
read_pages_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(MwWindow) self = user_data;

  set_work (self, MW_WORK_NONE);
  if (self->close_when_idle)
    {
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  mw_diagnosis_read_pages_finish (self->diagnosis, result);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DIAGNOSIS]);
  mw_check_list_show_diagnosis (self->checks_list, self->diagnosis, FALSE);
  route (self);
}

static void
diagnose_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(MwWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MwDiagnosis) diagnosis = mw_diagnose_finish (result, &error);

  set_work (self, MW_WORK_NONE);
  if (self->close_when_idle)
    {
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  if (diagnosis == NULL)
    {
      show_stop (self, "check-failed", _("The Database Could Not Be Checked"), error->message,
                 MW_EXIT_INTERNAL, TRUE);
      return;
    }
  set_diagnosis (self, diagnosis);

  /* Opened by a person (the POS will not start, a technician looks): read every
   * page too, so damage inside the tables is found now rather than mid-update.
   * After an update the update's own verified backup reads them. */
  if (!self->settings->after_update && mw_diagnosis_wants_page_read (diagnosis))
    {
      set_work (self, MW_WORK_CHECK);
      mw_check_list_show_diagnosis (self->checks_list, diagnosis, TRUE);
      mw_diagnosis_read_pages_async (diagnosis, NULL, self->cancellable, read_pages_cb,
                                     g_object_ref (self));
      return;
    }

  mw_check_list_show_diagnosis (self->checks_list, diagnosis, FALSE);
  route (self);
}

/**
 * _mw_window_start_check:
 *
 * Reads the app's migrations again (a technician who fixed the installation can
 * just choose Try Again) and diagnoses the database.
 */
void
_mw_window_start_check (MwWindow *self)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_clear_pointer (&self->remedy, mw_remedy_unref);
  self->confirm = MW_CONFIRM_NONE;

  /* Another wizard working on it (a technician's terminal): say so first. Under the
   * lock, an operation a crash interrupted is finished or undone before anything is
   * read. */
  if (!take_lock (self))
    return;
  if (!self->recovery_done)
    {
      g_clear_pointer (&self->recovered, g_free);
      self->recovered = mw_operation_recover (self->settings->database, &error);
      if (error != NULL)
        {
          g_clear_pointer (&self->lock, mw_instance_lock_release);
          show_stop (self, "recovery-failed",
                     _("An Interrupted Operation Could Not Be Finished"), error->message,
                     MW_EXIT_UNREADABLE, FALSE);
          return;
        }
      self->recovery_done = TRUE;
      if (self->recovered != NULL)
        {
          /* Said on every page, not only in the log. */
          mw_log_add ("%s", self->recovered);
          update_notice (self);
        }
    }
  g_clear_pointer (&self->lock, mw_instance_lock_release);

  gtk_window_set_title (GTK_WINDOW (self), _("Migration Wizard"));
  gtk_widget_set_visible (GTK_WIDGET (self->checking_text), FALSE);
  mw_check_list_clear (self->checks_list);
  mw_check_list_add (self->checks_list, MW_CHECK_WAITING, _("Database"),
                     self->settings->database);
  show_page (self, "checking", NULL);

  g_clear_object (&self->set);
  self->set = mw_settings_load_migrations (self->settings, &error);
  if (self->set == NULL)
    {
      g_autoptr(MwDiagnosis) diagnosis = mw_diagnosis_new_for_error (self->settings->database,
                                                                    error);

      set_diagnosis (self, diagnosis);
      mw_check_list_show_diagnosis (self->checks_list, diagnosis, FALSE);
      route (self);
      return;
    }

  set_work (self, MW_WORK_CHECK);
  mw_diagnose_async (self->settings->database, self->set, MW_DIAGNOSE_SCHEMA, NULL,
                     self->cancellable, diagnose_cb, g_object_ref (self));
}

/* ---- work ---------------------------------------------------------------------------- */

static void
progress_cancellable_cb (MwProgress *progress,
                         GParamSpec *pspec,
                         MwWindow   *self)
{
  gboolean cancellable = mw_progress_get_cancellable (progress);
  gboolean cancelled = self->cancellable != NULL && g_cancellable_is_cancelled (self->cancellable);

  if (cancelled)
    gtk_label_set_text (self->work_note, _("Cancelling: undoing what was started…"));
  else if (cancellable)
    gtk_label_set_text (self->work_note,
                        self->work == MW_WORK_MIGRATE
                        ? _("You can cancel until the update is saved: the database is then "
                            "exactly as it was.")
                        : _("You can cancel until the files are swapped: nothing will have "
                            "changed."));
  else
    gtk_label_set_text (self->work_note,
                        _("This step cannot be stopped safely; please wait for it to finish."));
  _mw_window_actions_update (self);
}

static char *
format_duration (gint64 us)
{
  gint64 seconds = us / G_USEC_PER_SEC;

  if (seconds < 60)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d second", "%d seconds",
                                         (unsigned long) seconds), (int) seconds);
  return g_strdup_printf (_("%d:%02d min"), (int) (seconds / 60), (int) (seconds % 60));
}

/* Elapsed time, and for the step under way an estimate from its own progress. */
static gboolean
clock_cb (gpointer user_data)
{
  MwWindow *self = user_data;
  gint64 now = g_get_monotonic_time ();
  double fraction = mw_progress_get_fraction (self->progress);
  gint64 in_step = now - self->step_started;
  g_autofree char *elapsed = format_duration (now - self->work_started);
  g_autofree char *text = NULL;

  if (fraction >= 0.03 && fraction < 1.0 && in_step >= 2 * G_USEC_PER_SEC)
    {
      g_autofree char *left = format_duration ((gint64) (in_step * (1.0 - fraction) / fraction) +
                                               G_USEC_PER_SEC);

      /* TRANSLATORS: "14 seconds so far; this step: about 6 seconds left" */
      text = g_strdup_printf (_("%s so far; this step: about %s left"), elapsed, left);
    }
  else
    text = g_strdup_printf (_("%s so far"), elapsed);
  gtk_label_set_text (self->work_time, text);
  return G_SOURCE_CONTINUE;
}

static void
progress_step_cb (MwProgress *progress,
                  GParamSpec *pspec,
                  MwWindow   *self)
{
  guint step = 0, n_steps = 0;
  g_autofree char *text = NULL;

  mw_progress_get_step (progress, &step, &n_steps);
  if (step > 0 && n_steps > 1)
    {
      text = g_strdup_printf (_("Step %u of %u"), step, n_steps);
      if (g_strcmp0 (gtk_label_get_text (self->work_step), text) != 0)
        self->step_started = g_get_monotonic_time ();
      gtk_label_set_text (self->work_step, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->work_step), step > 0 && n_steps > 1);
}

/**
 * _mw_window_begin_work:
 *
 * Shows the working page for @work; the engine call that follows reports on
 * self->progress (the page is bound to it) and can be stopped with self->cancellable.
 */
gboolean
_mw_window_begin_work (MwWindow   *self,
                       MwWork      work,
                       const char *title)
{
  if (!take_lock (self))
    return FALSE;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  mw_progress_set_cancellable (self->progress, TRUE);
  mw_progress_set_step (self->progress, 0, 0, _("Starting"));
  mw_progress_flush (self->progress);

  set_work (self, work);
  gtk_label_set_text (self->work_title, title);
  self->work_started = self->step_started = g_get_monotonic_time ();
  gtk_label_set_text (self->work_step, "");
  gtk_widget_set_visible (GTK_WIDGET (self->work_step), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->work_after_update), self->settings->after_update);
  g_clear_handle_id (&self->clock_id, g_source_remove);
  self->clock_id = g_timeout_add_seconds (1, clock_cb, self);
  clock_cb (self);
  progress_cancellable_cb (self->progress, NULL, self);
  gtk_window_set_title (GTK_WINDOW (self), title);
  mw_log_add ("Started: %s", title);
  present (self);
  show_page (self, "working", GTK_WIDGET (self->work_cancel));
  return TRUE;
}

/* After a new backup: the oldest beyond the retention go (never the one just made). */
static void
prune_backups (MwWindow *self,
               MwBackup *keep)
{
  const char *protect[] = { keep ? keep->path : NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) removed = mw_backup_prune (self->settings->backup_dir,
                                                  &self->settings->retention, protect, &error);

  if (removed == NULL)
    mw_log_add ("Pruning backups: %s", error->message);
}

static void
prune_aside_sets (MwWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) removed = NULL;

  removed = mw_prune_aside_sets (self->settings->database, self->settings->backup_dir,
                                 self->settings->keep_old_sets ? self->settings->keep_old_sets : 3,
                                 &error);
  if (removed == NULL)
    mw_log_add ("Pruning kept databases: %s", error->message);
}

void
_mw_window_migrate_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(MwWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MwRemedy) remedy = NULL;
  MwMigrator *migrator = MW_MIGRATOR (object);
  gboolean ok = mw_migrator_run_finish (migrator, result, &error);

  set_work (self, MW_WORK_NONE);
  if (ok)
    {
      GPtrArray *applied = mw_migrator_get_applied (migrator);
      MwBackup *backup = mw_migrator_get_backup (migrator);
      GString *text = g_string_new (NULL);
      g_autofree char *body = NULL;

      mw_log_add ("Applied %u updates", applied->len);
      if (backup != NULL)
        prune_backups (self, backup);
      if (self->close_when_idle)
        {
          _mw_window_set_exit_status (self, MW_EXIT_OK);
          gtk_window_destroy (GTK_WINDOW (self));
          g_string_free (text, TRUE);
          return;
        }
      g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE, "%u update was applied:",
                                                 "%u updates were applied:", applied->len),
                              applied->len);
      for (guint i = 0; i < applied->len; i++)
        g_string_append_printf (text, "\n  • %s", (const char *) g_ptr_array_index (applied, i));
      if (backup != NULL)
        {
          g_autofree char *folder = g_path_get_dirname (backup->path);
          g_autofree char *file = g_path_get_basename (backup->path);

          g_string_append_printf (text, _("\n\nA backup of the database as it was before is "
                                          "kept as %s in the folder %s."), file, folder);
        }
      g_string_append (text, _("\n\nThe POS can start."));
      body = g_string_free (text, FALSE);
      finish_ready (self, _("The database is up to date"), body);
      return;
    }

  mw_log_add ("Update failed: %s", error->message);
  remedy = mw_remedy_for_error (MW_OPERATION_MIGRATE, error, migrator, self->diagnosis,
                                self->settings);
  _mw_window_set_exit_status (self, remedy->exit_code);
  if (self->close_when_idle)
    {
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  if (remedy->automatic)
    {
      /* What the database is now decides: check again. */
      _mw_window_start_check (self);
      return;
    }
  _mw_window_show_remedy (self, remedy);
}

void
_mw_window_operation_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(MwWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;
  MwWork work = self->work;
  MwOperation operation;
  gboolean ok;

  switch (work)
    {
    case MW_WORK_RESTORE:
      operation = MW_OPERATION_RESTORE;
      ok = mw_restore_finish (result, &aside, &error);
      break;
    case MW_WORK_REPAIR_SWAP:
      operation = MW_OPERATION_REPAIR_SWAP;
      ok = mw_repair_swap_finish (result, &aside, &error);
      break;
    case MW_WORK_FRESH:
    default:
      operation = MW_OPERATION_FRESH;
      ok = mw_fresh_start_finish (result, &aside, &error);
      break;
    }
  set_work (self, MW_WORK_NONE);

  if (ok)
    {
      g_autofree char *text = NULL;
      g_autofree char *folder = aside ? g_path_get_dirname (aside) : NULL;
      g_autofree char *file = aside ? g_path_get_basename (aside) : NULL;
      const char *title = work == MW_WORK_RESTORE ? _("The backup was restored")
                        : work == MW_WORK_REPAIR_SWAP ? _("The repaired database is in use")
                        : _("A new database was started");

      mw_log_add ("%s%s%s", title, aside ? "; kept " : "", aside ? aside : "");
      prune_aside_sets (self);
      if (self->close_when_idle)
        {
          _mw_window_set_exit_status (self, MW_EXIT_OK);
          gtk_window_destroy (GTK_WINDOW (self));
          return;
        }
      if (aside != NULL)
        text = g_strdup_printf (_("The previous database was kept, unchanged, as %s in the "
                                  "folder %s, together with a backup of it in %s."),
                                file, folder, self->settings->backup_dir);
      else
        text = g_strdup ("");
      g_free (self->outcome_title);
      self->outcome_title = g_strdup (title);
      g_free (self->outcome);
      self->outcome = g_steal_pointer (&text);
      update_notice (self);
      /* What the database needs now (updates, nothing) is what the check says. */
      _mw_window_start_check (self);
      return;
    }

  mw_log_add ("Failed: %s", error->message);
  {
    g_autoptr(MwRemedy) remedy = mw_remedy_for_error (operation, error, NULL, self->diagnosis,
                                                      self->settings);

    _mw_window_set_exit_status (self, remedy->exit_code);
    if (self->close_when_idle)
      {
        gtk_window_destroy (GTK_WINDOW (self));
        return;
      }
    _mw_window_show_remedy (self, remedy);
  }
}

/* Update and Keep My Data: the engine re-stamps a proven level or carries every row;
 * then the check says what the database needs now (nothing, in after-update mode the
 * POS starts). */
void
_mw_window_adopt_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(MwWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;
  g_autoptr(MwAdoptReport) report = mw_adopt_finish (result, &aside, &error);

  set_work (self, MW_WORK_NONE);
  g_clear_pointer (&self->adopt_options, mw_adopt_options_free);
  if (report != NULL && !report->ready)
    g_set_error (&error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BAD_MAPPING,
                 _("This version has a new required column (%s) with no value to give the "
                   "shop's rows. Nothing was changed; a technician can give one "
                   "(migration-wizard adopt --value TABLE.COLUMN=VALUE)."),
                 (const char *) g_ptr_array_index (report->needs_values, 0));
  if (error != NULL)
    {
      g_autoptr(MwRemedy) remedy = mw_remedy_for_error (MW_OPERATION_ADOPT, error, NULL,
                                                        self->diagnosis, self->settings);

      mw_log_add ("Keeping the data failed: %s", error->message);
      _mw_window_set_exit_status (self, remedy->exit_code);
      if (self->close_when_idle)
        {
          gtk_window_destroy (GTK_WINDOW (self));
          return;
        }
      _mw_window_show_remedy (self, remedy);
      return;
    }

  {
    g_autofree char *text = mw_adopt_report_to_text (report);

    mw_log_add ("Kept the data (%s): %s", report->method == MW_ADOPT_RESTAMP ? "re-stamped"
                                                                          : "carried",
                text);
    if (aside != NULL)
      {
        g_autofree char *folder = g_path_get_dirname (aside);
        g_autofree char *file = g_path_get_basename (aside);
        g_autofree char *kept = g_strdup_printf (_("%s\nThe database as it was is kept, "
                                                   "unchanged, as %s in the folder %s."),
                                                 text, file, folder);

        g_free (text);
        text = g_steal_pointer (&kept);
      }
    if (self->close_when_idle)
      {
        _mw_window_set_exit_status (self, MW_EXIT_OK);
        gtk_window_destroy (GTK_WINDOW (self));
        return;
      }
    g_free (self->outcome_title);
    self->outcome_title = g_strdup (_("The data was kept"));
    g_free (self->outcome);
    self->outcome = g_steal_pointer (&text);
    update_notice (self);
    /* What the database needs now (nothing, or the rest of the updates). */
    _mw_window_start_check (self);
  }
}

/* Try Repair: a repaired copy and its report first; then a person chooses. */
void
_mw_window_repair_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(MwWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  MwRepairReport *report = mw_repair_finish (result, &error);

  set_work (self, MW_WORK_NONE);
  if (self->close_when_idle)
    {
      g_clear_pointer (&report, mw_repair_report_unref);
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  g_clear_pointer (&self->repair, mw_repair_report_unref);
  self->repair = report;

  if (report == NULL)
    {
      g_autoptr(MwRemedy) remedy = mw_remedy_for_error (MW_OPERATION_REPAIR, error, NULL,
                                                        self->diagnosis, self->settings);

      mw_log_add ("Repair failed: %s", error->message);
      _mw_window_show_remedy (self, remedy);
      return;
    }

  {
    g_autofree char *table = mw_repair_report_to_text (report);
    g_autofree char *db_file = g_path_get_basename (self->settings->database);
    g_autofree char *db_folder = g_path_get_dirname (self->settings->database);
    g_autofree char *copy_file = g_path_get_basename (report->repaired_path);
    g_autofree char *shop = mw_shop_describe_repair (report);
    g_autoptr(MwBackup) backup = mw_remedy_choose_backup (self->settings->backup_dir, NULL,
                                                          NULL);
    g_autofree char *in_backup = report->lost != 0
                                 ? mw_shop_describe_lost_sales_in_backup (report->repaired_path,
                                                                          backup)
                                 : NULL;
    g_autofree char *summary = in_backup ? g_strconcat (shop, " ", in_backup, NULL)
                                         : g_strdup (shop);
    g_autofree char *text = NULL;
    const char *headings[] = { _("Table"), _("Before"), _("Recovered"), _("Lost"),
                               _("No parent"), NULL };
    GtkWidget *keep;

    text = g_strdup_printf (_("%s\n\nUse the repaired database? The damaged one is not "
                              "deleted: it is kept, exactly as it is now, as %s.old.<date-time> "
                              "in the folder %s (and a copy is in the backups). The repaired copy "
                              "is %s."),
                            summary, db_file, db_folder, copy_file);
    self->confirm = MW_CONFIRM_REPAIR;
    g_free (self->return_problem);
    self->return_problem = g_strdup ("corrupt");
    mw_log_add ("Repair: %" G_GINT64_FORMAT " rows recovered into %s; %s", report->recovered,
                report->repaired_path, summary);
    begin_problem (self, "repair-report", "dialog-question-symbolic", _("Repair Finished"), text,
                   table);
    /* The report table by table, as a real table (readable at any text size). */
    mw_problem_page_add_report_row (self->problem_page, headings, TRUE);
    for (guint i = 0; i < report->tables->len; i++)
      {
        MwRepairTable *t = g_ptr_array_index (report->tables, i);
        g_autofree char *before = t->rows_before >= 0
                                  ? g_strdup_printf ("%" G_GINT64_FORMAT, t->rows_before)
                                  : g_strdup (_("unknown"));
        g_autofree char *recovered = g_strdup_printf ("%" G_GINT64_FORMAT, t->recovered);
        g_autofree char *lost = t->lost >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, t->lost)
                                             : g_strdup (_("unknown"));
        g_autofree char *orphaned = g_strdup_printf ("%" G_GINT64_FORMAT, t->orphaned);
        const char *cells[] = { t->name, before, recovered, lost, orphaned, NULL };

        if (t->lost == 0 && t->orphaned == 0 && report->tables->len > 8)
          continue;   /* the untouched tables are in the details */
        mw_problem_page_add_report_row (self->problem_page, cells, FALSE);
      }
    keep = mw_problem_page_add_button (self->problem_page, _("_Keep the Damaged Database"),
                                       "wizard.cancel", NULL, MW_BUTTON_SUGGESTED, NULL);
    mw_problem_page_add_button (self->problem_page, _("_Use the Repaired Database"),
                                "wizard.use-repaired", NULL, MW_BUTTON_DESTRUCTIVE, NULL);
    end_problem (self, keep);
  }
}

/* Every page's scrolled area is a Tab stop only when it has something to scroll;
 * every button is named for screen readers as it reads. */
static void
prepare_for_keyboard (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (MW_IS_PROBLEM_PAGE (child))
        continue;
      if (GTK_IS_SCROLLED_WINDOW (child))
        mw_accessibility_scroll_focus_when_needed (GTK_SCROLLED_WINDOW (child));
      if (GTK_IS_BUTTON (child))
        mw_accessibility_name_button (child);
      prepare_for_keyboard (child);
    }
}

/* The window sizes to its content, up to the screen it is on: at 2× text on an
 * 800×600 remote desktop it must not reach past the screen's edge (its buttons
 * would be out of reach); only the page scrolls. */
static void
fit_to_screen (MwWindow *self)
{
  GdkDisplay *display = gtk_widget_get_display (GTK_WIDGET (self));
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (self));
  GdkMonitor *monitor = NULL;
  GdkRectangle area = { 0 };
  int width = 760, height = 0, natural = 0;

  if (surface != NULL)
    monitor = gdk_display_get_monitor_at_surface (display, surface);
  if (monitor == NULL)
    {
      GListModel *monitors = gdk_display_get_monitors (display);

      if (g_list_model_get_n_items (monitors) > 0)
        {
          g_autoptr(GdkMonitor) first = g_list_model_get_item (monitors, 0);

          gdk_monitor_get_geometry (first, &area);
        }
    }
  else
    gdk_monitor_get_geometry (monitor, &area);
  if (area.width <= 0 || area.height <= 0)
    return;

  /* Room for a panel and the window's own decorations; pages come and go, so the
   * first one's size is no measure: the usual size, or the screen's when smaller. */
  width = MIN (width, area.width - 32);
  gtk_widget_measure (GTK_WIDGET (self), GTK_ORIENTATION_VERTICAL, width, NULL, &natural,
                      NULL, NULL);
  height = MIN (MAX (natural, 560), area.height - 56);
  gtk_window_set_default_size (GTK_WINDOW (self), width, height);
}

static void
mw_window_realize (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (mw_window_parent_class)->realize (widget);
  fit_to_screen (MW_WINDOW (widget));
}

/* ---- the class ----------------------------------------------------------------------- */

static gboolean
mw_window_close_request (GtkWindow *window)
{
  MwWindow *self = MW_WINDOW (window);

  if (self->work == MW_WORK_NONE)
    return GTK_WINDOW_CLASS (mw_window_parent_class)->close_request (window);

  /* Closing while working: cancel where that is safe and close once the worker
   * has finished; never leave a worker running without its window. */
  self->close_when_idle = TRUE;
  if (mw_progress_get_cancellable (self->progress))
    g_cancellable_cancel (self->cancellable);
  progress_cancellable_cb (self->progress, NULL, self);
  return TRUE;
}

static void
mw_window_dispose (GObject *object)
{
  MwWindow *self = MW_WINDOW (object);

  if (self->technician != NULL)
    gtk_window_destroy (self->technician);
  g_clear_handle_id (&self->clock_id, g_source_remove);
  if (self->progress != NULL)
    g_signal_handlers_disconnect_by_data (self->progress, self);
  g_clear_pointer (&self->lock, mw_instance_lock_release);
  /* After everything of the wizard's is closed: the POS, when the database is ready. */
  start_then (self);
  /* GtkWindow disposes its child (the template's stack) itself. */

  G_OBJECT_CLASS (mw_window_parent_class)->dispose (object);
}

static void
mw_window_finalize (GObject *object)
{
  MwWindow *self = MW_WINDOW (object);

  g_clear_pointer (&self->settings, mw_settings_free);
  g_clear_object (&self->set);
  g_clear_pointer (&self->diagnosis, mw_diagnosis_unref);
  g_clear_pointer (&self->remedy, mw_remedy_unref);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->progress);
  g_clear_object (&self->migrator);
  g_clear_pointer (&self->offered_backup, mw_backup_unref);
  g_clear_pointer (&self->repair, mw_repair_report_unref);
  g_clear_pointer (&self->adopt_options, mw_adopt_options_free);
  g_free (self->return_problem);
  g_free (self->recovered);
  g_free (self->outcome_title);
  g_free (self->outcome);

  G_OBJECT_CLASS (mw_window_parent_class)->finalize (object);
}

static void
mw_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  MwWindow *self = MW_WINDOW (object);

  switch (prop_id)
    {
    case PROP_PAGE:
      g_value_set_string (value, mw_window_get_page (self));
      break;

    case PROP_PROBLEM:
      g_value_set_string (value, mw_window_get_problem (self));
      break;

    case PROP_BUSY:
      g_value_set_boolean (value, mw_window_is_busy (self));
      break;

    case PROP_DIAGNOSIS:
      g_value_set_boxed (value, self->diagnosis);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mw_window_class_init (MwWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = mw_window_dispose;
  object_class->finalize = mw_window_finalize;
  object_class->get_property = mw_window_get_property;
  window_class->close_request = mw_window_close_request;
  widget_class->realize = mw_window_realize;

  /**
   * MwWindow:page:
   *
   * The visible page: `checking`, `ready`, `working`, `done` or `problem`.
   */
  properties[PROP_PAGE] =
    g_param_spec_string ("page", NULL, NULL, NULL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * MwWindow:problem:
   *
   * Which problem or confirmation the problem page shows (`corrupt`, `locked`,
   * `confirm-fresh`, …); %NULL on the other pages.
   */
  properties[PROP_PROBLEM] =
    g_param_spec_string ("problem", NULL, NULL, NULL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * MwWindow:busy:
   *
   * Whether an engine worker is running for the window.
   */
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * MwWindow:diagnosis:
   *
   * The last diagnosis of the database (the technician view follows it).
   */
  properties[PROP_DIAGNOSIS] =
    g_param_spec_boxed ("diagnosis", NULL, NULL, MW_TYPE_DIAGNOSIS,
                        (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (MW_TYPE_CHECK_LIST);
  g_type_ensure (MW_TYPE_PROBLEM_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/com/aurswift/MigrationWizard/mw-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MwWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, notice_label);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, details_button);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, checking_title);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, checking_text);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, checks_list);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, ready_title);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, ready_text);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, ready_checks);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, update_button);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_title);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_step);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_phase);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_time);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_after_update);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_bar);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_note);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, work_cancel);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, done_title);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, done_text);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, done_check_again);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, done_close);
  gtk_widget_class_bind_template_child (widget_class, MwWindow, problem_page);

  _mw_window_class_add_actions (widget_class);
}

static void
mw_window_init (MwWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  prepare_for_keyboard (GTK_WIDGET (self));

  /* One progress object for the window's lifetime: every operation reports on it,
   * and the working page shows it through these bindings. */
  self->progress = mw_progress_new ();
  g_object_bind_property (self->progress, "fraction", self->work_bar, "fraction",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->progress, "message", self->work_phase, "label",
                          G_BINDING_SYNC_CREATE);
  g_signal_connect (self->progress, "notify::cancellable",
                    G_CALLBACK (progress_cancellable_cb), self);
  g_signal_connect (self->progress, "notify::step", G_CALLBACK (progress_step_cb), self);
  _mw_window_actions_update (self);
}

/* ---- public API ---------------------------------------------------------------------- */

/**
 * mw_window_new:
 * @settings: the resolved settings: the database, the folders, after-update mode
 *
 * Creates the wizard for @settings' database; mw_window_start() begins the work.
 */
MwWindow *
mw_window_new (MwApplication    *application,
               const MwSettings *settings)
{
  MwWindow *self;

  g_return_val_if_fail (settings != NULL && settings->database != NULL, NULL);

  self = g_object_new (MW_TYPE_WINDOW, "application", application, NULL);
  self->exit_status = MW_EXIT_INTERNAL;
  self->settings = mw_settings_copy (settings);
  if (self->settings->backup_dir == NULL)
    self->settings->backup_dir = mw_backup_default_dir (self->settings->database);
  /* Where the database was found is said with the first check. */
  if (self->settings->database_source != MW_DATABASE_SOURCE_OPTION)
    {
      const char *how = mw_database_source_describe (self->settings->database_source);

      mw_check_list_set_database_source (self->checks_list, how);
      mw_check_list_set_database_source (self->ready_checks, how);
    }
  /* The log beside the backups: what this window does is there after it closes. */
  {
    g_autofree char *log = mw_log_path_for (self->settings);

    mw_log_set_file (log);
  }
  return self;
}

/**
 * mw_window_start:
 *
 * Checks the database, after finishing or undoing an operation a crash
 * interrupted. The database's instance lock (one wizard working on a database at
 * a time) is taken for that, and then only while working.
 */
void
mw_window_start (MwWindow *self)
{
  g_return_if_fail (MW_IS_WINDOW (self));

  self->recovery_done = FALSE;
  _mw_window_start_check (self);
}

const char *
mw_window_get_page (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->stack);
}

const char *
mw_window_get_problem (MwWindow *self)
{
  const char *page;

  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);

  page = mw_window_get_page (self);
  return page != NULL && g_str_equal (page, "problem")
         ? mw_problem_page_get_id (self->problem_page) : NULL;
}

/**
 * mw_window_get_title_text:
 *
 * Returns: the visible page's title
 */
const char *
mw_window_get_title_text (MwWindow *self)
{
  const char *page = mw_window_get_page (self);

  if (g_str_equal (page, "checking"))
    return gtk_label_get_text (self->checking_title);
  if (g_str_equal (page, "ready"))
    return gtk_label_get_text (self->ready_title);
  if (g_str_equal (page, "working"))
    return gtk_label_get_text (self->work_title);
  if (g_str_equal (page, "done"))
    return gtk_label_get_text (self->done_title);
  return mw_problem_page_get_title (self->problem_page);
}

/**
 * mw_window_get_phase_text:
 *
 * Returns: what the working page says is happening ("Applying update 3 of 7: …")
 */
const char *
mw_window_get_phase_text (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return gtk_label_get_text (self->work_phase);
}

/**
 * mw_window_get_step_text:
 *
 * Returns: (nullable): the working page's step ("Step 2 of 3"), %NULL when it shows
 *   none
 */
const char *
mw_window_get_step_text (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->work_step))
         ? gtk_label_get_text (self->work_step) : NULL;
}

/**
 * mw_window_get_problem_text:
 *
 * Returns: the problem page's plain words ("" when it shows none)
 */
const char *
mw_window_get_problem_text (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return mw_problem_page_get_text (self->problem_page);
}

/**
 * mw_window_get_detail_text:
 *
 * Returns: the problem page's technical details ("" when it has none)
 */
const char *
mw_window_get_detail_text (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return mw_problem_page_get_detail (self->problem_page);
}

/**
 * mw_window_get_notice:
 *
 * Returns: (nullable): what the start-up recovery reported, shown above the pages
 */
const char *
mw_window_get_notice (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->notice_label))
         ? gtk_label_get_text (self->notice_label) : NULL;
}

static void
collect_buttons (GtkWidget *widget,
                 GPtrArray *buttons)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (!gtk_widget_get_visible (child))
        continue;
      if (GTK_IS_BUTTON (child))
        g_ptr_array_add (buttons, child);
      else
        collect_buttons (child, buttons);
    }
}

/**
 * mw_window_list_buttons:
 *
 * Returns: (transfer container) (element-type GtkButton): the visible page's
 *   buttons, in order
 */
GPtrArray *
mw_window_list_buttons (MwWindow *self)
{
  GPtrArray *buttons = g_ptr_array_new ();

  g_return_val_if_fail (MW_IS_WINDOW (self), buttons);
  collect_buttons (gtk_stack_get_visible_child (self->stack), buttons);
  return buttons;
}

gboolean
mw_window_is_busy (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), FALSE);
  return self->work != MW_WORK_NONE;
}

MwDiagnosis *
mw_window_get_diagnosis (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return self->diagnosis;
}

MwMigrationSet *
mw_window_get_set (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return self->set;
}

const MwSettings *
mw_window_get_settings (MwWindow *self)
{
  g_return_val_if_fail (MW_IS_WINDOW (self), NULL);
  return self->settings;
}
