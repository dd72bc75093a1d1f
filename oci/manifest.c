/* skiff — OCI image manifests and indexes. */
#include "oci/manifest.h"

#include "common/error.h"
#include "oci/digest.h"
#include "oci/oci-json.h"

#include <string.h>

#define INVALID(error, ...) (g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, __VA_ARGS__), FALSE)

static const struct {
  SkManifestKind kind;
  const char *media_type;
} kinds[] = {
  { SK_MANIFEST_KIND_OCI_MANIFEST, SK_MEDIA_TYPE_OCI_MANIFEST },
  { SK_MANIFEST_KIND_OCI_INDEX, SK_MEDIA_TYPE_OCI_INDEX },
  { SK_MANIFEST_KIND_DOCKER_MANIFEST, SK_MEDIA_TYPE_DOCKER_MANIFEST },
  { SK_MANIFEST_KIND_DOCKER_MANIFEST_LIST, SK_MEDIA_TYPE_DOCKER_MANIFEST_LIST },
  { SK_MANIFEST_KIND_DOCKER_SCHEMA1, SK_MEDIA_TYPE_DOCKER_SCHEMA1 },
  { SK_MANIFEST_KIND_DOCKER_SCHEMA1_SIGNED, SK_MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED },
};

const char *
sk_manifest_kind_media_type (SkManifestKind kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (kinds[i].kind == kind)
      return kinds[i].media_type;
  return NULL;
}

/* "Application/Foo+JSON; charset=utf-8" -> "application/foo+json" */
static char *
media_type_normalize (const char *content_type)
{
  const char *semi = strchr (content_type, ';');
  g_autofree char *bare = semi ? g_strndup (content_type, semi - content_type) : g_strdup (content_type);
  return g_ascii_strdown (g_strstrip (bare), -1);
}

SkManifestKind
sk_manifest_kind_from_media_type (const char *media_type)
{
  if (media_type == NULL)
    return SK_MANIFEST_KIND_UNKNOWN;
  g_autofree char *mt = media_type_normalize (media_type);
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_equal (kinds[i].media_type, mt))
      return kinds[i].kind;
  return SK_MANIFEST_KIND_UNKNOWN;
}

/* Schema 2 without a recognised mediaType: OCI before image-spec 1.0.2
 * omitted it, so look at the config's type and for "manifests". */
static SkManifestKind
guess_schema2 (json_t *j)
{
  json_t *config = json_object_get (j, "config");
  json_t *cmt = config ? json_object_get (config, "mediaType") : NULL;
  if ((config && !json_is_object (config) && !json_is_null (config)) || (cmt && !json_is_string (cmt)))
    return SK_MANIFEST_KIND_UNKNOWN;
  const char *config_type = cmt ? json_string_value (cmt) : "";
  if (g_str_equal (config_type, SK_MEDIA_TYPE_OCI_CONFIG))
    return SK_MANIFEST_KIND_OCI_MANIFEST;
  if (g_str_equal (config_type, SK_MEDIA_TYPE_DOCKER_CONFIG))
    return SK_MANIFEST_KIND_DOCKER_MANIFEST;
  json_t *manifests = json_object_get (j, "manifests");
  if (manifests && !json_is_array (manifests) && !json_is_null (manifests))
    return SK_MANIFEST_KIND_UNKNOWN;
  if (manifests && json_array_size (manifests) > 0)
    return *config_type == '\0' ? SK_MANIFEST_KIND_OCI_INDEX : SK_MANIFEST_KIND_UNKNOWN;
  /* Most likely an artifact with its own config type. */
  return SK_MANIFEST_KIND_OCI_MANIFEST;
}

SkManifestKind
sk_manifest_guess_kind (const void *data, gsize len)
{
  g_autoptr (json_t) j = json_loadb (data, len, 0, NULL);
  if (j == NULL || !json_is_object (j))
    return SK_MANIFEST_KIND_UNKNOWN;
  json_t *mt = json_object_get (j, "mediaType");
  json_t *sv = json_object_get (j, "schemaVersion");
  if ((mt && !json_is_string (mt) && !json_is_null (mt)) || (sv && !json_is_integer (sv) && !json_is_null (sv)))
    return SK_MANIFEST_KIND_UNKNOWN;
  SkManifestKind kind = sk_manifest_kind_from_media_type (mt ? json_string_value (mt) : NULL);
  if (kind != SK_MANIFEST_KIND_UNKNOWN && kind != SK_MANIFEST_KIND_DOCKER_SCHEMA1
      && kind != SK_MANIFEST_KIND_DOCKER_SCHEMA1_SIGNED)
    return kind;
  json_t *sigs = json_object_get (j, "signatures");
  switch (sv ? json_integer_value (sv) : 0)
    {
    case 1:
      return sigs && !json_is_null (sigs) ? SK_MANIFEST_KIND_DOCKER_SCHEMA1_SIGNED
                                          : SK_MANIFEST_KIND_DOCKER_SCHEMA1;
    case 2:
      return guess_schema2 (j);
    default:
      return SK_MANIFEST_KIND_UNKNOWN;
    }
}

/* Size limit, JSON, schemaVersion: what every manifest-like document needs. */
static json_t *
document_parse (GBytes *raw, GError **error)
{
  gsize len = 0;
  const char *buf = g_bytes_get_data (raw, &len);
  if (len > SK_MANIFEST_MAX_SIZE)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "%zu bytes is more than the %d MiB limit",
                        len, SK_MANIFEST_MAX_SIZE >> 20), NULL;
  g_autoptr (json_t) j = sk_json_parse_object (buf, len, error);
  if (j == NULL)
    return NULL;
  gint64 version = 0;
  if (!sk_json_get_int (j, "schemaVersion", TRUE, NULL, &version, error))
    return NULL;
  if (version != 2)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                        "schemaVersion: must be 2, not %" G_GINT64_FORMAT, version), NULL;
  return g_steal_pointer (&j);
}

/* The document's own mediaType must be one of @allowed; a @content_type
 * given from outside must agree with it (or be one of @allowed when the
 * document has none). */
static gboolean
media_type_check (const char *doc_type, const char *content_type, const char *const *allowed,
                  const char *what, GError **error)
{
  if (doc_type && !g_strv_contains (allowed, doc_type))
    return INVALID (error, "mediaType: '%s' is not %s type", doc_type, what);
  if (content_type == NULL || *content_type == '\0')
    return TRUE;
  g_autofree char *ct = media_type_normalize (content_type);
  if (doc_type && !g_str_equal (ct, doc_type))
    return INVALID (error, "content type '%s' does not match mediaType '%s'", content_type, doc_type);
  if (doc_type == NULL && !g_strv_contains (allowed, ct))
    return INVALID (error, "content type '%s' is not %s type", content_type, what);
  return TRUE;
}

static gboolean
optional_descriptor (json_t *j, const char *key, gboolean required, SkDescriptor **out, GError **error)
{
  json_t *v = json_object_get (j, key);
  if (v == NULL)
    return required ? INVALID (error, "%s: missing", key) : TRUE;
  *out = sk_descriptor_from_json (v, error);
  if (*out == NULL)
    return g_prefix_error (error, "%s: ", key), FALSE;
  return TRUE;
}

static gboolean
optional_media_type (json_t *j, const char *key, char **out, GError **error)
{
  const char *s = NULL;
  if (!sk_json_get_string (j, key, FALSE, &s, error))
    return FALSE;
  if (s && !sk_media_type_validate (s, error))
    return g_prefix_error (error, "%s: ", key), FALSE;
  *out = g_strdup (s);
  return TRUE;
}

static const char *const manifest_types[] = { SK_MEDIA_TYPE_OCI_MANIFEST, SK_MEDIA_TYPE_DOCKER_MANIFEST, NULL };
static const char *const index_types[] = { SK_MEDIA_TYPE_OCI_INDEX, SK_MEDIA_TYPE_DOCKER_MANIFEST_LIST, NULL };

static gboolean
manifest_fields (json_t *j, SkManifest *m, const char *content_type, GError **error)
{
  if (!optional_media_type (j, "mediaType", &m->media_type, error)
      || !media_type_check (m->media_type, content_type, manifest_types, "an image manifest", error))
    return FALSE;
  if (json_object_get (j, "manifests"))
    return INVALID (error, "an image manifest cannot have 'manifests' (an index can)");
  if (!optional_media_type (j, "artifactType", &m->artifact_type, error)
      || !optional_descriptor (j, "config", TRUE, &m->config, error)
      || !sk_descriptor_array_from_json (j, "layers", TRUE, &m->layers, error)
      || !optional_descriptor (j, "subject", FALSE, &m->subject, error)
      || !sk_json_get_string_map (j, "annotations", &m->annotations, error))
    return FALSE;
  if (m->layers->len == 0)
    return INVALID (error, "layers: empty, at least one layer is required");
  if (g_str_equal (m->config->media_type, SK_MEDIA_TYPE_OCI_EMPTY) && m->artifact_type == NULL)
    return INVALID (error, "artifactType: required when the config is the empty descriptor");
  return TRUE;
}

SkManifest *
sk_manifest_parse (GBytes *raw, const char *content_type, GError **error)
{
  g_autoptr (SkManifest) m = g_new0 (SkManifest, 1);
  m->raw = g_bytes_ref (raw);
  g_autoptr (json_t) j = document_parse (raw, error);
  if (j == NULL || !manifest_fields (j, m, content_type, error))
    return g_prefix_error (error, "invalid manifest: "), NULL;
  gsize len = 0;
  const void *buf = g_bytes_get_data (raw, &len);
  m->digest = sk_digest_bytes (SK_DIGEST_SHA256, buf, len);
  return g_steal_pointer (&m);
}

void
sk_manifest_free (SkManifest *m)
{
  if (m == NULL)
    return;
  g_clear_pointer (&m->raw, g_bytes_unref);
  g_free (m->digest);
  g_free (m->media_type);
  g_free (m->artifact_type);
  sk_descriptor_free (m->config);
  g_clear_pointer (&m->layers, g_ptr_array_unref);
  sk_descriptor_free (m->subject);
  g_clear_pointer (&m->annotations, g_hash_table_unref);
  g_free (m);
}

SkDescriptor *
sk_manifest_to_descriptor (const SkManifest *m)
{
  SkDescriptor *d = sk_descriptor_new (m->media_type ? m->media_type : SK_MEDIA_TYPE_OCI_MANIFEST,
                                       m->digest, g_bytes_get_size (m->raw));
  d->artifact_type = g_strdup (m->artifact_type);
  return d;
}

gboolean
sk_media_type_is_disk (const char *media_type)
{
  return g_strcmp0 (media_type, SK_MEDIA_TYPE_DISK_QCOW2) == 0
         || g_strcmp0 (media_type, SK_MEDIA_TYPE_DISK_QCOW2_ZSTD) == 0
         || g_strcmp0 (media_type, SK_MEDIA_TYPE_DISK_QCOW2_GZIP) == 0;
}

static gboolean
disk_layer_validate (const SkDescriptor *d, GHashTable *seen, GError **error)
{
  const char *diff_id = sk_descriptor_get_annotation (d, SK_ANNOTATION_DISK_DIFF_ID);
  const char *size = sk_descriptor_get_annotation (d, SK_ANNOTATION_DISK_SIZE);
  if (diff_id == NULL)
    return INVALID (error, "annotation '%s' missing", SK_ANNOTATION_DISK_DIFF_ID);
  g_autoptr (GError) local = NULL;
  if (!sk_digest_validate (diff_id, NULL, &local))
    return INVALID (error, "annotation '%s': %s", SK_ANNOTATION_DISK_DIFF_ID, local->message);
  guint64 n = 0;
  if (size == NULL)
    return INVALID (error, "annotation '%s' missing", SK_ANNOTATION_DISK_SIZE);
  if (!g_ascii_string_to_unsigned (size, 10, 0, G_MAXINT64, &n, NULL))
    return INVALID (error, "annotation '%s': '%s' is not a byte count", SK_ANNOTATION_DISK_SIZE, size);
  /* An uncompressed layer is its own diff: anything else is a lie. */
  if (g_str_equal (d->media_type, SK_MEDIA_TYPE_DISK_QCOW2)
      && (!g_str_equal (diff_id, d->digest) || (gint64) n != d->size))
    return INVALID (error, "uncompressed disk layer: diff-id and size must equal its digest and size");
  /* A repeated diff-id would make the backing chain a loop. */
  if (!g_hash_table_add (seen, (gpointer) diff_id))
    return INVALID (error, "diff-id '%s' appears twice", diff_id);
  return TRUE;
}

static gboolean
skiff_layer_validate (const SkDescriptor *d, GHashTable *seen, guint *disks, guint *kernels,
                      guint *initrds, GError **error)
{
  g_autoptr (GError) local = NULL;
  if (!sk_digest_validate (d->digest, NULL, &local))
    return INVALID (error, "digest: %s", local->message);
  if (sk_media_type_is_disk (d->media_type))
    return (*disks)++, disk_layer_validate (d, seen, error);
  if (g_str_equal (d->media_type, SK_MEDIA_TYPE_KERNEL))
    return ++(*kernels) == 1 ? TRUE : INVALID (error, "more than one kernel");
  if (g_str_equal (d->media_type, SK_MEDIA_TYPE_INITRD))
    return ++(*initrds) == 1 ? TRUE : INVALID (error, "more than one initrd");
  return INVALID (error, "mediaType: '%s' is not a skiff layer type", d->media_type);
}

gboolean
sk_manifest_validate_skiff (const SkManifest *m, GError **error)
{
  /* a container image gets a code of its own: callers may look for a
   * containerDisk in it */
  int code = g_str_equal (m->config->media_type, SK_MEDIA_TYPE_OCI_CONFIG)
                     || g_str_equal (m->config->media_type, SK_MEDIA_TYPE_DOCKER_CONFIG)
                 ? SK_ERROR_NOT_SKIFF_IMAGE
                 : SK_ERROR_INVALID_IMAGE;
  if (g_strcmp0 (m->media_type, SK_MEDIA_TYPE_OCI_MANIFEST) != 0)
    return g_set_error (error, SK_ERROR, code, "not a skiff image: mediaType is '%s', not '%s'",
                        m->media_type ? m->media_type : "", SK_MEDIA_TYPE_OCI_MANIFEST), FALSE;
  if (g_strcmp0 (m->artifact_type, SK_ARTIFACT_TYPE_VM) != 0)
    return g_set_error (error, SK_ERROR, code, "not a skiff image: artifactType is '%s', not '%s'",
                        m->artifact_type ? m->artifact_type : "", SK_ARTIFACT_TYPE_VM), FALSE;
  if (!g_str_equal (m->config->media_type, SK_MEDIA_TYPE_VM_CONFIG))
    return g_set_error (error, SK_ERROR, code, "not a skiff image: config mediaType is '%s', not '%s'",
                        m->config->media_type, SK_MEDIA_TYPE_VM_CONFIG), FALSE;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint disks = 0, kernels = 0, initrds = 0;
  for (guint i = 0; i < m->layers->len; i++)
    if (!skiff_layer_validate (m->layers->pdata[i], seen, &disks, &kernels, &initrds, error))
      return g_prefix_error (error, "invalid skiff image: layers[%u]: ", i), FALSE;
  if (disks == 0)
    return INVALID (error, "invalid skiff image: no disk layer");
  if (initrds > 0 && kernels == 0)
    return INVALID (error, "invalid skiff image: an initrd without a kernel");
  return TRUE;
}

static json_t *
descriptor_array_to_json (GPtrArray *list)
{
  json_t *a = json_array ();
  for (guint i = 0; i < list->len; i++)
    json_array_append_new (a, sk_descriptor_to_json (list->pdata[i]));
  return a;
}

SkManifest *
sk_manifest_new_skiff (const SkDescriptor *config, GPtrArray *layers,
                       GHashTable *annotations, GError **error)
{
  g_autoptr (json_t) j = json_object ();
  json_object_set_new (j, "schemaVersion", json_integer (2));
  json_object_set_new (j, "mediaType", json_string (SK_MEDIA_TYPE_OCI_MANIFEST));
  json_object_set_new (j, "artifactType", json_string (SK_ARTIFACT_TYPE_VM));
  json_object_set_new (j, "config", sk_descriptor_to_json (config));
  json_object_set_new (j, "layers", descriptor_array_to_json (layers));
  if (annotations)
    sk_json_set_string_map (j, "annotations", annotations);
  g_autoptr (GBytes) raw = sk_json_dump (j);
  g_autoptr (SkManifest) m = sk_manifest_parse (raw, SK_MEDIA_TYPE_OCI_MANIFEST, error);
  if (m == NULL || !sk_manifest_validate_skiff (m, error))
    return NULL;
  return g_steal_pointer (&m);
}

static gboolean
index_fields (json_t *j, SkIndex *idx, const char *content_type, GError **error)
{
  if (!optional_media_type (j, "mediaType", &idx->media_type, error)
      || !media_type_check (idx->media_type, content_type, index_types, "an image index", error))
    return FALSE;
  if (json_object_get (j, "config") || json_object_get (j, "layers"))
    return INVALID (error, "an image index cannot have 'config' or 'layers' (a manifest can)");
  return optional_media_type (j, "artifactType", &idx->artifact_type, error)
         && sk_descriptor_array_from_json (j, "manifests", TRUE, &idx->manifests, error)
         && optional_descriptor (j, "subject", FALSE, &idx->subject, error)
         && sk_json_get_string_map (j, "annotations", &idx->annotations, error);
}

SkIndex *
sk_index_parse (GBytes *raw, const char *content_type, GError **error)
{
  g_autoptr (SkIndex) idx = g_new0 (SkIndex, 1);
  idx->raw = g_bytes_ref (raw);
  g_autoptr (json_t) j = document_parse (raw, error);
  if (j == NULL || !index_fields (j, idx, content_type, error))
    return g_prefix_error (error, "invalid image index: "), NULL;
  gsize len = 0;
  const void *buf = g_bytes_get_data (raw, &len);
  idx->digest = sk_digest_bytes (SK_DIGEST_SHA256, buf, len);
  return g_steal_pointer (&idx);
}

void
sk_index_free (SkIndex *idx)
{
  if (idx == NULL)
    return;
  g_clear_pointer (&idx->raw, g_bytes_unref);
  g_free (idx->digest);
  g_free (idx->media_type);
  g_free (idx->artifact_type);
  g_clear_pointer (&idx->manifests, g_ptr_array_unref);
  sk_descriptor_free (idx->subject);
  g_clear_pointer (&idx->annotations, g_hash_table_unref);
  g_free (idx);
}

SkDescriptor *
sk_index_to_descriptor (const SkIndex *idx)
{
  SkDescriptor *d = sk_descriptor_new (idx->media_type ? idx->media_type : SK_MEDIA_TYPE_OCI_INDEX,
                                       idx->digest, g_bytes_get_size (idx->raw));
  d->artifact_type = g_strdup (idx->artifact_type);
  return d;
}

SkIndex *
sk_index_new (GPtrArray *manifests, GHashTable *annotations, GError **error)
{
  g_autoptr (json_t) j = json_object ();
  json_object_set_new (j, "schemaVersion", json_integer (2));
  json_object_set_new (j, "mediaType", json_string (SK_MEDIA_TYPE_OCI_INDEX));
  json_object_set_new (j, "manifests", descriptor_array_to_json (manifests));
  if (annotations)
    sk_json_set_string_map (j, "annotations", annotations);
  g_autoptr (GBytes) raw = sk_json_dump (j);
  return sk_index_parse (raw, SK_MEDIA_TYPE_OCI_INDEX, error);
}

const SkDescriptor *
sk_index_find_platform (const SkIndex *idx, const char *os, const char *architecture,
                        const char *variant)
{
  for (guint i = 0; i < idx->manifests->len; i++)
    {
      const SkDescriptor *d = idx->manifests->pdata[i];
      if (sk_platform_matches (d->platform, os, architecture, variant))
        return d;
    }
  return NULL;
}

const SkDescriptor *
sk_index_find_ref (const SkIndex *idx, const char *ref_name)
{
  for (guint i = 0; i < idx->manifests->len; i++)
    {
      const SkDescriptor *d = idx->manifests->pdata[i];
      if (g_strcmp0 (sk_descriptor_get_annotation (d, SK_ANNOTATION_REF_NAME), ref_name) == 0)
        return d;
    }
  return NULL;
}
