/* skiff — stand-in credential lookup for the registry client (see the
 * header): auth.json-shaped files, base64 "auth" entries. */
#include "registry/client-credentials.h"
#include "registry/registry-json.h"
#include "common/error.h"
#include "common/log.h"

#include <string.h>

char *
sk_client_credentials_normalize_key (const char *key)
{
  const char *k = key;
  if (g_str_has_prefix (k, "https://"))
    k += 8;
  else if (g_str_has_prefix (k, "http://"))
    k += 7;
  g_autofree char *s = g_strdup (k);
  if (g_str_has_suffix (s, "/v1/") || g_str_has_suffix (s, "/v2/"))
    s[strlen (s) - 4] = '\0';
  while (*s && s[strlen (s) - 1] == '/')
    s[strlen (s) - 1] = '\0';
  if (g_str_equal (s, "index.docker.io") || g_str_has_prefix (s, "index.docker.io/"))
    return g_strconcat ("docker.io", s + strlen ("index.docker.io"), NULL);
  return g_steal_pointer (&s);
}

/* Decodes an "auth" value into user and password (split at the first ':'). */
static gboolean
decode_auth (const char *key, const char *auth, char **out_user, char **out_pass, GError **error)
{
  gsize len = 0;
  g_autofree guchar *raw = g_base64_decode (auth, &len);
  g_autofree char *text = g_strndup ((const char *) raw, len);
  char *colon = strchr (text, ':');
  if (colon == NULL || colon == text || strlen (text) != len)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                        "entry '%s': \"auth\" is not base64 of user:password", key), FALSE;
  *out_user = g_strndup (text, colon - text);
  *out_pass = g_strdup (colon + 1);
  memset (text, 0, len);
  return TRUE;
}

/* The most specific entry of @auths for domain/repository, or NULL. */
static json_t *
find_entry (json_t *auths, const char *domain, const char *repository, const char **out_key)
{
  g_autofree char *want = g_strdup_printf ("%s/%s", domain, repository);
  g_autofree char *want_norm = sk_client_credentials_normalize_key (want);
  /* Strip path components one by one: domain/a/b, domain/a, domain. */
  for (;;)
    {
      const char *key;
      json_t *value;
      json_object_foreach (auths, key, value)
        {
          g_autofree char *norm = sk_client_credentials_normalize_key (key);
          if (g_str_equal (norm, want_norm))
            return *out_key = key, value;
        }
      char *slash = strrchr (want_norm, '/');
      if (slash == NULL)
        return NULL;
      *slash = '\0';
    }
}

/* Reads one file; TRUE with nothing set when it does not exist or has no
 * matching entry. */
static gboolean
lookup_in_file (const char *path, const char *domain, const char *repository, char **out_user,
                char **out_pass, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &data, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
    }
  g_autoptr (json_t) root = sk_registry_json_parse (data, len, error);
  if (root == NULL)
    return g_prefix_error (error, "'%s': ", path), FALSE;
  json_t *auths = json_object_get (root, "auths");
  if (!json_is_object (auths))
    return TRUE;
  const char *key = NULL;
  json_t *entry = find_entry (auths, domain, repository, &key);
  const char *auth = entry ? json_string_value (json_object_get (entry, "auth")) : NULL;
  if (auth == NULL || *auth == '\0')
    return TRUE;
  if (!decode_auth (key, auth, out_user, out_pass, error))
    return g_prefix_error (error, "'%s': ", path), FALSE;
  sk_debug ("credentials for '%s' from '%s'", domain, path);
  return TRUE;
}

static GPtrArray *
search_path (const char *authfile)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("REGISTRY_AUTH_FILE");
  if (authfile || (env && *env))
    {
      g_ptr_array_add (paths, g_strdup (authfile ? authfile : env));
      return paths;
    }
  const char *runtime = g_getenv ("XDG_RUNTIME_DIR");
  if (runtime && *runtime)
    g_ptr_array_add (paths, g_build_filename (runtime, "containers", "auth.json", NULL));
  g_ptr_array_add (paths, g_build_filename (g_get_user_config_dir (), "containers", "auth.json", NULL));
  const char *docker = g_getenv ("DOCKER_CONFIG");
  if (docker && *docker)
    g_ptr_array_add (paths, g_build_filename (docker, "config.json", NULL));
  else
    g_ptr_array_add (paths, g_build_filename (g_get_home_dir (), ".docker", "config.json", NULL));
  return paths;
}

gboolean
sk_client_credentials_lookup (const char *authfile, const char *domain, const char *repository,
                              char **out_username, char **out_password, GError **error)
{
  g_autoptr (GPtrArray) paths = search_path (authfile);
  for (guint i = 0; i < paths->len; i++)
    {
      char *user = NULL, *pass = NULL;
      if (!lookup_in_file (paths->pdata[i], domain, repository, &user, &pass, error))
        return FALSE;
      if (user)
        {
          *out_username = user;
          *out_password = pass;
          return TRUE;
        }
    }
  return TRUE;
}
