/* skiff — a thread hashing a download's file as it grows. */
#include "registry/follow.h"
#include "oci/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define FOLLOW_CHUNK (1 << 20)

struct _SkFollower {
  GThread *thread;
  GMutex lock;
  GCond cond;
  int fd;
  guint64 written; /* what the download reported */
  guint64 pos;     /* what is hashed */
  gboolean stop;   /* the download is over: the file has its final size */
  gboolean done;   /* the thread has ended */
  gboolean spoiled;
  SkHasher *prefixed; /* or: */
  SkFollowFunc func;
  gpointer func_data;
  SkRecycler *recycler; /* told how far it has read, or NULL */
  gint slot;
};

static const guint8 zeros[FOLLOW_CHUNK];

gssize
sk_hash_fd_range (SkHasher *h, int fd, guint64 at, gsize len, guint8 *buf)
{
  off_t data = lseek (fd, (off_t) at, SEEK_DATA);
  if (data > (off_t) at)
    {
      gsize hole = (gsize) MIN (MIN ((guint64) (data - at), (guint64) len), (guint64) sizeof zeros);
      sk_hasher_update (h, zeros, hole);
      return (gssize) hole;
    }
  if (data == (off_t) at)
    {
      off_t hole = lseek (fd, (off_t) at, SEEK_HOLE);
      if (hole > (off_t) at && (guint64) (hole - at) < len)
        len = (gsize) (hole - at);
    }
  /* else past the end of the file (trailing zeros not there yet), or no
   * SEEK_DATA: read, and let a short read say so */
  gssize n;
  do
    n = pread (fd, buf, len, at);
  while (n < 0 && errno == EINTR);
  if (n > 0)
    sk_hasher_update (h, buf, n);
  return n;
}

/* Hands over the next final bytes of [at, at + len) (0: none there yet,
 * -1: spoiled); the lock is not held. */
static gssize
hash_range (SkFollower *f, guint8 *buf, guint64 at, gsize len)
{
  if (f->func == NULL)
    return sk_hash_fd_range (f->prefixed, f->fd, at, len, buf);
  off_t data = lseek (f->fd, (off_t) at, SEEK_DATA);
  if (data > (off_t) at)
    {
      gsize hole = (gsize) MIN (MIN ((guint64) (data - at), (guint64) len), (guint64) sizeof zeros);
      return f->func (zeros, hole, f->func_data) ? (gssize) hole : -1;
    }
  gssize n;
  do
    n = pread (f->fd, buf, len, at);
  while (n < 0 && errno == EINTR);
  if (n > 0 && !f->func (buf, n, f->func_data))
    return -1;
  return n;
}

/* Bytes past the end of the file below what the download reported. */
static gboolean
pass_zeros (SkFollower *f, gsize len)
{
  if (f->func == NULL)
    return sk_hasher_update (f->prefixed, zeros, len), TRUE;
  return f->func (zeros, len, f->func_data);
}

static gpointer
follow (gpointer data)
{
  SkFollower *f = data;
  g_autofree guint8 *buf = g_malloc (FOLLOW_CHUNK);
  g_mutex_lock (&f->lock);
  for (;;)
    {
      while (!f->stop && f->written <= f->pos)
        g_cond_wait (&f->cond, &f->lock);
      if (f->written < f->pos)
        f->spoiled = TRUE; /* the download started over */
      if (f->spoiled || f->written == f->pos)
        break;
      guint64 at = f->pos;
      gsize len = MIN (f->written - at, FOLLOW_CHUNK);
      g_mutex_unlock (&f->lock);
      gssize n = hash_range (f, buf, at, len);
      /* Past the end of the file but below what the download reported:
       * zero blocks it skipped, which a later write or its final size
       * turns into a hole.  (Waiting for those instead stalled the
       * hashing at every run of zeros until the download ended.) */
      if (n == 0)
        n = pass_zeros (f, len) ? (gssize) len : -1;
      g_mutex_lock (&f->lock);
      if (n < 0)
        {
          f->spoiled = TRUE;
          break;
        }
      f->pos += n;
      if (f->recycler)
        {
          guint64 pos = f->pos;
          g_mutex_unlock (&f->lock);
          sk_recycler_passed (f->recycler, f->slot, pos);
          g_mutex_lock (&f->lock);
        }
    }
  f->done = TRUE;
  g_mutex_unlock (&f->lock);
  return NULL;
}

SkFollower *
sk_follower_new (int fd, guint64 have, SkDigestAlgorithm alg, GBytes *prefix)
{
  SkFollower *f = g_new0 (SkFollower, 1);
  g_mutex_init (&f->lock);
  g_cond_init (&f->cond);
  f->fd = fd;
  f->written = have;
  /* Everything it reads was just written and is in the page cache; the
   * kernel's readahead would only read the holes ahead (zero blocks
   * downloads skip), filling the cache with zero pages. */
  (void) posix_fadvise (fd, 0, 0, POSIX_FADV_RANDOM);
  f->prefixed = sk_hasher_new (alg);
  if (prefix)
    {
      gsize len;
      const void *data = g_bytes_get_data (prefix, &len);
      sk_hasher_update (f->prefixed, data, len);
    }
  f->thread = g_thread_new ("skiff-follow", follow, f);
  return f;
}

SkFollower *
sk_follower_new_full (int fd, guint64 have, SkFollowFunc func, gpointer user_data)
{
  SkFollower *f = g_new0 (SkFollower, 1);
  g_mutex_init (&f->lock);
  g_cond_init (&f->cond);
  f->fd = fd;
  f->written = have;
  (void) posix_fadvise (fd, 0, 0, POSIX_FADV_RANDOM); /* as in sk_follower_new */
  f->func = func;
  f->func_data = user_data;
  f->thread = g_thread_new ("skiff-follow", follow, f);
  return f;
}

void
sk_follower_advance (SkFollower *f, guint64 written)
{
  g_mutex_lock (&f->lock);
  /* Going back: the download started over, what was hashed may differ. */
  if (written < f->written)
    f->spoiled = TRUE;
  f->written = written;
  g_cond_signal (&f->cond);
  g_mutex_unlock (&f->lock);
}

/* Ends the thread: the file is final (or abandoned). */
static void
stop (SkFollower *f, guint64 size)
{
  if (f->thread == NULL)
    return;
  g_mutex_lock (&f->lock);
  if (f->written != size)
    f->spoiled = f->spoiled || f->written > size;
  f->written = size;
  f->stop = TRUE;
  g_cond_signal (&f->cond);
  g_mutex_unlock (&f->lock);
  g_thread_join (g_steal_pointer (&f->thread));
}

gboolean
sk_follower_finish (SkFollower *f, guint64 size, char **out_prefixed)
{
  stop (f, size);
  if (f->spoiled || f->pos != size)
    return FALSE;
  *out_prefixed = sk_hasher_finish (f->prefixed);
  return TRUE;
}

gboolean
sk_follower_finish_full (SkFollower *f, guint64 size)
{
  stop (f, size);
  return !f->spoiled && f->pos == size;
}

void
sk_follower_free (SkFollower *f)
{
  if (f == NULL)
    return;
  stop (f, 0);
  if (f->recycler)
    {
      sk_recycler_leave (f->recycler, f->slot);
      sk_recycler_unref (f->recycler);
    }
  if (f->prefixed)
    sk_hasher_free (f->prefixed);
  g_mutex_clear (&f->lock);
  g_cond_clear (&f->cond);
  g_free (f);
}

void
sk_follower_recycle (SkFollower *f, SkRecycler *r)
{
  g_return_if_fail (f->recycler == NULL);
  g_mutex_lock (&f->lock);
  f->recycler = sk_recycler_ref (r);
  f->slot = sk_recycler_join (r);
  g_mutex_unlock (&f->lock);
}

/* ---------------------------------------------------------------- recycler */

/* Pages go back in steps of this, a step behind the slowest reader. */
#define RECYCLE_STEP (32 << 20)
#define RECYCLE_READERS 4

struct _SkRecycler {
  gint ref;
  int fd;
  GMutex lock;
  gboolean reading[RECYCLE_READERS];
  guint64 pos[RECYCLE_READERS];
  guint64 dropped; /* the pages below are handed back */
  gboolean busy;   /* a reader is handing pages back */
};

SkRecycler *
sk_recycler_new (int fd)
{
  SkRecycler *r = g_new0 (SkRecycler, 1);
  r->ref = 1;
  r->fd = fd;
  g_mutex_init (&r->lock);
  return r;
}

SkRecycler *
sk_recycler_ref (SkRecycler *r)
{
  g_atomic_int_inc (&r->ref);
  return r;
}

void
sk_recycler_unref (SkRecycler *r)
{
  if (r == NULL || !g_atomic_int_dec_and_test (&r->ref))
    return;
  g_mutex_clear (&r->lock);
  g_free (r);
}

gint
sk_recycler_join (SkRecycler *r)
{
  g_mutex_lock (&r->lock);
  gint slot = -1;
  for (gint i = 0; i < RECYCLE_READERS && slot < 0; i++)
    if (!r->reading[i])
      slot = i;
  if (slot >= 0)
    {
      r->reading[slot] = TRUE;
      r->pos[slot] = 0;
    }
  g_mutex_unlock (&r->lock);
  return slot;
}

void
sk_recycler_leave (SkRecycler *r, gint reader)
{
  if (reader < 0)
    return;
  g_mutex_lock (&r->lock);
  r->reading[reader] = FALSE;
  g_mutex_unlock (&r->lock);
}

void
sk_recycler_passed (SkRecycler *r, gint reader, guint64 pos)
{
  if (reader < 0)
    return;
  g_mutex_lock (&r->lock);
  r->pos[reader] = pos;
  guint64 slowest = G_MAXUINT64;
  for (guint i = 0; i < RECYCLE_READERS; i++)
    if (r->reading[i])
      slowest = MIN (slowest, r->pos[i]);
  if (r->busy || slowest < r->dropped + 2 * (guint64) RECYCLE_STEP)
    {
      g_mutex_unlock (&r->lock);
      return;
    }
  guint64 from = r->dropped, to = slowest - RECYCLE_STEP;
  r->busy = TRUE;
  g_mutex_unlock (&r->lock);
  /* Dirty pages are not dropped: their writeback (started as the file
   * was written) is waited for first. */
  (void) sync_file_range (r->fd, (off_t) from, (off_t) (to - from),
                          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
  (void) posix_fadvise (r->fd, (off_t) from, (off_t) (to - from), POSIX_FADV_DONTNEED);
  g_mutex_lock (&r->lock);
  r->dropped = to;
  r->busy = FALSE;
  g_mutex_unlock (&r->lock);
}
