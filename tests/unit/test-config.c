/* Unit tests: oci/config — skiff's VM config and the OCI image-config
 * validator. */
#include "common/error.h"
#include "oci/config.h"

#include <string.h>

#define D0 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D1 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

/* The example documented in oci/config.h, compact. */
#define EXAMPLE \
  "{\"created\":\"2024-05-01T12:00:00Z\",\"architecture\":\"amd64\",\"os\":\"linux\"," \
  "\"config\":{\"boot\":\"kernel\",\"cmdline\":\"console=ttyS0 root=/dev/vda\",\"memory\":1024,\"cpus\":2," \
  "\"user\":\"debian\",\"disk_size\":10737418240}," \
  "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D0 "\",\"" D1 "\"]}," \
  "\"history\":[{\"created\":\"2024-05-01T11:00:00Z\",\"created_by\":\"skiff import disk.qcow2\"}," \
  "{\"created\":\"2024-05-01T12:00:00Z\",\"created_by\":\"skiff commit\",\"comment\":\"apt upgrade\"}]}"

static GBytes *
bytes_of (const char *s)
{
  return g_bytes_new (s, strlen (s));
}

static char *
str_of (GBytes *b)
{
  return g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
}

static void
test_parse_example (void)
{
  g_autoptr (GBytes) raw = bytes_of (EXAMPLE);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkConfig) c = sk_config_parse (raw, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->architecture, ==, "amd64");
  g_assert_cmpstr (c->os, ==, "linux");
  g_assert_cmpint (c->boot, ==, SK_BOOT_KERNEL);
  g_assert_cmpstr (c->cmdline, ==, "console=ttyS0 root=/dev/vda");
  g_assert_cmpuint (c->memory_mib, ==, 1024);
  g_assert_cmpuint (c->cpus, ==, 2);
  g_assert_cmpstr (c->user, ==, "debian");
  g_assert_cmpuint (c->disk_size, ==, G_GUINT64_CONSTANT (10737418240));
  g_assert_cmpuint (c->diff_ids->len, ==, 2);
  g_assert_cmpstr (c->diff_ids->pdata[1], ==, D1);
  g_assert_cmpuint (c->history->len, ==, 2);
  SkHistoryEntry *h = c->history->pdata[1];
  g_assert_cmpstr (h->comment, ==, "apt upgrade");
  g_assert_false (h->empty_layer);
  /* The documented form is exactly what skiff writes. */
  g_autoptr (GBytes) out = sk_config_serialize (c, &error);
  g_assert_no_error (error);
  g_autofree char *s = str_of (out);
  g_assert_cmpstr (s, ==, EXAMPLE);
}

static void
test_round_trip (void)
{
  g_autoptr (SkConfig) c = sk_config_new ();
  c->architecture = g_strdup ("arm64");
  c->os = g_strdup ("linux");
  c->boot = SK_BOOT_UEFI;
  c->memory_mib = 2048;
  c->cpus = 4;
  c->disk_size = 1 << 30;
  sk_config_add_diff_id (c, D0);
  sk_config_add_history (c, "2024-01-02T03:04:05.123456789+02:00", "skiff import", NULL, FALSE);
  sk_config_add_history (c, NULL, "skiff config --memory 2048", "settings only", TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) a = sk_config_serialize (c, &error);
  g_assert_no_error (error);
  g_autoptr (SkConfig) back = sk_config_parse (a, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->boot, ==, SK_BOOT_UEFI);
  g_assert_null (back->cmdline);
  g_assert_null (back->user);
  g_assert_null (back->created);
  g_assert_cmpuint (back->memory_mib, ==, 2048);
  g_assert_cmpuint (back->cpus, ==, 4);
  g_assert_cmpuint (back->disk_size, ==, 1 << 30);
  g_assert_true (((SkHistoryEntry *) back->history->pdata[1])->empty_layer);
  g_autoptr (GBytes) b = sk_config_serialize (back, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (a, b));
  g_autofree char *s = str_of (a);
  g_assert_cmpstr (s, ==,
                   "{\"architecture\":\"arm64\",\"os\":\"linux\",\"config\":{\"boot\":\"uefi\",\"memory\":2048,\"cpus\":4,"
                   "\"disk_size\":1073741824},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D0 "\"]},"
                   "\"history\":[{\"created\":\"2024-01-02T03:04:05.123456789+02:00\",\"created_by\":\"skiff import\"},"
                   "{\"created_by\":\"skiff config --memory 2048\",\"comment\":\"settings only\",\"empty_layer\":true}]}");
  /* Unknown members are ignored on parse. */
  g_autoptr (GBytes) extra = bytes_of ("{\"architecture\":\"arm64\",\"os\":\"linux\",\"future\":[1,2],"
                                       "\"config\":{\"boot\":\"bios\",\"memory\":1,\"cpus\":1,\"disk_size\":1,\"x\":{}},"
                                       "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D0 "\"]}}");
  g_autoptr (SkConfig) e = sk_config_parse (extra, &error);
  g_assert_no_error (error);
  g_assert_cmpint (e->boot, ==, SK_BOOT_BIOS);
}

/* Replaces the first occurrence of @from in EXAMPLE by @to. */
static char *
mutate (const char *from, const char *to)
{
  const char *at = strstr (EXAMPLE, from);
  g_assert_nonnull (at);
  return g_strdup_printf ("%.*s%s%s", (int) (at - EXAMPLE), EXAMPLE, to, at + strlen (from));
}

static void
test_invalid_fields (void)
{
  static const struct {
    const char *from, *to, *message;
  } cases[] = {
    { "\"architecture\":\"amd64\",", "", "architecture: missing" },
    { "\"architecture\":\"amd64\"", "\"architecture\":64", "architecture: expected a string, got integer" },
    { "\"architecture\":\"amd64\"", "\"architecture\":\"../x86\"", "architecture: '../x86' is not an architecture name" },
    { "\"os\":\"linux\"", "\"os\":\"\"", "os: '' is not an operating system name" },
    { "\"created\":\"2024-05-01T12:00:00Z\",\"arch", "\"created\":\"yesterday\",\"arch", "created: 'yesterday' is not an RFC 3339" },
    { "\"created\":\"2024-05-01T12:00:00Z\",\"arch", "\"created\":\"2024-13-01T12:00:00Z\",\"arch", "is not an RFC 3339" },
    { "\"boot\":\"kernel\"", "\"boot\":\"pxe\"", "config: boot: unknown boot mode 'pxe'" },
    { "\"boot\":\"kernel\",", "", "config: boot: missing" },
    { "\"boot\":\"kernel\"", "\"boot\":\"uefi\"", "config: cmdline: only allowed with boot 'kernel', not 'uefi'" },
    { "\"cmdline\":\"console=ttyS0 root=/dev/vda\",", "", "config: cmdline: required with boot 'kernel'" },
    { "\"cmdline\":\"console=ttyS0 root=/dev/vda\"", "\"cmdline\":\"a\\nb\"", "cmdline: contains a control character" },
    { "\"cmdline\":\"console=ttyS0 root=/dev/vda\"", "\"cmdline\":7", "cmdline: expected a string, got integer" },
    { "\"memory\":1024", "\"memory\":0", "config: memory: 0 is outside 1 .. 16777216" },
    { "\"memory\":1024", "\"memory\":-5", "config: memory: -5 is outside" },
    { "\"memory\":1024", "\"memory\":\"1024\"", "config: memory: expected an integer, got string" },
    { "\"memory\":1024", "\"memory\":1024.5", "config: memory: expected an integer, got number" },
    { "\"memory\":1024,", "", "config: memory: missing" },
    { "\"cpus\":2", "\"cpus\":0", "config: cpus: 0 is outside 1 .. 1024" },
    { "\"cpus\":2", "\"cpus\":4097", "config: cpus: 4097 is outside" },
    { "\"user\":\"debian\"", "\"user\":\"root;rm -rf /\"", "config: user: 'root;rm -rf /' is not a valid user name" },
    { "\"user\":\"debian\"", "\"user\":\"\"", "config: user: '' is not a valid user name" },
    { "\"disk_size\":10737418240", "\"disk_size\":0", "config: disk_size: 0 is outside" },
    { "\"disk_size\":10737418240", "\"disk_size\":-1", "config: disk_size: -1 is outside" },
    { "\"type\":\"layers\"", "\"type\":\"tar\"", "rootfs: type: 'tar' is not 'layers'" },
    { "\"diff_ids\":[\"" D0 "\",\"" D1 "\"]", "\"diff_ids\":[]", "rootfs: diff_ids: empty" },
    { "\"diff_ids\":[\"" D0 "\",\"" D1 "\"]", "\"diff_ids\":[\"" D0 "\",\"" D0 "\"]", "rootfs: diff_ids[1]: '" D0 "' appears twice" },
    { "\"diff_ids\":[\"" D0 "\",\"" D1 "\"]", "\"diff_ids\":[\"" D0 "\",\"sha256:../../x\"]", "rootfs: diff_ids[1]: invalid digest" },
    { "\"diff_ids\":[\"" D0 "\",\"" D1 "\"]", "\"diff_ids\":[\"" D0 "\",\"md5:abc\"]", "rootfs: diff_ids[1]: invalid digest 'md5:abc': unsupported" },
    { "\"diff_ids\":[\"" D0 "\",\"" D1 "\"]", "\"diff_ids\":[1]", "rootfs: diff_ids[0]: expected a string" },
    { "\"rootfs\":{", "\"rootfs\":{\"diff_ids\":\"x\",", "duplicate object key" },
    { "\"history\":[", "\"history\":7,\"h\":[", "history: expected an array, got integer" },
    { "{\"created\":\"2024-05-01T11:00:00Z\",", "{\"created\":\"noon\",", "history[0]: created: 'noon' is not an RFC 3339" },
    { "\"created_by\":\"skiff commit\"", "\"created_by\":\"skiff commit\",\"empty_layer\":\"yes\"", "history[1]: empty_layer: expected a boolean" },
    { "\"created_by\":\"skiff import disk.qcow2\"", "\"created_by\":[]", "history[0]: created_by: expected a string" },
    { "{\"created\":\"2024-05-01T11", "7,{\"created\":\"2024-05-01T11", "history[0]: expected an object, got integer" },
    { "\"config\":{", "\"config\":7,\"c\":{", "config: expected an object, got integer" },
    { "{\"created\"", "[{\"created\"", "JSON syntax error" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *doc = mutate (cases[i].from, cases[i].to);
      g_autoptr (GBytes) raw = bytes_of (doc);
      g_autoptr (GError) error = NULL;
      g_autoptr (SkConfig) c = sk_config_parse (raw, &error);
      if (c != NULL)
        g_error ("case %u accepted: %s", i, doc);
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
      if (!g_str_has_prefix (error->message, "invalid config: ") || !strstr (error->message, cases[i].message))
        g_error ("case %u: expected '%s' in '%s'", i, cases[i].message, error->message);
    }
}

static void
test_serialize_refuses_invalid (void)
{
  g_autoptr (SkConfig) c = sk_config_new ();
  c->architecture = g_strdup ("amd64");
  c->os = g_strdup ("linux");
  c->disk_size = 1;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) none = sk_config_serialize (c, &error);
  g_assert_null (none);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_nonnull (strstr (error->message, "diff_ids: empty"));
  g_clear_error (&error);
  sk_config_add_diff_id (c, D0);
  c->boot = SK_BOOT_KERNEL;
  g_assert_false (sk_config_validate (c, &error));
  g_assert_nonnull (strstr (error->message, "cmdline: required with boot 'kernel'"));
  g_clear_error (&error);
  c->cmdline = g_strdup ("console=hvc0");
  c->boot = 7;
  g_assert_false (sk_config_validate (c, &error));
  g_assert_nonnull (strstr (error->message, "unknown boot mode 7"));
  g_clear_error (&error);
  c->boot = SK_BOOT_KERNEL;
  c->memory_mib = SK_CONFIG_MAX_MEMORY_MIB + 1;
  g_assert_false (sk_config_validate (c, &error));
  g_assert_nonnull (strstr (error->message, "config: memory:"));
  g_clear_error (&error);
  c->memory_mib = 64;
  g_assert_true (sk_config_validate (c, &error));
  g_assert_no_error (error);
}

static void
test_size_limit (void)
{
  GString *s = g_string_new ("{\"pad\":\"");
  while (s->len <= 4 * 1024 * 1024)
    g_string_append (s, "0123456789abcdef0123456789abcdef");
  g_string_append (s, "\"}");
  g_autoptr (GBytes) raw = g_string_free_to_bytes (s);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkConfig) c = sk_config_parse (raw, &error);
  g_assert_null (c);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_nonnull (strstr (error->message, "more than the 4 MiB limit"));
}

static void
test_boot_mode_names (void)
{
  SkBootMode m;
  g_autoptr (GError) error = NULL;
  for (SkBootMode i = SK_BOOT_BIOS; i <= SK_BOOT_KERNEL; i++)
    {
      g_assert_true (sk_boot_mode_from_string (sk_boot_mode_to_string (i), &m, &error));
      g_assert_cmpint (m, ==, i);
    }
  g_assert_false (sk_boot_mode_from_string ("BIOS", &m, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
  g_assert_null (sk_boot_mode_to_string (3));
}

/* The OCI image-config validator beyond the conformance cases (which all
 * fail on "os" first): each schema rule on its own. */
static void
test_oci_image_config (void)
{
  static const struct {
    const char *extra, *message; /* NULL message: accepted */
  } cases[] = {
    { "", NULL },
    { ",\"config\":{\"Env\":[\"A=1\",\"B=\"],\"Volumes\":null,\"Cmd\":null,\"Labels\":null,\"ArgsEscaped\":false}", NULL },
    { ",\"history\":\"x\"", "history: expected an array, got string" },
    { ",\"history\":[{\"empty_layer\":1}]", "history[0]: empty_layer: expected a boolean" },
    { ",\"config\":{\"Env\":[7]}", "config: Env[0]: expected a string, got integer" },
    { ",\"config\":{\"Env\":[\"=x\"]}", "config: Env[0]: '=x' is not NAME=value" },
    { ",\"config\":{\"Volumes\":[\"/a\"]}", "config: Volumes: expected an object, got array" },
    { ",\"config\":{\"Volumes\":{\"/a\":1}}", "config: Volumes: '/a': expected an object, got integer" },
    { ",\"config\":{\"Labels\":{\"a\":1}}", "config: Labels: 'a': expected a string" },
    { ",\"config\":{\"Entrypoint\":\"sh\"}", "config: Entrypoint: expected an array, got string" },
    { ",\"config\":{\"ExposedPorts\":{\"80/tcp\":[]}}", "config: ExposedPorts: '80/tcp': expected an object" },
    { ",\"created\":\"2015-10-31 22:22:56\"", "created: '2015-10-31 22:22:56' is not an RFC 3339" },
    { ",\"os.features\":[1]", "os.features[0]: expected a string" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *doc = g_strdup_printf ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                                              "\"diff_ids\":[]}%s}", cases[i].extra);
      g_autoptr (GBytes) raw = bytes_of (doc);
      g_autoptr (GError) error = NULL;
      gboolean ok = sk_config_validate_oci_image (raw, &error);
      if (cases[i].message == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          continue;
        }
      g_assert_false (ok);
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
      if (!strstr (error->message, cases[i].message))
        g_error ("case %u: expected '%s' in '%s'", i, cases[i].message, error->message);
    }
  static const char *const missing[] = {
    "{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
    "{\"architecture\":\"amd64\",\"os\":\"linux\"}",
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"}}",
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"tar\",\"diff_ids\":[]}}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (missing); i++)
    {
      g_autoptr (GBytes) raw = bytes_of (missing[i]);
      g_autoptr (GError) error = NULL;
      g_assert_false (sk_config_validate_oci_image (raw, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE);
    }
  /* A skiff config is not an OCI image config and vice versa. */
  g_autoptr (GBytes) oci = bytes_of ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D0 "\"]}}");
  g_autoptr (GError) error = NULL;
  g_autoptr (SkConfig) c = sk_config_parse (oci, &error);
  g_assert_null (c);
  g_assert_nonnull (strstr (error->message, "invalid config: config: missing"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/parse-example", test_parse_example);
  g_test_add_func ("/config/round-trip", test_round_trip);
  g_test_add_func ("/config/invalid-fields", test_invalid_fields);
  g_test_add_func ("/config/serialize-refuses-invalid", test_serialize_refuses_invalid);
  g_test_add_func ("/config/size-limit", test_size_limit);
  g_test_add_func ("/config/boot-mode-names", test_boot_mode_names);
  g_test_add_func ("/config/oci-image-config", test_oci_image_config);
  return g_test_run ();
}
