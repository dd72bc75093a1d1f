/* skiff — OCI image layouts as tar streams.  See oci/layout-tar.h. */
#include "oci/layout-tar.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "oci/digest.h"
#include "oci/mediatypes.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1 << 20)
#define LAYOUT_HEADER_MAX 65536
#define MAX_ENTRIES 100000

static gboolean
refuse (GError **error, const char *name, const char *why)
{
  g_autofree char *shown = g_strescape (name, NULL);
  g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "archive entry '%s' %s", shown, why);
  return FALSE;
}

/* ---------------------------------------------------------------- reading */

char *
sk_tar_clean_name (const char *raw, GError **error)
{
  if (raw == NULL || *raw == '\0')
    return refuse (error, "", "has no name"), NULL;
  if (raw[0] == '/')
    return refuse (error, raw, "is an absolute path"), NULL;
  const char *p = raw;
  while (g_str_has_prefix (p, "./"))
    p += 2;
  g_autofree char *name = g_strdup (p);
  gsize len = strlen (name);
  while (len > 0 && name[len - 1] == '/')
    name[--len] = '\0';
  if (len == 0 || g_str_equal (name, "."))
    return g_strdup ("");
  g_auto (GStrv) parts = g_strsplit (name, "/", -1);
  for (guint i = 0; parts[i]; i++)
    {
      if (g_str_equal (parts[i], ".."))
        return refuse (error, raw, "leaves the archive's root ('..')"), NULL;
      if (*parts[i] == '\0' || g_str_equal (parts[i], "."))
        return refuse (error, raw, "has an empty or '.' path component"), NULL;
    }
  return g_steal_pointer (&name);
}

gboolean
sk_tar_check_type (struct archive_entry *e, const char *raw, GError **error)
{
  if (archive_entry_hardlink (e) != NULL)
    return refuse (error, raw, "is a hard link");
  switch (archive_entry_filetype (e))
    {
    case AE_IFREG:
    case AE_IFDIR:
      return TRUE;
    case AE_IFLNK:
      return refuse (error, raw, "is a symbolic link");
    case AE_IFCHR:
    case AE_IFBLK:
      return refuse (error, raw, "is a device node");
    default:
      return refuse (error, raw, "is not a regular file or directory");
    }
}

/* "sha256:<hex>" for a "blobs/<alg>/<hex>" name, else NULL. */
static char *
blob_digest (const char *name)
{
  if (!g_str_has_prefix (name, "blobs/"))
    return NULL;
  g_auto (GStrv) parts = g_strsplit (name + 6, "/", -1);
  if (g_strv_length (parts) != 2)
    return NULL;
  return g_strdup_printf ("%s:%s", parts[0], parts[1]);
}

/* Streams the entry's data into @fd (hashing it when @h), at most @max
 * bytes. */
static gboolean
copy_data (struct archive *a, const char *raw, int fd, SkHasher *h, guint64 max, guint8 *buf, GError **error)
{
  guint64 total = 0;
  for (;;)
    {
      la_ssize_t n = archive_read_data (a, buf, CHUNK);
      if (n < 0)
        return sk_error_from_archive (error, a, "reading the archive");
      if (n == 0)
        return TRUE;
      total += n;
      if (total > max)
        return refuse (error, raw, "is too large");
      if (h)
        sk_hasher_update (h, buf, n);
      if (!sk_write_all (fd, buf, n))
        return sk_error_from_errno (error, errno, "extracting '%s'", raw);
    }
}

static gboolean
extract_file (struct archive *a, int dfd, const char *raw, const char *path, guint64 max, const char *digest,
              guint8 *buf, GError **error)
{
  sk_autofd int fd = openat (dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "extracting '%s'", raw);
  g_autoptr (SkHasher) h = NULL;
  SkDigestAlgorithm alg;
  if (digest && sk_digest_validate (digest, &alg, NULL))
    h = sk_hasher_new (alg);
  if (!copy_data (a, raw, fd, h, max, buf, error))
    return FALSE;
  if (h)
    {
      g_autofree char *got = sk_hasher_finish (h);
      if (!g_str_equal (got, digest))
        return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH, "blob '%s' does not match its name (got '%s')",
                            digest, got), FALSE;
    }
  return TRUE;
}

static gboolean
extract_blob (struct archive *a, int dfd, const char *raw, const char *name, const char *digest, guint8 *buf,
              GError **error)
{
  SkDigestAlgorithm alg;
  g_autoptr (GError) local = NULL;
  if (!sk_digest_validate (digest, &alg, &local))
    return refuse (error, raw, "is not named by a valid digest");
  g_autofree char *algdir = g_strdup_printf ("blobs/%s", sk_digest_algorithm_name (alg));
  if (mkdirat (dfd, algdir, 0700) < 0 && errno != EEXIST)
    return sk_error_from_errno (error, errno, "creating '%s'", algdir);
  return extract_file (a, dfd, raw, name, G_MAXUINT64, digest, buf, error);
}

/* One entry: refused, skipped or extracted. */
static gboolean
extract_entry (struct archive *a, struct archive_entry *e, int dfd, GHashTable *seen, guint8 *buf, GError **error)
{
  const char *raw = archive_entry_pathname (e);
  g_autofree char *name = sk_tar_clean_name (raw, error);
  if (name == NULL || !sk_tar_check_type (e, raw, error))
    return FALSE;
  if (!g_hash_table_add (seen, g_strdup (name)))
    return refuse (error, raw, "appears twice");
  if (archive_entry_filetype (e) == AE_IFDIR)
    return TRUE;
  if (g_str_equal (name, "oci-layout"))
    return extract_file (a, dfd, raw, name, LAYOUT_HEADER_MAX, NULL, buf, error);
  if (g_str_equal (name, "index.json"))
    return extract_file (a, dfd, raw, name, SK_MANIFEST_MAX_SIZE, NULL, buf, error);
  g_autofree char *digest = blob_digest (name);
  if (digest)
    return extract_blob (a, dfd, raw, name, digest, buf, error);
  sk_debug ("skipping archive entry '%s'", name);
  return archive_read_data_skip (a) == ARCHIVE_OK || sk_error_from_archive (error, a, "reading the archive");
}

gboolean
sk_layout_tar_extract (int fd, const char *dir, GError **error)
{
  sk_autofd int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", dir);
  if (mkdirat (dfd, "blobs", 0700) < 0)
    return sk_error_from_errno (error, errno, "creating '%s/blobs'", dir);
  g_autoptr (SkArchive) a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  if (archive_read_open_fd (a, fd, CHUNK) != ARCHIVE_OK)
    return sk_error_from_archive (error, a, "reading the archive");
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree guint8 *buf = g_malloc (CHUNK);
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      if (g_hash_table_size (seen) >= MAX_ENTRIES)
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "the archive has more than %d entries",
                            MAX_ENTRIES), FALSE;
      if (!extract_entry (a, e, dfd, seen, buf, error))
        return FALSE;
    }
  if (r != ARCHIVE_EOF)
    return sk_error_from_archive (error, a, "reading the archive");
  if (!g_hash_table_contains (seen, "oci-layout") || !g_hash_table_contains (seen, "index.json"))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                        "the archive is not an OCI image layout (no oci-layout or index.json)"), FALSE;
  return TRUE;
}

/* ---------------------------------------------------------------- writing */

struct _SkLayoutTar {
  struct archive *a;
  gint64 mtime;
};

SkLayoutTar *
sk_layout_tar_new (int fd, GError **error)
{
  g_autoptr (SkArchive) a = archive_write_new ();
  if (archive_write_set_format_pax_restricted (a) != ARCHIVE_OK || archive_write_add_filter_none (a) != ARCHIVE_OK
      || archive_write_set_bytes_in_last_block (a, 1) != ARCHIVE_OK || archive_write_open_fd (a, fd) != ARCHIVE_OK)
    return sk_error_from_archive (error, a, "writing the archive"), NULL;
  SkLayoutTar *t = g_new0 (SkLayoutTar, 1);
  t->a = g_steal_pointer (&a);
  t->mtime = g_get_real_time () / G_USEC_PER_SEC;
  return t;
}

void
sk_layout_tar_free (SkLayoutTar *t)
{
  if (t == NULL)
    return;
  archive_write_free (t->a);
  g_free (t);
}

static gboolean
write_header_owned (SkLayoutTar *t, const char *name, gboolean dir, gint64 size, const SkTarOwner *owner,
                    GError **error)
{
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm (e, owner ? owner->mode : dir ? 0755 : 0644);
  archive_entry_set_uid (e, owner ? owner->uid : 0);
  archive_entry_set_gid (e, owner ? owner->gid : 0);
  archive_entry_set_size (e, dir ? 0 : size);
  archive_entry_set_mtime (e, t->mtime, 0);
  int r = archive_write_header (t->a, e);
  archive_entry_free (e);
  if (r != ARCHIVE_OK)
    return sk_error_from_archive (error, t->a, name);
  return TRUE;
}

static gboolean
write_header (SkLayoutTar *t, const char *name, gboolean dir, gint64 size, GError **error)
{
  return write_header_owned (t, name, dir, size, NULL, error);
}

gboolean
sk_layout_tar_add_dir (SkLayoutTar *t, const char *name, const SkTarOwner *owner, GError **error)
{
  return write_header_owned (t, name, TRUE, 0, owner, error);
}

static gboolean
write_data (SkLayoutTar *t, const char *name, const void *data, gsize len, GError **error)
{
  la_ssize_t n = archive_write_data (t->a, data, len);
  if (n < 0 || (gsize) n != len)
    return sk_error_from_archive (error, t->a, name);
  return TRUE;
}

gboolean
sk_layout_tar_add_bytes (SkLayoutTar *t, const char *name, GBytes *bytes, GError **error)
{
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);
  return write_header (t, name, FALSE, len, error) && write_data (t, name, data, len, error);
}

gboolean
sk_layout_tar_begin (SkLayoutTar *t, GError **error)
{
  static const char header[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  g_autoptr (GBytes) b = g_bytes_new_static (header, sizeof header - 1);
  return sk_layout_tar_add_bytes (t, "oci-layout", b, error) && write_header (t, "blobs/", TRUE, 0, error)
         && write_header (t, "blobs/sha256/", TRUE, 0, error);
}

gboolean
sk_layout_tar_add_file (SkLayoutTar *t, const char *name, const char *path, GError **error)
{
  return sk_layout_tar_add_file_owned (t, name, path, NULL, error);
}

gboolean
sk_layout_tar_add_file_owned (SkLayoutTar *t, const char *name, const char *path, const SkTarOwner *owner,
                              GError **error)
{
  sk_autofd int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", path);
  return sk_layout_tar_add_fd (t, name, fd, path, owner, error);
}

gboolean
sk_layout_tar_add_fd (SkLayoutTar *t, const char *name, int fd, const char *path, const SkTarOwner *owner,
                      GError **error)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sk_error_from_errno (error, errno, "reading '%s'", path);
  (void) posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  if (!write_header_owned (t, name, FALSE, st.st_size, owner, error))
    return FALSE;
  g_autofree guint8 *buf = g_malloc (CHUNK);
  gint64 left = st.st_size;
  while (left > 0)
    {
      ssize_t n = read (fd, buf, MIN (left, CHUNK));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sk_error_from_errno (error, errno, "reading '%s'", path);
      if (n == 0)
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "'%s' shrank while it was archived", path), FALSE;
      if (!write_data (t, name, buf, n, error))
        return FALSE;
      left -= n;
    }
  return TRUE;
}

gboolean
sk_layout_tar_finish (SkLayoutTar *t, GError **error)
{
  if (archive_write_close (t->a) != ARCHIVE_OK)
    return sk_error_from_archive (error, t->a, "finishing the archive");
  return TRUE;
}
