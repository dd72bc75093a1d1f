/* skiff — OCI image layout directories (image-layout.md).
 *
 *   DIR/oci-layout          {"imageLayoutVersion":"1.0.0"}
 *   DIR/index.json          an image index; entries carry
 *                           org.opencontainers.image.ref.name
 *   DIR/blobs/<alg>/<hex>   content, named by digest
 *
 * Blob paths are derived only from digests that pass sk_digest_validate
 * (sha256/sha512, lowercase hex), so no digest can name a path outside
 * blobs/.  Every path component is opened with O_NOFOLLOW below the
 * layout's directory fd, and blobs must be regular files.  Writes go to a
 * temporary in the destination directory and are renamed into place.
 * index.json updates are read-modify-write: callers serialise concurrent
 * writers (the store's locks). */
#pragma once

#include <gio/gio.h>

#include "oci/descriptor.h"
#include "oci/manifest.h"

G_BEGIN_DECLS

typedef struct _SkLayout SkLayout;

/* Creates @path (and parents) as a layout, writing oci-layout, an empty
 * index.json and blobs/ when absent; an existing valid layout is opened
 * as is. */
SkLayout *sk_layout_create (const char *path, GError **error);
/* Opens an existing layout: oci-layout must be valid, index.json and
 * blobs/ must exist.  SK_ERROR_NOT_FOUND when @path or a required file is
 * missing, SK_ERROR_INVALID_IMAGE when one is wrong. */
SkLayout *sk_layout_open (const char *path, GError **error);
void sk_layout_free (SkLayout *layout);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkLayout, sk_layout_free)

const char *sk_layout_get_path (SkLayout *layout);

/* Validates an oci-layout file's content (image-layout-schema.json). */
gboolean sk_layout_header_validate (GBytes *bytes, GError **error);

/* Reads and validates index.json. */
SkIndex *sk_layout_read_index (SkLayout *layout, GError **error);

/* Points @ref_name (a valid org.opencontainers.image.ref.name) at @desc
 * in index.json, dropping any other entry of that name; other entries are
 * kept in order and the new one is appended.  Atomic (temp + rename). */
gboolean sk_layout_set_ref (SkLayout *layout, const char *ref_name, const SkDescriptor *desc,
                            GError **error);
/* A new index: @idx (NULL: an empty one) with @ref_name pointing at @desc
 * as sk_layout_set_ref does it, without writing anything (for layouts
 * kept elsewhere, like an S3 bucket). */
SkIndex *sk_layout_index_set_ref (SkIndex *idx, const char *ref_name, const SkDescriptor *desc, GError **error);
/* Removes every entry named @ref_name; SK_ERROR_NOT_FOUND if none. */
gboolean sk_layout_remove_ref (SkLayout *layout, const char *ref_name, GError **error);
/* A copy of the entry named @ref_name; SK_ERROR_NOT_FOUND if none,
 * SK_ERROR_INVALID_IMAGE if several name different content. */
SkDescriptor *sk_layout_resolve_ref (SkLayout *layout, const char *ref_name, GError **error);

/* org.opencontainers.image.ref.name grammar (annotations.md). */
gboolean sk_layout_ref_name_validate (const char *ref_name, GError **error);

/* "blobs/<alg>/<hex>" relative to the layout, for a valid digest. */
char *sk_layout_blob_relpath (const char *digest, GError **error);
/* Absolute path of a blob (which need not exist). */
char *sk_layout_blob_path (SkLayout *layout, const char *digest, GError **error);
/* TRUE when the blob exists as a regular file (not verified). */
gboolean sk_layout_has_blob (SkLayout *layout, const char *digest);

/* Streams @fd / @stream to EOF into a blob, hashing as it goes (sha256,
 * or the algorithm of @expected_digest).  With @expected_digest and/or
 * @expected_size >= 0 the content must match (SK_ERROR_DIGEST_MISMATCH;
 * nothing is stored).  @out_digest and @out_size may be NULL. */
gboolean sk_layout_write_blob_from_fd (SkLayout *layout, int fd, const char *expected_digest,
                                       gint64 expected_size, char **out_digest, guint64 *out_size,
                                       GError **error);
gboolean sk_layout_write_blob_from_stream (SkLayout *layout, GInputStream *stream,
                                           const char *expected_digest, gint64 expected_size,
                                           char **out_digest, guint64 *out_size,
                                           GCancellable *cancellable, GError **error);
/* Small blobs (manifests, configs) from memory. */
gboolean sk_layout_write_blob_bytes (SkLayout *layout, GBytes *bytes, char **out_digest, GError **error);

/* Hashes the blob @desc names and checks its size and digest:
 * SK_ERROR_NOT_FOUND when absent, SK_ERROR_DIGEST_MISMATCH otherwise. */
gboolean sk_layout_verify_blob (SkLayout *layout, const SkDescriptor *desc, GError **error);

/* Opens the blob @desc names for streaming.  Its size is checked at once;
 * its digest as it is read: the read that reaches EOF fails with
 * SK_ERROR_DIGEST_MISMATCH if the content differs, so a consumer that
 * reads to the end never accepts wrong content. */
GInputStream *sk_layout_open_blob (SkLayout *layout, const SkDescriptor *desc, GError **error);

/* Reads a whole blob of at most @max_size bytes (manifests, configs),
 * verified against @desc before it is returned. */
GBytes *sk_layout_read_blob (SkLayout *layout, const SkDescriptor *desc, gsize max_size,
                             GError **error);

G_END_DECLS
