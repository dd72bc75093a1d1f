/* Unit tests: registry/follow — the recycler hands a file's pages back to
 * the page cache only below its slowest reader (mincore shows which pages
 * are still cached), and a follower joined to one hashes a growing file
 * right while the pages it has passed go. */
#include "oci/digest.h"
#include "registry/follow.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define FILE_MIB 160

typedef struct {
  char *dir;
  char *path;
  int fd;
} Fixture;

/* Not under $TMPDIR's usual tmpfs on other machines: shmem pages cannot be
 * handed back, the file must live on a disk file system. */
static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  (void) data;
  f->dir = g_mkdtemp (g_strdup ("/var/tmp/skiff-follow-XXXXXX"));
  g_assert_nonnull (f->dir);
  f->path = g_build_filename (f->dir, "layer", NULL);
  f->fd = open (f->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint (f->fd, >=, 0);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  (void) data;
  close (f->fd);
  g_unlink (f->path);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

/* MiB number @i of the file: bytes no run of zeros could pass for. */
static void
fill_mib (guint8 *buf, guint i)
{
  guint32 x = 2166136261u ^ i;
  for (gsize k = 0; k < MIB; k++)
    {
      x = x * 16777619u + 1;
      buf[k] = (guint8) ((x >> 24) | 1);
    }
}

static void
write_mib (int fd, guint i, SkHasher *h)
{
  g_autofree guint8 *buf = g_malloc (MIB);
  fill_mib (buf, i);
  g_assert_cmpint (pwrite (fd, buf, MIB, (off_t) i * MIB), ==, MIB);
  if (h)
    sk_hasher_update (h, buf, MIB);
}

/* How many of the pages of [@from_mib, @to_mib) MiB of @fd are cached. */
static gsize
cached_pages (int fd, guint from_mib, guint to_mib)
{
  gsize len = (gsize) (to_mib - from_mib) * MIB;
  void *map = mmap (NULL, len, PROT_READ, MAP_SHARED, fd, (off_t) from_mib * MIB);
  g_assert_true (map != MAP_FAILED);
  long page = sysconf (_SC_PAGESIZE);
  gsize n = len / (gsize) page, cached = 0;
  g_autofree unsigned char *vec = g_malloc (n);
  g_assert_cmpint (mincore (map, len, vec), ==, 0);
  for (gsize i = 0; i < n; i++)
    cached += vec[i] & 1;
  munmap (map, len);
  return cached;
}

static gsize
pages_in (guint mib)
{
  return (gsize) mib * MIB / (gsize) sysconf (_SC_PAGESIZE);
}

static void
test_recycler_slowest_reader (Fixture *f, gconstpointer data)
{
  (void) data;
  for (guint i = 0; i < FILE_MIB; i++)
    write_mib (f->fd, i, NULL);
  g_assert_cmpuint (cached_pages (f->fd, 0, FILE_MIB), >, pages_in (FILE_MIB) * 9 / 10);

  g_autoptr (SkRecycler) r = sk_recycler_new (f->fd);
  gint a = sk_recycler_join (r), b = sk_recycler_join (r);
  g_assert_cmpint (a, >=, 0);
  g_assert_cmpint (b, >=, 0);
  g_assert_cmpint (a, !=, b);

  /* One reader at the end, the other not far: nothing goes. */
  sk_recycler_passed (r, a, (guint64) FILE_MIB * MIB);
  sk_recycler_passed (r, b, 40 * MIB);
  g_assert_cmpuint (cached_pages (f->fd, 0, 40), ==, pages_in (40));

  /* The slower one at 96 MiB: pages a step (32 MiB) behind it go, dirty
   * ones after their writeback; the rest stays. */
  sk_recycler_passed (r, b, 96 * MIB);
  g_assert_cmpuint (cached_pages (f->fd, 0, 64), ==, 0);
  g_assert_cmpuint (cached_pages (f->fd, 64, FILE_MIB), >, pages_in (FILE_MIB - 64) * 9 / 10);

  /* A reader joining now starts at 0 and holds what is left. */
  gint c = sk_recycler_join (r);
  g_assert_cmpint (c, >=, 0);
  sk_recycler_passed (r, b, (guint64) FILE_MIB * MIB);
  g_assert_cmpuint (cached_pages (f->fd, 64, FILE_MIB), >, pages_in (FILE_MIB - 64) * 9 / 10);

  /* Once it leaves, the others (both at the end) let all but the last
   * step go. */
  sk_recycler_leave (r, c);
  sk_recycler_passed (r, a, (guint64) FILE_MIB * MIB);
  g_assert_cmpuint (cached_pages (f->fd, 0, FILE_MIB - 32), ==, 0);
  g_assert_cmpuint (cached_pages (f->fd, FILE_MIB - 32, FILE_MIB), >, pages_in (32) * 9 / 10);

  /* The bytes are all still there. */
  g_autofree guint8 *want = g_malloc (MIB), *got = g_malloc (MIB);
  for (guint i = 0; i < FILE_MIB; i += 37)
    {
      fill_mib (want, i);
      g_assert_cmpint (pread (f->fd, got, MIB, (off_t) i * MIB), ==, MIB);
      g_assert_true (memcmp (want, got, MIB) == 0);
    }
  sk_recycler_leave (r, a);
  sk_recycler_leave (r, b);
}

static void
test_recycler_full (Fixture *f, gconstpointer data)
{
  (void) data;
  g_autoptr (SkRecycler) r = sk_recycler_new (f->fd);
  gint slots[16];
  guint joined = 0;
  for (guint i = 0; i < G_N_ELEMENTS (slots); i++)
    if ((slots[i] = sk_recycler_join (r)) >= 0)
      joined++;
  /* A few readers at most; the others read unconstrained (told so by -1,
   * which every call takes). */
  g_assert_cmpuint (joined, >=, 2);
  g_assert_cmpuint (joined, <, G_N_ELEMENTS (slots));
  g_assert_cmpint (slots[G_N_ELEMENTS (slots) - 1], ==, -1);
  sk_recycler_passed (r, -1, 1000);
  sk_recycler_leave (r, -1);
  for (guint i = 0; i < G_N_ELEMENTS (slots); i++)
    sk_recycler_leave (r, slots[i]);
}

/* A follower (the store name's: a prefix, then the file) of a file written
 * a MiB at a time hashes it right while the pages behind it go back. */
static void
test_follower_recycles (Fixture *f, gconstpointer data)
{
  (void) data;
  static const char prefix[] = "header";
  g_autoptr (GBytes) pb = g_bytes_new_static (prefix, sizeof prefix - 1);
  g_autoptr (SkHasher) want = sk_hasher_new (SK_DIGEST_SHA256);
  sk_hasher_update (want, prefix, sizeof prefix - 1);
  g_autoptr (SkRecycler) r = sk_recycler_new (f->fd);
  g_autoptr (SkFollower) follower = sk_follower_new (f->fd, 0, SK_DIGEST_SHA256, pb);
  sk_follower_recycle (follower, r);
  for (guint i = 0; i < FILE_MIB; i++)
    {
      write_mib (f->fd, i, want);
      sk_follower_advance (follower, (guint64) (i + 1) * MIB);
    }
  g_autofree char *digest = NULL;
  g_assert_true (sk_follower_finish (follower, (guint64) FILE_MIB * MIB, &digest));
  g_autofree char *expected = sk_hasher_finish (want);
  g_assert_cmpstr (digest, ==, expected);
  /* It passed the whole file: all but its last step or two went back. */
  g_assert_cmpuint (cached_pages (f->fd, 0, FILE_MIB - 64), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/follow/recycler/slowest-reader", Fixture, NULL, fixture_set_up, test_recycler_slowest_reader,
              fixture_tear_down);
  g_test_add ("/follow/recycler/full", Fixture, NULL, fixture_set_up, test_recycler_full, fixture_tear_down);
  g_test_add ("/follow/follower-recycles", Fixture, NULL, fixture_set_up, test_follower_recycles, fixture_tear_down);
  return g_test_run ();
}
