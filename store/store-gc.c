/* skiff — the store: layer checkouts, garbage collection, fsck, usage. */
#include "store/store-private.h"
#include "common/error.h"
#include "common/log.h"
#include "oci/config.h"
#include "oci/digest.h"
#include "store/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void
blobs_in_dir (SkStore *store, GFile *root, const char *dir, GPtrArray *out)
{
  g_autoptr (GFile) d = g_file_get_child (root, dir);
  g_autoptr (GFileEnumerator) e = g_file_enumerate_children (d, "standard::name,standard::size",
                                                              G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  GFileInfo *info;
  GFile *child;
  while (e && g_file_enumerator_iterate (e, &info, &child, NULL, NULL) && info)
    {
      if (!ostree_repo_file_ensure_resolved ((OstreeRepoFile *) child, NULL))
        continue;
      SkStoreBlob *b = g_new0 (SkStoreBlob, 1);
      b->tree_path = g_strdup_printf ("%s/%s", dir, g_file_info_get_name (info));
      b->object = g_strdup (ostree_repo_file_get_checksum ((OstreeRepoFile *) child));
      b->size = g_file_info_get_size (info);
      g_ptr_array_add (out, b);
    }
}

GPtrArray *
sk_store_image_blobs (SkStore *store, SkStoreImage *img, GError **error)
{
  g_autoptr (GFile) root = NULL;
  if (!ostree_repo_read_commit (store->repo, img->commit, &root, NULL, NULL, error))
    return NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_store_blob_free);
  blobs_in_dir (store, root, "layers", out);
  blobs_in_dir (store, root, "boot", out);
  return g_steal_pointer (&out);
}

/* Links @object's file as @dir/@name unless that is already the same
 * inode; replaces a stale link atomically. */
static gboolean
link_object (SkStore *store, const char *object, const char *dir, const char *name, GError **error)
{
  int repo_dfd = ostree_repo_get_dfd (store->repo);
  g_autofree char *objpath = sk_store_object_path (object);
  g_autofree char *dest = g_build_filename (dir, name, NULL);
  struct stat so, sd;
  if (fstatat (repo_dfd, objpath, &so, 0) < 0)
    return sk_error_from_errno (error, errno, "store object %s", object);
  if (stat (dest, &sd) == 0 && sd.st_ino == so.st_ino && sd.st_dev == so.st_dev)
    return TRUE;
  g_autofree char *tmp = g_strdup_printf ("%s.tmp-%d", dest, getpid ());
  (void) unlink (tmp);
  if (linkat (repo_dfd, objpath, AT_FDCWD, tmp, 0) < 0)
    return sk_error_from_errno (error, errno, "linking '%s'", dest);
  if (rename (tmp, dest) < 0)
    {
      int errsv = errno;
      (void) unlink (tmp);
      return sk_error_from_errno (error, errsv, "linking '%s'", dest);
    }
  return TRUE;
}

gboolean
sk_store_checkout (SkStore *store, SkStoreImage *img, GError **error)
{
  g_autoptr (GPtrArray) blobs = sk_store_image_blobs (store, img, error);
  if (blobs == NULL)
    return FALSE;
  for (guint i = 0; i < blobs->len; i++)
    {
      SkStoreBlob *b = blobs->pdata[i];
      const char *dir = g_str_has_prefix (b->tree_path, "layers/") ? store->layers_dir : store->boot_dir;
      g_autofree char *name = g_path_get_basename (b->tree_path);
      if (!link_object (store, b->object, dir, name, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- prune ---- */

/* Tree paths ("layers/x.qcow2") of every blob of every image still stored. */
static GHashTable *
live_blob_names (SkStore *store, GError **error)
{
  g_autoptr (GPtrArray) images = sk_store_list_images (store, error);
  if (images == NULL)
    return NULL;
  g_autoptr (GHashTable) live = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < images->len; i++)
    {
      g_autoptr (GPtrArray) blobs = sk_store_image_blobs (store, images->pdata[i], error);
      if (blobs == NULL)
        return NULL;
      for (guint j = 0; j < blobs->len; j++)
        g_hash_table_add (live, g_strdup (((SkStoreBlob *) blobs->pdata[j])->tree_path));
    }
  return g_steal_pointer (&live);
}

static guint64
unlink_dead_links (const char *dir, const char *prefix, GHashTable *live)
{
  guint64 freed = 0;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *key = g_strconcat (prefix, name, NULL);
      if (g_hash_table_contains (live, key))
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      struct stat st;
      if (lstat (path, &st) == 0 && unlink (path) == 0 && st.st_nlink == 1)
        freed += st.st_blocks * 512;
      sk_debug ("pruned link '%s'", path);
    }
  return freed;
}

/* Drops image refs that no tag and no hold keeps. */
static gboolean
drop_unreferenced_images (SkStore *store, guint *out_images, GError **error)
{
  g_autoptr (GPtrArray) images = sk_store_list_images (store, error);
  if (images == NULL)
    return FALSE;
  guint n = 0;
  for (guint i = 0; i < images->len; i++)
    {
      SkStoreImage *img = images->pdata[i];
      if (img->tags->len > 0 || img->held)
        continue;
      if (!sk_store_remove_image (store, img->digest, error))
        return FALSE;
      n++;
    }
  *out_images = n;
  return TRUE;
}

gboolean
sk_store_prune (SkStore *store, guint *out_images, guint64 *out_bytes_freed, GError **error)
{
  if (!sk_store_lock (store, SK_STORE_LOCK_EXCLUSIVE, error))
    return FALSE;
  guint images = 0;
  if (!drop_unreferenced_images (store, &images, error))
    return FALSE;
  g_autoptr (GHashTable) live = live_blob_names (store, error);
  if (live == NULL)
    return FALSE;
  /* Links first: once the repository object goes, the link would be the
   * data's last name. */
  guint64 freed = unlink_dead_links (store->layers_dir, "layers/", live);
  freed += unlink_dead_links (store->boot_dir, "boot/", live);
  /* Nothing else runs under the exclusive lock: scratch files are leftovers
   * of killed commands. */
  g_autoptr (GHashTable) none = g_hash_table_new (g_str_hash, g_str_equal);
  freed += unlink_dead_links (store->tmp_dir, "", none);
  gint total = 0, pruned = 0;
  guint64 pruned_bytes = 0;
  if (!ostree_repo_prune (store->repo, OSTREE_REPO_PRUNE_FLAGS_REFS_ONLY, -1, &total, &pruned, &pruned_bytes, NULL,
                          error))
    return g_prefix_error (error, "pruning the repository: "), FALSE;
  sk_debug ("ostree prune: %d of %d objects, %" G_GUINT64_FORMAT " bytes", pruned, total, pruned_bytes);
  *out_images = images;
  *out_bytes_freed = freed + pruned_bytes;
  return TRUE;
}

/* ---- fsck ---- */

static void G_GNUC_PRINTF (2, 3)
problem (GPtrArray *problems, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_ptr_array_add (problems, g_strdup_vprintf (fmt, ap));
  va_end (ap);
}

/* Hashes a content object once, giving both ostree's checksum (over the
 * content stream: header, then data) and the sha256 of the data alone. */
static gboolean
hash_content_object (SkStore *store, const char *object, char **out_ostree, char **out_sha256, GError **error)
{
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (GVariant) xattrs = NULL;
  if (!ostree_repo_load_file (store->repo, object, &in, &info, &xattrs, NULL, error))
    return FALSE;
  g_autoptr (GInputStream) stream = NULL;
  guint64 length = 0;
  if (!ostree_raw_file_to_content_stream (in, info, xattrs, &stream, &length, NULL, error))
    return FALSE;
  guint64 header = length - g_file_info_get_size (info);
  g_autoptr (SkHasher) whole = sk_hasher_new (SK_DIGEST_SHA256);
  g_autoptr (SkHasher) data = sk_hasher_new (SK_DIGEST_SHA256);
  gsize bufsize = 1 << 20;
  g_autofree guint8 *buf = g_malloc (bufsize);
  guint64 pos = 0;
  for (;;)
    {
      gssize n = g_input_stream_read (stream, buf, bufsize, NULL, error);
      if (n < 0)
        return FALSE;
      if (n == 0)
        break;
      sk_hasher_update (whole, buf, n);
      if (pos + n > header)
        {
          guint64 skip = pos >= header ? 0 : header - pos;
          sk_hasher_update (data, buf + skip, n - skip);
        }
      pos += n;
    }
  g_autofree char *w = sk_hasher_finish (whole);
  *out_ostree = g_strdup (sk_digest_hex (w));
  *out_sha256 = sk_hasher_finish (data);
  return TRUE;
}

static void
fsck_blob (SkStore *store, SkStoreImage *img, SkStoreBlob *b, GPtrArray *problems)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ostree_sum = NULL, *sha = NULL;
  const char *short_id = sk_digest_hex (img->digest);
  if (!hash_content_object (store, b->object, &ostree_sum, &sha, &error))
    {
      problem (problems, "image %.12s: %s: %s", short_id, b->tree_path, error->message);
      return;
    }
  if (!g_str_equal (ostree_sum, b->object))
    problem (problems, "image %.12s: %s: object %s is corrupt (checksum %s)", short_id, b->tree_path, b->object,
             ostree_sum);
  g_autofree char *base = g_path_get_basename (b->tree_path);
  char *dot = strchr (base, '.');
  if (dot)
    *dot = '\0';
  if (!g_str_equal (sk_digest_hex (sha), base))
    problem (problems, "image %.12s: %s: content digest is %s", short_id, b->tree_path, sha);
  if (g_str_has_prefix (b->tree_path, "layers/"))
    {
      g_autofree char *path = g_build_filename (store->root, b->tree_path, NULL);
      g_autofree char *objpath = sk_store_object_path (b->object);
      struct stat sl, so;
      if (stat (path, &sl) == 0 && fstatat (ostree_repo_get_dfd (store->repo), objpath, &so, 0) == 0
          && (sl.st_ino != so.st_ino || sl.st_dev != so.st_dev))
        problem (problems, "layer link '%s' is not the stored object", path);
      if (stat (path, &sl) == 0 && (sl.st_mode & 0222))
        problem (problems, "layer link '%s' is writable (mode %o)", path, sl.st_mode & 07777);
    }
}

/* Each layer's header, with the backing name the chain order demands. */
static void
fsck_chain (SkStore *store, SkStoreImage *img, GPtrArray *blobs, GPtrArray *problems)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkConfig) config = sk_config_parse (img->config, &error);
  if (config == NULL)
    {
      problem (problems, "image %.12s: config.json: %s", sk_digest_hex (img->digest), error->message);
      return;
    }
  for (guint i = 0; i < config->diff_ids->len; i++)
    {
      g_autofree char *path = g_strdup_printf ("layers/%s.qcow2", sk_digest_hex (config->diff_ids->pdata[i]));
      SkStoreBlob *blob = NULL;
      for (guint j = 0; j < blobs->len && blob == NULL; j++)
        if (g_str_equal (((SkStoreBlob *) blobs->pdata[j])->tree_path, path))
          blob = blobs->pdata[j];
      if (blob == NULL)
        {
          problem (problems, "image %.12s: layer %s is missing", sk_digest_hex (img->digest), path);
          continue;
        }
      g_autofree char *parent = i == 0 ? NULL
                                       : g_strdup_printf ("%s.qcow2", sk_digest_hex (config->diff_ids->pdata[i - 1]));
      g_autofree char *obj = sk_store_blob_path (store, blob);
      g_auto (SkQcow2Info) info = { 0 };
      g_clear_error (&error);
      if (!sk_qcow2_validate (obj, parent, &info, &error))
        problem (problems, "image %.12s: %s: %s", sk_digest_hex (img->digest), path, error->message);
    }
}

static void
fsck_image (SkStore *store, SkStoreImage *img, GPtrArray *problems)
{
  g_autoptr (GError) load_error = NULL;
  if (!sk_store_image_load (store, img, &load_error))
    {
      problem (problems, "image %.12s: %s", sk_digest_hex (img->digest), load_error->message);
      return;
    }
  gsize len;
  const void *data = g_bytes_get_data (img->manifest, &len);
  g_autofree char *digest = sk_digest_bytes (SK_DIGEST_SHA256, data, len);
  if (!g_str_equal (digest, img->digest))
    problem (problems, "image %.12s: manifest.json has digest %s", sk_digest_hex (img->digest), digest);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) blobs = sk_store_image_blobs (store, img, &error);
  if (blobs == NULL)
    {
      problem (problems, "image %.12s: %s", sk_digest_hex (img->digest), error->message);
      return;
    }
  for (guint i = 0; i < blobs->len; i++)
    fsck_blob (store, img, blobs->pdata[i], problems);
  fsck_chain (store, img, blobs, problems);
}

static void
fsck_tags (SkStore *store, GPtrArray *problems)
{
  g_autoptr (GHashTable) tags = sk_store_list_refs (store, SK_REF_TAGS_DIR, NULL);
  g_autoptr (GHashTable) images = sk_store_list_refs (store, SK_REF_IMAGES_DIR, NULL);
  if (tags == NULL || images == NULL)
    return;
  g_autoptr (GHashTable) commits = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, images);
  while (g_hash_table_iter_next (&it, NULL, &v))
    g_hash_table_add (commits, v);
  g_hash_table_iter_init (&it, tags);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (!g_hash_table_contains (commits, v))
      {
        g_autofree char *name = sk_store_unescape_ref ((char *) k + strlen (SK_REF_TAGS));
        problem (problems, "tag '%s' names commit %.12s, which is no stored image", name, (char *) v);
      }
}

gboolean
sk_store_fsck (SkStore *store, GPtrArray **out_problems, GError **error)
{
  if (!sk_store_lock (store, SK_STORE_LOCK_SHARED, error))
    return FALSE;
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) images = sk_store_list_images (store, error);
  if (images == NULL)
    return FALSE;
  for (guint i = 0; i < images->len; i++)
    fsck_image (store, images->pdata[i], problems);
  fsck_tags (store, problems);
  *out_problems = g_steal_pointer (&problems);
  return TRUE;
}

gboolean
sk_store_usage (SkStore *store, SkStoreUsage *out, GError **error)
{
  g_autoptr (GPtrArray) images = sk_store_list_images (store, error);
  if (images == NULL)
    return FALSE;
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  memset (out, 0, sizeof *out);
  out->images = images->len;
  for (guint i = 0; i < images->len; i++)
    {
      g_autoptr (GPtrArray) blobs = sk_store_image_blobs (store, images->pdata[i], error);
      if (blobs == NULL)
        return FALSE;
      for (guint j = 0; j < blobs->len; j++)
        {
          SkStoreBlob *b = blobs->pdata[j];
          out->shared_bytes += b->size;
          if (!g_hash_table_add (seen, g_strdup (b->object)))
            continue;
          out->unique_bytes += b->size;
          out->layers += g_str_has_prefix (b->tree_path, "layers/");
        }
    }
  return TRUE;
}
