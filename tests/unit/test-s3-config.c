/* Unit tests: registry/s3-config — the ini parser, the precedence of the
 * environment over ~/.aws files, profiles, and object URLs. */
#include "common/error.h"
#include "registry/s3-config.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char *home;
} Fixture;

static void
write_file (const char *home, const char *name, const char *text)
{
  g_autofree char *dir = g_build_filename (home, ".aws", NULL);
  g_mkdir_with_parents (dir, 0700);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
setup (Fixture *f, gconstpointer data)
{
  f->home = g_dir_make_tmp ("skiff-s3cfg-XXXXXX", NULL);
  g_assert_nonnull (f->home);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->home);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (f->home);
}

static SkS3Config *
resolve (Fixture *f, const char *const *env)
{
  g_autoptr (GError) error = NULL;
  SkS3Config *cfg = sk_s3_config_resolve (env, f->home, &error);
  g_assert_no_error (error);
  return cfg;
}

static void
test_ini (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) t = sk_s3_ini_parse ("# c\n[default]\nregion = eu-west-1\n; c\n"
                                              "[profile x]\ns3 =\n  addressing_style = path\nregion=us-west-2\n",
                                              &error);
  g_assert_no_error (error);
  GHashTable *d = g_hash_table_lookup (t, "default");
  g_assert_cmpstr (g_hash_table_lookup (d, "region"), ==, "eu-west-1");
  GHashTable *x = g_hash_table_lookup (t, "profile x");
  g_assert_cmpstr (g_hash_table_lookup (x, "s3.addressing_style"), ==, "path");
  g_assert_cmpstr (g_hash_table_lookup (x, "region"), ==, "us-west-2");
  g_autoptr (GHashTable) bad = sk_s3_ini_parse ("[default]\nnonsense\n", &error);
  g_assert_null (bad);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==, "line 2: expected 'key = value'");
  g_clear_error (&error);
  g_autoptr (GHashTable) nosection = sk_s3_ini_parse ("a = b\n", &error);
  g_assert_null (nosection);
  g_clear_error (&error);
}

static void
test_anonymous_defaults (Fixture *f, gconstpointer data)
{
  const char *env[] = { NULL };
  g_autoptr (SkS3Config) cfg = resolve (f, env);
  g_assert_null (cfg->access_key);
  g_assert_cmpstr (cfg->region, ==, "us-east-1");
  g_assert_null (cfg->endpoint);
  g_autofree char *url = sk_s3_object_url (cfg, "bkt", "a/b+c");
  g_assert_cmpstr (url, ==, "https://bkt.s3.us-east-1.amazonaws.com/a/b%2Bc");
  g_autofree char *dotted = sk_s3_object_url (cfg, "my.bkt", "k");
  g_assert_cmpstr (dotted, ==, "https://s3.us-east-1.amazonaws.com/my.bkt/k");
}

static void
test_env_wins (Fixture *f, gconstpointer data)
{
  write_file (f->home, "credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n");
  write_file (f->home, "config", "[default]\nregion = eu-west-1\nendpoint_url = http://file:1\n");
  const char *env[] = { "AWS_ACCESS_KEY_ID=ENVKEY", "AWS_SECRET_ACCESS_KEY=ENVSECRET", "AWS_SESSION_TOKEN=TOK",
                        "AWS_REGION=ap-south-1", "AWS_DEFAULT_REGION=xx", "AWS_ENDPOINT_URL=http://127.0.0.1:7480/",
                        "AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000", NULL };
  g_autoptr (SkS3Config) cfg = resolve (f, env);
  g_assert_cmpstr (cfg->access_key, ==, "ENVKEY");
  g_assert_cmpstr (cfg->secret_key, ==, "ENVSECRET");
  g_assert_cmpstr (cfg->session_token, ==, "TOK");
  g_assert_cmpstr (cfg->region, ==, "ap-south-1");
  g_assert_cmpstr (cfg->endpoint, ==, "http://127.0.0.1:9000");
  g_autofree char *url = sk_s3_object_url (cfg, "bkt", "p/n/blobs/sha256/ab");
  g_assert_cmpstr (url, ==, "http://127.0.0.1:9000/bkt/p/n/blobs/sha256/ab");
  const char *env2[] = { "AWS_DEFAULT_REGION=xx", "AWS_ENDPOINT_URL=http://127.0.0.1:7480/", NULL };
  g_autoptr (SkS3Config) cfg2 = resolve (f, env2);
  g_assert_cmpstr (cfg2->access_key, ==, "FILEKEY");
  g_assert_null (cfg2->session_token);
  g_assert_cmpstr (cfg2->region, ==, "xx");
  g_assert_cmpstr (cfg2->endpoint, ==, "http://127.0.0.1:7480");
}

static void
test_profiles (Fixture *f, gconstpointer data)
{
  write_file (f->home, "credentials", "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n"
                                      "[ci]\naws_access_key_id = C\naws_secret_access_key = CS\n"
                                      "aws_session_token = CT\n");
  write_file (f->home, "config", "[default]\nregion = eu-west-1\n[profile ci]\nregion = us-west-2\n"
                                 "endpoint_url = http://10.0.0.1:7480\n[profile cfgonly]\n"
                                 "aws_access_key_id = O\naws_secret_access_key = OS\ns3 =\n  addressing_style = path\n");
  const char *env[] = { "AWS_PROFILE=ci", NULL };
  g_autoptr (SkS3Config) cfg = resolve (f, env);
  g_assert_cmpstr (cfg->access_key, ==, "C");
  g_assert_cmpstr (cfg->session_token, ==, "CT");
  g_assert_cmpstr (cfg->region, ==, "us-west-2");
  g_assert_cmpstr (cfg->endpoint, ==, "http://10.0.0.1:7480");
  const char *env2[] = { "AWS_PROFILE=cfgonly", NULL };
  g_autoptr (SkS3Config) cfg2 = resolve (f, env2);
  g_assert_cmpstr (cfg2->access_key, ==, "O");
  g_assert_cmpstr (cfg2->region, ==, "us-east-1");
  g_assert_true (cfg2->force_path_style);
  g_autofree char *url = sk_s3_object_url (cfg2, "bkt", "k");
  g_assert_cmpstr (url, ==, "https://s3.us-east-1.amazonaws.com/bkt/k");
  const char *env3[] = { NULL };
  g_autoptr (SkS3Config) cfg3 = resolve (f, env3);
  g_assert_cmpstr (cfg3->access_key, ==, "D");
  g_assert_cmpstr (cfg3->region, ==, "eu-west-1");
}

static void
test_errors (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *half[] = { "AWS_ACCESS_KEY_ID=K", NULL };
  g_assert_null (sk_s3_config_resolve (half, f->home, &error));
  g_assert_cmpstr (error->message, ==, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
  g_clear_error (&error);
  const char *missing[] = { "AWS_PROFILE=nope", NULL };
  g_assert_null (sk_s3_config_resolve (missing, f->home, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "AWS_PROFILE 'nope' is in neither '"));
  g_clear_error (&error);
  const char *bad_url[] = { "AWS_ENDPOINT_URL=ftp://x", NULL };
  g_assert_null (sk_s3_config_resolve (bad_url, f->home, &error));
  g_assert_cmpstr (error->message, ==, "AWS_ENDPOINT_URL 'ftp://x' is not an http(s) URL");
  g_clear_error (&error);
  write_file (f->home, "credentials", "[default]\naws_access_key_id = K\n");
  const char *none[] = { NULL };
  g_assert_null (sk_s3_config_resolve (none, f->home, &error));
  g_assert_true (strstr (error->message, "has aws_access_key_id without aws_secret_access_key") != NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/s3-config/ini", test_ini);
  g_test_add ("/s3-config/anonymous-defaults", Fixture, NULL, setup, test_anonymous_defaults, teardown);
  g_test_add ("/s3-config/env-wins", Fixture, NULL, setup, test_env_wins, teardown);
  g_test_add ("/s3-config/profiles", Fixture, NULL, setup, test_profiles, teardown);
  g_test_add ("/s3-config/errors", Fixture, NULL, setup, test_errors, teardown);
  return g_test_run ();
}
