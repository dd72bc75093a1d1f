/* skiff — the store: opening, locking, refs, images. */
#include "store/store-private.h"
#include "common/error.h"
#include "common/log.h"
#include "oci/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void
sk_store_free (SkStore *store)
{
  if (store == NULL)
    return;
  if (store->lock_fd >= 0)
    close (store->lock_fd);
  g_clear_object (&store->repo);
  g_free (store->root);
  g_free (store->layers_dir);
  g_free (store->boot_dir);
  g_free (store->holds_dir);
  g_free (store->tmp_dir);
  g_free (store);
}

const char *
sk_store_root (SkStore *store)
{
  return store->root;
}

const char *
sk_store_layers_dir (SkStore *store)
{
  return store->layers_dir;
}

const char *
sk_store_tmp_dir (SkStore *store)
{
  return store->tmp_dir;
}

static gboolean
open_repo (SkStore *store, GError **error)
{
  g_autofree char *path = g_build_filename (store->root, "repo", NULL);
  g_autofree char *config = g_build_filename (path, "config", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  store->repo = ostree_repo_new (file);
  if (g_file_test (config, G_FILE_TEST_EXISTS))
    {
      if (!ostree_repo_open (store->repo, NULL, error))
        return g_prefix_error (error, "opening store repository '%s': ", path), FALSE;
    }
  else if (!ostree_repo_create (store->repo, OSTREE_REPO_MODE_BARE_USER, NULL, error))
    return g_prefix_error (error, "creating store repository '%s': ", path), FALSE;
  if (ostree_repo_get_mode (store->repo) != OSTREE_REPO_MODE_BARE_USER)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED,
                        "store repository '%s' is not in bare-user mode", path), FALSE;
  return TRUE;
}

SkStore *
sk_store_open (const char *root, GError **error)
{
  g_autoptr (SkStore) store = g_new0 (SkStore, 1);
  store->lock_fd = -1;
  store->root = g_strdup (root);
  store->layers_dir = g_build_filename (root, "layers", NULL);
  store->boot_dir = g_build_filename (root, "boot", NULL);
  store->holds_dir = g_build_filename (root, "holds", NULL);
  store->tmp_dir = g_build_filename (root, "tmp", NULL);
  const char *dirs[] = { store->root, store->layers_dir, store->boot_dir, store->holds_dir, store->tmp_dir };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    if (g_mkdir_with_parents (dirs[i], 0755) < 0)
      return sk_error_from_errno (error, errno, "creating store directory '%s'", dirs[i]), NULL;
  g_autofree char *lock = g_build_filename (root, "store.lock", NULL);
  store->lock_fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (store->lock_fd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", lock), NULL;
  /* Creating the repository races with another skiff doing the same:
   * serialise creation (only) under the exclusive lock. */
  g_autofree char *config = g_build_filename (root, "repo", "config", NULL);
  gboolean exists = g_file_test (config, G_FILE_TEST_EXISTS);
  if (!exists && flock (store->lock_fd, LOCK_EX) < 0)
    return sk_error_from_errno (error, errno, "locking '%s'", lock), NULL;
  gboolean ok = open_repo (store, error);
  if (!exists)
    (void) flock (store->lock_fd, LOCK_UN);
  if (!ok)
    return NULL;
  return g_steal_pointer (&store);
}

gboolean
sk_store_lock (SkStore *store, SkStoreLockMode mode, GError **error)
{
  int op = mode == SK_STORE_LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH;
  if (flock (store->lock_fd, op | LOCK_NB) == 0)
    return TRUE;
  if (errno != EWOULDBLOCK)
    return sk_error_from_errno (error, errno, "locking the store");
  sk_debug ("waiting for the store lock");
  while (flock (store->lock_fd, op) < 0)
    if (errno != EINTR)
      return sk_error_from_errno (error, errno, "locking the store");
  return TRUE;
}

/* ---- ref names ---- */

char *
sk_store_escape_ref (const char *name)
{
  GString *s = g_string_new (NULL);
  for (const char *p = name; *p; p++)
    if (g_ascii_isalnum (*p) || *p == '.' || *p == '-')
      g_string_append_c (s, *p);
    else
      g_string_append_printf (s, "_%02X", (guint8) *p);
  return g_string_free (s, FALSE);
}

char *
sk_store_unescape_ref (const char *escaped)
{
  GString *s = g_string_new (NULL);
  for (const char *p = escaped; *p; p++)
    {
      if (*p == '_' && g_ascii_isxdigit (p[1]) && g_ascii_isxdigit (p[2]))
        {
          g_string_append_c (s, (char) (g_ascii_xdigit_value (p[1]) * 16 + g_ascii_xdigit_value (p[2])));
          p += 2;
        }
      else
        g_string_append_c (s, *p);
    }
  return g_string_free (s, FALSE);
}

char *
sk_store_image_ref (const char *digest)
{
  return g_strconcat (SK_REF_IMAGES, sk_digest_hex (digest), NULL);
}

char *
sk_store_tag_ref (const char *tag)
{
  g_autofree char *esc = sk_store_escape_ref (tag);
  return g_strconcat (SK_REF_TAGS, esc, NULL);
}

/* ---- images ---- */

void
sk_store_image_free (SkStoreImage *img)
{
  if (img == NULL)
    return;
  g_free (img->digest);
  g_free (img->commit);
  g_clear_pointer (&img->tags, g_ptr_array_unref);
  g_clear_pointer (&img->manifest, g_bytes_unref);
  g_clear_pointer (&img->config, g_bytes_unref);
  g_free (img);
}

void
sk_store_blob_free (SkStoreBlob *blob)
{
  if (blob == NULL)
    return;
  g_free (blob->tree_path);
  g_free (blob->object);
  g_free (blob);
}

/* Reads a small file of a commit's tree. */
GBytes *
sk_store_read_tree_file (SkStore *store, const char *commit, const char *path, GError **error)
{
  g_autoptr (GFile) root = NULL;
  if (!ostree_repo_read_commit (store->repo, commit, &root, NULL, NULL, error))
    return NULL;
  g_autoptr (GFile) f = g_file_resolve_relative_path (root, path);
  g_autoptr (GBytes) b = g_file_load_bytes (f, NULL, NULL, error);
  if (b == NULL)
    return g_prefix_error (error, "reading '%s' of commit %.12s: ", path, commit), NULL;
  return g_steal_pointer (&b);
}

/* An image from its commit's metadata alone: no file of its tree read. */
static SkStoreImage *
load_image (SkStore *store, const char *commit, GError **error)
{
  g_autoptr (GVariant) cv = NULL;
  if (!ostree_repo_load_variant (store->repo, OSTREE_OBJECT_TYPE_COMMIT, commit, &cv, error))
    return NULL;
  g_autoptr (GVariant) meta = g_variant_get_child_value (cv, 0);
  g_auto (GVariantDict) dict;
  g_variant_dict_init (&dict, meta);
  const char *digest = NULL;
  guint64 size = 0;
  if (!g_variant_dict_lookup (&dict, SK_META_DIGEST, "&s", &digest))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                        "store commit %.12s has no manifest digest", commit), NULL;
  (void) g_variant_dict_lookup (&dict, SK_META_SIZE, "t", &size);
  SkStoreImage *img = g_new0 (SkStoreImage, 1);
  img->digest = g_strdup (digest);
  img->commit = g_strdup (commit);
  img->created = ostree_commit_get_timestamp (cv);
  img->size = size;
  img->tags = g_ptr_array_new_with_free_func (g_free);
  return img;
}

gboolean
sk_store_image_load (SkStore *store, SkStoreImage *img, GError **error)
{
  if (img->manifest && img->config)
    return TRUE;
  g_clear_pointer (&img->manifest, g_bytes_unref);
  img->manifest = sk_store_read_tree_file (store, img->commit, "manifest.json", error);
  if (img->manifest == NULL)
    return FALSE;
  img->config = sk_store_read_tree_file (store, img->commit, "config.json", error);
  return img->config != NULL;
}

/* Hex digests of the images some VM holds. */
static GHashTable *
held_images (SkStore *store)
{
  GHashTable *held = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GDir) d = g_dir_open (store->holds_dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *digest = g_strconcat ("sha256:", name, NULL);
      g_autoptr (GPtrArray) holders = sk_store_holders (store, digest);
      if (holders->len > 0)
        g_hash_table_add (held, g_strdup (name));
    }
  return held;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char **) a, *(char **) b);
}

static gint
newest_first (gconstpointer a, gconstpointer b)
{
  const SkStoreImage *x = *(SkStoreImage **) a, *y = *(SkStoreImage **) b;
  if (x->created != y->created)
    return x->created < y->created ? 1 : -1;
  return g_strcmp0 (x->digest, y->digest);
}

GHashTable *
sk_store_list_refs (SkStore *store, const char *prefix, GError **error)
{
  GHashTable *refs = NULL;
  if (!ostree_repo_list_refs_ext (store->repo, prefix, &refs, OSTREE_REPO_LIST_REFS_EXT_NONE, NULL, error))
    return NULL;
  return refs;
}

static GPtrArray *list_images_from_refs (SkStore *store, GError **error);

GPtrArray *
sk_store_list_images (SkStore *store, GError **error)
{
  GPtrArray *cached = sk_store_index_read (store);
  if (cached)
    return cached;
  g_autofree char *stamp = sk_store_index_stamp (store);
  GPtrArray *images = list_images_from_refs (store, error);
  if (images)
    sk_store_index_write (store, images, stamp);
  return images;
}

static GPtrArray *
list_images_from_refs (SkStore *store, GError **error)
{
  g_autoptr (GHashTable) images = sk_store_list_refs (store, SK_REF_IMAGES_DIR, error);
  if (images == NULL)
    return NULL;
  g_autoptr (GHashTable) tags = sk_store_list_refs (store, SK_REF_TAGS_DIR, error);
  if (tags == NULL)
    return NULL;
  g_autoptr (GHashTable) by_commit = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) held = held_images (store);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_store_image_free);
  GHashTableIter it_ref;
  gpointer k_ref, v_ref;
  g_hash_table_iter_init (&it_ref, images);
  while (g_hash_table_iter_next (&it_ref, &k_ref, &v_ref))
    {
      const char *ref = k_ref;
      const char *commit = v_ref;
      (void) ref;
      SkStoreImage *img = load_image (store, commit, error);
      if (img == NULL)
        return NULL;
      img->held = g_hash_table_contains (held, sk_digest_hex (img->digest));
      g_ptr_array_add (out, img);
      g_hash_table_insert (by_commit, img->commit, img);
    }
  GHashTableIter it_tag;
  gpointer k_tag, v_tag;
  g_hash_table_iter_init (&it_tag, tags);
  while (g_hash_table_iter_next (&it_tag, &k_tag, &v_tag))
    {
      const char *ref = k_tag;
      const char *commit = v_tag;
      SkStoreImage *img = g_hash_table_lookup (by_commit, commit);
      if (img == NULL)
        continue; /* a tag whose image ref is gone: fsck reports it */
      g_ptr_array_add (img->tags, sk_store_unescape_ref (ref + strlen (SK_REF_TAGS)));
    }
  for (guint i = 0; i < out->len; i++)
    {
      SkStoreImage *img = out->pdata[i];
      g_ptr_array_sort (img->tags, compare_strings);
    }
  g_ptr_array_sort (out, newest_first);
  return g_steal_pointer (&out);
}

static gboolean
is_hex_prefix (const char *s)
{
  if (strlen (s) < 4 || strlen (s) > 64)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

/* Index of the image @name names in @all, -1 if none, -2 if ambiguous. */
static int
find_image (GPtrArray *all, const char *name)
{
  for (guint i = 0; i < all->len; i++)
    {
      SkStoreImage *img = all->pdata[i];
      for (guint t = 0; t < img->tags->len; t++)
        if (g_str_equal (img->tags->pdata[t], name))
          return i;
    }
  const char *hex = g_str_has_prefix (name, "sha256:") ? name + 7 : name;
  if (!is_hex_prefix (hex))
    return -1;
  int found = -1;
  for (guint i = 0; i < all->len; i++)
    {
      SkStoreImage *img = all->pdata[i];
      if (g_str_has_prefix (sk_digest_hex (img->digest), hex))
        {
          if (found >= 0)
            return -2;
          found = i;
        }
    }
  return found;
}

/* The image a full tag names, straight from its ref, or NULL. */
static SkStoreImage *
lookup_tag (SkStore *store, const char *name, GError **error)
{
  g_autofree char *ref = sk_store_tag_ref (name);
  g_autofree char *commit = NULL;
  if (!ostree_repo_resolve_rev_ext (store->repo, ref, TRUE, OSTREE_REPO_RESOLVE_REV_EXT_NONE, &commit, error))
    return NULL;
  if (commit == NULL)
    return NULL;
  g_autoptr (SkStoreImage) img = load_image (store, commit, error);
  g_autoptr (GHashTable) tags = img ? sk_store_list_refs (store, SK_REF_TAGS_DIR, error) : NULL;
  if (tags == NULL)
    return NULL;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, tags);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (g_str_equal (v, commit))
      g_ptr_array_add (img->tags, sk_store_unescape_ref ((char *) k + strlen (SK_REF_TAGS)));
  g_ptr_array_sort (img->tags, compare_strings);
  g_autoptr (GPtrArray) holders = sk_store_holders (store, img->digest);
  img->held = holders->len > 0;
  return g_steal_pointer (&img);
}

SkStoreImage *
sk_store_lookup (SkStore *store, const char *name, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (SkStoreImage) img = lookup_tag (store, name, &local);
  if (local)
    return g_propagate_error (error, g_steal_pointer (&local)), NULL;
  if (img == NULL)
    {
      g_autoptr (GPtrArray) all = sk_store_list_images (store, error);
      if (all == NULL)
        return NULL;
      int i = find_image (all, name);
      if (i == -2)
        return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND,
                            "image id '%s' is ambiguous: give more digits", name), NULL;
      if (i < 0)
        return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "image '%s' not found", name), NULL;
      img = g_ptr_array_steal_index (all, i);
    }
  if (!sk_store_image_load (store, img, error))
    return NULL;
  return g_steal_pointer (&img);
}
