/* Unit tests: oci/layout — OCI image layout directories, blob integrity,
 * hostile digests, containers/image's (inconsistent) layouts, skopeo. */
#include "common/error.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/layout-tar.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
vectors_dir (void)
{
  const char *src = g_getenv ("SK_SRCDIR");
  g_autofree char *dir = g_build_filename (src ? src : ".", "..", "shared", "vectors", "oci", NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    g_error ("test vectors not found at '%s' (set SK_SRCDIR to the repository root)", dir);
  return g_steal_pointer (&dir);
}

static char *
fixture (const char *name)
{
  g_autofree char *dir = vectors_dir ();
  return g_build_filename (dir, "containers-image-fixtures", "oci", "layout", "fixtures", name, NULL);
}

static void
rm_rf (const char *path)
{
  const char *argv[] = { "rm", "-rf", path, NULL };
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL));
}

typedef struct {
  char *dir;
  SkLayout *layout;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("skiff-layout-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  g_autofree char *path = g_build_filename (f->dir, "img", NULL);
  g_autoptr (GError) error = NULL;
  f->layout = sk_layout_create (path, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  sk_layout_free (f->layout);
  rm_rf (f->dir);
  g_free (f->dir);
}

static char *
read_text (const char *dir, const char *name)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  char *s = NULL;
  g_assert_true (g_file_get_contents (p, &s, NULL, NULL));
  return s;
}

static SkDescriptor *
put_bytes (SkLayout *layout, const char *media_type, const char *content)
{
  g_autoptr (GBytes) b = g_bytes_new (content, strlen (content));
  g_autoptr (GError) error = NULL;
  g_autofree char *digest = NULL;
  g_assert_true (sk_layout_write_blob_bytes (layout, b, &digest, &error));
  g_assert_no_error (error);
  return sk_descriptor_new (media_type, digest, strlen (content));
}

static void
test_create_and_open (Fixture *f, gconstpointer data)
{
  const char *path = sk_layout_get_path (f->layout);
  g_autofree char *header = read_text (path, "oci-layout");
  g_assert_cmpstr (header, ==, "{\"imageLayoutVersion\":\"1.0.0\"}");
  g_autofree char *index = read_text (path, "index.json");
  g_assert_cmpstr (index, ==, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}");
  g_autofree char *blobs = g_build_filename (path, "blobs", NULL);
  g_assert_true (g_file_test (blobs, G_FILE_TEST_IS_DIR));
  g_autoptr (GError) error = NULL;
  g_autoptr (SkLayout) again = sk_layout_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (SkIndex) idx = sk_layout_read_index (again, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (idx->manifests->len, ==, 0);
  /* create on an existing layout keeps it */
  g_autoptr (SkLayout) again2 = sk_layout_create (path, &error);
  g_assert_no_error (error);

  g_autofree char *missing = g_build_filename (f->dir, "nope", NULL);
  g_autoptr (SkLayout) none = sk_layout_open (missing, &error);
  g_assert_null (none);
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_autofree char *hp = g_build_filename (path, "oci-layout", NULL);
  g_assert_true (g_file_set_contents (hp, "{\"imageLayoutVersion\":\"2.0.0\"}", -1, NULL));
  g_autoptr (SkLayout) bad = sk_layout_open (path, &error);
  g_assert_null (bad);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_nonnull (strstr (error->message, "imageLayoutVersion '2.0.0' is not '1.0.0'"));
}

static void
test_write_blobs (Fixture *f, gconstpointer data)
{
  const char *content = "hello";
  const char *digest = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
  g_autoptr (GError) error = NULL;
  /* from an fd */
  g_autofree char *src = g_build_filename (f->dir, "src", NULL);
  g_assert_true (g_file_set_contents (src, content, -1, NULL));
  int fd = open (src, O_RDONLY | O_CLOEXEC);
  g_autofree char *got = NULL;
  guint64 size = 0;
  g_assert_true (sk_layout_write_blob_from_fd (f->layout, fd, digest, 5, &got, &size, &error));
  g_assert_no_error (error);
  close (fd);
  g_assert_cmpstr (got, ==, digest);
  g_assert_cmpuint (size, ==, 5);
  g_autofree char *path = sk_layout_blob_path (f->layout, digest, &error);
  g_assert_nonnull (strstr (path, "/blobs/sha256/2cf24dba"));
  g_autofree char *stored = NULL;
  g_assert_true (g_file_get_contents (path, &stored, NULL, NULL));
  g_assert_cmpstr (stored, ==, content);
  g_assert_true (sk_layout_has_blob (f->layout, digest));

  /* from a stream, larger than one buffer, sha512 */
  gsize big = (1 << 20) * 3 + 17;
  g_autofree guint8 *buf = g_malloc (big);
  for (gsize i = 0; i < big; i++)
    buf[i] = i * 7;
  g_autofree char *d512 = sk_digest_bytes (SK_DIGEST_SHA512, buf, big);
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_data (buf, big, NULL);
  g_autofree char *got512 = NULL;
  g_assert_true (sk_layout_write_blob_from_stream (f->layout, in, d512, big, &got512, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (got512, ==, d512);
  g_autoptr (SkDescriptor) desc = sk_descriptor_new ("application/octet-stream", d512, big);
  g_assert_true (sk_layout_verify_blob (f->layout, desc, &error));
  g_assert_no_error (error);
}

/* Names in blobs/<alg>/ other than committed blobs. */
static guint
count_entries (const char *layout, const char *alg)
{
  g_autofree char *d = g_build_filename (layout, "blobs", alg, NULL);
  g_autoptr (GDir) dir = g_dir_open (d, 0, NULL);
  guint n = 0;
  while (dir && g_dir_read_name (dir))
    n++;
  return n;
}

static void
test_write_mismatch (Fixture *f, gconstpointer data)
{
  const char *path = sk_layout_get_path (f->layout);
  const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_data ("hello", 5, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_layout_write_blob_from_stream (f->layout, in, wrong, 5, NULL, NULL, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_assert_nonnull (strstr (error->message, "expected '" "sha256:0000"));
  g_clear_error (&error);
  g_assert_false (sk_layout_has_blob (f->layout, wrong));
  g_assert_cmpuint (count_entries (path, "sha256"), ==, 0);

  /* too long: stops at the limit; too short: refused at EOF */
  g_autoptr (GInputStream) in2 = g_memory_input_stream_new_from_data ("hello", 5, NULL);
  g_assert_false (sk_layout_write_blob_from_stream (f->layout, in2, NULL, 3, NULL, NULL, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_assert_nonnull (strstr (error->message, "size mismatch: expected 3 bytes, got at least 5"));
  g_clear_error (&error);
  g_autoptr (GInputStream) in3 = g_memory_input_stream_new_from_data ("hello", 5, NULL);
  g_assert_false (sk_layout_write_blob_from_stream (f->layout, in3, NULL, 9, NULL, NULL, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_assert_nonnull (strstr (error->message, "size mismatch: expected 9 bytes, got 5"));
  g_assert_cmpuint (count_entries (path, "sha256"), ==, 0);
}

static void
test_index_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr (SkDescriptor) m1 = put_bytes (f->layout, SK_MEDIA_TYPE_OCI_MANIFEST, "{\"one\":1}");
  g_autoptr (SkDescriptor) m2 = put_bytes (f->layout, SK_MEDIA_TYPE_OCI_MANIFEST, "{\"two\":2}");
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_layout_set_ref (f->layout, "latest", m1, &error));
  g_assert_true (sk_layout_set_ref (f->layout, "v1.0", m1, &error));
  g_assert_true (sk_layout_set_ref (f->layout, "latest", m2, &error));
  g_assert_no_error (error);
  g_autoptr (SkIndex) idx = sk_layout_read_index (f->layout, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (idx->manifests->len, ==, 2);
  g_autoptr (SkDescriptor) latest = sk_layout_resolve_ref (f->layout, "latest", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (latest->digest, ==, m2->digest);
  g_assert_cmpint (latest->size, ==, m2->size);
  g_assert_cmpstr (sk_descriptor_get_annotation (latest, SK_ANNOTATION_REF_NAME), ==, "latest");
  g_autoptr (SkDescriptor) v1 = sk_layout_resolve_ref (f->layout, "v1.0", &error);
  g_assert_cmpstr (v1->digest, ==, m1->digest);
  /* the bytes verify against the index's descriptor */
  g_autoptr (GBytes) b = sk_layout_read_blob (f->layout, latest, 1024, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), "{\"two\":2}", 9);

  g_assert_true (sk_layout_remove_ref (f->layout, "v1.0", &error));
  g_autoptr (SkDescriptor) gone = sk_layout_resolve_ref (f->layout, "v1.0", &error);
  g_assert_null (gone);
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (sk_layout_remove_ref (f->layout, "v1.0", &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_clear_error (&error);

  static const char *const bad_refs[] = { "", "a b", "../x", "a//b", "-x", "x-", "a/", "é" };
  for (guint i = 0; i < G_N_ELEMENTS (bad_refs); i++)
    {
      g_assert_false (sk_layout_set_ref (f->layout, bad_refs[i], m1, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE);
      g_clear_error (&error);
    }
  static const char *const good_refs[] = { "a", "v1.2.3", "foo/bar:baz", "x--y", "a@b+c_d" };
  for (guint i = 0; i < G_N_ELEMENTS (good_refs); i++)
    {
      g_assert_true (sk_layout_ref_name_validate (good_refs[i], &error));
      g_assert_no_error (error);
    }
}

static void
test_wrong_content (Fixture *f, gconstpointer data)
{
  g_autoptr (SkDescriptor) d = put_bytes (f->layout, "application/octet-stream", "original content");
  g_autoptr (GError) error = NULL;
  g_autofree char *path = sk_layout_blob_path (f->layout, d->digest, &error);
  /* same size, other bytes: the digest catches it */
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  g_assert_true (g_file_set_contents (path, "tampered content", -1, NULL));
  g_autoptr (GBytes) b = sk_layout_read_blob (f->layout, d, 1024, &error);
  g_assert_null (b);
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_clear_error (&error);
  g_assert_false (sk_layout_verify_blob (f->layout, d, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_assert_nonnull (strstr (error->message, "digest mismatch"));
  g_clear_error (&error);
  /* the stream fails the read that completes the content */
  g_autoptr (GInputStream) in = sk_layout_open_blob (f->layout, d, &error);
  g_assert_no_error (error);
  char buf[64];
  gsize n = 0;
  g_assert_false (g_input_stream_read_all (in, buf, sizeof buf, &n, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_clear_error (&error);
  /* a descriptor whose size is wrong is refused before reading */
  g_autoptr (SkDescriptor) off = sk_descriptor_copy (d);
  off->size += 1;
  g_autoptr (GInputStream) in2 = sk_layout_open_blob (f->layout, off, &error);
  g_assert_null (in2);
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_assert_nonnull (strstr (error->message, "size mismatch"));
  g_clear_error (&error);
  g_autoptr (GBytes) b2 = sk_layout_read_blob (f->layout, off, 1024, &error);
  g_assert_null (b2);
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_clear_error (&error);
  /* the cap applies before anything is read */
  g_autoptr (SkDescriptor) big = sk_descriptor_copy (d);
  big->size = 1 << 30;
  g_autoptr (GBytes) b3 = sk_layout_read_blob (f->layout, big, 4096, &error);
  g_assert_null (b3);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_nonnull (strstr (error->message, "more than the limit of 4096"));
}

static void
test_good_stream (Fixture *f, gconstpointer data)
{
  g_autoptr (SkDescriptor) d = put_bytes (f->layout, "application/octet-stream", "streamed content");
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) in = sk_layout_open_blob (f->layout, d, &error);
  g_assert_no_error (error);
  char buf[64];
  gsize n = 0;
  g_assert_true (g_input_stream_skip (in, 3, NULL, &error) == 3);
  g_assert_true (g_input_stream_read_all (in, buf, sizeof buf, &n, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buf, n, "eamed content", 13);
  g_autoptr (SkDescriptor) missing = sk_descriptor_new ("a/b", "sha256:0000000000000000000000000000000000000000000000000000000000000000", 1);
  g_autoptr (GInputStream) none = sk_layout_open_blob (f->layout, missing, &error);
  g_assert_null (none);
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "not found"));
}

static void
test_hostile_digests (Fixture *f, gconstpointer data)
{
  /* Put a file outside blobs/ that a traversal would reach. */
  g_autofree char *secret = g_build_filename (f->dir, "secret", NULL);
  g_assert_true (g_file_set_contents (secret, "x", -1, NULL));
  static const char *const hostile[] = {
    "sha256:../../../secret",
    "sha256:../../secret",
    "../../secret:aaaa",
    "sha256/../..:aaaa",
    "sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824",
    "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982/",
    "sha256:",
    "sha256+b64:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
    "",
  };
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *rel = sk_layout_blob_relpath (hostile[i], &error);
      g_assert_null (rel);
      g_assert_nonnull (error);
      g_clear_error (&error);
      g_autoptr (SkDescriptor) d = sk_descriptor_new ("a/b", hostile[i], 1);
      g_autoptr (GBytes) b = sk_layout_read_blob (f->layout, d, 10, &error);
      g_assert_null (b);
      g_assert_nonnull (error);
      g_assert_false (g_error_matches (error, SK_ERROR, SK_ERROR_NOT_FOUND));
      g_clear_error (&error);
      g_autoptr (GInputStream) in = g_memory_input_stream_new_from_data ("x", 1, NULL);
      g_assert_false (sk_layout_write_blob_from_stream (f->layout, in, hostile[i], -1, NULL, NULL, NULL, &error));
      g_assert_nonnull (error);
      g_clear_error (&error);
      g_assert_false (sk_layout_has_blob (f->layout, hostile[i]));
      g_assert_false (sk_layout_set_ref (f->layout, "evil", d, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
    }
  g_autofree char *content = NULL;
  g_assert_true (g_file_get_contents (secret, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "x");
}

static void
test_hostile_files (Fixture *f, gconstpointer data)
{
  /* A blob that is a symlink (to content that would even verify) or a
   * FIFO is refused, not followed or blocked on. */
  const char *path = sk_layout_get_path (f->layout);
  g_autoptr (SkDescriptor) d = put_bytes (f->layout, "a/b", "hello");
  g_autoptr (GError) error = NULL;
  g_autofree char *blob = sk_layout_blob_path (f->layout, d->digest, &error);
  g_autofree char *target = g_build_filename (f->dir, "outside", NULL);
  g_assert_true (g_file_set_contents (target, "hello", -1, NULL));
  g_assert_cmpint (g_unlink (blob), ==, 0);
  g_assert_cmpint (symlink (target, blob), ==, 0);
  g_autoptr (GBytes) b = sk_layout_read_blob (f->layout, d, 10, &error);
  g_assert_null (b);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_nonnull (strstr (error->message, "symbolic link"));
  g_clear_error (&error);
  g_assert_cmpint (g_unlink (blob), ==, 0);
  g_assert_cmpint (mkfifo (blob, 0644), ==, 0);
  g_assert_false (sk_layout_verify_blob (f->layout, d, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_clear_error (&error);
  /* blobs/sha256 itself replaced by a symlink to elsewhere */
  g_autofree char *algdir = g_build_filename (path, "blobs", "sha256", NULL);
  rm_rf (algdir);
  g_assert_cmpint (symlink (f->dir, algdir), ==, 0);
  g_assert_false (sk_layout_verify_blob (f->layout, d, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_clear_error (&error);
  /* index.json as a symlink */
  g_autofree char *index = g_build_filename (path, "index.json", NULL);
  g_assert_cmpint (g_unlink (index), ==, 0);
  g_assert_cmpint (symlink ("/etc/passwd", index), ==, 0);
  g_autoptr (SkIndex) idx = sk_layout_read_index (f->layout, &error);
  g_assert_null (idx);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
}

/* containers/image's layouts: their descriptor sizes do not match their
 * blobs (or the blobs are missing), so they must be refused. */
static void
test_fixture_layouts (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *one = fixture ("delete_image_only_one_image");
  g_autoptr (SkLayout) layout = sk_layout_open (one, &error);
  g_assert_no_error (error);
  g_autoptr (SkDescriptor) latest = sk_layout_resolve_ref (layout, "latest", &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) raw = sk_layout_read_blob (layout, latest, SK_MANIFEST_MAX_SIZE, &error);
  g_assert_no_error (error);
  g_autoptr (SkManifest) m = sk_manifest_parse (raw, latest->media_type, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->digest, ==, latest->digest);
  g_autoptr (GBytes) config = sk_layout_read_blob (layout, m->config, 1 << 20, &error);
  g_assert_null (config);
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_assert_nonnull (strstr (error->message, "size mismatch: descriptor says 585 bytes, blob has 740"));
  g_clear_error (&error);
  g_assert_false (sk_layout_verify_blob (layout, m->config, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_clear_error (&error);

  g_autofree char *shared = fixture ("delete_image_shared_blobs_dir");
  g_autoptr (SkLayout) l2 = sk_layout_open (shared, &error);
  g_assert_no_error (error);
  g_autoptr (SkDescriptor) d2 = sk_layout_resolve_ref (l2, "latest", &error);
  g_assert_no_error (error);
  g_assert_cmpint (d2->size, ==, 405);
  g_autoptr (GBytes) raw2 = sk_layout_read_blob (l2, d2, SK_MANIFEST_MAX_SIZE, &error);
  g_assert_null (raw2);
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* No oci-layout file; and its index has a media type that is not one. */
  g_autofree char *lookups = fixture ("name_lookups");
  g_autoptr (SkLayout) l3 = sk_layout_open (lookups, &error);
  g_assert_null (l3);
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "'oci-layout' not found"));
  g_clear_error (&error);
  g_autofree char *ipath = g_build_filename (lookups, "index.json", NULL);
  g_autofree char *text = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (ipath, &text, &len, NULL));
  g_autoptr (GBytes) ib = g_bytes_new (text, len);
  g_autoptr (SkIndex) idx = sk_index_parse (ib, NULL, &error);
  g_assert_null (idx);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_nonnull (strstr (error->message, "manifests[4]: mediaType: invalid media type 'x-completely-unknown'"));
}

static gboolean
run (const char *const *argv, char **out)
{
  g_autoptr (GError) error = NULL;
  int status = 0;
  g_autofree char *err = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out, &err, &status, &error))
    g_error ("%s: %s", argv[0], error->message);
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_test_message ("%s failed: %s", argv[0], err);
      return FALSE;
    }
  return TRUE;
}

/* skopeo reads what skiff writes, byte for byte, and skiff reads what
 * skopeo writes back. */
static void
test_skopeo_copy (Fixture *f, gconstpointer data)
{
  g_autofree char *skopeo = g_find_program_in_path ("skopeo");
  if (skopeo == NULL)
    {
      g_test_skip ("skopeo not installed");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (SkDescriptor) config = put_bytes (f->layout, SK_MEDIA_TYPE_VM_CONFIG, "{\"architecture\":\"amd64\"}");
  g_autoptr (SkDescriptor) layer = put_bytes (f->layout, SK_MEDIA_TYPE_DISK_QCOW2, "QFI\xfb not really a disk");
  sk_descriptor_set_annotation (layer, SK_ANNOTATION_DISK_DIFF_ID, layer->digest);
  g_autofree char *sz = g_strdup_printf ("%" G_GINT64_FORMAT, layer->size);
  sk_descriptor_set_annotation (layer, SK_ANNOTATION_DISK_SIZE, sz);
  g_autoptr (GPtrArray) layers = g_ptr_array_new ();
  g_ptr_array_add (layers, layer);
  g_autoptr (SkManifest) m = sk_manifest_new_skiff (config, layers, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *mdigest = NULL;
  g_assert_true (sk_layout_write_blob_bytes (f->layout, m->raw, &mdigest, &error));
  g_assert_cmpstr (mdigest, ==, m->digest);
  g_autoptr (SkDescriptor) md = sk_manifest_to_descriptor (m);
  g_assert_true (sk_layout_set_ref (f->layout, "latest", md, &error));
  g_assert_no_error (error);

  g_autofree char *policy = g_build_filename (f->dir, "policy.json", NULL);
  g_assert_true (g_file_set_contents (policy, "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}", -1, NULL));
  g_autofree char *src = g_strdup_printf ("oci:%s:latest", sk_layout_get_path (f->layout));
  g_autofree char *dir2 = g_build_filename (f->dir, "copy", NULL);
  g_autofree char *dst = g_strdup_printf ("oci:%s:latest", dir2);
  const char *inspect[] = { "skopeo", "inspect", "--raw", src, NULL };
  g_autofree char *raw = NULL;
  g_assert_true (run (inspect, &raw));
  g_assert_cmpmem (raw, strlen (raw), g_bytes_get_data (m->raw, NULL), g_bytes_get_size (m->raw));
  const char *copy[] = { "skopeo", "--policy", policy, "copy", "-q", src, dst, NULL };
  g_assert_true (run (copy, NULL));

  g_autoptr (SkLayout) l2 = sk_layout_open (dir2, &error);
  g_assert_no_error (error);
  g_autoptr (SkDescriptor) d2 = sk_layout_resolve_ref (l2, "latest", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (d2->digest, ==, m->digest);
  g_autoptr (GBytes) raw2 = sk_layout_read_blob (l2, d2, SK_MANIFEST_MAX_SIZE, &error);
  g_assert_no_error (error);
  g_autoptr (SkManifest) m2 = sk_manifest_parse (raw2, d2->media_type, &error);
  g_assert_no_error (error);
  g_assert_true (sk_manifest_validate_skiff (m2, &error));
  g_assert_true (sk_layout_verify_blob (l2, m2->config, &error));
  g_assert_true (sk_layout_verify_blob (l2, m2->layers->pdata[0], &error));
  g_assert_no_error (error);
}

/* Tar entry names: "./" and trailing "/" dropped; escapes refused. */
static void
test_tar_clean_name (void)
{
  const struct { const char *raw, *want; } ok[] = {
    { "index.json", "index.json" }, { "./index.json", "index.json" }, { "././blobs/sha256/", "blobs/sha256" },
    { "./", "" }, { ".", "" }, { "blobs/", "blobs" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *got = sk_tar_clean_name (ok[i].raw, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (got, ==, ok[i].want);
    }
  const struct { const char *raw, *why; } bad[] = {
    { "../x", "'..'" }, { "blobs/../../x", "'..'" }, { "/etc/passwd", "absolute" }, { "a//b", "empty" },
    { "a/./b", "empty or '.'" }, { "", "no name" }, { "./..", "'..'" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (sk_tar_clean_name (bad[i].raw, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
      if (strstr (error->message, bad[i].why) == NULL)
        g_error ("'%s': message '%s' lacks '%s'", bad[i].raw, error->message, bad[i].why);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/layout/create-open", Fixture, NULL, fixture_setup, test_create_and_open, fixture_teardown);
  g_test_add ("/layout/write-blobs", Fixture, NULL, fixture_setup, test_write_blobs, fixture_teardown);
  g_test_add ("/layout/write-mismatch", Fixture, NULL, fixture_setup, test_write_mismatch, fixture_teardown);
  g_test_add ("/layout/index-round-trip", Fixture, NULL, fixture_setup, test_index_round_trip, fixture_teardown);
  g_test_add ("/layout/wrong-content", Fixture, NULL, fixture_setup, test_wrong_content, fixture_teardown);
  g_test_add ("/layout/good-stream", Fixture, NULL, fixture_setup, test_good_stream, fixture_teardown);
  g_test_add ("/layout/hostile-digests", Fixture, NULL, fixture_setup, test_hostile_digests, fixture_teardown);
  g_test_add ("/layout/hostile-files", Fixture, NULL, fixture_setup, test_hostile_files, fixture_teardown);
  g_test_add_func ("/layout/fixture-layouts", test_fixture_layouts);
  g_test_add_func ("/layout/tar-clean-name", test_tar_clean_name);
  g_test_add ("/layout/skopeo-copy", Fixture, NULL, fixture_setup, test_skopeo_copy, fixture_teardown);
  return g_test_run ();
}
