/* skiff — manifest lists in the store (see list.h). */
#include "store/list.h"
#include "common/error.h"
#include "common/util.h"
#include "oci/mediatypes.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define HOLDER_PREFIX "list="

char *
sk_store_list_holder (const char *name)
{
  g_autofree char *esc = sk_store_escape_ref (name);
  return g_strconcat (HOLDER_PREFIX, esc, NULL);
}

char *
sk_store_list_of_holder (const char *holder)
{
  if (!g_str_has_prefix (holder, HOLDER_PREFIX))
    return NULL;
  return sk_store_unescape_ref (holder + strlen (HOLDER_PREFIX));
}

static char *
lists_dir (SkStore *store)
{
  return g_build_filename (sk_store_root (store), "lists", NULL);
}

static char *
list_path (SkStore *store, const char *name)
{
  g_autofree char *dir = lists_dir (store);
  g_autofree char *esc = sk_store_escape_ref (name);
  g_autofree char *file = g_strconcat (esc, ".json", NULL);
  return g_build_filename (dir, file, NULL);
}

gboolean
sk_store_list_exists (SkStore *store, const char *name)
{
  g_autofree char *path = list_path (store, name);
  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

SkIndex *
sk_store_list_load (SkStore *store, const char *name, GError **error)
{
  g_autofree char *path = list_path (store, name);
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &data, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "manifest list '%s' not found", name), NULL;
      return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "reading '%s': %s", path, local->message), NULL;
    }
  g_autoptr (GBytes) raw = g_bytes_new_take (g_steal_pointer (&data), len);
  SkIndex *idx = sk_index_parse (raw, SK_MEDIA_TYPE_OCI_INDEX, error);
  if (idx == NULL)
    g_prefix_error (error, "manifest list '%s': ", name);
  return idx;
}

static gboolean
names_digest (const SkIndex *idx, const char *digest)
{
  for (guint i = 0; idx && i < idx->manifests->len; i++)
    if (g_str_equal (((SkDescriptor *) idx->manifests->pdata[i])->digest, digest))
      return TRUE;
  return FALSE;
}

gboolean
sk_store_list_save (SkStore *store, const char *name, const SkIndex *idx, GError **error)
{
  g_autofree char *holder = sk_store_list_holder (name);
  g_autoptr (SkIndex) old = sk_store_list_exists (store, name) ? sk_store_list_load (store, name, NULL) : NULL;
  for (guint i = 0; i < idx->manifests->len; i++)
    if (!sk_store_hold (store, ((SkDescriptor *) idx->manifests->pdata[i])->digest, holder, error))
      return FALSE;
  g_autofree char *dir = lists_dir (store);
  if (g_mkdir_with_parents (dir, 0755) < 0)
    return sk_error_from_errno (error, errno, "creating '%s'", dir);
  g_autofree char *path = list_path (store, name);
  gsize len;
  const void *data = g_bytes_get_data (idx->raw, &len);
  if (!sk_file_write_atomic (path, data, len, 0644, error))
    return FALSE;
  for (guint i = 0; old && i < old->manifests->len; i++)
    {
      const char *digest = ((SkDescriptor *) old->manifests->pdata[i])->digest;
      if (!names_digest (idx, digest))
        (void) sk_store_release (store, digest, holder, NULL);
    }
  return TRUE;
}

gboolean
sk_store_list_remove (SkStore *store, const char *name, GError **error)
{
  g_autoptr (SkIndex) idx = sk_store_list_load (store, name, error);
  if (idx == NULL)
    return FALSE;
  g_autofree char *path = list_path (store, name);
  if (unlink (path) < 0)
    return sk_error_from_errno (error, errno, "removing '%s'", path);
  g_autofree char *holder = sk_store_list_holder (name);
  for (guint i = 0; i < idx->manifests->len; i++)
    (void) sk_store_release (store, ((SkDescriptor *) idx->manifests->pdata[i])->digest, holder, NULL);
  return TRUE;
}
