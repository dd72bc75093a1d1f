/* skiff — OCI image layouts as tar streams (docker/podman save, skopeo's
 * oci-archive:).
 *
 * Reading is strict, because an archive comes from anywhere: only
 * "oci-layout", "index.json" and "blobs/<alg>/<hex>" (optionally behind
 * "./") are extracted, and only as regular files; an absolute name, a
 * ".." component, a symlink, a hard link, a device node, a FIFO or a name
 * seen twice is refused.  Entry names never become paths: the extractor
 * creates the layout's files itself under the destination.  Each blob is
 * hashed while it streams to disk and must match its name.  Other regular
 * files with safe names (docker's manifest.json) are skipped unread. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

struct archive_entry;

/* A tar entry name without leading "./" and trailing "/" ("" for the
 * root), or NULL with SK_ERROR_INVALID_IMAGE when it is absolute or has an
 * empty, "." or ".." component. */
char *sk_tar_clean_name (const char *raw, GError **error);
/* TRUE for a regular file or directory; a hard link, symlink, device node
 * or other special file is SK_ERROR_INVALID_IMAGE naming @raw. */
gboolean sk_tar_check_type (struct archive_entry *e, const char *raw, GError **error);

/* Extracts the tar (any compression libarchive reads: none, gzip, zstd,
 * xz) read from @fd into the empty directory @dir as an OCI image layout.
 * SK_ERROR_INVALID_IMAGE naming the entry and the rule it broke;
 * SK_ERROR_DIGEST_MISMATCH for a blob that does not match its name.  On
 * failure @dir may hold a partial layout: the caller removes it. */
gboolean sk_layout_tar_extract (int fd, const char *dir, GError **error);

typedef struct _SkLayoutTar SkLayoutTar;

/* A tar writer (pax, uncompressed) streaming to @fd: layout archives,
 * and any other tar skiff writes (a containerDisk layer). */
SkLayoutTar *sk_layout_tar_new (int fd, GError **error);
/* Adds the directories "blobs/" and "blobs/sha256/" and the oci-layout
 * file. */
gboolean sk_layout_tar_begin (SkLayoutTar *t, GError **error);
gboolean sk_layout_tar_add_bytes (SkLayoutTar *t, const char *name, GBytes *bytes, GError **error);
/* Streams @size bytes of the file at @path as entry @name. */
gboolean sk_layout_tar_add_file (SkLayoutTar *t, const char *name, const char *path, GError **error);
/* Owner and mode of an entry (the default: root, 0644 files, 0755 dirs). */
typedef struct {
  guint uid;
  guint gid;
  guint mode;
} SkTarOwner;
gboolean sk_layout_tar_add_file_owned (SkLayoutTar *t, const char *name, const char *path, const SkTarOwner *owner,
                                       GError **error);
/* Streams the whole file @fd (positioned at its start; @path names
 * it in errors) as entry @name; @owner may be NULL. */
gboolean sk_layout_tar_add_fd (SkLayoutTar *t, const char *name, int fd, const char *path, const SkTarOwner *owner,
                               GError **error);
gboolean sk_layout_tar_add_dir (SkLayoutTar *t, const char *name, const SkTarOwner *owner, GError **error);
/* Writes the end of the archive and flushes it. */
gboolean sk_layout_tar_finish (SkLayoutTar *t, GError **error);
void sk_layout_tar_free (SkLayoutTar *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkLayoutTar, sk_layout_tar_free)

G_END_DECLS
