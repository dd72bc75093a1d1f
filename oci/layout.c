/* skiff — OCI image layout directories. */
#include "oci/layout.h"

#include "common/cleanup.h"
#include "common/error.h"
#include "common/util.h"
#include "oci/digest.h"
#include "oci/mediatypes.h"
#include "oci/oci-json.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAYOUT_HEADER_MAX 65536
#define COPY_BUFSIZE (1 << 20)

struct _SkLayout {
  char *path;
  int dfd;
};

void
sk_layout_free (SkLayout *layout)
{
  if (layout == NULL)
    return;
  if (layout->dfd >= 0)
    close (layout->dfd);
  g_free (layout->path);
  g_free (layout);
}

const char *
sk_layout_get_path (SkLayout *layout)
{
  return layout->path;
}

static gboolean
errno_error (GError **error, int errsv, const char *what, const char *name)
{
  if (errsv == ENOENT)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "%s '%s' not found", what, name), FALSE;
  if (errsv == ELOOP)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "%s '%s' is a symbolic link", what, name), FALSE;
  /* O_DIRECTORY | O_NOFOLLOW on a symlink or a file */
  if (errsv == ENOTDIR)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "%s '%s' is not a directory (or is a symbolic link)",
                        what, name), FALSE;
  return sk_error_from_errno (error, errsv, "opening %s '%s'", what, name);
}

/* Opens the directory @name below @dfd without following symlinks,
 * creating it first when @create. */
static int
open_subdir (int dfd, const char *name, gboolean create, GError **error)
{
  if (create && mkdirat (dfd, name, 0755) < 0 && errno != EEXIST)
    return sk_error_from_errno (error, errno, "creating directory '%s'", name), -1;
  int fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno_error (error, errno, "directory", name), -1;
  return fd;
}

/* Opens a regular file below @dfd without following symlinks; @out_size
 * gets its size. */
static int
open_regular (int dfd, const char *name, const char *what, guint64 *out_size, GError **error)
{
  sk_autofd int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return errno_error (error, errno, what, name), -1;
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sk_error_from_errno (error, errno, "stat of %s '%s'", what, name), -1;
  if (!S_ISREG (st.st_mode))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "%s '%s' is not a regular file", what, name), -1;
  /* O_NONBLOCK only kept a FIFO from blocking the open. */
  if (fcntl (fd, F_SETFL, 0) < 0)
    return sk_error_from_errno (error, errno, "opening %s '%s'", what, name), -1;
  *out_size = st.st_size;
  return g_steal_fd (&fd);
}

static gboolean
read_exact (int fd, guint8 *buf, gsize len, GError **error)
{
  gsize done = 0;
  while (done < len)
    {
      ssize_t n = read (fd, buf + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sk_error_from_errno (error, errno, "reading");
      if (n == 0)
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "file shrank while reading"), FALSE;
      done += n;
    }
  return TRUE;
}

static GBytes *
read_small_file (int dfd, const char *name, gsize max, GError **error)
{
  guint64 size = 0;
  sk_autofd int fd = open_regular (dfd, name, "file", &size, error);
  if (fd < 0)
    return NULL;
  if (size > max)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "'%s': %" G_GUINT64_FORMAT
                        " bytes is more than the limit of %zu", name, size, max), NULL;
  g_autofree guint8 *buf = g_malloc (size + 1);
  if (!read_exact (fd, buf, size, error))
    return g_prefix_error (error, "'%s': ", name), NULL;
  return g_bytes_new_take (g_steal_pointer (&buf), size);
}

gboolean
sk_layout_header_validate (GBytes *bytes, GError **error)
{
  gsize len = 0;
  const char *buf = g_bytes_get_data (bytes, &len);
  g_autoptr (json_t) j = sk_json_parse_object (buf, len, error);
  const char *version = NULL;
  if (j == NULL || !sk_json_get_string (j, "imageLayoutVersion", TRUE, &version, error))
    return g_prefix_error (error, "invalid oci-layout: "), FALSE;
  if (!g_str_equal (version, SK_OCI_LAYOUT_VERSION))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                        "invalid oci-layout: imageLayoutVersion '%s' is not '%s'", version,
                        SK_OCI_LAYOUT_VERSION), FALSE;
  return TRUE;
}

static gboolean
check_layout_files (SkLayout *layout, GError **error)
{
  g_autoptr (GBytes) header = read_small_file (layout->dfd, "oci-layout", LAYOUT_HEADER_MAX, error);
  if (header == NULL || !sk_layout_header_validate (header, error))
    return FALSE;
  guint64 size = 0;
  sk_autofd int ifd = open_regular (layout->dfd, "index.json", "file", &size, error);
  if (ifd < 0)
    return FALSE;
  sk_autofd int bfd = open_subdir (layout->dfd, "blobs", FALSE, error);
  return bfd >= 0;
}

SkLayout *
sk_layout_open (const char *path, GError **error)
{
  g_autoptr (SkLayout) layout = g_new0 (SkLayout, 1);
  layout->path = g_canonicalize_filename (path, NULL);
  layout->dfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (layout->dfd < 0)
    return errno_error (error, errno, "OCI layout", path), NULL;
  if (!check_layout_files (layout, error))
    return g_prefix_error (error, "OCI layout '%s': ", path), NULL;
  return g_steal_pointer (&layout);
}

static gboolean
write_layout_file (SkLayout *layout, const char *name, GBytes *bytes, GError **error)
{
  g_autofree char *p = g_build_filename (layout->path, name, NULL);
  gsize len = 0;
  const void *data = g_bytes_get_data (bytes, &len);
  return sk_file_write_atomic (p, data, len, 0644, error);
}

static gboolean
create_missing_files (SkLayout *layout, GError **error)
{
  if (faccessat (layout->dfd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    {
      g_autoptr (GBytes) h = g_bytes_new_static ("{\"imageLayoutVersion\":\"" SK_OCI_LAYOUT_VERSION "\"}",
                                                 strlen ("{\"imageLayoutVersion\":\"" SK_OCI_LAYOUT_VERSION "\"}"));
      if (!write_layout_file (layout, "oci-layout", h, error))
        return FALSE;
    }
  if (faccessat (layout->dfd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    {
      g_autoptr (GPtrArray) none = g_ptr_array_new ();
      g_autoptr (SkIndex) idx = sk_index_new (none, NULL, error);
      if (idx == NULL || !write_layout_file (layout, "index.json", idx->raw, error))
        return FALSE;
    }
  sk_autofd int bfd = open_subdir (layout->dfd, "blobs", TRUE, error);
  return bfd >= 0;
}

SkLayout *
sk_layout_create (const char *path, GError **error)
{
  if (g_mkdir_with_parents (path, 0755) < 0)
    return sk_error_from_errno (error, errno, "creating OCI layout '%s'", path), NULL;
  g_autoptr (SkLayout) layout = g_new0 (SkLayout, 1);
  layout->path = g_canonicalize_filename (path, NULL);
  layout->dfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (layout->dfd < 0)
    return errno_error (error, errno, "OCI layout", path), NULL;
  if (!create_missing_files (layout, error) || !check_layout_files (layout, error))
    return g_prefix_error (error, "OCI layout '%s': ", path), NULL;
  return g_steal_pointer (&layout);
}

SkIndex *
sk_layout_read_index (SkLayout *layout, GError **error)
{
  g_autoptr (GBytes) raw = read_small_file (layout->dfd, "index.json", SK_MANIFEST_MAX_SIZE, error);
  SkIndex *idx = raw ? sk_index_parse (raw, NULL, error) : NULL;
  if (idx == NULL)
    g_prefix_error (error, "OCI layout '%s': index.json: ", layout->path);
  return idx;
}

gboolean
sk_layout_ref_name_validate (const char *ref_name, GError **error)
{
  static const char pattern[] =
    "^[A-Za-z0-9]+(([-._:@+]|--)[A-Za-z0-9]+)*(/[A-Za-z0-9]+(([-._:@+]|--)[A-Za-z0-9]+)*)*$";
  if (ref_name == NULL || strlen (ref_name) > 1024 || !g_regex_match_simple (pattern, ref_name, 0, 0))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE,
                        "invalid reference name '%s'", ref_name ? ref_name : ""), FALSE;
  return TRUE;
}

static gboolean
write_index (SkLayout *layout, GPtrArray *entries, GHashTable *annotations, GError **error)
{
  g_autoptr (SkIndex) idx = sk_index_new (entries, annotations, error);
  if (idx == NULL)
    return FALSE;
  return write_layout_file (layout, "index.json", idx->raw, error);
}

/* The entries of @idx without those named @ref_name; borrowed pointers. */
static GPtrArray *
entries_without (SkIndex *idx, const char *ref_name, guint *out_removed)
{
  GPtrArray *keep = g_ptr_array_new ();
  *out_removed = 0;
  for (guint i = 0; i < idx->manifests->len; i++)
    {
      SkDescriptor *d = idx->manifests->pdata[i];
      if (g_strcmp0 (sk_descriptor_get_annotation (d, SK_ANNOTATION_REF_NAME), ref_name) == 0)
        (*out_removed)++;
      else
        g_ptr_array_add (keep, d);
    }
  return keep;
}

SkIndex *
sk_layout_index_set_ref (SkIndex *idx, const char *ref_name, const SkDescriptor *desc, GError **error)
{
  if (!sk_layout_ref_name_validate (ref_name, error))
    return NULL;
  g_autoptr (GError) local = NULL;
  if (!sk_descriptor_validate (desc, error))
    return g_prefix_error (error, "invalid descriptor for '%s': ", ref_name), NULL;
  /* Entries skiff writes must name content it can find and verify. */
  if (!sk_digest_validate (desc->digest, NULL, &local))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "invalid descriptor for '%s': %s",
                        ref_name, local->message), NULL;
  guint removed = 0;
  g_autoptr (GPtrArray) entries = idx ? entries_without (idx, ref_name, &removed) : g_ptr_array_new ();
  g_autoptr (SkDescriptor) entry = sk_descriptor_copy (desc);
  sk_descriptor_set_annotation (entry, SK_ANNOTATION_REF_NAME, ref_name);
  g_ptr_array_add (entries, entry);
  return sk_index_new (entries, idx ? idx->annotations : NULL, error);
}

gboolean
sk_layout_set_ref (SkLayout *layout, const char *ref_name, const SkDescriptor *desc, GError **error)
{
  if (!sk_layout_ref_name_validate (ref_name, error))
    return FALSE;
  g_autoptr (SkIndex) idx = sk_layout_read_index (layout, error);
  if (idx == NULL)
    return FALSE;
  g_autoptr (SkIndex) updated = sk_layout_index_set_ref (idx, ref_name, desc, error);
  if (updated == NULL)
    return FALSE;
  if (!write_layout_file (layout, "index.json", updated->raw, error))
    return g_prefix_error (error, "OCI layout '%s': writing index.json: ", layout->path), FALSE;
  return TRUE;
}

gboolean
sk_layout_remove_ref (SkLayout *layout, const char *ref_name, GError **error)
{
  g_autoptr (SkIndex) idx = sk_layout_read_index (layout, error);
  if (idx == NULL)
    return FALSE;
  guint removed = 0;
  g_autoptr (GPtrArray) entries = entries_without (idx, ref_name, &removed);
  if (removed == 0)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "reference '%s' not found in OCI layout '%s'",
                        ref_name, layout->path), FALSE;
  if (!write_index (layout, entries, idx->annotations, error))
    return g_prefix_error (error, "OCI layout '%s': writing index.json: ", layout->path), FALSE;
  return TRUE;
}

SkDescriptor *
sk_layout_resolve_ref (SkLayout *layout, const char *ref_name, GError **error)
{
  g_autoptr (SkIndex) idx = sk_layout_read_index (layout, error);
  if (idx == NULL)
    return NULL;
  const SkDescriptor *found = NULL;
  for (guint i = 0; i < idx->manifests->len; i++)
    {
      const SkDescriptor *d = idx->manifests->pdata[i];
      if (g_strcmp0 (sk_descriptor_get_annotation (d, SK_ANNOTATION_REF_NAME), ref_name) != 0)
        continue;
      if (found && (!g_str_equal (found->digest, d->digest) || found->size != d->size))
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                            "reference '%s' names different manifests in OCI layout '%s'", ref_name,
                            layout->path), NULL;
      found = d;
    }
  if (found == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "reference '%s' not found in OCI layout '%s'",
                        ref_name, layout->path), NULL;
  return sk_descriptor_copy (found);
}

char *
sk_layout_blob_relpath (const char *digest, GError **error)
{
  SkDigestAlgorithm alg;
  if (!sk_digest_validate (digest, &alg, error))
    return NULL;
  return g_strdup_printf ("blobs/%s/%s", sk_digest_algorithm_name (alg), sk_digest_hex (digest));
}

char *
sk_layout_blob_path (SkLayout *layout, const char *digest, GError **error)
{
  g_autofree char *rel = sk_layout_blob_relpath (digest, error);
  return rel ? g_build_filename (layout->path, rel, NULL) : NULL;
}

/* The fd of blobs/<alg>/ for @alg, created when @create. */
static int
open_alg_dir (SkLayout *layout, SkDigestAlgorithm alg, gboolean create, GError **error)
{
  sk_autofd int bfd = open_subdir (layout->dfd, "blobs", create, error);
  if (bfd < 0)
    return -1;
  return open_subdir (bfd, sk_digest_algorithm_name (alg), create, error);
}

/* Opens the blob @digest names; NOT_FOUND when missing. */
static int
open_blob (SkLayout *layout, const char *digest, guint64 *out_size, GError **error)
{
  SkDigestAlgorithm alg;
  if (!sk_digest_validate (digest, &alg, error))
    return -1;
  g_autoptr (GError) local = NULL;
  sk_autofd int afd = open_alg_dir (layout, alg, FALSE, &local);
  int fd = afd >= 0 ? open_regular (afd, sk_digest_hex (digest), "blob", out_size, &local) : -1;
  if (fd >= 0)
    return fd;
  if (g_error_matches (local, SK_ERROR, SK_ERROR_NOT_FOUND))
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "blob '%s' not found in OCI layout '%s'",
                        digest, layout->path), -1;
  g_propagate_prefixed_error (error, g_steal_pointer (&local), "blob '%s': ", digest);
  return -1;
}

gboolean
sk_layout_has_blob (SkLayout *layout, const char *digest)
{
  guint64 size = 0;
  g_autoptr (GError) local = NULL;
  sk_autofd int fd = open_blob (layout, digest, &size, &local);
  return fd >= 0;
}

static gboolean
size_check (const SkDescriptor *desc, guint64 size, GError **error)
{
  if (desc->size >= 0 && size == (guint64) desc->size)
    return TRUE;
  return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                      "blob '%s': size mismatch: descriptor says %" G_GINT64_FORMAT " bytes, blob has %"
                      G_GUINT64_FORMAT, desc->digest, desc->size, size), FALSE;
}

gboolean
sk_layout_verify_blob (SkLayout *layout, const SkDescriptor *desc, GError **error)
{
  guint64 size = 0;
  sk_autofd int fd = open_blob (layout, desc->digest, &size, error);
  if (fd < 0 || !size_check (desc, size, error))
    return FALSE;
  SkDigestAlgorithm alg;
  sk_digest_validate (desc->digest, &alg, NULL);
  g_autofree char *got = sk_digest_fd (alg, fd, &size, error);
  if (got == NULL || !size_check (desc, size, error))
    return FALSE;
  if (!g_str_equal (got, desc->digest))
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH, "blob '%s': digest mismatch: content has '%s'",
                        desc->digest, got), FALSE;
  return TRUE;
}

GBytes *
sk_layout_read_blob (SkLayout *layout, const SkDescriptor *desc, gsize max_size, GError **error)
{
  if (desc->size < 0 || (guint64) desc->size > max_size)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "blob '%s': %" G_GINT64_FORMAT
                        " bytes is more than the limit of %zu", desc->digest, desc->size, max_size), NULL;
  guint64 size = 0;
  sk_autofd int fd = open_blob (layout, desc->digest, &size, error);
  if (fd < 0 || !size_check (desc, size, error))
    return NULL;
  g_autofree guint8 *buf = g_malloc (size + 1);
  guint8 extra;
  if (!read_exact (fd, buf, size, error))
    return g_prefix_error (error, "blob '%s': ", desc->digest), NULL;
  if (read (fd, &extra, 1) != 0)
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH, "blob '%s': grew while reading", desc->digest), NULL;
  if (!sk_digest_verify_bytes (desc->digest, buf, size, error))
    return g_prefix_error (error, "blob '%s': ", desc->digest), NULL;
  return g_bytes_new_take (g_steal_pointer (&buf), size);
}

/* A blob being written: a temporary in blobs/<alg>/, unlinked unless
 * committed. */
typedef struct {
  int dfd;
  int fd;
  char *name;
} SkTmpBlob;

static void
tmp_blob_clear (SkTmpBlob *t)
{
  if (t->fd >= 0)
    close (t->fd);
  if (t->name)
    (void) unlinkat (t->dfd, t->name, 0);
  if (t->dfd >= 0)
    close (t->dfd);
  g_free (t->name);
  t->fd = t->dfd = -1;
  t->name = NULL;
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SkTmpBlob, tmp_blob_clear)

static gboolean
tmp_blob_open (SkLayout *layout, SkDigestAlgorithm alg, SkTmpBlob *t, GError **error)
{
  t->fd = -1;
  t->dfd = open_alg_dir (layout, alg, TRUE, error);
  if (t->dfd < 0)
    return FALSE;
  for (guint attempt = 0; attempt < 100; attempt++)
    {
      g_autofree char *name = g_strdup_printf (".tmp-%08x%08x", g_random_int (), g_random_int ());
      t->fd = openat (t->dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (t->fd >= 0)
        {
          t->name = g_steal_pointer (&name);
          return TRUE;
        }
      if (errno != EEXIST)
        return sk_error_from_errno (error, errno, "creating a temporary blob in '%s'", layout->path);
    }
  return sk_error_from_errno (error, EEXIST, "creating a temporary blob in '%s'", layout->path);
}

static gboolean
tmp_blob_commit (SkTmpBlob *t, const char *hex, GError **error)
{
  if (fdatasync (t->fd) < 0)
    return sk_error_from_errno (error, errno, "writing blob");
  if (renameat (t->dfd, t->name, t->dfd, hex) < 0)
    return sk_error_from_errno (error, errno, "renaming blob into place");
  g_clear_pointer (&t->name, g_free);
  return TRUE;
}

static gboolean
write_all (int fd, const guint8 *buf, gsize len, GError **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sk_error_from_errno (error, errno, "writing blob");
      buf += n;
      len -= n;
    }
  return TRUE;
}

static gboolean
too_large (gint64 expected_size, guint64 got, GError **error)
{
  return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                      "size mismatch: expected %" G_GINT64_FORMAT " bytes, got %s%" G_GUINT64_FORMAT,
                      expected_size, got > (guint64) expected_size ? "at least " : "", got), FALSE;
}

/* Copies @in to @fd through @h; stops as soon as @expected_size is passed. */
static gboolean
copy_hashing (GInputStream *in, int fd, SkHasher *h, gint64 expected_size,
              GCancellable *cancellable, GError **error)
{
  g_autofree guint8 *buf = g_malloc (COPY_BUFSIZE);
  for (;;)
    {
      gssize n = g_input_stream_read (in, buf, COPY_BUFSIZE, cancellable, error);
      if (n < 0)
        return FALSE;
      if (n == 0)
        return TRUE;
      sk_hasher_update (h, buf, n);
      if (expected_size >= 0 && sk_hasher_bytes (h) > (guint64) expected_size)
        return too_large (expected_size, sk_hasher_bytes (h), error);
      if (!write_all (fd, buf, n, error))
        return FALSE;
    }
}

gboolean
sk_layout_write_blob_from_stream (SkLayout *layout, GInputStream *stream,
                                  const char *expected_digest, gint64 expected_size,
                                  char **out_digest, guint64 *out_size,
                                  GCancellable *cancellable, GError **error)
{
  SkDigestAlgorithm alg = SK_DIGEST_SHA256;
  if (expected_digest && !sk_digest_validate (expected_digest, &alg, error))
    return FALSE;
  g_auto (SkTmpBlob) tmp = { -1, -1, NULL };
  if (!tmp_blob_open (layout, alg, &tmp, error))
    return FALSE;
  g_autoptr (SkHasher) h = sk_hasher_new (alg);
  if (!copy_hashing (stream, tmp.fd, h, expected_size, cancellable, error))
    return g_prefix_error (error, "writing blob %s: ", expected_digest ? expected_digest : ""), FALSE;
  guint64 size = sk_hasher_bytes (h);
  g_autofree char *digest = sk_hasher_finish (h);
  if (expected_size >= 0 && size != (guint64) expected_size)
    return too_large (expected_size, size, error), g_prefix_error (error, "writing blob %s: ",
                                                                   expected_digest ? expected_digest : ""), FALSE;
  if (expected_digest && !g_str_equal (digest, expected_digest))
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                        "writing blob: digest mismatch: expected '%s', got '%s'", expected_digest, digest), FALSE;
  if (!tmp_blob_commit (&tmp, sk_digest_hex (digest), error))
    return FALSE;
  if (out_size)
    *out_size = size;
  if (out_digest)
    *out_digest = g_steal_pointer (&digest);
  return TRUE;
}

gboolean
sk_layout_write_blob_from_fd (SkLayout *layout, int fd, const char *expected_digest,
                              gint64 expected_size, char **out_digest, guint64 *out_size,
                              GError **error)
{
  g_autoptr (GInputStream) in = g_unix_input_stream_new (fd, FALSE);
  return sk_layout_write_blob_from_stream (layout, in, expected_digest, expected_size,
                                           out_digest, out_size, NULL, error);
}

gboolean
sk_layout_write_blob_bytes (SkLayout *layout, GBytes *bytes, char **out_digest, GError **error)
{
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);
  return sk_layout_write_blob_from_stream (layout, in, NULL, g_bytes_get_size (bytes),
                                           out_digest, NULL, NULL, error);
}

/* An input stream that hashes what it passes on and fails the read that
 * completes the content if size or digest differ from the descriptor. */
typedef struct {
  GFilterInputStream parent;
  SkHasher *hasher;
  char *expected;
  gint64 expected_size;
  gboolean verified;
} SkVerifyStream;

typedef struct {
  GFilterInputStreamClass parent_class;
} SkVerifyStreamClass;

static GType sk_verify_stream_get_type (void);
G_DEFINE_TYPE (SkVerifyStream, sk_verify_stream, G_TYPE_FILTER_INPUT_STREAM)

static gboolean
verify_stream_finish (SkVerifyStream *self, GError **error)
{
  guint64 size = sk_hasher_bytes (self->hasher);
  if (size != (guint64) self->expected_size)
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                        "blob '%s': size mismatch: expected %" G_GINT64_FORMAT " bytes, got %" G_GUINT64_FORMAT,
                        self->expected, self->expected_size, size), FALSE;
  g_autofree char *got = sk_hasher_finish (self->hasher);
  if (!g_str_equal (got, self->expected))
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                        "blob '%s': digest mismatch: content has '%s'", self->expected, got), FALSE;
  self->verified = TRUE;
  return TRUE;
}

static gssize
sk_verify_stream_read (GInputStream *stream, void *buffer, gsize count,
                       GCancellable *cancellable, GError **error)
{
  SkVerifyStream *self = (SkVerifyStream *) stream;
  GInputStream *base = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));
  if (self->verified)
    return g_input_stream_read (base, buffer, count, cancellable, error) == 0
             ? 0 : (g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                                 "blob '%s': longer than its descriptor says", self->expected), -1);
  gssize n = g_input_stream_read (base, buffer, count, cancellable, error);
  if (n < 0)
    return -1;
  sk_hasher_update (self->hasher, buffer, n);
  guint64 total = sk_hasher_bytes (self->hasher);
  if ((n == 0 || total >= (guint64) self->expected_size) && !verify_stream_finish (self, error))
    return -1;
  return n;
}

static gssize
sk_verify_stream_skip (GInputStream *stream, gsize count, GCancellable *cancellable, GError **error)
{
  guint8 buf[8192];
  return sk_verify_stream_read (stream, buf, MIN (count, sizeof buf), cancellable, error);
}

static void
sk_verify_stream_finalize (GObject *object)
{
  SkVerifyStream *self = (SkVerifyStream *) object;
  if (!self->verified)
    g_free (sk_hasher_finish (self->hasher));
  sk_hasher_free (self->hasher);
  g_free (self->expected);
  G_OBJECT_CLASS (sk_verify_stream_parent_class)->finalize (object);
}

static void
sk_verify_stream_class_init (SkVerifyStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_verify_stream_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = sk_verify_stream_read;
  G_INPUT_STREAM_CLASS (klass)->skip = sk_verify_stream_skip;
}

static void
sk_verify_stream_init (SkVerifyStream *self)
{
}

GInputStream *
sk_layout_open_blob (SkLayout *layout, const SkDescriptor *desc, GError **error)
{
  guint64 size = 0;
  int fd = open_blob (layout, desc->digest, &size, error);
  if (fd < 0)
    return NULL;
  if (!size_check (desc, size, error))
    return close (fd), NULL;
  g_autoptr (GInputStream) base = g_unix_input_stream_new (fd, TRUE);
  SkVerifyStream *vs = g_object_new (sk_verify_stream_get_type (), "base-stream", base, NULL);
  SkDigestAlgorithm alg;
  sk_digest_validate (desc->digest, &alg, NULL);
  vs->hasher = sk_hasher_new (alg);
  vs->expected = g_strdup (desc->digest);
  vs->expected_size = desc->size;
  return G_INPUT_STREAM (vs);
}
