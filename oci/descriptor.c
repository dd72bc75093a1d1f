/* skiff — OCI content descriptors. */
#include "oci/descriptor.h"

#include "common/error.h"
#include "oci/digest.h"
#include "oci/oci-json.h"

#include <string.h>

#define INVALID(error, ...) (g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, __VA_ARGS__), FALSE)

SkPlatform *
sk_platform_new (const char *os, const char *architecture, const char *variant)
{
  SkPlatform *p = g_new0 (SkPlatform, 1);
  p->os = g_strdup (os);
  p->architecture = g_strdup (architecture);
  p->variant = g_strdup (variant);
  return p;
}

SkPlatform *
sk_platform_copy (const SkPlatform *p)
{
  if (p == NULL)
    return NULL;
  SkPlatform *c = sk_platform_new (p->os, p->architecture, p->variant);
  c->os_version = g_strdup (p->os_version);
  c->os_features = g_strdupv (p->os_features);
  return c;
}

void
sk_platform_free (SkPlatform *p)
{
  if (p == NULL)
    return;
  g_free (p->architecture);
  g_free (p->os);
  g_free (p->os_version);
  g_strfreev (p->os_features);
  g_free (p->variant);
  g_free (p);
}

gboolean
sk_platform_matches (const SkPlatform *p, const char *os, const char *architecture,
                     const char *variant)
{
  if (p == NULL)
    return FALSE;
  if (g_strcmp0 (p->os, os) != 0 || g_strcmp0 (p->architecture, architecture) != 0)
    return FALSE;
  return variant == NULL || g_strcmp0 (p->variant, variant) == 0;
}

SkDescriptor *
sk_descriptor_new (const char *media_type, const char *digest, gint64 size)
{
  SkDescriptor *d = g_new0 (SkDescriptor, 1);
  d->media_type = g_strdup (media_type);
  d->digest = g_strdup (digest);
  d->size = size;
  return d;
}

static GHashTable *
string_map_copy (GHashTable *src)
{
  if (src == NULL)
    return NULL;
  GHashTable *h = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, src);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_hash_table_insert (h, g_strdup (k), g_strdup (v));
  return h;
}

SkDescriptor *
sk_descriptor_copy (const SkDescriptor *d)
{
  if (d == NULL)
    return NULL;
  SkDescriptor *c = sk_descriptor_new (d->media_type, d->digest, d->size);
  c->urls = g_strdupv (d->urls);
  c->annotations = string_map_copy (d->annotations);
  c->artifact_type = g_strdup (d->artifact_type);
  c->platform = sk_platform_copy (d->platform);
  c->data = d->data ? g_bytes_ref (d->data) : NULL;
  return c;
}

void
sk_descriptor_free (SkDescriptor *d)
{
  if (d == NULL)
    return;
  g_free (d->media_type);
  g_free (d->digest);
  g_strfreev (d->urls);
  g_clear_pointer (&d->annotations, g_hash_table_unref);
  g_free (d->artifact_type);
  sk_platform_free (d->platform);
  g_clear_pointer (&d->data, g_bytes_unref);
  g_free (d);
}

const char *
sk_descriptor_get_annotation (const SkDescriptor *d, const char *key)
{
  return d->annotations ? g_hash_table_lookup (d->annotations, key) : NULL;
}

void
sk_descriptor_set_annotation (SkDescriptor *d, const char *key, const char *value)
{
  if (value == NULL)
    {
      if (d->annotations)
        g_hash_table_remove (d->annotations, key);
      return;
    }
  if (d->annotations == NULL)
    d->annotations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (d->annotations, g_strdup (key), g_strdup (value));
}

void
sk_descriptor_set_platform (SkDescriptor *d, SkPlatform *platform)
{
  sk_platform_free (d->platform);
  d->platform = platform;
}

/* One half of a media type: [A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126} */
static gboolean
media_type_part_valid (const char *s, gsize len)
{
  if (len < 1 || len > 127 || !g_ascii_isalnum (s[0]))
    return FALSE;
  for (gsize i = 1; i < len; i++)
    if (!g_ascii_isalnum (s[i]) && strchr ("!#$&^_.+-", s[i]) == NULL)
      return FALSE;
  return TRUE;
}

gboolean
sk_media_type_validate (const char *media_type, GError **error)
{
  if (media_type == NULL)
    return INVALID (error, "missing");
  const char *slash = strchr (media_type, '/');
  if (slash == NULL)
    return INVALID (error, "invalid media type '%s': no subtype", media_type);
  if (!media_type_part_valid (media_type, slash - media_type)
      || !media_type_part_valid (slash + 1, strlen (slash + 1)))
    return INVALID (error, "invalid media type '%s': not an RFC 6838 type/subtype", media_type);
  return TRUE;
}

/* <algorithm> ::= [a-z0-9]+ ([+._-] [a-z0-9]+)* */
static gboolean
digest_algorithm_valid (const char *s, gsize len)
{
  gboolean after_sep = TRUE;
  for (gsize i = 0; i < len; i++)
    {
      gboolean alnum = g_ascii_isdigit (s[i]) || (s[i] >= 'a' && s[i] <= 'z');
      if (!alnum && (after_sep || strchr ("+._-", s[i]) == NULL))
        return FALSE;
      after_sep = !alnum;
    }
  return len > 0 && !after_sep;
}

/* <encoded> ::= [a-zA-Z0-9=_-]+ */
static gboolean
digest_encoded_valid (const char *s)
{
  if (*s == '\0')
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isalnum (*s) && strchr ("=_-", *s) == NULL)
      return FALSE;
  return TRUE;
}

static gboolean
lower_hex_of_length (const char *s, gsize n)
{
  if (strlen (s) != n)
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isdigit (*s) && !(*s >= 'a' && *s <= 'f'))
      return FALSE;
  return TRUE;
}

gboolean
sk_descriptor_digest_validate (const char *digest, GError **error)
{
  if (digest == NULL)
    return INVALID (error, "missing");
  const char *colon = strchr (digest, ':');
  if (colon == NULL || !digest_algorithm_valid (digest, colon - digest)
      || !digest_encoded_valid (colon + 1))
    return INVALID (error, "invalid digest '%s': not <algorithm>:<encoded>", digest);
  g_autoptr (GError) local = NULL;
  if (sk_digest_validate (digest, NULL, &local))
    return TRUE;
  if (!g_error_matches (local, SK_ERROR, SK_ERROR_UNSUPPORTED))
    return INVALID (error, "%s", local->message);
  /* sha384 is registered by the spec although skiff never produces it. */
  if (g_str_has_prefix (digest, "sha384:") && !lower_hex_of_length (colon + 1, 96))
    return INVALID (error, "invalid digest '%s': sha384 needs 96 lowercase hex digits", digest);
  return TRUE;
}

/* "format": "uri": an absolute URI (scheme ":" rest) of URI characters. */
static gboolean
url_valid (const char *url)
{
  if (!g_ascii_isalpha (url[0]))
    return FALSE;
  const char *p = url + 1;
  while (g_ascii_isalnum (*p) || *p == '+' || *p == '-' || *p == '.')
    p++;
  if (*p != ':')
    return FALSE;
  for (p++; *p; p++)
    {
      if (*p == '%')
        {
          if (!g_ascii_isxdigit (p[1]) || !g_ascii_isxdigit (p[2]))
            return FALSE;
          p += 2;
        }
      else if (!g_ascii_isalnum (*p) && strchr ("-._~:/?#[]@!$&'()*+,;=", *p) == NULL)
        return FALSE;
    }
  return TRUE;
}

gboolean
sk_platform_validate (const SkPlatform *p, GError **error)
{
  if (p->architecture == NULL)
    return INVALID (error, "architecture: missing");
  if (p->os == NULL)
    return INVALID (error, "os: missing");
  const char *strs[] = { p->architecture, p->os, p->os_version, p->variant };
  for (guint i = 0; i < G_N_ELEMENTS (strs); i++)
    if (strs[i] && !g_utf8_validate (strs[i], -1, NULL))
      return INVALID (error, "not valid UTF-8");
  return TRUE;
}

static gboolean
annotations_validate (GHashTable *annotations, GError **error)
{
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, annotations);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      if (*(const char *) k == '\0')
        return INVALID (error, "annotations: empty key");
      if (!g_utf8_validate (k, -1, NULL) || v == NULL || !g_utf8_validate (v, -1, NULL))
        return INVALID (error, "annotations: '%s': not a valid UTF-8 string", (const char *) k);
    }
  return TRUE;
}

/* The spec: decoded data MUST be identical to the referenced content. */
static gboolean
data_validate (const SkDescriptor *d, GError **error)
{
  gsize len = 0;
  const guint8 *buf = g_bytes_get_data (d->data, &len);
  if ((gint64) len != d->size)
    return INVALID (error, "data: %zu bytes but size is %" G_GINT64_FORMAT, len, d->size);
  SkDigestAlgorithm alg;
  if (!sk_digest_validate (d->digest, &alg, NULL))
    return TRUE; /* unknown algorithm: cannot check, as for any content */
  g_autofree char *got = sk_digest_bytes (alg, buf, len);
  if (!g_str_equal (got, d->digest))
    return INVALID (error, "data: content has digest '%s', not '%s'", got, d->digest);
  return TRUE;
}

gboolean
sk_descriptor_validate (const SkDescriptor *d, GError **error)
{
  if (!sk_media_type_validate (d->media_type, error))
    return g_prefix_error (error, "mediaType: "), FALSE;
  if (!sk_descriptor_digest_validate (d->digest, error))
    return g_prefix_error (error, "digest: "), FALSE;
  if (d->size < 0)
    return INVALID (error, "size: %" G_GINT64_FORMAT " is negative", d->size);
  for (guint i = 0; d->urls && d->urls[i]; i++)
    if (!url_valid (d->urls[i]))
      return INVALID (error, "urls[%u]: invalid URL '%s'", i, d->urls[i]);
  if (d->annotations && !annotations_validate (d->annotations, error))
    return FALSE;
  if (d->artifact_type && !sk_media_type_validate (d->artifact_type, error))
    return g_prefix_error (error, "artifactType: "), FALSE;
  if (d->platform && !sk_platform_validate (d->platform, error))
    return g_prefix_error (error, "platform: "), FALSE;
  if (d->data && !data_validate (d, error))
    return FALSE;
  return TRUE;
}

/* Strict RFC 4648 base64 with padding, as Go's StdEncoding. */
static gboolean
base64_decode_strict (const char *s, GBytes **out)
{
  gsize len = strlen (s);
  if (len % 4 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (g_ascii_isalnum (s[i]) || s[i] == '+' || s[i] == '/')
        continue;
      if (s[i] != '=' || i < len - 2 || (i == len - 2 && s[len - 1] != '='))
        return FALSE;
    }
  gsize n = 0;
  guchar *buf = len ? g_base64_decode (s, &n) : NULL;
  *out = g_bytes_new_take (buf, n);
  return TRUE;
}

static gboolean
platform_from_json (json_t *obj, SkPlatform **out, GError **error)
{
  json_t *pj = NULL;
  if (!sk_json_get_object (obj, "platform", FALSE, &pj, error))
    return FALSE;
  if (pj == NULL)
    return TRUE;
  const char *os = NULL, *arch = NULL, *variant = NULL, *osver = NULL;
  g_autoptr (SkPlatform) p = NULL;
  if (!sk_json_get_string (pj, "architecture", TRUE, &arch, error)
      || !sk_json_get_string (pj, "os", TRUE, &os, error)
      || !sk_json_get_string (pj, "variant", FALSE, &variant, error)
      || !sk_json_get_string (pj, "os.version", FALSE, &osver, error))
    return g_prefix_error (error, "platform: "), FALSE;
  p = sk_platform_new (os, arch, variant);
  p->os_version = g_strdup (osver);
  if (!sk_json_get_strv (pj, "os.features", &p->os_features, error))
    return g_prefix_error (error, "platform: "), FALSE;
  *out = g_steal_pointer (&p);
  return TRUE;
}

static gboolean
descriptor_fields_from_json (json_t *v, SkDescriptor *d, GError **error)
{
  const char *mt = NULL, *digest = NULL, *at = NULL, *data = NULL;
  if (!sk_json_get_string (v, "mediaType", TRUE, &mt, error)
      || !sk_json_get_string (v, "digest", TRUE, &digest, error)
      || !sk_json_get_int (v, "size", TRUE, NULL, &d->size, error)
      || !sk_json_get_strv (v, "urls", &d->urls, error)
      || !sk_json_get_string_map (v, "annotations", &d->annotations, error)
      || !sk_json_get_string (v, "artifactType", FALSE, &at, error)
      || !sk_json_get_string (v, "data", FALSE, &data, error)
      || !platform_from_json (v, &d->platform, error))
    return FALSE;
  d->media_type = g_strdup (mt);
  d->digest = g_strdup (digest);
  d->artifact_type = g_strdup (at);
  if (data && !base64_decode_strict (data, &d->data))
    return INVALID (error, "data: invalid base64");
  return TRUE;
}

SkDescriptor *
sk_descriptor_from_json (json_t *v, GError **error)
{
  if (!json_is_object (v))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                        "expected a descriptor object, got %s", sk_json_type_name (v)), NULL;
  g_autoptr (SkDescriptor) d = g_new0 (SkDescriptor, 1);
  if (!descriptor_fields_from_json (v, d, error) || !sk_descriptor_validate (d, error))
    return NULL;
  return g_steal_pointer (&d);
}

gboolean
sk_descriptor_array_from_json (json_t *obj, const char *key, gboolean required,
                               GPtrArray **out, GError **error)
{
  json_t *arr = NULL;
  if (!sk_json_get_array (obj, key, required, &arr, error))
    return FALSE;
  if (arr == NULL)
    return TRUE;
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_descriptor_free);
  size_t i;
  json_t *v;
  json_array_foreach (arr, i, v)
    {
      SkDescriptor *d = sk_descriptor_from_json (v, error);
      if (d == NULL)
        return g_prefix_error (error, "%s[%zu]: ", key, i), FALSE;
      g_ptr_array_add (list, d);
    }
  *out = g_steal_pointer (&list);
  return TRUE;
}

static json_t *
platform_to_json (const SkPlatform *p)
{
  json_t *o = json_object ();
  json_object_set_new (o, "architecture", json_string (p->architecture));
  json_object_set_new (o, "os", json_string (p->os));
  if (p->os_version)
    json_object_set_new (o, "os.version", json_string (p->os_version));
  if (p->os_features)
    {
      json_t *a = json_array ();
      for (guint i = 0; p->os_features[i]; i++)
        json_array_append_new (a, json_string (p->os_features[i]));
      json_object_set_new (o, "os.features", a);
    }
  if (p->variant)
    json_object_set_new (o, "variant", json_string (p->variant));
  return o;
}

/* Key order of the OCI Go types, so documents look familiar. */
json_t *
sk_descriptor_to_json (const SkDescriptor *d)
{
  json_t *o = json_object ();
  json_object_set_new (o, "mediaType", json_string (d->media_type));
  json_object_set_new (o, "digest", json_string (d->digest));
  json_object_set_new (o, "size", json_integer (d->size));
  if (d->urls)
    {
      json_t *a = json_array ();
      for (guint i = 0; d->urls[i]; i++)
        json_array_append_new (a, json_string (d->urls[i]));
      json_object_set_new (o, "urls", a);
    }
  if (d->annotations)
    sk_json_set_string_map (o, "annotations", d->annotations);
  if (d->data)
    {
      gsize len = 0;
      const guchar *buf = g_bytes_get_data (d->data, &len);
      g_autofree char *b64 = g_base64_encode (buf, len);
      json_object_set_new (o, "data", json_string (b64));
    }
  if (d->platform)
    json_object_set_new (o, "platform", platform_to_json (d->platform));
  if (d->artifact_type)
    json_object_set_new (o, "artifactType", json_string (d->artifact_type));
  return o;
}

SkDescriptor *
sk_descriptor_parse (GBytes *bytes, GError **error)
{
  gsize len = 0;
  const char *buf = g_bytes_get_data (bytes, &len);
  g_autoptr (json_t) j = sk_json_parse_object (buf, len, error);
  SkDescriptor *d = j ? sk_descriptor_from_json (j, error) : NULL;
  if (d == NULL)
    g_prefix_error (error, "invalid descriptor: ");
  return d;
}

GBytes *
sk_descriptor_serialize (const SkDescriptor *d)
{
  g_autoptr (json_t) j = sk_descriptor_to_json (d);
  return sk_json_dump (j);
}
