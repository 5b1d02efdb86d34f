/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-settings"

#include "config.h"

#include <glib/gi18n.h>

#include "mw-config.h"
#include "mw-settings.h"

/*
 * The one settings type. The command line's option table writes straight into an
 * MwSettings; mw_settings_resolve() then fills what it left unset from the
 * configuration file and the defaults. Done once per process, for both fronts.
 */

/**
 * mw_settings_new:
 *
 * Returns: (transfer full): unresolved settings, every field unset
 */
MwSettings *
mw_settings_new (void)
{
  return g_new0 (MwSettings, 1);
}

MwSettings *
mw_settings_copy (const MwSettings *settings)
{
  MwSettings *copy;

  g_return_val_if_fail (settings != NULL, NULL);

  copy = g_memdup2 (settings, sizeof *settings);
  copy->database = g_strdup (settings->database);
  copy->migrations = g_strdup (settings->migrations);
  copy->config_migrations = g_strdup (settings->config_migrations);
  copy->backup_dir = g_strdup (settings->backup_dir);
  copy->migrations_table = g_strdup (settings->migrations_table);
  copy->config_path = g_strdup (settings->config_path);
  copy->then_run = g_strdup (settings->then_run);
  copy->adopt_maps = g_strdupv (settings->adopt_maps);
  copy->adopt_values = g_strdupv (settings->adopt_values);
  return copy;
}

void
mw_settings_free (MwSettings *settings)
{
  if (settings == NULL)
    return;
  g_free (settings->database);
  g_free (settings->migrations);
  g_free (settings->config_migrations);
  g_free (settings->backup_dir);
  g_free (settings->migrations_table);
  g_free (settings->config_path);
  g_free (settings->then_run);
  g_strfreev (settings->adopt_maps);
  g_strfreev (settings->adopt_values);
  g_free (settings);
}

/**
 * mw_settings_resolve:
 * @settings: what the command line set
 *
 * Fills every unset field: from the configuration file (@settings->config_path, or
 * the first one found), then the defaults (the app's own database, backups/ beside
 * it). Fields already set win.
 *
 * Returns: %FALSE when a named configuration file cannot be read
 */
gboolean
mw_settings_resolve (MwSettings  *settings,
                     GError     **error)
{
  g_autoptr(MwConfig) config = NULL;

  g_return_val_if_fail (settings != NULL, FALSE);

  config = mw_config_load (settings->config_path, error);
  if (config == NULL)
    return FALSE;

  if (settings->config_path == NULL && config->path != NULL)
    settings->config_path = g_strdup (config->path);
  if (settings->database != NULL)
    settings->database_source = MW_DATABASE_SOURCE_OPTION;
  else if (config->database != NULL)
    {
      settings->database = g_strdup (config->database);
      settings->database_source = MW_DATABASE_SOURCE_CONFIG;
    }
  else
    settings->database = mw_config_find_database (&settings->database_source);
  if (settings->backup_dir == NULL)
    settings->backup_dir = g_strdup (config->backup_dir);
  if (settings->backup_dir == NULL)
    settings->backup_dir = mw_backup_default_dir (settings->database);
  if (settings->migrations_table == NULL)
    settings->migrations_table = g_strdup (config->migrations_table);
  g_free (settings->config_migrations);
  settings->config_migrations = g_strdup (config->migrations);
  if (settings->busy_timeout_ms <= 0)
    settings->busy_timeout_ms = (int) config->busy_timeout_ms;
  settings->retention = config->retention;
  settings->keep_old_sets = config->keep_old_sets;
  settings->full_checks = settings->full_checks || config->full_checks;
  g_strfreev (settings->adopt_maps);
  settings->adopt_maps = g_strdupv (config->adopt_maps);
  g_strfreev (settings->adopt_values);
  settings->adopt_values = g_strdupv (config->adopt_values);
  return TRUE;
}

/**
 * mw_settings_load_migrations:
 *
 * Finds the app's migrations folder (the one named on the command line, else the
 * configured one, else where the app installs it) and reads it, with the migrations
 * table the app names, if it names one.
 *
 * Returns: (transfer full): the migrations, or %NULL with a packaging-fault error
 */
MwMigrationSet *
mw_settings_load_migrations (const MwSettings  *settings,
                             GError           **error)
{
  g_autofree char *folder = NULL;
  MwMigrationSet *set;

  g_return_val_if_fail (settings != NULL, NULL);

  folder = mw_migrations_locate (settings->migrations, settings->config_migrations, error);
  if (folder == NULL)
    return NULL;
  set = mw_migration_set_load (folder, error);
  if (set != NULL)
    mw_migration_set_set_table (set, settings->migrations_table);
  return set;
}

/**
 * mw_settings_run_then:
 *
 * Starts the command given with `--then-run` (the POS), detached; nothing when
 * there is none. Both fronts start it through here, once the database is ready.
 */
gboolean
mw_settings_run_then (const MwSettings  *settings,
                      GError           **error)
{
  g_auto(GStrv) argv = NULL;

  g_return_val_if_fail (settings != NULL, FALSE);

  if (settings->then_run == NULL)
    return TRUE;
  if (!g_shell_parse_argv (settings->then_run, NULL, &argv, error) ||
      !g_spawn_async (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, error))
    {
      g_prefix_error (error, _("Could not start “%s”: "), settings->then_run);
      return FALSE;
    }
  g_info ("Started %s", settings->then_run);
  return TRUE;
}

/**
 * mw_log_path_for:
 *
 * Where the persistent log of runs on @settings' database is kept: beside the
 * backups, as `migration-wizard.log`.
 *
 * Returns: (transfer full): the path
 */
char *
mw_log_path_for (const MwSettings *settings)
{
  g_autofree char *dir = NULL;

  g_return_val_if_fail (settings != NULL && settings->database != NULL, NULL);

  dir = settings->backup_dir ? g_strdup (settings->backup_dir)
                             : mw_backup_default_dir (settings->database);
  return g_build_filename (dir, "migration-wizard.log", NULL);
}
