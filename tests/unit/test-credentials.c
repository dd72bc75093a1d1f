/* Unit tests: registry/credentials — every row of
 * vectors/credentials/lookup-cases.tsv (each auth file placed in every
 * location podman reads), containers/image's fixtures, the search order,
 * a fake docker-credential helper (shell, in a temp dir on PATH) speaking
 * the protocol of credential-helper-protocol-transcripts.txt, store and
 * erase, hostile and malformed inputs. */
#include "common/error.h"
#include "registry/credentials.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *bin_dir;

/* The fake helper of containers/image's tests (transcribed behaviour) plus
 * store/erase kept in $FAKE_HELPER_STATE; every call is logged to
 * $FAKE_HELPER_STATE/log as "ACTION STDIN". */
static const char fake_helper[] =
  "#!/bin/sh\n"
  "state=\"${FAKE_HELPER_STATE:?}\"\n"
  "input=$(cat)\n"
  "printf '%s %s\\n' \"$1\" \"$input\" >> \"$state/log\"\n"
  "keyof() { printf %s \"$1\" | od -An -tx1 | tr -d ' \\n'; }\n"
  "case \"$1\" in\n"
  "get)\n"
  "  f=\"$state/$(keyof \"$input\")\"\n"
  "  if [ -f \"$f\" ]; then cat \"$f\"; exit 0; fi\n"
  "  case \"$input\" in\n"
  "  registry-a.com) echo '{\"ServerURL\":\"registry-a.com\",\"Username\":\"foo\",\"Secret\":\"bar\"}' ;;\n"
  "  registry-b.com) echo '{\"ServerURL\":\"registry-b.com\",\"Username\":\"<token>\",\"Secret\":\"fizzbuzz\"}' ;;\n"
  "  registry-no-creds.com) echo 'credentials not found in native keychain'; exit 1 ;;\n"
  "  '') echo 'no credentials server URL'; exit 1 ;;\n"
  "  *) echo '{}' ;;\n"
  "  esac ;;\n"
  "store)\n"
  "  url=$(printf %s \"$input\" | sed -n 's/.*\"ServerURL\":\"\\([^\"]*\\)\".*/\\1/p')\n"
  "  [ -n \"$url\" ] || { echo 'no credentials server URL'; exit 1; }\n"
  "  printf %s \"$input\" > \"$state/$(keyof \"$url\")\" ;;\n"
  "erase)\n"
  "  f=\"$state/$(keyof \"$input\")\"\n"
  "  if [ -f \"$f\" ]; then rm \"$f\"; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n"
  "*) echo \"unknown action '$1'\"; exit 1 ;;\n"
  "esac\n";

static const char *const other_helpers[][2] = {
  { "slow", "#!/bin/sh\nexec sleep 30\n" },
  { "broken", "#!/bin/sh\ncat >/dev/null\necho 'boom: keychain locked' >&2\nexit 3\n" },
  { "garbage", "#!/bin/sh\ncat >/dev/null\necho 'this is not json'\n" },
  { "noread", "#!/bin/sh\necho '{}'\n" },
};

static char *
vectors_dir (void)
{
  const char *src = g_getenv ("SK_SRCDIR");
  g_autofree char *dir = g_build_filename (src ? src : ".", "..", "shared", "vectors", "credentials", NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    g_error ("test vectors not found at '%s' (set SK_SRCDIR to the repository root)", dir);
  return g_steal_pointer (&dir);
}

static char *
fixture (const char *name)
{
  g_autofree char *dir = vectors_dir ();
  g_autofree char *path = g_build_filename (dir, "containers-image-testdata", name, NULL);
  char *text = NULL;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (path, &text, NULL, &error))
    g_error ("%s", error->message);
  return text;
}

static void
write_file (const char *path, const char *text)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, text, -1, &error));
}

static char *
read_file (const char *path)
{
  char *text = NULL;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (path, &text, NULL, &error))
    g_error ("%s", error->message);
  return text;
}

static void
rm_rf (const char *path)
{
  const char *argv[] = { "rm", "-rf", path, NULL };
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL));
}

/* A scratch HOME with every location podman reads under it, isolated from
 * the real environment. */
typedef struct {
  char *root;
  char *home, *runtime, *config, *docker, *run, *state;
  SkCredentialsOptions opts;
} Env;

static Env *
env_new (void)
{
  Env *e = g_new0 (Env, 1);
  e->root = g_dir_make_tmp ("skiff-creds-XXXXXX", NULL);
  g_assert_nonnull (e->root);
  e->home = g_build_filename (e->root, "home", NULL);
  e->runtime = g_build_filename (e->root, "runtime", NULL);
  e->config = g_build_filename (e->root, "xdg-config", NULL);
  e->docker = g_build_filename (e->root, "docker-config", NULL);
  e->run = g_build_filename (e->root, "run", NULL);
  e->state = g_build_filename (e->root, "helper-state", NULL);
  g_assert_cmpint (g_mkdir_with_parents (e->home, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (e->runtime, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (e->state, 0700), ==, 0);
  g_setenv ("FAKE_HELPER_STATE", e->state, TRUE);
  e->opts.ignore_environment = TRUE;
  e->opts.home = e->home;
  e->opts.xdg_runtime_dir = e->runtime;
  e->opts.run_dir = e->run;
  e->opts.helper_timeout_ms = 10000;
  return e;
}

static void
env_free (Env *e)
{
  rm_rf (e->root);
  g_free (e->root);
  g_free (e->home);
  g_free (e->runtime);
  g_free (e->config);
  g_free (e->docker);
  g_free (e->run);
  g_free (e->state);
  g_free (e);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Env, env_free)

static char *
env_path (Env *e, const char *a, const char *b)
{
  return g_build_filename (e->root, a, b, NULL);
}

static char *
helper_log (Env *e)
{
  g_autofree char *path = g_build_filename (e->state, "log", NULL);
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static SkCredentials *
lookup_ok (const SkCredentialsOptions *opts, const char *registry, const char *repo)
{
  g_autoptr (GError) error = NULL;
  SkCredentials *c = (SkCredentials *) 0x1;
  if (!sk_credentials_lookup (opts, registry, repo, &c, &error))
    g_error ("lookup '%s' '%s': %s", registry, repo ? repo : "", error->message);
  g_assert_true (c != (SkCredentials *) 0x1);
  return c;
}

static void
assert_creds (SkCredentials *c, const char *user, const char *password, const char *token)
{
  g_assert_nonnull (c);
  g_assert_cmpstr (c->username, ==, user);
  g_assert_cmpstr (c->password, ==, password);
  g_assert_cmpstr (c->identity_token, ==, token);
}

static void
assert_user_pass (const SkCredentialsOptions *opts, const char *registry, const char *repo, const char *user,
                  const char *password)
{
  g_autoptr (SkCredentials) c = lookup_ok (opts, registry, repo);
  if (c == NULL)
    g_error ("no credentials for '%s' '%s', expected '%s'", registry, repo ? repo : "", user);
  assert_creds (c, user, password, NULL);
}

/* ---- lookup-cases.tsv ---- */

typedef enum {
  PLACE_AUTHFILE,
  PLACE_REGISTRY_AUTH_FILE,
  PLACE_RUNTIME,
  PLACE_XDG_CONFIG,
  PLACE_DOCKER_CONFIG,
  PLACE_HOME_DOCKER,
  PLACE_RUN_UID,
  PLACE_LEGACY,
  PLACE_NONE,
} Place;

static const char *const place_names[] = {
  "--authfile", "$REGISTRY_AUTH_FILE", "$XDG_RUNTIME_DIR", "$XDG_CONFIG_HOME", "$DOCKER_CONFIG",
  "~/.docker", "/run/containers/UID", "~/.dockercfg", "(no file)",
};

/* Puts @text where @place says and points @e's options at it. */
static void
place_file (Env *e, Place place, const char *text)
{
  g_autofree char *path = NULL;
  switch (place)
    {
    case PLACE_AUTHFILE:
    case PLACE_REGISTRY_AUTH_FILE:
      path = env_path (e, "elsewhere", "my-auth.json");
      if (place == PLACE_AUTHFILE)
        e->opts.authfile = g_intern_string (path);
      else
        e->opts.registry_auth_file = g_intern_string (path);
      break;
    case PLACE_RUNTIME: path = g_build_filename (e->runtime, "containers", "auth.json", NULL); break;
    case PLACE_XDG_CONFIG:
      e->opts.xdg_config_home = e->config;
      path = g_build_filename (e->config, "containers", "auth.json", NULL);
      break;
    case PLACE_DOCKER_CONFIG:
      e->opts.docker_config = e->docker;
      path = g_build_filename (e->docker, "config.json", NULL);
      break;
    case PLACE_HOME_DOCKER: path = g_build_filename (e->home, ".docker", "config.json", NULL); break;
    case PLACE_RUN_UID:
      {
        g_autofree char *uid = g_strdup_printf ("%u", (unsigned) getuid ());
        e->opts.xdg_runtime_dir = NULL;
        path = g_build_filename (e->run, "containers", uid, "auth.json", NULL);
        break;
      }
    case PLACE_LEGACY: path = g_build_filename (e->home, ".dockercfg", NULL); break;
    case PLACE_NONE: return;
    }
  write_file (path, text);
}

/* registries.conf's credential-helpers = [ "a", "b" ] */
static GStrv
parse_conf_helpers (const char *conf)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  const char *p = strchr (conf, '[');
  g_assert_nonnull (p);
  while ((p = strchr (p, '"')) != NULL)
    {
      const char *end = strchr (p + 1, '"');
      g_assert_nonnull (end);
      g_autofree char *name = g_strndup (p + 1, end - p - 1);
      g_strv_builder_add (b, name);
      p = end + 1;
    }
  return g_strv_builder_end (b);
}

typedef struct {
  const char *name, *key, *file, *user, *password, *token;
} Row;

static void
run_row_at (const Row *row, Place place)
{
  g_autoptr (Env) e = env_new ();
  g_auto (GStrv) helpers = NULL;
  if (g_str_has_suffix (row->file, ".conf"))
    {
      g_autofree char *conf = fixture (row->file);
      helpers = parse_conf_helpers (conf);
      e->opts.credential_helpers = (const char *const *) helpers;
    }
  else if (*row->file != '\0')
    {
      g_autofree char *name = g_strndup (row->file, strcspn (row->file, " "));
      g_autofree char *text = fixture (name);
      place_file (e, place, text);
    }
  if (strcmp (row->name, "use system context") == 0)
    {
      e->opts.username = row->user;
      e->opts.password = row->password;
    }
  g_autofree char *registry = g_strndup (row->key, strcspn (row->key, "/"));
  const char *repo = row->key[strlen (registry)] == '/' ? row->key + strlen (registry) + 1 : NULL;
  g_autoptr (SkCredentials) c = lookup_ok (&e->opts, registry, repo);
  g_test_message ("%s: '%s' in %s (%s)", row->name, row->key, row->file, place_names[place]);
  if (*row->user == '\0' && *row->password == '\0' && *row->token == '\0')
    {
      if (c != NULL)
        g_error ("%s: expected no credentials, got user '%s'", row->name, c->username);
      return;
    }
  g_assert_nonnull (c);
  g_assert_cmpstr (c->username ? c->username : "", ==, row->user);
  g_assert_cmpstr (c->password ? c->password : "", ==, row->password);
  g_assert_cmpstr (c->identity_token ? c->identity_token : "", ==, row->token);
}

static void
test_lookup_cases (void)
{
  g_autofree char *dir = vectors_dir ();
  g_autofree char *path = g_build_filename (dir, "lookup-cases.tsv", NULL);
  g_autofree char *text = read_file (path);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint rows = 0, runs = 0;
  for (guint i = 1; lines[i] != NULL; i++)
    {
      if (*lines[i] == '\0')
        continue;
      g_auto (GStrv) f = g_strsplit (lines[i], "\t", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 8);
      Row row = { f[1], f[2], f[3], f[4], f[5], f[6] };
      gboolean legacy = strstr (row.file, "~/.dockercfg") != NULL;
      gboolean no_file = *row.file == '\0' || g_str_has_suffix (row.file, ".conf");
      Place first = legacy ? PLACE_LEGACY : no_file ? PLACE_NONE : PLACE_AUTHFILE;
      Place last = legacy ? PLACE_LEGACY : no_file ? PLACE_NONE : PLACE_RUN_UID;
      for (Place p = first; p <= last; p++, runs++)
        run_row_at (&row, p);
      rows++;
    }
  g_assert_cmpuint (rows, ==, 25);
  g_test_message ("%u rows, %u lookups", rows, runs);
}

/* ---- containers/image fixtures beyond the table ---- */

static void
test_fixtures (void)
{
  g_autoptr (Env) e = env_new ();
  g_autofree char *abnormal = fixture ("abnormal.json");
  place_file (e, PLACE_HOME_DOCKER, abnormal);
  assert_user_pass (&e->opts, "127.0.0.1:5000", NULL, "127.0", "0.1-5000");
  assert_user_pass (&e->opts, "localhost:5001", "a/b", "local", "host-5001");
  assert_user_pass (&e->opts, "localhost", NULL, "local", "host");
  assert_user_pass (&e->opts, "index.docker.io", "library/x", "index", "docker.io");
  assert_user_pass (&e->opts, "registry-1.docker.io", NULL, "index", "docker.io");
  g_autoptr (SkCredentials) none = lookup_ok (&e->opts, "localhost:5002", NULL);
  g_assert_null (none);

  /* config.json: a credHelpers entry whose helper has nothing */
  g_autoptr (Env) h = env_new ();
  g_autofree char *config = fixture ("config.json");
  place_file (h, PLACE_DOCKER_CONFIG, config);
  g_autoptr (SkCredentials) no_creds = lookup_ok (&h->opts, "registry-no-creds.com", "x/y");
  g_assert_null (no_creds);
  g_autofree char *log = helper_log (h);
  g_assert_cmpstr (log, ==, "get registry-no-creds.com\n");

  /* cred-helper-with-auth-files.conf: the auth files, then the helper */
  g_autoptr (Env) both = env_new ();
  g_autofree char *conf = fixture ("cred-helper-with-auth-files.conf");
  g_auto (GStrv) helpers = parse_conf_helpers (conf);
  g_assert_cmpuint (g_strv_length (helpers), ==, 2);
  both->opts.credential_helpers = (const char *const *) helpers;
  g_autofree char *example = fixture ("example.json");
  place_file (both, PLACE_RUNTIME, example);
  assert_user_pass (&both->opts, "example.org", NULL, "example", "org");
  g_autofree char *log1 = helper_log (both);
  g_assert_cmpstr (log1, ==, "");
  assert_user_pass (&both->opts, "registry-a.com", NULL, "foo", "bar");
  g_autoptr (SkCredentials) token = lookup_ok (&both->opts, "registry-b.com", NULL);
  assert_creds (token, NULL, NULL, "fizzbuzz");
  g_assert_cmpstr (token->source, ==, "docker-credential-helper-registry");
}

/* ---- search order ---- */

static char *
auth_json (const char *key, const char *user, const char *password)
{
  g_autofree char *plain = g_strdup_printf ("%s:%s", user, password);
  g_autofree char *b64 = g_base64_encode ((const guchar *) plain, strlen (plain));
  return g_strdup_printf ("{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}", key, b64);
}

static void
test_search_order (void)
{
  g_autoptr (Env) e = env_new ();
  static const Place order[] = { PLACE_RUNTIME, PLACE_XDG_CONFIG, PLACE_DOCKER_CONFIG, PLACE_LEGACY };
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      g_autofree char *text = order[i] == PLACE_LEGACY ? g_strdup ("{\"https://reg.example/v1/\": {\"auth\": "
                                                                   "\"bGVnYWN5OnB3\"}}")
                                                       : auth_json ("reg.example", place_names[order[i]], "pw");
      place_file (e, order[i], text);
    }
  /* ~/.docker/config.json is not read when $DOCKER_CONFIG is set */
  g_autofree char *home_docker = auth_json ("reg.example", "home-docker", "pw");
  place_file (e, PLACE_HOME_DOCKER, home_docker);
  g_auto (GStrv) paths = sk_credentials_search_paths (&e->opts);
  g_assert_cmpuint (g_strv_length (paths), ==, 4);
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      g_autoptr (SkCredentials) c = lookup_ok (&e->opts, "reg.example", "a/b");
      g_assert_nonnull (c);
      g_assert_cmpstr (c->username, ==, order[i] == PLACE_LEGACY ? "legacy" : place_names[order[i]]);
      g_assert_cmpstr (c->source, ==, paths[i]);
      g_assert_cmpint (g_unlink (paths[i]), ==, 0);
    }
  g_autoptr (SkCredentials) gone = lookup_ok (&e->opts, "reg.example", "a/b");
  g_assert_null (gone);
  e->opts.docker_config = NULL;
  assert_user_pass (&e->opts, "reg.example", NULL, "home-docker", "pw");
}

static void
test_explicit_file_alone (void)
{
  g_autoptr (Env) e = env_new ();
  g_autofree char *everywhere = auth_json ("reg.example", "default", "pw");
  place_file (e, PLACE_RUNTIME, everywhere);
  place_file (e, PLACE_HOME_DOCKER, everywhere);
  g_autofree char *other = auth_json ("other.example", "explicit", "pw");
  place_file (e, PLACE_REGISTRY_AUTH_FILE, other);
  /* $REGISTRY_AUTH_FILE alone: the defaults are not consulted */
  g_autoptr (SkCredentials) none = lookup_ok (&e->opts, "reg.example", NULL);
  g_assert_null (none);
  assert_user_pass (&e->opts, "other.example", NULL, "explicit", "pw");
  /* --authfile wins over $REGISTRY_AUTH_FILE */
  g_autofree char *flag_path = env_path (e, "flag", "auth.json");
  g_autofree char *flag = auth_json ("other.example", "flag", "pw");
  write_file (flag_path, flag);
  e->opts.authfile = flag_path;
  assert_user_pass (&e->opts, "other.example", NULL, "flag", "pw");
  g_auto (GStrv) paths = sk_credentials_search_paths (&e->opts);
  g_assert_cmpuint (g_strv_length (paths), ==, 1);
  g_assert_cmpstr (paths[0], ==, flag_path);
  /* a missing explicit file means no credentials */
  e->opts.authfile = "/nonexistent/auth.json";
  g_autoptr (SkCredentials) missing = lookup_ok (&e->opts, "other.example", NULL);
  g_assert_null (missing);
}

static void
test_environment (void)
{
  g_autoptr (Env) e = env_new ();
  g_autofree char *saved_home = g_strdup (g_getenv ("HOME"));
  g_setenv ("HOME", e->home, TRUE);
  g_setenv ("XDG_RUNTIME_DIR", e->runtime, TRUE);
  g_setenv ("XDG_CONFIG_HOME", e->config, TRUE);
  g_setenv ("DOCKER_CONFIG", e->docker, TRUE);
  g_unsetenv ("REGISTRY_AUTH_FILE");
  SkCredentialsOptions opts = { .run_dir = e->run };
  g_auto (GStrv) paths = sk_credentials_search_paths (&opts);
  g_autofree char *p0 = g_build_filename (e->runtime, "containers", "auth.json", NULL);
  g_autofree char *p1 = g_build_filename (e->config, "containers", "auth.json", NULL);
  g_autofree char *p2 = g_build_filename (e->docker, "config.json", NULL);
  g_autofree char *p3 = g_build_filename (e->home, ".dockercfg", NULL);
  g_assert_cmpuint (g_strv_length (paths), ==, 4);
  g_assert_cmpstr (paths[0], ==, p0);
  g_assert_cmpstr (paths[1], ==, p1);
  g_assert_cmpstr (paths[2], ==, p2);
  g_assert_cmpstr (paths[3], ==, p3);
  g_autofree char *w = sk_credentials_write_path (&opts, NULL);
  g_assert_cmpstr (w, ==, p0);

  g_setenv ("REGISTRY_AUTH_FILE", "/tmp/skiff-env-auth.json", TRUE);
  g_auto (GStrv) env_file = sk_credentials_search_paths (&opts);
  g_assert_cmpuint (g_strv_length (env_file), ==, 1);
  g_assert_cmpstr (env_file[0], ==, "/tmp/skiff-env-auth.json");
  g_autofree char *w2 = sk_credentials_write_path (&opts, NULL);
  g_assert_cmpstr (w2, ==, "/tmp/skiff-env-auth.json");

  /* unset and empty variables fall back: per-uid runtime file, ~/.config, ~/.docker */
  g_unsetenv ("REGISTRY_AUTH_FILE");
  g_unsetenv ("XDG_RUNTIME_DIR");
  g_setenv ("XDG_CONFIG_HOME", "", TRUE);
  g_unsetenv ("DOCKER_CONFIG");
  g_auto (GStrv) fallback = sk_credentials_search_paths (&opts);
  g_autofree char *uid = g_strdup_printf ("%u", (unsigned) getuid ());
  g_autofree char *f0 = g_build_filename (e->run, "containers", uid, "auth.json", NULL);
  g_autofree char *f1 = g_build_filename (e->home, ".config", "containers", "auth.json", NULL);
  g_autofree char *f2 = g_build_filename (e->home, ".docker", "config.json", NULL);
  g_assert_cmpstr (fallback[0], ==, f0);
  g_assert_cmpstr (fallback[1], ==, f1);
  g_assert_cmpstr (fallback[2], ==, f2);
  g_autofree char *w3 = sk_credentials_write_path (&opts, NULL);
  g_assert_cmpstr (w3, ==, f1);

  /* $XDG_RUNTIME_DIR naming a missing directory: writes refuse, reads skip */
  g_autofree char *missing = env_path (e, "no-such-runtime", NULL);
  g_setenv ("XDG_RUNTIME_DIR", missing, TRUE);
  g_autoptr (GError) error = NULL;
  g_assert_null (sk_credentials_write_path (&opts, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
  g_autofree char *docker = auth_json ("reg.example", "docker", "pw");
  write_file (f2, docker);
  assert_user_pass (&opts, "reg.example", NULL, "docker", "pw");
  g_unsetenv ("XDG_RUNTIME_DIR");
  g_unsetenv ("XDG_CONFIG_HOME");
  if (saved_home != NULL)
    g_setenv ("HOME", saved_home, TRUE);
}

static void
test_namespaces (void)
{
  g_autoptr (Env) e = env_new ();
  /* containers-auth.json(5): most specific first */
  g_autofree char *path = env_path (e, "x", "auth.json");
  e->opts.authfile = path;
  write_file (path,
              "{\"auths\": {"
              "\"my-registry.local/namespace/user/image\": {\"auth\": \"aW1hZ2U6cA==\"},"
              "\"my-registry.local/namespace/user\": {\"auth\": \"dXNlcjpw\"},"
              "\"my-registry.local/namespace\": {\"auth\": \"bmFtZXNwYWNlOnA=\"},"
              "\"my-registry.local\": {\"auth\": \"cmVnaXN0cnk6cA==\"},"
              "\"my-registry.local/namespace/empty\": {},"
              "\"my-registry.local/namespace/only-user\": {\"auth\": \"b25seTo=\"},"
              "\"my-registry.local:5000\": {\"auth\": \"cG9ydDpw\"}}}");
  assert_user_pass (&e->opts, "my-registry.local", "namespace/user/image", "image", "p");
  assert_user_pass (&e->opts, "my-registry.local", "namespace/user/other", "user", "p");
  assert_user_pass (&e->opts, "my-registry.local", "namespace/x/image", "namespace", "p");
  assert_user_pass (&e->opts, "my-registry.local", "other/namespace", "registry", "p");
  assert_user_pass (&e->opts, "my-registry.local", NULL, "registry", "p");
  /* prefixes end at '/': "namespace-2" is not under "namespace" */
  assert_user_pass (&e->opts, "my-registry.local", "namespace-2/user", "registry", "p");
  /* entries without usable credentials are passed over */
  assert_user_pass (&e->opts, "my-registry.local", "namespace/empty", "namespace", "p");
  assert_user_pass (&e->opts, "my-registry.local", "namespace/only-user", "namespace", "p");
  /* the port is part of the registry */
  assert_user_pass (&e->opts, "my-registry.local:5000", "namespace/user", "port", "p");
  g_autoptr (SkCredentials) none = lookup_ok (&e->opts, "my-registry.local:5001", "namespace/user");
  g_assert_null (none);
  g_autoptr (SkCredentials) empty = lookup_ok (&e->opts, "", "namespace");
  g_assert_null (empty);
}

static void
test_creds_override (void)
{
  g_autoptr (Env) e = env_new ();
  e->opts.authfile = "/nonexistent/auth.json";
  e->opts.username = "u";
  e->opts.password = "p";
  g_autoptr (SkCredentials) c = lookup_ok (&e->opts, "any.example", NULL);
  assert_creds (c, "u", "p", NULL);
  g_assert_cmpstr (c->source, ==, "--creds");
}

/* ---- helpers ---- */

static void
test_helper_store_get_erase (void)
{
  g_autoptr (Env) e = env_new ();
  g_autofree char *path = g_build_filename (e->runtime, "containers", "auth.json", NULL);
  static const char config[] = "{\"auths\": {\"keep.example\": {\"auth\": \"a2VlcDpw\"}},"
                               "\"credHelpers\": {\"helped.example\": \"helper-registry\"}}";
  write_file (path, config);
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_credentials_store (&e->opts, "helped.example", "alice", "s3cr\"et", &error));
  g_assert_no_error (error);
  /* the file is untouched: the helper holds the secret */
  g_autofree char *after = read_file (path);
  g_assert_cmpstr (after, ==, config);
  g_autofree char *log = helper_log (e);
  g_assert_cmpstr (log, ==, "store {\"ServerURL\":\"helped.example\",\"Username\":\"alice\","
                            "\"Secret\":\"s3cr\\\"et\"}\n");
  g_autoptr (SkCredentials) c = lookup_ok (&e->opts, "helped.example", "team/app");
  assert_creds (c, "alice", "s3cr\"et", NULL);
  g_assert_cmpstr (c->source, ==, "docker-credential-helper-registry");
  g_assert_true (sk_credentials_erase (&e->opts, "helped.example", &error));
  g_assert_no_error (error);
  g_autoptr (SkCredentials) gone = lookup_ok (&e->opts, "helped.example", NULL);
  g_assert_null (gone);
  g_assert_false (sk_credentials_erase (&e->opts, "helped.example", &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "not logged in to 'helped.example'");
  g_autofree char *final = read_file (path);
  g_assert_cmpstr (final, ==, config);
}

static void
test_helper_creds_store (void)
{
  g_autoptr (Env) e = env_new ();
  g_autofree char *docker = g_build_filename (e->home, ".docker", "config.json", NULL);
  write_file (docker, "{\"auths\": {\"in-file.example\": {\"auth\": \"ZmlsZTpw\"}},"
                      "\"credsStore\": \"helper-registry\"}");
  /* an auth entry in the file comes before the default store */
  assert_user_pass (&e->opts, "in-file.example", NULL, "file", "p");
  assert_user_pass (&e->opts, "registry-a.com", "x", "foo", "bar");
  g_autoptr (SkCredentials) none = lookup_ok (&e->opts, "registry-no-creds.com", NULL);
  g_assert_null (none);
  /* docker keeps Docker Hub under its v1 URL in helpers */
  g_autofree char *hub = g_build_filename (e->state, "68747470733a2f2f696e6465782e646f636b65722e696f2f76312f", NULL);
  write_file (hub, "{\"ServerURL\":\"https://index.docker.io/v1/\",\"Username\":\"hubuser\",\"Secret\":\"hubpw\"}");
  g_autofree char *empty_log = g_build_filename (e->state, "log", NULL);
  g_unlink (empty_log);
  assert_user_pass (&e->opts, "docker.io", "library/debian", "hubuser", "hubpw");
  g_autofree char *log = helper_log (e);
  g_assert_cmpstr (log, ==, "get docker.io\nget https://index.docker.io/v1/\n");
  /* with credsStore in the write target, store goes to the helper */
  e->opts.authfile = docker;
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_credentials_store (&e->opts, "new.example", "bob", "pw", &error));
  g_assert_no_error (error);
  g_autofree char *text = read_file (docker);
  g_assert_null (strstr (text, "new.example"));
  assert_user_pass (&e->opts, "new.example", NULL, "bob", "pw");
}

static void
test_helper_failures (void)
{
  g_autoptr (Env) e = env_new ();
  g_autofree char *path = env_path (e, "x", "auth.json");
  e->opts.authfile = path;
  static const char *const cases[][3] = {
    { "missing-helper", "credential helper 'docker-credential-missing-helper' not found in PATH", NULL },
    { "broken", "docker-credential-broken get: exit status 3: boom: keychain locked", NULL },
    { "garbage", "docker-credential-garbage get: unexpected answer: JSON syntax error", "store works" },
    { "slow", "docker-credential-slow get: timed out after 300 ms", NULL },
    { "../../../bin/sh", "invalid credential helper name '../../../bin/sh'", NULL },
    { "-x", "invalid credential helper name '-x'", NULL },
  };
  e->opts.helper_timeout_ms = 300;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"credHelpers\": {\"reg.example\": \"%s\"}}", cases[i][0]);
      write_file (path, text);
      g_autoptr (GError) error = NULL;
      SkCredentials *c = NULL;
      gint64 start = g_get_monotonic_time ();
      g_assert_false (sk_credentials_lookup (&e->opts, "reg.example", NULL, &c, &error));
      g_assert_null (c);
      g_assert_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED);
      if (!g_str_has_prefix (error->message, cases[i][1]))
        g_error ("helper '%s': '%s' does not start with '%s'", cases[i][0], error->message, cases[i][1]);
      g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
      /* store fails the same way and leaves the file alone */
      g_clear_error (&error);
      if (cases[i][2] != NULL)
        continue;
      g_assert_false (sk_credentials_store (&e->opts, "reg.example", "u", "p", &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED);
      g_autofree char *after = read_file (path);
      g_assert_cmpstr (after, ==, text);
    }
  /* a helper that exits without reading its stdin is no problem */
  write_file (path, "{\"credHelpers\": {\"reg.example\": \"noread\"}}");
  g_autoptr (SkCredentials) none = lookup_ok (&e->opts, "reg.example", NULL);
  g_assert_null (none);
  /* with several helpers, one that fails does not hide another's answer */
  const char *helpers[] = { "broken", "helper-registry", NULL };
  e->opts.credential_helpers = helpers;
  assert_user_pass (&e->opts, "registry-a.com", NULL, "foo", "bar");
}

/* ---- store and erase in files ---- */

static void
assert_mode (const char *path, guint mode)
{
  struct stat st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

static void
test_store_roundtrip (void)
{
  g_autoptr (Env) e = env_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_credentials_store (&e->opts, "localhost:5000", "user", "pa:ss word", &error));
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (e->runtime, "containers", "auth.json", NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  assert_mode (path, 0600);
  assert_mode (dir, 0700);
  g_autoptr (SkCredentials) c = lookup_ok (&e->opts, "localhost:5000", "a/b");
  assert_creds (c, "user", "pa:ss word", NULL);
  g_assert_cmpstr (c->source, ==, path);
  g_autofree char *text = read_file (path);
  g_assert_nonnull (strstr (text, "\"localhost:5000\""));
  g_assert_nonnull (strstr (text, "dXNlcjpwYTpzcyB3b3Jk"));

  /* no $XDG_RUNTIME_DIR: ~/.config/containers/auth.json */
  e->opts.xdg_runtime_dir = NULL;
  g_assert_true (sk_credentials_store (&e->opts, "quay.io/team", "t", "p", &error));
  g_autofree char *cfg = g_build_filename (e->home, ".config", "containers", "auth.json", NULL);
  assert_mode (cfg, 0600);
  assert_user_pass (&e->opts, "quay.io", "team/app", "t", "p");
  g_autoptr (SkCredentials) other_ns = lookup_ok (&e->opts, "quay.io", "other/app");
  g_assert_null (other_ns);

  /* --authfile in a directory that does not exist yet */
  g_autofree char *deep = env_path (e, "a/b/c", "auth.json");
  e->opts.authfile = deep;
  g_assert_true (sk_credentials_store (&e->opts, "reg.example", "x", "y", &error));
  assert_mode (deep, 0600);
  g_autofree char *deep_dir = env_path (e, "a/b/c", NULL);
  assert_mode (deep_dir, 0700);
  assert_user_pass (&e->opts, "reg.example", NULL, "x", "y");
}

static void
test_store_preserves (void)
{
  g_autoptr (Env) e = env_new ();
  g_autofree char *path = env_path (e, "x", "auth.json");
  e->opts.authfile = path;
  write_file (path, "{\"auths\": {\"keep.example\": {\"auth\": \"a2VlcDpw\", \"email\": \"k@example\"},"
                    "\"reg.example\": {\"auth\": \"b2xkOnB3\", \"identitytoken\": \"old-token\", \"x-note\": 1}},"
                    "\"credHelpers\": {\"helped.example\": \"helper-registry\"},"
                    "\"unknownKey\": {\"nested\": [1, 2, 3]}, \"psFormat\": \"table\"}");
  chmod (path, 0644);
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_credentials_store (&e->opts, "reg.example", "new", "pw", &error));
  g_assert_no_error (error);
  assert_mode (path, 0600);
  g_autofree char *text = read_file (path);
  g_assert_nonnull (strstr (text, "\"email\": \"k@example\""));
  g_assert_nonnull (strstr (text, "\"nested\""));
  g_assert_nonnull (strstr (text, "\"psFormat\": \"table\""));
  g_assert_nonnull (strstr (text, "\"helped.example\": \"helper-registry\""));
  g_assert_nonnull (strstr (text, "\"x-note\": 1"));
  g_assert_null (strstr (text, "old-token"));
  assert_user_pass (&e->opts, "reg.example", NULL, "new", "pw");
  assert_user_pass (&e->opts, "keep.example", NULL, "keep", "p");
  /* erase takes the entry (and URL-shaped keys of the same host) only */
  write_file (path, "{\"auths\": {\"keep.example\": {\"auth\": \"a2VlcDpw\"},"
                    "\"https://reg.example/v1/\": {\"auth\": \"b2xkOnB3\"},"
                    "\"reg.example\": {\"auth\": \"b2xkOnB3\"},"
                    "\"reg.example/ns\": {\"auth\": \"bnM6cA==\"}}, \"other\": true}");
  g_assert_true (sk_credentials_erase (&e->opts, "reg.example", &error));
  g_assert_no_error (error);
  g_autoptr (SkCredentials) gone = lookup_ok (&e->opts, "reg.example", NULL);
  g_assert_null (gone);
  assert_user_pass (&e->opts, "reg.example", "ns/app", "ns", "p");
  assert_user_pass (&e->opts, "keep.example", NULL, "keep", "p");
  g_autofree char *after = read_file (path);
  g_assert_nonnull (strstr (after, "\"other\": true"));
  assert_mode (path, 0600);
  g_assert_false (sk_credentials_erase (&e->opts, "reg.example", &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (sk_credentials_erase (&e->opts, "reg.example/ns", &error));
  g_assert_no_error (error);
  g_autoptr (SkCredentials) ns_gone = lookup_ok (&e->opts, "reg.example", "ns/app");
  g_assert_null (ns_gone);
}

static void
test_store_refused (void)
{
  g_autoptr (Env) e = env_new ();
  g_autofree char *path = env_path (e, "x", "auth.json");
  e->opts.authfile = path;
  static const char *const registries[] = { "", "https://reg.example", "reg example", "reg\n.example", "/abs" };
  for (guint i = 0; i < G_N_ELEMENTS (registries); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (sk_credentials_store (&e->opts, registries[i], "u", "p", &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE);
      g_clear_error (&error);
      g_assert_false (sk_credentials_erase (&e->opts, registries[i], &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE);
    }
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_credentials_store (&e->opts, "reg.example", "us:er", "p", &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_false (sk_credentials_store (&e->opts, "reg.example", "", "p", &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  /* $XDG_RUNTIME_DIR set to a missing directory: podman refuses too */
  e->opts.authfile = NULL;
  e->opts.xdg_runtime_dir = "/nonexistent-runtime-dir";
  g_clear_error (&error);
  g_assert_false (sk_credentials_store (&e->opts, "reg.example", "u", "p", &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "'/nonexistent-runtime-dir'"));
}

/* ---- malformed files ---- */

static void
test_malformed_files (void)
{
  g_autoptr (Env) e = env_new ();
  g_autofree char *path = g_build_filename (e->home, ".docker", "config.json", NULL);
  static const char *const cases[][2] = {
    { "{\"auths\": {", "JSON syntax error at line 1" },
    { "not json at all", "JSON syntax error" },
    { "[]", "expected a JSON object, got array" },
    { "{\"auths\": []}", "'auths': expected an object, got array" },
    { "{\"auths\": {\"reg.example\": \"dXNlcjpw\"}}", "entry 'reg.example': expected an object, got string" },
    { "{\"auths\": {\"reg.example\": {\"auth\": 42}}}", "entry 'reg.example': auth: expected a string, got integer" },
    { "{\"credHelpers\": {\"reg.example\": 1}}", "'credHelpers': 'reg.example': expected a string" },
    { "{\"credsStore\": []}", "'credsStore': expected a string, got array" },
    { "{\"auths\": {\"reg.example\": {\"auth\": \"not base64!\"}}}", "entry 'reg.example': 'auth' is not valid base64" },
    { "{\"auths\": {\"reg.example\": {\"auth\": \"dXNlcjpw=\"}}}", "'auth' is not valid base64" },
    { "{\"auths\": {\"reg.example\": {\"auth\": \"dXNl\\ncjpw\"}}}", "'auth' is not valid base64" },
    /* containers-auth.json(5)'s example value: base64, but no ':' inside */
    { "{\"auths\": {\"reg.example\": {\"auth\": \"erfi7sYi89234xJUqaqxgmzcnQ2rRFWM5aJX0EC=\"}}}",
      "entry 'reg.example': 'auth' does not decode to 'user:password'" },
    { "{\"auths\": {\"reg.example\": {\"auth\": \"bm9jb2xvbg==\"}}}", "'auth' does not decode to 'user:password'" },
    { "{\"auths\": {\"reg.example\": {\"auth\": \"dQB4OnA=\"}}}", "'auth' holds a NUL byte" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      write_file (path, cases[i][0]);
      g_autoptr (GError) error = NULL;
      SkCredentials *c = NULL;
      g_assert_false (sk_credentials_lookup (&e->opts, "reg.example", NULL, &c, &error));
      g_assert_null (c);
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
      g_autofree char *prefix = g_strdup_printf ("invalid auth file '%s': ", path);
      if (!g_str_has_prefix (error->message, prefix) || strstr (error->message, cases[i][1]) == NULL)
        g_error ("'%s': message '%s' lacks '%s'", cases[i][0], error->message, cases[i][1]);
      /* the write target refuses to be overwritten */
      e->opts.authfile = path;
      g_autofree char *before = read_file (path);
      gboolean shape_error = strstr (cases[i][1], "'auth'") == NULL;
      if (shape_error)
        {
          g_clear_error (&error);
          g_assert_false (sk_credentials_store (&e->opts, "other.example", "u", "p", &error));
          g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
          g_autofree char *after = read_file (path);
          g_assert_cmpstr (after, ==, before);
        }
      e->opts.authfile = NULL;
    }
  /* an empty file is an empty configuration, as docker reads it */
  write_file (path, " \n");
  g_autoptr (SkCredentials) none = lookup_ok (&e->opts, "reg.example", NULL);
  g_assert_null (none);
  /* an unreadable file is an error, not a silent skip */
  if (getuid () != 0)
    {
      write_file (path, "{}");
      chmod (path, 0);
      g_autoptr (GError) error = NULL;
      SkCredentials *c = NULL;
      g_assert_false (sk_credentials_lookup (&e->opts, "reg.example", NULL, &c, &error));
      g_assert_nonnull (strstr (error->message, path));
    }
}

/* ---- pure helpers ---- */

static void
test_decode_auth (void)
{
  static const char *const ok[][3] = {
    { "dXNlcjpwYTpzcw==", "user", "pa:ss" },
    { "Og==", "", "" },
    { "dTpwAAA=", "u", "p" },                /* trailing NULs dropped */
    { "MTAuMTA6MzAuNDUtNTAwMA==", "10.10", "30.45-5000" },
    { "w6k6w7w=", "\xc3\xa9", "\xc3\xbc" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autofree char *u = NULL;
      g_autofree char *p = NULL;
      g_autoptr (GError) error = NULL;
      g_assert_true (sk_credentials_decode_auth (ok[i][0], &u, &p, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (u, ==, ok[i][1]);
      g_assert_cmpstr (p, ==, ok[i][2]);
    }
  static const char *const bad[] = { "", "dXNlcjpw=", "dXNlcjp", "dXNl cjpw", "dXNlcjpw====", "dX=lcjpw", "dXNlcg==" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *u = NULL;
      g_autofree char *p = NULL;
      g_autoptr (GError) error = NULL;
      g_assert_false (sk_credentials_decode_auth (bad[i], &u, &p, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
      g_assert_null (u);
    }
}

static void
test_normalize_key (void)
{
  static const char *const cases[][3] = {
    { "https://index.docker.io/v1/", "0", "docker.io" },
    { "http://index.docker.io/v1", "0", "docker.io" },
    { "index.docker.io", "0", "docker.io" },
    { "registry-1.docker.io", "0", "docker.io" },
    { "docker.io", "0", "docker.io" },
    { "https://normalize.example.org/v1", "0", "normalize.example.org" },
    { "http://localhost", "0", "localhost" },
    { "https://127.0.0.1:5000", "0", "127.0.0.1:5000" },
    { "quay.io/ns/repo", "0", "quay.io/ns/repo" },
    { "docker.io/library", "0", "docker.io/library" },
    { "localhost/v1", "1", "localhost" },
    { "ftp://x/y", "0", "ftp://x/y" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *n = sk_credentials_normalize_key (cases[i][0], cases[i][1][0] == '1');
      g_assert_cmpstr (n, ==, cases[i][2]);
    }
}

static void
install_helpers (void)
{
  bin_dir = g_dir_make_tmp ("skiff-helpers-XXXXXX", NULL);
  g_autofree char *fake = g_build_filename (bin_dir, "docker-credential-helper-registry", NULL);
  write_file (fake, fake_helper);
  g_assert_cmpint (chmod (fake, 0755), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (other_helpers); i++)
    {
      g_autofree char *name = g_strconcat ("docker-credential-", other_helpers[i][0], NULL);
      g_autofree char *path = g_build_filename (bin_dir, name, NULL);
      write_file (path, other_helpers[i][1]);
      g_assert_cmpint (chmod (path, 0755), ==, 0);
    }
  g_autofree char *path_env = g_strconcat (bin_dir, ":", g_getenv ("PATH"), NULL);
  g_setenv ("PATH", path_env, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  install_helpers ();
  g_test_add_func ("/credentials/lookup-cases", test_lookup_cases);
  g_test_add_func ("/credentials/containers-image-fixtures", test_fixtures);
  g_test_add_func ("/credentials/search-order", test_search_order);
  g_test_add_func ("/credentials/explicit-file-alone", test_explicit_file_alone);
  g_test_add_func ("/credentials/environment", test_environment);
  g_test_add_func ("/credentials/namespaces", test_namespaces);
  g_test_add_func ("/credentials/creds-override", test_creds_override);
  g_test_add_func ("/credentials/helper/store-get-erase", test_helper_store_get_erase);
  g_test_add_func ("/credentials/helper/creds-store", test_helper_creds_store);
  g_test_add_func ("/credentials/helper/failures", test_helper_failures);
  g_test_add_func ("/credentials/store/roundtrip", test_store_roundtrip);
  g_test_add_func ("/credentials/store/preserves", test_store_preserves);
  g_test_add_func ("/credentials/store/refused", test_store_refused);
  g_test_add_func ("/credentials/malformed-files", test_malformed_files);
  g_test_add_func ("/credentials/decode-auth", test_decode_auth);
  g_test_add_func ("/credentials/normalize-key", test_normalize_key);
  int status = g_test_run ();
  rm_rf (bin_dir);
  g_free (bin_dir);
  return status;
}
