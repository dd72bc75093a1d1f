/* skiff — helpers shared by the verbs that read or change the store. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "oci/digest.h"
#include "oci/reference.h"

SkStore *
sk_cmd_open_store (GError **error)
{
  g_autoptr (SkStore) store = sk_store_open (sk_globals.root, error);
  if (store == NULL || !sk_store_lock (store, SK_STORE_LOCK_SHARED, error))
    return NULL;
  return g_steal_pointer (&store);
}

char *
sk_cmd_normalize_name (const char *name, GError **error)
{
  g_autofree char *expanded = sk_reference_expand_arch (name);
  g_autoptr (SkReference) ref = sk_reference_parse (expanded, error);
  if (ref == NULL)
    return NULL;
  return sk_reference_to_string (ref);
}

static gboolean
looks_like_id (const char *s)
{
  const char *hex = g_str_has_prefix (s, "sha256:") ? s + 7 : s;
  if (strlen (hex) < 4)
    return FALSE;
  for (const char *p = hex; *p; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

SkStoreImage *
sk_cmd_lookup_image (SkStore *store, const char *name, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *full = sk_cmd_normalize_name (name, &local);
  if (full)
    {
      SkStoreImage *img = sk_store_lookup (store, full, &local);
      if (img || !looks_like_id (name))
        {
          if (img == NULL)
            g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "image '%s' not found", name);
          return img;
        }
      g_clear_error (&local);
    }
  else if (!looks_like_id (name))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return sk_store_lookup (store, name, error);
}

void
sk_cmd_split_familiar (const char *full, char **out_repo, char **out_tag)
{
  g_autoptr (SkReference) ref = sk_reference_parse (full, NULL);
  g_autofree char *fam = ref ? sk_reference_familiar (ref) : g_strdup (full);
  char *at = strchr (fam, '@');
  if (at)
    *at = '\0';
  char *slash = strrchr (fam, '/');
  char *colon = strrchr (slash ? slash : fam, ':');
  if (colon)
    {
      *colon = '\0';
      *out_tag = g_strdup (colon + 1);
    }
  else
    *out_tag = g_strdup ("<none>");
  *out_repo = g_strdup (fam);
}

char *
sk_cmd_short_id (const char *digest)
{
  return g_strndup (sk_digest_hex (digest), 12);
}
