/* skiff — commit, squash, export: qemu-img convert, then the same checks
 * as import. */
#include "store/layer.h"
#include "store/build.h"
#include "store/qcow2.h"
#include "store/store-private.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "oci/config.h"
#include "oci/digest.h"
#include "oci/manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

GStrv
sk_layer_convert_argv (const char *src, const char *backing, const char *format, const char *out)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_autofree char *qsrc = sk_qcow2_qemu_path (src);
  g_autofree char *qout = sk_qcow2_qemu_path (out);
  g_strv_builder_add_many (b, "qemu-img", "convert", "-q", "-U", "-f", "qcow2", "-O", format, NULL);
  if (backing)
    g_strv_builder_add_many (b, "-B", backing, "-F", "qcow2", NULL);
  g_strv_builder_add_many (b, qsrc, qout, NULL);
  return g_strv_builder_end (b);
}

/* ---- scratch directories under tmp/ (prune empties tmp/ after a crash) ---- */

static char *
scratch_new (SkStore *store, GError **error)
{
  char *dir = g_build_filename (sk_store_tmp_dir (store), "layer-XXXXXX", NULL);
  if (g_mkdtemp (dir) == NULL)
    {
      int errsv = errno;
      g_free (dir);
      return sk_error_from_errno (error, errsv, "creating a scratch directory in '%s'", sk_store_tmp_dir (store)),
             NULL;
    }
  return dir;
}

/* Removes the flat scratch directory @dir (files and symlinks only). */
static void
scratch_remove (char *dir)
{
  if (dir == NULL)
    return;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      (void) unlink (p);
    }
  (void) rmdir (dir);
  g_free (dir);
}
typedef char SkScratch;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkScratch, scratch_remove)

/* ---- reading the image we build on ---- */

typedef struct {
  SkConfig *config;
  SkManifest *manifest;
  char *top_name; /* "<hex>.qcow2" of the top layer */
} Parent;

static void
parent_clear (Parent *p)
{
  g_clear_pointer (&p->config, sk_config_free);
  g_clear_pointer (&p->manifest, sk_manifest_free);
  g_clear_pointer (&p->top_name, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Parent, parent_clear)

static gboolean
parent_load (SkStore *store, SkStoreImage *img, Parent *p, GError **error)
{
  if (img->config == NULL && !sk_store_image_load (store, img, error))
    return FALSE;
  p->config = sk_config_parse (img->config, error);
  p->manifest = p->config ? sk_manifest_parse (img->manifest, NULL, error) : NULL;
  if (p->manifest == NULL)
    return FALSE;
  const char *top = p->config->diff_ids->pdata[p->config->diff_ids->len - 1];
  p->top_name = g_strdup_printf ("%s.qcow2", sk_digest_hex (top));
  return sk_store_checkout (store, img, error);
}

/* ---- config changes ---- */

static gboolean
parse_uint (const char *change, const char *value, guint max, guint *out, GError **error)
{
  char *end = NULL;
  errno = 0;
  guint64 v = g_ascii_strtoull (value, &end, 10);
  if (errno || end == value || *end || v == 0 || v > max)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "--change '%s': expected a number from 1 to %u", change,
                        max), FALSE;
  *out = (guint) v;
  return TRUE;
}

static gboolean
apply_change (SkConfig *c, const char *change, GError **error)
{
  const char *eq = strchr (change, '=');
  g_autofree char *key = eq ? g_strndup (change, eq - change) : g_strdup (change);
  const char *value = eq ? eq + 1 : NULL;
  if (value && g_str_equal (key, "memory"))
    return parse_uint (change, value, SK_CONFIG_MAX_MEMORY_MIB, &c->memory_mib, error);
  if (value && g_str_equal (key, "cpus"))
    return parse_uint (change, value, SK_CONFIG_MAX_CPUS, &c->cpus, error);
  if (value && g_str_equal (key, "user"))
    {
      g_free (c->user);
      c->user = *value ? g_strdup (value) : NULL;
      return TRUE;
    }
  if (value && g_str_equal (key, "cmdline"))
    {
      if (c->boot != SK_BOOT_KERNEL)
        return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                            "--change '%s': the image does not boot a kernel directly", change), FALSE;
      g_free (c->cmdline);
      c->cmdline = g_strdup (value);
      return TRUE;
    }
  return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                      "--change '%s': expected memory=MIB, cpus=N, user=NAME or cmdline=STRING", change), FALSE;
}

static gboolean
apply_changes (SkConfig *c, const char *const *changes, GError **error)
{
  for (guint i = 0; changes && changes[i]; i++)
    if (!apply_change (c, changes[i], error))
      return FALSE;
  return sk_config_validate (c, error);
}

/* ---- the new layer ---- */

/* qemu resolves a relative backing file beside the name it opened, not
 * beside a symlink's target: every layer of the chain gets a link. */
static gboolean
link_chain (SkStore *store, const char *scratch, const SkConfig *config, GError **error)
{
  for (guint i = 0; i < config->diff_ids->len; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s.qcow2", sk_digest_hex (config->diff_ids->pdata[i]));
      g_autofree char *target = g_build_filename (sk_store_layers_dir (store), name, NULL);
      g_autofree char *link = g_build_filename (scratch, name, NULL);
      if (symlink (target, link) < 0)
        return sk_error_from_errno (error, errno, "linking '%s'", link);
    }
  return TRUE;
}

/* Converts @src into scratch/layer.qcow2 (on @backing, the top of
 * @parent's chain, when non-NULL), validates it, stores it and validates
 * the stored copy.  @out_diff_id gets its sha256. */
static SkStoreBlob *
make_layer (SkStore *store, const char *scratch, const char *src, const SkConfig *parent, const char *backing,
            SkQcow2Info *out_info, char **out_diff_id, GError **error)
{
  g_autofree char *out = g_build_filename (scratch, "layer.qcow2", NULL);
  if (backing && !link_chain (store, scratch, parent, error))
    return NULL;
  g_auto (GStrv) argv = sk_layer_convert_argv (src, backing, "qcow2", out);
  if (!sk_qcow2_run_limited ((const char *const *) argv, &sk_qcow2_convert_limits, NULL, error))
    return NULL;
  if (!sk_qcow2_verify (out, backing, NULL, error))
    return NULL;
  SkStoreBlob *blob = sk_store_write_file (store, out, "layers", ".qcow2", out_diff_id, error);
  if (blob == NULL)
    return NULL;
  g_autofree char *stored = sk_store_blob_path (store, blob);
  if (!sk_qcow2_verify (stored, backing, out_info, error))
    {
      sk_store_blob_free (blob);
      return g_prefix_error (error, "the stored copy changed: "), NULL;
    }
  return blob;
}

static void
add_history (SkConfig *c, const SkLayerOptions *opts)
{
  g_autofree char *now = sk_store_now_rfc3339 ();
  g_free (c->created);
  c->created = g_strdup (now);
  sk_config_add_history (c, now, opts->created_by, opts->comment, FALSE);
}

/* The manifest layers of @m with @disk put after its last disk layer
 * (or, with @replace_disks, instead of all of them). */
static GPtrArray *
layers_with (const SkManifest *m, SkDescriptor *disk, gboolean replace_disks)
{
  GPtrArray *descs = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_descriptor_free);
  guint after = 0;
  for (guint i = 0; i < m->layers->len; i++)
    {
      SkDescriptor *d = m->layers->pdata[i];
      gboolean is_disk = sk_media_type_is_disk (d->media_type);
      if (is_disk && replace_disks)
        continue;
      g_ptr_array_add (descs, sk_descriptor_copy (d));
      if (is_disk)
        after = descs->len;
    }
  g_ptr_array_insert (descs, after, disk);
  return descs;
}

char *
sk_store_commit_layer (SkStore *store, SkStoreImage *parent, const char *overlay, const char *layers_rel,
                       const SkLayerOptions *opts, const char *tag, GError **error)
{
  g_auto (Parent) p = { 0 };
  if (!parent_load (store, parent, &p, error))
    return NULL;
  g_autofree char *expected = g_build_filename (layers_rel, p.top_name, NULL);
  g_auto (SkQcow2Info) oinfo = { 0 };
  if (!sk_qcow2_validate_overlay (overlay, expected, &oinfo, error)
      || !sk_qcow2_check_with_qemu_img (overlay, &oinfo, error))
    return NULL;
  if (oinfo.virtual_size < p.config->disk_size)
    return sk_disk_invalid (error, overlay, "is smaller than its image's disk"), NULL;
  g_autoptr (SkScratch) scratch = scratch_new (store, error);
  if (scratch == NULL)
    return NULL;
  g_autofree char *diff_id = NULL;
  g_auto (SkQcow2Info) info = { 0 };
  g_autoptr (SkStoreBlob) blob = make_layer (store, scratch, overlay, p.config, p.top_name, &info, &diff_id, error);
  if (blob == NULL)
    return NULL;
  sk_config_add_diff_id (p.config, diff_id);
  p.config->disk_size = info.virtual_size;
  add_history (p.config, opts);
  if (!apply_changes (p.config, opts->changes, error))
    return NULL;
  g_autoptr (GPtrArray) descs = layers_with (p.manifest, sk_store_disk_descriptor (diff_id, blob->size), FALSE);
  g_autoptr (GPtrArray) blobs = sk_store_image_blobs (store, parent, error);
  if (blobs == NULL)
    return NULL;
  g_ptr_array_add (blobs, g_steal_pointer (&blob));
  return sk_store_build_image (store, p.config, descs, blobs, tag, error);
}

char *
sk_store_squash (SkStore *store, SkStoreImage *img, const SkLayerOptions *opts, const char *tag, GError **error)
{
  g_auto (Parent) p = { 0 };
  if (!parent_load (store, img, &p, error))
    return NULL;
  g_autofree char *top = g_build_filename (sk_store_layers_dir (store), p.top_name, NULL);
  g_autoptr (SkScratch) scratch = scratch_new (store, error);
  if (scratch == NULL)
    return NULL;
  g_autofree char *diff_id = NULL;
  g_autoptr (SkStoreBlob) blob = make_layer (store, scratch, top, p.config, NULL, NULL, &diff_id, error);
  if (blob == NULL)
    return NULL;
  g_ptr_array_set_size (p.config->diff_ids, 0);
  sk_config_add_diff_id (p.config, diff_id);
  /* The old steps stay in the history, as steps without a layer. */
  for (guint i = 0; i < p.config->history->len; i++)
    ((SkHistoryEntry *) p.config->history->pdata[i])->empty_layer = TRUE;
  add_history (p.config, opts);
  if (!apply_changes (p.config, opts->changes, error))
    return NULL;
  g_autoptr (GPtrArray) descs = layers_with (p.manifest, sk_store_disk_descriptor (diff_id, blob->size), TRUE);
  g_autoptr (GPtrArray) all = sk_store_image_blobs (store, img, error);
  if (all == NULL)
    return NULL;
  g_autoptr (GPtrArray) blobs = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_store_blob_free);
  for (guint i = 0; i < all->len; i++)
    if (!g_str_has_prefix (((SkStoreBlob *) all->pdata[i])->tree_path, "layers/"))
      g_ptr_array_add (blobs, g_ptr_array_steal_index (all, i--));
  g_ptr_array_add (blobs, g_steal_pointer (&blob));
  return sk_store_build_image (store, p.config, descs, blobs, tag, error);
}

gboolean
sk_store_export_disk (SkStore *store, SkStoreImage *img, const char *out, const char *format, GError **error)
{
  if (!g_str_equal (format, "qcow2") && !g_str_equal (format, "raw"))
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "unknown disk format '%s' (expected qcow2 or raw)",
                        format), FALSE;
  g_auto (Parent) p = { 0 };
  if (!parent_load (store, img, &p, error))
    return FALSE;
  g_autofree char *top = g_build_filename (sk_store_layers_dir (store), p.top_name, NULL);
  g_autofree char *tmp = g_strdup_printf ("%s.tmp-%d", out, getpid ());
  g_auto (GStrv) argv = sk_layer_convert_argv (top, NULL, format, tmp);
  if (!sk_qcow2_run_limited ((const char *const *) argv, &sk_qcow2_convert_limits, NULL, error))
    {
      (void) unlink (tmp);
      return FALSE;
    }
  if (rename (tmp, out) < 0)
    {
      int errsv = errno;
      (void) unlink (tmp);
      return sk_error_from_errno (error, errsv, "renaming '%s'", tmp);
    }
  return TRUE;
}
