/* skiff — images in an S3 bucket.
 *
 * s3://BUCKET/PREFIX/NAME:TAG keeps one OCI image layout per repository
 * under the key prefix "PREFIX/NAME/":
 *
 *   PREFIX/NAME/oci-layout            {"imageLayoutVersion":"1.0.0"}
 *   PREFIX/NAME/blobs/sha256/<hex>    layers, config and manifest
 *   PREFIX/NAME/index.json            every tag (org.opencontainers.image.ref.name)
 *   PREFIX/NAME/tags/<tag>            the tag's manifest descriptor (JSON)
 *
 * so `aws s3 sync s3://BUCKET/PREFIX/NAME DIR` gives a directory that
 * skopeo reads as oci:DIR:TAG.  The tag object is written last and is what
 * skiff reads: a push is visible only once complete.  index.json is
 * rewritten by each push (read, update, write), and checked against a
 * listing of tags/ after the tag is written, so concurrent pushes of
 * different tags all end up in it.
 *
 * A push sends layers as registry/push-layers.h says (--compression), and
 * uploads only the blobs the bucket lacks (HEAD), large ones as
 * resumable multipart uploads (registry/s3.h).  A pull goes through
 * registry/pull.h's checks: every blob is verified against its digest
 * before it reaches the store. */
#pragma once

#include <gio/gio.h>

#include "oci/reference.h"
#include "registry/pull.h"
#include "registry/push.h"
#include "store/store.h"

G_BEGIN_DECLS

/* Pulls @ref (an s3 reference) into @store; like sk_registry_pull. */
gboolean sk_s3_pull (SkStore *store, const SkReference *ref, const SkPullOptions *opts, char **out_digest,
                     GError **error);

/* Pushes @img to @dest (an s3 reference with a tag); like sk_registry_push.
 * @stats->resumed_bytes counts multipart bytes an earlier run uploaded. */
gboolean sk_s3_push (SkStore *store, SkStoreImage *img, const SkReference *dest, const SkPushOptions *opts,
                     char **out_digest, SkPushStats *stats, GError **error);

/* The key of @name ("index.json", "blobs/sha256/<hex>", "tags/<tag>") in
 * the layout of repository @path ("prefix/name"). */
char *sk_s3_layout_key (const char *path, const char *name);

/* "blobs/<alg>/<hex>" for a valid digest, else NULL. */
char *sk_s3_blob_name (const char *digest);

G_END_DECLS
