/* skiff — pushing a stored image to an OCI distribution registry.
 *
 * Layers go exactly as stored (uncompressed qcow2, digest = diff-id), so
 * the manifest is pushed byte for byte and keeps its digest.  Blobs the
 * registry already has (HEAD) are not uploaded; the others are streamed
 * from the store's files (POST a session, then one PUT ?digest= with the
 * whole file).  The manifest goes last, and the registry's
 * Docker-Content-Digest must equal the local digest. */
#pragma once

#include <gio/gio.h>

#include "oci/reference.h"
#include "store/store.h"

G_BEGIN_DECLS

typedef enum {
  SK_PUSH_EVENT_BLOB_SKIP, /* @digest already in the registry (@total bytes) */
  SK_PUSH_EVENT_BLOB_START,
  SK_PUSH_EVENT_BLOB_DONE,
  SK_PUSH_EVENT_MANIFEST,
} SkPushEventKind;

typedef struct {
  SkPushEventKind kind;
  const char *digest;
  guint64 total;
} SkPushEvent;

typedef void (*SkPushProgress) (const SkPushEvent *event, gpointer user_data);

typedef struct {
  gboolean tls_verify;
  const char *cert_dir;
  const char *authfile;
  SkPushProgress progress; /* may be NULL */
  gpointer progress_data;
} SkPushOptions;

typedef struct {
  guint uploaded;       /* blobs uploaded */
  guint skipped;        /* blobs already there */
  guint64 uploaded_bytes;
  guint64 skipped_bytes;
  guint64 resumed_bytes; /* of uploaded_bytes, sent by an earlier, interrupted run (S3 multipart) */
} SkPushStats;

/* Pushes @img (looked up, manifest and config loaded) to @dest (a registry
 * reference with a tag).  @out_digest gets the manifest digest, @stats
 * (may be NULL) the counts. */
gboolean sk_registry_push (SkStore *store, SkStoreImage *img, const SkReference *dest, const SkPushOptions *opts,
                           char **out_digest, SkPushStats *stats, GError **error);

/* The blob of @blobs (an image's, from sk_store_image_blobs) whose file
 * name carries @digest's hex, or NULL (a blob not stored as is). */
const SkStoreBlob *sk_push_find_stored (GPtrArray *blobs, const char *digest);

G_END_DECLS
