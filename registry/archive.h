/* skiff — images to and from OCI image layout archives (skiff save/load,
 * skopeo's oci-archive:).
 *
 * save writes each image's manifest, config and blobs exactly as stored,
 * so digests are unchanged (a layer pulled compressed, whose blob the
 * store does not keep, is compressed again: registry/push-layers.h);
 * index.json names each image by its full
 * reference (org.opencontainers.image.ref.name and
 * io.containerd.image.name).  load extracts the archive strictly
 * (oci/layout-tar.h) into a scratch directory under the store's tmp/ and
 * reads each image of its index.json through the same checks as a pull
 * (registry/pull.h): nothing reaches the store unverified, and the scratch
 * directory is removed whatever happens. */
#pragma once

#include "store/store.h"

G_BEGIN_DECLS

/* Streams an archive of @images (SkStoreImage, loaded) to @fd.  @names
 * holds the reference string to record for each (NULL: none). */
gboolean sk_archive_save (SkStore *store, GPtrArray *images, const char *const *names, int fd, GError **error);

/* Loads every image of the archive read from @fd (any compression) into
 * @store.  An image without a usable name is tagged
 * "localhost/loaded:<12 hex of its digest>".  @out_loaded gets
 * "REFERENCE DIGEST" lines.  Stops at the first image that fails. */
gboolean sk_archive_load (SkStore *store, int fd, GPtrArray **out_loaded, GError **error);

G_END_DECLS
