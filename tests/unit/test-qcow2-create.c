/* Unit tests: store/qcow2-create — the in-process overlay writer, judged
 * by qemu-img (info, check, and its own create for the table layout),
 * qemu-io (the overlay reads through to its backing file and takes
 * writes) and skiff's own qcow2 parser. */
#include "store/qcow2.h"
#include "common/cleanup.h"
#include "common/error.h"

#include <jansson.h>
#include <sys/stat.h>

static char *tmpdir;

static char *
tpath (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* Runs @argv in tmpdir; returns stdout, asserts exit status 0. */
static char *
run (const char *const *argv)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = -1;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (tmpdir, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status,
                               &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s %s failed: %s%s", argv[0], argv[1], out, err);
  return g_steal_pointer (&out);
}

/* "<64 x c>.qcow2", made once as a 1 MiB base whose first MiB holds 0x5a. */
static char *
backing (char c)
{
  g_autofree char *hex = g_strnfill (64, c);
  char *name = g_strconcat (hex, ".qcow2", NULL);
  g_autofree char *path = tpath (name);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      const char *create[] = { "qemu-img", "create", "-q", "-f", "qcow2", name, "1M", NULL };
      g_free (run (create));
      const char *fill[] = { "qemu-io", "-f", "qcow2", "-c", "write -q -P 0x5a 0 1M", name, NULL };
      g_free (run (fill));
    }
  return name;
}

static json_t *
qemu_img_json (const char *verb, const char *file)
{
  const char *argv[] = { "qemu-img", verb, "--output=json", "-f", "qcow2", file, NULL };
  g_autofree char *out = run (argv);
  json_error_t jerr;
  json_t *j = json_loads (out, 0, &jerr);
  if (j == NULL)
    g_error ("qemu-img %s: %s: %s", verb, jerr.text, out);
  return j;
}

static gint64
jint (json_t *o, const char *key)
{
  json_t *v = json_object_get (o, key);
  g_assert_true (json_is_integer (v));
  return json_integer_value (v);
}

static const char *
jstr (json_t *o, const char *key)
{
  const char *s = json_string_value (json_object_get (o, key));
  g_assert_nonnull (s);
  return s;
}

static char *
make_overlay (const char *name, const char *back, guint64 size)
{
  g_autofree char *path = tpath (name);
  (void) unlink (path);
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_qcow2_create_overlay (path, back, size, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

/* qemu-img info and check, and skiff's parser, all accept the overlay and
 * agree on its size and backing file. */
static void
assert_good_overlay (const char *name, const char *back, guint64 size)
{
  guint64 want = (size + 511) / 512 * 512;
  g_autoptr (json_t) info = qemu_img_json ("info", name);
  g_assert_cmpstr (jstr (info, "format"), ==, "qcow2");
  g_assert_cmpint (jint (info, "virtual-size"), ==, (gint64) want);
  g_assert_cmpint (jint (info, "cluster-size"), ==, 65536);
  g_assert_cmpstr (jstr (info, "backing-filename"), ==, back);
  g_assert_cmpstr (jstr (info, "backing-filename-format"), ==, "qcow2");
  g_assert_false (json_is_true (json_object_get (info, "dirty-flag")));
  json_t *spec = json_object_get (json_object_get (info, "format-specific"), "data");
  g_assert_cmpstr (jstr (spec, "compat"), ==, "1.1");
  g_assert_cmpint (jint (spec, "refcount-bits"), ==, 16);
  g_assert_cmpstr (jstr (spec, "compression-type"), ==, "zlib");
  g_assert_false (json_is_true (json_object_get (spec, "corrupt")));

  g_autoptr (json_t) check = qemu_img_json ("check", name);
  g_assert_cmpint (jint (check, "check-errors"), ==, 0);
  g_assert_null (json_object_get (check, "corruptions"));
  g_assert_null (json_object_get (check, "leaks"));

  g_autofree char *path = tpath (name);
  g_autoptr (GError) error = NULL;
  g_auto (SkQcow2Info) mine = { 0 };
  g_assert_true (sk_qcow2_validate (path, back, &mine, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mine.version, ==, 3);
  g_assert_cmpuint (mine.virtual_size, ==, want);
  g_assert_cmpstr (mine.backing_file, ==, back);
  g_assert_true (sk_qcow2_check_with_qemu_img (path, &mine, &error));
  g_assert_no_error (error);
}

/* Sizes around the edges of the tables: one L2 table maps 512 MiB, one L1
 * cluster 4 TiB; odd sizes round up to 512 like qemu-img's. */
static const guint64 sizes[] = {
  512,
  1000,
  G_GUINT64_CONSTANT (1) << 20,
  100 * (G_GUINT64_CONSTANT (1) << 20),
  (G_GUINT64_CONSTANT (512) << 20) - 512,
  G_GUINT64_CONSTANT (512) << 20,
  (G_GUINT64_CONSTANT (512) << 20) + 1,
  10 * (G_GUINT64_CONSTANT (1) << 30),
  G_GUINT64_CONSTANT (12345678901),
  (G_GUINT64_CONSTANT (4) << 40) + 512,
  SK_QCOW2_MAX_VIRTUAL_SIZE,
};

static void
test_sizes (void)
{
  g_autofree char *back = backing ('a');
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_test_message ("size %" G_GUINT64_FORMAT, sizes[i]);
      g_autofree char *path = make_overlay ("overlay.qcow2", back, sizes[i]);
      assert_good_overlay ("overlay.qcow2", back, sizes[i]);
    }
}

/* Past the header cluster the file is what qemu-img create writes: same
 * length, same refcount table, refcount block and L1 table. */
static void
test_same_tables_as_qemu_img (void)
{
  g_autofree char *back = backing ('a');
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *ours = make_overlay ("ours.qcow2", back, sizes[i]);
      g_autofree char *size = g_strdup_printf ("%" G_GUINT64_FORMAT, sizes[i]);
      g_autofree char *theirs = tpath ("theirs.qcow2");
      (void) unlink (theirs);
      const char *create[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", back, "-u",
                               "theirs.qcow2", size, NULL };
      g_free (run (create));
      g_autofree char *a = NULL, *b = NULL;
      gsize alen, blen;
      g_assert_true (g_file_get_contents (ours, &a, &alen, NULL));
      g_assert_true (g_file_get_contents (theirs, &b, &blen, NULL));
      g_assert_cmpuint (alen, ==, blen);
      g_assert_cmpuint (alen, >, 65536);
      g_assert_cmpmem (a + 65536, alen - 65536, b + 65536, blen - 65536);
      /* and the fixed header up to the header length's field */
      g_assert_cmpmem (a + 16, 84, b + 16, 84);
    }
}

/* qemu reads the backing file through the overlay and writes land in the
 * overlay, which stays consistent. */
static void
test_reads_and_writes (void)
{
  g_autofree char *back = backing ('b');
  g_autofree char *path = make_overlay ("rw.qcow2", back, G_GUINT64_CONSTANT (10) << 30);
  const char *read_base[] = { "qemu-io", "-f", "qcow2", "-c", "read -q -P 0x5a 0 1M", "rw.qcow2", NULL };
  g_free (run (read_base));
  const char *write[] = { "qemu-io", "-f", "qcow2", "-c", "write -q -P 0xc3 4096 8192", "-c",
                          "write -q -P 0x11 9G 1M", "rw.qcow2", NULL };
  g_free (run (write));
  const char *read[] = { "qemu-io", "-f", "qcow2", "-c", "read -q -P 0x5a 0 4096", "-c", "read -q -P 0xc3 4096 8192",
                         "-c", "read -q -P 0x11 9G 1M", "-c", "read -q -P 0 2G 1M", "rw.qcow2", NULL };
  g_free (run (read));
  assert_good_overlay ("rw.qcow2", back, G_GUINT64_CONSTANT (10) << 30);
}

/* Bad sizes and names are refused, and an existing file is never
 * overwritten: each with an error naming the file. */
static void
test_refused (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *back = backing ('a');
  g_assert_null (sk_qcow2_build_overlay (back, 0, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
  g_clear_error (&error);
  g_assert_null (sk_qcow2_build_overlay (back, SK_QCOW2_MAX_VIRTUAL_SIZE + 1, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
  g_clear_error (&error);
  g_assert_null (sk_qcow2_build_overlay ("", 1 << 20, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
  g_clear_error (&error);
  g_autofree char *longest = g_strnfill (SK_QCOW2_MAX_BACKING_NAME, 'x');
  g_autoptr (GBytes) ok = sk_qcow2_build_overlay (longest, 1 << 20, &error);
  g_assert_no_error (error);
  g_autofree char *too_long = g_strnfill (SK_QCOW2_MAX_BACKING_NAME + 1, 'x');
  g_assert_null (sk_qcow2_build_overlay (too_long, 1 << 20, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
  g_clear_error (&error);

  g_autofree char *path = make_overlay ("exists.qcow2", back, 1 << 20);
  g_assert_false (sk_qcow2_create_overlay (path, back, 2 << 20, &error));
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  assert_good_overlay ("exists.qcow2", back, 1 << 20);
  g_autofree char *none = tpath ("no-such-dir/o.qcow2");
  g_assert_false (sk_qcow2_create_overlay (none, back, 1 << 20, &error));
  g_assert_nonnull (strstr (error->message, none));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("skiff-qcow2-create-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  g_test_add_func ("/qcow2-create/sizes", test_sizes);
  g_test_add_func ("/qcow2-create/same-tables-as-qemu-img", test_same_tables_as_qemu_img);
  g_test_add_func ("/qcow2-create/reads-and-writes", test_reads_and_writes);
  g_test_add_func ("/qcow2-create/refused", test_refused);
  int r = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);
  if (system (cmd) != 0)
    r = 1;
  return r;
}
