/* Unit tests: runner/userdata (cloud-init documents) and runner/seed (the
 * NoCloud ISO).  YAML and MIME output is parsed back with python3 (PyYAML,
 * email) when available, as cloud-init itself would; that part alone is
 * skipped otherwise. */
#include "runner/seed.h"
#include "runner/userdata.h"
#include "common/cleanup.h"
#include "common/error.h"

#include <archive_entry.h>
#include <glib/gstdio.h>
#include <string.h>

#define HOSTILE "a\"\nruncmd: [rm -rf /]"
#define PRIVATE_KEY "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nAAAAC3NzaC1lZDI1NTE5AAAAIPinned==\n-----END OPENSSH PRIVATE KEY-----\n"
#define PUBLIC_KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinned skiff-host"

/* ---- helpers ---------------------------------------------------------- */

static const char *
vectors_dir (void)
{
  const char *dir = g_getenv ("SK_VECTORS_DIR");
  return dir ? dir : "/work/shared/vectors";
}

static char *
write_temp (const char *contents, gssize len)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("skiff-seed-XXXXXX", &path, NULL);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (g_file_set_contents (path, contents, len, NULL));
  return g_steal_pointer (&path);
}

/* Runs a python3 script on @doc and parses its JSON output; NULL (and a TAP
 * comment) when python3 or @module is missing. */
static json_t *
python_parse (const char *module, const char *script, const char *doc)
{
  const char *probe[] = { "python3", "-c", NULL, NULL };
  g_autofree char *import = g_strdup_printf ("import %s", module);
  probe[2] = import;
  gint status = -1;
  if (!g_spawn_sync (NULL, (char **) probe, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL
                     | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    {
      g_test_message ("python3 with %s missing: round-trip part skipped", module);
      return NULL;
    }
  g_autofree char *path = write_temp (doc, -1);
  const char *argv[] = { "python3", "-c", script, path, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               &err, &status, NULL));
  g_unlink (path);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("python3 failed on:\n%s\n%s", doc, err);
  json_error_t jerr;
  json_t *j = json_loads (out, 0, &jerr);
  g_assert_nonnull (j);
  return j;
}

static json_t *
yaml_load (const char *doc)
{
  return python_parse ("yaml", "import sys, yaml, json\n"
                       "print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8'))))",
                       doc);
}

static json_t *
mime_load (const char *doc)
{
  return python_parse ("email",
                       "import sys, email, json\n"
                       "m = email.message_from_string(open(sys.argv[1], encoding='utf-8').read())\n"
                       "parts = []\n"
                       "for p in m.walk():\n"
                       "    if p.is_multipart():\n"
                       "        parts.append({'type': p.get_content_type()})\n"
                       "        continue\n"
                       "    parts.append({'type': p.get_content_type(), 'merge': p.get('Merge-Type'),\n"
                       "                  'payload': p.get_payload(decode=True).decode('utf-8')})\n"
                       "print(json.dumps({'defects': len(m.defects), 'parts': parts}))",
                       doc);
}

static const char *
jstr (json_t *obj, const char *key)
{
  json_t *v = json_object_get (obj, key);
  g_assert_true (json_is_string (v));
  return json_string_value (v);
}

/* The keys at column 0: quoted scalars never hold a raw line break and
 * block scalars are indented, so this is the document's top-level
 * structure without a YAML parser. */
static char *
top_level_keys (const char *doc)
{
  g_auto (GStrv) lines = g_strsplit (doc, "\n", -1);
  g_autoptr (GString) keys = g_string_new (NULL);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *l = lines[i];
      if (*l == '\0' || *l == ' ' || *l == '#')
        continue;
      const char *colon = strchr (l, ':');
      g_assert_nonnull (colon);
      g_string_append_printf (keys, "%s%.*s", keys->len ? " " : "", (int) (colon - l), l);
    }
  return g_string_free (g_steal_pointer (&keys), FALSE);
}

static SkUserDataSpec *
make_spec (void)
{
  SkUserDataSpec *spec = sk_userdata_spec_new ();
  spec->instance_id = g_strdup ("3f2a9c");
  spec->hostname = g_strdup ("web-1");
  spec->default_user = g_strdup ("skiff");
  g_ptr_array_add (spec->authorized_keys, g_strdup ("ssh-ed25519 AAAAuser me@laptop"));
  g_ptr_array_add (spec->authorized_keys, g_strdup ("ssh-ed25519 AAAAskiff skiff-vm"));
  spec->host_key_private = g_strdup (PRIVATE_KEY);
  spec->host_key_public = g_strdup (PUBLIC_KEY);
  return spec;
}

static char *
build_ok (const SkUserDataSpec *spec, GBytes *user)
{
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  gboolean ok = sk_userdata_build (spec, user, &out, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  return out;
}

/* ---- YAML quoting ----------------------------------------------------- */

static void
test_yaml_quote_escapes (void)
{
  static const struct {
    const char *in, *out;
  } cases[] = {
    { "plain", "\"plain\"" },
    { "", "\"\"" },
    { "a\"b\\c", "\"a\\\"b\\\\c\"" },
    { "l1\nl2\tx\r", "\"l1\\nl2\\tx\\r\"" },
    { "\x01\x1f\x7f", "\"\\x01\\x1F\\x7F\"" },
    { "caf\xc3\xa9", "\"caf\\u00E9\"" },
    { "\xf0\x9f\x98\x80", "\"\\U0001F600\"" },
    { "\xe2\x80\xa8", "\"\\u2028\"" },
    { "bad\xff!", "\"bad\\uFFFD!\"" },
    { "- [x]: {y} # &a *b !c", "\"- [x]: {y} # &a *b !c\"" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *q = sk_userdata_yaml_quote (cases[i].in);
      g_assert_cmpstr (q, ==, cases[i].out);
    }
}

static void
test_yaml_quote_round_trip (void)
{
  static const char *values[] = {
    HOSTILE, "x\"\n- evil", "\\\"\\n", "key: value\n  nested: 1", "'single' and \"double\"",
    "tab\there", "null", "~", "yes", "0x1F", "--- ...", "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80",
  };
  g_autoptr (GString) doc = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autofree char *q = sk_userdata_yaml_quote (values[i]);
      g_assert_null (strchr (q, '\n'));
      g_string_append_printf (doc, "k%zu: %s\n", i, q);
    }
  g_autoptr (json_t) j = yaml_load (doc->str);
  if (j == NULL)
    return;
  g_assert_cmpuint (json_object_size (j), ==, G_N_ELEMENTS (values));
  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autofree char *key = g_strdup_printf ("k%zu", i);
      g_assert_cmpstr (jstr (j, key), ==, values[i]);
    }
}

/* ---- meta-data -------------------------------------------------------- */

static void
test_meta_data (void)
{
  g_autofree char *md = sk_userdata_meta_data ("3f2a9c", "web-1");
  g_assert_cmpstr (md, ==, "instance-id: \"3f2a9c\"\nlocal-hostname: \"web-1\"\n");
  g_autofree char *no_host = sk_userdata_meta_data ("3f2a9c", NULL);
  g_assert_cmpstr (no_host, ==, "instance-id: \"3f2a9c\"\n");
}

static void
test_meta_data_hostile (void)
{
  g_autofree char *md = sk_userdata_meta_data ("id\"\ninstance-id: other", HOSTILE);
  g_autofree char *keys = top_level_keys (md);
  g_assert_cmpstr (keys, ==, "instance-id local-hostname");
  g_autoptr (json_t) j = yaml_load (md);
  if (j == NULL)
    return;
  g_assert_cmpuint (json_object_size (j), ==, 2);
  g_assert_cmpstr (jstr (j, "instance-id"), ==, "id\"\ninstance-id: other");
  g_assert_cmpstr (jstr (j, "local-hostname"), ==, HOSTILE);
}

/* ---- generated cloud-config ------------------------------------------- */

static void
test_cloud_config (void)
{
  g_autoptr (SkUserDataSpec) spec = make_spec ();
  g_ptr_array_add (spec->env, g_strdup ("FOO=bar baz"));
  g_ptr_array_add (spec->env, g_strdup ("EMPTY="));
  g_ptr_array_add (spec->runcmd, g_strdup ("touch /run/ready"));
  g_autofree char *ud = build_ok (spec, NULL);
  g_assert_true (g_str_has_prefix (ud, "#cloud-config\n"));
  g_autofree char *keys = top_level_keys (ud);
  g_assert_cmpstr (keys, ==, "hostname users ssh_authorized_keys disable_root ssh_pwauth ssh_keys "
                   "write_files runcmd");
  g_assert_nonnull (strstr (ud, "  ed25519_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n"));
  g_assert_nonnull (strstr (ud, "    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n    shell: \"/bin/sh\"\n"));

  g_autoptr (json_t) j = yaml_load (ud);
  if (j == NULL)
    return;
  g_assert_cmpstr (jstr (j, "hostname"), ==, "web-1");
  g_assert_true (json_is_false (json_object_get (j, "disable_root")));
  g_assert_true (json_is_false (json_object_get (j, "ssh_pwauth")));
  json_t *users = json_object_get (j, "users");
  g_assert_cmpuint (json_array_size (users), ==, 1);
  json_t *u = json_array_get (users, 0);
  g_assert_cmpstr (jstr (u, "name"), ==, "skiff");
  g_assert_cmpstr (jstr (u, "sudo"), ==, "ALL=(ALL) NOPASSWD:ALL");
  g_assert_true (json_is_true (json_object_get (u, "lock_passwd")));
  json_t *ukeys = json_object_get (u, "ssh_authorized_keys");
  g_assert_cmpuint (json_array_size (ukeys), ==, 2);
  g_assert_cmpstr (json_string_value (json_array_get (ukeys, 1)), ==, "ssh-ed25519 AAAAskiff skiff-vm");
  g_assert_true (json_equal (ukeys, json_object_get (j, "ssh_authorized_keys")));
  json_t *hk = json_object_get (j, "ssh_keys");
  g_assert_cmpstr (jstr (hk, "ed25519_private"), ==, PRIVATE_KEY);
  g_assert_cmpstr (jstr (hk, "ed25519_public"), ==, PUBLIC_KEY);
  json_t *wf = json_object_get (j, "write_files");
  g_assert_cmpuint (json_array_size (wf), ==, 2);
  g_assert_cmpstr (jstr (json_array_get (wf, 0), "path"), ==, "/etc/environment");
  g_assert_true (json_is_true (json_object_get (json_array_get (wf, 0), "append")));
  g_assert_cmpstr (jstr (json_array_get (wf, 0), "content"), ==, "FOO=\"bar baz\"\nEMPTY=\"\"\n");
  g_assert_cmpstr (jstr (json_array_get (wf, 1), "path"), ==, "/etc/profile.d/skiff-env.sh");
  g_assert_nonnull (strstr (jstr (json_array_get (wf, 1), "content"), "export FOO='bar baz'\nexport EMPTY=''\n"));
  g_assert_cmpstr (json_string_value (json_array_get (json_object_get (j, "runcmd"), 0)), ==,
                   "touch /run/ready");
}

static void
test_cloud_config_root_only (void)
{
  g_autoptr (SkUserDataSpec) spec = make_spec ();
  g_clear_pointer (&spec->default_user, g_free);
  g_clear_pointer (&spec->hostname, g_free);
  g_clear_pointer (&spec->host_key_private, g_free);
  g_autofree char *ud = build_ok (spec, NULL);
  g_autofree char *keys = top_level_keys (ud);
  g_assert_cmpstr (keys, ==, "ssh_authorized_keys disable_root ssh_pwauth");

  g_free (spec->default_user);
  spec->default_user = g_strdup ("root");
  g_autofree char *ud2 = build_ok (spec, NULL);
  g_assert_cmpstr (ud2, ==, ud);
}

/* Every hostile value stays inside its scalar: the set of top-level keys
 * does not change and each value reads back byte for byte. */
static void
test_cloud_config_hostile (void)
{
  static const char *env_value = "a\" ; runcmd: [rm -rf /] #'$(reboot)`id`\\";
  g_autoptr (SkUserDataSpec) spec = make_spec ();
  g_ptr_array_add (spec->authorized_keys, g_strdup ("ssh-ed25519 AAAA x\": {y: z} # - runcmd"));
  g_ptr_array_add (spec->env, g_strconcat ("EVIL=", env_value, NULL));
  g_ptr_array_add (spec->runcmd, g_strdup (HOSTILE));
  g_free (spec->host_key_private);
  spec->host_key_private = g_strdup (" k\nssh_pwauth: true\n  runcmd: [reboot]\n");
  g_free (spec->shell);
  spec->shell = g_strdup ("/bin/sh\"\nsudo: ALL");
  g_autofree char *ud = build_ok (spec, NULL);
  g_autofree char *keys = top_level_keys (ud);
  g_assert_cmpstr (keys, ==, "hostname users ssh_authorized_keys disable_root ssh_pwauth ssh_keys "
                   "write_files runcmd");

  g_autoptr (json_t) j = yaml_load (ud);
  if (j == NULL)
    return;
  g_assert_cmpuint (json_object_size (j), ==, 8);
  g_assert_true (json_is_false (json_object_get (j, "ssh_pwauth")));
  json_t *runcmd = json_object_get (j, "runcmd");
  g_assert_cmpuint (json_array_size (runcmd), ==, 1);
  g_assert_cmpstr (json_string_value (json_array_get (runcmd, 0)), ==, HOSTILE);
  json_t *u = json_array_get (json_object_get (j, "users"), 0);
  g_assert_cmpuint (json_object_size (u), ==, 5);
  g_assert_cmpstr (jstr (u, "shell"), ==, "/bin/sh\"\nsudo: ALL");
  json_t *k = json_object_get (j, "ssh_authorized_keys");
  g_assert_cmpstr (json_string_value (json_array_get (k, 2)), ==, "ssh-ed25519 AAAA x\": {y: z} # - runcmd");
  json_t *hk = json_object_get (j, "ssh_keys");
  g_assert_cmpuint (json_object_size (hk), ==, 2);
  g_assert_cmpstr (jstr (hk, "ed25519_private"), ==, " k\nssh_pwauth: true\n  runcmd: [reboot]\n");
  json_t *wf = json_object_get (j, "write_files");
  g_autofree char *pam = g_strdup_printf ("EVIL=\"%s\"\n", env_value);
  g_assert_cmpstr (jstr (json_array_get (wf, 0), "content"), ==, pam);
  /* The profile script must give the shell the value unchanged. */
  g_autofree char *quoted = g_shell_quote (env_value);
  g_autofree char *line = g_strdup_printf ("export EVIL=%s\n", quoted);
  g_assert_nonnull (strstr (jstr (json_array_get (wf, 1), "content"), line));
}

static void
test_env_profile_in_shell (void)
{
  static const char *value = "it's \"$(touch /nonexistent)\" `x` \\ $HOME";
  g_autoptr (SkUserDataSpec) spec = make_spec ();
  g_ptr_array_add (spec->env, g_strconcat ("V=", value, NULL));
  g_autofree char *ud = build_ok (spec, NULL);
  g_autoptr (json_t) j = yaml_load (ud);
  if (j == NULL)
    return;
  const char *script = jstr (json_array_get (json_object_get (j, "write_files"), 1), "content");
  g_autofree char *cmd = g_strdup_printf ("%s\nprintf %%s \"$V\"", script);
  const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
  g_autofree char *out = NULL;
  gint status = -1;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpstr (out, ==, value);
}

/* ---- validation ------------------------------------------------------- */

static void
test_check_env (void)
{
  static const char *good[] = { "A=", "_x1=y=z", "PATH=/bin:/usr/bin", "a=\"quoted\" 'x'" };
  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (sk_userdata_check_env (good[i], &error));
      g_assert_no_error (error);
    }
  static const struct {
    const char *kv, *msg;
  } bad[] = {
    { "NOEQUALS", "'NOEQUALS': expected KEY=VALUE" },
    { "=x", "name '': expected" },
    { "1A=x", "name '1A'" },
    { "A-B=x", "name 'A-B'" },
    { "A B=x", "name 'A B'" },
    { "caf\xc3\xa9=x", "name 'caf\xc3\xa9'" },
    { "A\nruncmd=x", "name 'A\nruncmd'" },
    { "OK=line1\nline2", "'OK': the value contains a line break" },
    { "OK=cr\r", "line break" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (sk_userdata_check_env (bad[i].kv, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
      g_assert_nonnull (strstr (error->message, bad[i].msg));
    }
}

static void
test_check_hostname (void)
{
  static const char *good[] = { "a", "web-1", "Web-1.example.com", "0abc" };
  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (sk_userdata_check_hostname (good[i], &error));
    }
  g_autofree char *long_label = g_strnfill (64, 'a');
  const char *bad[] = { "", "-a", "a-", "a..b", "a.", "a_b", "a b", HOSTILE, long_label };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (sk_userdata_check_hostname (bad[i], &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
      g_assert_true (g_str_has_prefix (error->message, "invalid hostname '"));
    }
}

static void
assert_build_fails (const SkUserDataSpec *spec, GBytes *user, int code, const char *msg)
{
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  g_assert_false (sk_userdata_build (spec, user, &out, &error));
  g_assert_null (out);
  g_assert_error (error, SK_ERROR, code);
  if (strstr (error->message, msg) == NULL)
    g_error ("'%s' does not contain '%s'", error->message, msg);
}

static void
test_build_refuses (void)
{
  {
    g_autoptr (SkUserDataSpec) spec = make_spec ();
    g_ptr_array_add (spec->env, g_strdup ("9LIVES=x"));
    assert_build_fails (spec, NULL, SK_ERROR_USAGE, "invalid environment variable name '9LIVES'");
  }
  {
    g_autoptr (SkUserDataSpec) spec = make_spec ();
    g_ptr_array_add (spec->env, g_strdup ("X=" HOSTILE));
    assert_build_fails (spec, NULL, SK_ERROR_USAGE, "'X': the value contains a line break");
  }
  {
    g_autoptr (SkUserDataSpec) spec = make_spec ();
    g_free (spec->hostname);
    spec->hostname = g_strdup (HOSTILE);
    assert_build_fails (spec, NULL, SK_ERROR_USAGE, "invalid hostname 'a\\\"\\nruncmd");
  }
  {
    g_autoptr (SkUserDataSpec) spec = make_spec ();
    g_free (spec->default_user);
    spec->default_user = g_strdup ("Bad User");
    assert_build_fails (spec, NULL, SK_ERROR_INVALID_DATA, "invalid default user 'Bad User'");
  }
  {
    g_autoptr (SkUserDataSpec) spec = make_spec ();
    g_ptr_array_add (spec->authorized_keys, g_strdup ("ssh-ed25519 AAAA a\nssh-rsa BBBB attacker"));
    assert_build_fails (spec, NULL, SK_ERROR_INVALID_DATA, "invalid ssh key #3: it contains a line break");
  }
  {
    g_autoptr (SkUserDataSpec) spec = make_spec ();
    g_clear_pointer (&spec->instance_id, g_free);
    assert_build_fails (spec, NULL, SK_ERROR_INVALID_DATA, "no instance id");
  }
  {
    g_autoptr (SkUserDataSpec) spec = make_spec ();
    g_autoptr (GBytes) gz = g_bytes_new_static ("\x1f\x8b\x08\x00rest", 8);
    assert_build_fails (spec, gz, SK_ERROR_UNSUPPORTED, "gzip-compressed");
    g_autoptr (GBytes) text = g_bytes_new_static ("hello: world\n", 13);
    assert_build_fails (spec, text, SK_ERROR_USAGE, "user-data: unknown format");
  }
}

/* ---- user-supplied user-data: multipart ------------------------------- */

static void
test_detect_type (void)
{
  static const struct {
    const char *data, *type;
  } cases[] = {
    { "#cloud-config\n", "text/cloud-config" },
    { "#cloud-config-archive\n", "text/cloud-config-archive" },
    { "#cloud-config-jsonp\n", "text/cloud-config-jsonp" },
    { "#!/bin/sh\n", "text/x-shellscript" },
    { "#cloud-boothook\n", "text/cloud-boothook" },
    { "#include-once\n", "text/x-include-once-url" },
    { "#include\nhttp://x/\n", "text/x-include-url" },
    { "#part-handler\n", "text/part-handler" },
    { "## template: jinja\n#cloud-config\n", "text/jinja2" },
    { "content-type: multipart/mixed; boundary=x\n", "multipart/mixed" },
    { "MIME-Version: 1.0\n", "multipart/mixed" },
    { "# cloud-config\n", NULL },
    { "", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) b = g_bytes_new_static (cases[i].data, strlen (cases[i].data));
      g_assert_cmpstr (sk_userdata_detect_type (b), ==, cases[i].type);
    }
}

/* Checks the envelope without a MIME parser: the boundary from the header
 * occurs only on its delimiter lines. */
static char *
assert_envelope (const char *ud, guint n_parts)
{
  const char *prefix = "Content-Type: multipart/mixed; boundary=\"";
  g_assert_true (g_str_has_prefix (ud, prefix));
  const char *b = ud + strlen (prefix);
  g_autofree char *boundary = g_strndup (b, strchr (b, '"') - b);
  g_assert_cmpuint (strlen (boundary), >=, 32);
  guint found = 0;
  for (const char *p = strstr (b + 1, boundary); p != NULL; p = strstr (p + 1, boundary))
    {
      g_assert_true (p[-1] == '-' && p[-2] == '-' && p[-3] == '\n');
      found++;
    }
  g_assert_cmpuint (found, ==, n_parts + 1);
  g_autofree char *end = g_strdup_printf ("\n--%s--\n", boundary);
  g_assert_true (g_str_has_suffix (ud, end));
  return g_steal_pointer (&boundary);
}

/* skiff's part: the generated config, last, with its merge rule. */
static void
assert_skiff_part (json_t *part, const SkUserDataSpec *spec)
{
  g_autofree char *alone = build_ok (spec, NULL);
  g_assert_cmpstr (jstr (part, "type"), ==, "text/cloud-config");
  g_assert_cmpstr (jstr (part, "merge"), ==, "dict(no_replace,recurse_list)+list(append)+str()");
  g_assert_cmpstr (jstr (part, "payload"), ==, alone);
}

static void
test_multipart_cloud_config (void)
{
  static const char *user = "#cloud-config\nusers:\n  - name: alice\nruncmd:\n  - echo hi\n"
                            "--==skiff-fake==\nContent-Type: text/x-shellscript\n";
  g_autoptr (SkUserDataSpec) spec = make_spec ();
  g_autoptr (GBytes) b = g_bytes_new_static (user, strlen (user));
  g_autofree char *ud = build_ok (spec, b);
  g_autofree char *boundary = assert_envelope (ud, 2);
  g_assert_nonnull (strstr (ud, "Merge-Type: dict(no_replace,recurse_list)+list(append)+str()\n\n#cloud-config\n"));
  /* The user's text is not readable in the envelope: it is base64. */
  g_assert_null (strstr (ud, "--==skiff-fake=="));

  g_autoptr (json_t) j = mime_load (ud);
  if (j == NULL)
    return;
  g_assert_cmpint (json_integer_value (json_object_get (j, "defects")), ==, 0);
  json_t *parts = json_object_get (j, "parts");
  g_assert_cmpuint (json_array_size (parts), ==, 3);
  g_assert_cmpstr (jstr (json_array_get (parts, 0), "type"), ==, "multipart/mixed");
  json_t *theirs = json_array_get (parts, 1);
  g_assert_cmpstr (jstr (theirs, "type"), ==, "text/cloud-config");
  g_assert_true (json_is_null (json_object_get (theirs, "merge")));
  g_assert_cmpstr (jstr (theirs, "payload"), ==, user);
  assert_skiff_part (json_array_get (parts, 2), spec);
}

static void
test_multipart_script (void)
{
  static const char *user = "#!/bin/sh\necho caf\xc3\xa9 > /tmp/x\n\n";
  g_autoptr (SkUserDataSpec) spec = make_spec ();
  g_autoptr (GBytes) b = g_bytes_new_static (user, strlen (user));
  g_autofree char *ud = build_ok (spec, b);
  g_autofree char *boundary = assert_envelope (ud, 2);
  g_autoptr (json_t) j = mime_load (ud);
  if (j == NULL)
    return;
  json_t *parts = json_object_get (j, "parts");
  g_assert_cmpuint (json_array_size (parts), ==, 3);
  json_t *theirs = json_array_get (parts, 1);
  g_assert_cmpstr (jstr (theirs, "type"), ==, "text/x-shellscript");
  g_assert_true (json_is_null (json_object_get (theirs, "merge")));
  g_assert_cmpstr (jstr (theirs, "payload"), ==, user);
  assert_skiff_part (json_array_get (parts, 2), spec);
}

static void
test_multipart_nested_mime (void)
{
  static const char *user = "Content-Type: multipart/mixed; boundary=\"inner\"\nMIME-Version: 1.0\n\n"
                            "--inner\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho one\n"
                            "--inner\nContent-Type: text/cloud-config\n\n#cloud-config\nruncmd: [ls]\n"
                            "--inner--\n";
  g_autoptr (SkUserDataSpec) spec = make_spec ();
  g_autoptr (GBytes) b = g_bytes_new_static (user, strlen (user));
  g_autofree char *ud = build_ok (spec, b);
  g_autofree char *boundary = assert_envelope (ud, 2);
  g_autoptr (json_t) j = mime_load (ud);
  if (j == NULL)
    return;
  json_t *parts = json_object_get (j, "parts");
  g_assert_cmpuint (json_array_size (parts), ==, 5);
  g_assert_cmpstr (jstr (json_array_get (parts, 1), "type"), ==, "multipart/mixed");
  g_assert_cmpstr (jstr (json_array_get (parts, 2), "payload"), ==, "#!/bin/sh\necho one");
  g_assert_cmpstr (jstr (json_array_get (parts, 3), "payload"), ==, "#cloud-config\nruncmd: [ls]");
  assert_skiff_part (json_array_get (parts, 4), spec);
}

static void
test_blank_user_data (void)
{
  g_autoptr (SkUserDataSpec) spec = make_spec ();
  g_autoptr (GBytes) b = g_bytes_new_static (" \n\t\n", 4);
  g_autofree char *with = build_ok (spec, b);
  g_autofree char *without = build_ok (spec, NULL);
  g_assert_cmpstr (with, ==, without);
}

/* ---- the ISO ---------------------------------------------------------- */

typedef struct {
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("skiff-seed-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autoptr (GDir) d = g_dir_open (f->dir, 0, NULL);
  for (const char *n; d && (n = g_dir_read_name (d)) != NULL;)
    {
      g_autofree char *p = g_build_filename (f->dir, n, NULL);
      g_unlink (p);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static gint
cmp_strp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Reads an ISO with libarchive: name -> contents; "names" gets the sorted
 * file names (the root directory entry left out). */
static GHashTable *
read_iso (const char *path, GString *names)
{
  g_autoptr (SkArchive) a = archive_read_new ();
  archive_read_support_format_iso9660 (a);
  g_assert_cmpint (archive_read_open_filename (a, path, 10240), ==, ARCHIVE_OK);
  GHashTable *files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  struct archive_entry *e;
  while (archive_read_next_header (a, &e) == ARCHIVE_OK)
    {
      if (archive_entry_filetype (e) == AE_IFDIR)
        continue;
      g_autoptr (GString) data = g_string_new (NULL);
      char buf[4096];
      la_ssize_t n;
      while ((n = archive_read_data (a, buf, sizeof buf)) > 0)
        g_string_append_len (data, buf, n);
      g_assert_cmpint (n, ==, 0);
      char *name = g_strdup (archive_entry_pathname (e));
      g_ptr_array_add (sorted, name);
      g_hash_table_insert (files, name, g_string_free (g_steal_pointer (&data), FALSE));
    }
  g_ptr_array_sort (sorted, cmp_strp);
  for (guint i = 0; i < sorted->len; i++)
    g_string_append_printf (names, "%s%s", i ? " " : "", (char *) sorted->pdata[i]);
  return files;
}

static char *
seed_path (Fixture *f)
{
  return g_build_filename (f->dir, "seed.iso", NULL);
}

static void
write_seed_ok (const char *path, const SkSeedFiles *files)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = sk_seed_write_iso (path, files, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

static guint
count_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
test_seed_contents (Fixture *f, gconstpointer data)
{
  g_autoptr (SkUserDataSpec) spec = make_spec ();
  g_autofree char *md = sk_userdata_meta_data (spec->instance_id, spec->hostname);
  g_autofree char *ud = build_ok (spec, NULL);
  g_autofree char *nc = NULL;
  g_autofree char *nc_path = g_build_filename (vectors_dir (), "cloud-init/example-seed/network-config.v2", NULL);
  if (!g_file_get_contents (nc_path, &nc, NULL, NULL))
    nc = g_strdup ("version: 2\nethernets: {}\n");
  SkSeedFiles files = { .meta_data = md, .user_data = ud, .network_config = nc, .vendor_data = "" };
  g_autofree char *path = seed_path (f);
  gint64 t0 = g_get_monotonic_time ();
  write_seed_ok (path, &files);
  g_test_message ("writing one seed ISO took %.2f ms", (g_get_monotonic_time () - t0) / 1000.0);
  g_assert_cmpuint (count_dir (f->dir), ==, 1);
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);

  g_autoptr (GString) names = g_string_new (NULL);
  g_autoptr (GHashTable) got = read_iso (path, names);
  g_assert_cmpstr (names->str, ==, "meta-data network-config user-data vendor-data");
  g_assert_cmpstr (g_hash_table_lookup (got, "meta-data"), ==, md);
  g_assert_cmpstr (g_hash_table_lookup (got, "user-data"), ==, ud);
  g_assert_cmpstr (g_hash_table_lookup (got, "network-config"), ==, nc);
  g_assert_cmpstr (g_hash_table_lookup (got, "vendor-data"), ==, "");

  /* Rewriting replaces the file; optional files are left out when NULL. */
  SkSeedFiles minimal = { .meta_data = "instance-id: \"x\"\n", .user_data = "" };
  write_seed_ok (path, &minimal);
  g_assert_cmpuint (count_dir (f->dir), ==, 1);
  g_autoptr (GString) names2 = g_string_new (NULL);
  g_autoptr (GHashTable) got2 = read_iso (path, names2);
  g_assert_cmpstr (names2->str, ==, "meta-data user-data");
  g_assert_cmpstr (g_hash_table_lookup (got2, "meta-data"), ==, "instance-id: \"x\"\n");
  g_assert_cmpstr (g_hash_table_lookup (got2, "user-data"), ==, "");
}

/* The 32-byte volume id of the volume descriptor at @sector, decoded. */
static char *
volume_id (const guint8 *iso, gsize len, guint sector, gboolean ucs2)
{
  g_assert_cmpuint ((sector + 1) * 2048, <=, len);
  const guint8 *vd = iso + sector * 2048;
  g_assert_cmpmem (vd + 1, 5, "CD001", 5);
  g_autoptr (GString) id = g_string_new (NULL);
  for (guint i = 0; i < 32; i += ucs2 ? 2 : 1)
    g_string_append_c (id, ucs2 ? (vd[40 + i] == 0 ? vd[41 + i] : '?') : vd[40 + i]);
  return g_strchomp (g_string_free (g_steal_pointer (&id), FALSE));
}

static void
test_seed_volume_id (Fixture *f, gconstpointer data)
{
  g_autofree char *path = seed_path (f);
  SkSeedFiles files = { .meta_data = "instance-id: \"x\"\n", .user_data = "#cloud-config\n" };
  write_seed_ok (path, &files);
  g_autofree char *iso = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &iso, &len, NULL));
  const guint8 *p = (const guint8 *) iso;
  g_assert_cmpint (p[16 * 2048], ==, 1);
  g_autofree char *primary = volume_id (p, len, 16, FALSE);
  g_assert_cmpstr (primary, ==, "CIDATA");
  g_autofree char *joliet = NULL;
  for (guint s = 17; (s + 1) * 2048 <= len && p[s * 2048] != 255 && joliet == NULL; s++)
    if (p[s * 2048] == 2 && memcmp (p + s * 2048 + 88, "%/", 2) == 0)
      joliet = volume_id (p, len, s, TRUE);
  g_assert_cmpstr (joliet, ==, "cidata");
  /* Without padding a seed is a few dozen sectors, not genisoimage's 183. */
  g_assert_cmpuint (len % 2048, ==, 0);
  g_assert_cmpuint (len, <, 150 * 2048);

  const char *blkid[] = { "blkid", "-o", "value", "-s", "LABEL", path, NULL };
  g_autofree char *label = NULL;
  gint status = -1;
  if (g_spawn_sync (NULL, (char **) blkid, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                    NULL, &label, NULL, &status, NULL))
    g_assert_cmpstr (g_strchomp (label), ==, "cidata");
  else
    g_test_message ("blkid missing: label check skipped");
}

static char *
isoinfo (const char *flag, const char *path)
{
  const char *argv[] = { "isoinfo", flag, "-i", path, NULL };
  char *out = NULL;
  gint status = -1;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                     NULL, &out, NULL, &status, NULL))
    return NULL;
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return out;
}

/* Same names and contents as the seed genisoimage makes with the command
 * in cloud-init's documentation. */
static void
test_seed_matches_reference (Fixture *f, gconstpointer data)
{
  g_autofree char *ref = g_build_filename (vectors_dir (), "cloud-init/seed-genisoimage-cidata.iso", NULL);
  if (!g_file_test (ref, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("reference seed not found (set SK_VECTORS_DIR)");
      return;
    }
  g_autoptr (GString) ref_names = g_string_new (NULL);
  g_autoptr (GHashTable) want = read_iso (ref, ref_names);
  SkSeedFiles files = { .meta_data = g_hash_table_lookup (want, "meta-data"),
                        .user_data = g_hash_table_lookup (want, "user-data") };
  g_assert_nonnull (files.meta_data);
  g_autofree char *path = seed_path (f);
  write_seed_ok (path, &files);
  g_autoptr (GString) names = g_string_new (NULL);
  g_autoptr (GHashTable) got = read_iso (path, names);
  g_assert_cmpstr (names->str, ==, ref_names->str);
  g_assert_cmpstr (names->str, ==, "meta-data user-data");
  g_assert_cmpstr (g_hash_table_lookup (got, "user-data"), ==, files.user_data);

  g_autofree char *d = isoinfo ("-d", path);
  if (d == NULL)
    {
      g_test_message ("isoinfo missing: descriptor checks skipped");
      return;
    }
  g_assert_nonnull (strstr (d, "Rock Ridge signatures"));
  g_assert_nonnull (strstr (d, "Joliet with UCS level"));
  const char *views[] = { "-R", "-J" };
  for (gsize i = 0; i < G_N_ELEMENTS (views); i++)
    {
      const char *argv[] = { "isoinfo", views[i], "-f", "-i", path, NULL };
      g_autofree char *out = NULL;
      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                                   NULL, NULL, NULL));
      g_assert_cmpstr (out, ==, "/meta-data\n/user-data\n");
    }
}

static void
test_seed_errors (Fixture *f, gconstpointer data)
{
  g_autofree char *path = seed_path (f);
  g_assert_true (g_file_set_contents (path, "old", -1, NULL));
  SkSeedFiles no_meta = { .user_data = "" };
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_seed_write_iso (path, &no_meta, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "meta-data and user-data are required"));
  g_autofree char *old = NULL;
  g_assert_true (g_file_get_contents (path, &old, NULL, NULL));
  g_assert_cmpstr (old, ==, "old");
  g_assert_cmpuint (count_dir (f->dir), ==, 1);

  g_autofree char *missing = g_build_filename (f->dir, "no-such-dir", "seed.iso", NULL);
  SkSeedFiles ok = { .meta_data = "", .user_data = "" };
  g_autoptr (GError) error2 = NULL;
  g_assert_false (sk_seed_write_iso (missing, &ok, &error2));
  g_assert_error (error2, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error2->message, "no-such-dir"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/userdata/yaml-quote/escapes", test_yaml_quote_escapes);
  g_test_add_func ("/userdata/yaml-quote/round-trip", test_yaml_quote_round_trip);
  g_test_add_func ("/userdata/meta-data", test_meta_data);
  g_test_add_func ("/userdata/meta-data/hostile", test_meta_data_hostile);
  g_test_add_func ("/userdata/cloud-config", test_cloud_config);
  g_test_add_func ("/userdata/cloud-config/root-only", test_cloud_config_root_only);
  g_test_add_func ("/userdata/cloud-config/hostile", test_cloud_config_hostile);
  g_test_add_func ("/userdata/env/profile-in-shell", test_env_profile_in_shell);
  g_test_add_func ("/userdata/check-env", test_check_env);
  g_test_add_func ("/userdata/check-hostname", test_check_hostname);
  g_test_add_func ("/userdata/build/refuses", test_build_refuses);
  g_test_add_func ("/userdata/detect-type", test_detect_type);
  g_test_add_func ("/userdata/multipart/cloud-config", test_multipart_cloud_config);
  g_test_add_func ("/userdata/multipart/script", test_multipart_script);
  g_test_add_func ("/userdata/multipart/nested-mime", test_multipart_nested_mime);
  g_test_add_func ("/userdata/multipart/blank", test_blank_user_data);
  g_test_add ("/seed/contents", Fixture, NULL, fixture_setup, test_seed_contents, fixture_teardown);
  g_test_add ("/seed/volume-id", Fixture, NULL, fixture_setup, test_seed_volume_id, fixture_teardown);
  g_test_add ("/seed/matches-reference", Fixture, NULL, fixture_setup, test_seed_matches_reference,
              fixture_teardown);
  g_test_add ("/seed/errors", Fixture, NULL, fixture_setup, test_seed_errors, fixture_teardown);
  return g_test_run ();
}
