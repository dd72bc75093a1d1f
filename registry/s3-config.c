/* skiff — S3 settings from the environment and ~/.aws. */
#include "registry/s3-config.h"
#include "registry/sigv4.h"
#include "common/error.h"

#include <string.h>

#define DEFAULT_REGION "us-east-1"

void
sk_s3_config_free (SkS3Config *cfg)
{
  if (cfg == NULL)
    return;
  g_free (cfg->profile);
  g_free (cfg->region);
  g_free (cfg->endpoint);
  g_free (cfg->access_key);
  if (cfg->secret_key)
    memset (cfg->secret_key, 0, strlen (cfg->secret_key));
  g_free (cfg->secret_key);
  g_free (cfg->session_token);
  g_free (cfg);
}

/* ---------------------------------------------------------------- ini */

static GHashTable *
new_section (GHashTable *sections, const char *name)
{
  GHashTable *s = g_hash_table_lookup (sections, name);
  if (s == NULL)
    {
      s = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_insert (sections, g_strdup (name), s);
    }
  return s;
}

GHashTable *
sk_s3_ini_parse (const char *text, GError **error)
{
  g_autoptr (GHashTable) sections = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                           (GDestroyNotify) g_hash_table_unref);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GHashTable *current = NULL;
  g_autofree char *nest = NULL; /* "s3" while inside "s3 =" */
  for (guint i = 0; lines[i]; i++)
    {
      const char *raw = lines[i];
      gboolean indented = raw[0] == ' ' || raw[0] == '\t';
      g_autofree char *line = g_strstrip (g_strdup (raw));
      if (*line == '\0' || *line == '#' || *line == ';')
        continue;
      if (*line == '[')
        {
          char *close = strchr (line, ']');
          if (close == NULL)
            return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "line %u: unterminated section", i + 1),
                   NULL;
          *close = '\0';
          current = new_section (sections, g_strstrip (line + 1));
          g_clear_pointer (&nest, g_free);
          continue;
        }
      char *eq = strchr (line, '=');
      if (eq == NULL || current == NULL)
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "line %u: expected 'key = value'%s", i + 1,
                            current ? "" : " in a [section]"), NULL;
      *eq = '\0';
      const char *key = g_strstrip (line);
      const char *value = g_strstrip (eq + 1);
      if (!indented)
        g_clear_pointer (&nest, g_free);
      if (!indented && *value == '\0')
        {
          nest = g_strdup (key);
          continue;
        }
      char *full = nest && indented ? g_strdup_printf ("%s.%s", nest, key) : g_strdup (key);
      g_hash_table_replace (current, full, g_strdup (value));
    }
  return g_steal_pointer (&sections);
}

/* The sections of @path, or an empty table when it does not exist. */
static GHashTable *
load_ini (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
      return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "reading '%s': %s", path, local->message), NULL;
    }
  GHashTable *t = sk_s3_ini_parse (text, error);
  if (t == NULL)
    g_prefix_error (error, "'%s': ", path);
  return t;
}

/* ---------------------------------------------------------------- resolve */

static const char *
env_get (const char *const *env, const char *name)
{
  const char *v = g_environ_getenv ((char **) env, name);
  return v && *v ? v : NULL;
}

static char *
file_path (const char *const *env, const char *var, const char *home, const char *name)
{
  const char *v = env_get (env, var);
  return v ? g_strdup (v) : g_build_filename (home, ".aws", name, NULL);
}

static const char *
setting (GHashTable *section, const char *key)
{
  const char *v = section ? g_hash_table_lookup (section, key) : NULL;
  return v && *v ? v : NULL;
}

static gboolean
take_credentials (SkS3Config *cfg, GHashTable *section, const char *where, GError **error)
{
  const char *ak = setting (section, "aws_access_key_id");
  const char *sk = setting (section, "aws_secret_access_key");
  if (ak == NULL && sk == NULL)
    return TRUE;
  if (ak == NULL || sk == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "%s has %s without %s", where,
                        ak ? "aws_access_key_id" : "aws_secret_access_key",
                        ak ? "aws_secret_access_key" : "aws_access_key_id"), FALSE;
  cfg->access_key = g_strdup (ak);
  cfg->secret_key = g_strdup (sk);
  cfg->session_token = g_strdup (setting (section, "aws_session_token"));
  return TRUE;
}

static gboolean
resolve_credentials (SkS3Config *cfg, const char *const *env, GHashTable *creds_section, const char *creds_where,
                     GHashTable *config_section, const char *config_where, GError **error)
{
  const char *ak = env_get (env, "AWS_ACCESS_KEY_ID");
  const char *sk = env_get (env, "AWS_SECRET_ACCESS_KEY");
  if (ak || sk)
    {
      if (ak == NULL || sk == NULL)
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "%s is set but %s is not",
                            ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                            ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"), FALSE;
      cfg->access_key = g_strdup (ak);
      cfg->secret_key = g_strdup (sk);
      cfg->session_token = g_strdup (env_get (env, "AWS_SESSION_TOKEN"));
      return TRUE;
    }
  if (!take_credentials (cfg, creds_section, creds_where, error))
    return FALSE;
  if (cfg->access_key == NULL && !take_credentials (cfg, config_section, config_where, error))
    return FALSE;
  return TRUE;
}

static gboolean
set_endpoint (SkS3Config *cfg, const char *value, const char *where, GError **error)
{
  if (value == NULL)
    return TRUE;
  if (!g_str_has_prefix (value, "http://") && !g_str_has_prefix (value, "https://"))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "%s '%s' is not an http(s) URL", where, value),
           FALSE;
  g_autofree char *v = g_strdup (value);
  gsize len = strlen (v);
  while (len > 0 && v[len - 1] == '/')
    v[--len] = '\0';
  cfg->endpoint = g_steal_pointer (&v);
  return TRUE;
}

SkS3Config *
sk_s3_config_resolve (const char *const *env, const char *home, GError **error)
{
  g_autoptr (SkS3Config) cfg = g_new0 (SkS3Config, 1);
  const char *profile_env = env_get (env, "AWS_PROFILE");
  cfg->profile = g_strdup (profile_env ? profile_env : "default");
  g_autofree char *creds_path = file_path (env, "AWS_SHARED_CREDENTIALS_FILE", home, "credentials");
  g_autofree char *config_path = file_path (env, "AWS_CONFIG_FILE", home, "config");
  g_autoptr (GHashTable) creds = load_ini (creds_path, error);
  if (creds == NULL)
    return NULL;
  g_autoptr (GHashTable) config = load_ini (config_path, error);
  if (config == NULL)
    return NULL;
  g_autofree char *config_name = g_str_equal (cfg->profile, "default") ? g_strdup ("default")
                                                                        : g_strdup_printf ("profile %s", cfg->profile);
  GHashTable *cs = g_hash_table_lookup (creds, cfg->profile);
  GHashTable *ps = g_hash_table_lookup (config, config_name);
  if (profile_env && cs == NULL && ps == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "AWS_PROFILE '%s' is in neither '%s' nor '%s'",
                        cfg->profile, creds_path, config_path), NULL;
  g_autofree char *cs_where = g_strdup_printf ("'%s' [%s]", creds_path, cfg->profile);
  g_autofree char *ps_where = g_strdup_printf ("'%s' [%s]", config_path, config_name);
  if (!resolve_credentials (cfg, env, cs, cs_where, ps, ps_where, error))
    return NULL;
  const char *region = env_get (env, "AWS_REGION");
  region = region ? region : env_get (env, "AWS_DEFAULT_REGION");
  region = region ? region : setting (ps, "region");
  cfg->region = g_strdup (region ? region : DEFAULT_REGION);
  if (env_get (env, "AWS_ENDPOINT_URL_S3"))
    {
      if (!set_endpoint (cfg, env_get (env, "AWS_ENDPOINT_URL_S3"), "AWS_ENDPOINT_URL_S3", error))
        return NULL;
    }
  else if (env_get (env, "AWS_ENDPOINT_URL"))
    {
      if (!set_endpoint (cfg, env_get (env, "AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL", error))
        return NULL;
    }
  else if (!set_endpoint (cfg, setting (ps, "endpoint_url"), ps_where, error))
    return NULL;
  cfg->force_path_style = g_strcmp0 (setting (ps, "s3.addressing_style"), "path") == 0;
  return g_steal_pointer (&cfg);
}

SkS3Config *
sk_s3_config_load (GError **error)
{
  g_auto (GStrv) env = g_get_environ ();
  return sk_s3_config_resolve ((const char *const *) env, g_get_home_dir (), error);
}

char *
sk_s3_object_url (const SkS3Config *cfg, const char *bucket, const char *key)
{
  g_autofree char *path = sk_sigv4_uri_encode (key, -1, TRUE);
  if (cfg->endpoint)
    return g_strdup_printf ("%s/%s/%s", cfg->endpoint, bucket, path);
  if (cfg->force_path_style || strchr (bucket, '.'))
    return g_strdup_printf ("https://s3.%s.amazonaws.com/%s/%s", cfg->region, bucket, path);
  return g_strdup_printf ("https://%s.s3.%s.amazonaws.com/%s", bucket, cfg->region, path);
}
