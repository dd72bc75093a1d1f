/* skiff — KubeVirt containerDisk interop.  See containerdisk.h. */
#include "registry/containerdisk.h"
#include "registry/client.h"
#include "registry/push.h"
#include "store/build.h"
#include "store/layer.h"
#include "oci/config.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "oci/digest.h"
#include "oci/layout-tar.h"
#include "oci/manifest.h"

#include <archive_entry.h>
#include <jansson.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define CHUNK (1 << 20)
#define MEDIA_TYPE_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

gboolean
sk_containerdisk_is_disk_name (const char *name)
{
  if (!g_str_has_prefix (name, "disk/"))
    return FALSE;
  const char *base = name + 5;
  if (*base == '\0' || *base == '.' || strchr (base, '/'))
    return FALSE;
  return g_str_has_suffix (base, ".qcow2") || g_str_has_suffix (base, ".img");
}

static gboolean
is_tar_layer (const char *media_type)
{
  return g_str_equal (media_type, SK_MEDIA_TYPE_OCI_LAYER_TAR) || g_str_equal (media_type, SK_MEDIA_TYPE_OCI_LAYER_GZIP)
         || g_str_equal (media_type, SK_MEDIA_TYPE_OCI_LAYER_ZSTD) || g_str_equal (media_type, MEDIA_TYPE_DOCKER_LAYER);
}

/* The container image manifest @ref names (through an index: the host's
 * linux platform). */
static SkManifest *
fetch_manifest (SkRegistryClient *client, const SkReference *ref, GError **error)
{
  const char *what = ref->digest ? ref->digest : ref->tag;
  g_autoptr (GBytes) raw = NULL;
  g_autofree char *type = NULL, *digest = NULL;
  if (!sk_registry_get_manifest (client, ref->path, what, &raw, &type, &digest, error))
    return NULL;
  SkManifestKind kind = type ? sk_manifest_kind_from_media_type (type)
                             : sk_manifest_guess_kind (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  if (kind == SK_MANIFEST_KIND_OCI_INDEX || kind == SK_MANIFEST_KIND_DOCKER_MANIFEST_LIST)
    {
      g_autoptr (SkIndex) idx = sk_index_parse (raw, type, error);
      const SkDescriptor *e = idx ? sk_index_find_platform (idx, "linux", sk_oci_host_arch (), NULL) : NULL;
      if (idx && e == NULL)
        return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "image index '%s' has no image for linux/%s",
                            idx->digest, sk_oci_host_arch ()), NULL;
      g_clear_pointer (&raw, g_bytes_unref);
      g_clear_pointer (&type, g_free);
      if (e == NULL || !sk_registry_get_manifest (client, ref->path, e->digest, &raw, &type, &digest, error))
        return NULL;
    }
  g_autoptr (SkManifest) m = sk_manifest_parse (raw, type, error);
  if (m == NULL)
    return NULL;
  if (g_strcmp0 (m->artifact_type, SK_ARTIFACT_TYPE_VM) == 0 || g_str_equal (m->config->media_type, SK_MEDIA_TYPE_VM_CONFIG))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "'%s' is a skiff image, not a containerDisk: "
                        "use 'skiff pull'", what), NULL;
  if (!g_str_equal (m->config->media_type, SK_MEDIA_TYPE_OCI_CONFIG)
      && !g_str_equal (m->config->media_type, SK_MEDIA_TYPE_DOCKER_CONFIG))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "'%s' is not a container image (config type '%s')",
                        what, m->config->media_type), NULL;
  return g_steal_pointer (&m);
}

/* Streams the current entry's data into a new file @path. */
static gboolean
extract_to (struct archive *a, const char *path, GError **error)
{
  sk_autofd int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "creating '%s'", path);
  g_autofree guint8 *buf = g_malloc (CHUNK);
  for (;;)
    {
      la_ssize_t n = archive_read_data (a, buf, CHUNK);
      if (n < 0)
        return sk_error_from_archive (error, a, "reading the layer");
      if (n == 0)
        return TRUE;
      if (!sk_write_all (fd, buf, n))
        return sk_error_from_errno (error, errno, "writing '%s'", path);
    }
}

/* Looks for the disk in the layer tar @layer_fd; extracts it into @dir.
 * Returns its path, or NULL with no error when the layer has none. */
static char *
find_disk (int layer_fd, const char *dir, GError **error)
{
  g_autoptr (SkArchive) a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  if (archive_read_open_fd (a, layer_fd, CHUNK) != ARCHIVE_OK)
    return sk_error_from_archive (error, a, "reading the layer"), NULL;
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      const char *raw = archive_entry_pathname (e);
      g_autofree char *name = sk_tar_clean_name (raw, error);
      if (name == NULL)
        return NULL;
      if (!sk_containerdisk_is_disk_name (name))
        continue;
      if (!sk_tar_check_type (e, raw, error))
        return NULL;
      if (archive_entry_filetype (e) != AE_IFREG)
        continue;
      g_autofree char *path = g_build_filename (dir, g_str_has_suffix (name, ".img") ? "disk.img" : "disk.qcow2", NULL);
      if (!extract_to (a, path, error))
        return NULL;
      return g_steal_pointer (&path);
    }
  if (r != ARCHIVE_EOF)
    return sk_error_from_archive (error, a, "reading the layer"), NULL;
  return NULL;
}

/* Downloads each layer, top-most first, until one holds the disk. */
static char *
fetch_disk (SkRegistryClient *client, const SkReference *ref, const SkManifest *m, const char *dir, GError **error)
{
  for (guint i = m->layers->len; i-- > 0;)
    {
      const SkDescriptor *d = m->layers->pdata[i];
      if (!is_tar_layer (d->media_type))
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "layer '%s' is not a tar layer ('%s')", d->digest,
                            d->media_type), NULL;
      g_autofree char *blob = g_build_filename (dir, "layer", NULL);
      (void) unlink (blob);
      sk_autofd int fd = open (blob, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        return sk_error_from_errno (error, errno, "creating '%s'", blob), NULL;
      if (!sk_registry_get_blob (client, ref->path, d->digest, d->size, fd, 0, NULL, NULL, error)
          || lseek (fd, 0, SEEK_SET) < 0)
        return g_prefix_error (error, "layer '%s': ", d->digest), NULL;
      g_autoptr (GError) local = NULL;
      char *disk = find_disk (fd, dir, &local);
      (void) unlink (blob);
      if (local)
        return g_propagate_prefixed_error (error, g_steal_pointer (&local), "layer '%s': ", d->digest), NULL;
      if (disk)
        return disk;
    }
  return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                      "no layer holds a disk (/disk/*.qcow2 or /disk/*.img): not a containerDisk"), NULL;
}

static void
remove_dir (const char *dir)
{
  const char *files[] = { "layer", "disk.qcow2", "disk.img" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *p = g_build_filename (dir, files[i], NULL);
      (void) unlink (p);
    }
  (void) rmdir (dir);
}

gboolean
sk_containerdisk_import (SkStore *store, const SkReference *ref, const SkPullOptions *opts,
                         const SkImportOptions *iopts, const char *tag, char **out_digest, GError **error)
{
  if (ref->kind != SK_REFERENCE_REGISTRY || ref->domain == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE, "not a registry reference"), FALSE;
  SkRegistryOptions ropts = { .tls_verify = opts->tls_verify, .cert_dir = opts->cert_dir, .authfile = opts->authfile };
  g_autoptr (SkRegistryClient) client = sk_registry_client_new (ref->domain, &ropts, error);
  g_autoptr (SkManifest) m = client ? fetch_manifest (client, ref, error) : NULL;
  if (m == NULL)
    return FALSE;
  g_autofree char *dir = g_build_filename (sk_store_tmp_dir (store), "containerdisk-XXXXXX", NULL);
  if (g_mkdtemp (dir) == NULL)
    return sk_error_from_errno (error, errno, "creating '%s'", dir);
  g_autofree char *disk = fetch_disk (client, ref, m, dir, error);
  char *digest = disk ? sk_store_import_disk (store, disk, iopts, tag, error) : NULL;
  remove_dir (dir);
  if (digest == NULL)
    return FALSE;
  *out_digest = digest;
  return TRUE;
}

/* ---------------------------------------------------------------- export */

#define KUBEVIRT_QEMU_UID 107

typedef struct {
  char *dir;
  GHashTable *files; /* digest -> path */
} Export;

static void
export_clear (Export *x)
{
  const char *names[] = { "disk.qcow2", "layer.tar", "config.json" };
  for (guint i = 0; x->dir && i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *p = g_build_filename (x->dir, names[i], NULL);
      (void) unlink (p);
    }
  if (x->dir)
    (void) rmdir (x->dir);
  g_clear_pointer (&x->dir, g_free);
  g_clear_pointer (&x->files, g_hash_table_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Export, export_clear)

/* disk/ and disk/disk.qcow2, owned by KubeVirt's qemu user (107). */
static SkDescriptor *
write_layer (Export *x, const char *disk, GError **error)
{
  g_autofree char *path = g_build_filename (x->dir, "layer.tar", NULL);
  sk_autofd int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "creating '%s'", path), NULL;
  SkTarOwner dir = { KUBEVIRT_QEMU_UID, KUBEVIRT_QEMU_UID, 0555 };
  SkTarOwner file = { KUBEVIRT_QEMU_UID, KUBEVIRT_QEMU_UID, 0444 };
  g_autoptr (SkLayoutTar) t = sk_layout_tar_new (fd, error);
  if (t == NULL || !sk_layout_tar_add_dir (t, "disk/", &dir, error)
      || !sk_layout_tar_add_file_owned (t, "disk/disk.qcow2", disk, &file, error) || !sk_layout_tar_finish (t, error))
    return NULL;
  guint64 size = 0;
  g_autofree char *digest = sk_digest_file (SK_DIGEST_SHA256, path, &size, error);
  if (digest == NULL)
    return NULL;
  g_hash_table_insert (x->files, g_strdup (digest), g_steal_pointer (&path));
  return sk_descriptor_new (SK_MEDIA_TYPE_OCI_LAYER_TAR, digest, size);
}

/* An OCI image config for the one layer @layer. */
static SkDescriptor *
write_config (Export *x, const SkConfig *vm, const SkDescriptor *layer, GError **error)
{
  g_autofree char *now = sk_store_now_rfc3339 ();
  g_autoptr (json_t) c = json_pack ("{s:s, s:s, s:s, s:{}, s:{s:s, s:[s]}, s:[{s:s, s:s, s:s}]}", "created", now,
                                    "architecture", vm->architecture, "os", vm->os ? vm->os : "linux", "config",
                                    "rootfs", "type", "layers", "diff_ids", layer->digest, "history", "created", now,
                                    "created_by", "skiff export --format containerdisk", "comment",
                                    "KubeVirt containerDisk: /disk/disk.qcow2");
  g_autofree char *text = c ? json_dumps (c, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  if (text == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "building the image config"), NULL;
  g_autoptr (GBytes) bytes = g_bytes_new (text, strlen (text));
  if (!sk_config_validate_oci_image (bytes, error))
    return NULL;
  g_autofree char *path = g_build_filename (x->dir, "config.json", NULL);
  if (!g_file_set_contents (path, text, -1, error))
    return NULL;
  g_autofree char *digest = sk_digest_bytes (SK_DIGEST_SHA256, text, strlen (text));
  g_hash_table_insert (x->files, g_strdup (digest), g_steal_pointer (&path));
  return sk_descriptor_new (SK_MEDIA_TYPE_OCI_CONFIG, digest, strlen (text));
}

static json_t *
descriptor_json (const SkDescriptor *d)
{
  return json_pack ("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest", d->digest, "size", (json_int_t) d->size);
}

static GBytes *
build_manifest (const SkDescriptor *config, const SkDescriptor *layer)
{
  g_autoptr (json_t) m = json_pack ("{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2, "mediaType",
                                    SK_MEDIA_TYPE_OCI_MANIFEST, "config", descriptor_json (config), "layers",
                                    descriptor_json (layer));
  char *text = json_dumps (m, JSON_COMPACT | JSON_PRESERVE_ORDER);
  return g_bytes_new_take (text, strlen (text));
}

gboolean
sk_containerdisk_export (SkStore *store, SkStoreImage *img, const SkReference *dest, const SkPushOptions *opts,
                         char **out_digest, GError **error)
{
  if (dest->kind != SK_REFERENCE_REGISTRY || dest->domain == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE, "not a registry reference"), FALSE;
  if (img->config == NULL && !sk_store_image_load (store, img, error))
    return FALSE;
  g_autoptr (SkConfig) vm = sk_config_parse (img->config, error);
  if (vm == NULL)
    return FALSE;
  if (vm->boot == SK_BOOT_KERNEL)
    sk_warn ("image '%s' boots a kernel that is not on its disk: KubeVirt boots the disk itself", img->digest);
  g_auto (Export) x = { g_build_filename (sk_store_tmp_dir (store), "containerdisk-XXXXXX", NULL),
                        g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free) };
  if (g_mkdtemp (x.dir) == NULL)
    return sk_error_from_errno (error, errno, "creating '%s'", x.dir);
  g_autofree char *disk = g_build_filename (x.dir, "disk.qcow2", NULL);
  if (!sk_store_export_disk (store, img, disk, "qcow2", error))
    return FALSE;
  g_autoptr (SkDescriptor) layer = write_layer (&x, disk, error);
  g_autoptr (SkDescriptor) config = layer ? write_config (&x, vm, layer, error) : NULL;
  if (config == NULL)
    return FALSE;
  g_autoptr (GBytes) manifest = build_manifest (config, layer);
  return sk_registry_push_files (manifest, x.files, dest, opts, out_digest, NULL, error);
}
