/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-retention"

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#include "mw-fs-private.h"
#include "mw-retention.h"

/*
 * Retention: how many backups and moved-aside databases are kept. Backups beyond what
 * MwRetention keeps for their reason are removed, except the newest verified one of
 * each of the last migration levels; a database set that restore, fresh start or a
 * repair moved aside is removed only once a backup provably holds that very set: a
 * verified backup whose sidecar records the set's digest (mw_set_digest(), taken when
 * it was moved aside and equal to the database's when the backup was made), or a raw
 * copy whose own set has the same digest. Each removal is logged.
 */

/* ---- backups ------------------------------------------------------------------------- */

/**
 * mw_retention_init_defaults:
 *
 * Keep 10 pre-migration backups and 5 of every other kind.
 */
void
mw_retention_init_defaults (MwRetention *retention)
{
  for (guint i = 0; i < MW_N_BACKUP_REASONS; i++)
    retention->keep[i] = i == MW_BACKUP_REASON_PRE_MIGRATION ? 10 : 5;
}

static gboolean
is_protected (MwBackup           *b,
              GHashTable         *newest_per_level,
              const char * const *protect)
{
  if (g_hash_table_contains (newest_per_level, b))
    return TRUE;
  for (guint i = 0; protect != NULL && protect[i] != NULL; i++)
    {
      g_autofree char *canonical = g_canonicalize_filename (protect[i], NULL);

      if (g_str_equal (canonical, b->path))
        return TRUE;
    }
  return FALSE;
}

/**
 * mw_backup_prune:
 * @retention: (nullable): how many to keep per reason; %NULL for the defaults
 * @protect: (nullable) (array zero-terminated=1): backups that must stay, e.g. the one a
 *   dialog is offering
 *
 * Removes the oldest backups beyond what @retention keeps for each reason. Never
 * removes the newest verified backup of each of the last 3 migration levels, nor a
 * protected one. Each removal is logged.
 *
 * Returns: (transfer full) (element-type utf8): the paths removed
 */
GPtrArray *
mw_backup_prune (const char          *backup_dir,
                 const MwRetention   *retention,
                 const char * const  *protect,
                 GError             **error)
{
  g_autoptr(GPtrArray) list = mw_backup_list (backup_dir, error);
  g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) newest_per_level = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) levels_seen = g_hash_table_new (g_str_hash, g_str_equal);
  MwRetention defaults;
  guint kept[MW_N_BACKUP_REASONS] = { 0 };

  if (list == NULL)
    return NULL;
  if (retention == NULL)
    {
      mw_retention_init_defaults (&defaults);
      retention = &defaults;
    }

  /* The list is newest first: the first verified backup met for a level is its newest. */
  for (guint i = 0; i < list->len && g_hash_table_size (levels_seen) < 3; i++)
    {
      MwBackup *b = g_ptr_array_index (list, i);
      const char *level = b->level_tag ? b->level_tag : "";

      if (!b->verified || g_hash_table_contains (levels_seen, level))
        continue;
      g_hash_table_add (levels_seen, (gpointer) level);
      g_hash_table_add (newest_per_level, b);
    }

  for (guint i = 0; i < list->len; i++)
    {
      MwBackup *b = g_ptr_array_index (list, i);

      if (kept[b->reason] < retention->keep[b->reason] || is_protected (b, newest_per_level, protect))
        {
          kept[b->reason]++;
          continue;
        }

      /* A backup goes with its sidecar; the sidecar last, so a half-removed backup is
       * still listed (and seen as not usable) rather than forgotten. */
      if (g_unlink (b->path) != 0 && errno != ENOENT)
        {
          int saved = errno;

          g_message ("Could not remove the old backup %s: %s", b->path, g_strerror (saved));
          continue;
        }
      g_unlink (b->sidecar_path);
      g_message ("Removed the old backup %s (%s, kept the newest %u of that kind)", b->path,
                 mw_backup_reason_to_string (b->reason), retention->keep[b->reason]);
      g_ptr_array_add (removed, g_strdup (b->path));
    }

  if (removed->len > 0)
    mw_fsync_path (backup_dir, TRUE, NULL);
  return g_steal_pointer (&removed);
}

/* ---- sets kept aside ----------------------------------------------------------------- */

/* A backup that provably holds the set whose digest is @digest: a verified backup
 * whose sidecar records it (checked again in full: size, SHA-256, quick_check), or a
 * raw copy of the very same bytes. */
static char *
holding_backup (GPtrArray  *backups,
                const char *backup_dir,
                const char *set_path,
                const char *digest)
{
  for (guint i = 0; backups != NULL && i < backups->len; i++)
    {
      MwBackup *b = g_ptr_array_index (backups, i);
      g_autoptr(GError) error = NULL;

      if (!b->verified || g_strcmp0 (b->holds_set_sha256, digest) != 0)
        continue;
      if (mw_backup_verify (b, NULL, NULL, &error))
        return g_strdup (b->path);
      g_message ("%s does not hold %s any more: %s", b->path, set_path, error->message);
    }
  return mw_set_find_raw_copy (backup_dir, set_path, digest);
}

static int
compare_names_desc (gconstpointer a,
                    gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) b, *(const char * const *) a);
}

/**
 * mw_prune_aside_sets:
 * @keep: how many of the newest `.old.*` sets to keep (at least 1)
 *
 * Bounds the databases that restore and fresh start kept aside beside @database_path:
 * beyond the newest @keep, a set is removed — whole, with its -wal/-shm/-journal —
 * only when a backup provably holds that very set (see holding_backup()), so nothing
 * the shop had is lost; a set of which no backup could be made is never removed. The
 * newest set is never removed, nor any `.failed.*` set (no backup holds what a failed
 * update left). Each removal is logged.
 *
 * Returns: (transfer full) (element-type utf8): the sets removed
 */
GPtrArray *
mw_prune_aside_sets (const char  *database_path,
                     const char  *backup_dir,
                     guint        keep,
                     GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (database_path);
  g_autofree char *base = g_path_get_basename (database_path);
  g_autofree char *prefix = g_strconcat (base, ".old.", NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) backups = NULL;
  g_autoptr(GDir) d = NULL;
  const char *name;

  d = g_dir_open (dir, 0, error);
  if (d == NULL)
    return NULL;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      gboolean companion = FALSE;

      for (guint k = 1; k < G_N_ELEMENTS (mw_set_suffixes); k++)
        companion |= g_str_has_suffix (name, mw_set_suffixes[k]);
      if (g_str_has_prefix (name, prefix) && !companion)
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, compare_names_desc);
  if (names->len <= MAX (keep, 1))
    return g_steal_pointer (&removed);

  backups = mw_backup_list (backup_dir, NULL);
  for (guint i = MAX (keep, 1); i < names->len; i++)
    {
      const char *set_name = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (dir, set_name, NULL);
      g_autofree char *digest = NULL;
      g_autofree char *holder = NULL;
      g_autoptr(GError) digest_error = NULL;

      digest = mw_set_digest (path, &digest_error);
      if (digest != NULL)
        holder = holding_backup (backups, backup_dir, path, digest);
      if (holder == NULL)
        {
          g_debug ("Kept %s: no backup provably holds it%s%s", path,
                   digest_error ? ": " : "", digest_error ? digest_error->message : "");
          continue;
        }
      for (guint k = 0; k < G_N_ELEMENTS (mw_set_suffixes); k++)
        {
          g_autofree char *member = g_strconcat (path, mw_set_suffixes[k], NULL);

          if (g_unlink (member) != 0 && errno != ENOENT)
            g_message ("Could not remove %s: %s", member, g_strerror (errno));
        }
      g_message ("Removed the old database %s (kept the newest %u; %s holds exactly it)", path,
                 MAX (keep, 1), holder);
      g_ptr_array_add (removed, g_steal_pointer (&path));
    }
  mw_fsync_path (dir, TRUE, NULL);
  return g_steal_pointer (&removed);
}
