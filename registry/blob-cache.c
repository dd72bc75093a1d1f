/* skiff — hints about blobs outside the store: where they were pushed,
 * what their compressed forms are. */
#include "registry/blob-cache.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "oci/digest.h"

#include <errno.h>
#include <string.h>

/* ROOT/registry-cache/KIND/<alg>-<hex>SUFFIX, or NULL for an invalid digest. */
static char *
cache_path (SkStore *store, const char *kind, const char *digest, const char *suffix)
{
  SkDigestAlgorithm alg;
  if (!sk_digest_validate (digest, &alg, NULL))
    return NULL;
  g_autofree char *name = g_strdup_printf ("%s-%s%s", sk_digest_algorithm_name (alg), sk_digest_hex (digest),
                                           suffix ? suffix : "");
  return g_build_filename (sk_store_root (store), "registry-cache", kind, name, NULL);
}

static char *
read_hint (const char *path)
{
  char *text = NULL;
  if (path == NULL || !g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

static void
write_hint (const char *path, const char *text)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;
  if (g_mkdir_with_parents (dir, 0755) < 0)
    sk_debug ("registry cache: creating '%s': %s", dir, g_strerror (errno));
  else if (!sk_file_write_atomic_nosync (path, text, strlen (text), 0644, &error))
    sk_debug ("registry cache: %s", error->message);
}

char *
sk_blob_cache_locations_update (const char *lines, const char *domain, const char *repository, guint max)
{
  g_autofree char *entry = g_strdup_printf ("%s/%s", domain, repository);
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto (GStrv) old = g_strsplit (lines ? lines : "", "\n", -1);
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  g_ptr_array_add (all, entry);
  for (guint i = 0; old[i]; i++)
    g_ptr_array_add (all, g_strstrip (old[i]));
  guint n = 0;
  for (guint i = 0; i < all->len && n < max; i++)
    {
      const char *line = all->pdata[i];
      if (*line == '\0' || !g_hash_table_add (seen, (gpointer) line))
        continue;
      g_string_append_printf (out, "%s\n", line);
      n++;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

GStrv
sk_blob_cache_locations_parse (const char *lines, const char *domain)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_auto (GStrv) all = g_strsplit (lines ? lines : "", "\n", -1);
  gsize dlen = strlen (domain);
  for (guint i = 0; all[i]; i++)
    {
      const char *line = g_strstrip (all[i]);
      if (strncmp (line, domain, dlen) == 0 && line[dlen] == '/' && line[dlen + 1] != '\0')
        g_strv_builder_add (b, line + dlen + 1);
    }
  return g_strv_builder_end (b);
}

void
sk_blob_cache_add_location (SkStore *store, const char *digest, const char *domain, const char *repository)
{
  g_autofree char *path = cache_path (store, "locations", digest, NULL);
  if (path == NULL)
    return;
  g_autofree char *old = read_hint (path);
  g_autofree char *lines = sk_blob_cache_locations_update (old, domain, repository, SK_BLOB_CACHE_MAX_LOCATIONS);
  if (g_strcmp0 (old, lines) != 0)
    write_hint (path, lines);
}

GStrv
sk_blob_cache_locations (SkStore *store, const char *digest, const char *domain)
{
  g_autofree char *path = cache_path (store, "locations", digest, NULL);
  g_autofree char *lines = read_hint (path);
  return sk_blob_cache_locations_parse (lines, domain);
}

void
sk_blob_cache_put_compressed (SkStore *store, const char *diff_id, const char *algorithm, const char *digest,
                              guint64 size)
{
  g_autofree char *suffix = g_strconcat (".", algorithm, NULL);
  g_autofree char *path = cache_path (store, "compressed", diff_id, suffix);
  if (path == NULL || !sk_digest_validate (digest, NULL, NULL))
    return;
  g_autofree char *text = g_strdup_printf ("%s %" G_GUINT64_FORMAT "\n", digest, size);
  write_hint (path, text);
}

gboolean
sk_blob_cache_get_compressed (SkStore *store, const char *diff_id, const char *algorithm, char **out_digest,
                              guint64 *out_size)
{
  g_autofree char *suffix = g_strconcat (".", algorithm, NULL);
  g_autofree char *path = cache_path (store, "compressed", diff_id, suffix);
  g_autofree char *text = read_hint (path);
  if (text == NULL)
    return FALSE;
  g_auto (GStrv) parts = g_strsplit (g_strstrip (text), " ", -1);
  char *end = NULL;
  if (g_strv_length (parts) != 2 || !sk_digest_validate (parts[0], NULL, NULL))
    return FALSE;
  guint64 size = g_ascii_strtoull (parts[1], &end, 10);
  if (end == parts[1] || *end != '\0')
    return FALSE;
  *out_digest = g_strdup (parts[0]);
  *out_size = size;
  return TRUE;
}
