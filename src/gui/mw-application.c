/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-gui"

#include "config.h"

#include <glib/gi18n.h>

#include "mw-application.h"
#include "mw-window.h"

struct _MwApplication
{
  GtkApplication   parent_instance;

  MwSettings      *settings;
  int              exit_status;
};

G_DEFINE_FINAL_TYPE (MwApplication, mw_application, GTK_TYPE_APPLICATION)

static void
mw_application_activate (GApplication *application)
{
  MwApplication *self = MW_APPLICATION (application);
  GtkWindow *window;

  window = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (window != NULL)
    {
      /* A second launch on the same database: this window, brought forward. */
      mw_log_add ("Another launch on this database: the open window is brought forward");
      gtk_window_present (window);
      return;
    }

  window = GTK_WINDOW (mw_window_new (self, self->settings));
  /* After an update the window shows itself only when there is something to see. */
  if (!self->settings->after_update)
    gtk_window_present (window);
  mw_window_start (MW_WINDOW (window));
}

static void
mw_application_startup (GApplication *application)
{
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();

  G_APPLICATION_CLASS (mw_application_parent_class)->startup (application);

  gtk_css_provider_load_from_resource (css, "/com/aurswift/MigrationWizard/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  gtk_window_set_default_icon_name (MW_APPLICATION_ID);
}

static void
mw_application_finalize (GObject *object)
{
  MwApplication *self = MW_APPLICATION (object);

  g_clear_pointer (&self->settings, mw_settings_free);

  G_OBJECT_CLASS (mw_application_parent_class)->finalize (object);
}

static void
mw_application_class_init (MwApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = mw_application_finalize;
  app_class->activate = mw_application_activate;
  app_class->startup = mw_application_startup;
}

static void
mw_application_init (MwApplication *self)
{
  self->exit_status = 1;
}

/**
 * mw_application_id_for:
 *
 * One application per database: a second launch on the same database reaches the
 * first (which brings its window forward) instead of a second window; wizards on
 * different databases do not meet. The id is the app's, with a digest of the
 * database's path.
 *
 * Returns: (transfer full): a valid D-Bus application id
 */
char *
mw_application_id_for (const char *database)
{
  g_autofree char *canonical = g_canonicalize_filename (database, NULL);
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, canonical, -1);

  return g_strdup_printf ("%s.Db%.16s", MW_APPLICATION_ID, digest);
}

/**
 * mw_application_new:
 * @unique: one application per database (D-Bus); %FALSE where there is no session
 *   bus (two wizards on the same database are then still told apart by the
 *   database's instance lock)
 */
MwApplication *
mw_application_new (const MwSettings *settings)
{
  return mw_application_new_full (settings, TRUE);
}

MwApplication *
mw_application_new_full (const MwSettings *settings,
                         gboolean          unique)
{
  MwApplication *self;
  g_autofree char *id = NULL;

  g_return_val_if_fail (settings != NULL && settings->database != NULL, NULL);

  id = mw_application_id_for (settings->database);
  self = g_object_new (MW_TYPE_APPLICATION,
                       "application-id", id,
                       "flags", unique ? G_APPLICATION_DEFAULT_FLAGS : G_APPLICATION_NON_UNIQUE,
                       NULL);
  self->settings = mw_settings_copy (settings);
  return self;
}

const MwSettings *
mw_application_get_settings (MwApplication *self)
{
  g_return_val_if_fail (MW_IS_APPLICATION (self), NULL);
  return self->settings;
}

/**
 * mw_application_get_exit_status:
 *
 * The status the process ends with: 0 when the database was left ready for the
 * POS, else the headless front's code for what stopped it.
 */
int
mw_application_get_exit_status (MwApplication *self)
{
  g_return_val_if_fail (MW_IS_APPLICATION (self), 1);
  return self->exit_status;
}

void
mw_application_set_exit_status (MwApplication *self,
                                int            status)
{
  g_return_if_fail (MW_IS_APPLICATION (self));
  self->exit_status = status;
}
