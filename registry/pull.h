/* skiff — pulling an image from an OCI distribution registry into the store.
 *
 * The manifest (through an index, the entry for the wanted platform) must
 * be a skiff VM image.  Each layer the store lacks is downloaded into the
 * store's tmp directory (blob-<hex>.partial, resumed by the next pull when
 * a download breaks), checked against its digest, decompressed (+zstd,
 * +gzip) and checked against its diff-id, validated as a qcow2 whose
 * backing file is exactly its parent's layer name, stored, and the stored
 * copy validated again.  The config must list the manifest's diff-ids.
 * Only then is the image committed and tagged: on any failure no image or
 * tag appears (blobs already stored without an image go at the next prune). */
#pragma once

#include <gio/gio.h>

#include "oci/reference.h"
#include "registry/client.h"
#include "registry/http.h"
#include "store/store.h"

G_BEGIN_DECLS

typedef enum {
  SK_PULL_EVENT_MANIFEST,    /* resolved: @digest is the image's manifest */
  SK_PULL_EVENT_BLOB_SKIP,   /* @digest already stored */
  SK_PULL_EVENT_BLOB_START,  /* downloading @digest (@total bytes, @done resumed) */
  SK_PULL_EVENT_BLOB_BYTES,  /* @done of @total */
  SK_PULL_EVENT_BLOB_DONE,   /* downloaded and verified */
  SK_PULL_EVENT_CONFIG,      /* fetching the config */
  SK_PULL_EVENT_STORING,     /* writing the image into the store */
} SkPullEventKind;

typedef struct {
  SkPullEventKind kind;
  const char *digest;
  const char *media_type;
  guint64 done;
  guint64 total;
} SkPullEvent;

typedef void (*SkPullProgress) (const SkPullEvent *event, gpointer user_data);

typedef struct {
  gboolean tls_verify;      /* FALSE: --tls-verify=false */
  const char *cert_dir;     /* NULL: podman's default per-host directory */
  const char *authfile;     /* NULL: the default credential lookup */
  const char *os;           /* NULL: "linux" */
  const char *architecture; /* NULL: the host's */
  const char *variant;      /* NULL: any */
  SkPullProgress progress;  /* may be NULL */
  gpointer progress_data;
} SkPullOptions;

/* Pulls @ref (a registry reference) into @store and tags it with the
 * reference's full string.  @out_digest gets the stored image's manifest
 * digest.  Errors name the registry and the object that failed. */
gboolean sk_registry_pull (SkStore *store, const SkReference *ref, const SkPullOptions *opts, char **out_digest,
                           GError **error);

/* Where a pull reads from: a registry, an S3 bucket.  Each function
 * behaves like its sk_registry_* namesake (registry/client.h): manifests
 * and blobs are checked against their digest and size before they are
 * returned; get_blob keeps the first @resume_from bytes of @fd. */
typedef struct {
  gboolean (*get_manifest) (gpointer source, const char *ref, GBytes **out_raw, char **out_media_type,
                            char **out_digest, GError **error);
  gboolean (*get_blob) (gpointer source, const char *digest, gint64 size, int fd, guint64 resume_from,
                        SkHttpProgress progress, gpointer progress_data, GError **error);
  GBytes *(*get_blob_bytes) (gpointer source, const char *digest, gint64 size, gsize max_size, GError **error);
  /* Optional: several blobs at once, like sk_registry_get_blobs (each
   * job's outcome in its error); NULL: get_blob for one after the other. */
  gboolean (*get_blobs) (gpointer source, SkRegistryBlobJob *jobs, guint n_jobs, guint parallel, GError **error);
  /* Optional: a source that holds the blob as a file on the store's
   * filesystem renames it to @dest_path (RENAME_NOREPLACE) instead of
   * having it copied: TRUE when it did, FALSE (and no error) when it
   * cannot, then get_blob copies as usual.  The pull checks the digest. */
  gboolean (*take_blob) (gpointer source, const char *digest, gint64 size, const char *dest_path, GError **error);
} SkPullSource;

/* Pulls the image @ref names (its tag or digest) from @src into @store,
 * with every check described above, and tags it with @ref's full string. */
gboolean sk_pull_image (SkStore *store, const SkPullSource *src, gpointer src_data, const SkReference *ref,
                        const SkPullOptions *opts, char **out_digest, GError **error);

/* The decompression a disk layer's media type asks for: "" (none), "gzip"
 * or "zstd"; NULL for a type that is not a disk layer. */
const char *sk_pull_layer_compression (const char *media_type);

G_END_DECLS
