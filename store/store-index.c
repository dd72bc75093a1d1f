/* skiff — a cache of the image list, so `images` does not open every
 * commit.  The cache is only trusted while both ref directories keep the
 * modification times it was written under (every ref change renames a file
 * in one of them); otherwise the list is rebuilt from the refs and the
 * cache rewritten.  Losing or corrupting it costs a rebuild, nothing more. */
#include "store/store-private.h"
#include "common/cleanup.h"
#include "common/util.h"

#include <sys/stat.h>

#define INDEX_VERSION 1

/* The directories' modification times, or NULL when one changed so
 * recently that a change in the same clock tick (file times are coarse)
 * could go unseen. */
static char *
refs_stamp (SkStore *store)
{
  gint64 now_ns = g_get_real_time () * 1000;
  g_autofree char *images = g_build_filename (store->root, "repo", "refs", "heads", SK_REF_IMAGES_DIR, NULL);
  g_autofree char *tags = g_build_filename (store->root, "repo", "refs", "heads", SK_REF_TAGS_DIR, NULL);
  g_autofree char *holds = g_strdup (store->holds_dir);
  GString *s = g_string_new (NULL);
  const char *dirs[] = { images, tags, holds };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      struct stat st = { 0 };
      (void) stat (dirs[i], &st);
      gint64 t = (gint64) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
      if (now_ns - t < 200 * 1000000)
        return g_string_free (s, TRUE), NULL;
      g_string_append_printf (s, "%lld.%ld/", (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    }
  return g_string_free (s, FALSE);
}

static char *
index_path (SkStore *store)
{
  return g_build_filename (store->root, "images.index", NULL);
}

static SkStoreImage *
image_from_json (json_t *o)
{
  const char *digest = json_string_value (json_object_get (o, "digest"));
  const char *commit = json_string_value (json_object_get (o, "commit"));
  json_t *tags = json_object_get (o, "tags");
  if (digest == NULL || commit == NULL || !json_is_array (tags))
    return NULL;
  SkStoreImage *img = g_new0 (SkStoreImage, 1);
  img->digest = g_strdup (digest);
  img->commit = g_strdup (commit);
  img->created = json_integer_value (json_object_get (o, "created"));
  img->size = json_integer_value (json_object_get (o, "size"));
  img->held = json_is_true (json_object_get (o, "held"));
  img->tags = g_ptr_array_new_with_free_func (g_free);
  size_t i;
  json_t *t;
  json_array_foreach (tags, i, t)
    if (json_is_string (t))
      g_ptr_array_add (img->tags, g_strdup (json_string_value (t)));
  return img;
}

GPtrArray *
sk_store_index_read (SkStore *store)
{
  g_autofree char *path = index_path (store);
  g_autoptr (json_t) root = json_load_file (path, 0, NULL);
  g_autofree char *stamp = refs_stamp (store);
  if (root == NULL || stamp == NULL || json_integer_value (json_object_get (root, "version")) != INDEX_VERSION
      || g_strcmp0 (json_string_value (json_object_get (root, "stamp")), stamp) != 0)
    return NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_store_image_free);
  size_t i;
  json_t *o;
  json_array_foreach (json_object_get (root, "images"), i, o)
    {
      SkStoreImage *img = image_from_json (o);
      if (img == NULL)
        return NULL;
      g_ptr_array_add (out, img);
    }
  return g_steal_pointer (&out);
}

/* Best effort: a cache that cannot be written is simply rebuilt next time. */
void
sk_store_index_write (SkStore *store, GPtrArray *images, const char *stamp)
{
  g_autoptr (json_t) arr = json_array ();
  for (guint i = 0; i < images->len; i++)
    {
      SkStoreImage *img = images->pdata[i];
      json_t *o = json_object ();
      json_object_set_new (o, "digest", json_string (img->digest));
      json_object_set_new (o, "commit", json_string (img->commit));
      json_object_set_new (o, "created", json_integer (img->created));
      json_object_set_new (o, "size", json_integer (img->size));
      json_object_set_new (o, "held", json_boolean (img->held));
      json_t *tags = json_array ();
      for (guint t = 0; t < img->tags->len; t++)
        json_array_append_new (tags, json_string (img->tags->pdata[t]));
      json_object_set_new (o, "tags", tags);
      json_array_append_new (arr, o);
    }
  if (stamp == NULL)
    return;
  g_autoptr (json_t) root = json_pack ("{s:i, s:s, s:O}", "version", INDEX_VERSION, "stamp", stamp, "images", arr);
  g_autofree char *text = json_dumps (root, JSON_COMPACT);
  g_autofree char *path = index_path (store);
  if (text)
    (void) sk_file_write_atomic (path, text, strlen (text), 0644, NULL);
}

char *
sk_store_index_stamp (SkStore *store)
{
  return refs_stamp (store);
}
