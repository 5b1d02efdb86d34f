/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-page-record"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mw-error.h"
#include "mw-page-record-private.h"

/*
 * What SQLite wrote to a copy, page by page.
 *
 * A backup's copy is proven by reading it back and comparing it with what SQLite
 * wrote. The "mw-record" VFS passes everything to the platform's default VFS; on a
 * database file a recorder was attached to (a private file-control, after the open)
 * it also keeps a 64-bit checksum of every page SQLite writes, the last write of each
 * page counting. Read back once the copy is closed, every page of the file must give
 * the sum of what SQLite last wrote there, and the file must hold exactly the pages
 * written: then what is in the file is, byte for byte, what SQLite wrote (a write
 * that was lost, torn, misplaced or changed on its way is a page that differs).
 *
 * Whatever the recorder did not expect (a write that is not one whole page, a
 * truncation inside a page) makes it unusable, and the caller proves the copy another
 * way (SQLite's check of the copy). The sums detect damage, not an adversary: nobody
 * can write the copy between SQLite and the read-back but the wizard itself.
 */

/* The page holding the byte range SQLite locks (at 1 GiB into the file): SQLite never
 * writes or reads it, nor does its backup copy it; what a file holds there is not
 * compared. */
#define LOCK_BYTE_OFFSET G_GINT64_CONSTANT (0x40000000)

/* A private file-control opcode: SQLite hands opcodes it does not know to the VFS. */
#define FCNTL_ATTACH_RECORD 0x4d570001

struct _MwPageRecord
{
  gsize    page_size;     /* of the first write; 0 before it */
  GArray  *sums;          /* guint64 per page, from page 1 */
  GArray  *written;       /* guint8 per page: written at all */
  gboolean usable;
};

typedef struct
{
  sqlite3_file   base;
  MwPageRecord  *record;   /* (nullable) (unowned) */
  sqlite3_file  *real;     /* the default VFS's file, right after this struct */
} RecordFile;

static sqlite3_vfs *base_vfs;
static sqlite3_vfs record_vfs;

/* ---- the checksum ------------------------------------------------------------------- */

#define P1 G_GUINT64_CONSTANT (0x9E3779B185EBCA87)
#define P2 G_GUINT64_CONSTANT (0xC2B2AE3D27D4EB4F)
#define P3 G_GUINT64_CONSTANT (0x165667B19E3779F9)

static inline guint64
rotl (guint64 x,
      int     r)
{
  return (x << r) | (x >> (64 - r));
}

static inline guint64
round64 (guint64 acc,
         guint64 word)
{
  return rotl (acc + word * P2, 31) * P1;
}

/**
 * mw_page_sum:
 *
 * A fast 64-bit checksum of @n bytes (four independent lanes, multiply-rotate rounds,
 * a final avalanche): any change of a page changes it but with a chance of 2^-64.
 *
 * Returns: the sum
 */
guint64
mw_page_sum (const guint8 *data,
             gsize         n)
{
  guint64 a = P1 + P2, b = P2, c = 0, d = -P1;
  guint64 h;
  gsize i = 0;

  for (; i + 32 <= n; i += 32)
    {
      guint64 w[4];

      memcpy (w, data + i, sizeof w);
      a = round64 (a, w[0]);
      b = round64 (b, w[1]);
      c = round64 (c, w[2]);
      d = round64 (d, w[3]);
    }
  h = rotl (a, 1) + rotl (b, 7) + rotl (c, 12) + rotl (d, 18) + n;
  for (; i < n; i++)
    h = rotl (h ^ (data[i] * P3), 11) * P1;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

/* ---- the recorder ------------------------------------------------------------------- */

MwPageRecord *
mw_page_record_new (void)
{
  MwPageRecord *self = g_new0 (MwPageRecord, 1);

  self->sums = g_array_new (FALSE, TRUE, sizeof (guint64));
  self->written = g_array_new (FALSE, TRUE, sizeof (guint8));
  self->usable = TRUE;
  return self;
}

void
mw_page_record_free (MwPageRecord *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->sums);
  g_array_unref (self->written);
  g_free (self);
}

static void
note_write (MwPageRecord  *self,
            const guint8  *data,
            gsize          n,
            gint64         offset)
{
  guint index;

  if (!self->usable)
    return;
  if (self->page_size == 0)
    self->page_size = n;
  /* SQLite writes a database file a whole page at a time, at a page's offset. */
  if (n != self->page_size || n < 512 || (n & (n - 1)) != 0 || offset < 0 ||
      offset % self->page_size != 0 || offset / self->page_size >= G_MAXUINT)
    {
      g_debug ("unexpected write of %" G_GSIZE_FORMAT " bytes at %" G_GINT64_FORMAT, n, offset);
      self->usable = FALSE;
      return;
    }
  index = offset / self->page_size;
  if (index >= self->sums->len)
    {
      g_array_set_size (self->sums, index + 1);
      g_array_set_size (self->written, index + 1);
    }
  g_array_index (self->sums, guint64, index) = mw_page_sum (data, n);
  g_array_index (self->written, guint8, index) = 1;
}

static void
note_truncate (MwPageRecord *self,
               gint64        size)
{
  if (!self->usable)
    return;
  if (size < 0 || (self->page_size != 0 && size % self->page_size != 0) ||
      (self->page_size == 0 && size != 0))
    {
      self->usable = FALSE;
      return;
    }
  if (self->page_size != 0 && (guint64) size / self->page_size < self->sums->len)
    {
      g_array_set_size (self->sums, size / self->page_size);
      g_array_set_size (self->written, size / self->page_size);
    }
}

static gboolean
is_lock_byte_page (MwPageRecord *self,
                   gint64        index)
{
  return index == LOCK_BYTE_OFFSET / (gint64) self->page_size;
}

/**
 * mw_page_record_usable:
 *
 * Returns: whether every write to the file was recorded as a whole page
 */
gboolean
mw_page_record_usable (MwPageRecord *self)
{
  return self != NULL && self->usable && self->page_size != 0;
}

/**
 * mw_page_record_check:
 * @offset: where @data was read from the file; a multiple of the page size
 * @data: what was read there, @n bytes
 * @out_bad_page: (out): the first page (from 1) that differs
 *
 * Compares what was read back with what SQLite wrote there.
 *
 * Returns: whether every page of @data is what was written
 */
static gboolean
mw_page_record_check (MwPageRecord  *self,
                      gint64         offset,
                      const guint8  *data,
                      gsize          n,
                      gint64        *out_bad_page)
{
  g_return_val_if_fail (mw_page_record_usable (self), FALSE);

  for (gsize done = 0; done < n; done += self->page_size)
    {
      gint64 index = (offset + (gint64) done) / (gint64) self->page_size;

      if (is_lock_byte_page (self, index) && index < self->sums->len &&
          !g_array_index (self->written, guint8, index))
        continue;
      if (offset % (gint64) self->page_size != 0 || n - done < self->page_size ||
          index >= self->sums->len || !g_array_index (self->written, guint8, index) ||
          mw_page_sum (data + done, self->page_size) != g_array_index (self->sums, guint64, index))
        {
          *out_bad_page = index + 1;
          return FALSE;
        }
    }
  return TRUE;
}

/**
 * mw_page_record_complete:
 * @file_size: the size of the file read back
 *
 * Returns: whether the file has exactly the pages written, each written
 */
static gboolean
mw_page_record_complete (MwPageRecord *self,
                         gint64        file_size)
{
  g_return_val_if_fail (mw_page_record_usable (self), FALSE);

  if (file_size != (gint64) (self->sums->len * self->page_size))
    return FALSE;
  for (guint i = 0; i < self->written->len; i++)
    if (!g_array_index (self->written, guint8, i) && !is_lock_byte_page (self, i))
      return FALSE;
  return TRUE;
}

/**
 * mw_page_record_set_error:
 * @bad_page: the first page that differs, from 1; 0 when the size does
 * @size: the size of the file read back
 *
 * Says that the file at @path is not what SQLite wrote (#MW_ENGINE_ERROR_CORRUPT).
 */
static void
mw_page_record_set_error (GError     **error,
                          const char  *path,
                          gint64       bad_page,
                          gint64       size)
{
  if (bad_page > 0)
    g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                 _("%s does not read back as SQLite wrote it: page %lld differs."),
                 path, (long long) bad_page);
  else
    g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_CORRUPT,
                 _("%s does not read back as SQLite wrote it: it has %lld bytes, not the "
                   "pages written."), path, (long long) size);
}

/**
 * mw_page_record_verify:
 * @data: the whole file at @path, @size bytes
 *
 * Returns: whether the file is exactly what SQLite wrote; otherwise @error says where
 *   it differs (#MW_ENGINE_ERROR_CORRUPT)
 */
gboolean
mw_page_record_verify (MwPageRecord  *self,
                       const guint8  *data,
                       gsize          size,
                       const char    *path,
                       GError       **error)
{
  gint64 bad_page = 0;

  if (!mw_page_record_check (self, 0, data, size, &bad_page) ||
      !mw_page_record_complete (self, size))
    {
      mw_page_record_set_error (error, path, bad_page, size);
      return FALSE;
    }
  return TRUE;
}

/* ---- the VFS ------------------------------------------------------------------------- */

static int
file_close (sqlite3_file *file)
{
  RecordFile *self = (RecordFile *) file;

  return self->real->pMethods->xClose (self->real);
}

static int
file_read (sqlite3_file  *file,
           void          *buffer,
           int            amount,
           sqlite3_int64  offset)
{
  RecordFile *self = (RecordFile *) file;

  return self->real->pMethods->xRead (self->real, buffer, amount, offset);
}

static int
file_write (sqlite3_file  *file,
            const void    *buffer,
            int            amount,
            sqlite3_int64  offset)
{
  RecordFile *self = (RecordFile *) file;
  int rc = self->real->pMethods->xWrite (self->real, buffer, amount, offset);

  if (self->record != NULL)
    {
      if (rc == SQLITE_OK)
        note_write (self->record, buffer, amount, offset);
      else
        self->record->usable = FALSE;
    }
  return rc;
}

static int
file_truncate (sqlite3_file  *file,
               sqlite3_int64  size)
{
  RecordFile *self = (RecordFile *) file;
  int rc = self->real->pMethods->xTruncate (self->real, size);

  if (self->record != NULL)
    {
      if (rc == SQLITE_OK)
        note_truncate (self->record, size);
      else
        self->record->usable = FALSE;
    }
  return rc;
}

static int
file_sync (sqlite3_file *file,
           int           flags)
{
  RecordFile *self = (RecordFile *) file;

  return self->real->pMethods->xSync (self->real, flags);
}

static int
file_size (sqlite3_file  *file,
           sqlite3_int64 *size)
{
  RecordFile *self = (RecordFile *) file;

  return self->real->pMethods->xFileSize (self->real, size);
}

static int
file_lock (sqlite3_file *file,
           int           level)
{
  RecordFile *self = (RecordFile *) file;

  return self->real->pMethods->xLock (self->real, level);
}

static int
file_unlock (sqlite3_file *file,
             int           level)
{
  RecordFile *self = (RecordFile *) file;

  return self->real->pMethods->xUnlock (self->real, level);
}

static int
file_check_reserved_lock (sqlite3_file *file,
                          int          *out)
{
  RecordFile *self = (RecordFile *) file;

  return self->real->pMethods->xCheckReservedLock (self->real, out);
}

static int
file_control (sqlite3_file *file,
              int           op,
              void         *arg)
{
  RecordFile *self = (RecordFile *) file;

  if (op == FCNTL_ATTACH_RECORD)
    {
      self->record = arg;
      return SQLITE_OK;
    }
  return self->real->pMethods->xFileControl (self->real, op, arg);
}

static int
file_sector_size (sqlite3_file *file)
{
  RecordFile *self = (RecordFile *) file;

  return self->real->pMethods->xSectorSize (self->real);
}

static int
file_device_characteristics (sqlite3_file *file)
{
  RecordFile *self = (RecordFile *) file;

  return self->real->pMethods->xDeviceCharacteristics (self->real);
}

static int
file_shm_map (sqlite3_file  *file,
              int            region,
              int            size,
              int            extend,
              void volatile **out)
{
  RecordFile *self = (RecordFile *) file;

  if (self->real->pMethods->iVersion < 2 || self->real->pMethods->xShmMap == NULL)
    return SQLITE_IOERR_SHMMAP;
  return self->real->pMethods->xShmMap (self->real, region, size, extend, out);
}

static int
file_shm_lock (sqlite3_file *file,
               int           offset,
               int           n,
               int           flags)
{
  RecordFile *self = (RecordFile *) file;

  if (self->real->pMethods->iVersion < 2 || self->real->pMethods->xShmLock == NULL)
    return SQLITE_IOERR_SHMLOCK;
  return self->real->pMethods->xShmLock (self->real, offset, n, flags);
}

static void
file_shm_barrier (sqlite3_file *file)
{
  RecordFile *self = (RecordFile *) file;

  if (self->real->pMethods->iVersion >= 2 && self->real->pMethods->xShmBarrier != NULL)
    self->real->pMethods->xShmBarrier (self->real);
}

static int
file_shm_unmap (sqlite3_file *file,
                int           delete_flag)
{
  RecordFile *self = (RecordFile *) file;

  if (self->real->pMethods->iVersion < 2 || self->real->pMethods->xShmUnmap == NULL)
    return SQLITE_OK;
  return self->real->pMethods->xShmUnmap (self->real, delete_flag);
}

/* No memory-mapped pages: every read and write goes through the calls above. */
static int
file_fetch (sqlite3_file  *file,
            sqlite3_int64  offset,
            int            amount,
            void         **out)
{
  *out = NULL;
  return SQLITE_OK;
}

static int
file_unfetch (sqlite3_file  *file,
              sqlite3_int64  offset,
              void          *page)
{
  return SQLITE_OK;
}

static const sqlite3_io_methods record_io_methods = {
  .iVersion = 3,
  .xClose = file_close,
  .xRead = file_read,
  .xWrite = file_write,
  .xTruncate = file_truncate,
  .xSync = file_sync,
  .xFileSize = file_size,
  .xLock = file_lock,
  .xUnlock = file_unlock,
  .xCheckReservedLock = file_check_reserved_lock,
  .xFileControl = file_control,
  .xSectorSize = file_sector_size,
  .xDeviceCharacteristics = file_device_characteristics,
  .xShmMap = file_shm_map,
  .xShmLock = file_shm_lock,
  .xShmBarrier = file_shm_barrier,
  .xShmUnmap = file_shm_unmap,
  .xFetch = file_fetch,
  .xUnfetch = file_unfetch,
};

static int
vfs_open (sqlite3_vfs  *vfs,
          const char   *name,
          sqlite3_file *file,
          int           flags,
          int          *out_flags)
{
  RecordFile *self = (RecordFile *) file;
  int rc;

  self->record = NULL;
  self->real = (sqlite3_file *) &self[1];
  rc = base_vfs->xOpen (base_vfs, name, self->real, flags, out_flags);
  /* SQLite closes a file only if its methods are set. */
  self->base.pMethods = self->real->pMethods != NULL ? &record_io_methods : NULL;
  return rc;
}

static int
vfs_delete (sqlite3_vfs *vfs,
            const char  *name,
            int          sync_dir)
{
  return base_vfs->xDelete (base_vfs, name, sync_dir);
}

static int
vfs_access (sqlite3_vfs *vfs,
            const char  *name,
            int          flags,
            int         *out)
{
  return base_vfs->xAccess (base_vfs, name, flags, out);
}

static int
vfs_full_pathname (sqlite3_vfs *vfs,
                   const char  *name,
                   int          n,
                   char        *out)
{
  return base_vfs->xFullPathname (base_vfs, name, n, out);
}

static void *
vfs_dl_open (sqlite3_vfs *vfs,
             const char  *name)
{
  return base_vfs->xDlOpen (base_vfs, name);
}

static void
vfs_dl_error (sqlite3_vfs *vfs,
              int          n,
              char        *out)
{
  base_vfs->xDlError (base_vfs, n, out);
}

static void (*vfs_dl_sym (sqlite3_vfs *vfs,
                          void        *handle,
                          const char  *symbol)) (void)
{
  return base_vfs->xDlSym (base_vfs, handle, symbol);
}

static void
vfs_dl_close (sqlite3_vfs *vfs,
              void        *handle)
{
  base_vfs->xDlClose (base_vfs, handle);
}

static int
vfs_randomness (sqlite3_vfs *vfs,
                int          n,
                char        *out)
{
  return base_vfs->xRandomness (base_vfs, n, out);
}

static int
vfs_sleep (sqlite3_vfs *vfs,
           int          microseconds)
{
  return base_vfs->xSleep (base_vfs, microseconds);
}

static int
vfs_current_time (sqlite3_vfs *vfs,
                  double      *out)
{
  return base_vfs->xCurrentTime (base_vfs, out);
}

static int
vfs_get_last_error (sqlite3_vfs *vfs,
                    int          n,
                    char        *out)
{
  return base_vfs->xGetLastError != NULL ? base_vfs->xGetLastError (base_vfs, n, out) : 0;
}

static int
vfs_current_time_int64 (sqlite3_vfs   *vfs,
                        sqlite3_int64 *out)
{
  return base_vfs->xCurrentTimeInt64 (base_vfs, out);
}

/**
 * mw_page_record_vfs:
 *
 * Registers the recording VFS (once, not as the default).
 *
 * Returns: its name, for sqlite3_open_v2(); %NULL if SQLite has no default VFS
 */
const char *
mw_page_record_vfs (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      gsize ok = 1;

      base_vfs = sqlite3_vfs_find (NULL);
      /* Version 2 is what the calls below need (xCurrentTimeInt64). */
      if (base_vfs == NULL || base_vfs->iVersion < 2)
        ok = 2;
      else
        {
          record_vfs = (sqlite3_vfs) {
            .iVersion = 2,
            .szOsFile = sizeof (RecordFile) + base_vfs->szOsFile,
            .mxPathname = base_vfs->mxPathname,
            .zName = MW_PAGE_RECORD_VFS,
            .xOpen = vfs_open,
            .xDelete = vfs_delete,
            .xAccess = vfs_access,
            .xFullPathname = vfs_full_pathname,
            .xDlOpen = vfs_dl_open,
            .xDlError = vfs_dl_error,
            .xDlSym = vfs_dl_sym,
            .xDlClose = vfs_dl_close,
            .xRandomness = vfs_randomness,
            .xSleep = vfs_sleep,
            .xCurrentTime = vfs_current_time,
            .xGetLastError = vfs_get_last_error,
            .xCurrentTimeInt64 = vfs_current_time_int64,
          };
          if (sqlite3_vfs_register (&record_vfs, 0) != SQLITE_OK)
            ok = 2;
        }
      g_once_init_leave (&registered, ok);
    }
  return registered == 1 ? MW_PAGE_RECORD_VFS : NULL;
}

/**
 * mw_page_record_attach:
 * @db: a connection opened with mw_page_record_vfs(), before it writes
 *
 * From now on, every page @db writes to its main database file is recorded in
 * @record, which must outlive the connection's writes.
 *
 * Returns: whether the connection's file records (else nothing is recorded)
 */
gboolean
mw_page_record_attach (MwPageRecord *record,
                       sqlite3      *db)
{
  g_return_val_if_fail (record != NULL, FALSE);

  if (sqlite3_file_control (db, "main", FCNTL_ATTACH_RECORD, record) != SQLITE_OK)
    {
      record->usable = FALSE;
      return FALSE;
    }
  return TRUE;
}
