/* skiff — skiff import: a disk file becomes a one-layer image. */
#include "store/import.h"
#include "store/store-private.h"
#include "store/diskcheck.h"
#include "store/qcow2.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "oci/config.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/reference.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static char *
now_rfc3339 (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}

static SkStoreBlob *
store_file (SkStore *store, const char *path, const char *dir, const char *suffix, char **out_digest,
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

static SkDescriptor *
disk_descriptor (const char *diff_id, guint64 size)
{
  SkDescriptor *d = sk_descriptor_new (SK_MEDIA_TYPE_DISK_QCOW2, diff_id, size);
  g_autofree char *sz = g_strdup_printf ("%" G_GUINT64_FORMAT, size);
  sk_descriptor_set_annotation (d, SK_ANNOTATION_DISK_DIFF_ID, diff_id);
  sk_descriptor_set_annotation (d, SK_ANNOTATION_DISK_SIZE, sz);
  return d;
}

static GBytes *
build_config (const SkImportOptions *opts, const char *disk, const char *diff_id, guint64 virtual_size,
              GError **error)
{
  g_autoptr (SkConfig) c = sk_config_new ();
  g_autofree char *created = now_rfc3339 ();
  g_autofree char *base = g_path_get_basename (disk);
  g_autofree char *by = g_strdup_printf ("skiff import %s", base);
  c->created = g_strdup (created);
  c->architecture = g_strdup (opts->arch ? opts->arch : sk_oci_host_arch ());
  c->os = g_strdup ("linux");
  sk_config_add_diff_id (c, diff_id);
  c->disk_size = virtual_size;
  c->boot = opts->kernel ? SK_BOOT_KERNEL : SK_BOOT_BIOS;
  c->cmdline = opts->kernel ? g_strdup (opts->cmdline ? opts->cmdline : "console=ttyS0 root=/dev/vda rw") : NULL;
  if (opts->memory_mib)
    c->memory_mib = opts->memory_mib;
  if (opts->cpus)
    c->cpus = opts->cpus;
  c->user = g_strdup (opts->user);
  sk_config_add_history (c, created, by, "imported", FALSE);
  return sk_config_serialize (c, error);
}

/* Stores the boot blobs; appends their descriptors and blobs. */
static gboolean
store_boot_blobs (SkStore *store, const SkImportOptions *opts, GPtrArray *descs, GPtrArray *blobs,
                  GError **error)
{
  const char *files[] = { opts->kernel, opts->initrd };
  const char *types[] = { SK_MEDIA_TYPE_KERNEL, SK_MEDIA_TYPE_INITRD };
  for (guint i = 0; i < 2; i++)
    {
      if (files[i] == NULL)
        continue;
      g_autofree char *digest = NULL;
      SkStoreBlob *b = store_file (store, files[i], "boot", NULL, &digest, error);
      if (b == NULL)
        return FALSE;
      g_ptr_array_add (blobs, b);
      g_ptr_array_add (descs, sk_descriptor_new (types[i], digest, b->size));
    }
  return TRUE;
}

static gboolean
check_options (const SkImportOptions *opts, GError **error)
{
  if (opts->initrd && !opts->kernel)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "--initrd needs --kernel"), FALSE;
  if (opts->cmdline && !opts->kernel)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "--cmdline needs --kernel"), FALSE;
  return TRUE;
}

char *
sk_store_import_disk (SkStore *store, const char *disk, const SkImportOptions *opts, const char *tag,
                      GError **error)
{
  if (!check_options (opts, error))
    return NULL;
  /* A qcow2 is taken as it is; anything else becomes one in the store's
   * scratch directory (removed on the way out, and by prune after a
   * crash). */
  g_autofree char *scratch = NULL;
  guint64 virtual_size = 0;
  g_autofree char *layer_path = sk_diskcheck_prepare (disk, sk_store_tmp_dir (store), &scratch, &virtual_size,
                                                      error);
  if (layer_path == NULL)
    return NULL;
  g_autofree char *diff_id = NULL;
  g_autoptr (SkStoreBlob) layer = store_file (store, layer_path, "layers", ".qcow2", &diff_id, error);
  if (scratch)
    (void) unlink (scratch);
  if (layer == NULL)
    return NULL;
  /* The file we checked may have changed while we copied it: the copy the
   * store now owns is what counts.  (A refused object is left for prune.) */
  g_autofree char *stored = sk_store_blob_path (store, layer);
  g_auto (SkQcow2Info) info = { 0 };
  if (!sk_qcow2_verify (stored, NULL, &info, error))
    return g_prefix_error (error, "the stored copy changed: "), NULL;

  g_autoptr (GPtrArray) descs = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_descriptor_free);
  g_autoptr (GPtrArray) blobs = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_store_blob_free);
  g_ptr_array_add (descs, disk_descriptor (diff_id, layer->size));
  g_ptr_array_add (blobs, g_steal_pointer (&layer));
  if (!store_boot_blobs (store, opts, descs, blobs, error))
    return NULL;

  g_autoptr (GBytes) config = build_config (opts, disk, diff_id, virtual_size, error);
  if (config == NULL)
    return NULL;
  gsize clen;
  const void *cdata = g_bytes_get_data (config, &clen);
  g_autofree char *cdigest = sk_digest_bytes (SK_DIGEST_SHA256, cdata, clen);
  g_autoptr (SkDescriptor) cdesc = sk_descriptor_new (SK_MEDIA_TYPE_VM_CONFIG, cdigest, clen);
  g_autoptr (SkManifest) m = sk_manifest_new_skiff (cdesc, descs, NULL, error);
  if (m == NULL)
    return NULL;
  char *digest = sk_store_commit_image (store, m->raw, config, blobs, tag, error);
  if (digest == NULL)
    return NULL;
  g_autoptr (SkStoreImage) img = sk_store_lookup (store, digest, NULL);
  if (img && !sk_store_checkout (store, img, error))
    {
      g_free (digest);
      return NULL;
    }
  return digest;
}
