/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The configuration file: every key as a technician writes it, relative paths taken
 * from the file's folder, the defaults when a key is absent or not a usable number,
 * errors that name the file, and where the file is looked for.
 */

#include "config.h"

#include <glib/gstdio.h>

#include "mw-test-util.h"

typedef MwTestFixture Fixture;

/* Writes @text as dir/@name and returns its path. */
static char *
write_config (Fixture    *f,
              const char *name,
              const char *text)
{
  char *path = g_build_filename (f->dir, name, NULL);

  mw_test_write_file (path, text);
  return path;
}

static MwConfig *
load (const char *path)
{
  g_autoptr(GError) error = NULL;
  MwConfig *config = mw_config_load (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

/* What the wizard uses when nothing is configured: its own paths, the default busy
 * timeout, 10 pre-migration backups and 5 of each other kind, 3 old sets. */
static void
assert_default_settings (const MwConfig *config)
{
  MwRetention defaults;

  mw_retention_init_defaults (&defaults);
  g_assert_null (config->database);
  g_assert_null (config->migrations);
  g_assert_null (config->backup_dir);
  g_assert_null (config->migrations_table);
  g_assert_cmpuint (config->busy_timeout_ms, ==, 0);
  for (guint i = 0; i < MW_N_BACKUP_REASONS; i++)
    {
      g_assert_cmpuint (config->retention.keep[i], ==, defaults.keep[i]);
      g_assert_cmpuint (config->retention.keep[i], ==,
                        i == MW_BACKUP_REASON_PRE_MIGRATION ? 10 : 5);
    }
  g_assert_cmpuint (config->keep_old_sets, ==, 3);
}

/* ---- a named file --------------------------------------------------------------------- */

static void
test_every_key (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_config (f, "etc/migration-wizard.ini",
    "# An installation that keeps its database beside the configuration\n"
    "[migration-wizard]\n"
    "database=../pos_system.db\n"
    "migrations=../migrations\n"
    "backup-dir=backups\n"
    "migrations-table=app_migrations\n"
    "busy-timeout=5000\n"
    "keep-pre-migration=11\n"
    "keep-pre-restore=12\n"
    "keep-pre-fresh=13\n"
    "keep-pre-repair=14\n"
    "keep-manual=15\n"
    "keep-old-sets=7\n");
  g_autofree char *roundabout = g_build_filename (f->dir, "etc", "..", "etc", ".",
                                                  "migration-wizard.ini", NULL);
  g_autofree char *backups = g_build_filename (f->dir, "etc", "backups", NULL);
  g_autoptr(MwConfig) config = load (roundabout);

  /* The file is named as it is, without the detour it was given by. */
  g_assert_cmpstr (config->path, ==, path);
  g_assert_cmpstr (config->database, ==, f->db);
  g_assert_cmpstr (config->migrations, ==, f->folder);
  g_assert_cmpstr (config->backup_dir, ==, backups);
  g_assert_cmpstr (config->migrations_table, ==, "app_migrations");
  g_assert_cmpuint (config->busy_timeout_ms, ==, 5000);
  g_assert_cmpuint (config->retention.keep[MW_BACKUP_REASON_PRE_MIGRATION], ==, 11);
  g_assert_cmpuint (config->retention.keep[MW_BACKUP_REASON_PRE_RESTORE], ==, 12);
  g_assert_cmpuint (config->retention.keep[MW_BACKUP_REASON_PRE_FRESH], ==, 13);
  g_assert_cmpuint (config->retention.keep[MW_BACKUP_REASON_PRE_REPAIR], ==, 14);
  g_assert_cmpuint (config->retention.keep[MW_BACKUP_REASON_MANUAL], ==, 15);
  g_assert_cmpuint (config->keep_old_sets, ==, 7);
}

/* A file named relative to the current folder: its paths are still taken from the
 * file's own folder. */
static void
test_relative_file_name (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_config (f, "etc/migration-wizard.ini",
                                        "[migration-wizard]\ndatabase=shop.db\n");
  g_autofree char *expected_db = g_build_filename (f->dir, "etc", "shop.db", NULL);
  g_autofree char *cwd = g_get_current_dir ();
  g_autoptr(MwConfig) config = NULL;

  g_assert_cmpint (g_chdir (f->dir), ==, 0);
  config = load ("etc/migration-wizard.ini");
  g_assert_cmpint (g_chdir (cwd), ==, 0);

  g_assert_cmpstr (config->path, ==, path);
  g_assert_cmpstr (config->database, ==, expected_db);
}

static void
test_absolute_paths_kept (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_config (f, "migration-wizard.ini",
    "[migration-wizard]\n"
    "database=/srv/pos/pos_system.db\n"
    "migrations=/opt/AurSwift/resources/migrations\n"
    "backup-dir=/srv/pos//backups/\n");
  g_autoptr(MwConfig) config = load (path);

  g_assert_cmpstr (config->database, ==, "/srv/pos/pos_system.db");
  g_assert_cmpstr (config->migrations, ==, "/opt/AurSwift/resources/migrations");
  g_assert_cmpstr (config->backup_dir, ==, "/srv/pos/backups");
}

/* Keys left out, left empty, or in another program's group change nothing. */
static void
test_defaults (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_config (f, "migration-wizard.ini",
    "[migration-wizard]\n"
    "database=\n"
    "backup-dir=\n"
    "[another-program]\n"
    "migrations=/opt/other/migrations\n"
    "busy-timeout=100\n"
    "keep-manual=1\n"
    "keep-old-sets=1\n");
  g_autoptr(MwConfig) config = load (path);

  g_assert_cmpstr (config->path, ==, path);
  assert_default_settings (config);
}

/* What the code ignores: zero, negative, not a number, too big for an int. */
static void
test_invalid_numbers_ignored (Fixture *f, gconstpointer data)
{
  static const char *lines[] = {
    "busy-timeout=0",
    "busy-timeout=-5",
    "busy-timeout=soon",
    "keep-pre-migration=0",
    "keep-pre-restore=-1",
    "keep-pre-fresh=many",
    "keep-pre-repair=99999999999",
    "keep-manual=-3",
    "keep-old-sets=0",
    "keep-old-sets=-2",
    "keep-old-sets=7.5",
  };

  for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      g_autofree char *text = g_strdup_printf ("[migration-wizard]\n%s\n", lines[i]);
      g_autofree char *path = write_config (f, "migration-wizard.ini", text);
      g_autoptr(MwConfig) config = load (path);

      g_test_message ("%s", lines[i]);
      assert_default_settings (config);
    }
}

/* The smallest values that count. */
static void
test_smallest_numbers_kept (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_config (f, "migration-wizard.ini",
    "[migration-wizard]\n"
    "busy-timeout=1\n"
    "keep-pre-migration=1\n"
    "keep-manual=1\n"
    "keep-old-sets=1\n");
  g_autoptr(MwConfig) config = load (path);

  g_assert_cmpuint (config->busy_timeout_ms, ==, 1);
  g_assert_cmpuint (config->retention.keep[MW_BACKUP_REASON_PRE_MIGRATION], ==, 1);
  g_assert_cmpuint (config->retention.keep[MW_BACKUP_REASON_MANUAL], ==, 1);
  g_assert_cmpuint (config->retention.keep[MW_BACKUP_REASON_PRE_FRESH], ==, 5);
  g_assert_cmpuint (config->keep_old_sets, ==, 1);
}

static void
test_named_file_missing (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "etc", "migration-wizard.ini", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MwConfig) config = mw_config_load (path, &error);

  g_assert_null (config);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  mw_test_assert_mentions (error->message, path);
}

static void
test_named_file_malformed (Fixture *f, gconstpointer data)
{
  static const char *texts[] = {
    "[migration-wizard\ndatabase=/srv/pos/pos_system.db\n",
    "database=/srv/pos/pos_system.db\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autofree char *path = write_config (f, "migration-wizard.ini", texts[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(MwConfig) config = mw_config_load (path, &error);
      g_autofree char *shown = g_strescape (texts[i], NULL);

      g_test_message ("%s", shown);
      g_assert_null (config);
      g_assert_nonnull (error);
      g_assert_true (error->domain == G_KEY_FILE_ERROR);
      mw_test_assert_mentions (error->message, path);
    }
}

/* ---- the search list ------------------------------------------------------------------ */

/* GLib reads XDG_CONFIG_HOME and XDG_CONFIG_DIRS once per process, so each search case
 * runs again in a child whose variables point into a fresh folder. */
typedef struct
{
  char *base;
  char *home;      /* XDG_CONFIG_HOME */
  char *system1;   /* XDG_CONFIG_DIRS, first */
  char *system2;   /* and second */
} Xdg;

static void
xdg_init (Xdg        *x,
          const char *base)
{
  x->base = g_strdup (base);
  x->home = g_build_filename (base, "home config", NULL);
  x->system1 = g_build_filename (base, "etc", "xdg", NULL);
  x->system2 = g_build_filename (base, "usr", "etc", "xdg", NULL);
}

static void
xdg_clear (Xdg *x)
{
  g_clear_pointer (&x->base, g_free);
  g_clear_pointer (&x->home, g_free);
  g_clear_pointer (&x->system1, g_free);
  g_clear_pointer (&x->system2, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Xdg, xdg_clear)

/* Where the wizard looks in @config_dir. */
static char *
file_in (const char *config_dir)
{
  return g_build_filename (config_dir, "migration-wizard", "migration-wizard.ini", NULL);
}

static void
put_config (const char *config_dir,
            const char *text)
{
  g_autofree char *path = file_in (config_dir);

  mw_test_write_file (path, text);
}

static void
restore_env (const char *name,
             const char *value)
{
  if (value != NULL)
    g_setenv (name, value, TRUE);
  else
    g_unsetenv (name);
}

/* In the parent, runs this test in a child and returns FALSE once it passed; in the
 * child, returns TRUE with @x describing its folders. */
static gboolean
in_child (Xdg *x)
{
  g_autofree char *saved_home = NULL, *saved_dirs = NULL, *dirs = NULL;
  Xdg parent = { NULL };
  char *base;

  if (g_test_subprocess ())
    {
      xdg_init (x, g_getenv ("MW_TEST_XDG_BASE"));
      /* Nothing read them before the test changed them. */
      g_assert_cmpstr (g_get_user_config_dir (), ==, x->home);
      return TRUE;
    }

  base = mw_test_make_tmp_dir ("xdg");
  xdg_init (&parent, base);
  g_free (base);
  dirs = g_strjoin (G_SEARCHPATH_SEPARATOR_S, parent.system1, parent.system2, NULL);
  saved_home = g_strdup (g_getenv ("XDG_CONFIG_HOME"));
  saved_dirs = g_strdup (g_getenv ("XDG_CONFIG_DIRS"));
  g_setenv ("MW_TEST_XDG_BASE", parent.base, TRUE);
  g_setenv ("XDG_CONFIG_HOME", parent.home, TRUE);
  g_setenv ("XDG_CONFIG_DIRS", dirs, TRUE);

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);

  restore_env ("XDG_CONFIG_HOME", saved_home);
  restore_env ("XDG_CONFIG_DIRS", saved_dirs);
  g_unsetenv ("MW_TEST_XDG_BASE");
  mw_test_remove_tree (parent.base);
  xdg_clear (&parent);
  g_test_trap_assert_passed ();
  return FALSE;
}

static void
test_search_order (void)
{
  g_auto(Xdg) x = { NULL };
  g_auto(GStrv) list = NULL;
  g_autofree char *user = NULL, *system1 = NULL, *system2 = NULL, *default_db = NULL;
  g_autofree char *expected_db = NULL;

  if (!in_child (&x))
    return;

  list = mw_config_search_list ();
  user = file_in (x.home);
  system1 = file_in (x.system1);
  system2 = file_in (x.system2);
  g_assert_cmpuint (g_strv_length (list), ==, 3);
  g_assert_cmpstr (list[0], ==, user);
  g_assert_cmpstr (list[1], ==, system1);
  g_assert_cmpstr (list[2], ==, system2);

  /* The AurSwift app's own database, under the same user folder. */
  default_db = mw_config_default_database ();
  expected_db = g_build_filename (x.home, "aurswift", "pos_system.db", NULL);
  g_assert_cmpstr (default_db, ==, expected_db);
}

/* Where the AurSwift app really keeps its database, on each system, searched in
 * order: POS_DB_PATH, Electron's userData folder "aurswift" (lowercase), the older
 * versions' nested userData/aurswift/; the first found wins and says which it was. */
static void
test_database_locations (void)
{
  g_autofree char *base = mw_test_make_tmp_dir ("locations");
  g_autofree char *home = g_build_filename (base, "home", NULL);
  g_autofree char *xdg = g_build_filename (home, ".config", NULL);
  g_autofree char *appdata = g_build_filename (home, "AppData", "Roaming", NULL);
  g_autofree char *override = g_build_filename (base, "pos", "shop.db", NULL);
  const struct {
    MwPlatform  platform;
    const char *user_data;
  } systems[] = {
    { MW_PLATFORM_LINUX, ".config/aurswift" },
    { MW_PLATFORM_WINDOWS, "AppData/Roaming/aurswift" },
    { MW_PLATFORM_MACOS, "Library/Application Support/aurswift" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (systems); i++)
    {
      g_autofree char *user_data = g_build_filename (home, systems[i].user_data, NULL);
      g_autofree char *current = g_build_filename (user_data, "pos_system.db", NULL);
      g_autofree char *nested = g_build_filename (user_data, "aurswift", "pos_system.db", NULL);
      MwDatabaseSource source = MW_DATABASE_SOURCE_OPTION;

      /* Nothing there yet: where the app creates it. */
      {
        g_autoptr(GPtrArray) list = mw_config_database_candidates (systems[i].platform, home,
                                                                   xdg, appdata, NULL);
        g_autofree char *picked = mw_config_pick_database (list, &source);

        g_assert_cmpuint (list->len, ==, 2);
        g_assert_cmpstr (picked, ==, current);
        g_assert_cmpint (source, ==, MW_DATABASE_SOURCE_DEFAULT);
      }

      /* Only the older nested one: found, and said so. */
      g_assert_cmpint (g_mkdir_with_parents (user_data, 0755), ==, 0);
      {
        g_autofree char *dir = g_path_get_dirname (nested);

        g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      }
      mw_test_write_file (nested, "");
      {
        g_autoptr(GPtrArray) list = mw_config_database_candidates (systems[i].platform, home,
                                                                   xdg, appdata, NULL);
        g_autofree char *picked = mw_config_pick_database (list, &source);

        g_assert_cmpstr (picked, ==, nested);
        g_assert_cmpint (source, ==, MW_DATABASE_SOURCE_NESTED_USER_DATA);
      }

      /* Both: the current place first. */
      mw_test_write_file (current, "");
      {
        g_autoptr(GPtrArray) list = mw_config_database_candidates (systems[i].platform, home,
                                                                   xdg, appdata, NULL);
        g_autofree char *picked = mw_config_pick_database (list, &source);

        g_assert_cmpstr (picked, ==, current);
        g_assert_cmpint (source, ==, MW_DATABASE_SOURCE_USER_DATA);
      }

      /* POS_DB_PATH overrides them all, a file or a folder. */
      {
        g_autoptr(GPtrArray) list = mw_config_database_candidates (systems[i].platform, home,
                                                                   xdg, appdata, override);
        g_autofree char *picked = mw_config_pick_database (list, &source);

        g_assert_cmpstr (picked, ==, override);
        g_assert_cmpint (source, ==, MW_DATABASE_SOURCE_POS_DB_PATH);
      }
      {
        g_autoptr(GPtrArray) list = mw_config_database_candidates (systems[i].platform, home,
                                                                   xdg, appdata, user_data);
        g_autofree char *picked = mw_config_pick_database (list, &source);

        g_assert_cmpstr (picked, ==, current);
        g_assert_cmpint (source, ==, MW_DATABASE_SOURCE_POS_DB_PATH);
      }
      g_assert_nonnull (mw_database_source_describe (source));
    }

  /* On Linux without XDG_CONFIG_HOME: ~/.config. Windows without %APPDATA%: Roaming. */
  {
    g_autoptr(GPtrArray) linux_list = mw_config_database_candidates (MW_PLATFORM_LINUX, home,
                                                                     NULL, NULL, NULL);
    g_autoptr(GPtrArray) windows_list = mw_config_database_candidates (MW_PLATFORM_WINDOWS,
                                                                       home, NULL, NULL, NULL);
    g_autofree char *linux_db = g_build_filename (xdg, "aurswift", "pos_system.db", NULL);
    g_autofree char *windows_db = g_build_filename (appdata, "aurswift", "pos_system.db", NULL);

    g_assert_cmpstr (((MwDatabaseCandidate *) g_ptr_array_index (linux_list, 0))->path, ==,
                     linux_db);
    g_assert_cmpstr (((MwDatabaseCandidate *) g_ptr_array_index (windows_list, 0))->path, ==,
                     windows_db);
  }
  mw_test_remove_tree (base);
}

static void
test_search_user_first (void)
{
  g_auto(Xdg) x = { NULL };
  g_autoptr(MwConfig) config = NULL;
  g_autofree char *user = NULL;

  if (!in_child (&x))
    return;

  put_config (x.system1, "[migration-wizard]\ndatabase=/srv/system1.db\n");
  put_config (x.home, "[migration-wizard]\ndatabase=/srv/user.db\nkeep-manual=2\n");
  config = load (NULL);
  user = file_in (x.home);
  g_assert_cmpstr (config->path, ==, user);
  g_assert_cmpstr (config->database, ==, "/srv/user.db");
  g_assert_cmpuint (config->retention.keep[MW_BACKUP_REASON_MANUAL], ==, 2);
}

static void
test_search_system_dirs_in_order (void)
{
  g_auto(Xdg) x = { NULL };
  g_autofree char *system1 = NULL, *system2 = NULL;

  if (!in_child (&x))
    return;

  system1 = file_in (x.system1);
  system2 = file_in (x.system2);
  put_config (x.system2, "[migration-wizard]\ndatabase=/srv/system2.db\n");
  {
    g_autoptr(MwConfig) config = load (NULL);

    g_assert_cmpstr (config->path, ==, system2);
    g_assert_cmpstr (config->database, ==, "/srv/system2.db");
  }

  put_config (x.system1, "[migration-wizard]\ndatabase=/srv/system1.db\n");
  {
    g_autoptr(MwConfig) config = load (NULL);

    g_assert_cmpstr (config->path, ==, system1);
    g_assert_cmpstr (config->database, ==, "/srv/system1.db");
  }
}

/* A folder where the user's file would be is not a file: the next place is used. */
static void
test_search_skips_folder (void)
{
  g_auto(Xdg) x = { NULL };
  g_autoptr(MwConfig) config = NULL;
  g_autofree char *in_the_way = NULL, *system1 = NULL;

  if (!in_child (&x))
    return;

  in_the_way = file_in (x.home);
  g_assert_cmpint (g_mkdir_with_parents (in_the_way, 0755), ==, 0);
  put_config (x.system1, "[migration-wizard]\ndatabase=/srv/system1.db\n");
  config = load (NULL);
  system1 = file_in (x.system1);
  g_assert_cmpstr (config->path, ==, system1);
  g_assert_cmpstr (config->database, ==, "/srv/system1.db");
}

static void
test_search_nothing_found (void)
{
  g_auto(Xdg) x = { NULL };
  g_autoptr(MwConfig) config = NULL;

  if (!in_child (&x))
    return;

  config = load (NULL);
  g_assert_null (config->path);
  assert_default_settings (config);
}

/* A file found but unreadable is reported, naming it, rather than passed over for a
 * system-wide one the user did not mean. */
static void
test_search_found_file_malformed (void)
{
  g_auto(Xdg) x = { NULL };
  g_autoptr(MwConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *user = NULL;

  if (!in_child (&x))
    return;

  put_config (x.home, "[migration-wizard\ndatabase=/srv/user.db\n");
  put_config (x.system1, "[migration-wizard]\ndatabase=/srv/system1.db\n");
  config = mw_config_load (NULL, &error);
  user = file_in (x.home);
  g_assert_null (config);
  g_assert_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE);
  mw_test_assert_mentions (error->message, user);
}


/* The migrations table: from the command line, else the configuration, and the set
 * read with the settings carries it (the diagnosis and the migrator use it). */
static void
test_migrations_table_setting (Fixture *f, gconstpointer data)
{
  const MwTestMigration one[] = {
    { "0000_init", 1700000000000, "CREATE TABLE `shops` (`id` text PRIMARY KEY NOT NULL);" },
    { NULL }
  };
  g_autofree char *path = write_config (f, "pos.ini",
                                        "[migration-wizard]\nmigrations-table=app_migrations\n");
  g_autoptr(MwSettings) configured = mw_settings_new ();
  g_autoptr(MwSettings) given = mw_settings_new ();
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(GError) error = NULL;

  mw_test_write_migrations (f->folder, one);
  configured->config_path = g_strdup (path);
  configured->migrations = g_strdup (f->folder);
  g_assert_true (mw_settings_resolve (configured, &error));
  g_assert_cmpstr (configured->migrations_table, ==, "app_migrations");
  set = mw_settings_load_migrations (configured, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mw_migration_set_get_table (set), ==, "app_migrations");

  given->config_path = g_strdup (path);
  given->migrations_table = g_strdup ("pos_migrations");
  g_assert_true (mw_settings_resolve (given, &error));
  g_assert_cmpstr (given->migrations_table, ==, "pos_migrations");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) \
  g_test_add ("/mw/engine/config/" path, Fixture, NULL, mw_test_fixture_set_up, fn, \
              mw_test_fixture_tear_down)
  ADD ("every-key", test_every_key);
  ADD ("relative-file-name", test_relative_file_name);
  ADD ("absolute-paths-kept", test_absolute_paths_kept);
  ADD ("defaults", test_defaults);
  ADD ("invalid-numbers-ignored", test_invalid_numbers_ignored);
  ADD ("smallest-numbers-kept", test_smallest_numbers_kept);
  ADD ("named-file-missing", test_named_file_missing);
  ADD ("named-file-malformed", test_named_file_malformed);
  ADD ("migrations-table", test_migrations_table_setting);
#undef ADD

  g_test_add_func ("/mw/engine/config/search/order", test_search_order);
  g_test_add_func ("/mw/engine/config/search/user-first", test_search_user_first);
  g_test_add_func ("/mw/engine/config/database/real-locations-in-order", test_database_locations);
  g_test_add_func ("/mw/engine/config/search/system-dirs-in-order",
                   test_search_system_dirs_in_order);
  g_test_add_func ("/mw/engine/config/search/skips-folder", test_search_skips_folder);
  g_test_add_func ("/mw/engine/config/search/nothing-found", test_search_nothing_found);
  g_test_add_func ("/mw/engine/config/search/found-file-malformed",
                   test_search_found_file_malformed);

  return g_test_run ();
}
