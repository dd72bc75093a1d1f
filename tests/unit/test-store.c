/* Unit tests: store — blobs, images, tags, holds, prune, fsck on a real
 * ostree repository in a temporary directory. */
#include "store/store.h"
#include "common/error.h"
#include "oci/config.h"
#include "oci/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  char *dir;
  SkStore *store;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("skiff-store-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_build_filename (f->dir, "root", NULL);
  f->store = sk_store_open (root, &error);
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  sk_store_free (f->store);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->dir);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (f->dir);
}

/* Writes @len bytes of a pattern seeded by @seed to a file, returns an fd. */
static int
make_file (Fixture *f, const char *name, gsize len, guint seed)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  g_autofree guint8 *buf = g_malloc (len);
  GRand *r = g_rand_new_with_seed (seed);
  for (gsize i = 0; i < len; i++)
    buf[i] = g_rand_int (r) & 0xff;
  g_rand_free (r);
  g_assert_true (g_file_set_contents (path, (char *) buf, len, NULL));
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static GBytes *
text (const char *s)
{
  return g_bytes_new (s, strlen (s));
}

/* Stores an image of one layer made from @seed; returns its digest. */
static char *
store_image (Fixture *f, guint seed, const char *tag, char **out_layer_digest)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *name = g_strdup_printf ("layer-%u", seed);
  int fd = make_file (f, name, 300000 + seed, seed);
  g_autofree char *digest = NULL;
  g_autoptr (SkStoreBlob) blob = sk_store_write_blob (f->store, fd, "layers", ".qcow2", NULL, &digest, &error);
  close (fd);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) blobs = g_ptr_array_new ();
  g_ptr_array_add (blobs, blob);
  g_autofree char *m = g_strdup_printf ("{\"manifest\":%u}", seed);
  g_autoptr (GBytes) manifest = text (m);
  g_autoptr (GBytes) config = text ("{}");
  char *id = sk_store_commit_image (f->store, manifest, config, blobs, tag, &error);
  g_assert_no_error (error);
  g_assert_nonnull (id);
  if (out_layer_digest)
    *out_layer_digest = g_steal_pointer (&digest);
  return id;
}

static void
test_blob_digest (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  int fd = make_file (f, "blob", 3 << 20, 7);
  g_autofree char *path = g_build_filename (f->dir, "blob", NULL);
  g_autofree char *expected = sk_digest_file (SK_DIGEST_SHA256, path, NULL, &error);
  g_autofree char *digest = NULL;
  g_autoptr (SkStoreBlob) b = sk_store_write_blob (f->store, fd, "layers", ".qcow2", NULL, &digest, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (digest, ==, expected);
  g_assert_cmpuint (b->size, ==, 3 << 20);
  g_autofree char *tp = g_strdup_printf ("layers/%s.qcow2", sk_digest_hex (expected));
  g_assert_cmpstr (b->tree_path, ==, tp);

  /* A wrong expected digest is refused. */
  g_autoptr (SkStoreBlob) bad = sk_store_write_blob (f->store, fd, "layers", ".qcow2",
      "sha256:0000000000000000000000000000000000000000000000000000000000000000", NULL, &error);
  g_assert_null (bad);
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  close (fd);
}

static void
test_images_tags (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *a = store_image (f, 1, "docker.io/library/a:latest", NULL);
  g_autofree char *b = store_image (f, 2, "localhost:5000/b:1", NULL);
  g_assert_cmpstr (a, !=, b);
  g_assert_true (sk_store_tag (f->store, a, "docker.io/library/a:v2", &error));
  g_assert_no_error (error);

  g_autoptr (GPtrArray) all = sk_store_list_images (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);

  g_autoptr (SkStoreImage) byname = sk_store_lookup (f->store, "docker.io/library/a:v2", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (byname->digest, ==, a);
  g_assert_cmpuint (byname->tags->len, ==, 2);
  g_assert_cmpstr (byname->tags->pdata[0], ==, "docker.io/library/a:latest");

  g_autofree char *prefix = g_strndup (sk_digest_hex (b), 12);
  g_autoptr (SkStoreImage) byid = sk_store_lookup (f->store, prefix, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (byid->digest, ==, b);
  g_autoptr (SkStoreImage) bydigest = sk_store_lookup (f->store, b, &error);
  g_assert_no_error (error);

  g_autoptr (SkStoreImage) missing = sk_store_lookup (f->store, "docker.io/library/zzz:latest", &error);
  g_assert_null (missing);
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Removing one of two tags keeps the image; the last one removes it. */
  gboolean removed = TRUE;
  g_assert_true (sk_store_untag (f->store, "docker.io/library/a:latest", &removed, &error));
  g_assert_false (removed);
  g_assert_true (sk_store_untag (f->store, "docker.io/library/a:v2", &removed, &error));
  g_assert_true (removed);
  g_autoptr (GPtrArray) after = sk_store_list_images (f->store, &error);
  g_assert_cmpuint (after->len, ==, 1);
  g_assert_false (sk_store_untag (f->store, "docker.io/library/a:v2", NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
}

static void
test_dedup_and_prune (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *la = NULL, *lb = NULL;
  g_autofree char *a = store_image (f, 5, "x/a:1", &la);
  /* Same layer bytes in another image: stored once. */
  int fd = make_file (f, "layer-5b", 300005, 5);
  g_autoptr (SkStoreBlob) again = sk_store_write_blob (f->store, fd, "layers", ".qcow2", la, NULL, &error);
  close (fd);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) blobs = g_ptr_array_new ();
  g_ptr_array_add (blobs, again);
  g_autoptr (GBytes) m = text ("{\"other\":1}");
  g_autoptr (GBytes) c = text ("{}");
  g_autofree char *b = sk_store_commit_image (f->store, m, c, blobs, "x/b:1", &error);
  g_assert_no_error (error);
  SkStoreUsage u;
  g_assert_true (sk_store_usage (f->store, &u, &error));
  g_assert_cmpuint (u.images, ==, 2);
  g_assert_cmpuint (u.layers, ==, 1);
  g_assert_cmpuint (u.unique_bytes, ==, 300005);
  g_assert_cmpuint (u.shared_bytes, ==, 2 * 300005);

  g_autoptr (SkStoreImage) img = sk_store_lookup (f->store, "x/a:1", &error);
  g_assert_true (sk_store_checkout (f->store, img, &error));
  g_assert_no_error (error);
  g_autofree char *link = g_strdup_printf ("%s/%s.qcow2", sk_store_layers_dir (f->store), sk_digest_hex (la));
  struct stat st;
  g_assert_cmpint (stat (link, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0444);
  g_assert_cmpint (st.st_nlink, >=, 2); /* a hardlink, not a copy */

  /* The layer stays while one image needs it. */
  guint images = 0;
  guint64 freed = 0;
  g_assert_true (sk_store_untag (f->store, "x/a:1", NULL, &error));
  g_assert_true (sk_store_prune (f->store, &images, &freed, &error));
  g_assert_no_error (error);
  g_assert_cmpint (stat (link, &st), ==, 0);
  g_assert_true (sk_store_untag (f->store, "x/b:1", NULL, &error));
  g_assert_true (sk_store_prune (f->store, &images, &freed, &error));
  g_assert_cmpuint (freed, >=, 300005);
  g_assert_cmpint (stat (link, &st), <, 0);
  g_assert_cmpint (errno, ==, ENOENT);
}

static void
test_holds (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *a = store_image (f, 9, "x/held:1", NULL);
  g_assert_true (sk_store_hold (f->store, a, "vm1", &error));
  gboolean removed = TRUE;
  g_assert_true (sk_store_untag (f->store, "x/held:1", &removed, &error));
  g_assert_false (removed);
  guint images = 0;
  guint64 freed = 0;
  g_assert_true (sk_store_prune (f->store, &images, &freed, &error));
  g_assert_cmpuint (images, ==, 0);
  g_autoptr (SkStoreImage) still = sk_store_lookup (f->store, a, &error);
  g_assert_no_error (error);
  g_assert_true (still->held);
  g_assert_true (sk_store_release (f->store, a, "vm1", &error));
  g_assert_true (sk_store_prune (f->store, &images, &freed, &error));
  g_assert_cmpuint (images, ==, 1);
}

/* A real one-layer image: a qcow2 made by qemu-img (with @backing as its
 * backing name when non-NULL) and a valid config naming it. */
static char *
store_qcow2_image (Fixture *f, const char *tag, const char *backing, char **out_layer)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "disk.qcow2", NULL);
  g_autofree char *cmd = backing
      ? g_strdup_printf ("qemu-img create -q -f qcow2 -u -b %s -F qcow2 '%s' 16M", backing, path)
      : g_strdup_printf ("qemu-img create -q -f qcow2 '%s' 16M", path);
  g_assert_cmpint (system (cmd), ==, 0);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  g_autofree char *diff = NULL;
  g_autoptr (SkStoreBlob) blob = sk_store_write_blob (f->store, fd, "layers", ".qcow2", NULL, &diff, &error);
  close (fd);
  g_assert_no_error (error);
  g_autoptr (SkConfig) c = sk_config_new ();
  c->architecture = g_strdup ("amd64");
  c->os = g_strdup ("linux");
  c->disk_size = 16 << 20;
  sk_config_add_diff_id (c, diff);
  g_autoptr (GBytes) config = sk_config_serialize (c, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) blobs = g_ptr_array_new ();
  g_ptr_array_add (blobs, blob);
  g_autofree char *m = g_strdup_printf ("{\"m\":\"%s\"}", tag);
  g_autoptr (GBytes) manifest = text (m);
  char *id = sk_store_commit_image (f->store, manifest, config, blobs, tag, &error);
  g_assert_no_error (error);
  *out_layer = g_steal_pointer (&diff);
  return id;
}

static void
test_fsck_finds_corruption (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *layer = NULL;
  g_autofree char *a = store_qcow2_image (f, "x/c:1", NULL, &layer);
  g_autoptr (SkStoreImage) img = sk_store_lookup (f->store, a, &error);
  g_assert_true (sk_store_checkout (f->store, img, &error));
  g_autoptr (GPtrArray) problems = NULL;
  g_assert_true (sk_store_fsck (f->store, &problems, &error));
  for (guint i = 0; i < problems->len; i++)
    g_test_message ("%s", (char *) problems->pdata[i]);
  g_assert_cmpuint (problems->len, ==, 0);
  g_clear_pointer (&problems, g_ptr_array_unref);

  /* Flip one byte through the hardlink (what skiff never does). */
  g_autofree char *link = g_strdup_printf ("%s/%s.qcow2", sk_store_layers_dir (f->store), sk_digest_hex (layer));
  int fd = open (link, O_WRONLY);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pwrite (fd, "X", 1, 70000), ==, 1);
  close (fd);
  g_assert_true (sk_store_fsck (f->store, &problems, &error));
  g_assert_cmpuint (problems->len, >=, 1);
  gboolean said_corrupt = FALSE;
  for (guint i = 0; i < problems->len; i++)
    said_corrupt |= strstr (problems->pdata[i], "is corrupt") != NULL;
  g_assert_true (said_corrupt);
}

/* A base layer whose header names a backing file breaks the chain rule. */
static void
test_fsck_checks_chain (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *layer = NULL;
  g_autofree char *hex = g_strnfill (64, 'a');
  g_autofree char *backing = g_strdup_printf ("%s.qcow2", hex);
  g_autofree char *a = store_qcow2_image (f, "x/bad:1", backing, &layer);
  g_autoptr (GPtrArray) problems = NULL;
  g_assert_true (sk_store_fsck (f->store, &problems, &error));
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_nonnull (strstr (problems->pdata[0], "backing file"));
}

static void
test_escape (void)
{
  const char *names[] = { "docker.io/library/ubuntu:latest", "localhost:5000/a_b/c@sha256:00", "x" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *e = sk_store_escape_ref (names[i]);
      g_assert_null (strchr (e, '/'));
      g_assert_null (strchr (e, ':'));
      g_autofree char *u = sk_store_unescape_ref (e);
      g_assert_cmpstr (u, ==, names[i]);
    }
}

static void
quiet (const char *domain, GLogLevelFlags level, const char *msg, gpointer data)
{
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_handler ("OSTree", G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO, quiet, NULL);
  g_log_set_handler ("GLib-GIO", G_LOG_LEVEL_DEBUG, quiet, NULL);
  g_test_add_func ("/store/escape", test_escape);
  g_test_add ("/store/blob-digest", Fixture, NULL, setup, test_blob_digest, teardown);
  g_test_add ("/store/images-tags", Fixture, NULL, setup, test_images_tags, teardown);
  g_test_add ("/store/dedup-prune", Fixture, NULL, setup, test_dedup_and_prune, teardown);
  g_test_add ("/store/holds", Fixture, NULL, setup, test_holds, teardown);
  g_test_add ("/store/fsck-corruption", Fixture, NULL, setup, test_fsck_finds_corruption, teardown);
  g_test_add ("/store/fsck-chain", Fixture, NULL, setup, test_fsck_checks_chain, teardown);
  return g_test_run ();
}
