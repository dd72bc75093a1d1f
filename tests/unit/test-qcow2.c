/* Unit tests: store/qcow2 and store/diskfmt — qcow2 header validation, the
 * backing-chain rule, the qemu-img cross-check, disk format detection and
 * conversion.  Images are made with qemu-img in a temporary directory and
 * patched byte by byte for the hostile cases. */
#include "store/qcow2.h"
#include "store/diskfmt.h"
#include "store/layer.h"
#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir;

static char *
tpath (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* "<64 x c>.qcow2" */
static char *
layer_name (char c)
{
  g_autofree char *hex = g_strnfill (64, c);
  return g_strconcat (hex, ".qcow2", NULL);
}

/* Runs qemu-img with the NULL-terminated arguments in tmpdir; asserts success. */
static void
qimg (const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) "qemu-img");
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  /* Creating a LUKS key times PBKDF2 by the thread's CPU time, which
   * tick-based accounting sometimes reads as 0 ms: qemu-img then fails
   * with "Unable to get accurate CPU usage".  Try that again. */
  for (int attempt = 1;; attempt++)
    {
      g_autofree char *err = NULL;
      int status = 0;
      g_autoptr (GError) error = NULL;
      gboolean ok = g_spawn_sync (tmpdir, (char **) argv->pdata, NULL,
                                  G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status,
                                  &error);
      g_assert_no_error (error);
      g_assert_true (ok);
      if (g_spawn_check_wait_status (status, NULL))
        return;
      if (attempt == 5 || strstr (err, "Unable to get accurate CPU usage") == NULL)
        g_error ("qemu-img %s failed: %s", first, err);
    }
}

static void
patch (const char *name, goffset offset, const void *bytes, gsize len)
{
  g_autofree char *path = tpath (name);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pwrite (fd, bytes, len, offset), ==, (gssize) len);
  close (fd);
}

static void
patch_be32 (const char *name, goffset offset, guint32 v)
{
  guint32 be = GUINT32_TO_BE (v);
  patch (name, offset, &be, 4);
}

static void
patch_be64 (const char *name, goffset offset, guint64 v)
{
  guint64 be = GUINT64_TO_BE (v);
  patch (name, offset, &be, 8);
}

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *src = tpath (from);
  g_autofree char *dst = tpath (to);
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (src, &data, &len, NULL));
  g_assert_true (g_file_set_contents (dst, data, len, NULL));
}

static void
write_file (const char *name, const char *data, gsize len)
{
  g_autofree char *path = tpath (name);
  g_assert_true (g_file_set_contents (path, data, len, NULL));
}

/* A 1 GiB base image, created once. */
static const char *
base_image (void)
{
  static gsize done;
  if (g_once_init_enter (&done))
    {
      qimg ("create", "-q", "-f", "qcow2", "base.qcow2", "1G", NULL);
      g_once_init_leave (&done, 1);
    }
  return "base.qcow2";
}

/* A child of <64 x 'a'>.qcow2, created once. */
static const char *
child_image (void)
{
  static gsize done;
  if (g_once_init_enter (&done))
    {
      g_autofree char *parent = layer_name ('a');
      qimg ("create", "-q", "-f", "qcow2", "-b", parent, "-F", "qcow2", "-u", "child.qcow2", "1G", NULL);
      g_once_init_leave (&done, 1);
    }
  return "child.qcow2";
}

/* Asserts that validating @name against @expected fails with INVALID_IMAGE
 * and a message holding @needle. */
static void
assert_refused (const char *name, const char *expected, const char *needle)
{
  g_autofree char *path = tpath (name);
  g_autoptr (GError) error = NULL;
  g_auto (SkQcow2Info) info = { 0 };
  g_assert_false (sk_qcow2_validate (path, expected, &info, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_autofree char *prefix = g_strdup_printf ("invalid disk '%s': ", path);
  if (!g_str_has_prefix (error->message, prefix) && !g_str_has_prefix (error->message, "expected "))
    g_error ("unexpected message: %s", error->message);
  if (strstr (error->message, needle) == NULL)
    g_error ("message '%s' lacks '%s'", error->message, needle);
  g_assert_null (info.backing_file);
  g_assert_cmpuint (info.virtual_size, ==, 0);
}

/* A copy of the base image with @offset patched to the 32/64-bit @v. */
static char *
patched_base (const char *name, goffset offset, guint64 v, gboolean wide)
{
  copy_file (base_image (), name);
  if (wide)
    patch_be64 (name, offset, v);
  else
    patch_be32 (name, offset, (guint32) v);
  return g_strdup (name);
}

/* ---- good images ---- */

static void
test_good_base (void)
{
  g_autofree char *path = tpath (base_image ());
  g_autoptr (GError) error = NULL;
  g_auto (SkQcow2Info) info = { 0 };
  g_assert_true (sk_qcow2_validate (path, NULL, &info, &error));
  g_assert_no_error (error);
  struct stat st;
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpuint (info.version, ==, 3);
  g_assert_cmpuint (info.virtual_size, ==, G_GUINT64_CONSTANT (1) << 30);
  g_assert_cmpuint (info.cluster_size, ==, 65536);
  g_assert_null (info.backing_file);
  g_assert_cmpint (info.compression_type, ==, SK_QCOW2_COMPRESSION_ZLIB);
  g_assert_cmpuint (info.file_size, ==, (guint64) st.st_size);
  g_assert_true (sk_qcow2_check_with_qemu_img (path, &info, &error));
  g_assert_no_error (error);
  g_auto (SkQcow2Info) both = { 0 };
  g_assert_true (sk_qcow2_verify (path, NULL, &both, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (both.virtual_size, ==, info.virtual_size);
}

static void
test_good_child (void)
{
  g_autofree char *path = tpath (child_image ());
  g_autofree char *parent = layer_name ('a');
  g_autoptr (GError) error = NULL;
  g_auto (SkQcow2Info) info = { 0 };
  g_assert_true (sk_qcow2_verify (path, parent, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (info.backing_file, ==, parent);
  g_assert_cmpuint (info.virtual_size, ==, G_GUINT64_CONSTANT (1) << 30);
}

static void
test_version2 (void)
{
  qimg ("create", "-q", "-f", "qcow2", "-o", "compat=0.10", "v2.qcow2", "64M", NULL);
  g_autofree char *path = tpath ("v2.qcow2");
  g_autoptr (GError) error = NULL;
  g_auto (SkQcow2Info) info = { 0 };
  g_assert_true (sk_qcow2_verify (path, NULL, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (info.version, ==, 2);
  g_assert_cmpuint (info.virtual_size, ==, 64 << 20);
}

static void
test_zstd_accepted (void)
{
  qimg ("create", "-q", "-f", "qcow2", "-o", "compression_type=zstd,cluster_size=4096", "zstd.qcow2", "512M", NULL);
  g_autofree char *path = tpath ("zstd.qcow2");
  g_autoptr (GError) error = NULL;
  g_auto (SkQcow2Info) info = { 0 };
  g_assert_true (sk_qcow2_verify (path, NULL, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.compression_type, ==, SK_QCOW2_COMPRESSION_ZSTD);
  g_assert_cmpuint (info.cluster_size, ==, 4096);
}

/* ---- the backing-chain rule ---- */

static void
test_backing_where_none_expected (void)
{
  g_autofree char *parent = layer_name ('a');
  g_autofree char *needle = g_strdup_printf ("has a backing file '%s' where none is allowed", parent);
  assert_refused (child_image (), NULL, needle);
}

static void
test_backing_wrong_name (void)
{
  g_autofree char *other = layer_name ('b');
  assert_refused (child_image (), other, "is not the expected");
  assert_refused (base_image (), other, "has no backing file, expected");
}

static void
test_backing_expected_invalid (void)
{
  assert_refused (child_image (), "../x.qcow2", "expected backing file '../x.qcow2' contains '..'");
}

static void
hostile_backing (const char *file, const char *backing, const char *needle)
{
  qimg ("create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", "-u", file, "1G", NULL);
  g_autofree char *parent = layer_name ('a');
  assert_refused (file, parent, needle);
  assert_refused (file, NULL, needle);
}

static void
test_backing_hostile (void)
{
  hostile_backing ("abs.qcow2", "/etc/passwd", "backing file '/etc/passwd' is absolute");
  hostile_backing ("dotdot.qcow2", "../x.qcow2", "backing file '../x.qcow2' contains '..'");
  hostile_backing ("json.qcow2", "json:{\"driver\":\"file\",\"filename\":\"/etc/passwd\"}",
                   "is a json: specification");
  hostile_backing ("nbd.qcow2", "nbd:localhost:10809", "uses the protocol prefix 'nbd:'");
  hostile_backing ("http.qcow2", "http://127.0.0.1/x.qcow2", "uses the protocol prefix 'http:'");
  hostile_backing ("sub.qcow2", "sub/x.qcow2", "is not a plain file name");
  g_autofree char *lower = layer_name ('a');
  g_autofree char *upper = g_ascii_strup (lower, 64);
  g_autofree char *upper_name = g_strconcat (upper, ".qcow2", NULL);
  hostile_backing ("upper.qcow2", upper_name, "is not a layer name");
}

static void
test_backing_format (void)
{
  g_autofree char *parent = layer_name ('a');
  qimg ("create", "-q", "-f", "qcow2", "-b", parent, "-F", "raw", "-u", "fmtraw.qcow2", "1G", NULL);
  assert_refused ("fmtraw.qcow2", parent, "backing format 'raw' is not qcow2");
  /* the backing format extension sits at offset 112 in images qemu-img
   * makes: renaming its type removes it */
  copy_file (child_image (), "nofmt.qcow2");
  patch_be32 ("nofmt.qcow2", 112, 0x12345678);
  assert_refused ("nofmt.qcow2", parent, "has no backing format");
}

static void
test_backing_name_rules (void)
{
  static const struct { const char *name; const char *needle; } bad[] = {
    { "", "is empty" },
    { "/abs.qcow2", "is absolute" },
    { "json:{}", "json:" },
    { "file:x.qcow2", "protocol prefix 'file:'" },
    { "a/../b", "contains '..'" },
    { "..", "contains '..'" },
    { "x.qcow2", "is not a layer name" },
    { "aaaa.qcow2", "is not a layer name" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (sk_qcow2_check_backing_name (bad[i].name, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
      g_assert_nonnull (strstr (error->message, bad[i].needle));
    }
  g_autofree char *good = layer_name ('0');
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_qcow2_check_backing_name (good, &error));
  g_assert_no_error (error);
  g_autofree char *longer = g_strconcat ("a", good, NULL);
  g_assert_false (sk_qcow2_check_backing_name (longer, NULL));
  g_autofree char *suffix = g_strconcat (good, "x", NULL);
  g_assert_false (sk_qcow2_check_backing_name (suffix, NULL));
}

/* ---- features ---- */

static void
test_encrypted (void)
{
  qimg ("create", "-q", "-f", "qcow2", "--object", "secret,id=s0,data=x", "-o",
        "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10", "enc.qcow2", "1M", NULL);
  assert_refused ("enc.qcow2", NULL, "uses encryption");
}

static void
test_data_file (void)
{
  qimg ("create", "-q", "-f", "qcow2", "-o", "data_file=data.raw", "df.qcow2", "1M", NULL);
  assert_refused ("df.qcow2", NULL, "has an external data file");
  /* the extension alone, without the feature bit */
  copy_file ("df.qcow2", "df-ext.qcow2");
  patch_be64 ("df-ext.qcow2", 72, 0);
  assert_refused ("df-ext.qcow2", NULL, "has an external data file");
}

static void
test_incompatible_bits (void)
{
  g_autofree char *a = patched_base ("unknown.qcow2", 72, 1u << 10, TRUE);
  assert_refused (a, NULL, "unknown incompatible feature bits 0x400");
  g_autofree char *b = patched_base ("dirty.qcow2", 72, 1, TRUE);
  assert_refused (b, NULL, "is marked dirty");
  g_autofree char *c = patched_base ("corrupt.qcow2", 72, 2, TRUE);
  assert_refused (c, NULL, "is marked corrupt");
  g_autofree char *d = patched_base ("zstdbit.qcow2", 72, 8, TRUE);
  assert_refused (d, NULL, "disagrees with its feature bit");
  g_autofree char *e = patched_base ("crypt.qcow2", 32, 1, FALSE);
  assert_refused (e, NULL, "uses encryption (method 1)");
}

/* ---- malformed headers ---- */

static void
test_magic_and_version (void)
{
  copy_file (base_image (), "magic.qcow2");
  patch ("magic.qcow2", 0, "QFI\xfa", 4);
  assert_refused ("magic.qcow2", NULL, "not a qcow2 image (bad magic)");
  g_autofree char *v1 = patched_base ("v1.qcow2", 4, 1, FALSE);
  assert_refused (v1, NULL, "unsupported qcow2 version 1");
  g_autofree char *v4 = patched_base ("v4.qcow2", 4, 4, FALSE);
  assert_refused (v4, NULL, "unsupported qcow2 version 4");
}

static void
test_sizes (void)
{
  g_autofree char *a = patched_base ("huge.qcow2", 24, G_GUINT64_CONSTANT (1) << 60, TRUE);
  assert_refused (a, NULL, "exceeds the limit of 64 TiB");
  g_autofree char *b = patched_base ("odd.qcow2", 24, (G_GUINT64_CONSTANT (1) << 30) + 1, TRUE);
  assert_refused (b, NULL, "is not a multiple of 512");
  g_autofree char *c = patched_base ("zero.qcow2", 24, 0, TRUE);
  assert_refused (c, NULL, "virtual size is zero");
  g_autofree char *d = patched_base ("cb22.qcow2", 20, 22, FALSE);
  assert_refused (d, NULL, "cluster_bits 22 out of range 9..21");
  g_autofree char *e = patched_base ("cb8.qcow2", 20, 8, FALSE);
  assert_refused (e, NULL, "cluster_bits 8 out of range");
  g_autofree char *f = patched_base ("hlen.qcow2", 100, 4096 * 1024, FALSE);
  assert_refused (f, NULL, "bad header length");
  g_autofree char *g = patched_base ("l1.qcow2", 40, 0x30200, TRUE);
  assert_refused (g, NULL, "L1 table offset 0x30200 is unaligned or outside the file");
  g_autofree char *h = patched_base ("l1far.qcow2", 40, G_GUINT64_CONSTANT (1) << 40, TRUE);
  assert_refused (h, NULL, "outside the file");
  g_autofree char *i = patched_base ("l1small.qcow2", 36, 0, FALSE);
  assert_refused (i, NULL, "too small for the virtual size");
  g_autofree char *j = patched_base ("reft.qcow2", 48, 0x10001, TRUE);
  assert_refused (j, NULL, "refcount table offset");
  g_autofree char *k = patched_base ("order.qcow2", 96, 7, FALSE);
  assert_refused (k, NULL, "refcount order 7");
}

static void
test_truncated (void)
{
  g_autofree char *src = tpath (base_image ());
  g_autofree char *data = NULL;
  g_assert_true (g_file_get_contents (src, &data, NULL, NULL));
  write_file ("short.qcow2", data, 20);
  assert_refused ("short.qcow2", NULL, "truncated header (20 bytes)");
  write_file ("short2.qcow2", data, 90);
  assert_refused ("short2.qcow2", NULL, "truncated header (90 bytes)");
  write_file ("tiny.qcow2", data, 2);
  assert_refused ("tiny.qcow2", NULL, "bad magic");
}

static void
test_backing_name_bounds (void)
{
  g_autofree char *parent = layer_name ('a');
  copy_file (child_image (), "blen.qcow2");
  patch_be32 ("blen.qcow2", 16, 2000);
  assert_refused ("blen.qcow2", parent, "backing file name length 2000 out of range 1..1023");
  copy_file (child_image (), "boff.qcow2");
  patch_be64 ("boff.qcow2", 8, 65530);
  assert_refused ("boff.qcow2", parent, "lies outside the header cluster");
  copy_file (child_image (), "bnul.qcow2");
  patch ("bnul.qcow2", 0x210 + 3, "\0", 1);
  assert_refused ("bnul.qcow2", parent, "contains a NUL byte");
}

static void
test_extension_overrun (void)
{
  copy_file (base_image (), "ext.qcow2");
  patch_be32 ("ext.qcow2", 112 + 4, 0x7fffffff);
  assert_refused ("ext.qcow2", NULL, "overruns the header");
}

static void
test_not_regular (void)
{
  g_autofree char *fifo = tpath ("fifo");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  assert_refused ("fifo", NULL, "not a regular file");
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_qcow2_validate ("/nonexistent/x.qcow2", NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "opening '/nonexistent/x.qcow2'"));
}

/* Random corruption of a child's header cluster: every outcome is a clean
 * accept or an INVALID_IMAGE refusal (the sanitizer build watches reads). */
static void
test_header_mutations (void)
{
  g_autofree char *src = tpath (child_image ());
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (src, &data, &len, NULL));
  g_autofree char *parent = layer_name ('a');
  g_autofree char *path = tpath ("mutant.qcow2");
  GRand *r = g_rand_new_with_seed (20240611);
  guint refused = 0;
  for (int round = 0; round < 300; round++)
    {
      g_autofree char *copy = g_memdup2 (data, len);
      gsize cut = round % 10 == 0 ? (gsize) g_rand_int_range (r, 0, 0x300) : len;
      for (int k = 0; k < 4; k++)
        copy[g_rand_int_range (r, 0, 0x300)] ^= 1u << g_rand_int_range (r, 0, 8);
      g_assert_true (g_file_set_contents (path, copy, cut, NULL));
      g_autoptr (GError) error = NULL;
      g_auto (SkQcow2Info) info = { 0 };
      if (!sk_qcow2_validate (path, parent, &info, &error))
        {
          g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
          refused++;
        }
      else
        g_assert_cmpstr (info.backing_file, ==, parent);
    }
  g_rand_free (r);
  g_assert_cmpuint (refused, >, 0);
}

/* ---- qemu-img's opinion ---- */

static void
test_info_argv (void)
{
  g_auto (GStrv) a = sk_qcow2_info_argv ("nbd:x.qcow2");
  const char *want_a[] = { "qemu-img", "info", "--output=json", "--force-share", "-f", "qcow2", "./nbd:x.qcow2", NULL };
  g_assert_cmpstrv (a, want_a);
  g_auto (GStrv) b = sk_qcow2_info_argv ("/var/lib/skiff/x.qcow2");
  g_assert_cmpstr (b[6], ==, "/var/lib/skiff/x.qcow2");
  g_assert_null (b[7]);
  g_autofree char *p = sk_qcow2_qemu_path ("json:{}");
  g_assert_cmpstr (p, ==, "./json:{}");
}

static void
assert_disagrees (const char *json, const SkQcow2Info *info, int code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_qcow2_compare_qemu_img_info ("d.qcow2", json, info, &error));
  g_assert_error (error, SK_ERROR, code);
  if (strstr (error->message, needle) == NULL)
    g_error ("message '%s' lacks '%s'", error->message, needle);
}

static void
test_qemu_img_disagrees (void)
{
  g_autofree char *parent = layer_name ('a');
  SkQcow2Info info = { .version = 3, .virtual_size = 1 << 20, .cluster_size = 65536, .backing_file = parent };
  g_autofree char *good = g_strdup_printf (
      "{\"format\":\"qcow2\",\"virtual-size\":1048576,\"cluster-size\":65536,\"backing-filename\":\"%s\","
      "\"backing-filename-format\":\"qcow2\",\"format-specific\":{\"type\":\"qcow2\",\"data\":"
      "{\"compression-type\":\"zlib\",\"corrupt\":false}},\"dirty-flag\":false}", parent);
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_qcow2_compare_qemu_img_info ("d.qcow2", good, &info, &error));
  g_assert_no_error (error);

  g_autofree char *size = g_strdup_printf ("{\"format\":\"qcow2\",\"virtual-size\":2097152,\"backing-filename\":\"%s\","
                                           "\"backing-filename-format\":\"qcow2\"}", parent);
  assert_disagrees (size, &info, SK_ERROR_INVALID_IMAGE, "qemu-img reports virtual size 2097152, the header says 1048576");
  assert_disagrees ("{\"format\":\"qcow2\",\"virtual-size\":1048576,\"backing-filename\":\"/etc/passwd\","
                    "\"backing-filename-format\":\"qcow2\"}", &info, SK_ERROR_INVALID_IMAGE,
                    "qemu-img reports backing file '/etc/passwd'");
  assert_disagrees ("{\"format\":\"qcow2\",\"virtual-size\":1048576}", &info, SK_ERROR_INVALID_IMAGE,
                    "qemu-img reports backing file '(none)'");
  assert_disagrees ("{\"format\":\"raw\",\"virtual-size\":1048576}", &info, SK_ERROR_INVALID_IMAGE,
                    "qemu-img reads it as 'raw', not qcow2");
  g_autofree char *fmt = g_strdup_printf ("{\"format\":\"qcow2\",\"virtual-size\":1048576,\"backing-filename\":\"%s\","
                                          "\"backing-filename-format\":\"raw\"}", parent);
  assert_disagrees (fmt, &info, SK_ERROR_INVALID_IMAGE, "qemu-img reports backing format 'raw'");
  g_autofree char *df = g_strdup_printf ("{\"format\":\"qcow2\",\"virtual-size\":1048576,\"backing-filename\":\"%s\","
                                         "\"backing-filename-format\":\"qcow2\",\"format-specific\":{\"type\":\"qcow2\","
                                         "\"data\":{\"data-file\":\"/dev/sda\"}}}", parent);
  assert_disagrees (df, &info, SK_ERROR_INVALID_IMAGE, "qemu-img reports an external data file");
  g_autofree char *enc = g_strdup_printf ("{\"format\":\"qcow2\",\"virtual-size\":1048576,\"encrypted\":true,"
                                          "\"backing-filename\":\"%s\"}", parent);
  assert_disagrees (enc, &info, SK_ERROR_INVALID_IMAGE, "qemu-img reports encryption");
  g_autofree char *dup = g_strdup_printf ("{\"format\":\"qcow2\",\"format\":\"qcow2\"}");
  assert_disagrees (dup, &info, SK_ERROR_INVALID_DATA, "qemu-img info on 'd.qcow2'");
  assert_disagrees ("not json", &info, SK_ERROR_INVALID_DATA, "qemu-img info on 'd.qcow2'");

  SkQcow2Info base = { .version = 3, .virtual_size = 1 << 20, .cluster_size = 65536 };
  assert_disagrees ("{\"format\":\"qcow2\",\"virtual-size\":1048576,\"dirty-flag\":true}", &base,
                    SK_ERROR_INVALID_IMAGE, "qemu-img reports it dirty");
  assert_disagrees ("{\"format\":\"qcow2\",\"virtual-size\":1048576,\"full-backing-filename\":\"/x\"}", &base,
                    SK_ERROR_INVALID_IMAGE, "a backing file the header does not name");
}

/* The real qemu-img disagrees with an SkQcow2Info that does not describe the file. */
static void
test_qemu_img_real_disagreement (void)
{
  g_autofree char *path = tpath (base_image ());
  SkQcow2Info wrong = { .version = 3, .virtual_size = 2 << 20, .cluster_size = 65536 };
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_qcow2_check_with_qemu_img (path, &wrong, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_nonnull (strstr (error->message, "qemu-img reports virtual size 1073741824, the header says 2097152"));
}

static void
test_run_limited (void)
{
  /* the shell only observes the limits the child received */
  const char *argv[] = { "sh", "-c", "ulimit -t; ulimit -v", NULL };
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_qcow2_run_limited (argv, &sk_qcow2_info_limits, &out, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "30\n1048576\n");

  SkQemuImgLimits tight = { 1, G_GUINT64_CONSTANT (1) << 30 };
  const char *spin[] = { "sh", "-c", "while :; do :; done", NULL };
  g_assert_false (sk_qcow2_run_limited (spin, &tight, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED);
  g_assert_nonnull (strstr (error->message, "sh: killed by signal"));
  g_clear_error (&error);

  const char *fail[] = { "sh", "-c", "echo first >&2; echo 'last line' >&2; exit 3", NULL };
  g_assert_false (sk_qcow2_run_limited (fail, &tight, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED);
  g_assert_cmpstr (error->message, ==, "sh: exit status 3: last line");
}

/* ---- other formats ---- */

static void
assert_detected (const char *name, SkDiskFormat want)
{
  g_autofree char *path = tpath (name);
  g_autoptr (GError) error = NULL;
  SkDiskFormat got = 99;
  g_assert_true (sk_diskfmt_detect (path, &got, &error));
  g_assert_no_error (error);
  g_assert_cmpint (got, ==, want);
}

static void
assert_detect_refused (const char *name, const char *needle)
{
  g_autofree char *path = tpath (name);
  g_autoptr (GError) error = NULL;
  SkDiskFormat got = 99;
  g_assert_false (sk_diskfmt_detect (path, &got, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_cmpint (got, ==, 99);
  g_autofree char *prefix = g_strdup_printf ("invalid disk '%s': ", path);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  if (strstr (error->message, needle) == NULL)
    g_error ("message '%s' lacks '%s'", error->message, needle);
}

static void
assert_unconvertible (const char *name, SkDiskFormat format, const char *needle)
{
  g_autofree char *path = tpath (name);
  g_autofree char *dst = tpath ("never.qcow2");
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_diskfmt_convert (format, path, dst, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  if (strstr (error->message, needle) == NULL)
    g_error ("message '%s' lacks '%s'", error->message, needle);
  g_assert_false (g_file_test (dst, G_FILE_TEST_EXISTS));
}

/* Converts @name and checks the result with both qcow2 opinions. */
static void
assert_converts (const char *name, SkDiskFormat format, guint64 virtual_size)
{
  g_autofree char *src = tpath (name);
  g_autofree char *dst_name = g_strconcat (name, ".out.qcow2", NULL);
  g_autofree char *dst = tpath (dst_name);
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_diskfmt_check_self_contained (src, format, &error));
  g_assert_no_error (error);
  g_assert_true (sk_diskfmt_convert (format, src, dst, &error));
  g_assert_no_error (error);
  g_auto (SkQcow2Info) info = { 0 };
  g_assert_true (sk_qcow2_verify (dst, NULL, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (info.virtual_size, ==, virtual_size);
}

static void
test_detect_formats (void)
{
  assert_detected (base_image (), SK_DISK_FORMAT_QCOW2);
  qimg ("create", "-q", "-f", "vdi", "d.vdi", "10M", NULL);
  assert_detected ("d.vdi", SK_DISK_FORMAT_VDI);
  qimg ("create", "-q", "-f", "vhdx", "d.vhdx", "10M", NULL);
  assert_detected ("d.vhdx", SK_DISK_FORMAT_VHDX);
  qimg ("create", "-q", "-f", "vpc", "d.vhd", "10M", NULL);
  assert_detected ("d.vhd", SK_DISK_FORMAT_VPC);
  qimg ("create", "-q", "-f", "vpc", "-o", "subformat=fixed", "fixed.vhd", "10M", NULL);
  assert_detected ("fixed.vhd", SK_DISK_FORMAT_VPC);
  qimg ("create", "-q", "-f", "qed", "d.qed", "10M", NULL);
  assert_detected ("d.qed", SK_DISK_FORMAT_QED);
  qimg ("create", "-q", "-f", "vmdk", "d.vmdk", "10M", NULL);
  assert_detected ("d.vmdk", SK_DISK_FORMAT_VMDK);
  g_autofree char *raw = g_malloc0 (1 << 20);
  memcpy (raw + 510, "\x55\xaa", 2);
  write_file ("d.raw", raw, 1 << 20);
  assert_detected ("d.raw", SK_DISK_FORMAT_RAW);
  g_assert_cmpstr (sk_diskfmt_name (SK_DISK_FORMAT_VPC), ==, "vpc");
  g_assert_cmpstr (sk_diskfmt_name (SK_DISK_FORMAT_RAW), ==, "raw");
}

static void
test_detect_refused (void)
{
  qimg ("create", "-q", "-f", "luks", "--object", "secret,id=s0,data=x", "-o", "key-secret=s0,iter-time=10",
        "d.luks", "1M", NULL);
  assert_detect_refused ("d.luks", "unsupported format 'luks (encrypted)'");
  write_file ("empty.img", "", 0);
  assert_detect_refused ("empty.img", "is empty");
  write_file ("bochs.img", "Bochs Virtual HD Image\0\0\0\0\0\0\0\0\0\0", 32);
  assert_detect_refused ("bochs.img", "unsupported format 'bochs'");
  g_autofree char *dmg = g_malloc0 (4096);
  memcpy (dmg + 4096 - 512, "koly", 4);
  write_file ("d.dmg", dmg, 4096);
  assert_detect_refused ("d.dmg", "unsupported format 'dmg'");
}

static void
test_vmdk_text_descriptor (void)
{
  static const char desc[] = "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
                             "createType=\"monolithicFlat\"\n\n# Extent description\n"
                             "RW 2048 FLAT \"/etc/passwd\" 0\n";
  write_file ("text.vmdk", desc, sizeof desc - 1);
  assert_detect_refused ("text.vmdk", "vmdk descriptor names another file '/etc/passwd'");
  assert_unconvertible ("text.vmdk", SK_DISK_FORMAT_VMDK, "vmdk descriptor names another file '/etc/passwd'");
  static const char bare[] = "\n\nversion=1\nRW 2048 FLAT \"ext.vmdk\" 0\n";
  write_file ("bare.vmdk", bare, sizeof bare - 1);
  assert_detect_refused ("bare.vmdk", "vmdk descriptor names another file 'ext.vmdk'");
  qimg ("create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", "split.vmdk", "10M", NULL);
  assert_detect_refused ("split.vmdk", "vmdk descriptor names another file 'split-s001.vmdk'");
}

/* A sparse vmdk made by qemu-img whose embedded descriptor (at sector 1 in
 * qemu's layout) is replaced by @text. */
static void
sparse_with_descriptor (const char *name, const char *text)
{
  qimg ("create", "-q", "-f", "vmdk", name, "10M", NULL);
  g_autofree char *buf = g_malloc0 (4096);
  g_assert_cmpuint (strlen (text), <, 4096);
  memcpy (buf, text, strlen (text));
  patch (name, 512, buf, 4096);
}

static void
test_vmdk_sparse (void)
{
  qimg ("create", "-q", "-f", "vmdk", "good.vmdk", "10M", NULL);
  assert_converts ("good.vmdk", SK_DISK_FORMAT_VMDK, 10 << 20);
  qimg ("create", "-q", "-f", "vmdk", "-o", "subformat=streamOptimized", "stream.vmdk", "10M", NULL);
  assert_converts ("stream.vmdk", SK_DISK_FORMAT_VMDK, 10 << 20);

  sparse_with_descriptor ("evil-extent.vmdk", "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicSparse\"\n"
                                              "RW 20480 SPARSE \"/etc/passwd\"\n");
  assert_unconvertible ("evil-extent.vmdk", SK_DISK_FORMAT_VMDK, "vmdk descriptor names another file '/etc/passwd'");
  sparse_with_descriptor ("two.vmdk", "version=1\ncreateType=\"monolithicSparse\"\n"
                                      "RW 20480 SPARSE \"two.vmdk\"\nRW 20480 SPARSE \"ext.vmdk\"\n");
  assert_unconvertible ("two.vmdk", SK_DISK_FORMAT_VMDK, "vmdk descriptor names another file 'ext.vmdk'");
  sparse_with_descriptor ("parent.vmdk", "version=1\ncreateType=\"monolithicSparse\"\nparentCID=1234\n"
                                         "parentFileNameHint=\"/etc/shadow\"\nRW 20480 SPARSE \"parent.vmdk\"\n");
  assert_unconvertible ("parent.vmdk", SK_DISK_FORMAT_VMDK, "vmdk names a parent file '/etc/shadow'");
  sparse_with_descriptor ("vmfs.vmdk", "version=1\ncreateType=\"vmfs\"\nRW 20480 VMFS \"vmfs.vmdk\"\n");
  assert_unconvertible ("vmfs.vmdk", SK_DISK_FORMAT_VMDK, "vmdk createType 'vmfs' is not monolithicSparse");

  qimg ("create", "-q", "-f", "vmdk", "cap0.vmdk", "10M", NULL);
  patch ("cap0.vmdk", 12, "\0\0\0\0\0\0\0\0", 8);
  assert_unconvertible ("cap0.vmdk", SK_DISK_FORMAT_VMDK, "vmdk capacity 0 sectors out of range");
  qimg ("create", "-q", "-f", "vmdk", "nodesc.vmdk", "10M", NULL);
  patch ("nodesc.vmdk", 28, "\0\0\0\0\0\0\0\0", 8);
  assert_unconvertible ("nodesc.vmdk", SK_DISK_FORMAT_VMDK, "vmdk has no valid embedded descriptor");
}

static void
test_other_formats_convert (void)
{
  qimg ("create", "-q", "-f", "vdi", "c.vdi", "12M", NULL);
  assert_converts ("c.vdi", SK_DISK_FORMAT_VDI, 12 << 20);
  qimg ("create", "-q", "-f", "vhdx", "c.vhdx", "8M", NULL);
  assert_converts ("c.vhdx", SK_DISK_FORMAT_VHDX, 8 << 20);
  qimg ("create", "-q", "-f", "qed", "c.qed", "8M", NULL);
  assert_converts ("c.qed", SK_DISK_FORMAT_QED, 8 << 20);
  g_autofree char *raw = g_malloc0 (3 << 20);
  write_file ("c.raw", raw, 3 << 20);
  assert_converts ("c.raw", SK_DISK_FORMAT_RAW, 3 << 20);

  qimg ("create", "-q", "-f", "qed", "-b", "base.qcow2", "-F", "qcow2", "backed.qed", "1G", NULL);
  assert_unconvertible ("backed.qed", SK_DISK_FORMAT_QED, "qed image has a backing file");
  /* the caller's format must match the content */
  assert_unconvertible ("c.vdi", SK_DISK_FORMAT_VHDX, "content is vdi, not vhdx");
}

/* A VM overlay names its parent by path; commit accepts exactly that path. */
static void
test_overlay (void)
{
  g_autofree char *b = layer_name ('b');
  g_autofree char *c = layer_name ('c');
  g_autofree char *parent = g_strconcat ("../../layers/", b, NULL);
  qimg ("create", "-q", "-f", "qcow2", "-b", parent, "-F", "qcow2", "-u", "overlay.qcow2", "1G", NULL);
  g_autofree char *path = tpath ("overlay.qcow2");
  g_auto (SkQcow2Info) info = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_qcow2_validate_overlay (path, parent, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (info.backing_file, ==, parent);
  /* elsewhere: another layer, an absolute path, none at all */
  g_autofree char *other = g_strconcat ("../../layers/", c, NULL);
  g_assert_false (sk_qcow2_validate_overlay (path, other, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_nonnull (strstr (error->message, "is not the expected"));
  g_clear_error (&error);
  g_assert_false (sk_qcow2_validate_overlay (path, NULL, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_clear_error (&error);
  /* the layer rule still holds for layers */
  assert_refused ("overlay.qcow2", b, "contains '..'");
  /* a symlinked overlay is not followed */
  g_autofree char *link = tpath ("overlay-link.qcow2");
  g_assert_cmpint (symlink (path, link), ==, 0);
  g_assert_false (sk_qcow2_validate_overlay (link, parent, NULL, &error));
  g_assert_nonnull (error);
}

static void
test_layer_convert_argv (void)
{
  g_auto (GStrv) a = sk_layer_convert_argv ("../v/overlay.qcow2", "ab.qcow2", "qcow2", "/s/tmp/layer.qcow2");
  const char *want[] = { "qemu-img", "convert", "-q", "-U", "-f", "qcow2", "-O", "qcow2", "-B", "ab.qcow2",
                         "-F", "qcow2", "./../v/overlay.qcow2", "/s/tmp/layer.qcow2", NULL };
  g_assert_cmpstrv (a, want);
  g_auto (GStrv) b = sk_layer_convert_argv ("top:x.qcow2", NULL, "raw", "out.raw");
  const char *want_b[] = { "qemu-img", "convert", "-q", "-U", "-f", "qcow2", "-O", "raw", "./top:x.qcow2",
                           "./out.raw", NULL };
  g_assert_cmpstrv (b, want_b);
}

static void
test_convert_argv (void)
{
  g_auto (GStrv) a = sk_diskfmt_convert_argv (SK_DISK_FORMAT_VMDK, "in:x.vmdk", "/s/tmp/out.qcow2");
  const char *want[] = { "qemu-img", "convert", "-q", "--force-share", "-f", "vmdk", "-O", "qcow2",
                         "./in:x.vmdk", "/s/tmp/out.qcow2", NULL };
  g_assert_cmpstrv (a, want);
  g_auto (GStrv) b = sk_diskfmt_info_argv (SK_DISK_FORMAT_VDI, "/d.vdi");
  const char *want_b[] = { "qemu-img", "info", "--output=json", "--force-share", "-f", "vdi", "/d.vdi", NULL };
  g_assert_cmpstrv (b, want_b);
}

static void
assert_diskfmt_disagrees (SkDiskFormat format, const char *json, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_diskfmt_compare_qemu_img_info ("d", format, json, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  if (strstr (error->message, needle) == NULL)
    g_error ("message '%s' lacks '%s'", error->message, needle);
}

static void
test_diskfmt_qemu_img_opinion (void)
{
  static const char good[] = "{\"virtual-size\":10485760,\"filename\":\"/t/s.vmdk\",\"format\":\"vmdk\","
                             "\"format-specific\":{\"type\":\"vmdk\",\"data\":{\"create-type\":\"monolithicSparse\","
                             "\"extents\":[{\"virtual-size\":10485760,\"filename\":\"/t/s.vmdk\",\"format\":\"\"}]}}}";
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_diskfmt_compare_qemu_img_info ("d", SK_DISK_FORMAT_VMDK, good, &error));
  g_assert_no_error (error);
  assert_diskfmt_disagrees (SK_DISK_FORMAT_VMDK,
                            "{\"virtual-size\":10485760,\"filename\":\"/t/s.vmdk\",\"format\":\"vmdk\","
                            "\"format-specific\":{\"type\":\"vmdk\",\"data\":{\"create-type\":\"monolithicSparse\","
                            "\"extents\":[{\"filename\":\"/etc/passwd\"}]}}}",
                            "qemu-img reports another file '/etc/passwd'");
  assert_diskfmt_disagrees (SK_DISK_FORMAT_VMDK,
                            "{\"virtual-size\":10485760,\"filename\":\"/t/s.vmdk\",\"format\":\"vmdk\","
                            "\"format-specific\":{\"type\":\"vmdk\",\"data\":{\"create-type\":\"monolithicFlat\"}}}",
                            "create-type 'monolithicFlat'");
  assert_diskfmt_disagrees (SK_DISK_FORMAT_QED,
                            "{\"virtual-size\":1048576,\"filename\":\"q\",\"format\":\"qed\",\"backing-filename\":\"b\"}",
                            "qemu-img reports a backing file");
  assert_diskfmt_disagrees (SK_DISK_FORMAT_VDI,
                            "{\"virtual-size\":1048576,\"filename\":\"q\",\"format\":\"vdi\","
                            "\"format-specific\":{\"data\":{\"data-file\":\"x\"}}}",
                            "external data file");
  assert_diskfmt_disagrees (SK_DISK_FORMAT_VDI,
                            "{\"virtual-size\":1048576,\"filename\":\"q\",\"format\":\"vdi\","
                            "\"children\":[{\"name\":\"file\",\"info\":{\"filename\":\"/dev/sda\"}}]}",
                            "another file '/dev/sda'");
  assert_diskfmt_disagrees (SK_DISK_FORMAT_VDI, "{\"virtual-size\":1048576,\"filename\":\"q\",\"format\":\"raw\"}",
                            "reads it as 'raw', not vdi");
  assert_diskfmt_disagrees (SK_DISK_FORMAT_VDI, "{\"virtual-size\":0,\"filename\":\"q\",\"format\":\"vdi\"}",
                            "no sane virtual size");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  tmpdir = g_dir_make_tmp ("skiff-qcow2-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/qcow2/good-base", test_good_base);
  g_test_add_func ("/qcow2/good-child", test_good_child);
  g_test_add_func ("/qcow2/version2", test_version2);
  g_test_add_func ("/qcow2/zstd-accepted", test_zstd_accepted);
  g_test_add_func ("/qcow2/backing-where-none-expected", test_backing_where_none_expected);
  g_test_add_func ("/qcow2/backing-wrong-name", test_backing_wrong_name);
  g_test_add_func ("/qcow2/backing-expected-invalid", test_backing_expected_invalid);
  g_test_add_func ("/qcow2/backing-hostile", test_backing_hostile);
  g_test_add_func ("/qcow2/backing-format", test_backing_format);
  g_test_add_func ("/qcow2/backing-name-rules", test_backing_name_rules);
  g_test_add_func ("/qcow2/encrypted", test_encrypted);
  g_test_add_func ("/qcow2/data-file", test_data_file);
  g_test_add_func ("/qcow2/incompatible-bits", test_incompatible_bits);
  g_test_add_func ("/qcow2/magic-and-version", test_magic_and_version);
  g_test_add_func ("/qcow2/sizes", test_sizes);
  g_test_add_func ("/qcow2/truncated", test_truncated);
  g_test_add_func ("/qcow2/backing-name-bounds", test_backing_name_bounds);
  g_test_add_func ("/qcow2/extension-overrun", test_extension_overrun);
  g_test_add_func ("/qcow2/not-regular", test_not_regular);
  g_test_add_func ("/qcow2/header-mutations", test_header_mutations);
  g_test_add_func ("/qcow2/info-argv", test_info_argv);
  g_test_add_func ("/qcow2/qemu-img-disagrees", test_qemu_img_disagrees);
  g_test_add_func ("/qcow2/qemu-img-real-disagreement", test_qemu_img_real_disagreement);
  g_test_add_func ("/qcow2/run-limited", test_run_limited);
  g_test_add_func ("/diskfmt/detect", test_detect_formats);
  g_test_add_func ("/diskfmt/detect-refused", test_detect_refused);
  g_test_add_func ("/diskfmt/vmdk-text-descriptor", test_vmdk_text_descriptor);
  g_test_add_func ("/diskfmt/vmdk-sparse", test_vmdk_sparse);
  g_test_add_func ("/diskfmt/other-formats-convert", test_other_formats_convert);
  g_test_add_func ("/diskfmt/convert-argv", test_convert_argv);
  g_test_add_func ("/qcow2/overlay", test_overlay);
  g_test_add_func ("/layer/convert-argv", test_layer_convert_argv);
  g_test_add_func ("/diskfmt/qemu-img-opinion", test_diskfmt_qemu_img_opinion);

  int rc = g_test_run ();
  const char *rm[] = { "rm", "-rf", tmpdir, NULL };
  g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free (tmpdir);
  return rc;
}
