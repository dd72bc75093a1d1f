/* skiff — building images in the store from parts. */
#include "store/build.h"
#include "common/error.h"
#include "oci/digest.h"
#include "oci/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/cleanup.h"

char *
sk_store_now_rfc3339 (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}

SkDescriptor *
sk_store_disk_descriptor (const char *diff_id, guint64 size)
{
  SkDescriptor *d = sk_descriptor_new (SK_MEDIA_TYPE_DISK_QCOW2, diff_id, size);
  g_autofree char *sz = g_strdup_printf ("%" G_GUINT64_FORMAT, size);
  sk_descriptor_set_annotation (d, SK_ANNOTATION_DISK_DIFF_ID, diff_id);
  sk_descriptor_set_annotation (d, SK_ANNOTATION_DISK_SIZE, sz);
  return d;
}

SkStoreBlob *
sk_store_write_file (SkStore *store, const char *path, const char *dir, const char *suffix, char **out_digest,
                     GError **error)
{
  sk_autofd int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", path), NULL;
  SkStoreBlob *b = sk_store_write_blob (store, fd, dir, suffix, NULL, out_digest, error);
  if (b == NULL)
    g_prefix_error (error, "storing '%s': ", path);
  return b;
}

char *
sk_store_build_image (SkStore *store, const SkConfig *config, GPtrArray *descs, GPtrArray *blobs, const char *tag,
                      GError **error)
{
  g_autoptr (GBytes) cbytes = sk_config_serialize (config, error);
  if (cbytes == NULL)
    return NULL;
  gsize clen;
  const void *cdata = g_bytes_get_data (cbytes, &clen);
  g_autofree char *cdigest = sk_digest_bytes (SK_DIGEST_SHA256, cdata, clen);
  g_autoptr (SkDescriptor) cdesc = sk_descriptor_new (SK_MEDIA_TYPE_VM_CONFIG, cdigest, clen);
  g_autoptr (SkManifest) m = sk_manifest_new_skiff (cdesc, descs, NULL, error);
  if (m == NULL)
    return NULL;
  g_autofree char *digest = sk_store_commit_image (store, m->raw, cbytes, blobs, tag, error);
  if (digest == NULL)
    return NULL;
  g_autoptr (SkStoreImage) img = sk_store_lookup (store, digest, error);
  if (img == NULL || !sk_store_checkout (store, img, error))
    return NULL;
  return g_steal_pointer (&digest);
}
