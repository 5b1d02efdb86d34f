/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A failing disk, for the tests: an LD_PRELOAD shim that makes the Nth call of write,
 * pwrite, fsync, fdatasync, rename, ftruncate, unlink or open(O_CREAT) fail — once
 * with EIO, or with ENOSPC from the Nth call on (a disk that filled up).
 *
 *   MW_FAULT_AT=N          the call to fail (1-based); unset or 0: only count
 *   MW_FAULT_MODE=eio      fail call N once with EIO (the default)
 *   MW_FAULT_MODE=enospc   fail every call from N on with ENOSPC
 *   MW_FAULT_MODE=flip     call N, if it writes, succeeds but one byte of what it wrote
 *                          is changed (100 bytes before its end): a disk, a cable or a
 *                          driver that damages data silently
 *   MW_FAULT_COUNT_FILE=F  at exit, write how many such calls the process made to F
 *   MW_FAULT_VERBOSE=1     say on stderr which call failed
 *   MW_FAULT_CALLS=a,b     count (and fail) only these calls, e.g. "ftruncate"
 *
 * Only calls that reach a file are counted: writes, syncs and truncations of regular
 * files, renames and unlinks, opens that may create a file; not the terminal, pipes,
 * eventfds, nor /dev, /proc and /sys. Threads share one counter.
 */

/* Both spellings of each call are defined here (pwrite and pwrite64, ...): the build's
 * large-file mode would make them one. */
#undef _FILE_OFFSET_BITS
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static long fault_at;
static int fault_errno = EIO;
static int fault_persistent;
static int fault_flip;
static int verbose;
static long counter;
static const char *count_file;
static const char *only_calls;

static void
say (const char *text)
{
  syscall (SYS_write, 2, text, strlen (text));
}

__attribute__((constructor)) static void
fault_init (void)
{
  const char *at = getenv ("MW_FAULT_AT");
  const char *mode = getenv ("MW_FAULT_MODE");

  fault_at = at != NULL ? atol (at) : 0;
  if (mode != NULL && strcmp (mode, "enospc") == 0)
    {
      fault_errno = ENOSPC;
      fault_persistent = 1;
    }
  else if (mode != NULL && strcmp (mode, "flip") == 0)
    fault_flip = 1;
  verbose = getenv ("MW_FAULT_VERBOSE") != NULL;
  count_file = getenv ("MW_FAULT_COUNT_FILE");
  only_calls = getenv ("MW_FAULT_CALLS");
}

/* Whether @what ("pwrite64") is one of MW_FAULT_CALLS ("pwrite,fsync"), by prefix. */
static int
selected (const char *what)
{
  const char *p = only_calls;

  if (p == NULL)
    return 1;
  while (*p != '\0')
    {
      size_t len = strcspn (p, ",");

      if (len > 0 && strncmp (what, p, len) == 0)
        return 1;
      p += len + (p[len] == ',');
    }
  return 0;
}

__attribute__((destructor)) static void
fault_report (void)
{
  char text[32];
  long fd;

  if (count_file == NULL)
    return;
  snprintf (text, sizeof text, "%ld\n", __atomic_load_n (&counter, __ATOMIC_SEQ_CST));
  /* Straight to the kernel: these calls must not count themselves. */
  fd = syscall (SYS_openat, AT_FDCWD, count_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  syscall (SYS_write, fd, text, strlen (text));
  syscall (SYS_close, fd);
}

/* Counts one call; whether it is the one to fail. */
static int
should_fail (const char *what)
{
  long n;
  int fail;

  if (!selected (what))
    return 0;
  n = __atomic_add_fetch (&counter, 1, __ATOMIC_SEQ_CST);
  if (fault_at <= 0)
    return 0;
  fail = fault_persistent ? n >= fault_at : n == fault_at;
  if (fail && verbose)
    {
      char text[128];

      snprintf (text, sizeof text, "[mw-fault] call %ld (%s) %s\n", n, what,
                fault_flip ? "writes one byte changed"
                : fault_errno == EIO ? "fails with EIO" : "fails with ENOSPC");
      say (text);
    }
  return fail;
}

static int
fd_is_file (int fd)
{
  struct stat st;

  return fd > 2 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode);
}

static int
path_is_file (const char *path)
{
  return path != NULL && strncmp (path, "/dev/", 5) != 0 && strncmp (path, "/proc/", 6) != 0 &&
         strncmp (path, "/sys/", 5) != 0;
}

#define REAL(name) \
  static __typeof__ (name) *real_##name; \
  if (real_##name == NULL) \
    real_##name = (__typeof__ (name) *) dlsym (RTLD_NEXT, #name)

#define FAIL_FD(fd, what) \
  if (fd_is_file (fd) && should_fail (what) && !fault_flip) \
    { \
      errno = fault_errno; \
      return -1; \
    }

/* A write: fails, or (flip) writes what it was given with one byte changed. */
#define WRITE_BODY(what, call) \
  if (fd_is_file (fd) && should_fail (what)) \
    { \
      unsigned char *changed; \
      ssize_t written; \
      if (!fault_flip) \
        { \
          errno = fault_errno; \
          return -1; \
        } \
      changed = malloc (count > 0 ? count : 1); \
      if (changed == NULL) \
        abort (); \
      memcpy (changed, buf, count); \
      if (count > 0) \
        changed[count > 100 ? count - 100 : count / 2] ^= 0x10; \
      buf = changed; \
      written = call; \
      free (changed); \
      return written; \
    } \
  return call

#define FAIL_PATH(path, what) \
  if (path_is_file (path) && should_fail (what) && !fault_flip) \
    { \
      errno = fault_errno; \
      return -1; \
    }

ssize_t
write (int fd, const void *buf, size_t count)
{
  REAL (write);
  WRITE_BODY ("write", real_write (fd, buf, count));
}

ssize_t
pwrite (int fd, const void *buf, size_t count, off_t offset)
{
  REAL (pwrite);
  WRITE_BODY ("pwrite", real_pwrite (fd, buf, count, offset));
}

ssize_t
pwrite64 (int fd, const void *buf, size_t count, off64_t offset)
{
  REAL (pwrite64);
  WRITE_BODY ("pwrite64", real_pwrite64 (fd, buf, count, offset));
}

int
fsync (int fd)
{
  REAL (fsync);
  FAIL_FD (fd, "fsync");
  return real_fsync (fd);
}

int
fdatasync (int fd)
{
  REAL (fdatasync);
  FAIL_FD (fd, "fdatasync");
  return real_fdatasync (fd);
}

int
ftruncate (int fd, off_t length)
{
  REAL (ftruncate);
  FAIL_FD (fd, "ftruncate");
  return real_ftruncate (fd, length);
}

int
ftruncate64 (int fd, off64_t length)
{
  REAL (ftruncate64);
  FAIL_FD (fd, "ftruncate64");
  return real_ftruncate64 (fd, length);
}

int
rename (const char *from, const char *to)
{
  REAL (rename);
  FAIL_PATH (to, "rename");
  return real_rename (from, to);
}

int
renameat (int from_dir, const char *from, int to_dir, const char *to)
{
  REAL (renameat);
  FAIL_PATH (to, "renameat");
  return real_renameat (from_dir, from, to_dir, to);
}

int
unlink (const char *path)
{
  REAL (unlink);
  FAIL_PATH (path, "unlink");
  return real_unlink (path);
}

int
unlinkat (int dir, const char *path, int flags)
{
  REAL (unlinkat);
  FAIL_PATH (path, "unlinkat");
  return real_unlinkat (dir, path, flags);
}

/* open(O_CREAT) in all its spellings; the mode is there only with O_CREAT/O_TMPFILE. */
#define OPEN_BODY(name, call_with_mode) \
  mode_t mode = 0; \
  if (flags & (O_CREAT | __O_TMPFILE)) \
    { \
      va_list args; \
      va_start (args, flags); \
      mode = va_arg (args, mode_t); \
      va_end (args); \
    } \
  REAL (name); \
  if ((flags & O_CREAT) != 0) \
    FAIL_PATH (path, #name); \
  return call_with_mode

int
open (const char *path, int flags, ...)
{
  OPEN_BODY (open, real_open (path, flags, mode));
}

int
open64 (const char *path, int flags, ...)
{
  OPEN_BODY (open64, real_open64 (path, flags, mode));
}

int
openat (int dir, const char *path, int flags, ...)
{
  OPEN_BODY (openat, real_openat (dir, path, flags, mode));
}

int
openat64 (int dir, const char *path, int flags, ...)
{
  OPEN_BODY (openat64, real_openat64 (dir, path, flags, mode));
}

int
creat (const char *path, mode_t mode)
{
  REAL (creat);
  FAIL_PATH (path, "creat");
  return real_creat (path, mode);
}
