/* skiff — images to and from OCI image layout archives.  See archive.h. */
#include "registry/archive.h"
#include "registry/pull.h"
#include "registry/push-layers.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/layout-tar.h"
#include "oci/manifest.h"
#include "oci/reference.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define ANNOTATION_CONTAINERD_NAME "io.containerd.image.name"

/* ---------------------------------------------------------------- save */

/* SkPushTarget writing blobs into the archive, each once. */
typedef struct {
  SkLayoutTar *t;
  GHashTable *written; /* digests */
} SaveTarget;

static gboolean
save_present (gpointer data, const SkDescriptor *desc, gboolean *out_present, GError **error)
{
  SaveTarget *s = data;
  *out_present = g_hash_table_contains (s->written, desc->digest);
  return TRUE;
}

static gboolean
save_upload (gpointer data, const SkDescriptor *desc, int fd, GError **error)
{
  SaveTarget *s = data;
  g_autofree char *name = g_strdup_printf ("blobs/sha256/%s", sk_digest_hex (desc->digest));
  if (!sk_layout_tar_add_fd (s->t, name, fd, desc->digest, NULL, error))
    return FALSE;
  g_hash_table_add (s->written, g_strdup (desc->digest));
  return TRUE;
}

static const SkPushTarget save_target = { .present = save_present, .upload = save_upload };

static gboolean
save_small (SkLayoutTar *t, const char *digest, GBytes *bytes, GHashTable *written, GError **error)
{
  if (!g_hash_table_add (written, g_strdup (digest)))
    return TRUE;
  g_autofree char *name = g_strdup_printf ("blobs/sha256/%s", sk_digest_hex (digest));
  return sk_layout_tar_add_bytes (t, name, bytes, error);
}

static SkDescriptor *
save_image (SkStore *store, SkLayoutTar *t, SkStoreImage *img, const char *name, GHashTable *written,
            GError **error)
{
  g_autoptr (SkManifest) m = sk_manifest_parse (img->manifest, NULL, error);
  g_autoptr (GPtrArray) blobs = m ? sk_store_image_blobs (store, img, error) : NULL;
  if (blobs == NULL)
    return NULL;
  /* layers as the manifest has them: a layer pulled compressed is
   * compressed again (registry/push-layers.h) */
  SaveTarget target = { .t = t, .written = written };
  SkPushCompression as_is = { .set = FALSE, .uncompressed = SK_COMPRESSION_NONE };
  g_autoptr (GPtrArray) layers = sk_push_layers (store, blobs, m, &as_is, &save_target, &target, error);
  g_autoptr (SkManifest) saved = layers ? sk_push_manifest (m, layers, error) : NULL;
  if (saved == NULL)
    return NULL;
  if (!save_small (t, m->config->digest, img->config, written, error)
      || !save_small (t, saved->digest, saved->raw, written, error))
    return NULL;
  SkDescriptor *d = sk_manifest_to_descriptor (saved);
  if (name)
    {
      sk_descriptor_set_annotation (d, SK_ANNOTATION_REF_NAME, name);
      sk_descriptor_set_annotation (d, ANNOTATION_CONTAINERD_NAME, name);
    }
  return d;
}

gboolean
sk_archive_save (SkStore *store, GPtrArray *images, const char *const *names, int fd, GError **error)
{
  g_autoptr (SkLayoutTar) t = sk_layout_tar_new (fd, error);
  if (t == NULL || !sk_layout_tar_begin (t, error))
    return FALSE;
  g_autoptr (GHashTable) written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_descriptor_free);
  for (guint i = 0; i < images->len; i++)
    {
      SkStoreImage *img = images->pdata[i];
      SkDescriptor *d = save_image (store, t, img, names[i], written, error);
      if (d == NULL)
        return g_prefix_error (error, "image '%s': ", img->digest), FALSE;
      g_ptr_array_add (entries, d);
    }
  g_autoptr (SkIndex) idx = sk_index_new (entries, NULL, error);
  return idx && sk_layout_tar_add_bytes (t, "index.json", idx->raw, error) && sk_layout_tar_finish (t, error);
}

/* ---------------------------------------------------------------- load */

typedef struct {
  SkLayout *layout;
  const SkDescriptor *entry; /* the index.json entry being loaded */
} LayoutSource;

static gboolean
layout_get_manifest (gpointer data, const char *ref, GBytes **out_raw, char **out_media_type, char **out_digest,
                     GError **error)
{
  LayoutSource *s = data;
  g_autoptr (SkDescriptor) d = NULL;
  if (g_str_has_prefix (ref, "sha256:") && !g_str_equal (ref, s->entry->digest))
    {
      /* A manifest of a nested index: its size is the file's. */
      g_autofree char *path = sk_layout_blob_path (s->layout, ref, error);
      struct stat st;
      if (path == NULL)
        return FALSE;
      if (stat (path, &st) < 0)
        return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "manifest '%s' is not in the archive", ref), FALSE;
      d = sk_descriptor_new (SK_MEDIA_TYPE_OCI_MANIFEST, ref, st.st_size);
    }
  else
    d = sk_descriptor_copy (s->entry);
  GBytes *raw = sk_layout_read_blob (s->layout, d, SK_MANIFEST_MAX_SIZE, error);
  if (raw == NULL)
    return g_prefix_error (error, "manifest '%s': ", d->digest), FALSE;
  *out_raw = raw;
  *out_media_type = g_str_equal (d->digest, s->entry->digest) ? g_strdup (s->entry->media_type) : NULL;
  *out_digest = g_strdup (d->digest);
  return TRUE;
}

static gboolean
copy_range (int in, int out, guint64 size, GError **error)
{
  guint64 left = size;
  while (left > 0)
    {
      ssize_t n = copy_file_range (in, NULL, out, NULL, MIN (left, (guint64) 1 << 30), 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sk_error_from_errno (error, errno, "copying");
      if (n == 0)
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "short copy"), FALSE;
      left -= n;
    }
  return TRUE;
}

/* The blob was hashed against its name as it was extracted; its size is
 * checked here, and the store hashes it again as it takes it. */
static gboolean
layout_get_blob (gpointer data, const char *digest, gint64 size, int fd, guint64 resume_from,
                 SkHttpProgress progress, gpointer progress_data, GError **error)
{
  LayoutSource *s = data;
  g_autofree char *path = sk_layout_blob_path (s->layout, digest, error);
  if (path == NULL)
    return FALSE;
  sk_autofd int in = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (in < 0)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "blob '%s' is not in the archive", digest), FALSE;
  if (fstat (in, &st) < 0 || !S_ISREG (st.st_mode) || (size >= 0 && st.st_size != size))
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH, "blob '%s': the manifest says %" G_GINT64_FORMAT
                        " bytes, the archive holds %" G_GINT64_FORMAT, digest, size, (gint64) st.st_size), FALSE;
  if (ftruncate (fd, 0) < 0 || lseek (fd, 0, SEEK_SET) < 0)
    return sk_error_from_errno (error, errno, "truncating the copy of '%s'", digest);
  if (!copy_range (in, fd, st.st_size, error))
    return g_prefix_error (error, "blob '%s': ", digest), FALSE;
  if (progress)
    progress (st.st_size, st.st_size, progress_data);
  return TRUE;
}

/* The archive was extracted into the store's tmp directory: its blob
 * files move into the pull's hands instead of being copied. */
static gboolean
layout_take_blob (gpointer data, const char *digest, gint64 size, const char *dest_path, GError **error)
{
  LayoutSource *s = data;
  g_autofree char *path = sk_layout_blob_path (s->layout, digest, NULL);
  struct stat st;
  if (path == NULL || lstat (path, &st) < 0 || !S_ISREG (st.st_mode) || (size >= 0 && st.st_size != size))
    return FALSE; /* get_blob says what is wrong */
  if (renameat2 (AT_FDCWD, path, AT_FDCWD, dest_path, RENAME_NOREPLACE) < 0)
    {
      if (errno == EEXIST || errno == EXDEV)
        return FALSE;
      return sk_error_from_errno (error, errno, "moving blob '%s' into the store", digest);
    }
  sk_debug ("blob '%s': taken from the archive without a copy", digest);
  return TRUE;
}

static GBytes *
layout_get_blob_bytes (gpointer data, const char *digest, gint64 size, gsize max_size, GError **error)
{
  LayoutSource *s = data;
  g_autoptr (SkDescriptor) d = sk_descriptor_new ("application/octet-stream", digest, size);
  return sk_layout_read_blob (s->layout, d, max_size, error);
}

static const SkPullSource layout_source = {
  .get_manifest = layout_get_manifest,
  .get_blob = layout_get_blob,
  .take_blob = layout_take_blob,
  .get_blob_bytes = layout_get_blob_bytes,
};

/* What to call the image of index entry @d. */
static SkReference *
entry_reference (const SkDescriptor *d)
{
  const char *keys[] = { ANNOTATION_CONTAINERD_NAME, SK_ANNOTATION_REF_NAME };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      const char *name = sk_descriptor_get_annotation (d, keys[i]);
      SkReference *ref = name ? sk_reference_parse (name, NULL) : NULL;
      if (ref && ref->kind == SK_REFERENCE_REGISTRY && ref->tag && ref->digest == NULL)
        return ref;
      g_clear_pointer (&ref, sk_reference_free);
    }
  g_autofree char *fallback = g_strdup_printf ("localhost/loaded:%.12s", sk_digest_hex (d->digest));
  return sk_reference_parse (fallback, NULL);
}

/* Removes the scratch layout: blobs/<alg>/<files>, blobs/<alg>, blobs, the
 * top files and the directory. */
static void
remove_scratch (const char *dir)
{
  g_autofree char *blobs = g_build_filename (dir, "blobs", NULL);
  g_autoptr (GDir) b = g_dir_open (blobs, 0, NULL);
  const char *alg;
  while (b && (alg = g_dir_read_name (b)))
    {
      g_autofree char *algdir = g_build_filename (blobs, alg, NULL);
      g_autoptr (GDir) a = g_dir_open (algdir, 0, NULL);
      const char *f;
      while (a && (f = g_dir_read_name (a)))
        {
          g_autofree char *p = g_build_filename (algdir, f, NULL);
          (void) unlink (p);
        }
      (void) rmdir (algdir);
    }
  (void) rmdir (blobs);
  const char *top[] = { "oci-layout", "index.json" };
  for (guint i = 0; i < G_N_ELEMENTS (top); i++)
    {
      g_autofree char *p = g_build_filename (dir, top[i], NULL);
      (void) unlink (p);
    }
  (void) rmdir (dir);
}

static gboolean
check_blob_size (SkLayout *layout, const SkDescriptor *d, const char *who, GError **error)
{
  g_autofree char *path = sk_layout_blob_path (layout, d->digest, error);
  struct stat st;
  if (path == NULL)
    return FALSE;
  if (lstat (path, &st) < 0 || !S_ISREG (st.st_mode))
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "blob '%s' is not in the archive", d->digest), FALSE;
  if (st.st_size != d->size)
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH, "blob '%s': %s says %" G_GINT64_FORMAT
                        " bytes, the archive holds %" G_GINT64_FORMAT, d->digest, who, d->size, (gint64) st.st_size),
           FALSE;
  return TRUE;
}

/* Before anything is stored: every image's manifest reads, and every blob
 * it names is there with its size (the pull checks the rest). */
static gboolean
precheck_entry (SkLayout *layout, const SkDescriptor *d, GError **error)
{
  if (d->size > SK_MANIFEST_MAX_SIZE)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "manifest '%s' is %" G_GINT64_FORMAT
                        " bytes, more than the limit of %d", d->digest, d->size, SK_MANIFEST_MAX_SIZE), FALSE;
  if (!check_blob_size (layout, d, "index.json", error))
    return FALSE;
  g_autoptr (GBytes) raw = sk_layout_read_blob (layout, d, SK_MANIFEST_MAX_SIZE, error);
  if (raw == NULL)
    return FALSE;
  if (sk_manifest_kind_from_media_type (d->media_type) != SK_MANIFEST_KIND_OCI_MANIFEST)
    return TRUE;
  g_autoptr (SkManifest) m = sk_manifest_parse (raw, d->media_type, error);
  if (m == NULL || !check_blob_size (layout, m->config, "the manifest", error))
    return FALSE;
  for (guint i = 0; i < m->layers->len; i++)
    if (!check_blob_size (layout, m->layers->pdata[i], "the manifest", error))
      return FALSE;
  return TRUE;
}

/* A name the load pointed at an image, and where it pointed before. */
typedef struct {
  char *name;
  char *previous; /* manifest digest, NULL when the name was new */
} Repoint;

static void
repoint_free (gpointer data)
{
  Repoint *r = data;
  g_free (r->name);
  g_free (r->previous);
  g_free (r);
}

/* Undoes a load that failed half-way: the images it added go, and every
 * name it set points where it pointed before (or goes, when it was new). */
static void
rollback (SkStore *store, GPtrArray *added, GPtrArray *repointed)
{
  for (guint i = 0; i < added->len; i++)
    if (!sk_store_remove_image (store, added->pdata[i], NULL))
      sk_warn ("could not remove image '%s' of the failed load", (char *) added->pdata[i]);
  for (guint i = repointed->len; i-- > 0;)
    {
      const Repoint *r = repointed->pdata[i];
      g_autoptr (GError) local = NULL;
      g_autoptr (SkStoreImage) now = sk_store_lookup (store, r->name, NULL);
      if (r->previous)
        {
          if (!sk_store_tag (store, r->previous, r->name, &local))
            sk_warn ("could not point '%s' back at '%s': %s", r->name, r->previous, local->message);
          continue;
        }
      if (now == NULL)
        continue;
      /* the name was new on an image the store already had: only the name
       * goes, never the image (the hold keeps an untagged image alive) */
      if (!sk_store_hold (store, now->digest, "load-rollback", &local)
          || !sk_store_untag (store, r->name, NULL, &local))
        sk_warn ("could not remove the name '%s' of the failed load: %s", r->name, local->message);
      (void) sk_store_release (store, now->digest, "load-rollback", NULL);
    }
}

static gboolean
load_entries (SkStore *store, SkLayout *layout, SkIndex *idx, GPtrArray *loaded, GPtrArray *added,
              GPtrArray *repointed, GError **error)
{
  for (guint i = 0; i < idx->manifests->len; i++)
    {
      const SkDescriptor *d = idx->manifests->pdata[i];
      g_autoptr (SkReference) ref = entry_reference (d);
      g_autofree char *name = sk_reference_to_string (ref);
      g_autoptr (SkStoreImage) had = sk_store_lookup (store, d->digest, NULL);
      g_autoptr (SkStoreImage) named = sk_store_lookup (store, name, NULL);
      LayoutSource src = { .layout = layout, .entry = d };
      SkPullOptions opts = { 0 };
      g_autofree char *digest = NULL;
      if (!sk_pull_image (store, &layout_source, &src, ref, &opts, &digest, error))
        return g_prefix_error (error, "image '%s': ", d->digest), FALSE;
      if (had == NULL)
        g_ptr_array_add (added, g_strdup (digest));
      if (named == NULL || !g_str_equal (named->digest, digest))
        {
          Repoint *r = g_new0 (Repoint, 1);
          r->name = g_strdup (name);
          r->previous = named ? g_strdup (named->digest) : NULL;
          g_ptr_array_add (repointed, r);
        }
      g_ptr_array_add (loaded, g_strdup_printf ("%s %s", name, digest));
    }
  return TRUE;
}

static gboolean
load_layout (SkStore *store, const char *dir, GPtrArray *loaded, GError **error)
{
  g_autoptr (SkLayout) layout = sk_layout_open (dir, error);
  g_autoptr (SkIndex) idx = layout ? sk_layout_read_index (layout, error) : NULL;
  if (idx == NULL)
    return FALSE;
  if (idx->manifests->len == 0)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "the archive's index.json lists no image"), FALSE;
  for (guint i = 0; i < idx->manifests->len; i++)
    {
      const SkDescriptor *d = idx->manifests->pdata[i];
      if (!precheck_entry (layout, d, error))
        return g_prefix_error (error, "image '%s': ", d->digest), FALSE;
    }
  g_autoptr (GPtrArray) added = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) repointed = g_ptr_array_new_with_free_func (repoint_free);
  if (!load_entries (store, layout, idx, loaded, added, repointed, error))
    return rollback (store, added, repointed), FALSE;
  return TRUE;
}

gboolean
sk_archive_load (SkStore *store, int fd, GPtrArray **out_loaded, GError **error)
{
  g_autofree char *dir = g_build_filename (sk_store_tmp_dir (store), "load-XXXXXX", NULL);
  if (g_mkdtemp (dir) == NULL)
    return sk_error_from_errno (error, errno, "creating '%s'", dir);
  g_autoptr (GPtrArray) loaded = g_ptr_array_new_with_free_func (g_free);
  gboolean ok = sk_layout_tar_extract (fd, dir, error) && load_layout (store, dir, loaded, error);
  remove_scratch (dir);
  if (ok)
    *out_loaded = g_steal_pointer (&loaded);
  return ok;
}
