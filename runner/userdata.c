/* skiff — cloud-init meta-data and user-data, emitted as text.  See
 * userdata.h for the documents and the merge rule. */
#include "runner/userdata.h"
#include "common/error.h"

#include <string.h>

#define SK_DEFAULT_SHELL "/bin/sh"
#define SK_MERGE_TYPE "dict(no_replace,recurse_list)+list(append)+str()"

SkUserDataSpec *
sk_userdata_spec_new (void)
{
  SkUserDataSpec *spec = g_new0 (SkUserDataSpec, 1);
  spec->authorized_keys = g_ptr_array_new_with_free_func (g_free);
  spec->env = g_ptr_array_new_with_free_func (g_free);
  spec->runcmd = g_ptr_array_new_with_free_func (g_free);
  return spec;
}

void
sk_userdata_spec_free (SkUserDataSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->instance_id);
  g_free (spec->hostname);
  g_free (spec->default_user);
  g_free (spec->shell);
  g_clear_pointer (&spec->authorized_keys, g_ptr_array_unref);
  g_free (spec->host_key_private);
  g_free (spec->host_key_public);
  g_clear_pointer (&spec->env, g_ptr_array_unref);
  g_clear_pointer (&spec->runcmd, g_ptr_array_unref);
  g_free (spec);
}

/* Appends one UTF-8 sequence (or a lone invalid byte) starting at @p as a
 * YAML escape; returns the number of bytes consumed. */
static gsize
yaml_escape_non_ascii (GString *out, const char *p)
{
  gsize avail = strnlen (p, 4);
  gunichar c = g_utf8_get_char_validated (p, avail);
  if (c == (gunichar) -1 || c == (gunichar) -2)
    {
      g_string_append (out, "\\uFFFD");
      return 1;
    }
  if (c > 0xffff)
    g_string_append_printf (out, "\\U%08X", c);
  else
    g_string_append_printf (out, "\\u%04X", c);
  return g_utf8_next_char (p) - p;
}

static void
yaml_append_quoted (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p != '\0';)
    {
      guchar c = *p;
      if (c >= 0x80)
        {
          p += yaml_escape_non_ascii (out, p);
          continue;
        }
      if (c == '"' || c == '\\')
        g_string_append_c (out, '\\'), g_string_append_c (out, c);
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\x%02X", c);
      else
        g_string_append_c (out, c);
      p++;
    }
  g_string_append_c (out, '"');
}

char *
sk_userdata_yaml_quote (const char *s)
{
  GString *out = g_string_new (NULL);
  yaml_append_quoted (out, s);
  return g_string_free (out, FALSE);
}

/* A literal block scalar keeps a PEM key readable; only text whose every
 * line is non-empty printable ASCII not starting with a blank qualifies. */
static gboolean
yaml_block_safe (const char *s)
{
  if (*s == '\0')
    return FALSE;
  gboolean line_start = TRUE;
  for (const char *p = s; *p != '\0'; p++)
    {
      guchar c = *p;
      if (c == '\n')
        {
          if (line_start)
            return FALSE;
          line_start = TRUE;
          continue;
        }
      if (c < 0x20 || c >= 0x7f || (line_start && c == ' '))
        return FALSE;
      line_start = FALSE;
    }
  return TRUE;
}

/* "<indent>key: value\n" with @value quoted, or as a block scalar when
 * @allow_block and the value qualifies. */
static void
yaml_append_field (GString *out, const char *indent, const char *key, const char *value,
                   gboolean allow_block)
{
  g_string_append_printf (out, "%s%s: ", indent, key);
  if (!allow_block || !yaml_block_safe (value))
    {
      yaml_append_quoted (out, value);
      g_string_append_c (out, '\n');
      return;
    }
  gboolean ends_nl = g_str_has_suffix (value, "\n");
  g_string_append (out, ends_nl ? "|\n" : "|-\n");
  g_auto (GStrv) lines = g_strsplit (value, "\n", -1);
  guint n = g_strv_length (lines) - (ends_nl ? 1 : 0);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (out, "%s  %s\n", indent, lines[i]);
}

static void
yaml_append_list (GString *out, const char *indent, const char *key, GPtrArray *items)
{
  g_string_append_printf (out, "%s%s:\n", indent, key);
  for (guint i = 0; i < items->len; i++)
    {
      g_string_append_printf (out, "%s  - ", indent);
      yaml_append_quoted (out, items->pdata[i]);
      g_string_append_c (out, '\n');
    }
}

char *
sk_userdata_meta_data (const char *instance_id, const char *hostname)
{
  GString *out = g_string_new (NULL);
  yaml_append_field (out, "", "instance-id", instance_id, FALSE);
  if (hostname != NULL)
    yaml_append_field (out, "", "local-hostname", hostname, FALSE);
  return g_string_free (out, FALSE);
}

static gboolean
is_env_key (const char *s, gsize len)
{
  if (len == 0 || g_ascii_isdigit (s[0]))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (s[i]) && s[i] != '_')
      return FALSE;
  return TRUE;
}

gboolean
sk_userdata_check_env (const char *kv, GError **error)
{
  const char *eq = strchr (kv, '=');
  if (eq == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "invalid environment variable '%s': expected KEY=VALUE", kv), FALSE;
  if (!is_env_key (kv, eq - kv))
    {
      g_autofree char *key = g_strndup (kv, eq - kv);
      return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                          "invalid environment variable name '%s': expected [A-Za-z_][A-Za-z0-9_]*",
                          key), FALSE;
    }
  if (strpbrk (eq + 1, "\n\r") != NULL)
    {
      g_autofree char *key = g_strndup (kv, eq - kv);
      return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                          "invalid environment variable '%s': the value contains a line break",
                          key), FALSE;
    }
  return TRUE;
}

static gboolean
is_hostname_label (const char *s, gsize len)
{
  if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (s[i]) && s[i] != '-')
      return FALSE;
  return TRUE;
}

gboolean
sk_userdata_check_hostname (const char *hostname, GError **error)
{
  gsize len = strlen (hostname);
  gboolean ok = len > 0 && len <= 253;
  for (const char *p = hostname; ok;)
    {
      const char *dot = strchr (p, '.');
      gsize label = dot ? (gsize) (dot - p) : strlen (p);
      ok = is_hostname_label (p, label);
      if (dot == NULL)
        break;
      p = dot + 1;
    }
  if (!ok)
    {
      g_autofree char *shown = g_strescape (hostname, NULL);
      return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                          "invalid hostname '%s': expected letters, digits, '-' and '.'", shown), FALSE;
    }
  return TRUE;
}

/* Names useradd accepts on every distribution (the portable subset). */
static gboolean
is_user_name (const char *s)
{
  gsize len = strlen (s);
  if (len == 0 || len > 32 || !(g_ascii_islower (s[0]) || s[0] == '_'))
    return FALSE;
  for (gsize i = 1; i < len; i++)
    if (!g_ascii_islower (s[i]) && !g_ascii_isdigit (s[i]) && s[i] != '_' && s[i] != '-')
      return FALSE;
  return TRUE;
}

/* Checks the parts of @spec that quoting alone does not make safe: a line
 * break in an authorized key would add a line of its own to the guest's
 * authorized_keys. */
static gboolean
check_spec (const SkUserDataSpec *spec, GError **error)
{
  if (spec->instance_id == NULL || *spec->instance_id == '\0')
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "user-data: no instance id"), FALSE;
  if (spec->hostname != NULL && !sk_userdata_check_hostname (spec->hostname, error))
    return FALSE;
  if (spec->default_user != NULL && !is_user_name (spec->default_user))
    {
      g_autofree char *shown = g_strescape (spec->default_user, NULL);
      return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                          "invalid default user '%s': expected [a-z_][a-z0-9_-]*", shown), FALSE;
    }
  for (guint i = 0; i < spec->authorized_keys->len; i++)
    if (strpbrk (spec->authorized_keys->pdata[i], "\n\r") != NULL)
      return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                          "invalid ssh key #%u: it contains a line break", i + 1), FALSE;
  if (spec->host_key_private != NULL
      && (spec->host_key_public == NULL || strpbrk (spec->host_key_public, "\n\r") != NULL))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                        "invalid ssh host key: the public key must be one line"), FALSE;
  for (guint i = 0; i < spec->env->len; i++)
    if (!sk_userdata_check_env (spec->env->pdata[i], error))
      return FALSE;
  return TRUE;
}

static void
append_users (GString *out, const SkUserDataSpec *spec)
{
  if (spec->default_user == NULL || g_str_equal (spec->default_user, "root"))
    return;
  g_string_append (out, "users:\n");
  yaml_append_field (out, "  - ", "name", spec->default_user, FALSE);
  yaml_append_field (out, "    ", "sudo", "ALL=(ALL) NOPASSWD:ALL", FALSE);
  yaml_append_field (out, "    ", "shell", spec->shell ? spec->shell : SK_DEFAULT_SHELL, FALSE);
  g_string_append (out, "    lock_passwd: true\n");
  if (spec->authorized_keys->len > 0)
    yaml_append_list (out, "    ", "ssh_authorized_keys", spec->authorized_keys);
}

static void
append_ssh (GString *out, const SkUserDataSpec *spec)
{
  if (spec->authorized_keys->len > 0)
    yaml_append_list (out, "", "ssh_authorized_keys", spec->authorized_keys);
  g_string_append (out, "disable_root: false\nssh_pwauth: false\n");
  if (spec->host_key_private == NULL)
    return;
  g_string_append (out, "ssh_keys:\n");
  yaml_append_field (out, "  ", "ed25519_private", spec->host_key_private, TRUE);
  yaml_append_field (out, "  ", "ed25519_public", spec->host_key_public, FALSE);
}

static void
append_write_file (GString *out, const char *path, const char *content, gboolean append)
{
  yaml_append_field (out, "  - ", "path", path, FALSE);
  yaml_append_field (out, "    ", "permissions", "0644", FALSE);
  if (append)
    g_string_append (out, "    append: true\n");
  yaml_append_field (out, "    ", "content", content, FALSE);
}

/* pam_env drops the quotes around a value that starts with one and keeps
 * everything between them as is, so KEY="VAL" round-trips any one-line
 * value; the profile script gets shell quoting. */
static void
append_env_files (GString *out, GPtrArray *env)
{
  if (env->len == 0)
    return;
  g_autoptr (GString) pam = g_string_new (NULL);
  g_autoptr (GString) profile = g_string_new ("# written by skiff from -e\n");
  for (guint i = 0; i < env->len; i++)
    {
      const char *kv = env->pdata[i];
      const char *eq = strchr (kv, '=');
      g_autofree char *quoted = g_shell_quote (eq + 1);
      g_string_append_printf (pam, "%.*s=\"%s\"\n", (int) (eq - kv), kv, eq + 1);
      g_string_append_printf (profile, "export %.*s=%s\n", (int) (eq - kv), kv, quoted);
    }
  g_string_append (out, "write_files:\n");
  append_write_file (out, "/etc/environment", pam->str, TRUE);
  append_write_file (out, "/etc/profile.d/skiff-env.sh", profile->str, FALSE);
}

static char *
build_cloud_config (const SkUserDataSpec *spec)
{
  GString *out = g_string_new ("#cloud-config\n");
  if (spec->hostname != NULL)
    yaml_append_field (out, "", "hostname", spec->hostname, FALSE);
  append_users (out, spec);
  append_ssh (out, spec);
  append_env_files (out, spec->env);
  if (spec->runcmd->len > 0)
    yaml_append_list (out, "", "runcmd", spec->runcmd);
  return g_string_free (out, FALSE);
}

static const struct {
  const char *prefix;
  const char *type;
} user_data_types[] = {
  /* Longer prefixes first: "#cloud-config" is a prefix of two others. */
  { "#cloud-config-archive", "text/cloud-config-archive" },
  { "#cloud-config-jsonp", "text/cloud-config-jsonp" },
  { "#cloud-config", "text/cloud-config" },
  { "#cloud-boothook", "text/cloud-boothook" },
  { "#include-once", "text/x-include-once-url" },
  { "#include", "text/x-include-url" },
  { "#part-handler", "text/part-handler" },
  { "## template: jinja", "text/jinja2" },
  { "#!", "text/x-shellscript" },
};

static gboolean
has_prefix_ci (const char *data, gsize len, const char *prefix)
{
  gsize plen = strlen (prefix);
  return len >= plen && g_ascii_strncasecmp (data, prefix, plen) == 0;
}

const char *
sk_userdata_detect_type (GBytes *data)
{
  gsize len = 0;
  const char *p = g_bytes_get_data (data, &len);
  for (gsize i = 0; i < G_N_ELEMENTS (user_data_types); i++)
    if (len >= strlen (user_data_types[i].prefix)
        && memcmp (p, user_data_types[i].prefix, strlen (user_data_types[i].prefix)) == 0)
      return user_data_types[i].type;
  if (has_prefix_ci (p, len, "Content-Type:") || has_prefix_ci (p, len, "MIME-Version:"))
    return "multipart/mixed";
  return NULL;
}

static gboolean
is_blank (GBytes *data)
{
  gsize len = 0;
  const char *p = g_bytes_get_data (data, &len);
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isspace (p[i]))
      return FALSE;
  return TRUE;
}

/* The user's part: a MIME message goes in whole (it is a valid part with
 * its own headers), anything else as base64 so no byte can be taken for a
 * boundary or a header. */
static char *
build_user_part (GBytes *data, const char *type)
{
  gsize len = 0;
  const guchar *p = g_bytes_get_data (data, &len);
  if (g_str_equal (type, "multipart/mixed"))
    return g_strndup ((const char *) p, len);
  g_autofree char *b64 = g_base64_encode (p, len);
  GString *out = g_string_new (NULL);
  g_string_append_printf (out, "Content-Type: %s; charset=\"utf-8\"\n", type);
  g_string_append (out, "MIME-Version: 1.0\nContent-Transfer-Encoding: base64\n");
  g_string_append (out, "Content-Disposition: attachment; filename=\"user-data\"\n\n");
  for (gsize i = 0, n = strlen (b64); i < n; i += 76)
    g_string_append_printf (out, "%.76s\n", b64 + i);
  return g_string_free (out, FALSE);
}

static char *
new_boundary (void)
{
  return g_strdup_printf ("==skiff-%08x%08x%08x%08x==", g_random_int (), g_random_int (),
                          g_random_int (), g_random_int ());
}

/* The user's part first, skiff's last: cloud-init merges each
 * cloud-config part into what came before with the part's own Merge-Type,
 * so skiff's rule holds whatever the user's parts say. */
static char *
build_multipart (const char *user_part, const char *skiff_config)
{
  g_autofree char *boundary = new_boundary ();
  /* 128 random bits: a clash is practically impossible, but checked. */
  while (strstr (skiff_config, boundary) != NULL || strstr (user_part, boundary) != NULL)
    {
      g_free (boundary);
      boundary = new_boundary ();
    }
  GString *out = g_string_new (NULL);
  g_string_append_printf (out, "Content-Type: multipart/mixed; boundary=\"%s\"\n", boundary);
  g_string_append (out, "MIME-Version: 1.0\n\n");
  /* The line break before a delimiter belongs to the delimiter. */
  g_string_append_printf (out, "--%s\n%s\n--%s\n", boundary, user_part, boundary);
  g_string_append (out, "Content-Type: text/cloud-config; charset=\"utf-8\"\n"
                        "MIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\n"
                        "Content-Disposition: attachment; filename=\"skiff.cfg\"\n"
                        "Merge-Type: " SK_MERGE_TYPE "\n\n");
  g_string_append_printf (out, "%s\n--%s--\n", skiff_config, boundary);
  return g_string_free (out, FALSE);
}

static gboolean
check_user_supplied (GBytes *data, const char **out_type, GError **error)
{
  gsize len = 0;
  const guchar *p = g_bytes_get_data (data, &len);
  if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
    return g_set_error (error, SK_ERROR, SK_ERROR_UNSUPPORTED,
                        "user-data: gzip-compressed user-data is not supported"), FALSE;
  const char *type = sk_userdata_detect_type (data);
  if (type == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "user-data: unknown format: expected '#cloud-config', '#!', "
                        "another cloud-init header or a MIME message"), FALSE;
  *out_type = type;
  return TRUE;
}

gboolean
sk_userdata_build (const SkUserDataSpec *spec, GBytes *user_supplied, char **out_user_data,
                   GError **error)
{
  if (!check_spec (spec, error))
    return FALSE;
  if (user_supplied != NULL && is_blank (user_supplied))
    user_supplied = NULL;
  if (user_supplied == NULL)
    {
      *out_user_data = build_cloud_config (spec);
      return TRUE;
    }
  const char *type = NULL;
  if (!check_user_supplied (user_supplied, &type, error))
    return FALSE;
  g_autofree char *config = build_cloud_config (spec);
  g_autofree char *user_part = build_user_part (user_supplied, type);
  *out_user_data = build_multipart (user_part, config);
  return TRUE;
}
