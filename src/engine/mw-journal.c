/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-journal"

#include "config.h"

#include <errno.h>
#include <string.h>
#ifdef G_OS_UNIX
# include <unistd.h>
#endif
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mw-error.h"
#include "mw-fs-private.h"
#include "mw-journal-private.h"
#include "mw-json-private.h"
#include "mw-operation.h"

/*
 * The operation journal, and recovery from a crash.
 *
 * Restore, fresh start and putting a repaired copy in place all build the new
 * database beside the old one under a temporary name, then move the old database
 * aside together with its -wal, -shm and -journal, then rename the new one into place.
 * Before each step, the operation journal (`<db>.mw-operation`, a small fsynced JSON
 * file beside the database) records how far it got, so that at the next start
 * mw_operation_recover() either undoes an operation that had not yet reached the point
 * of no return (only our temporary file is removed) or finishes one that had (the new
 * database is verified and durable before anything of the old one moves). Nothing the
 * user had is ever deleted: the old set keeps its data under `<db>.old.YYYYMMDD-HHMMSS`.
 *
 * The journal is a file in the database's folder, which others may be able to write
 * to. It is obeyed only when every name in it is one this code could have written:
 * the temporary database and the aside name of its own patterns, in the database's
 * own folder. Anything else (a name elsewhere, a step or operation it does not know,
 * a file too big, nested too deep, a symlink) stops every command with
 * %MW_ENGINE_ERROR_OPERATION_JOURNAL before anything is touched.
 */

/* ---- the journal --------------------------------------------------------------------- */

void
mw_journal_clear (MwJournal *j)
{
  g_free (j->operation);
  g_free (j->step);
  g_free (j->tmp);
  g_free (j->aside);
  g_free (j->started);
}

/**
 * mw_journal_init:
 * @operation: "restore", "fresh", "repair" or "failed-restore"
 *
 * Fills @j for a new operation on @database_path: its temporary database beside it
 * (`<db>.mw-<operation>`) and where the old set goes (`<db>.old.YYYYMMDD-HHMMSS`).
 * Nothing is written yet.
 */
void
mw_journal_init (MwJournal  *j,
                 const char *operation,
                 const char *database_path)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  /* Absolute names: the next command may run from another folder. */
  g_autofree char *canonical = g_canonicalize_filename (database_path, NULL);

  j->operation = g_strdup (operation);
  j->tmp = g_strconcat (canonical, ".mw-", operation, NULL);
  j->aside = mw_unique_aside (canonical, "old");
  j->started = g_date_time_format_iso8601 (now);
}

/**
 * mw_journal_check_names:
 *
 * Whether every name @j will use beside the database (the temporary database, the
 * aside name, each with a "-journal") fits in a file name: checked before anything
 * is done, so that an operation never stops half-way on a name too long.
 */
gboolean
mw_journal_check_names (const MwJournal  *j,
                        GError          **error)
{
  const char *names[] = { j->tmp, j->aside };
  g_autofree char *dir = g_path_get_dirname (j->aside);
  glong name_max = -1;

#ifdef G_OS_UNIX
  name_max = pathconf (dir, _PC_NAME_MAX);
#endif
  if (name_max <= 0)
    name_max = 255;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *base = g_path_get_basename (names[i]);

      if ((glong) (strlen (base) + strlen ("-journal")) > name_max)
        {
          g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                       _("The database's file name is too long for the names the wizard keeps "
                         "beside it (%s would be longer than %ld characters). Nothing was "
                         "changed; give the database a shorter name."),
                       base, name_max);
          return FALSE;
        }
    }
  return TRUE;
}

/**
 * mw_operation_journal_path:
 *
 * Returns: (transfer full): `<db>.mw-operation`, where an operation records how far
 *   it got
 */
char *
mw_operation_journal_path (const char *database_path)
{
  return g_strconcat (database_path, ".mw-operation", NULL);
}

/**
 * mw_journal_write:
 *
 * Records that @j has reached @step, durably (the file and its folder fsynced).
 */
gboolean
mw_journal_write (const char  *database_path,
                  MwJournal   *j,
                  const char  *step,
                  GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = mw_operation_journal_path (database_path);
  g_autofree char *text = NULL;

  g_free (j->step);
  j->step = g_strdup (step);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "operation");
  json_builder_add_string_value (builder, j->operation);
  json_builder_set_member_name (builder, "step");
  json_builder_add_string_value (builder, j->step);
  json_builder_set_member_name (builder, "tmp");
  json_builder_add_string_value (builder, j->tmp);
  json_builder_set_member_name (builder, "aside");
  json_builder_add_string_value (builder, j->aside);
  json_builder_set_member_name (builder, "started");
  json_builder_add_string_value (builder, j->started);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);

  return mw_fs_write_atomic (path, text, strlen (text), 0600, error);
}

static const char * const operations[] = { "restore", "fresh", "repair", "adopt", "failed-restore" };
static const char * const steps[] = { "backing-up", "copying", "copied", "created", "moved" };

static gboolean
one_of (const char         *text,
        const char * const *list,
        guint               n)
{
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (text, list[i]) == 0)
      return TRUE;
  return FALSE;
}

/* "YYYYMMDD-HHMMSS" or "YYYYMMDD-HHMMSS-N", exactly: what mw_unique_aside() and the
 * repaired copies' names end with. */
static gboolean
is_stamp (const char *s)
{
  for (guint i = 0; i < 15; i++)
    if (i == 8 ? s[i] != '-' : !g_ascii_isdigit (s[i]))
      return FALSE;
  if (s[15] == '\0')
    return TRUE;
  if (s[15] != '-' || s[16] == '\0')
    return FALSE;
  for (const char *p = s + 16; *p; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}

/* Whether @name is in @dir, and its file name is @base followed by @infix and, if
 * @stamped, a stamp — else exactly @base followed by @infix. */
static gboolean
is_own_name (const char *name,
             const char *dir,
             const char *base,
             const char *infix,
             gboolean    stamped)
{
  g_autofree char *canonical = g_canonicalize_filename (name, NULL);
  g_autofree char *name_dir = g_path_get_dirname (canonical);
  g_autofree char *name_base = g_path_get_basename (canonical);
  g_autofree char *prefix = g_strconcat (base, infix, NULL);

  if (!g_str_equal (name_dir, dir) || !g_str_has_prefix (name_base, prefix))
    return FALSE;
  return stamped ? is_stamp (name_base + strlen (prefix))
                 : name_base[strlen (prefix)] == '\0';
}

/* Reads the journal and checks that it is one this code could have written. */
static gboolean
journal_read (const char  *database_path,
              MwJournal   *j,
              GError     **error)
{
  g_autofree char *path = mw_operation_journal_path (database_path);
  g_autofree char *canonical = g_canonicalize_filename (database_path, NULL);
  g_autofree char *dir = g_path_get_dirname (canonical);
  g_autofree char *base = g_path_get_basename (canonical);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *tmp_infix = NULL;
  JsonObject *obj;
  const char *why = NULL;

  root = mw_json_load_file (path, MW_FS_MAX_OWN_JSON, &local_error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_OPERATION_JOURNAL,
                   _("An interrupted operation left %s, which cannot be read (%s). Nothing "
                     "was changed; contact support."),
                   path, local_error ? local_error->message : _("it is not a JSON object"));
      return FALSE;
    }
  obj = json_node_get_object (root);
  j->operation = g_strdup (mw_json_get_string (obj, "operation", ""));
  j->step = g_strdup (mw_json_get_string (obj, "step", ""));
  j->tmp = g_strdup (mw_json_get_string (obj, "tmp", ""));
  j->aside = g_strdup (mw_json_get_string (obj, "aside", ""));
  j->started = g_strdup (mw_json_get_string (obj, "started", ""));

  /* A repair's copy is `<db>.repaired-<stamp>`, an adoption's `<db>.adopted-<stamp>`,
   * the others' `<db>.mw-<operation>`. */
  tmp_infix = g_strconcat (".mw-", j->operation, NULL);
  if (!one_of (j->operation, operations, G_N_ELEMENTS (operations)))
    why = _("it names an operation this program does not perform");
  else if (!one_of (j->step, steps, G_N_ELEMENTS (steps)))
    why = _("it names a step this program does not take");
  else if (g_str_equal (j->operation, "repair")
           ? !is_own_name (j->tmp, dir, base, ".repaired-", TRUE)
           : g_str_equal (j->operation, "adopt")
           ? !is_own_name (j->tmp, dir, base, ".adopted-", TRUE)
           : !is_own_name (j->tmp, dir, base, tmp_infix, FALSE))
    why = _("its temporary database is not one this program would have made beside the "
            "database");
  else if (!is_own_name (j->aside, dir, base,
                         g_str_equal (j->operation, "failed-restore") ? ".failed." : ".old.",
                         TRUE))
    why = _("the name it would keep the database under is not one this program would "
            "have chosen beside the database");

  if (why != NULL)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_OPERATION_JOURNAL,
                   _("%s was not written by this program: %s. Nothing was touched. Move "
                     "that file away (or ask support to look at it), then try again."),
                   path, why);
      return FALSE;
    }
  return TRUE;
}

/**
 * mw_journal_remove:
 *
 * The operation is over, done or undone: its journal goes, durably.
 */
gboolean
mw_journal_remove (const char  *database_path,
                   GError     **error)
{
  g_autofree char *path = mw_operation_journal_path (database_path);
  g_autofree char *dir = g_path_get_dirname (database_path);

  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      mw_fs_set_error (error, errno, _("Cannot remove %s"), path);
      return FALSE;
    }
  return mw_fsync_path (dir, TRUE, error);
}

/**
 * mw_journal_finish:
 *
 * The last steps, shared by an operation and its recovery: old set aside, new database
 * in place, journal gone. Call it only once the new database (@j's tmp) is complete
 * and durable and the journal says so: from then on, a crash is finished, not undone.
 */
gboolean
mw_journal_finish (const char  *database_path,
                   MwJournal   *j,
                   GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (database_path);
  g_autoptr(GError) mode_error = NULL;

  /* Not yet moved, and nothing to put in place (a failure made the operation remove
   * its new database, but not its journal): undone, the database stays. */
  if (g_strcmp0 (j->step, "moved") != 0 && !mw_fs_lexists (j->tmp))
    return mw_journal_remove (database_path, error);

  if (g_strcmp0 (j->step, "moved") != 0)
    {
      /* The new database gets the permissions (and, as root, the owner) of the one it
       * replaces; it was created private (0600). */
      if (mw_fs_lexists (database_path) && mw_fs_lexists (j->tmp) &&
          !mw_fs_copy_mode (database_path, j->tmp, &mode_error))
        g_message ("%s stays private (0600): %s", j->tmp, mode_error->message);

      /* The set moves whole and as it is: a hot -journal moves with its database (and
       * is played back when that is next opened), so nothing of it can be lost here. */
      if (!mw_move_set_aside (database_path, j->aside, error) ||
          !mw_journal_write (database_path, j, "moved", error))
        return FALSE;
    }
  else if (mw_fs_lexists (j->aside) && mw_fs_lexists (j->tmp) &&
           !mw_fs_copy_mode (j->aside, j->tmp, &mode_error))
    g_message ("%s stays private (0600): %s", j->tmp, mode_error->message);

  if (mw_fs_lexists (j->tmp))
    {
      /* Something (the POS?) created a new database in between: keep it too. */
      if (mw_fs_lexists (database_path))
        {
          g_autofree char *other = mw_unique_aside (database_path, "old");

          if (!mw_move_set_aside (database_path, other, error))
            return FALSE;
        }
      if (!mw_rename (j->tmp, database_path, error) || !mw_fsync_path (dir, TRUE, error))
        return FALSE;
    }

  return mw_journal_remove (database_path, error);
}

/* ---- recovery ------------------------------------------------------------------------ */

/**
 * mw_operation_recover:
 *
 * Finishes or undoes an operation a crash interrupted. Call it before anything else.
 *
 * Returns: (transfer full) (nullable): what was done, for the person; %NULL if there
 *   was nothing to recover (or on error, with @error set)
 */
char *
mw_operation_recover (const char  *database_path,
                      GError     **error)
{
  g_autofree char *path = mw_operation_journal_path (database_path);
  g_auto(MwJournal) j = { 0 };
  g_autoptr(GError) local_error = NULL;
  const char *what;

  if (!mw_fs_lexists (path))
    return NULL;

  if (!journal_read (database_path, &j, error))
    return NULL;

  what = g_str_equal (j.operation, "fresh") ? _("Start fresh")
       : g_str_equal (j.operation, "repair") ? _("Use the repaired database")
       : g_str_equal (j.operation, "adopt") ? _("Update and keep the data")
       : g_str_equal (j.operation, "failed-restore") ? _("Restoring the backup after a failed update")
       : _("Restore from backup");

  if (g_str_equal (j.step, "copied") || g_str_equal (j.step, "created") ||
      g_str_equal (j.step, "moved"))
    {
      if (!mw_journal_finish (database_path, &j, &local_error))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      _("“%s” was interrupted and cannot be completed yet (it "
                                        "will be, the next time the wizard runs): "), what);
          return NULL;
        }
      return g_strdup_printf (_("“%s” was interrupted and has now been completed. The "
                                "previous database was kept as %s."), what, j.aside);
    }

  mw_remove_set (j.tmp);
  if (!mw_journal_remove (database_path, error))
    return NULL;
  return g_strdup_printf (_("“%s” was interrupted before it changed anything, and has been "
                            "undone. The database is as it was."), what);
}
