/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-operation"

#include "config.h"

#include "mw-operation.h"
#include "mw-restore.h"
#include "mw-thread-private.h"

/*
 * The _async/_finish forms of restore and fresh start, for the wizard window: the
 * blocking functions run in a GTask worker thread; the task data owns copies of
 * everything they read, so the caller may drop its references at once.
 */

typedef enum
{
  OPERATION_RESTORE,
  OPERATION_FRESH,
  OPERATION_REPAIR_SWAP,
} OperationKind;

typedef struct
{
  OperationKind   kind;
  char           *database_path;
  char           *backup_dir;
  MwBackup       *backup;
  MwMigrationSet *set;
  MwProgress     *progress;
  char           *repaired_path;
} OperationData;

static void
operation_data_free (OperationData *data)
{
  g_free (data->database_path);
  g_free (data->backup_dir);
  g_clear_pointer (&data->backup, mw_backup_unref);
  g_clear_object (&data->set);
  g_clear_object (&data->progress);
  g_free (data->repaired_path);
  g_free (data);
}

static void
operation_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  OperationData *data = task_data;
  g_autoptr(GError) error = NULL;
  char *aside = NULL;
  gboolean ok;

  mw_thread_run_in_background ();
  if (data->kind == OPERATION_RESTORE)
    ok = mw_restore (data->database_path, data->backup, data->backup_dir, data->set,
                     data->progress, cancellable, &aside, &error);
  else if (data->kind == OPERATION_REPAIR_SWAP)
    ok = mw_repair_swap (data->database_path, data->repaired_path, &aside, &error);
  else
    ok = mw_fresh_start (data->database_path, data->backup_dir, data->set,
                         data->progress, cancellable, &aside, &error);

  if (ok)
    g_task_return_pointer (task, aside, g_free);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
operation_start (OperationData       *data,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data,
                 gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify) operation_data_free);
  g_task_run_in_thread (task, operation_thread);
}

/**
 * mw_restore_async:
 *
 * Runs mw_restore() in a worker thread. @progress is updated from the worker and
 * notifies in the caller's main context.
 */
void
mw_restore_async (const char          *database_path,
                  MwBackup            *backup,
                  const char          *backup_dir,
                  MwMigrationSet      *set,
                  MwProgress          *progress,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  OperationData *data;

  g_return_if_fail (database_path != NULL && backup != NULL);

  data = g_new0 (OperationData, 1);
  data->kind = OPERATION_RESTORE;
  data->database_path = g_strdup (database_path);
  data->backup_dir = g_strdup (backup_dir);
  data->backup = mw_backup_ref (backup);
  data->set = set ? g_object_ref (set) : NULL;
  data->progress = progress ? g_object_ref (progress) : NULL;
  operation_start (data, cancellable, callback, user_data, mw_restore_async);
}

/**
 * mw_fresh_start_async:
 *
 * Runs mw_fresh_start() in a worker thread.
 */
void
mw_fresh_start_async (const char          *database_path,
                      const char          *backup_dir,
                      MwMigrationSet      *set,
                      MwProgress          *progress,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  OperationData *data;

  g_return_if_fail (database_path != NULL && MW_IS_MIGRATION_SET (set));

  data = g_new0 (OperationData, 1);
  data->kind = OPERATION_FRESH;
  data->database_path = g_strdup (database_path);
  data->backup_dir = g_strdup (backup_dir);
  data->set = g_object_ref (set);
  data->progress = progress ? g_object_ref (progress) : NULL;
  operation_start (data, cancellable, callback, user_data, mw_fresh_start_async);
}

/**
 * mw_repair_swap_async:
 *
 * Runs mw_repair_swap() in a worker thread (it checks the repaired copy first).
 */
void
mw_repair_swap_async (const char          *database_path,
                      const char          *repaired_path,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  OperationData *data;

  g_return_if_fail (database_path != NULL && repaired_path != NULL);

  data = g_new0 (OperationData, 1);
  data->kind = OPERATION_REPAIR_SWAP;
  data->database_path = g_strdup (database_path);
  data->repaired_path = g_strdup (repaired_path);
  operation_start (data, cancellable, callback, user_data, mw_repair_swap_async);
}

static gboolean
operation_finish (GAsyncResult  *result,
                  gpointer       source_tag,
                  char         **out_aside,
                  GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *aside = NULL;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);

  aside = g_task_propagate_pointer (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (out_aside != NULL)
    *out_aside = g_steal_pointer (&aside);
  return TRUE;
}

/**
 * mw_restore_finish:
 * @out_aside: (out) (optional) (nullable): where the previous database was kept
 *
 * Returns: %TRUE when the backup is in place
 */
gboolean
mw_restore_finish (GAsyncResult  *result,
                   char         **out_aside,
                   GError       **error)
{
  return operation_finish (result, mw_restore_async, out_aside, error);
}

/**
 * mw_fresh_start_finish:
 * @out_aside: (out) (optional) (nullable): where the previous database was kept
 *
 * Returns: %TRUE when the new database is in place
 */
gboolean
mw_fresh_start_finish (GAsyncResult  *result,
                       char         **out_aside,
                       GError       **error)
{
  return operation_finish (result, mw_fresh_start_async, out_aside, error);
}

/**
 * mw_repair_swap_finish:
 * @out_aside: (out) (optional) (nullable): where the damaged database was kept
 *
 * Returns: %TRUE when the repaired database is in place
 */
gboolean
mw_repair_swap_finish (GAsyncResult  *result,
                       char         **out_aside,
                       GError       **error)
{
  return operation_finish (result, mw_repair_swap_async, out_aside, error);
}
