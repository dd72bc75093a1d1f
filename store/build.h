/* skiff — building images in the store from parts: the pieces import,
 * commit, squash and containerDisk import share. */
#pragma once

#include "oci/config.h"
#include "oci/descriptor.h"
#include "store/store.h"

G_BEGIN_DECLS

/* "2024-05-01T12:00:00Z", now, for config and history dates. */
char *sk_store_now_rfc3339 (void);

/* The manifest descriptor of an uncompressed qcow2 layer with its
 * diff-id and size annotations. */
SkDescriptor *sk_store_disk_descriptor (const char *diff_id, guint64 size);

/* Streams the file at @path into the store (sk_store_write_blob). */
SkStoreBlob *sk_store_write_file (SkStore *store, const char *path, const char *dir, const char *suffix,
                                  char **out_digest, GError **error);

/* Serialises @config, builds the skiff manifest of @descs (disks base
 * first, then boot blobs) and that config, commits it with @blobs
 * (SkStoreBlob), tags it @tag (may be NULL) and checks its layers out.
 * Returns the manifest digest. */
char *sk_store_build_image (SkStore *store, const SkConfig *config, GPtrArray *descs, GPtrArray *blobs,
                            const char *tag, GError **error);

G_END_DECLS
