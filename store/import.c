/* skiff — skiff import: a disk file becomes a one-layer image. */
#include "store/import.h"
#include "store/build.h"
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

static SkConfig *
build_config (const SkImportOptions *opts, const char *disk, const char *diff_id, guint64 virtual_size)
{
  g_autoptr (SkConfig) c = sk_config_new ();
  g_autofree char *created = sk_store_now_rfc3339 ();
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
  return g_steal_pointer (&c);
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
      SkStoreBlob *b = sk_store_write_file (store, files[i], "boot", NULL, &digest, error);
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
  g_autoptr (SkStoreBlob) layer = sk_store_write_file (store, layer_path, "layers", ".qcow2", &diff_id, error);
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
  g_ptr_array_add (descs, sk_store_disk_descriptor (diff_id, layer->size));
  g_ptr_array_add (blobs, g_steal_pointer (&layer));
  if (!store_boot_blobs (store, opts, descs, blobs, error))
    return NULL;

  g_autoptr (SkConfig) config = build_config (opts, disk, diff_id, virtual_size);
  return sk_store_build_image (store, config, descs, blobs, tag, error);
}
