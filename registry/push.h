/* skiff — pushing a stored image to an OCI distribution registry.
 *
 * Layers go as the image's manifest has them, or compressed as asked
 * (registry/push-layers.h); when no layer changes, the manifest is pushed
 * byte for byte and keeps its digest.  Blobs the
 * registry already has (HEAD) are not uploaded; the others are streamed
 * from the store's files: POST a session, then one PUT ?digest= with the
 * whole file, or, for a blob larger than the chunk size, PATCHes with a
 * Content-Range of chunk-size bytes each, every one to the Location the
 * previous answer gave, then an empty PUT ?digest=.  A blob the registry
 * lacks but that skiff knows in another repository of the same registry
 * (registry/blob-cache.h, or the image's own tags) is mounted from there
 * first (POST ?mount=&from= with a token for both repositories); a 202
 * answer opens the upload session used for the upload instead.  A Location on another
 * host gets no credentials (registry/client.h).  The registry's
 * Docker-Content-Digest must equal the blob's digest; a failed upload
 * session is cancelled (DELETE).  The manifest goes last, and must keep
 * its digest too. */
#pragma once

#include <gio/gio.h>

#include "oci/manifest.h"
#include "oci/reference.h"
#include "registry/compress.h"
#include "store/store.h"

G_BEGIN_DECLS

typedef enum {
  SK_PUSH_EVENT_BLOB_SKIP, /* @digest already in the registry (@total bytes) */
  SK_PUSH_EVENT_BLOB_START,
  SK_PUSH_EVENT_BLOB_DONE,
  SK_PUSH_EVENT_BLOB_MOUNTED, /* @digest linked from repository @from */
  SK_PUSH_EVENT_MANIFEST,
} SkPushEventKind;

typedef struct {
  SkPushEventKind kind;
  const char *digest;
  guint64 total;
  const char *from;
} SkPushEvent;

typedef void (*SkPushProgress) (const SkPushEvent *event, gpointer user_data);

/* Blobs larger than this go in PATCHes of this size. */
#define SK_PUSH_DEFAULT_CHUNK_SIZE (64 * 1024 * 1024)

typedef struct {
  gboolean tls_verify;
  const char *cert_dir;
  const char *authfile;
  guint64 chunk_size;      /* 0: SK_PUSH_DEFAULT_CHUNK_SIZE */
  gboolean compression_set; /* FALSE: see SkPushCompression */
  SkCompression compression; /* when compression_set */
  SkPushProgress progress; /* may be NULL */
  gpointer progress_data;
} SkPushOptions;

typedef struct {
  guint uploaded;       /* blobs uploaded */
  guint skipped;        /* blobs already there */
  guint mounted;        /* blobs mounted from another repository */
  guint64 uploaded_bytes;
  guint64 skipped_bytes;
  guint64 mounted_bytes;
  guint64 resumed_bytes; /* of uploaded_bytes, sent by an earlier, interrupted run (S3 multipart) */
  guint64 manifest_size; /* bytes of the (last) manifest pushed */
} SkPushStats;

/* Pushes @img (looked up, manifest and config loaded) to @dest (a registry
 * reference with a tag).  @out_digest gets the manifest digest, @stats
 * (may be NULL) the counts. */
gboolean sk_registry_push (SkStore *store, SkStoreImage *img, const SkReference *dest, const SkPushOptions *opts,
                           char **out_digest, SkPushStats *stats, GError **error);

/* The blob of @blobs (an image's, from sk_store_image_blobs) whose file
 * name carries @digest's hex, or NULL (a blob not stored as is). */
const SkStoreBlob *sk_push_find_stored (GPtrArray *blobs, const char *digest);

/* Pushes every image @idx names (stored images, by digest) into @dest's
 * repository, then @idx itself as @dest's tag (its entries follow a
 * manifest whose digest changed on the way, with --compression).
 * @out_digest gets the index digest. */
gboolean sk_registry_push_index (SkStore *store, const SkIndex *idx, const SkReference *dest,
                                 const SkPushOptions *opts, char **out_digest, SkPushStats *stats, GError **error);

/* ---- pure helpers (unit-tested) ---- */

/* The absolute URL of a Location header @location (may be relative, may
 * be NULL) in the answer to @request_url; NULL with SK_ERROR_INVALID_DATA
 * when missing or not http(s). */
char *sk_push_location (const char *request_url, const char *location, GError **error);

/* "@location?digest=D", or "&digest=D" when it has a query already. */
char *sk_push_with_digest (const char *location, const char *digest);

/* Whether a blob of @size bytes goes in chunks of @chunk_size (0: never). */
gboolean sk_push_is_chunked (guint64 size, guint64 chunk_size);

/* Bytes of the chunk starting at @offset (0 at or past the end). */
guint64 sk_push_chunk_len (guint64 size, guint64 chunk_size, guint64 offset);

/* The Content-Range value of a PATCH: "FIRST-LAST" (inclusive); @len > 0. */
char *sk_push_content_range (guint64 offset, guint64 len);

/* Checks the Range header of a PATCH answer ("0-LAST", or "bytes=0-LAST")
 * says the registry holds exactly @received bytes; a missing header
 * (NULL) passes.  SK_ERROR_INVALID_DATA otherwise. */
gboolean sk_push_check_range (const char *value, guint64 received, GError **error);

/* Pushes the manifest @manifest whose blobs (config included) are the
 * files @files maps their digests to, as sk_registry_push does (for
 * images built outside the store: a containerDisk). */
gboolean sk_registry_push_files (GBytes *manifest, GHashTable *files, const SkReference *dest, const SkPushOptions *opts,
                                 char **out_digest, SkPushStats *stats, GError **error);

G_END_DECLS
