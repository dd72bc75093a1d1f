/* skiff — registry credentials: auth files and docker credential helpers. */
#include "registry/credentials.h"

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "registry/credential-helper.h"
#include "registry/registry-json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DOCKER_HUB_SERVER_URL "https://index.docker.io/v1/"

static const SkCredentialsOptions no_options = { 0 };
static const char *const default_helpers[] = { SK_CREDENTIALS_AUTH_FILES, NULL };

/* ---- options and paths ---- */

static const char *
opt_env (const SkCredentialsOptions *o, const char *value, const char *var)
{
  if (value == NULL && !o->ignore_environment)
    value = g_getenv (var);
  return value != NULL && *value != '\0' ? value : NULL;
}

static const char *
opt_home (const SkCredentialsOptions *o)
{
  const char *home = opt_env (o, o->home, "HOME");
  return home ? home : g_get_home_dir ();
}

static const char *
explicit_file (const SkCredentialsOptions *o)
{
  if (o->authfile != NULL && *o->authfile != '\0')
    return o->authfile;
  return opt_env (o, o->registry_auth_file, "REGISTRY_AUTH_FILE");
}

/* $XDG_RUNTIME_DIR/containers/auth.json, or podman's per-uid file. */
static char *
primary_path (const SkCredentialsOptions *o)
{
  const char *runtime = opt_env (o, o->xdg_runtime_dir, "XDG_RUNTIME_DIR");
  if (runtime != NULL)
    return g_build_filename (runtime, "containers", "auth.json", NULL);
  g_autofree char *uid = g_strdup_printf ("%u", (unsigned) getuid ());
  return g_build_filename (o->run_dir ? o->run_dir : "/run", "containers", uid, "auth.json", NULL);
}

static char *
config_home_path (const SkCredentialsOptions *o)
{
  const char *config = opt_env (o, o->xdg_config_home, "XDG_CONFIG_HOME");
  if (config != NULL)
    return g_build_filename (config, "containers", "auth.json", NULL);
  return g_build_filename (opt_home (o), ".config", "containers", "auth.json", NULL);
}

GStrv
sk_credentials_search_paths (const SkCredentialsOptions *opts)
{
  const SkCredentialsOptions *o = opts ? opts : &no_options;
  GPtrArray *paths = g_ptr_array_new ();
  const char *explicit = explicit_file (o);
  if (explicit != NULL)
    {
      g_ptr_array_add (paths, g_strdup (explicit));
      g_ptr_array_add (paths, NULL);
      return (GStrv) g_ptr_array_free (paths, FALSE);
    }
  g_ptr_array_add (paths, primary_path (o));
  g_ptr_array_add (paths, config_home_path (o));
  const char *docker = opt_env (o, o->docker_config, "DOCKER_CONFIG");
  if (docker != NULL)
    g_ptr_array_add (paths, g_build_filename (docker, "config.json", NULL));
  else
    g_ptr_array_add (paths, g_build_filename (opt_home (o), ".docker", "config.json", NULL));
  g_ptr_array_add (paths, g_build_filename (opt_home (o), ".dockercfg", NULL));
  g_ptr_array_add (paths, NULL);
  return (GStrv) g_ptr_array_free (paths, FALSE);
}

char *
sk_credentials_write_path (const SkCredentialsOptions *opts, GError **error)
{
  const SkCredentialsOptions *o = opts ? opts : &no_options;
  const char *explicit = explicit_file (o);
  if (explicit != NULL)
    return g_strdup (explicit);
  const char *runtime = opt_env (o, o->xdg_runtime_dir, "XDG_RUNTIME_DIR");
  if (runtime == NULL)
    return config_home_path (o);
  if (!g_file_test (runtime, G_FILE_TEST_IS_DIR))
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND,
                        "directory '%s' set by $XDG_RUNTIME_DIR does not exist: create it or unset XDG_RUNTIME_DIR",
                        runtime), NULL;
  return g_build_filename (runtime, "containers", "auth.json", NULL);
}

/* ---- keys ---- */

static const char *
canonical_registry (const char *host)
{
  if (g_strcmp0 (host, "index.docker.io") == 0 || g_strcmp0 (host, "registry-1.docker.io") == 0)
    return "docker.io";
  return host;
}

char *
sk_credentials_normalize_key (const char *key, gboolean legacy)
{
  const char *stripped = key;
  if (g_str_has_prefix (key, "http://"))
    stripped = key + strlen ("http://");
  else if (g_str_has_prefix (key, "https://"))
    stripped = key + strlen ("https://");
  g_autofree char *host = NULL;
  if (legacy || stripped != key)
    host = g_strndup (stripped, strcspn (stripped, "/"));
  else
    host = g_strdup (stripped);
  return g_strdup (canonical_registry (host));
}

/* Standard base64 as Go's StdEncoding reads it: padded, nothing else. */
static gboolean
strict_base64 (const char *s)
{
  gsize len = strlen (s);
  if (len % 4 != 0)
    return FALSE;
  gsize pad = 0;
  for (gsize i = 0; i < len; i++)
    {
      char c = s[i];
      if (c == '=')
        pad++;
      else if (pad > 0 || !(g_ascii_isalnum (c) || c == '+' || c == '/'))
        return FALSE;
    }
  return pad <= 2;
}

gboolean
sk_credentials_decode_auth (const char *auth, char **out_username, char **out_password, GError **error)
{
  if (!strict_base64 (auth))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "'auth' is not valid base64"), FALSE;
  gsize len = 0;
  g_autofree guchar *raw = g_base64_decode (auth, &len);
  while (len > 0 && raw[len - 1] == '\0')
    len--;
  g_autofree char *plain = g_strndup ((const char *) raw, len);
  explicit_bzero (raw, len);
  if (strlen (plain) != len)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "'auth' holds a NUL byte"), FALSE;
  const char *colon = strchr (plain, ':');
  if (colon == NULL)
    {
      explicit_bzero (plain, len);
      return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "'auth' does not decode to 'user:password'"),
             FALSE;
    }
  *out_username = g_strndup (plain, colon - plain);
  *out_password = g_strdup (colon + 1);
  explicit_bzero (plain, len);
  return TRUE;
}

void
sk_credentials_free (SkCredentials *creds)
{
  if (creds == NULL)
    return;
  if (creds->password != NULL)
    explicit_bzero (creds->password, strlen (creds->password));
  if (creds->identity_token != NULL)
    explicit_bzero (creds->identity_token, strlen (creds->identity_token));
  g_free (creds->username);
  g_free (creds->password);
  g_free (creds->identity_token);
  g_free (creds->source);
  g_free (creds);
}

/* Something a registry accepts: a user with a password, or a token. */
static gboolean
credentials_usable (const SkCredentials *c)
{
  return (c->username != NULL && *c->username != '\0' && c->password != NULL && *c->password != '\0')
         || (c->identity_token != NULL && *c->identity_token != '\0');
}

/* ---- credential helpers (registry/credential-helper.c) ---- */

/* docker.io is "docker.io" for podman but "https://index.docker.io/v1/"
 * for docker: ask for both, so a helper shared with docker is found. */
static gboolean
helper_get (const SkCredentialsOptions *o, const char *suffix, const char *registry, SkCredentials **out,
            GError **error)
{
  g_autoptr (SkCredentials) c = NULL;
  if (!sk_credential_helper_get (suffix, registry, o->helper_timeout_ms, &c, error))
    return FALSE;
  if ((c == NULL || !credentials_usable (c)) && strcmp (canonical_registry (registry), "docker.io") == 0)
    {
      g_clear_pointer (&c, sk_credentials_free);
      if (!sk_credential_helper_get (suffix, DOCKER_HUB_SERVER_URL, o->helper_timeout_ms, &c, error))
        return FALSE;
    }
  if (c != NULL && credentials_usable (c))
    *out = g_steal_pointer (&c);
  return TRUE;
}

/* ---- auth files ---- */

static gboolean
file_error (GError **error, const char *path, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
file_error (GError **error, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "invalid auth file '%s': %s", path, why), FALSE;
}

/* The shape the lookup relies on: objects where objects belong, strings
 * where strings belong. */
static gboolean
check_entries (const char *path, json_t *auths, GError **error)
{
  const char *key;
  json_t *entry;
  json_object_foreach (auths, key, entry)
    {
      const char *s = NULL;
      g_autoptr (GError) local = NULL;
      if (!json_is_object (entry))
        return file_error (error, path, "entry '%s': expected an object, got %s", key, sk_registry_json_type (entry));
      if (!sk_registry_json_string (entry, "auth", &s, &local)
          || !sk_registry_json_string (entry, "identitytoken", &s, &local))
        return file_error (error, path, "entry '%s': %s", key, local->message);
    }
  return TRUE;
}

static gboolean
check_root (const char *path, json_t *root, gboolean legacy, GError **error)
{
  if (legacy)
    return check_entries (path, root, error);
  static const char *const maps[] = { "auths", "credHelpers" };
  for (guint i = 0; i < G_N_ELEMENTS (maps); i++)
    {
      json_t *v = json_object_get (root, maps[i]);
      if (v != NULL && !json_is_object (v))
        return file_error (error, path, "'%s': expected an object, got %s", maps[i], sk_registry_json_type (v));
    }
  json_t *helpers = json_object_get (root, "credHelpers");
  const char *key;
  json_t *v;
  json_object_foreach (helpers, key, v)
    if (!json_is_string (v))
      return file_error (error, path, "'credHelpers': '%s': expected a string", key);
  json_t *store = json_object_get (root, "credsStore");
  if (store != NULL && !json_is_string (store))
    return file_error (error, path, "'credsStore': expected a string, got %s", sk_registry_json_type (store));
  json_t *auths = json_object_get (root, "auths");
  return auths == NULL || check_entries (path, auths, error);
}

/* Reads an auth file: *@out NULL when it does not exist; an empty file is
 * an empty object (as docker reads it). */
static gboolean
load_file (const char *path, gboolean legacy, json_t **out, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  *out = NULL;
  if (!g_file_get_contents (path, &data, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
          || g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOTDIR))
        return TRUE;
      return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "%s", local->message), FALSE;
    }
  gsize blank = 0;
  while (blank < len && g_ascii_isspace (data[blank]))
    blank++;
  if (blank == len)
    {
      *out = json_object ();
      return TRUE;
    }
  g_autoptr (json_t) root = sk_registry_json_parse (data, len, &local);
  if (root == NULL)
    return file_error (error, path, "%s", local->message);
  if (!check_root (path, root, legacy, error))
    return FALSE;
  *out = g_steal_pointer (&root);
  return TRUE;
}

/* The credHelpers entry for @host: the exact key, else a key that
 * normalises to the same registry. */
static const char *
cred_helper_for (json_t *root, const char *host)
{
  json_t *helpers = json_object_get (root, "credHelpers");
  json_t *exact = json_object_get (helpers, host);
  if (exact != NULL)
    return json_string_value (exact);
  const char *key;
  json_t *v;
  json_object_foreach (helpers, key, v)
    {
      g_autofree char *norm = sk_credentials_normalize_key (key, FALSE);
      if (strcmp (norm, canonical_registry (host)) == 0)
        return json_string_value (v);
    }
  return NULL;
}

static const char *
creds_store (json_t *root)
{
  const char *store = json_string_value (json_object_get (root, "credsStore"));
  return store != NULL && *store != '\0' ? store : NULL;
}

/* An entry's credentials; *@out stays NULL when it has none usable. */
static gboolean
entry_credentials (const char *path, const char *key, json_t *entry, SkCredentials **out, GError **error)
{
  const char *auth = json_string_value (json_object_get (entry, "auth"));
  const char *token = json_string_value (json_object_get (entry, "identitytoken"));
  g_autoptr (SkCredentials) c = g_new0 (SkCredentials, 1);
  if (auth != NULL && *auth != '\0' && !sk_credentials_decode_auth (auth, &c->username, &c->password, error))
    return g_prefix_error (error, "invalid auth file '%s': entry '%s': ", path, key), FALSE;
  if (token != NULL && *token != '\0')
    c->identity_token = g_strdup (token);
  c->source = g_strdup (path);
  if (credentials_usable (c))
    *out = g_steal_pointer (&c);
  return TRUE;
}

/* "host/ns/repo", "host/ns", "host" (legacy files: the host alone). */
static GPtrArray *
candidate_keys (const char *registry, const char *repository, gboolean legacy)
{
  GPtrArray *keys = g_ptr_array_new_with_free_func (g_free);
  if (!legacy && repository != NULL && *repository != '\0')
    {
      const char *host = canonical_registry (registry);
      g_autofree char *name = g_strconcat (host, "/", repository, NULL);
      char *slash;
      g_ptr_array_add (keys, g_strdup (name));
      while ((slash = strrchr (name, '/')) != NULL && slash > name + strlen (host))
        {
          *slash = '\0';
          g_ptr_array_add (keys, g_strdup (name));
        }
    }
  g_ptr_array_add (keys, g_strdup (registry));
  if (strcmp (canonical_registry (registry), registry) != 0)
    g_ptr_array_add (keys, g_strdup (canonical_registry (registry)));
  return keys;
}

static gboolean
match_auths (const char *path, json_t *auths, gboolean legacy, const char *registry, const char *repository,
             SkCredentials **out, GError **error)
{
  g_autoptr (GPtrArray) keys = candidate_keys (registry, repository, legacy);
  for (guint i = 0; i < keys->len; i++)
    {
      json_t *entry = json_object_get (auths, keys->pdata[i]);
      if (entry != NULL && !entry_credentials (path, keys->pdata[i], entry, out, error))
        return FALSE;
      if (*out != NULL)
        return TRUE;
    }
  /* host-only keys written as URLs, or under docker.io's other names */
  const char *key;
  json_t *entry;
  json_object_foreach (auths, key, entry)
    {
      g_autofree char *norm = sk_credentials_normalize_key (key, legacy);
      if (strcmp (norm, canonical_registry (registry)) != 0)
        continue;
      if (!entry_credentials (path, key, entry, out, error))
        return FALSE;
      if (*out != NULL)
        return TRUE;
    }
  return TRUE;
}

static gboolean
lookup_in_file (const SkCredentialsOptions *o, const char *path, gboolean legacy, const char *registry,
                const char *repository, SkCredentials **out, GError **error)
{
  g_autoptr (json_t) root = NULL;
  if (!load_file (path, legacy, &root, error))
    return FALSE;
  if (root == NULL)
    return TRUE;
  const char *helper = legacy ? NULL : cred_helper_for (root, registry);
  if (helper != NULL)
    return helper_get (o, helper, registry, out, error);
  json_t *auths = legacy ? root : json_object_get (root, "auths");
  if (auths != NULL && !match_auths (path, auths, legacy, registry, repository, out, error))
    return FALSE;
  const char *store = legacy ? NULL : creds_store (root);
  if (*out == NULL && store != NULL)
    return helper_get (o, store, registry, out, error);
  return TRUE;
}

static gboolean
lookup_in_files (const SkCredentialsOptions *o, const char *registry, const char *repository, SkCredentials **out,
                 GError **error)
{
  g_auto (GStrv) paths = sk_credentials_search_paths (o);
  gboolean has_legacy = explicit_file (o) == NULL;
  for (guint i = 0; paths[i] != NULL; i++)
    {
      gboolean legacy = has_legacy && paths[i + 1] == NULL;
      if (!lookup_in_file (o, paths[i], legacy, registry, repository, out, error))
        return FALSE;
      if (*out != NULL)
        return TRUE;
    }
  return TRUE;
}

gboolean
sk_credentials_lookup (const SkCredentialsOptions *opts, const char *registry, const char *repository_path,
                       SkCredentials **out, GError **error)
{
  const SkCredentialsOptions *o = opts ? opts : &no_options;
  if (o->username != NULL)
    {
      SkCredentials *c = g_new0 (SkCredentials, 1);
      c->username = g_strdup (o->username);
      c->password = g_strdup (o->password ? o->password : "");
      c->source = g_strdup ("--creds");
      *out = c;
      return TRUE;
    }
  g_autoptr (GError) first = NULL;
  const char *const *helpers = o->credential_helpers ? o->credential_helpers : default_helpers;
  for (guint i = 0; registry != NULL && *registry != '\0' && helpers[i] != NULL; i++)
    {
      SkCredentials *c = NULL;
      g_autoptr (GError) local = NULL;
      gboolean ok = strcmp (helpers[i], SK_CREDENTIALS_AUTH_FILES) == 0
                        ? lookup_in_files (o, registry, repository_path, &c, &local)
                        : helper_get (o, helpers[i], registry, &c, &local);
      if (!ok)
        {
          sk_debug ("credentials for '%s' from '%s': %s", registry, helpers[i], local->message);
          if (first == NULL)
            first = g_steal_pointer (&local);
          continue;
        }
      if (c != NULL)
        {
          sk_debug ("credentials for '%s' from '%s'", registry, c->source);
          *out = c;
          return TRUE;
        }
    }
  if (first != NULL)
    return g_propagate_error (error, g_steal_pointer (&first)), FALSE;
  *out = NULL;
  return TRUE;
}

/* ---- store and erase ---- */

static gboolean
check_registry (const char *registry, GError **error)
{
  gboolean ok = registry != NULL && *registry != '\0' && *registry != '/' && strstr (registry, "://") == NULL;
  for (const char *p = registry; ok && *p; p++)
    ok = *p > ' ' && *p < 0x7f;
  if (!ok)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE, "invalid registry '%s'",
                        registry ? registry : ""), FALSE;
  return TRUE;
}

static char *
host_of (const char *registry)
{
  return g_strndup (registry, strcspn (registry, "/"));
}

static gboolean
write_file (const char *path, json_t *root, GError **error)
{
  g_autofree char *real = g_file_test (path, G_FILE_TEST_IS_SYMLINK) ? realpath (path, NULL) : NULL;
  const char *target = real ? real : path;
  g_autofree char *dir = g_path_get_dirname (target);
  if (g_mkdir_with_parents (dir, 0700) < 0)
    return sk_error_from_errno (error, errno, "creating '%s'", dir);
  char *text = json_dumps (root, JSON_INDENT (2));
  g_autofree char *data = g_strconcat (text, "\n", NULL);
  explicit_bzero (text, strlen (text));
  free (text);
  gboolean ok = sk_file_write_atomic (target, data, strlen (data), 0600, error);
  explicit_bzero (data, strlen (data));
  return ok;
}

/* The write target's root object (a new one when the file is missing). */
static json_t *
load_target (const SkCredentialsOptions *o, char **out_path, GError **error)
{
  g_autofree char *path = sk_credentials_write_path (o, error);
  if (path == NULL)
    return NULL;
  json_t *root = NULL;
  if (!load_file (path, FALSE, &root, error))
    return NULL;
  *out_path = g_steal_pointer (&path);
  return root ? root : json_object ();
}

static gboolean
store_in_file (const SkCredentialsOptions *o, const char *registry, const char *username, const char *password,
               GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr (json_t) root = load_target (o, &path, error);
  if (root == NULL)
    return FALSE;
  g_autofree char *host = host_of (registry);
  const char *helper = cred_helper_for (root, host);
  if (helper != NULL || creds_store (root) != NULL)
    return sk_credential_helper_store (helper ? helper : creds_store (root), registry, username, password,
                                       o->helper_timeout_ms, error);
  json_t *auths = json_object_get (root, "auths");
  if (auths == NULL)
    json_object_set_new (root, "auths", auths = json_object ());
  json_t *entry = json_object_get (auths, registry);
  if (entry == NULL)
    json_object_set_new (auths, registry, entry = json_object ());
  g_autofree char *plain = g_strconcat (username, ":", password, NULL);
  g_autofree char *b64 = g_base64_encode ((const guchar *) plain, strlen (plain));
  explicit_bzero (plain, strlen (plain));
  json_object_set_new (entry, "auth", json_string (b64));
  json_object_del (entry, "identitytoken");
  explicit_bzero (b64, strlen (b64));
  return write_file (path, root, error);
}

gboolean
sk_credentials_store (const SkCredentialsOptions *opts, const char *registry, const char *username,
                      const char *password, GError **error)
{
  const SkCredentialsOptions *o = opts ? opts : &no_options;
  if (!check_registry (registry, error))
    return FALSE;
  if (username == NULL || *username == '\0' || strchr (username, ':') != NULL || password == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                        "invalid credentials for '%s': the user name must be non-empty and without ':'", registry),
           FALSE;
  if (!g_utf8_validate (username, -1, NULL) || !g_utf8_validate (password, -1, NULL))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "invalid credentials for '%s': not UTF-8", registry),
           FALSE;
  g_autoptr (GError) first = NULL;
  const char *const *helpers = o->credential_helpers ? o->credential_helpers : default_helpers;
  for (guint i = 0; helpers[i] != NULL; i++)
    {
      g_autoptr (GError) local = NULL;
      gboolean ok = strcmp (helpers[i], SK_CREDENTIALS_AUTH_FILES) == 0
                        ? store_in_file (o, registry, username, password, &local)
                        : sk_credential_helper_store (helpers[i], registry, username, password, o->helper_timeout_ms,
                                                      &local);
      if (ok)
        return TRUE;
      sk_debug ("storing credentials for '%s' in '%s': %s", registry, helpers[i], local->message);
      if (first == NULL)
        first = g_steal_pointer (&local);
    }
  return g_propagate_error (error, g_steal_pointer (&first)), FALSE;
}

/* Removes @registry's entries from @auths; TRUE when one was there. */
static gboolean
remove_entries (json_t *auths, const char *registry)
{
  gboolean removed = json_object_del (auths, registry) == 0;
  if (strchr (registry, '/') != NULL)
    return removed;
  const char *key;
  json_t *v;
  void *tmp;
  json_object_foreach_safe (auths, tmp, key, v)
    {
      g_autofree char *norm = sk_credentials_normalize_key (key, FALSE);
      if (strcmp (norm, canonical_registry (registry)) == 0 && json_object_del (auths, key) == 0)
        removed = TRUE;
    }
  return removed;
}

static gboolean
erase_in_file (const SkCredentialsOptions *o, const char *registry, gboolean *found, GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr (json_t) root = load_target (o, &path, error);
  if (root == NULL)
    return FALSE;
  g_autofree char *host = host_of (registry);
  const char *helper = cred_helper_for (root, host);
  if (helper == NULL)
    helper = creds_store (root);
  gboolean in_helper = FALSE;
  if (helper != NULL && !sk_credential_helper_erase (helper, registry, o->helper_timeout_ms, &in_helper, error))
    return FALSE;
  *found |= in_helper;
  json_t *auths = json_object_get (root, "auths");
  if (auths == NULL || !remove_entries (auths, registry))
    return TRUE;
  *found = TRUE;
  return write_file (path, root, error);
}

gboolean
sk_credentials_erase (const SkCredentialsOptions *opts, const char *registry, GError **error)
{
  const SkCredentialsOptions *o = opts ? opts : &no_options;
  if (!check_registry (registry, error))
    return FALSE;
  gboolean found = FALSE;
  const char *const *helpers = o->credential_helpers ? o->credential_helpers : default_helpers;
  for (guint i = 0; helpers[i] != NULL; i++)
    {
      gboolean in_helper = FALSE;
      gboolean ok = strcmp (helpers[i], SK_CREDENTIALS_AUTH_FILES) == 0
                        ? erase_in_file (o, registry, &found, error)
                        : sk_credential_helper_erase (helpers[i], registry, o->helper_timeout_ms, &in_helper, error);
      if (!ok)
        return FALSE;
      found |= in_helper;
    }
  if (!found)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "not logged in to '%s'", registry), FALSE;
  return TRUE;
}
