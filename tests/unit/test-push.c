/* Unit tests: registry/push's pure helpers — where an upload goes next
 * (Location resolution, the digest parameter), how a blob is cut into
 * chunks and what each PATCH says and must hear back, and which stored
 * file holds a blob. */
#include "common/error.h"
#include "registry/push.h"
#include "store/store.h"

#include <string.h>

static void
test_location (void)
{
  const char *req = "http://127.0.0.1:5000/v2/a/b/blobs/uploads/";
  g_autoptr (GError) error = NULL;
  g_autofree char *rel = sk_push_location (req, "/v2/a/b/blobs/uploads/u1?_state=x", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rel, ==, "http://127.0.0.1:5000/v2/a/b/blobs/uploads/u1?_state=x");
  g_autofree char *abs = sk_push_location (req, "https://blobs.example.com/up/1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (abs, ==, "https://blobs.example.com/up/1");
  /* a relative path without a leading slash resolves against the request */
  g_autofree char *sib = sk_push_location (req, "u2", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sib, ==, "http://127.0.0.1:5000/v2/a/b/blobs/uploads/u2");
  const char *bad[] = { NULL, "", "file:///etc/passwd", "ftp://127.0.0.1/x" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_null (sk_push_location (req, bad[i], &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
      g_clear_error (&error);
    }
}

static void
test_with_digest (void)
{
  const char *d = "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
  g_autofree char *plain = sk_push_with_digest ("http://r/v2/x/blobs/uploads/u", d);
  g_assert_cmpstr (plain, ==, "http://r/v2/x/blobs/uploads/u?digest=" "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
  g_autofree char *query = sk_push_with_digest ("http://r/u?_state=abc", d);
  g_assert_true (g_str_has_prefix (query, "http://r/u?_state=abc&digest=sha256:"));
  /* a fragment never reaches the server: the parameter goes before it, and
   * a '?' inside the fragment does not count as a query */
  g_autofree char *frag = sk_push_with_digest ("http://r/u#a?b", d);
  g_assert_true (g_str_has_prefix (frag, "http://r/u?digest=sha256:"));
  g_assert_null (strchr (frag, '#'));
}

static void
test_chunks (void)
{
  g_assert_false (sk_push_is_chunked (100, 0));   /* 0: never */
  g_assert_false (sk_push_is_chunked (100, 100)); /* one chunk is a PUT */
  g_assert_true (sk_push_is_chunked (101, 100));
  /* 250 bytes in chunks of 100: 100, 100, 50, then nothing */
  guint64 off = 0, n = 0, total = 0, len;
  while ((len = sk_push_chunk_len (250, 100, off)) > 0)
    {
      g_autofree char *range = sk_push_content_range (off, len);
      g_autofree char *want = g_strdup_printf ("%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, off, off + len - 1);
      g_assert_cmpstr (range, ==, want);
      off += len;
      total += len;
      n++;
    }
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (total, ==, 250);
  g_assert_cmpuint (sk_push_chunk_len (250, 100, 200), ==, 50);
  g_assert_cmpuint (sk_push_chunk_len (250, 0, 0), ==, 250);
  g_assert_cmpuint (sk_push_chunk_len (250, 100, 250), ==, 0);
  g_assert_cmpuint (sk_push_chunk_len (250, 100, 300), ==, 0);
  /* past 4 GiB: no 32-bit truncation */
  g_autofree char *big = sk_push_content_range (G_GUINT64_CONSTANT (5) << 30, 1);
  g_assert_cmpstr (big, ==, "5368709120-5368709120");
}

static void
test_check_range (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_push_check_range (NULL, 10, &error));
  g_assert_true (sk_push_check_range ("0-9", 10, &error));
  g_assert_true (sk_push_check_range ("bytes=0-9", 10, &error));
  g_assert_no_error (error);
  /* the registry says it holds other than what was sent */
  g_assert_false (sk_push_check_range ("0-8", 10, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "holds 9 bytes of the upload, 10 were sent"));
  g_clear_error (&error);
  const char *garbage[] = { "", "0-", "-9", "5-9", "0-9x", "bytes 0-9", "0--9", "9-0" };
  for (gsize i = 0; i < G_N_ELEMENTS (garbage); i++)
    {
      g_assert_false (sk_push_check_range (garbage[i], 10, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
      g_clear_error (&error);
    }
}

static SkStoreBlob *
blob (const char *tree_path)
{
  SkStoreBlob *b = g_new0 (SkStoreBlob, 1);
  b->tree_path = g_strdup (tree_path);
  b->object = g_strdup ("obj");
  return b;
}

static void
test_find_stored (void)
{
  const char *a = "sha256:aaaa000000000000000000000000000000000000000000000000000000000000";
  const char *k = "sha256:bbbb000000000000000000000000000000000000000000000000000000000000";
  g_autoptr (GPtrArray) blobs = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_store_blob_free);
  g_ptr_array_add (blobs, blob ("layers/aaaa000000000000000000000000000000000000000000000000000000000000.qcow2"));
  g_ptr_array_add (blobs, blob ("boot/bbbb000000000000000000000000000000000000000000000000000000000000"));
  g_assert_true (sk_push_find_stored (blobs, a) == blobs->pdata[0]);
  g_assert_true (sk_push_find_stored (blobs, k) == blobs->pdata[1]);
  /* a compressed layer's digest is not any stored file's name */
  g_assert_null (sk_push_find_stored (blobs, "sha256:cccc000000000000000000000000000000000000000000000000000000000000"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/push/location", test_location);
  g_test_add_func ("/push/with-digest", test_with_digest);
  g_test_add_func ("/push/chunks", test_chunks);
  g_test_add_func ("/push/check-range", test_check_range);
  g_test_add_func ("/push/find-stored", test_find_stored);
  return g_test_run ();
}
