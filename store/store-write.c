/* skiff — the store: writing blobs and images, tags, holds. */
#include "store/store-private.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "oci/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <gio/gunixinputstream.h>
#include <sys/xattr.h>
#include <unistd.h>

#define COPY_CHUNK (1 << 20)

char *
sk_store_object_path (const char *object)
{
  return g_strdup_printf ("objects/%c%c/%s.file", object[0], object[1], object + 2);
}

static char *
blob_tree_path (const char *dir, const char *digest, const char *suffix)
{
  return g_strdup_printf ("%s/%s%s", dir, sk_digest_hex (digest), suffix ? suffix : "");
}

/* Indexes tree path -> object over every stored image's tree. */
static void
add_tree_entries (SkStore *store, GFile *root, const char *dir, GHashTable *index)
{
  g_autoptr (GFile) d = g_file_get_child (root, dir);
  g_autoptr (GFileEnumerator) e = g_file_enumerate_children (d, "standard::name", G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                                              NULL, NULL);
  if (e == NULL)
    return;
  GFileInfo *info;
  GFile *child;
  while (g_file_enumerator_iterate (e, &info, &child, NULL, NULL) && info)
    {
      if (!ostree_repo_file_ensure_resolved ((OstreeRepoFile *) child, NULL))
        continue;
      char *key = g_strdup_printf ("%s/%s", dir, g_file_info_get_name (info));
      g_hash_table_replace (index, key, g_strdup (ostree_repo_file_get_checksum ((OstreeRepoFile *) child)));
    }
}

static GHashTable *
blob_index (SkStore *store)
{
  GHashTable *index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GHashTable) images = sk_store_list_refs (store, SK_REF_IMAGES_DIR, NULL);
  if (images == NULL)
    return index;
  GHashTableIter it_commit;
  gpointer v_commit;
  g_hash_table_iter_init (&it_commit, images);
  while (g_hash_table_iter_next (&it_commit, NULL, &v_commit))
    {
      const char *commit = v_commit;
      g_autoptr (GFile) root = NULL;
      if (!ostree_repo_read_commit (store->repo, commit, &root, NULL, NULL, NULL))
        continue;
      add_tree_entries (store, root, "layers", index);
      add_tree_entries (store, root, "boot", index);
    }
  return index;
}

char *
sk_store_find_blob (SkStore *store, const char *tree_path)
{
  g_autoptr (GHashTable) index = blob_index (store);
  const char *obj = g_hash_table_lookup (index, tree_path);
  if (obj == NULL)
    return NULL;
  gboolean have = FALSE;
  if (!ostree_repo_has_object (store->repo, OSTREE_OBJECT_TYPE_FILE, obj, &have, NULL, NULL) || !have)
    return NULL;
  return g_strdup (obj);
}

static SkStoreBlob *
blob_new (const char *tree_path, const char *object, guint64 size)
{
  SkStoreBlob *b = g_new0 (SkStoreBlob, 1);
  b->tree_path = g_strdup (tree_path);
  b->object = g_strdup (object);
  b->size = size;
  return b;
}

/* ---- writing a blob: one hashing pass, one trusted copy ----
 *
 * Debian's libostree hashes with GLib's slow SHA-256 whenever it computes
 * an object name itself.  So skiff computes both names in one read of the
 * file, each on its own core with OpenSSL: the sha256 of the bytes (the
 * diff-id) and ostree's object checksum (sha256 of ostree's file header,
 * then the bytes).  ostree then stores the bytes under that name without
 * hashing again (ostree_repo_write_content_trusted), and skips the copy
 * entirely when it already has the object. */

#define HASH_BUFFERS 4

typedef struct {
  GAsyncQueue *work;  /* filled buffers for the ostree hasher */
  GAsyncQueue *free;  /* buffers ready to be read into */
  SkHasher *hasher;
} HashWorker;

typedef struct {
  guint8 *data;
  gsize len; /* 0: end of input */
} Chunk;

static gpointer
hash_worker (gpointer data)
{
  HashWorker *w = data;
  for (;;)
    {
      Chunk *c = g_async_queue_pop (w->work);
      if (c->len == 0)
        return NULL;
      sk_hasher_update (w->hasher, c->data, c->len);
      g_async_queue_push (w->free, c);
    }
}

/* The file info ostree records for every blob: a root-owned 0444 file. */
static GFileInfo *
blob_file_info (guint64 size)
{
  GFileInfo *info = g_file_info_new ();
  g_file_info_set_file_type (info, G_FILE_TYPE_REGULAR);
  g_file_info_set_attribute_uint32 (info, "unix::mode", SK_BLOB_MODE);
  g_file_info_set_attribute_uint32 (info, "unix::uid", 0);
  g_file_info_set_attribute_uint32 (info, "unix::gid", 0);
  g_file_info_set_size (info, size);
  return info;
}

/* ostree's header for a blob of @size bytes: the start of its content
 * stream, before the bytes themselves. */
static GBytes *
ostree_file_header (guint64 size, GError **error)
{
  g_autoptr (GFileInfo) info = blob_file_info (size);
  g_autoptr (GInputStream) empty = g_memory_input_stream_new ();
  g_autoptr (GInputStream) stream = NULL;
  guint64 len = 0;
  if (!ostree_raw_file_to_content_stream (empty, info, NULL, &stream, &len, NULL, error))
    return NULL;
  gsize hlen = len - size;
  g_autofree guint8 *buf = g_malloc (hlen);
  gsize got = 0;
  if (!g_input_stream_read_all (stream, buf, hlen, &got, NULL, error) || got != hlen)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "short ostree file header"), NULL;
  return g_bytes_new_take (g_steal_pointer (&buf), hlen);
}

static gboolean
read_full (int fd, guint8 *buf, gsize want, gsize *out_len, GError **error)
{
  gsize got = 0;
  while (got < want)
    {
      ssize_t n = read (fd, buf + got, want - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sk_error_from_errno (error, errno, "reading");
      if (n == 0)
        break;
      got += n;
    }
  *out_len = got;
  return TRUE;
}

/* One read of @fd's @size bytes: the sha256 of the bytes and ostree's
 * object checksum, hashed on two threads. */
static gboolean
hash_twice (int fd, guint64 size, GBytes *header, char **out_digest, char **out_object, GError **error)
{
  HashWorker w = { g_async_queue_new (), g_async_queue_new (), sk_hasher_new (SK_DIGEST_SHA256) };
  gsize hlen;
  const void *hdata = g_bytes_get_data (header, &hlen);
  sk_hasher_update (w.hasher, hdata, hlen);
  Chunk chunks[HASH_BUFFERS];
  for (guint i = 0; i < HASH_BUFFERS; i++)
    {
      chunks[i].data = g_malloc (COPY_CHUNK);
      g_async_queue_push (w.free, &chunks[i]);
    }
  GThread *thread = g_thread_new ("skiff-hash", hash_worker, &w);
  g_autoptr (SkHasher) mine = sk_hasher_new (SK_DIGEST_SHA256);
  guint64 left = size;
  gboolean ok = TRUE;
  while (ok && left > 0)
    {
      Chunk *c = g_async_queue_pop (w.free);
      ok = read_full (fd, c->data, MIN (left, COPY_CHUNK), &c->len, error);
      if (ok && c->len == 0)
        {
          g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "file shrank while reading");
          ok = FALSE;
        }
      if (!ok)
        {
          g_async_queue_push (w.free, c);
          break;
        }
      left -= c->len;
      g_async_queue_push (w.work, c);
      sk_hasher_update (mine, c->data, c->len);
    }
  Chunk end = { NULL, 0 };
  g_async_queue_push (w.work, &end);
  g_thread_join (thread);
  for (guint i = 0; i < HASH_BUFFERS; i++)
    g_free (chunks[i].data);
  g_autofree char *object = sk_hasher_finish (w.hasher);
  sk_hasher_free (w.hasher);
  g_async_queue_unref (w.work);
  g_async_queue_unref (w.free);
  if (!ok)
    return FALSE;
  *out_digest = sk_hasher_finish (mine);
  *out_object = g_strdup (sk_digest_hex (object));
  return TRUE;
}

/* ostree's object checksum of @fd's @size bytes (after @header), in one
 * read. */
static char *
hash_object (int fd, guint64 size, GBytes *header, GError **error)
{
  g_autoptr (SkHasher) h = sk_hasher_new (SK_DIGEST_SHA256);
  gsize hlen;
  const void *hdata = g_bytes_get_data (header, &hlen);
  sk_hasher_update (h, hdata, hlen);
  g_autofree guint8 *buf = g_malloc (COPY_CHUNK);
  for (guint64 left = size; left > 0;)
    {
      gsize got = 0;
      if (!read_full (fd, buf, MIN (left, COPY_CHUNK), &got, error))
        return NULL;
      if (got == 0)
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "file shrank while reading"), NULL;
      sk_hasher_update (h, buf, got);
      left -= got;
    }
  g_autofree char *object = sk_hasher_finish (h);
  return g_strdup (sk_digest_hex (object));
}

static gboolean
same_file_state (const struct stat *a, const struct stat *b)
{
  return a->st_size == b->st_size && a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec
         && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec
         && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Stores @fd's bytes under ostree name @object without hashing again. */
static gboolean
write_trusted (SkStore *store, int fd, guint64 size, const char *object, GError **error)
{
  if (lseek (fd, 0, SEEK_SET) < 0)
    return sk_error_from_errno (error, errno, "seeking");
  g_autoptr (GInputStream) raw = g_unix_input_stream_new (fd, FALSE);
  g_autoptr (GFileInfo) info = blob_file_info (size);
  g_autoptr (GInputStream) content = NULL;
  guint64 len = 0;
  if (!ostree_raw_file_to_content_stream (raw, info, NULL, &content, &len, NULL, error))
    return FALSE;
  return ostree_repo_write_content_trusted (store->repo, object, content, len, NULL, error);
}

/* Makes the file @fd (at @path, in the store's filesystem) the repository
 * object @object without copying it: ostree's bare-user metadata goes
 * into its xattr and its mode, as ostree would write them, and it is
 * linked under its object name (already there: nothing to do). */
static gboolean
adopt_object (SkStore *store, int fd, const char *path, const char *object, GError **error)
{
  g_autoptr (GVariant) meta = g_variant_ref_sink (
      g_variant_new ("(uuu@a(ayay))", GUINT32_TO_BE (0), GUINT32_TO_BE (0), GUINT32_TO_BE (SK_BLOB_MODE),
                     g_variant_new_array (G_VARIANT_TYPE ("(ayay)"), NULL, 0)));
  if (fsetxattr (fd, "user.ostreemeta", g_variant_get_data (meta), g_variant_get_size (meta), 0) < 0)
    return sk_error_from_errno (error, errno, "setting the metadata of '%s'", path);
  if (fchmod (fd, (SK_BLOB_MODE & (S_IFREG | 0775)) | S_IRUSR) < 0)
    return sk_error_from_errno (error, errno, "chmod '%s'", path);
  int repo_dfd = ostree_repo_get_dfd (store->repo);
  g_autofree char *objdir = g_strdup_printf ("objects/%c%c", object[0], object[1]);
  if (mkdirat (repo_dfd, objdir, 0755) < 0 && errno != EEXIST)
    return sk_error_from_errno (error, errno, "creating '%s'", objdir);
  g_autofree char *objpath = sk_store_object_path (object);
  if (linkat (AT_FDCWD, path, repo_dfd, objpath, 0) < 0 && errno != EEXIST)
    return sk_error_from_errno (error, errno, "linking '%s' into the repository", path);
  return TRUE;
}

GBytes *
sk_store_blob_header (guint64 size, GError **error)
{
  return ostree_file_header (size, error);
}

/* sk_store_write_blob and sk_store_adopt_blob: @adopt_path is the file
 * to take over (its ostree name @known_object when the caller has it), or
 * NULL to copy. */
static SkStoreBlob *
store_blob (SkStore *store, int fd, const char *adopt_path, const char *known_object, const char *dir,
            const char *suffix, const char *expected_digest, char **out_digest, GError **error)
{
  struct stat before, after;
  if (fstat (fd, &before) < 0)
    return sk_error_from_errno (error, errno, "stat"), NULL;
  if (expected_digest)
    {
      g_autofree char *path = blob_tree_path (dir, expected_digest, suffix);
      g_autofree char *obj = sk_store_find_blob (store, path);
      if (obj)
        {
          sk_debug ("blob %s already stored", expected_digest);
          if (out_digest)
            *out_digest = g_strdup (expected_digest);
          return blob_new (path, obj, before.st_size);
        }
    }
  g_autoptr (GBytes) header = ostree_file_header (before.st_size, error);
  if (header == NULL || lseek (fd, 0, SEEK_SET) < 0)
    return NULL;
  (void) posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  g_autofree char *digest = NULL, *object = NULL;
  /* An adopted file was verified by its writer, as it wrote it: only its
   * ostree name is left to find. */
  if (adopt_path && expected_digest)
    {
      digest = g_strdup (expected_digest);
      object = known_object ? g_strdup (known_object) : hash_object (fd, before.st_size, header, error);
      if (object == NULL)
        return NULL;
    }
  else if (!hash_twice (fd, before.st_size, header, &digest, &object, error))
    return NULL;
  if (expected_digest && !g_str_equal (expected_digest, digest))
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                        "digest mismatch: expected '%s', got '%s'", expected_digest, digest), NULL;
  /* The bytes were read twice: refuse them if the file changed between
   * (an adopted file is checked before its metadata changes its ctime). */
  if (adopt_path && (fstat (fd, &after) < 0 || !same_file_state (&before, &after)))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "the file changed while it was being stored"), NULL;
  if (adopt_path ? !adopt_object (store, fd, adopt_path, object, error)
                 : !write_trusted (store, fd, before.st_size, object, error))
    return NULL;
  if (!adopt_path && (fstat (fd, &after) < 0 || !same_file_state (&before, &after)))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "the file changed while it was being stored"), NULL;
  g_autofree char *path = blob_tree_path (dir, digest, suffix);
  if (out_digest)
    *out_digest = g_steal_pointer (&digest);
  return blob_new (path, object, before.st_size);
}

SkStoreBlob *
sk_store_write_blob (SkStore *store, int fd, const char *dir, const char *suffix,
                     const char *expected_digest, char **out_digest, GError **error)
{
  return store_blob (store, fd, NULL, NULL, dir, suffix, expected_digest, out_digest, error);
}

SkStoreBlob *
sk_store_adopt_blob (SkStore *store, int fd, const char *path, const char *object, const char *dir,
                     const char *suffix, const char *expected_digest, GError **error)
{
  return store_blob (store, fd, path, object, dir, suffix, expected_digest, NULL, error);
}

char *
sk_store_blob_path (SkStore *store, const SkStoreBlob *blob)
{
  g_autofree char *rel = sk_store_object_path (blob->object);
  return g_build_filename (store->root, "repo", rel, NULL);
}

char *
sk_store_write_small (SkStore *store, GBytes *bytes, GError **error)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  return ostree_repo_write_regfile_inline (store->repo, NULL, 0, 0, SK_BLOB_MODE, NULL, data, len, NULL, error);
}

/* ---- commits ---- */

static char *
dirmeta_checksum (SkStore *store, GError **error)
{
  g_autoptr (GFileInfo) info = g_file_info_new ();
  g_file_info_set_attribute_uint32 (info, "unix::uid", 0);
  g_file_info_set_attribute_uint32 (info, "unix::gid", 0);
  g_file_info_set_attribute_uint32 (info, "unix::mode", S_IFDIR | 0755);
  g_autoptr (GVariant) meta = ostree_create_directory_metadata (info, NULL);
  g_autofree guchar *csum = NULL;
  if (!ostree_repo_write_metadata (store->repo, OSTREE_OBJECT_TYPE_DIR_META, NULL, meta, &csum, NULL, error))
    return NULL;
  return ostree_checksum_from_bytes (csum);
}

static gboolean
mtree_add (OstreeMutableTree *root, const char *dirmeta, const char *tree_path, const char *object,
           GError **error)
{
  g_autofree char *dir = g_path_get_dirname (tree_path);
  g_autofree char *base = g_path_get_basename (tree_path);
  OstreeMutableTree *parent = root;
  g_autoptr (OstreeMutableTree) sub = NULL;
  if (!g_str_equal (dir, "."))
    {
      if (!ostree_mutable_tree_ensure_dir (root, dir, &sub, error))
        return FALSE;
      ostree_mutable_tree_set_metadata_checksum (sub, dirmeta);
      parent = sub;
    }
  return ostree_mutable_tree_replace_file (parent, base, object, error);
}

static char *
write_commit (SkStore *store, const char *digest, GBytes *manifest, GBytes *config, GPtrArray *blobs,
              GError **error)
{
  g_autofree char *dirmeta = dirmeta_checksum (store, error);
  if (dirmeta == NULL)
    return NULL;
  g_autoptr (OstreeMutableTree) mtree = ostree_mutable_tree_new ();
  ostree_mutable_tree_set_metadata_checksum (mtree, dirmeta);
  g_autofree char *mobj = sk_store_write_small (store, manifest, error);
  g_autofree char *cobj = mobj ? sk_store_write_small (store, config, error) : NULL;
  if (cobj == NULL || !mtree_add (mtree, dirmeta, "manifest.json", mobj, error)
      || !mtree_add (mtree, dirmeta, "config.json", cobj, error))
    return NULL;
  guint64 size = g_bytes_get_size (manifest) + g_bytes_get_size (config);
  for (guint i = 0; i < blobs->len; i++)
    {
      SkStoreBlob *b = blobs->pdata[i];
      if (!mtree_add (mtree, dirmeta, b->tree_path, b->object, error))
        return NULL;
      size += b->size;
    }
  g_autoptr (GFile) root = NULL;
  if (!ostree_repo_write_mtree (store->repo, mtree, &root, NULL, error))
    return NULL;
  g_auto (GVariantDict) md;
  g_variant_dict_init (&md, NULL);
  g_variant_dict_insert (&md, SK_META_DIGEST, "s", digest);
  g_variant_dict_insert (&md, SK_META_SIZE, "t", size);
  g_autoptr (GVariant) meta = g_variant_ref_sink (g_variant_dict_end (&md));
  char *commit = NULL;
  if (!ostree_repo_write_commit (store->repo, NULL, "skiff image", digest, meta, OSTREE_REPO_FILE (root),
                                 &commit, NULL, error))
    return NULL;
  return commit;
}

static gboolean
resolve_ref (SkStore *store, const char *ref, char **out_commit, GError **error)
{
  return ostree_repo_resolve_rev_ext (store->repo, ref, TRUE, OSTREE_REPO_RESOLVE_REV_EXT_NONE, out_commit,
                                      error);
}

char *
sk_store_commit_image (SkStore *store, GBytes *manifest, GBytes *config, GPtrArray *blobs, const char *tag,
                       GError **error)
{
  gsize mlen;
  const void *mdata = g_bytes_get_data (manifest, &mlen);
  g_autofree char *digest = sk_digest_bytes (SK_DIGEST_SHA256, mdata, mlen);
  g_autofree char *image_ref = sk_store_image_ref (digest);
  g_autofree char *commit = NULL;
  if (!resolve_ref (store, image_ref, &commit, error))
    return NULL;
  if (!ostree_repo_prepare_transaction (store->repo, NULL, NULL, error))
    return NULL;
  if (commit == NULL)
    commit = write_commit (store, digest, manifest, config, blobs, error);
  if (commit == NULL)
    {
      (void) ostree_repo_abort_transaction (store->repo, NULL, NULL);
      return NULL;
    }
  ostree_repo_transaction_set_ref (store->repo, NULL, image_ref, commit);
  if (tag)
    {
      g_autofree char *tag_ref = sk_store_tag_ref (tag);
      ostree_repo_transaction_set_ref (store->repo, NULL, tag_ref, commit);
    }
  if (!ostree_repo_commit_transaction (store->repo, NULL, NULL, error))
    {
      (void) ostree_repo_abort_transaction (store->repo, NULL, NULL);
      return NULL;
    }
  return g_steal_pointer (&digest);
}

/* ---- tags ---- */

gboolean
sk_store_tag (SkStore *store, const char *digest, const char *tag, GError **error)
{
  g_autofree char *image_ref = sk_store_image_ref (digest);
  g_autofree char *commit = NULL;
  if (!resolve_ref (store, image_ref, &commit, error))
    return FALSE;
  if (commit == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "image '%s' not found", digest), FALSE;
  g_autofree char *tag_ref = sk_store_tag_ref (tag);
  return ostree_repo_set_ref_immediate (store->repo, NULL, tag_ref, commit, NULL, error);
}

static guint
count_tags_of (GHashTable *tags, const char *commit)
{
  guint n = 0;
  GHashTableIter it;
  gpointer c;
  g_hash_table_iter_init (&it, tags);
  while (g_hash_table_iter_next (&it, NULL, &c))
    n += g_str_equal (c, commit);
  return n;
}

gboolean
sk_store_untag (SkStore *store, const char *tag, gboolean *out_image_removed, GError **error)
{
  g_autofree char *tag_ref = sk_store_tag_ref (tag);
  g_autofree char *commit = NULL;
  if (!resolve_ref (store, tag_ref, &commit, error))
    return FALSE;
  if (commit == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "image '%s' not found", tag), FALSE;
  if (!ostree_repo_set_ref_immediate (store->repo, NULL, tag_ref, NULL, NULL, error))
    return FALSE;
  gboolean removed = FALSE;
  g_autoptr (GHashTable) tags = sk_store_list_refs (store, SK_REF_TAGS_DIR, error);
  if (tags == NULL)
    return FALSE;
  if (count_tags_of (tags, commit) == 0)
    {
      g_autoptr (GVariant) cv = NULL;
      const char *digest = NULL;
      if (!ostree_repo_load_variant (store->repo, OSTREE_OBJECT_TYPE_COMMIT, commit, &cv, error))
        return FALSE;
      g_autoptr (GVariant) meta = g_variant_get_child_value (cv, 0);
      g_auto (GVariantDict) dict;
      g_variant_dict_init (&dict, meta);
      if (g_variant_dict_lookup (&dict, SK_META_DIGEST, "&s", &digest))
        {
          g_autoptr (GPtrArray) holders = sk_store_holders (store, digest);
          if (holders->len == 0)
            {
              g_autofree char *image_ref = sk_store_image_ref (digest);
              if (!ostree_repo_set_ref_immediate (store->repo, NULL, image_ref, NULL, NULL, error))
                return FALSE;
              removed = TRUE;
            }
        }
    }
  if (out_image_removed)
    *out_image_removed = removed;
  return TRUE;
}

gboolean
sk_store_remove_image (SkStore *store, const char *digest, GError **error)
{
  g_autofree char *image_ref = sk_store_image_ref (digest);
  g_autofree char *commit = NULL;
  if (!resolve_ref (store, image_ref, &commit, error))
    return FALSE;
  if (commit == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "image '%s' not found", digest), FALSE;
  g_autoptr (GHashTable) tags = sk_store_list_refs (store, SK_REF_TAGS_DIR, error);
  if (tags == NULL)
    return FALSE;
  GHashTableIter it_ref;
  gpointer k_ref, v_ref;
  g_hash_table_iter_init (&it_ref, tags);
  while (g_hash_table_iter_next (&it_ref, &k_ref, &v_ref))
    {
      const char *ref = k_ref;
      const char *c = v_ref;
      if (!g_str_equal (c, commit))
        continue;
      g_autofree char *full = g_strconcat (SK_REF_TAGS, ref, NULL);
      if (!ostree_repo_set_ref_immediate (store->repo, NULL, full, NULL, NULL, error))
        return FALSE;
    }
  return ostree_repo_set_ref_immediate (store->repo, NULL, image_ref, NULL, NULL, error);
}

/* ---- holds ---- */

static gboolean
valid_holder (const char *holder)
{
  return *holder && strchr (holder, '/') == NULL && !g_str_equal (holder, ".") && !g_str_equal (holder, "..");
}

gboolean
sk_store_hold (SkStore *store, const char *digest, const char *holder, GError **error)
{
  g_return_val_if_fail (valid_holder (holder), FALSE);
  g_autofree char *dir = g_build_filename (store->holds_dir, sk_digest_hex (digest), NULL);
  g_autofree char *path = g_build_filename (dir, holder, NULL);
  if (g_mkdir_with_parents (dir, 0755) < 0)
    return sk_error_from_errno (error, errno, "creating '%s'", dir);
  return sk_file_write_atomic (path, "", 0, 0644, error);
}

gboolean
sk_store_release (SkStore *store, const char *digest, const char *holder, GError **error)
{
  g_return_val_if_fail (valid_holder (holder), FALSE);
  g_autofree char *dir = g_build_filename (store->holds_dir, sk_digest_hex (digest), NULL);
  g_autofree char *path = g_build_filename (dir, holder, NULL);
  if (unlink (path) < 0 && errno != ENOENT)
    return sk_error_from_errno (error, errno, "removing '%s'", path);
  (void) rmdir (dir);
  return TRUE;
}

GPtrArray *
sk_store_holders (SkStore *store, const char *digest)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *dir = g_build_filename (store->holds_dir, sk_digest_hex (digest), NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    if (!strstr (name, ".tmp-"))
      g_ptr_array_add (out, g_strdup (name));
  return out;
}
