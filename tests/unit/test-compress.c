/* Unit tests: registry/compress — names and media types; zstd and gzip
 * output is the same bytes every time, hashes to what it reports, carries
 * no timestamp or name, and libarchive (what pull decompresses with) gives
 * the input back. */
#include "common/error.h"
#include "oci/mediatypes.h"
#include "registry/compress.h"

#include <archive.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

static char *tmpdir;

static char *
tpath (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* ~3 MiB that compresses somewhat: random blocks, zeros, text. */
static char *
make_input (gsize *out_len)
{
  GString *s = g_string_new (NULL);
  GRand *r = g_rand_new_with_seed (42);
  for (int i = 0; i < 48; i++)
    {
      for (int j = 0; j < 16384 / 4; j++)
        {
          guint32 v = g_rand_int (r);
          g_string_append_len (s, (const char *) &v, 4);
        }
      for (int j = 0; j < 32768; j++)
        g_string_append_c (s, '\0');
      g_string_append_printf (s, "block %d of a disk layer, some text to compress\n", i);
    }
  g_rand_free (r);
  *out_len = s->len;
  return g_string_free (s, FALSE);
}

static void
compress_file (const char *in_path, SkCompression c, const char *out_path, char **digest, guint64 *size)
{
  int in = open (in_path, O_RDONLY | O_CLOEXEC);
  int out = open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint (in, >=, 0);
  g_assert_cmpint (out, >=, 0);
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_compress_fd (in, c, out, digest, size, &error));
  g_assert_no_error (error);
  close (in);
  close (out);
}

static char *
sha256_file (const char *path, gsize *out_len, char **out_data)
{
  g_autoptr (GError) error = NULL;
  char *data;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  guint8 md[SHA256_DIGEST_LENGTH];
  SHA256 ((const guint8 *) data, len, md);
  GString *hex = g_string_new ("sha256:");
  for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
    g_string_append_printf (hex, "%02x", md[i]);
  *out_len = len;
  *out_data = data;
  return g_string_free (hex, FALSE);
}

/* Decompresses @path with libarchive's filters (raw format). */
static GBytes *
archive_decompress (const char *path)
{
  struct archive *a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_raw (a);
  g_assert_cmpint (archive_read_open_filename (a, path, 65536), ==, ARCHIVE_OK);
  struct archive_entry *e;
  g_assert_cmpint (archive_read_next_header (a, &e), ==, ARCHIVE_OK);
  GByteArray *out = g_byte_array_new ();
  guint8 buf[65536];
  la_ssize_t n;
  while ((n = archive_read_data (a, buf, sizeof buf)) > 0)
    g_byte_array_append (out, buf, (guint) n);
  g_assert_cmpint (n, ==, 0);
  archive_read_free (a);
  return g_byte_array_free_to_bytes (out);
}

static void
check_algorithm (SkCompression c)
{
  gsize in_len;
  g_autofree char *input = make_input (&in_len);
  g_autofree char *in_path = tpath ("layer.qcow2");
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (in_path, input, in_len, &error));
  g_autofree char *a_path = tpath ("a.out");
  g_autofree char *b_path = tpath ("b.out");
  g_autofree char *da = NULL, *db = NULL;
  guint64 sa = 0, sb = 0;
  compress_file (in_path, c, a_path, &da, &sa);
  compress_file (in_path, c, b_path, &db, &sb);
  /* the same bytes every time */
  g_assert_cmpstr (da, ==, db);
  g_assert_cmpuint (sa, ==, sb);
  gsize la, lb;
  g_autofree char *a = NULL, *b = NULL;
  g_autofree char *ha = sha256_file (a_path, &la, &a);
  g_autofree char *hb = sha256_file (b_path, &lb, &b);
  g_assert_true (la == lb && memcmp (a, b, la) == 0);
  /* the reported digest and size are the output's */
  g_assert_cmpstr (ha, ==, da);
  g_assert_cmpuint (la, ==, sa);
  g_assert_cmpuint (la, <, in_len);
  /* the input comes back */
  g_autoptr (GBytes) back = archive_decompress (a_path);
  g_assert_cmpuint (g_bytes_get_size (back), ==, in_len);
  g_assert_true (memcmp (g_bytes_get_data (back, NULL), input, in_len) == 0);
  if (c == SK_COMPRESSION_GZIP)
    {
      /* RFC 1952: magic, deflate, no flags (no name), mtime 0, OS 255 */
      const guint8 *h = (const guint8 *) a;
      g_assert_cmpuint (h[0], ==, 0x1f);
      g_assert_cmpuint (h[1], ==, 0x8b);
      g_assert_cmpuint (h[2], ==, 8);
      g_assert_cmpuint (h[3], ==, 0);
      g_assert_cmpuint (h[4] | h[5] | h[6] | h[7], ==, 0);
      g_assert_cmpuint (h[9], ==, 255);
    }
  else
    {
      /* one zstd frame that states the content size */
      g_assert_cmpuint (ZSTD_getFrameContentSize (a, la), ==, in_len);
      g_assert_cmpuint (ZSTD_findFrameCompressedSize (a, la), ==, la);
    }
  /* from the current offset: a file read part-way compresses the rest */
  int in = open (in_path, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (lseek (in, 1000, SEEK_SET), ==, 1000);
  int out = open (a_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  g_autofree char *dt = NULL;
  guint64 st = 0;
  g_assert_true (sk_compress_fd (in, c, out, &dt, &st, &error));
  close (in);
  close (out);
  g_autoptr (GBytes) tail = archive_decompress (a_path);
  g_assert_cmpuint (g_bytes_get_size (tail), ==, in_len - 1000);
  g_assert_true (memcmp (g_bytes_get_data (tail, NULL), input + 1000, in_len - 1000) == 0);
}

static void
test_zstd (void)
{
  check_algorithm (SK_COMPRESSION_ZSTD);
}

static void
test_gzip (void)
{
  check_algorithm (SK_COMPRESSION_GZIP);
}

static void
test_empty (void)
{
  /* an empty input still makes a valid stream */
  g_autofree char *in_path = tpath ("empty");
  g_autofree char *out_path = tpath ("empty.out");
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (in_path, "", 0, &error));
  for (SkCompression c = SK_COMPRESSION_GZIP; c <= SK_COMPRESSION_ZSTD; c++)
    {
      g_autofree char *d = NULL;
      guint64 s = 0;
      compress_file (in_path, c, out_path, &d, &s);
      g_assert_cmpuint (s, >, 0);
      /* (libarchive cannot open an empty raw stream: ask gzip and zstd) */
      const char *tool = c == SK_COMPRESSION_GZIP ? "gzip" : "zstd";
      const char *argv[] = { tool, "-t", "-q", out_path, NULL };
      int status = -1;
      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status,
                                   &error));
      g_assert_true (g_spawn_check_wait_status (status, &error));
    }
}

static void
test_names (void)
{
  SkCompression c;
  g_autoptr (GError) error = NULL;
  const char *names[] = { "none", "gzip", "zstd" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_assert_true (sk_compression_parse (names[i], &c, &error));
      g_assert_cmpstr (sk_compression_name (c), ==, names[i]);
      SkCompression back;
      g_assert_true (sk_compression_of_media_type (sk_compression_media_type (c), &back));
      g_assert_cmpint (back, ==, c);
    }
  g_assert_cmpstr (sk_compression_media_type (SK_COMPRESSION_ZSTD), ==, SK_MEDIA_TYPE_DISK_QCOW2_ZSTD);
  g_assert_cmpstr (sk_compression_media_type (SK_COMPRESSION_NONE), ==, SK_MEDIA_TYPE_DISK_QCOW2);
  g_assert_false (sk_compression_parse ("lz4", &c, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
  g_assert_nonnull (strstr (error->message, "unknown compression 'lz4' (expected zstd, gzip or none)"));
  g_assert_false (sk_compression_of_media_type (SK_MEDIA_TYPE_KERNEL, &c));
  g_assert_false (sk_compression_of_media_type (NULL, &c));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("skiff-compress-XXXXXX", NULL);
  g_test_add_func ("/compress/names", test_names);
  g_test_add_func ("/compress/zstd", test_zstd);
  g_test_add_func ("/compress/gzip", test_gzip);
  g_test_add_func ("/compress/empty", test_empty);
  int rc = g_test_run ();
  const char *rm[] = { "rm", "-rf", tmpdir, NULL };
  (void) g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free (tmpdir);
  return rc;
}
