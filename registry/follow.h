/* skiff — hashing a download's file behind it, on a thread of its own.
 *
 * A follower reads the bytes a download has written so far (it is told
 * how far by the download's progress, which reports every start and every
 * write) and hashes a prefix followed by the bytes (the store's object
 * name for a blob: sk_store_blob_header), so storing the finished file
 * needs no second read; with no prefix it computes the download's own
 * digest off the thread receiving it.  The download verifies the bytes themselves; the
 * bytes at an offset are the blob's whatever try wrote them, except when
 * a try went wrong, and then the download starts over: a progress going
 * back spoils the result, as does a short read, and the caller hashes the
 * file itself. */
#pragma once

#include <gio/gio.h>

#include "oci/digest.h"

G_BEGIN_DECLS

/* Hashes up to @len bytes of @fd at @at (bytes that are final) into @h,
 * reading them into @buf (@len bytes at least); the holes downloads leave
 * for zero blocks are hashed as zeros without reading them (which would
 * fill the page cache with zero pages).  Returns the bytes hashed (fewer
 * than @len at a hole's edge), 0 at the end of the file, -1 with errno. */
gssize sk_hash_fd_range (SkHasher *h, int fd, guint64 at, gsize len, guint8 *buf);

typedef struct _SkFollower SkFollower;

/* Follows @fd (not owned), whose first @have bytes are there already,
 * hashing with @alg @prefix (may be NULL) followed by the file's bytes. */
SkFollower *sk_follower_new (int fd, guint64 have, SkDigestAlgorithm alg, GBytes *prefix);

/* The download has written its first @written bytes (or starts over from
 * there). */
void sk_follower_advance (SkFollower *f, guint64 written);

/* The download is over and the file has its final size @size: hashes what
 * is left and stops.  On success @out_prefixed is the digest of the prefix
 * and the file's @size bytes; FALSE when the result was spoiled. */
gboolean sk_follower_finish (SkFollower *f, guint64 size, char **out_prefixed);

/* Handed the file's bytes in order, as they become final (runs of zeros
 * included); FALSE spoils the result. */
typedef gboolean (*SkFollowFunc) (const guint8 *data, gsize len, gpointer user_data);

/* Follows @fd (not owned) from its start, whose first @have bytes are
 * there already, handing its bytes to @func on the follower's thread. */
SkFollower *sk_follower_new_full (int fd, guint64 have, SkFollowFunc func, gpointer user_data);

/* sk_follower_finish for a follower made by sk_follower_new_full: TRUE
 * when @func was handed all @size bytes and never said no. */
gboolean sk_follower_finish_full (SkFollower *f, guint64 size);

/* Stops (if running) and frees; NULL-safe. */
void sk_follower_free (SkFollower *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkFollower, sk_follower_free)

/* ---- handing a big file's pages back as its readers pass them ----
 *
 * A layer written once, front to back, and read back in order by a few
 * threads (the digest's hasher, the store name's, a decompressor) need
 * not stay in the page cache while it downloads: once every reader has
 * passed a range and the range is on disk, its pages are dropped, and the
 * download's next writes reuse them.  The cache then holds tens of MiB of
 * the layer instead of all of it (a pull evicts nothing else), and the
 * writes go to warm pages: on this project's VMs a page the kernel takes
 * fresh from the host costs up to ten times a reused one (512 MiB: 0.4-1.3
 * s of system time against 0.1 s).  Dropping is only advice: a late
 * reader reads the disk, a wrong result is not possible. */
typedef struct _SkRecycler SkRecycler;

/* Drops pages of @fd (not owned) once its readers have all passed them. */
SkRecycler *sk_recycler_new (int fd);
SkRecycler *sk_recycler_ref (SkRecycler *r);
void sk_recycler_unref (SkRecycler *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkRecycler, sk_recycler_unref)

/* A reader joins before it reads anything (then nothing it has not read
 * is dropped), reports how far it has read, and leaves when it is done;
 * join returns its slot, or -1 when the recycler is full (the reader then
 * reads without constraining it, and may find the disk). */
gint sk_recycler_join (SkRecycler *r);
void sk_recycler_passed (SkRecycler *r, gint reader, guint64 pos);
void sk_recycler_leave (SkRecycler *r, gint reader);

/* Makes @f a reader of @r (joined now, leaving when it stops). */
void sk_follower_recycle (SkFollower *f, SkRecycler *r);

G_END_DECLS
