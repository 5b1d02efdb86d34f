/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-remedy"

#include "config.h"

#include <glib/gi18n.h>
#include <errno.h>
#include <glib/gstdio.h>

#include "mw-error.h"
#include "mw-remedy.h"
#include "mw-shop.h"

/*
 * The remedy model: for every state a diagnosis can end in, and every way an
 * operation can fail, which problem it is, what is safe to do, what is recommended
 * and why, and the exit status. This is the one place that decides; the window's
 * pages and the command line's messages and exit codes are lookups into it.
 *
 * Invariants the table below keeps (data-safety rules 1 and 7 in DESIGN.md):
 *  - nothing destructive is ever the recommended action, and only migrating after
 *    an update (the normal path, with its verified backup) is ever automatic;
 *  - Restore is offered only with a verified backup to restore; otherwise it is
 *    shown unavailable, saying why;
 *  - a packaging fault (migrations missing or malformed) offers nothing that
 *    touches the database.
 */

#define MIB (1024.0 * 1024.0)

G_DEFINE_BOXED_TYPE (MwRemedy, mw_remedy, mw_remedy_ref, mw_remedy_unref)

static void
choice_clear (MwChoice *choice)
{
  g_clear_pointer (&choice->why_not, g_free);
  g_clear_pointer (&choice->cost, g_free);
}

static MwRemedy *
remedy_new (const char *id,
            MwExitCode  exit_code)
{
  MwRemedy *self = g_new0 (MwRemedy, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->id = id;
  self->exit_code = exit_code;
  self->choices = g_array_new (FALSE, TRUE, sizeof (MwChoice));
  g_array_set_clear_func (self->choices, (GDestroyNotify) choice_clear);
  return self;
}

MwRemedy *
mw_remedy_ref (MwRemedy *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
mw_remedy_unref (MwRemedy *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->title);
  g_free (self->message);
  g_free (self->detail);
  g_free (self->reason);
  g_array_unref (self->choices);
  g_clear_pointer (&self->backup, mw_backup_unref);
  g_free (self);
}

static void
add_choice (MwRemedy   *self,
            MwAction    action,
            gboolean    available,
            const char *why_not)
{
  MwChoice choice = { action, available, available ? NULL : g_strdup (why_not), NULL };

  g_array_append_val (self->choices, choice);
}

/* ---- exit codes ---------------------------------------------------------------------- */

/**
 * mw_exit_code_for_state:
 *
 * The exit status for a database in @state: `status` ends with it, and so do the
 * window and `migrate` when they stop there.
 */
MwExitCode
mw_exit_code_for_state (MwState state)
{
  switch (state)
    {
    case MW_STATE_UP_TO_DATE:         return MW_EXIT_OK;
    case MW_STATE_PENDING:            return MW_EXIT_PENDING;
    case MW_STATE_MISSING:            return MW_EXIT_MISSING;
    case MW_STATE_NEWER:              return MW_EXIT_NEWER;
    case MW_STATE_HASH_MISMATCH:      return MW_EXIT_HASH_MISMATCH;
    case MW_STATE_UNKNOWN_HISTORY:    return MW_EXIT_UNKNOWN_HISTORY;
    case MW_STATE_UNTRACKED:          return MW_EXIT_UNTRACKED;
    case MW_STATE_LOCKED:             return MW_EXIT_LOCKED;
    case MW_STATE_NO_SPACE:           return MW_EXIT_NO_SPACE;
    case MW_STATE_CORRUPT:            return MW_EXIT_CORRUPT;
    case MW_STATE_NOT_A_DATABASE:     return MW_EXIT_NOT_A_DATABASE;
    case MW_STATE_UNREADABLE:         return MW_EXIT_UNREADABLE;
    case MW_STATE_NO_MIGRATIONS:      return MW_EXIT_NO_MIGRATIONS;
    case MW_STATE_INVALID_MIGRATIONS: return MW_EXIT_INVALID_MIGRATIONS;
    default:                          return MW_EXIT_INTERNAL;
    }
}

/**
 * mw_exit_code_for_error:
 *
 * The exit status for an operation that failed with @error.
 */
MwExitCode
mw_exit_code_for_error (const GError *error)
{
  g_return_val_if_fail (error != NULL, MW_EXIT_INTERNAL);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return MW_EXIT_CANCELLED;
  /* A file error from GLib or GIO is an I/O failure like any other: a full disk is a
   * lack of space, anything else a file that cannot be read or written — never an
   * internal error. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ||
      g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOSPC))
    return MW_EXIT_NO_SPACE;
  if (error->domain == G_IO_ERROR || error->domain == G_FILE_ERROR)
    return MW_EXIT_UNREADABLE;
  if (error->domain != MW_ENGINE_ERROR)
    return MW_EXIT_INTERNAL;

  switch ((MwEngineError) error->code)
    {
    case MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND:  return MW_EXIT_NO_MIGRATIONS;
    case MW_ENGINE_ERROR_MIGRATIONS_INVALID:    return MW_EXIT_INVALID_MIGRATIONS;
    case MW_ENGINE_ERROR_DATABASE_MISSING:      return MW_EXIT_MISSING;
    case MW_ENGINE_ERROR_NOT_A_DATABASE:        return MW_EXIT_NOT_A_DATABASE;
    case MW_ENGINE_ERROR_CORRUPT:               return MW_EXIT_CORRUPT;
    case MW_ENGINE_ERROR_LOCKED:                return MW_EXIT_LOCKED;
    case MW_ENGINE_ERROR_UNREADABLE:            return MW_EXIT_UNREADABLE;
    case MW_ENGINE_ERROR_READ_ONLY:             return MW_EXIT_UNREADABLE;
    case MW_ENGINE_ERROR_NO_SPACE:              return MW_EXIT_NO_SPACE;
    case MW_ENGINE_ERROR_REFUSED:               return MW_EXIT_MIGRATION_FAILED;
    case MW_ENGINE_ERROR_MIGRATION_FAILED:      return MW_EXIT_MIGRATION_FAILED;
    case MW_ENGINE_ERROR_FOREIGN_KEY_VIOLATION: return MW_EXIT_FOREIGN_KEYS;
    case MW_ENGINE_ERROR_BACKUP_FAILED:         return MW_EXIT_BACKUP_FAILED;
    case MW_ENGINE_ERROR_CHECK_FAILED:          return MW_EXIT_CHECK_FAILED;
    case MW_ENGINE_ERROR_BAD_MAPPING:           return MW_EXIT_BAD_MAPPING;
    case MW_ENGINE_ERROR_OPERATION_JOURNAL:     return MW_EXIT_OPERATION_JOURNAL;
    default:                                    return MW_EXIT_INTERNAL;
    }
}

/**
 * mw_state_may_migrate:
 * @accept_modified: a technician accepted changed applied updates (`--accept-modified`)
 *
 * Whether `migrate` may start on a database in @state. Locked may be the POS still
 * closing: the migrator waits for it, and re-reads the history under the lock.
 */
gboolean
mw_state_may_migrate (MwState  state,
                      gboolean accept_modified)
{
  switch (state)
    {
    case MW_STATE_PENDING:
    case MW_STATE_MISSING:
    case MW_STATE_LOCKED:
      return TRUE;
    case MW_STATE_HASH_MISMATCH:
      return accept_modified;
    default:
      return FALSE;
    }
}

/* ---- which backup ------------------------------------------------------------------- */

/**
 * mw_remedy_choose_backup:
 * @wanted: (nullable): a backup's file name or path; %NULL for the default
 *
 * The backup a restore uses. By default the newest verified backup taken before
 * an update (the state the shop ran with), else the newest verified one of any
 * kind. A named backup is found among the backups folder's own (never a file
 * outside it).
 *
 * Returns: (transfer full): the backup, or %NULL with a BACKUP_FAILED error
 */
MwBackup *
mw_remedy_choose_backup (const char  *backup_dir,
                         const char  *wanted,
                         GError     **error)
{
  g_autoptr(GPtrArray) list = NULL;
  g_autofree char *canonical = NULL;
  MwBackup *fallback = NULL;

  g_return_val_if_fail (backup_dir != NULL, NULL);

  list = mw_backup_list (backup_dir, error);
  if (list == NULL)
    return NULL;
  if (wanted != NULL)
    canonical = g_canonicalize_filename (wanted, NULL);

  for (guint i = 0; i < list->len; i++)
    {
      MwBackup *b = g_ptr_array_index (list, i);

      if (wanted != NULL)
        {
          g_autofree char *name = g_path_get_basename (b->path);

          if (g_str_equal (name, wanted) || g_str_equal (b->path, canonical))
            return mw_backup_ref (b);
          continue;
        }
      if (!b->verified)
        continue;
      if (b->reason == MW_BACKUP_REASON_PRE_MIGRATION)
        return mw_backup_ref (b);
      if (fallback == NULL)
        fallback = b;
    }

  if (wanted == NULL && fallback != NULL)
    return mw_backup_ref (fallback);

  if (wanted != NULL)
    g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BACKUP_FAILED,
                 _("There is no backup “%s” in %s."), wanted, backup_dir);
  else
    g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BACKUP_FAILED,
                 _("There is no usable backup in %s%s."), backup_dir, "");
  return NULL;
}

/* ---- remedies for a diagnosis ------------------------------------------------------- */

static char *
format_mb (guint64 bytes)
{
  return mw_shop_format_size (bytes);
}

/* What a technician needs beside the plain words: the state, the files, the folders,
 * the exact error. */
static char *
diagnosis_detail (MwDiagnosis      *d,
                  const MwSettings *settings)
{
  GString *detail = g_string_new (NULL);
  g_autofree char *size = NULL;
  goffset database_size = d->database_size;
  GStatBuf st;

  /* A diagnosis that stopped before the database (no migrations) did not measure it. */
  if (database_size <= 0 && g_stat (d->database_path, &st) == 0)
    database_size = st.st_size;
  size = format_mb ((guint64) database_size);

  g_string_append_printf (detail, _("State: %s\n"), mw_state_to_string (d->state));
  g_string_append_printf (detail, _("Database: %s (%s)\n"), d->database_path, size);
  if (d->set != NULL)
    g_string_append_printf (detail, _("Migrations: %s\n"), mw_migration_set_get_folder (d->set));
  if (settings != NULL && settings->backup_dir != NULL)
    g_string_append_printf (detail, _("Backups: %s\n"), settings->backup_dir);
  if (d->detail != NULL)
    g_string_append_printf (detail, "%s\n", d->detail);
  return g_string_free (detail, FALSE);
}

/* A problem a person can fix and try again: close the POS, free some space… */
static void
make_retry (MwRemedy   *self,
            MwAction    stop,
            const char *reason)
{
  add_choice (self, stop, TRUE, NULL);
  add_choice (self, MW_ACTION_RETRY, TRUE, NULL);
  self->recommended = MW_ACTION_RETRY;
  self->reason = g_strdup (reason);
}

static void
set_cost (MwRemedy   *self,
          MwAction    action,
          char       *cost)
{
  for (guint i = 0; i < self->choices->len; i++)
    {
      MwChoice *c = &g_array_index (self->choices, MwChoice, i);

      if (c->action == action)
        {
          g_free (c->cost);
          c->cost = g_steal_pointer (&cost);
        }
    }
  g_free (cost);
}

/* What restoring the backup costs: the sales made since it, counted in the live
 * database (when it can still be read). */
static char *
restore_cost (MwBackup         *backup,
              const MwSettings *settings)
{
  g_autofree char *when = mw_shop_format_time (backup->created, NULL);
  gint64 lost = settings && settings->database
                ? mw_shop_count_sales_since (settings->database, backup->path,
                                                          backup->created) : -1;

  if (lost < 0)
    return g_strdup_printf (_("Loses everything recorded since %s; the current database is "
                              "kept aside."), when);
  if (lost == 0)
    return g_strdup_printf (_("No sales were made since %s: none are lost. The current "
                              "database is kept aside."), when);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                       "Loses the %ld sale made since %s; the current "
                                       "database is kept aside.",
                                       "Loses the %ld sales made since %s; the current "
                                       "database is kept aside.", (unsigned long) lost),
                          (long) lost, when);
}

/* The ways out when the database cannot be updated as it is, Cancel first (on the
 * left) and the recommended one last. On damage, Try Repair is recommended: it only
 * makes a repaired copy and shows what it recovered before anything changes; a
 * verified backup is offered beside it, with what each costs. Elsewhere Cancel is:
 * each other choice changes files (after asking), and a technician should look. */
static void
make_recovery (MwRemedy         *self,
               const char       *text,
               gboolean          can_fresh,
               gboolean          offer_restore,
               gboolean          offer_repair,
               const MwSettings *settings)
{
  const char *backup_dir = settings ? settings->backup_dir : NULL;
  g_autofree char *why_no_backup = NULL;

  if ((offer_restore || offer_repair) && backup_dir != NULL)
    self->backup = mw_remedy_choose_backup (backup_dir, NULL, NULL);

  if (self->backup != NULL)
    {
      g_autofree char *folder = g_path_get_dirname (self->backup->path);
      g_autofree char *file = g_path_get_basename (self->backup->path);

      self->message = g_strdup_printf (_("%s\n\nThe newest backup is %s in the folder %s."),
                                       text, file, folder);
    }
  else if (offer_restore)
    {
      why_no_backup = g_strdup_printf (_("No usable backup was found in %s."),
                                       backup_dir ? backup_dir : "");
      self->message = g_strdup_printf ("%s\n\n%s", text, why_no_backup);
    }
  else
    self->message = g_strdup (text);

  add_choice (self, MW_ACTION_CANCEL, TRUE, NULL);
  add_choice (self, MW_ACTION_FRESH, can_fresh,
              _("The app's update files are needed to start a new database."));
  set_cost (self, MW_ACTION_FRESH,
            g_strdup (_("Starts empty: no sales, products or staff. The current database is "
                        "kept aside for a technician.")));
  if (offer_restore || (offer_repair && self->backup != NULL))
    {
      add_choice (self, MW_ACTION_RESTORE, self->backup != NULL, why_no_backup);
      if (self->backup != NULL)
        set_cost (self, MW_ACTION_RESTORE, restore_cost (self->backup, settings));
    }
  if (offer_repair)
    {
      add_choice (self, MW_ACTION_REPAIR, TRUE, NULL);
      set_cost (self, MW_ACTION_REPAIR,
                g_strdup (_("Keeps every sale that can still be read; what was on the damaged "
                            "parts is lost. You see what it recovered before anything "
                            "changes.")));
      self->recommended = MW_ACTION_REPAIR;
      self->reason = g_strdup (_("it keeps the most of your data, and nothing changes until "
                                 "you have seen what it recovered."));
      return;
    }
  self->recommended = MW_ACTION_CANCEL;
  self->reason = g_strdup (_("nothing is changed; each other choice asks first and keeps the "
                             "current database, but a technician should look before "
                             "anything is changed."));
}

/* Whether files can be made in @dir, or in the folder that would hold it (it is
 * created when missing). @why: the reason when not. */
static gboolean
folder_writable (const char  *dir,
                 char       **why)
{
  g_autofree char *existing = g_strdup (dir);

  while (!g_file_test (existing, G_FILE_TEST_EXISTS))
    {
      char *parent = g_path_get_dirname (existing);

      if (g_str_equal (parent, existing))
        {
          g_free (parent);
          break;
        }
      g_free (existing);
      existing = parent;
    }
  if (!g_file_test (existing, G_FILE_TEST_IS_DIR))
    {
      *why = g_strdup_printf (_("%s is not a folder"), existing);
      return FALSE;
    }
  if (g_access (existing, W_OK | X_OK) != 0)
    {
      int saved = errno;

      *why = g_strdup (g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* "all 12 418 sales, 311 products and 14 staff": what a shop owner counts. */
static char *
shop_words (MwDiagnosis *d)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) out = g_string_new (NULL);

  if (d->n_sales >= 0)
    g_ptr_array_add (parts, g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%lld sale",
                                                          "%lld sales", (gulong) d->n_sales),
                                             (long long) d->n_sales));
  if (d->n_products >= 0)
    g_ptr_array_add (parts, g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%lld product",
                                                          "%lld products",
                                                          (gulong) d->n_products),
                                             (long long) d->n_products));
  if (d->n_staff >= 0)
    g_ptr_array_add (parts, g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%lld staff member",
                                                          "%lld staff members",
                                                          (gulong) d->n_staff),
                                             (long long) d->n_staff));
  for (guint i = 0; i < parts->len; i++)
    g_string_append_printf (out, "%s%s", i == 0 ? "" : i + 1 == parts->len ? _(" and ") : ", ",
                            (const char *) g_ptr_array_index (parts, i));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* A history that does not fit (untracked, unknown, changed), but the tables could be
 * compared with the app's: keeping the data is possible, and recommended. */
static void
offer_keep_data (MwRemedy         *self,
                 MwDiagnosis      *d,
                 const MwSettings *settings)
{
  g_autofree char *counts = shop_words (d);
  g_autofree char *preview = NULL;
  guint unused = 0;
  gboolean proven;

  if (d->schema == NULL)
    return;
  proven = d->schema->diffs->len == 0;
  for (guint i = 0; i < d->schema->diffs->len; i++)
    if (((MwSchemaDiff *) g_ptr_array_index (d->schema->diffs, i))->kind == MW_SCHEMA_DIFF_EXTRA)
      unused++;

  if (proven)
    preview = g_strdup_printf (_("Its tables are exactly what this version expects at update "
                                 "%u, so only the record of its updates is corrected; %s stay "
                                 "exactly where they are."),
                               d->schema->level, *counts ? counts : _("all its data"));
  else if (unused > 0)
    preview = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                            "Update and Keep My Data carries all %s into this "
                                            "version's tables; %u part this version no longer "
                                            "uses stays in the copy kept aside.",
                                            "Update and Keep My Data carries all %s into this "
                                            "version's tables; %u parts this version no longer "
                                            "uses stay in the copy kept aside.", unused),
                               *counts ? counts : _("its data"), unused);
  else
    preview = g_strdup_printf (_("Update and Keep My Data carries all %s into this version's "
                                 "tables; the database as it is now is kept aside."),
                               *counts ? counts : _("its data"));

  {
    g_autofree char *message = g_strdup_printf ("%s\n\n%s", self->message, preview);

    g_free (self->message);
    self->message = g_steal_pointer (&message);
  }
  add_choice (self, MW_ACTION_ADOPT, TRUE, NULL);
  set_cost (self, MW_ACTION_ADOPT,
            g_strdup (proven ? _("Keeps everything: only the record of the updates is "
                                 "corrected, after a verified backup.")
                             : _("Keeps every row: they are carried into this version's tables "
                                 "after a verified backup; the database as it is now is kept "
                                 "aside.")));
  self->recommended = MW_ACTION_ADOPT;
  g_free (self->reason);
  self->reason = g_strdup (proven
                           ? _("the tables prove which updates the database has: nothing is "
                               "copied, and a verified backup is made first.")
                           : _("nothing is lost: every row is carried, a verified backup is "
                               "made first and the database as it is now is kept aside."));
  /* A changed update whose files still build exactly the recorded tables (a comment,
   * whitespace) must never stop the POS again: after an update it is applied without
   * asking, and logged. */
  self->automatic = proven && d->state == MW_STATE_HASH_MISMATCH && settings != NULL &&
                    settings->after_update;
}

/**
 * mw_remedy_for_diagnosis:
 * @settings: (nullable): where the backups are; after-update mode
 *
 * What a diagnosis means: the page, the words, the choices.
 *
 * Returns: (transfer full): the remedy
 */
MwRemedy *
mw_remedy_for_diagnosis (MwDiagnosis      *d,
                         const MwSettings *settings)
{
  MwRemedy *self;
  gboolean after_update = settings != NULL && settings->after_update;

  g_return_val_if_fail (d != NULL, NULL);

  self = remedy_new (NULL, mw_exit_code_for_state (d->state));
  self->detail = diagnosis_detail (d, settings);

  switch (d->state)
    {
    case MW_STATE_UP_TO_DATE:
      self->id = "up-to-date";
      self->title = g_strdup (_("The database is up to date"));
      self->message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                    "Nothing needs to be done: the %u update "
                                                    "this app has is applied. The POS can "
                                                    "start.",
                                                    "Nothing needs to be done: all %u updates "
                                                    "this app has are applied. The POS can "
                                                    "start.",
                                                    d->n_applied),
                                       d->n_applied);
      add_choice (self, MW_ACTION_RETRY, TRUE, NULL);
      add_choice (self, MW_ACTION_CLOSE, TRUE, NULL);
      self->recommended = MW_ACTION_CLOSE;
      break;

    case MW_STATE_PENDING:
    case MW_STATE_MISSING:
      {
        g_autofree char *why = NULL;

        /* The update starts with a verified backup: a backups folder that cannot be
         * written is said now, not after Update Now. */
        if (d->state == MW_STATE_PENDING && settings != NULL && settings->backup_dir != NULL &&
            !folder_writable (settings->backup_dir, &why))
          {
            self->id = "backup-folder";
            self->exit_code = MW_EXIT_BACKUP_FAILED;
            self->title = g_strdup (_("The Backups Folder Cannot Be Written"));
            self->message = g_strdup_printf (_("The update makes a verified backup first, in "
                                               "the folder %s, and that folder cannot be "
                                               "written (%s). Nothing has been changed.\n\n"
                                               "Make the folder writable, or set backup-dir= in "
                                               "the configuration file to one that is, then "
                                               "choose Try Again."),
                                             settings->backup_dir, why);
            make_retry (self, MW_ACTION_QUIT,
                        _("the update needs its backup: once the folder can be written, it "
                          "starts from here."));
            break;
          }
      }
      self->id = "ready";
      if (d->state == MW_STATE_MISSING)
        {
          self->title = g_strdup (_("Create the database"));
          self->message = g_strdup_printf (_("There is no database at %s yet. A new, empty one "
                                             "can be created now."), d->database_path);
        }
      else
        {
          self->title = g_strdup (_("Updates are ready"));
          self->message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                        "The new version of the app brings %u "
                                                        "update for the database. A backup is "
                                                        "made first; if anything goes wrong, "
                                                        "nothing is changed.",
                                                        "The new version of the app brings %u "
                                                        "updates for the database. A backup is "
                                                        "made first; if anything goes wrong, "
                                                        "nothing is changed.",
                                                        d->n_pending),
                                           d->n_pending);
        }
      add_choice (self, MW_ACTION_CANCEL, TRUE, NULL);
      add_choice (self, MW_ACTION_MIGRATE, TRUE, NULL);
      self->recommended = MW_ACTION_MIGRATE;
      /* The update just installed expects these: applying them is the normal path,
       * with its verified backup; any problem then stops and asks. */
      self->automatic = after_update;
      break;

    case MW_STATE_NO_SPACE:
      self->id = "no-space";
      self->title = g_strdup (_("Not Enough Disk Space"));
      self->message = g_strdup (d->message);
      make_retry (self, MW_ACTION_QUIT,
                  _("free some disk space (the message says where and how much), then try "
                    "again: nothing has been changed."));
      break;

    case MW_STATE_UNTRACKED:
    case MW_STATE_UNKNOWN_HISTORY:
    case MW_STATE_NOT_A_DATABASE:
      self->id = "incompatible";
      self->title = g_strdup (_("Incompatible Database Detected"));
      make_recovery (self, d->message, d->set != NULL, FALSE, FALSE, settings);
      if (d->state != MW_STATE_NOT_A_DATABASE)
        offer_keep_data (self, d, settings);
      break;

    case MW_STATE_HASH_MISMATCH:
      self->id = "hash-mismatch";
      self->title = g_strdup (_("Database Updates Changed"));
      make_recovery (self, d->message, d->set != NULL, TRUE, FALSE, settings);
      offer_keep_data (self, d, settings);
      break;

    case MW_STATE_CORRUPT:
      self->id = "corrupt";
      self->title = g_strdup (_("Database Corruption Detected"));
      make_recovery (self, d->message, d->set != NULL, FALSE, TRUE, settings);
      break;

    case MW_STATE_LOCKED:
      self->id = "locked";
      self->title = g_strdup (_("Database Locked"));
      self->message = g_strdup (d->message);
      make_retry (self, MW_ACTION_CANCEL,
                  _("close the POS (and anything else using the database), then try again."));
      break;

    case MW_STATE_NEWER:
      self->id = "newer";
      self->title = g_strdup (_("Cannot Open Database"));
      self->message = g_strdup (d->message);
      add_choice (self, MW_ACTION_QUIT, TRUE, NULL);
      self->recommended = MW_ACTION_QUIT;
      self->reason = g_strdup (_("only a newer version of the app can open this database: "
                                 "install it; nothing here may change the database."));
      break;

    case MW_STATE_UNREADABLE:
      self->id = "unreadable";
      {
        g_autofree char *folder = g_path_get_dirname (d->database_path);
        g_autofree char *why = NULL;

        /* The file reads, only its folder cannot be written (SQLite needs it for its
         * journal): say that, not "cannot read". */
        if (g_access (d->database_path, R_OK) == 0 && !folder_writable (folder, &why))
          self->title = g_strdup (_("The Database Folder Cannot Be Written"));
        else
          self->title = g_strdup (_("Cannot Read Database"));
      }
      self->message = g_strdup (d->message);
      make_retry (self, MW_ACTION_QUIT,
                  _("this needs the folder or disk fixed first (the message says which); then "
                    "try again."));
      break;

    case MW_STATE_NO_MIGRATIONS:
    case MW_STATE_INVALID_MIGRATIONS:
    default:
      self->id = "installation";
      self->title = g_strdup (_("The App's Installation Is Incomplete"));
      self->message = g_strdup (d->message);
      add_choice (self, MW_ACTION_QUIT, TRUE, NULL);
      self->recommended = MW_ACTION_QUIT;
      self->reason = g_strdup (_("the app needs to be installed again; your database is not "
                                 "touched."));
      break;
    }

  return self;
}

/* ---- remedies for a failed operation ------------------------------------------------ */

static MwRemedy *
remedy_for_migrate_error (const GError     *error,
                          MwMigrator       *migrator,
                          MwDiagnosis      *diagnosis,
                          const MwSettings *settings)
{
  MwRemedy *self = remedy_new (NULL, mw_exit_code_for_error (error));

  self->detail = migrator != NULL
                 ? mw_migrator_failure_to_text (migrator, error,
                                                settings ? settings->database : NULL)
                 : g_strdup (error->message);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      self->id = "cancelled";
      self->title = g_strdup (_("Update Cancelled"));
      self->message = g_strdup (_("The update was cancelled. Nothing was changed: the database "
                                  "is exactly as it was."));
      add_choice (self, MW_ACTION_CLOSE, TRUE, NULL);
      add_choice (self, MW_ACTION_RETRY, TRUE, NULL);
      self->recommended = MW_ACTION_RETRY;
      self->reason = g_strdup (_("the update starts again from the beginning, with a new "
                                 "backup."));
      return self;
    }

  if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_LOCKED))
    {
      self->id = "locked";
      self->title = g_strdup (_("Database Locked"));
      self->message = g_strdup (error->message);
      make_retry (self, MW_ACTION_CANCEL,
                  _("close the POS (and anything else using the database), then try again."));
    }
  else if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_NO_SPACE))
    {
      self->id = "no-space";
      self->title = g_strdup (_("Not Enough Disk Space"));
      self->message = g_strdup (error->message);
      make_retry (self, MW_ACTION_QUIT,
                  _("free some disk space (the message says where and how much), then try "
                    "again: nothing has been changed."));
    }
  else if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_BACKUP_FAILED))
    {
      self->id = "backup-failed";
      self->title = g_strdup (_("Backup Failed"));
      self->message = g_strdup (error->message);
      make_retry (self, MW_ACTION_CANCEL,
                  _("the update did not start, so nothing was changed: make the backups folder "
                    "writable or free space on its disk, then try again."));
    }
  else if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID))
    {
      /* A migration the app's driver would refuse, found before anything ran: the
       * installation's fault, never the data's — nothing that touches the database. */
      self->id = "installation";
      self->title = g_strdup (_("The App's Installation Is Incomplete"));
      self->message = g_strdup (error->message);
      add_choice (self, MW_ACTION_QUIT, TRUE, NULL);
      self->recommended = MW_ACTION_QUIT;
    }
  else if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT))
    {
      self->id = "corrupt";
      self->title = g_strdup (_("Database Corruption Detected"));
      make_recovery (self, error->message, TRUE, FALSE, TRUE, settings);
    }
  else if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_REFUSED) &&
           diagnosis != NULL)
    {
      /* The database changed between the check and the update (another program):
       * what it is now decides, so check again. */
      self->id = "recheck";
      self->title = g_strdup (_("The Database Changed"));
      self->message = g_strdup (error->message);
      add_choice (self, MW_ACTION_RETRY, TRUE, NULL);
      self->recommended = MW_ACTION_RETRY;
      self->automatic = TRUE;
    }
  else
    {
      g_autofree char *text = NULL;

      /* Rolled back, so the database is as it was — except after a commit that then
       * failed its check, where the error says what was kept aside and put back. */
      if (g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CHECK_FAILED))
        text = g_strdup (error->message);
      else
        text = g_strdup_printf (_("%s\n\nThe database was not changed."), error->message);
      self->id = "migration-failed";
      self->title = g_strdup (_("Database Migration Failed"));
      make_recovery (self, text, TRUE, TRUE, FALSE, settings);
    }
  return self;
}

/**
 * mw_remedy_for_error:
 * @operation: what failed
 * @migrator: (nullable): the migrator, when @operation is a migrate
 * @diagnosis: (nullable): the diagnosis the operation started from
 * @settings: (nullable): where the backups are
 *
 * What a failed operation means, and the ways out.
 *
 * Returns: (transfer full): the remedy
 */
MwRemedy *
mw_remedy_for_error (MwOperation       operation,
                     const GError     *error,
                     MwMigrator       *migrator,
                     MwDiagnosis      *diagnosis,
                     const MwSettings *settings)
{
  MwRemedy *self;
  gboolean cancelled, no_space;

  g_return_val_if_fail (error != NULL, NULL);

  if (operation == MW_OPERATION_MIGRATE)
    return remedy_for_migrate_error (error, migrator, diagnosis, settings);

  cancelled = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  self = remedy_new (NULL, mw_exit_code_for_error (error));
  self->detail = g_strdup (error->message);
  add_choice (self, MW_ACTION_CLOSE, TRUE, NULL);
  add_choice (self, MW_ACTION_RETRY, TRUE, NULL);
  self->recommended = MW_ACTION_RETRY;
  self->reason = g_strdup (_("checking again shows what the database needs now."));

  if (operation == MW_OPERATION_REPAIR)
    {
      self->id = "repair-failed";
      self->title = g_strdup (_("Repair Failed"));
      no_space = g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_NO_SPACE);
      self->message = cancelled
                      ? g_strdup (_("Cancelled. Nothing was changed."))
                      : no_space
                      ? g_strdup (_("There is not enough disk space for the copies a repair "
                                    "makes. The damaged database was not changed; free some "
                                    "space and try again."))
                      : g_strdup (_("Nothing could be recovered automatically. The damaged "
                                    "database was not changed; Backup & Start Fresh, or a "
                                    "technician, can still help."));
      /* A full disk is told as a full disk, like everywhere else. */
      if (!cancelled && !no_space &&
          !g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_DATABASE_MISSING) &&
          !g_error_matches (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_OPERATION_JOURNAL))
        self->exit_code = MW_EXIT_REPAIR_FAILED;
      return self;
    }

  self->id = "operation-failed";
  self->title = g_strdup (operation == MW_OPERATION_ADOPT ? _("Keeping the Data Failed")
                          : operation == MW_OPERATION_RESTORE ? _("Restore Failed")
                          : operation == MW_OPERATION_REPAIR_SWAP
                          ? _("The Repaired Database Could Not Be Used")
                          : _("Start Fresh Failed"));
  self->message = cancelled
                  ? g_strdup (_("Cancelled. Nothing was changed."))
                  : g_strdup_printf (_("%s\n\nYour database and your backups were left as "
                                       "they were."), error->message);
  return self;
}

/**
 * mw_remedy_offers:
 *
 * Whether @action is among the remedy's available choices.
 */
gboolean
mw_remedy_offers (MwRemedy *self,
                  MwAction  action)
{
  g_return_val_if_fail (self != NULL, FALSE);

  for (guint i = 0; i < self->choices->len; i++)
    {
      const MwChoice *c = &g_array_index (self->choices, MwChoice, i);

      if (c->action == action)
        return c->available;
    }
  return FALSE;
}

/* ---- renderers ---------------------------------------------------------------------- */

const char *
mw_action_to_string (MwAction action)
{
  static const char * const names[] = {
    "migrate", "restore", "fresh", "repair", "use-repaired", "retry", "cancel", "quit",
    "close", "adopt",
  };

  g_return_val_if_fail ((guint) action < G_N_ELEMENTS (names), NULL);
  return names[action];
}

/**
 * mw_action_command_line:
 * @settings: (nullable): the database and folders to name
 * @backup: (nullable): the backup a restore would use
 *
 * The command a technician types for @action in a terminal.
 *
 * Returns: (transfer full) (nullable): the command line, or %NULL when the action
 *   has none (cancel, quit, close)
 */
char *
mw_action_command_line (MwAction          action,
                        const MwSettings *settings,
                        MwBackup         *backup)
{
  g_autofree char *db = settings && settings->database
                        ? g_shell_quote (settings->database) : NULL;
  g_autofree char *db_opt = db ? g_strconcat (" --database ", db, NULL) : g_strdup ("");
  g_autofree char *name = backup ? g_path_get_basename (backup->path) : NULL;
  g_autofree char *quoted_name = name ? g_shell_quote (name) : NULL;

  switch (action)
    {
    case MW_ACTION_MIGRATE:
      return g_strdup_printf ("migration-wizard migrate%s", db_opt);
    case MW_ACTION_RESTORE:
      return g_strdup_printf ("migration-wizard restore%s%s --yes%s",
                              quoted_name ? " " : "", quoted_name ? quoted_name : "", db_opt);
    case MW_ACTION_FRESH:
      return g_strdup_printf ("migration-wizard fresh --yes%s", db_opt);
    case MW_ACTION_REPAIR:
      return g_strdup_printf ("migration-wizard repair%s", db_opt);
    case MW_ACTION_USE_REPAIRED:
      return g_strdup_printf ("migration-wizard repair --yes%s", db_opt);
    case MW_ACTION_RETRY:
      return g_strdup_printf ("migration-wizard status%s", db_opt);
    case MW_ACTION_ADOPT:
      return g_strdup_printf ("migration-wizard adopt --yes%s", db_opt);
    case MW_ACTION_CANCEL:
    case MW_ACTION_QUIT:
    case MW_ACTION_CLOSE:
    default:
      return NULL;
    }
}

/**
 * mw_remedy_to_text:
 *
 * The remedy for a terminal: the words, then each possible next step as the
 * command that does it, the recommended one first.
 *
 * Returns: (transfer full): the text, ending in a newline
 */
char *
mw_remedy_to_text (MwRemedy         *self,
                   const MwSettings *settings)
{
  GString *text = g_string_new (NULL);
  gboolean header = FALSE;

  g_return_val_if_fail (self != NULL, NULL);

  g_string_append_printf (text, "%s\n", self->message);
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < self->choices->len; i++)
      {
        const MwChoice *c = &g_array_index (self->choices, MwChoice, i);
        g_autofree char *command = NULL;

        /* The recommended action first, then the others. */
        if ((pass == 0) != (c->action == self->recommended) || !c->available)
          continue;
        command = mw_action_command_line (c->action, settings, self->backup);
        if (command == NULL)
          continue;
        if (!header)
          g_string_append_printf (text, "\n%s\n", _("What can be done:"));
        header = TRUE;
        g_string_append_printf (text, "  %s%s\n", command,
                                c->action == self->recommended ? _("  (recommended)") : "");
      }
  return g_string_free (text, FALSE);
}

/**
 * mw_remedy_to_json:
 *
 * Adds the remedy as one object: id, title, message, detail, exit code, the
 * recommended action and its reason, the choices (with their command lines), the
 * backup a restore would use.
 */
void
mw_remedy_to_json (MwRemedy         *self,
                   const MwSettings *settings,
                   JsonBuilder      *builder)
{
  g_return_if_fail (self != NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, self->id);
  json_builder_set_member_name (builder, "title");
  json_builder_add_string_value (builder, self->title);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, self->message);
  json_builder_set_member_name (builder, "exit_code");
  json_builder_add_int_value (builder, self->exit_code);
  json_builder_set_member_name (builder, "recommended");
  json_builder_add_string_value (builder, mw_action_to_string (self->recommended));
  json_builder_set_member_name (builder, "reason");
  json_builder_add_string_value (builder, self->reason);
  json_builder_set_member_name (builder, "automatic");
  json_builder_add_boolean_value (builder, self->automatic);
  json_builder_set_member_name (builder, "choices");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->choices->len; i++)
    {
      const MwChoice *c = &g_array_index (self->choices, MwChoice, i);
      g_autofree char *command = mw_action_command_line (c->action, settings, self->backup);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "action");
      json_builder_add_string_value (builder, mw_action_to_string (c->action));
      json_builder_set_member_name (builder, "available");
      json_builder_add_boolean_value (builder, c->available);
      if (c->why_not != NULL)
        {
          json_builder_set_member_name (builder, "why_not");
          json_builder_add_string_value (builder, c->why_not);
        }
      json_builder_set_member_name (builder, "command");
      json_builder_add_string_value (builder, command);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "backup");
  if (self->backup != NULL)
    json_builder_add_string_value (builder, self->backup->path);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
}
