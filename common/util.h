/* skiff — small shared helpers: subprocesses and atomic files. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Resource limits for a helper program that reads untrusted input. */
typedef struct {
  guint64 cpu_seconds; /* RLIMIT_CPU */
  guint64 as_bytes;    /* RLIMIT_AS */
} SkSpawnLimits;

/* sk_spawn_sync under @limits (RLIMIT_CPU, RLIMIT_AS, no core dumps);
 * @limits may be NULL.  A child killed by a signal fails with its name. */
gboolean sk_spawn_sync_limited (const char *const *argv, const SkSpawnLimits *limits, char **out_stdout,
                                GError **error);

/* Runs @argv to completion (argv[0] looked up in PATH), logging it at debug
 * level.  On success stores its stdout in @out_stdout (may be NULL).  A
 * non-zero exit fails with SK_ERROR_CHILD_FAILED: "<prog>: <last stderr line>". */
gboolean sk_spawn_sync (const char *const *argv, char **out_stdout, GError **error);

/* Writes @len bytes to @path through a temporary in the same directory,
 * fsync, rename: readers see the old or the new file, never a torn one. */
gboolean sk_file_write_atomic (const char *path, const void *data, gsize len,
                               int mode, GError **error);

/* sk_file_write_atomic without the fsync: readers still see the old or the
 * new file, but a crash may lose the new one (the caller syncs later). */
gboolean sk_file_write_atomic_nosync (const char *path, const void *data, gsize len, int mode, GError **error);

/* Writes all @len bytes to @fd, retrying after EINTR and short writes;
 * FALSE with errno set on failure. */
gboolean sk_write_all (int fd, const void *data, gsize len);

/* For a file written from start to end that will be synced (the store
 * syncs what it keeps): once the bytes from *@synced to @at are
 * SK_WRITEBACK_STEP or more, the disk starts writing them (no waiting),
 * so the sync at the end finds little left; *@synced moves to @at.  An
 * @at below *@synced (the writer started over) moves it back. */
#define SK_WRITEBACK_STEP (8 * 1024 * 1024)
void sk_start_writeback (int fd, guint64 *synced, guint64 at);

/* Zero blocks of this size (the file system's) are left as holes. */
#define SK_SPARSE_BLOCK 4096

/* Writes @len bytes at @offset, leaving holes for the whole aligned blocks
 * of zeros (disk layers hold many): for a file written from start to end,
 * whose bytes past what is written are a hole already; the caller sets
 * the final size (zeros at the end are a hole too).  FALSE with errno. */
gboolean sk_pwrite_sparse (int fd, const void *data, gsize len, guint64 offset);

/* Human-readable byte size ("1.5 GiB", "512 B"). */
char *sk_format_size (guint64 bytes);

/* "512m", "2g", "10g", "64MiB" -> bytes; a plain number counts @plain_unit
 * bytes.  Zero and overflow are refused: SK_ERROR_USAGE "invalid @what
 * 'S': expected a size like 512m or 2g". */
gboolean sk_parse_size (const char *what, const char *s, guint64 plain_unit, guint64 *out, GError **error);

/* "3 seconds ago", "2 hours ago", for `ps`/`images`. */
char *sk_format_age (gint64 unix_then, gint64 unix_now);

G_END_DECLS
