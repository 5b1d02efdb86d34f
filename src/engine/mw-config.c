/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-config"

#include "config.h"

#include <glib/gi18n.h>

#include "mw-config.h"

/*
 * The configuration file, for installations whose database or migrations are not
 * where the app puts them by default:
 *
 *   [migration-wizard]
 *   database=/srv/pos/pos_system.db
 *   migrations=/opt/AurSwift/resources/migrations
 *   backup-dir=/srv/pos/backups
 *   migrations-table=app_migrations   the app's migrate(db, { migrationsTable })
 *   busy-timeout=5000
 *   keep-pre-migration=10     backups kept per reason (pre-migration, pre-restore,
 *   keep-manual=5             pre-fresh, pre-repair, manual); at least 1
 *   keep-old-sets=3           databases kept aside by restore / fresh start
 *   full-checks=true          after an update, check the whole database, not only what
 *                             the updates wrote (slower; see mw_migrator_set_full_checks)
 *   map=stores=shops;businesses.town=city     adopt: renamed tables and columns
 *   value=shops.code=0                        adopt: values for new required columns
 *
 * Relative paths are taken from the file's folder.
 */

#define GROUP "migration-wizard"
#define FILE_NAME "migration-wizard.ini"

void
mw_config_free (MwConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->path);
  g_free (config->database);
  g_free (config->migrations);
  g_free (config->backup_dir);
  g_strfreev (config->adopt_maps);
  g_strfreev (config->adopt_values);
  g_free (config->migrations_table);
  g_free (config);
}

/**
 * mw_config_search_list:
 *
 * Returns: (transfer full): where a configuration file is looked for, in order
 */
GStrv
mw_config_search_list (void)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char * const *system_dirs = g_get_system_config_dirs ();
  g_autofree char *user = g_build_filename (g_get_user_config_dir (), "migration-wizard",
                                            FILE_NAME, NULL);

  g_strv_builder_add (builder, user);
  for (guint i = 0; system_dirs[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (system_dirs[i], "migration-wizard", FILE_NAME,
                                                NULL);

      g_strv_builder_add (builder, path);
    }
  return g_strv_builder_end (builder);
}

static char *
resolve (const char *base_dir,
         char       *value)
{
  char *resolved;

  if (value == NULL || value[0] == '\0')
    {
      g_free (value);
      return NULL;
    }
  resolved = g_canonicalize_filename (value, base_dir);
  g_free (value);
  return resolved;
}

/**
 * mw_config_load:
 * @explicit_path: (nullable): a file named on the command line; it must exist
 *
 * Returns: (transfer full): the settings; all unset when no file was found
 */
MwConfig *
mw_config_load (const char  *explicit_path,
                GError     **error)
{
  g_autoptr(MwConfig) config = g_new0 (MwConfig, 1);
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *dir = NULL;
  g_auto(GStrv) list = NULL;
  const char *path = explicit_path;
  GError *local_error = NULL;
  int timeout;

  mw_retention_init_defaults (&config->retention);
  config->keep_old_sets = 3;

  if (path == NULL)
    {
      list = mw_config_search_list ();
      for (guint i = 0; list[i] != NULL && path == NULL; i++)
        if (g_file_test (list[i], G_FILE_TEST_IS_REGULAR))
          path = list[i];
      if (path == NULL)
        return g_steal_pointer (&config);
    }

  if (!g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code,
                   _("Cannot read the configuration file %s: %s"), path, local_error->message);
      g_error_free (local_error);
      return NULL;
    }

  config->path = g_canonicalize_filename (path, NULL);
  dir = g_path_get_dirname (config->path);
  config->database = resolve (dir, g_key_file_get_string (keyfile, GROUP, "database", NULL));
  config->migrations = resolve (dir, g_key_file_get_string (keyfile, GROUP, "migrations", NULL));
  config->backup_dir = resolve (dir, g_key_file_get_string (keyfile, GROUP, "backup-dir", NULL));
  config->migrations_table = g_key_file_get_string (keyfile, GROUP, "migrations-table", NULL);
  if (config->migrations_table != NULL)
    {
      g_strstrip (config->migrations_table);
      if (config->migrations_table[0] == '\0')
        g_clear_pointer (&config->migrations_table, g_free);
    }
  timeout = g_key_file_get_integer (keyfile, GROUP, "busy-timeout", NULL);
  config->busy_timeout_ms = timeout > 0 ? (guint) timeout : 0;
  for (guint i = 0; i < MW_N_BACKUP_REASONS; i++)
    {
      g_autofree char *key = g_strconcat ("keep-", mw_backup_reason_to_string (i), NULL);
      int keep = g_key_file_get_integer (keyfile, GROUP, key, NULL);

      if (keep > 0)
        config->retention.keep[i] = (guint) keep;
    }
  {
    int keep = g_key_file_get_integer (keyfile, GROUP, "keep-old-sets", NULL);

    if (keep > 0)
      config->keep_old_sets = (guint) keep;
  }

  config->full_checks = g_key_file_get_boolean (keyfile, GROUP, "full-checks", NULL);
  config->adopt_maps = g_key_file_get_string_list (keyfile, GROUP, "map", NULL, NULL);
  config->adopt_values = g_key_file_get_string_list (keyfile, GROUP, "value", NULL, NULL);

  return g_steal_pointer (&config);
}

/**
 * mw_config_database_candidates:
 * @platform: which system's folders
 * @home: the user's home folder
 * @config_dir: (nullable): Linux: `$XDG_CONFIG_HOME` (else `~/.config`)
 * @appdata: (nullable): Windows: `%APPDATA%` (the Roaming folder)
 * @pos_db_path: (nullable): the `POS_DB_PATH` environment variable
 *
 * Where the AurSwift app keeps its database, in the order to search: the app's
 * own override `POS_DB_PATH` (a database file, or a folder holding
 * `pos_system.db`); Electron's userData folder, named after the app's package
 * name `aurswift` (lowercase): `~/.config/aurswift/` (Linux), `%APPDATA%\aurswift\`
 * (Windows), `~/Library/Application Support/aurswift/` (macOS); then the older
 * versions' doubly nested `userData/aurswift/pos_system.db`.
 *
 * Returns: (transfer full) (element-type MwDatabaseCandidate): the places
 */
GPtrArray *
mw_config_database_candidates (MwPlatform  platform,
                               const char *home,
                               const char *config_dir,
                               const char *appdata,
                               const char *pos_db_path)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) mw_database_candidate_free);
  g_autofree char *user_data = NULL;

  g_return_val_if_fail (home != NULL, list);

  if (pos_db_path != NULL && *pos_db_path != '\0')
    {
      MwDatabaseCandidate *c = g_new0 (MwDatabaseCandidate, 1);

      c->path = g_file_test (pos_db_path, G_FILE_TEST_IS_DIR)
                ? g_build_filename (pos_db_path, "pos_system.db", NULL)
                : g_strdup (pos_db_path);
      c->source = MW_DATABASE_SOURCE_POS_DB_PATH;
      g_ptr_array_add (list, c);
    }

  switch (platform)
    {
    case MW_PLATFORM_WINDOWS:
      user_data = appdata != NULL && *appdata != '\0'
                  ? g_build_filename (appdata, "aurswift", NULL)
                  : g_build_filename (home, "AppData", "Roaming", "aurswift", NULL);
      break;
    case MW_PLATFORM_MACOS:
      user_data = g_build_filename (home, "Library", "Application Support", "aurswift", NULL);
      break;
    case MW_PLATFORM_LINUX:
    default:
      user_data = config_dir != NULL && *config_dir != '\0'
                  ? g_build_filename (config_dir, "aurswift", NULL)
                  : g_build_filename (home, ".config", "aurswift", NULL);
      break;
    }

  {
    MwDatabaseCandidate *c = g_new0 (MwDatabaseCandidate, 1);

    c->path = g_build_filename (user_data, "pos_system.db", NULL);
    c->source = MW_DATABASE_SOURCE_USER_DATA;
    g_ptr_array_add (list, c);
    c = g_new0 (MwDatabaseCandidate, 1);
    c->path = g_build_filename (user_data, "aurswift", "pos_system.db", NULL);
    c->source = MW_DATABASE_SOURCE_NESTED_USER_DATA;
    g_ptr_array_add (list, c);
  }
  return list;
}

void
mw_database_candidate_free (MwDatabaseCandidate *candidate)
{
  if (candidate == NULL)
    return;
  g_free (candidate->path);
  g_free (candidate);
}

/**
 * mw_config_pick_database:
 * @candidates: (element-type MwDatabaseCandidate): from mw_config_database_candidates()
 * @source: (out) (optional): where the database was found
 *
 * The first candidate that exists; `POS_DB_PATH` wins even when its file does not
 * exist yet (the app would create it there). When none exists, the app's userData
 * folder (where the app creates it).
 *
 * Returns: (transfer full): the path
 */
char *
mw_config_pick_database (GPtrArray        *candidates,
                         MwDatabaseSource *source)
{
  MwDatabaseCandidate *fallback = NULL;

  g_return_val_if_fail (candidates != NULL && candidates->len > 0, NULL);

  for (guint i = 0; i < candidates->len; i++)
    {
      MwDatabaseCandidate *c = g_ptr_array_index (candidates, i);

      if (c->source == MW_DATABASE_SOURCE_POS_DB_PATH ||
          g_file_test (c->path, G_FILE_TEST_EXISTS))
        {
          if (source != NULL)
            *source = c->source;
          return g_strdup (c->path);
        }
      if (fallback == NULL && c->source == MW_DATABASE_SOURCE_USER_DATA)
        fallback = c;
    }
  if (fallback == NULL)
    fallback = g_ptr_array_index (candidates, 0);
  if (source != NULL)
    *source = MW_DATABASE_SOURCE_DEFAULT;
  return g_strdup (fallback->path);
}

/**
 * mw_database_source_describe:
 *
 * Returns: how the database was found, in words ("found in the app's data folder")
 */
const char *
mw_database_source_describe (MwDatabaseSource source)
{
  switch (source)
    {
    case MW_DATABASE_SOURCE_OPTION:
      return _("named with --database");
    case MW_DATABASE_SOURCE_CONFIG:
      return _("named in the configuration file");
    case MW_DATABASE_SOURCE_POS_DB_PATH:
      return _("named by POS_DB_PATH");
    case MW_DATABASE_SOURCE_USER_DATA:
      return _("found in the app's data folder");
    case MW_DATABASE_SOURCE_NESTED_USER_DATA:
      return _("found in the older versions' nested data folder");
    case MW_DATABASE_SOURCE_DEFAULT:
    default:
      return _("none found: the app's data folder, where the app creates it");
    }
}

/**
 * mw_config_find_database:
 * @source: (out) (optional): where it was found
 *
 * Where the AurSwift app keeps its database on this system (see
 * mw_config_database_candidates()).
 *
 * Returns: (transfer full): the path
 */
char *
mw_config_find_database (MwDatabaseSource *source)
{
  g_autoptr(GPtrArray) candidates = NULL;
  MwPlatform platform;

#if defined(G_OS_WIN32)
  platform = MW_PLATFORM_WINDOWS;
#elif defined(__APPLE__)
  platform = MW_PLATFORM_MACOS;
#else
  platform = MW_PLATFORM_LINUX;
#endif
  candidates = mw_config_database_candidates (platform, g_get_home_dir (),
                                              g_get_user_config_dir (), g_getenv ("APPDATA"),
                                              g_getenv ("POS_DB_PATH"));
  return mw_config_pick_database (candidates, source);
}

/**
 * mw_config_default_database:
 *
 * Where the AurSwift app keeps its database: mw_config_find_database().
 *
 * Returns: (transfer full): the path
 */
char *
mw_config_default_database (void)
{
  return mw_config_find_database (NULL);
}
