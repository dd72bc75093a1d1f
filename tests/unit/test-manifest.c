/* Unit tests: oci/descriptor, oci/manifest — the OCI conformance cases,
 * the spec's examples, containers/image's fixtures, skiff's builders. */
#include "common/error.h"
#include "oci/config.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/manifest.h"

#include <string.h>

static char *
vectors_dir (void)
{
  const char *src = g_getenv ("SK_SRCDIR");
  g_autofree char *dir = g_build_filename (src ? src : ".", "..", "shared", "vectors", "oci", NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    g_error ("test vectors not found at '%s' (set SK_SRCDIR to the repository root)", dir);
  return g_steal_pointer (&dir);
}

static GBytes *
load (const char *relpath)
{
  g_autofree char *dir = vectors_dir ();
  g_autofree char *path = g_build_filename (dir, relpath, NULL);
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &data, &len, &error))
    g_error ("%s", error->message);
  return g_bytes_new_take (data, len);
}

static GBytes *
bytes_of (const char *s)
{
  return g_bytes_new (s, strlen (s));
}

/* Docker v2.2 documents as the upstream backwards-compatibility test sees
 * them: Docker media types replaced by the OCI ones. */
static GBytes *
docker_to_oci (GBytes *raw)
{
  g_autofree char *s = g_strndup (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  static const char *const map[][2] = {
    { SK_MEDIA_TYPE_DOCKER_MANIFEST_LIST, SK_MEDIA_TYPE_OCI_INDEX },
    { SK_MEDIA_TYPE_DOCKER_MANIFEST, SK_MEDIA_TYPE_OCI_MANIFEST },
    { "application/vnd.docker.image.rootfs.diff.tar.gzip", SK_MEDIA_TYPE_OCI_LAYER_GZIP },
    { "application/octet-stream", SK_MEDIA_TYPE_OCI_CONFIG },
  };
  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    {
      g_auto (GStrv) parts = g_strsplit (s, map[i][0], -1);
      g_free (s);
      s = g_strjoinv (map[i][1], parts);
    }
  gsize len = strlen (s);
  return g_bytes_new_take (g_steal_pointer (&s), len);
}

/* Runs one document through the validator the upstream test names. */
static gboolean
run_validator (const char *validator, GBytes *raw, GError **error)
{
  if (g_str_equal (validator, "ValidatorMediaTypeManifest"))
    {
      g_autoptr (SkManifest) m = sk_manifest_parse (raw, NULL, error);
      return m != NULL;
    }
  if (g_str_equal (validator, "ValidatorMediaTypeImageIndex"))
    {
      g_autoptr (SkIndex) idx = sk_index_parse (raw, NULL, error);
      return idx != NULL;
    }
  if (g_str_equal (validator, "ValidatorMediaTypeDescriptor"))
    {
      g_autoptr (SkDescriptor) d = sk_descriptor_parse (raw, error);
      return d != NULL;
    }
  if (g_str_equal (validator, "ValidatorMediaTypeImageConfig"))
    return sk_config_validate_oci_image (raw, error);
  if (g_str_equal (validator, "ValidatorMediaTypeLayoutHeader"))
    return sk_layout_header_validate (raw, error);
  g_error ("cases.tsv names an unknown validator '%s'", validator);
}

static void
check_case (const char *file, const char *validator, const char *expect, const char *digest)
{
  g_autofree char *rel = g_build_filename ("schema-test-cases", file, NULL);
  g_autoptr (GBytes) raw = load (rel);
  if (*digest)
    {
      g_autoptr (GError) error = NULL;
      if (!sk_digest_verify_bytes (digest, g_bytes_get_data (raw, NULL), g_bytes_get_size (raw), &error))
        g_error ("%s: %s", file, error->message);
    }
  g_autoptr (GError) error = NULL;
  gboolean ok = run_validator (validator, raw, &error);
  g_test_message ("%s %s: %s", file, expect, ok ? "accepted" : error->message);
  if (g_str_equal (expect, "accept"))
    {
      if (!ok)
        g_error ("%s: expected accept, got: %s", file, error->message);
    }
  else
    {
      if (ok)
        g_error ("%s: expected reject, was accepted", file);
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
    }
  /* Upstream validates Docker documents after mapping media types. */
  if (g_str_has_prefix (file, "backwards_compatibility/") && !g_str_equal (validator, "ValidatorMediaTypeImageConfig"))
    {
      g_autoptr (GBytes) oci = docker_to_oci (raw);
      g_autoptr (GError) error2 = NULL;
      g_assert_true (run_validator (validator, oci, &error2));
      g_assert_no_error (error2);
    }
}

static void
test_schema_cases (void)
{
  g_autoptr (GBytes) tsv = load ("schema-test-cases/cases.tsv");
  g_autofree char *text = g_strndup (g_bytes_get_data (tsv, NULL), g_bytes_get_size (tsv));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = 0, accepts = 0;
  for (guint i = 1; lines[i]; i++)
    {
      if (*lines[i] == '\0')
        continue;
      g_auto (GStrv) f = g_strsplit (lines[i], "\t", -1);
      g_assert_cmpuint (g_strv_length (f), >=, 6);
      check_case (f[0], f[3], f[4], f[5]);
      n++;
      accepts += g_str_equal (f[4], "accept");
    }
  /* Every upstream case, none silently dropped. */
  g_assert_cmpuint (n, ==, 71);
  g_assert_cmpuint (accepts, ==, 31);
}

static void
test_spec_examples (void)
{
  g_autoptr (GBytes) tsv = load ("spec-examples/examples.tsv");
  g_autofree char *text = g_strndup (g_bytes_get_data (tsv, NULL), g_bytes_get_size (tsv));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  static const struct {
    const char *media_type, *validator;
  } map[] = {
    { SK_MEDIA_TYPE_OCI_DESCRIPTOR, "ValidatorMediaTypeDescriptor" },
    { SK_MEDIA_TYPE_OCI_MANIFEST, "ValidatorMediaTypeManifest" },
    { SK_MEDIA_TYPE_OCI_INDEX, "ValidatorMediaTypeImageIndex" },
    { SK_MEDIA_TYPE_OCI_LAYOUT_HEADER, "ValidatorMediaTypeLayoutHeader" },
    { SK_MEDIA_TYPE_OCI_CONFIG, "ValidatorMediaTypeImageConfig" },
  };
  guint n = 0;
  for (guint i = 1; lines[i]; i++)
    {
      if (*lines[i] == '\0')
        continue;
      g_auto (GStrv) f = g_strsplit (lines[i], "\t", -1);
      const char *validator = NULL;
      for (guint k = 0; k < G_N_ELEMENTS (map); k++)
        if (g_str_equal (f[2], map[k].media_type))
          validator = map[k].validator;
      g_assert_nonnull (validator);
      g_autofree char *rel = g_build_filename ("spec-examples", f[0], NULL);
      g_autoptr (GBytes) raw = load (rel);
      g_autoptr (GError) error = NULL;
      if (!run_validator (validator, raw, &error))
        g_error ("%s: %s", f[0], error->message);
      n++;
    }
  g_assert_cmpuint (n, ==, 10);
}

static void
test_backwards_compat_digest (void)
{
  /* The digest is over the raw bytes, whatever the parser thinks. */
  g_autoptr (GBytes) raw = load ("schema-test-cases/backwards_compatibility/TestBackwardsCompatibilityManifest-00-accept.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (SkManifest) m = sk_manifest_parse (raw, SK_MEDIA_TYPE_DOCKER_MANIFEST, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->digest, ==, "sha256:888206c77cd2811ec47e752ba291e5b7734e3ef137dfd222daadaca39a9f17bc");
  g_assert_cmpstr (m->media_type, ==, SK_MEDIA_TYPE_DOCKER_MANIFEST);
  g_assert_true (g_bytes_equal (m->raw, raw));
  g_assert_cmpuint (m->layers->len, ==, 4);
  g_autoptr (SkDescriptor) d = sk_manifest_to_descriptor (m);
  g_assert_cmpint (d->size, ==, g_bytes_get_size (raw));

  g_autoptr (GBytes) iraw = load ("schema-test-cases/backwards_compatibility/TestBackwardsCompatibilityImageIndex-00-accept.json");
  g_autoptr (SkIndex) idx = sk_index_parse (iraw, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (idx->digest, ==, "sha256:4ffd0883f25635999f04ea543240a27c9a4341979ff7d46a9774f71512eebb1f");
  const SkDescriptor *arm = sk_index_find_platform (idx, "linux", "arm", "v7");
  g_assert_nonnull (arm);
  g_assert_cmpstr (arm->digest, ==, "sha256:07ebe243465ef4a667b78154ae6c3ea46fdb1582936aac3ac899ea311a701b40");
  g_assert_null (sk_index_find_platform (idx, "linux", "riscv64", NULL));
}

static void
test_guess_kind (void)
{
  static const struct {
    const char *file;
    SkManifestKind kind;
  } cases[] = {
    { "non-json.manifest.json", SK_MANIFEST_KIND_UNKNOWN },
    { "unknown-version.manifest.json", SK_MANIFEST_KIND_UNKNOWN },
    { "v2s2.manifest.json", SK_MANIFEST_KIND_DOCKER_MANIFEST },
    { "v2s2nomime.manifest.json", SK_MANIFEST_KIND_DOCKER_MANIFEST },
    { "v2s2.everything.json", SK_MANIFEST_KIND_DOCKER_MANIFEST },
    { "v2s2.uncompressed.manifest.json", SK_MANIFEST_KIND_DOCKER_MANIFEST },
    { "v2s2.nondistributable.manifest.json", SK_MANIFEST_KIND_DOCKER_MANIFEST },
    { "v2s2.nondistributable.gzip.manifest.json", SK_MANIFEST_KIND_DOCKER_MANIFEST },
    { "v2list.manifest.json", SK_MANIFEST_KIND_DOCKER_MANIFEST_LIST },
    { "v2s1.manifest.json", SK_MANIFEST_KIND_DOCKER_SCHEMA1_SIGNED },
    { "v2s1-invalid-signatures.manifest.json", SK_MANIFEST_KIND_DOCKER_SCHEMA1_SIGNED },
    { "schema2-to-schema1-by-docker.json", SK_MANIFEST_KIND_DOCKER_SCHEMA1_SIGNED },
    { "v2s1-unsigned.manifest.json", SK_MANIFEST_KIND_DOCKER_SCHEMA1 },
    { "v2s1.everything.json", SK_MANIFEST_KIND_DOCKER_SCHEMA1 },
    { "ociv1.manifest.json", SK_MANIFEST_KIND_OCI_MANIFEST },
    { "ociv1.artifact.json", SK_MANIFEST_KIND_OCI_MANIFEST },
    { "ociv1.everything.json", SK_MANIFEST_KIND_OCI_MANIFEST },
    { "ociv1.encrypted.manifest.json", SK_MANIFEST_KIND_OCI_MANIFEST },
    { "ociv1.zstd.manifest.json", SK_MANIFEST_KIND_OCI_MANIFEST },
    { "ociv1.uncompressed.manifest.json", SK_MANIFEST_KIND_OCI_MANIFEST },
    { "ociv1.nondistributable.manifest.json", SK_MANIFEST_KIND_OCI_MANIFEST },
    { "ociv1.nondistributable.gzip.manifest.json", SK_MANIFEST_KIND_OCI_MANIFEST },
    { "ociv1.nondistributable.zstd.manifest.json", SK_MANIFEST_KIND_OCI_MANIFEST },
    { "ociv1.invalid.mediatype.manifest.json", SK_MANIFEST_KIND_OCI_MANIFEST },
    { "ociv1nomime.manifest.json", SK_MANIFEST_KIND_OCI_MANIFEST },
    { "ociv1nomime.artifact.json", SK_MANIFEST_KIND_OCI_MANIFEST },
    { "ociv1.image.index.json", SK_MANIFEST_KIND_OCI_INDEX },
    { "ociv1nomime.image.index.json", SK_MANIFEST_KIND_OCI_INDEX },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *rel = g_build_filename ("containers-image-fixtures/manifest/fixtures", cases[i].file, NULL);
      g_autoptr (GBytes) raw = load (rel);
      SkManifestKind got = sk_manifest_guess_kind (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
      if (got != cases[i].kind)
        g_error ("%s: guessed %d, expected %d", cases[i].file, got, cases[i].kind);
    }
  /* Plain values and wrong member types are unrecognised, not crashes. */
  static const char *const junk[] = { "", "[]", "42", "{\"schemaVersion\":\"2\"}",
                                      "{\"schemaVersion\":2,\"config\":[]}",
                                      "{\"schemaVersion\":2,\"manifests\":{}}",
                                      "{\"mediaType\":7,\"schemaVersion\":2}" };
  for (guint i = 0; i < G_N_ELEMENTS (junk); i++)
    g_assert_cmpint (sk_manifest_guess_kind (junk[i], strlen (junk[i])), ==, SK_MANIFEST_KIND_UNKNOWN);
  g_assert_cmpstr (sk_manifest_kind_media_type (SK_MANIFEST_KIND_OCI_INDEX), ==, SK_MEDIA_TYPE_OCI_INDEX);
  g_assert_null (sk_manifest_kind_media_type (SK_MANIFEST_KIND_UNKNOWN));
  g_assert_cmpint (sk_manifest_kind_from_media_type ("Application/VND.oci.image.manifest.v1+json; charset=utf-8"),
                   ==, SK_MANIFEST_KIND_OCI_MANIFEST);
}

/* containers/image's fixtures through the real parsers: every real-world
 * shape parses, and the broken ones are refused for the right reason. */
static void
test_fixtures_parse (void)
{
  static const struct {
    const char *file, *refusal; /* NULL: accepted */
  } cases[] = {
    { "ociv1.manifest.json", NULL },
    { "ociv1nomime.manifest.json", NULL },
    { "ociv1.encrypted.manifest.json", NULL },
    { "ociv1.zstd.manifest.json", NULL },
    { "ociv1.uncompressed.manifest.json", NULL },
    { "ociv1.nondistributable.manifest.json", NULL },
    { "ociv1.nondistributable.gzip.manifest.json", NULL },
    { "ociv1.nondistributable.zstd.manifest.json", NULL },
    /* "tar+unknown" is a well-formed type: unknown types are not errors */
    { "ociv1.invalid.mediatype.manifest.json", NULL },
    { "v2s2.manifest.json", NULL },
    { "v2s2.everything.json", NULL },
    { "v2s2.uncompressed.manifest.json", NULL },
    { "v2s2.nondistributable.manifest.json", NULL },
    { "v2s2.nondistributable.gzip.manifest.json", NULL },
    { "ociv1.artifact.json", "config: digest: invalid digest ''" },
    { "ociv1nomime.artifact.json", "config: digest: invalid digest ''" },
    { "ociv1.everything.json", "config: data: content has digest" },
    { "v2s2nomime.manifest.json", "layers: empty" },
    { "v2s1.manifest.json", "schemaVersion: must be 2, not 1" },
    { "v2s1-unsigned.manifest.json", "schemaVersion: must be 2, not 1" },
    { "unknown-version.manifest.json", "schemaVersion: must be 2, not 99999" },
    { "non-json.manifest.json", "JSON syntax error" },
    { "ociv1.image.index.json", "mediaType: '" SK_MEDIA_TYPE_OCI_INDEX "' is not an image manifest type" },
    { "ociv1nomime.image.index.json", "cannot have 'manifests'" },
    { "v2list.manifest.json", "mediaType: '" SK_MEDIA_TYPE_DOCKER_MANIFEST_LIST "' is not an image manifest type" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *rel = g_build_filename ("containers-image-fixtures/manifest/fixtures", cases[i].file, NULL);
      g_autoptr (GBytes) raw = load (rel);
      g_autoptr (GError) error = NULL;
      g_autoptr (SkManifest) m = sk_manifest_parse (raw, NULL, &error);
      if (cases[i].refusal == NULL && m == NULL)
        g_error ("%s: %s", cases[i].file, error->message);
      if (cases[i].refusal && m != NULL)
        g_error ("%s: accepted, expected '%s'", cases[i].file, cases[i].refusal);
      if (cases[i].refusal && !strstr (error->message, cases[i].refusal))
        g_error ("%s: expected '%s' in '%s'", cases[i].file, cases[i].refusal, error->message);
    }
  g_autoptr (GBytes) v2s2 = load ("containers-image-fixtures/manifest/fixtures/v2s2.manifest.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (SkManifest) m = sk_manifest_parse (v2s2, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->digest, ==, "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55");
}

static void
test_fixtures_index (void)
{
  static const struct {
    const char *file, *refusal;
  } cases[] = {
    { "oci1index.json", NULL },
    { "oci1.index.zstd-selection.json", NULL },
    { "oci1.index.zstd-selection2.json", NULL },
    { "ocilist-variants.json", NULL },
    { "ociv1.image.index.json", NULL },
    { "ociv1nomime.image.index.json", NULL },
    { "schema2list.json", NULL },
    { "schema2list-variants.json", NULL },
    { "v2list.everything.json", NULL },
    { "v2list.manifest.json", NULL },
    { "oci1.index.everything.json", "manifests[0]: data: content has digest" },
    { "ociv1.manifest.json", "is not an image index type" },
    { "ociv1nomime.manifest.json", "cannot have 'config' or 'layers'" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *rel = g_build_filename ("containers-image-fixtures/internal/manifest/testdata", cases[i].file, NULL);
      g_autoptr (GBytes) raw = load (rel);
      g_autoptr (GError) error = NULL;
      g_autoptr (SkIndex) idx = sk_index_parse (raw, NULL, &error);
      if (cases[i].refusal == NULL && idx == NULL)
        g_error ("%s: %s", cases[i].file, error->message);
      if (cases[i].refusal && (idx != NULL || !strstr (error->message, cases[i].refusal)))
        g_error ("%s: expected '%s', got '%s'", cases[i].file, cases[i].refusal, error ? error->message : "accepted");
    }
}

#define CONFIG_DESC "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":2," \
  "\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"}"
#define LAYER_DESC "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"size\":3," \
  "\"digest\":\"sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270\"}"

static void
assert_manifest_refused (const char *json, const char *content_type, const char *message)
{
  g_autoptr (GBytes) raw = bytes_of (json);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkManifest) m = sk_manifest_parse (raw, content_type, &error);
  g_assert_null (m);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  if (strstr (error->message, message) == NULL)
    g_error ("expected '%s' in '%s'", message, error->message);
}

static void
test_manifest_errors (void)
{
  assert_manifest_refused ("{\"schemaVersion\":2,\"config\":" CONFIG_DESC ",\"layers\":[" LAYER_DESC "," LAYER_DESC
                           ",{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"sha256:../../etc/passwd\"}]}",
                           NULL, "invalid manifest: layers[2]: digest: invalid digest 'sha256:../../etc/passwd'");
  assert_manifest_refused ("{\"schemaVersion\":2,\"config\":" CONFIG_DESC ",\"layers\":[" LAYER_DESC "],"
                           "\"manifests\":[]}", NULL, "cannot have 'manifests'");
  assert_manifest_refused ("{\"schemaVersion\":2,\"layers\":[" LAYER_DESC "]}", NULL, "invalid manifest: config: missing");
  assert_manifest_refused ("{\"schemaVersion\":2,\"config\":" CONFIG_DESC "}", NULL, "layers: missing");
  assert_manifest_refused ("{\"schemaVersion\":\"2\",\"config\":" CONFIG_DESC ",\"layers\":[" LAYER_DESC "]}", NULL,
                           "schemaVersion: expected an integer, got string");
  assert_manifest_refused ("{\"schemaVersion\":2,\"schemaVersion\":2,\"config\":" CONFIG_DESC ",\"layers\":[" LAYER_DESC "]}",
                           NULL, "duplicate object key");
  assert_manifest_refused ("{\"schemaVersion\":2,\"mediaType\":\"" SK_MEDIA_TYPE_OCI_INDEX "\",\"config\":" CONFIG_DESC
                           ",\"layers\":[" LAYER_DESC "]}", NULL, "mediaType: '" SK_MEDIA_TYPE_OCI_INDEX "' is not an image manifest type");
  assert_manifest_refused ("{\"schemaVersion\":2,\"config\":" CONFIG_DESC ",\"layers\":[" LAYER_DESC "],"
                           "\"annotations\":{\"a\":1}}", NULL, "annotations: 'a': expected a string, got integer");
  assert_manifest_refused ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" SK_MEDIA_TYPE_OCI_EMPTY "\",\"size\":2,"
                           "\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"},"
                           "\"layers\":[" LAYER_DESC "]}", NULL, "artifactType: required when the config is the empty descriptor");
  assert_manifest_refused ("{\"schemaVersion\":2,\"config\":" CONFIG_DESC ",\"layers\":[" LAYER_DESC "]} x", NULL,
                           "JSON syntax error");
  assert_manifest_refused ("[1]", NULL, "expected a JSON object, got array");
  assert_manifest_refused ("{\"schemaVersion\":2,\"config\":" CONFIG_DESC ",\"layers\":[{\"mediaType\":\"a/b\","
                           "\"size\":1.0,\"digest\":\"sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270\"}]}",
                           NULL, "layers[0]: size: expected an integer, got number");
}

static void
test_manifest_content_type (void)
{
  const char *doc = "{\"schemaVersion\":2,\"mediaType\":\"" SK_MEDIA_TYPE_OCI_MANIFEST "\",\"config\":" CONFIG_DESC
                    ",\"layers\":[" LAYER_DESC "]}";
  const char *nomime = "{\"schemaVersion\":2,\"config\":" CONFIG_DESC ",\"layers\":[" LAYER_DESC "]}";
  g_autoptr (GBytes) raw = bytes_of (doc);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkManifest) a = sk_manifest_parse (raw, SK_MEDIA_TYPE_OCI_MANIFEST "; charset=utf-8", &error);
  g_assert_no_error (error);
  assert_manifest_refused (doc, SK_MEDIA_TYPE_DOCKER_MANIFEST,
                           "content type '" SK_MEDIA_TYPE_DOCKER_MANIFEST "' does not match mediaType");
  assert_manifest_refused (doc, SK_MEDIA_TYPE_OCI_INDEX, "does not match mediaType");
  assert_manifest_refused (nomime, "application/json", "content type 'application/json' is not an image manifest type");
  g_autoptr (GBytes) raw2 = bytes_of (nomime);
  g_autoptr (SkManifest) b = sk_manifest_parse (raw2, SK_MEDIA_TYPE_OCI_MANIFEST, &error);
  g_assert_no_error (error);
  g_assert_null (b->media_type);
  g_autoptr (SkDescriptor) d = sk_manifest_to_descriptor (b);
  g_assert_cmpstr (d->media_type, ==, SK_MEDIA_TYPE_OCI_MANIFEST);
}

static void
test_manifest_raw_digest (void)
{
  /* Whitespace and key order are part of the content: never re-serialised. */
  const char *pretty = "{\n  \"layers\": [" LAYER_DESC "],\n  \"config\": " CONFIG_DESC ",\n  \"schemaVersion\": 2\n}\n";
  g_autoptr (GBytes) raw = bytes_of (pretty);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkManifest) m = sk_manifest_parse (raw, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *expected = sk_digest_bytes (SK_DIGEST_SHA256, pretty, strlen (pretty));
  g_assert_cmpstr (m->digest, ==, expected);
  g_assert_true (g_bytes_equal (m->raw, raw));
}

static void
test_manifest_size_limit (void)
{
  GString *s = g_string_new ("{\"schemaVersion\":2,\"config\":" CONFIG_DESC ",\"layers\":[" LAYER_DESC "],"
                             "\"annotations\":{\"pad\":\"");
  while (s->len < SK_MANIFEST_MAX_SIZE)
    g_string_append (s, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  g_string_append (s, "\"}}");
  g_autoptr (GBytes) raw = g_string_free_to_bytes (s);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkManifest) m = sk_manifest_parse (raw, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_nonnull (strstr (error->message, "more than the 4 MiB limit"));
  g_clear_error (&error);
  g_autoptr (SkIndex) idx = sk_index_parse (raw, NULL, &error);
  g_assert_null (idx);
  g_assert_nonnull (strstr (error->message, "more than the 4 MiB limit"));
}

static void
test_index_errors (void)
{
  static const struct {
    const char *json, *message;
  } cases[] = {
    { "{\"schemaVersion\":2,\"manifests\":[" LAYER_DESC "],\"layers\":[]}", "cannot have 'config' or 'layers'" },
    { "{\"schemaVersion\":2,\"manifests\":[" LAYER_DESC "],\"config\":" CONFIG_DESC "}", "cannot have 'config' or 'layers'" },
    { "{\"schemaVersion\":2}", "manifests: missing" },
    { "{\"schemaVersion\":2,\"mediaType\":\"" SK_MEDIA_TYPE_OCI_MANIFEST "\",\"manifests\":[]}", "is not an image index type" },
    { "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270\","
      "\"platform\":{\"architecture\":\"amd64\"}}]}", "manifests[0]: platform: os: missing" },
    { "{\"schemaVersion\":2,\"manifests\":[],\"subject\":\"x\"}", "subject: expected a descriptor object, got string" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) raw = bytes_of (cases[i].json);
      g_autoptr (GError) error = NULL;
      g_autoptr (SkIndex) idx = sk_index_parse (raw, NULL, &error);
      g_assert_null (idx);
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
      if (!g_str_has_prefix (error->message, "invalid image index: ") || !strstr (error->message, cases[i].message))
        g_error ("case %u: expected '%s' in '%s'", i, cases[i].message, error->message);
    }
}

static void
assert_descriptor (const char *json, const char *message)
{
  g_autoptr (GBytes) raw = bytes_of (json);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkDescriptor) d = sk_descriptor_parse (raw, &error);
  if (message == NULL)
    {
      g_assert_no_error (error);
      return;
    }
  g_assert_null (d);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  if (strstr (error->message, message) == NULL)
    g_error ("expected '%s' in '%s'", message, error->message);
}

#define HELLO_DIGEST "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static void
test_descriptor (void)
{
  /* data: "hello" */
  assert_descriptor ("{\"mediaType\":\"text/plain\",\"size\":5,\"digest\":\"" HELLO_DIGEST "\",\"data\":\"aGVsbG8=\"}", NULL);
  assert_descriptor ("{\"mediaType\":\"text/plain\",\"size\":4,\"digest\":\"" HELLO_DIGEST "\",\"data\":\"aGVsbG8=\"}",
                     "data: 5 bytes but size is 4");
  assert_descriptor ("{\"mediaType\":\"text/plain\",\"size\":5,\"digest\":\"" HELLO_DIGEST "\",\"data\":\"aGVsbG0=\"}",
                     "data: content has digest");
  assert_descriptor ("{\"mediaType\":\"text/plain\",\"size\":5,\"digest\":\"" HELLO_DIGEST "\",\"data\":\"aGV=sbG8\"}",
                     "data: invalid base64");
  assert_descriptor ("{\"mediaType\":\"text/plain\",\"size\":-1,\"digest\":\"" HELLO_DIGEST "\"}", "size: -1 is negative");
  assert_descriptor ("{\"mediaType\":\"text/plain\",\"size\":1,\"digest\":\"sha512:abc\"}", "sha512 needs 128 hex digits");
  assert_descriptor ("{\"mediaType\":\"text/plain\",\"size\":1,\"digest\":\"sha384:ABC\"}", "sha384 needs 96 lowercase hex");
  assert_descriptor ("{\"mediaType\":\"text/plain\",\"size\":1,\"digest\":\"sha256:+x\"}", "not <algorithm>:<encoded>");
  assert_descriptor ("{\"mediaType\":\"text/plain\",\"size\":1,\"digest\":\"" HELLO_DIGEST "\",\"urls\":[\"http://a b\"]}",
                     "urls[0]: invalid URL 'http://a b'");
  assert_descriptor ("{\"mediaType\":\"text/plain\",\"size\":1,\"digest\":\"" HELLO_DIGEST "\",\"urls\":[\"https://x/%zz\"]}",
                     "invalid URL");
  assert_descriptor ("{\"mediaType\":\"text/plain; charset=utf-8\",\"size\":1,\"digest\":\"" HELLO_DIGEST "\"}",
                     "mediaType: invalid media type");
  assert_descriptor ("{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"" HELLO_DIGEST "\",\"platform\":{\"os\":\"linux\","
                     "\"architecture\":\"arm64\",\"os.features\":[1]}}", "platform: os.features[0]: expected a string");
  assert_descriptor ("{\"mediaType\":\"a/b\",\"size\":1,\"digest\":\"" HELLO_DIGEST "\",\"annotations\":{\"\":\"x\"}}",
                     "annotations: empty key");

  /* Serialisation: stable order, round trip through the parser. */
  g_autoptr (SkDescriptor) d = sk_descriptor_new ("a/b", HELLO_DIGEST, 5);
  sk_descriptor_set_annotation (d, "z", "1");
  sk_descriptor_set_annotation (d, "a", "2");
  SkPlatform *p = sk_platform_new ("linux", "arm64", "v8");
  p->os_features = g_strsplit ("x,y", ",", -1);
  sk_descriptor_set_platform (d, p);
  d->artifact_type = g_strdup ("application/vnd.skiff.vm.v1");
  g_autoptr (GBytes) out = sk_descriptor_serialize (d);
  g_autofree char *s = g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out));
  g_assert_cmpstr (s, ==, "{\"mediaType\":\"a/b\",\"digest\":\"" HELLO_DIGEST "\",\"size\":5,"
                          "\"annotations\":{\"a\":\"2\",\"z\":\"1\"},\"platform\":{\"architecture\":\"arm64\","
                          "\"os\":\"linux\",\"os.features\":[\"x\",\"y\"],\"variant\":\"v8\"},"
                          "\"artifactType\":\"application/vnd.skiff.vm.v1\"}");
  g_autoptr (GError) error = NULL;
  g_autoptr (SkDescriptor) back = sk_descriptor_parse (out, &error);
  g_assert_no_error (error);
  g_assert_true (sk_platform_matches (back->platform, "linux", "arm64", "v8"));
  g_assert_false (sk_platform_matches (back->platform, "linux", "arm64", "v7"));
  g_assert_cmpstr (sk_descriptor_get_annotation (back, "a"), ==, "2");
  sk_descriptor_set_annotation (back, "a", NULL);
  g_assert_null (sk_descriptor_get_annotation (back, "a"));
}

#define DIFF0 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define DIFF1 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define BLOB0 "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define BLOB1 "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define KERNEL "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static SkDescriptor *
disk_layer (const char *media_type, const char *digest, gint64 size, const char *diff_id, const char *disk_size)
{
  SkDescriptor *d = sk_descriptor_new (media_type, digest, size);
  if (diff_id)
    sk_descriptor_set_annotation (d, SK_ANNOTATION_DISK_DIFF_ID, diff_id);
  if (disk_size)
    sk_descriptor_set_annotation (d, SK_ANNOTATION_DISK_SIZE, disk_size);
  return d;
}

static GPtrArray *
skiff_layers (void)
{
  GPtrArray *layers = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_descriptor_free);
  g_ptr_array_add (layers, disk_layer (SK_MEDIA_TYPE_DISK_QCOW2_ZSTD, BLOB0, 100, DIFF0, "1000"));
  g_ptr_array_add (layers, disk_layer (SK_MEDIA_TYPE_DISK_QCOW2_GZIP, BLOB1, 200, DIFF1, "2000"));
  g_ptr_array_add (layers, sk_descriptor_new (SK_MEDIA_TYPE_KERNEL, KERNEL, 300));
  return layers;
}

static void
test_skiff_manifest_build (void)
{
  g_autoptr (SkDescriptor) config = sk_descriptor_new (SK_MEDIA_TYPE_VM_CONFIG, HELLO_DIGEST, 5);
  g_autoptr (GPtrArray) layers = skiff_layers ();
  g_autoptr (GHashTable) ann = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (ann, SK_ANNOTATION_CREATED, "2024-05-01T12:00:00Z");
  g_hash_table_insert (ann, "a.b", "c");
  g_autoptr (GError) error = NULL;
  g_autoptr (SkManifest) m = sk_manifest_new_skiff (config, layers, ann, &error);
  g_assert_no_error (error);
  g_autofree char *s = g_strndup (g_bytes_get_data (m->raw, NULL), g_bytes_get_size (m->raw));
  g_assert_cmpstr (s, ==,
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"artifactType\":\"application/vnd.skiff.vm.v1\","
    "\"config\":{\"mediaType\":\"application/vnd.skiff.vm.config.v1+json\",\"digest\":\"" HELLO_DIGEST "\",\"size\":5},"
    "\"layers\":[{\"mediaType\":\"application/vnd.skiff.disk.qcow2.v1+zstd\",\"digest\":\"" BLOB0 "\",\"size\":100,"
    "\"annotations\":{\"io.skiff.disk.diff-id\":\"" DIFF0 "\",\"io.skiff.disk.size\":\"1000\"}},"
    "{\"mediaType\":\"application/vnd.skiff.disk.qcow2.v1+gzip\",\"digest\":\"" BLOB1 "\",\"size\":200,"
    "\"annotations\":{\"io.skiff.disk.diff-id\":\"" DIFF1 "\",\"io.skiff.disk.size\":\"2000\"}},"
    "{\"mediaType\":\"application/vnd.skiff.kernel.v1\",\"digest\":\"" KERNEL "\",\"size\":300}],"
    "\"annotations\":{\"a.b\":\"c\",\"org.opencontainers.image.created\":\"2024-05-01T12:00:00Z\"}}");
  g_autofree char *digest = sk_digest_bytes (SK_DIGEST_SHA256, s, strlen (s));
  g_assert_cmpstr (m->digest, ==, digest);
  /* A reader of those bytes sees the same image. */
  g_autoptr (SkManifest) back = sk_manifest_parse (m->raw, SK_MEDIA_TYPE_OCI_MANIFEST, &error);
  g_assert_no_error (error);
  g_assert_true (sk_manifest_validate_skiff (back, &error));
  g_assert_cmpstr (back->digest, ==, m->digest);
  g_assert_cmpuint (back->layers->len, ==, 3);
  /* Same inputs, inserted in another order: same bytes. */
  g_autoptr (GHashTable) ann2 = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (ann2, "a.b", "c");
  g_hash_table_insert (ann2, SK_ANNOTATION_CREATED, "2024-05-01T12:00:00Z");
  g_autoptr (SkManifest) m2 = sk_manifest_new_skiff (config, layers, ann2, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (m->raw, m2->raw));
}

static void
assert_skiff_refused_as (GPtrArray *layers, const char *config_type, const char *message, int code)
{
  g_autoptr (SkDescriptor) config = sk_descriptor_new (config_type, HELLO_DIGEST, 5);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkManifest) m = sk_manifest_new_skiff (config, layers, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, SK_ERROR, code);
  if (strstr (error->message, message) == NULL)
    g_error ("expected '%s' in '%s'", message, error->message);
}

static void
assert_skiff_refused (GPtrArray *layers, const char *config_type, const char *message)
{
  assert_skiff_refused_as (layers, config_type, message, SK_ERROR_INVALID_IMAGE);
}

static void
test_skiff_manifest_refused (void)
{
  static const struct {
    guint layer;
    const char *key, *value, *message;
  } cases[] = {
    { 0, SK_ANNOTATION_DISK_DIFF_ID, NULL, "layers[0]: annotation 'io.skiff.disk.diff-id' missing" },
    { 0, SK_ANNOTATION_DISK_DIFF_ID, "sha256:1234", "layers[0]: annotation 'io.skiff.disk.diff-id': invalid digest" },
    { 1, SK_ANNOTATION_DISK_DIFF_ID, DIFF0, "layers[1]: diff-id '" DIFF0 "' appears twice" },
    { 1, SK_ANNOTATION_DISK_SIZE, NULL, "layers[1]: annotation 'io.skiff.disk.size' missing" },
    { 1, SK_ANNOTATION_DISK_SIZE, "-5", "'-5' is not a byte count" },
    { 1, SK_ANNOTATION_DISK_SIZE, "12abc", "'12abc' is not a byte count" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) layers = skiff_layers ();
      sk_descriptor_set_annotation (layers->pdata[cases[i].layer], cases[i].key, cases[i].value);
      assert_skiff_refused (layers, SK_MEDIA_TYPE_VM_CONFIG, cases[i].message);
    }
  g_autoptr (GPtrArray) layers = skiff_layers ();
  /* a container image's config: a code of its own (pull looks for a containerDisk) */
  assert_skiff_refused_as (layers, SK_MEDIA_TYPE_OCI_CONFIG, "config mediaType is '" SK_MEDIA_TYPE_OCI_CONFIG "'",
                           SK_ERROR_NOT_SKIFF_IMAGE);
  assert_skiff_refused (layers, "application/vnd.cncf.helm.config.v1+json",
                        "config mediaType is 'application/vnd.cncf.helm.config.v1+json'");
  /* Uncompressed: the blob is the diff. */
  SkDescriptor *d0 = layers->pdata[0];
  g_free (d0->media_type);
  d0->media_type = g_strdup (SK_MEDIA_TYPE_DISK_QCOW2);
  assert_skiff_refused (layers, SK_MEDIA_TYPE_VM_CONFIG, "diff-id and size must equal its digest and size");
  sk_descriptor_set_annotation (d0, SK_ANNOTATION_DISK_DIFF_ID, BLOB0);
  sk_descriptor_set_annotation (d0, SK_ANNOTATION_DISK_SIZE, "100");
  g_autoptr (SkDescriptor) config = sk_descriptor_new (SK_MEDIA_TYPE_VM_CONFIG, HELLO_DIGEST, 5);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkManifest) ok = sk_manifest_new_skiff (config, layers, NULL, &error);
  g_assert_no_error (error);
  /* Foreign layer types, a lone initrd, no disk at all. */
  g_ptr_array_add (layers, sk_descriptor_new (SK_MEDIA_TYPE_OCI_LAYER_GZIP, HELLO_DIGEST, 5));
  assert_skiff_refused (layers, SK_MEDIA_TYPE_VM_CONFIG, "layers[3]: mediaType: '" SK_MEDIA_TYPE_OCI_LAYER_GZIP "' is not a skiff layer type");
  g_ptr_array_remove_index (layers, 3);
  g_ptr_array_remove_index (layers, 2);
  g_ptr_array_add (layers, sk_descriptor_new (SK_MEDIA_TYPE_INITRD, KERNEL, 5));
  assert_skiff_refused (layers, SK_MEDIA_TYPE_VM_CONFIG, "an initrd without a kernel");
  g_autoptr (GPtrArray) only_kernel = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_descriptor_free);
  g_ptr_array_add (only_kernel, sk_descriptor_new (SK_MEDIA_TYPE_KERNEL, KERNEL, 5));
  assert_skiff_refused (only_kernel, SK_MEDIA_TYPE_VM_CONFIG, "no disk layer");
}

static void
test_skiff_validate_foreign (void)
{
  /* A container image is a valid manifest but not a skiff image. */
  g_autoptr (GBytes) raw = load ("containers-image-fixtures/manifest/fixtures/ociv1.manifest.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (SkManifest) m = sk_manifest_parse (raw, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (sk_manifest_validate_skiff (m, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_SKIFF_IMAGE);
  g_assert_nonnull (strstr (error->message, "not a skiff image: artifactType is ''"));
  g_clear_error (&error);
  /* docker's schema 2 image too; an OCI artifact of another kind is not one */
  g_autoptr (GBytes) v2s2 = load ("containers-image-fixtures/manifest/fixtures/v2s2.manifest.json");
  g_autoptr (SkManifest) d = sk_manifest_parse (v2s2, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (sk_manifest_validate_skiff (d, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_SKIFF_IMAGE);
  g_assert_nonnull (strstr (error->message, "not a skiff image: mediaType is 'application/vnd.docker."));
  g_clear_error (&error);
  gsize len;
  const char *text = g_bytes_get_data (raw, &len);
  g_autofree char *copy = g_strndup (text, len);
  g_auto (GStrv) parts = g_strsplit (copy, SK_MEDIA_TYPE_OCI_CONFIG, 2);
  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  g_autofree char *helm = g_strjoin ("application/vnd.cncf.helm.config.v1+json", parts[0], parts[1], NULL);
  g_autoptr (GBytes) art = g_bytes_new (helm, strlen (helm));
  g_autoptr (SkManifest) a = sk_manifest_parse (art, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (sk_manifest_validate_skiff (a, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
}

static void
test_index_build (void)
{
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_descriptor_free);
  SkDescriptor *amd = sk_descriptor_new (SK_MEDIA_TYPE_OCI_MANIFEST, BLOB0, 10);
  sk_descriptor_set_platform (amd, sk_platform_new ("linux", "amd64", NULL));
  SkDescriptor *arm = sk_descriptor_new (SK_MEDIA_TYPE_OCI_MANIFEST, BLOB1, 20);
  sk_descriptor_set_platform (arm, sk_platform_new ("linux", "arm64", "v8"));
  g_ptr_array_add (list, amd);
  g_ptr_array_add (list, arm);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkIndex) idx = sk_index_new (list, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *s = g_strndup (g_bytes_get_data (idx->raw, NULL), g_bytes_get_size (idx->raw));
  g_assert_cmpstr (s, ==, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
                          "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" BLOB0 "\",\"size\":10,"
                          "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
                          "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" BLOB1 "\",\"size\":20,"
                          "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}}]}");
  g_assert_cmpstr (sk_index_find_platform (idx, "linux", "arm64", NULL)->digest, ==, BLOB1);
  g_assert_cmpstr (sk_index_find_platform (idx, "linux", "amd64", NULL)->digest, ==, BLOB0);
  g_assert_null (sk_index_find_platform (idx, "windows", "amd64", NULL));
  g_autoptr (SkDescriptor) self = sk_index_to_descriptor (idx);
  g_assert_cmpint (self->size, ==, strlen (s));
  /* A bad entry is refused, not written. */
  SkPlatform *p = sk_platform_new ("linux", NULL, NULL);
  sk_descriptor_set_platform (arm, p);
  g_autoptr (SkIndex) bad = sk_index_new (list, NULL, &error);
  g_assert_null (bad);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_nonnull (strstr (error->message, "manifests[1]: platform: architecture: missing"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/manifest/schema-cases", test_schema_cases);
  g_test_add_func ("/manifest/spec-examples", test_spec_examples);
  g_test_add_func ("/manifest/backwards-compat-digest", test_backwards_compat_digest);
  g_test_add_func ("/manifest/guess-kind", test_guess_kind);
  g_test_add_func ("/manifest/fixtures-parse", test_fixtures_parse);
  g_test_add_func ("/manifest/fixtures-index", test_fixtures_index);
  g_test_add_func ("/manifest/errors", test_manifest_errors);
  g_test_add_func ("/manifest/content-type", test_manifest_content_type);
  g_test_add_func ("/manifest/raw-digest", test_manifest_raw_digest);
  g_test_add_func ("/manifest/size-limit", test_manifest_size_limit);
  g_test_add_func ("/manifest/index-errors", test_index_errors);
  g_test_add_func ("/manifest/descriptor", test_descriptor);
  g_test_add_func ("/manifest/skiff-build", test_skiff_manifest_build);
  g_test_add_func ("/manifest/skiff-refused", test_skiff_manifest_refused);
  g_test_add_func ("/manifest/skiff-foreign", test_skiff_validate_foreign);
  g_test_add_func ("/manifest/index-build", test_index_build);
  return g_test_run ();
}
