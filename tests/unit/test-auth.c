/* Unit tests: registry/auth — WWW-Authenticate challenges (every case of
 * vectors/registry-auth/challenges.tsv plus RFC 7235 variants and hostile
 * headers), scopes, token URLs and responses, the token cache. */
#include "common/error.h"
#include "registry/auth.h"

#include <string.h>

static char *
vectors_dir (void)
{
  const char *src = g_getenv ("SK_SRCDIR");
  g_autofree char *dir = g_build_filename (src ? src : ".", "..", "shared", "vectors", "registry-auth", NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    g_error ("test vectors not found at '%s' (set SK_SRCDIR to the repository root)", dir);
  return g_steal_pointer (&dir);
}

static GPtrArray *
parse_ok (const char *header)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *list = sk_auth_challenges_parse (header, &error);
  if (list == NULL)
    g_error ("parsing '%s': %s", header, error->message);
  return list;
}

static void
assert_refused (const char *header, const char *why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = sk_auth_challenges_parse (header, &error);
  if (list != NULL)
    g_error ("'%s' was accepted", header);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
  if (strstr (error->message, why) == NULL)
    g_error ("'%s': message '%s' lacks '%s'", header, error->message, why);
  g_assert_true (g_str_has_prefix (error->message, "invalid WWW-Authenticate header '"));
}

/* "k=v; k=v (comment); ..." from the vectors' expected_params column. */
static GHashTable *
expected_params (const char *column, char **out_url)
{
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) arrow = g_strsplit (column, " -> ", 2);
  if (arrow[1] != NULL)
    {
      const char *get = strstr (arrow[1], "GET ");
      g_assert_nonnull (get);
      *out_url = g_strdup (get + 4);
    }
  g_auto (GStrv) items = g_strsplit (arrow[0], "; ", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      char *comment = strstr (items[i], " (");
      if (comment != NULL)
        *comment = '\0';
      const char *eq = strchr (items[i], '=');
      g_assert_nonnull (eq);
      g_hash_table_insert (out, g_strndup (items[i], eq - items[i]), g_strdup (eq + 1));
    }
  return out;
}

static void
check_params_row (const SkAuthChallenge *ch, const char *column)
{
  g_autofree char *url = NULL;
  g_autoptr (GHashTable) want = expected_params (column, &url);
  g_assert_cmpuint (g_hash_table_size (ch->params), ==, g_hash_table_size (want));
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, want);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_assert_cmpstr (sk_auth_challenge_get (ch, k), ==, v);
  if (url == NULL)
    return;
  const char *scopes[] = { sk_auth_challenge_get (ch, "scope"), NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *got = sk_auth_token_url (sk_auth_challenge_get (ch, "realm"), NULL,
                                            sk_auth_challenge_get (ch, "service"), scopes, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, url);
}

/* The Basic row describes the client's retry: check the header value it
 * implies against RFC 7617's own example. */
static void
check_basic_row (const SkAuthChallenge *ch, const char *column)
{
  g_assert_nonnull (strstr (column, "Authorization: Basic"));
  g_assert_cmpstr (sk_auth_challenge_get (ch, "realm"), ==, "...");
  g_autofree char *value = sk_auth_basic_value ("Aladdin", "open sesame");
  g_assert_cmpstr (value, ==, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

static void
test_vectors (void)
{
  g_autofree char *dir = vectors_dir ();
  g_autofree char *path = g_build_filename (dir, "challenges.tsv", NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint rows = 0;
  for (guint i = 1; lines[i] != NULL; i++)
    {
      if (*lines[i] == '\0')
        continue;
      g_auto (GStrv) f = g_strsplit (lines[i], "\t", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 4);
      g_test_message ("%s", f[0]);
      g_autoptr (GPtrArray) list = parse_ok (f[1]);
      g_assert_cmpuint (list->len, ==, 1);
      const SkAuthChallenge *ch = list->pdata[0];
      g_auto (GStrv) scheme = g_strsplit (f[2], " ", 2);
      g_assert_cmpstr (ch->scheme, ==, scheme[0]);
      if (strchr (f[3], '=') != NULL && strstr (f[3], "Authorization:") == NULL)
        check_params_row (ch, f[3]);
      else
        check_basic_row (ch, f[3]);
      rows++;
    }
  g_assert_cmpuint (rows, ==, 3);
}

static void
test_registry_shapes (void)
{
  /* What the distribution registry sends (ENVIRONMENT.md). */
  g_autoptr (GPtrArray) a = parse_ok ("Bearer realm=\"http://127.0.0.1:5001/token\",service=\"S\","
                                      "scope=\"repository:a/b:pull,push repository:c:pull\","
                                      "error=\"insufficient_scope\"");
  const SkAuthChallenge *ch = a->pdata[0];
  g_assert_cmpstr (ch->scheme, ==, "bearer");
  g_assert_cmpstr (sk_auth_challenge_get (ch, "realm"), ==, "http://127.0.0.1:5001/token");
  g_assert_cmpstr (sk_auth_challenge_get (ch, "error"), ==, "insufficient_scope");
  g_auto (GStrv) scopes = sk_auth_scopes_split (sk_auth_challenge_get (ch, "scope"));
  g_assert_cmpuint (g_strv_length (scopes), ==, 2);
  g_assert_cmpstr (scopes[0], ==, "repository:a/b:pull,push");
  g_assert_cmpstr (scopes[1], ==, "repository:c:pull");
  g_assert_null (ch->token68);

  g_autoptr (GPtrArray) b = parse_ok ("Basic realm=\"Registry Realm\"");
  g_assert_cmpstr (((SkAuthChallenge *) b->pdata[0])->scheme, ==, "basic");
  g_assert_cmpstr (sk_auth_challenge_get (b->pdata[0], "realm"), ==, "Registry Realm");
  g_assert_null (sk_auth_challenge_get (b->pdata[0], "service"));
}

static void
test_multiple_challenges (void)
{
  /* Two WWW-Authenticate headers joined with ", " by the HTTP layer. */
  g_autoptr (GPtrArray) l = parse_ok ("Basic realm=\"a, b\", BEARER realm=\"https://t/x\", service=s,"
                                      "Negotiate, NTLM abc+/d==, Digest realm=\"d\" , qop=\"auth\"");
  g_assert_cmpuint (l->len, ==, 5);
  const SkAuthChallenge *basic = l->pdata[0];
  g_assert_cmpstr (sk_auth_challenge_get (basic, "realm"), ==, "a, b");
  g_assert_cmpuint (g_hash_table_size (basic->params), ==, 1);
  const SkAuthChallenge *bearer = sk_auth_challenges_find (l, "Bearer");
  g_assert_true (bearer == l->pdata[1]);
  g_assert_cmpstr (sk_auth_challenge_get (bearer, "service"), ==, "s");
  g_assert_cmpuint (g_hash_table_size (bearer->params), ==, 2);
  g_assert_cmpstr (((SkAuthChallenge *) l->pdata[2])->scheme, ==, "negotiate");
  g_assert_cmpuint (g_hash_table_size (((SkAuthChallenge *) l->pdata[2])->params), ==, 0);
  g_assert_cmpstr (((SkAuthChallenge *) l->pdata[3])->token68, ==, "abc+/d==");
  g_autoptr (GPtrArray) t68 = parse_ok ("Bearer realm=");
  g_assert_cmpstr (((SkAuthChallenge *) t68->pdata[0])->token68, ==, "realm=");
  g_assert_null (sk_auth_challenge_get (t68->pdata[0], "realm"));
  const SkAuthChallenge *digest = sk_auth_challenges_find (l, "digest");
  g_assert_cmpstr (sk_auth_challenge_get (digest, "qop"), ==, "auth");
  g_assert_null (sk_auth_challenges_find (l, "hoba"));
}

static void
test_whitespace_and_case (void)
{
  static const char *const variants[] = {
    "Bearer realm=\"https://r/t\",service=\"svc\"",
    "bearer   realm = \"https://r/t\" ,  service = svc",
    "  BeArEr\trealm=\"https://r/t\",\tSERVICE=\"svc\"  ",
    ", Bearer realm=\"https://r/t\",,, service=\"svc\",",
    "Bearer Realm=\"https:\\/\\/r\\/t\", Service=\"s\\vc\"",
  };
  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      g_autoptr (GPtrArray) l = parse_ok (variants[i]);
      g_assert_cmpuint (l->len, ==, 1);
      const SkAuthChallenge *ch = l->pdata[0];
      g_assert_cmpstr (ch->scheme, ==, "bearer");
      g_assert_cmpstr (sk_auth_challenge_get (ch, "realm"), ==, "https://r/t");
      g_assert_cmpstr (sk_auth_challenge_get (ch, "service"), ==, "svc");
      g_assert_cmpuint (g_hash_table_size (ch->params), ==, 2);
    }
}

static void
test_quoted_strings (void)
{
  g_autoptr (GPtrArray) l = parse_ok ("Bearer a=\"\", b=\"x\\\\y\", c=\"q\\\"q\", d=\"tab\there\", e=\"=,;\"");
  const SkAuthChallenge *ch = l->pdata[0];
  g_assert_cmpstr (sk_auth_challenge_get (ch, "a"), ==, "");
  g_assert_cmpstr (sk_auth_challenge_get (ch, "b"), ==, "x\\y");
  g_assert_cmpstr (sk_auth_challenge_get (ch, "c"), ==, "q\"q");
  g_assert_cmpstr (sk_auth_challenge_get (ch, "d"), ==, "tab\there");
  g_assert_cmpstr (sk_auth_challenge_get (ch, "e"), ==, "=,;");
}

static void
test_malformed (void)
{
  assert_refused ("", "no challenge");
  assert_refused (" , ,", "no challenge");
  assert_refused ("realm=\"x\"", "parameter before any authentication scheme");
  assert_refused ("Bearer realm=\"unterminated", "unterminated quoted string");
  assert_refused ("Bearer realm=\"ends in backslash\\", "unterminated quoted string");
  assert_refused ("Bearer realm=\"x\", service=", "expected a value");
  assert_refused ("Bearer realm=\"x\", service=,scope=y", "expected a value");
  /* RFC 7235: "realm=" alone after a scheme is token68, which then
   * cannot be followed by parameters */
  assert_refused ("Bearer realm=,service=x", "parameter after token68");
  assert_refused ("Bearer realm=\"a\"junk", "expected ',' or the end");
  assert_refused ("Bearer realm=a/b", "expected ',' or the end");
  assert_refused ("Bearer realm=\"a\" service=\"b\"", "expected ',' or the end");
  assert_refused ("Bearer realm=\"a\", realm=\"b\"", "parameter given twice");
  assert_refused ("Bearer Realm=\"a\", REALM=\"b\"", "parameter given twice");
  assert_refused ("Bearer realm=\"a\r\nX-Injected: 1\"", "control character");
  assert_refused ("Bearer realm=\"a\x7f\"", "control character");
  assert_refused ("Bearer \"quoted\"", "expected a parameter");
  assert_refused ("Bearer\"x\"", "expected a space after the authentication scheme");
  assert_refused ("Basic Bearer realm=x", "expected a parameter");
  assert_refused ("Negotiate abc==, x=y", "parameter after token68");
  assert_refused ("@Bearer realm=x", "expected an authentication scheme or parameter");
  assert_refused ("Bearer realm=\"x\", =y", "expected an authentication scheme or parameter");
  /* the header is quoted, escaped, in the message */
  g_autoptr (GError) error = NULL;
  g_assert_null (sk_auth_challenges_parse ("Bearer x=\"\n", &error));
  g_assert_nonnull (strstr (error->message, "'Bearer x=\\\"\\n'"));
  g_assert_nonnull (strstr (error->message, "at offset 10"));
}

static void
test_scopes (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pull = sk_auth_scope_repository ("library/deb", SK_AUTH_PULL, &error);
  g_assert_cmpstr (pull, ==, "repository:library/deb:pull");
  g_autofree char *pp = sk_auth_scope_repository ("a/b", SK_AUTH_PUSH | SK_AUTH_PULL, &error);
  g_assert_cmpstr (pp, ==, "repository:a/b:pull,push");
  g_autofree char *all = sk_auth_scope_repository ("a", SK_AUTH_DELETE | SK_AUTH_PULL | SK_AUTH_PUSH, &error);
  g_assert_cmpstr (all, ==, "repository:a:pull,push,delete");
  g_assert_no_error (error);

  g_auto (GStrv) mount = sk_auth_scopes_for_mount ("team/target", "other/source", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (mount), ==, 2);
  g_assert_cmpstr (mount[0], ==, "repository:team/target:pull,push");
  g_assert_cmpstr (mount[1], ==, "repository:other/source:pull");
  g_autofree char *joined = sk_auth_scopes_join ((const char *const *) mount);
  g_assert_cmpstr (joined, ==, "repository:team/target:pull,push repository:other/source:pull");
  /* the same two scopes as repeated query parameters */
  g_autofree char *url = sk_auth_token_url ("https://auth.example/token", NULL, "reg", (const char *const *) mount,
                                            &error);
  g_assert_cmpstr (url, ==, "https://auth.example/token?service=reg&scope=repository:team/target:pull,push"
                            "&scope=repository:other/source:pull");

  static const char *const bad[] = { "", "a b", "a:b", "a\"b", "a\\b", "a\nb" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_clear_error (&error);
      g_assert_null (sk_auth_scope_repository (bad[i], SK_AUTH_PULL, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE);
    }
  g_clear_error (&error);
  g_assert_null (sk_auth_scope_repository ("a", 0, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE);
  g_clear_error (&error);
  g_assert_null (sk_auth_scopes_for_mount ("ok", "bad name", &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE);
  g_assert_nonnull (strstr (error->message, "'bad name'"));

  g_auto (GStrv) none = sk_auth_scopes_split ("  ");
  g_assert_cmpuint (g_strv_length (none), ==, 0);
  g_autofree char *empty = sk_auth_scopes_join (NULL);
  g_assert_cmpstr (empty, ==, "");
}

static void
test_scope_parse (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkAuthScope) s = sk_auth_scope_parse ("repository:localhost:5000/a/b:pull,push", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s->type, ==, "repository");
  g_assert_cmpstr (s->name, ==, "localhost:5000/a/b");
  g_assert_cmpuint (g_strv_length (s->actions), ==, 2);
  g_assert_cmpstr (s->actions[1], ==, "push");
  g_autoptr (SkAuthScope) r = sk_auth_scope_parse ("registry:catalog:*", &error);
  g_assert_cmpstr (r->name, ==, "catalog");
  g_assert_cmpstr (r->actions[0], ==, "*");
  g_autoptr (SkAuthScope) e = sk_auth_scope_parse ("repository:x:", &error);
  g_assert_cmpuint (g_strv_length (e->actions), ==, 0);
  static const char *const bad[] = { "repository", "repository:x", ":x:pull", "repository::pull", "" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_clear_error (&error);
      g_assert_null (sk_auth_scope_parse (bad[i], &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
    }
}

static void
test_token_url (void)
{
  g_autoptr (GError) error = NULL;
  const char *scopes[] = { "repository:a b&c=d+e#f?g%h:pull", NULL };
  g_autofree char *u1 = sk_auth_token_url ("https://r.example/token", NULL, "my service", scopes, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (u1, ==, "https://r.example/token?service=my%20service&scope=repository:a%20b%26c%3Dd%2Be%23f%3Fg"
                           "%25h:pull");
  /* a realm with a query keeps it */
  g_autofree char *u2 = sk_auth_token_url ("https://r/token?account=x", NULL, "s", NULL, &error);
  g_assert_cmpstr (u2, ==, "https://r/token?account=x&service=s");
  g_autofree char *u3 = sk_auth_token_url ("HTTP://r:8080/token?", NULL, NULL, scopes + 1, &error);
  g_assert_cmpstr (u3, ==, "HTTP://r:8080/token?");
  /* a relative realm is resolved against the request */
  g_autofree char *u4 = sk_auth_token_url ("/auth/token", "https://reg.example:5000/v2/a/manifests/x", "s", NULL,
                                           &error);
  g_assert_no_error (error);
  g_assert_cmpstr (u4, ==, "https://reg.example:5000/auth/token?service=s");

  static const char *const hostile[][2] = {
    { "file:///etc/passwd", "only http and https" },
    { "ftp://evil.example/token", "only http and https" },
    { "gopher://evil.example:70/_token", "only http and https" },
    { "FILE:///etc/shadow", "only http and https" },
    { "javascript:alert(1)", "only http and https" },
    { "/token", "not an absolute URL" },
    { "", "not an absolute URL" },
    { "https://user:pw@evil.example/token", "user information" },
    { "https://r/token#frag", "fragment" },
    { "https:///token", "no host" },
    { "https://r/to ken", "whitespace or control character" },
    { "https://r/token\r\nHost: evil", "whitespace or control character" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_clear_error (&error);
      g_autofree char *u = sk_auth_token_url (hostile[i][0], NULL, "s", NULL, &error);
      if (u != NULL)
        g_error ("realm '%s' accepted as '%s'", hostile[i][0], u);
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
      g_assert_true (g_str_has_prefix (error->message, "refusing token realm '"));
      if (strstr (error->message, hostile[i][1]) == NULL)
        g_error ("realm '%s': '%s' lacks '%s'", hostile[i][0], error->message, hostile[i][1]);
    }
  /* resolving a relative realm cannot reach another scheme either */
  g_clear_error (&error);
  g_assert_null (sk_auth_token_url ("/token", "file:///v2/", "s", NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
}

static void
test_oauth_form (void)
{
  const char *scopes[] = { "repository:samalba/my-app:pull,push", NULL };
  g_autofree char *f = sk_auth_oauth_refresh_form ("registry-1.docker.io", scopes, "kas9Da81Dfa8", "dockerengine");
  /* oauth.md's example request body */
  g_assert_cmpstr (f, ==, "grant_type=refresh_token&refresh_token=kas9Da81Dfa8&service=registry-1.docker.io"
                          "&client_id=dockerengine&scope=repository:samalba/my-app:pull,push");
  const char *two[] = { "repository:a:pull", "repository:b:pull", NULL };
  g_autofree char *g = sk_auth_oauth_refresh_form ("s", two, "a&b=c", NULL);
  g_assert_cmpstr (g, ==, "grant_type=refresh_token&refresh_token=a%26b%3Dc&service=s&client_id=skiff"
                          "&scope=repository:a:pull%20repository:b:pull");
}

static SkAuthToken *
token_ok (const char *json, gint64 now)
{
  g_autoptr (GError) error = NULL;
  SkAuthToken *t = sk_auth_token_parse (json, strlen (json), now, &error);
  if (t == NULL)
    g_error ("'%s': %s", json, error->message);
  return t;
}

static void
test_token_parse (void)
{
  const gint64 now = 1700000000;
  /* token.md's example: issued in 2009, so the lifetime counts from then */
  g_autoptr (SkAuthToken) a = token_ok ("{\"token\": \"eyJ0.eyJp.QhflH\", \"expires_in\": 3600,"
                                        "\"issued_at\": \"2009-11-10T23:00:00Z\"}", now);
  g_assert_cmpstr (a->token, ==, "eyJ0.eyJp.QhflH");
  g_assert_cmpint (a->expires_in, ==, 3600);
  g_assert_cmpint (a->issued_at, ==, 1257894000);
  g_assert_cmpint (a->expires_at, ==, 1257894000 + 3600);
  g_assert_null (a->refresh_token);
  /* oauth.md's answer: access_token only, with a refresh token */
  g_autoptr (SkAuthToken) b = token_ok ("{\"refresh_token\":\"kas9Da81Dfa8\",\"access_token\":\"eyJhbG\","
                                        "\"expires_in\":900,\"scope\":\"\"}", now);
  g_assert_cmpstr (b->token, ==, "eyJhbG");
  g_assert_cmpstr (b->refresh_token, ==, "kas9Da81Dfa8");
  g_assert_cmpint (b->expires_at, ==, now + 900);
  /* both: token wins; an empty token falls back to access_token */
  g_autoptr (SkAuthToken) c = token_ok ("{\"token\":\"T\",\"access_token\":\"A\"}", now);
  g_assert_cmpstr (c->token, ==, "T");
  g_autoptr (SkAuthToken) d = token_ok ("{\"token\":\"\",\"access_token\":\"A\"}", now);
  g_assert_cmpstr (d->token, ==, "A");
  /* defaults and clamps */
  g_autoptr (SkAuthToken) e = token_ok ("{\"token\":\"T\"}", now);
  g_assert_cmpint (e->expires_in, ==, 60);
  g_assert_cmpint (e->issued_at, ==, 0);
  g_assert_cmpint (e->expires_at, ==, now + 60);
  g_autoptr (SkAuthToken) f = token_ok ("{\"token\":\"T\",\"expires_in\":5}", now);
  g_assert_cmpint (f->expires_in, ==, 60);
  g_autoptr (SkAuthToken) g = token_ok ("{\"token\":\"T\",\"expires_in\":-100}", now);
  g_assert_cmpint (g->expires_in, ==, 60);
  g_autoptr (SkAuthToken) h = token_ok ("{\"token\":\"T\",\"expires_in\":9223372036854775807}", now);
  g_assert_cmpint (h->expires_in, ==, SK_AUTH_TOKEN_MAX_LIFETIME);
  /* a server clock ahead of ours does not stretch the lifetime */
  g_autoptr (SkAuthToken) i = token_ok ("{\"token\":\"T\",\"expires_in\":300,"
                                        "\"issued_at\":\"2100-01-01T00:00:00.123+02:00\"}", now);
  g_assert_cmpint (i->expires_at, ==, now + 300);
  g_autoptr (SkAuthToken) j = token_ok ("{\"token\":\"T\",\"issued_at\":\"2023-11-14T23:13:00+01:00\"}", now);
  g_assert_cmpint (j->issued_at, ==, 1700000000 - 20);
  g_assert_cmpint (j->expires_at, ==, j->issued_at + 60);
}

static void
test_token_refused (void)
{
  static const char *const bad[][2] = {
    { "not json", "JSON syntax error" },
    { "", "JSON syntax error" },
    { "[\"token\"]", "expected a JSON object" },
    { "{}", "no 'token' or 'access_token'" },
    { "{\"token\":\"\",\"access_token\":\"\"}", "no 'token' or 'access_token'" },
    { "{\"token\":null}", "no 'token' or 'access_token'" },
    { "{\"token\":42}", "token: expected a string, got integer" },
    { "{\"access_token\":{}}", "access_token: expected a string, got object" },
    { "{\"token\":\"a b\"}", "whitespace or control" },
    { "{\"token\":\"abc\\r\\nX-Evil: 1\"}", "whitespace or control" },
    { "{\"token\":\"T\",\"expires_in\":\"60\"}", "'expires_in' is not an integer" },
    { "{\"token\":\"T\",\"expires_in\":60.5}", "'expires_in' is not an integer" },
    { "{\"token\":\"T\",\"issued_at\":\"yesterday\"}", "RFC 3339" },
    { "{\"token\":\"T\",\"issued_at\":\"2009-11-10T23:00:00\"}", "RFC 3339" },
    { "{\"token\":\"T\",\"issued_at\":\"2009-11-10\"}", "RFC 3339" },
    { "{\"token\":\"T\",\"issued_at\":\"20091110T230000Z\"}", "RFC 3339" },
    { "{\"token\":\"T\",\"issued_at\":\"2009-13-40T23:00:00Z\"}", "RFC 3339" },
    { "{\"token\":\"T\",\"issued_at\":7}", "issued_at: expected a string" },
    { "{\"token\":\"T\",\"refresh_token\":[]}", "refresh_token: expected a string" },
    { "{\"token\":\"T\"} trailing", "JSON syntax error" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SkAuthToken) t = sk_auth_token_parse (bad[i][0], strlen (bad[i][0]), 0, &error);
      if (t != NULL)
        g_error ("'%s' accepted", bad[i][0]);
      g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
      g_assert_true (g_str_has_prefix (error->message, "invalid token response: "));
      if (strstr (error->message, bad[i][1]) == NULL)
        g_error ("'%s': '%s' lacks '%s'", bad[i][0], error->message, bad[i][1]);
    }
}

static void
test_cache (void)
{
  g_autoptr (SkAuthCache) cache = sk_auth_cache_new ();
  const char *ab[] = { "repository:a:pull", "repository:b:pull,push", NULL };
  const char *ba[] = { "repository:b:pull,push", "repository:a:pull", "repository:a:pull", NULL };
  const char *a[] = { "repository:a:pull", NULL };
  g_autofree char *k1 = sk_auth_cache_key ("https://r/t", "s", ab);
  g_autofree char *k2 = sk_auth_cache_key ("https://r/t", "s", ba);
  g_assert_cmpstr (k1, ==, k2);
  g_assert_cmpstr (k1, ==, "https://r/t\ns\nrepository:a:pull repository:b:pull,push");

  SkAuthToken t = { .token = (char *) "TOK", .expires_at = 1000 };
  sk_auth_cache_put (cache, "https://r/t", "s", ab, &t);
  g_autofree char *hit = sk_auth_cache_get (cache, "https://r/t", "s", ba, 900);
  g_assert_cmpstr (hit, ==, "TOK");
  /* other scopes, service or realm miss */
  g_assert_null (sk_auth_cache_get (cache, "https://r/t", "s", a, 900));
  g_assert_null (sk_auth_cache_get (cache, "https://r/t", "other", ab, 900));
  g_assert_null (sk_auth_cache_get (cache, "https://evil/t", "s", ab, 900));
  /* inside the margin: not handed out, and dropped */
  g_assert_null (sk_auth_cache_get (cache, "https://r/t", "s", ab, 1000 - SK_AUTH_CACHE_MARGIN));
  g_assert_null (sk_auth_cache_get (cache, "https://r/t", "s", ab, 0));
  /* replace and remove */
  sk_auth_cache_put (cache, "https://r/t", "s", a, &t);
  SkAuthToken t2 = { .token = (char *) "NEW", .expires_at = 5000 };
  sk_auth_cache_put (cache, "https://r/t", "s", a, &t2);
  g_autofree char *newer = sk_auth_cache_get (cache, "https://r/t", "s", a, 1500);
  g_assert_cmpstr (newer, ==, "NEW");
  sk_auth_cache_remove (cache, "https://r/t", "s", a);
  g_assert_null (sk_auth_cache_get (cache, "https://r/t", "s", a, 1500));
  /* a parsed token goes in with its expiry */
  g_autoptr (SkAuthToken) parsed = token_ok ("{\"token\":\"P\",\"expires_in\":300}", 10000);
  sk_auth_cache_put (cache, "https://r/t", NULL, NULL, parsed);
  g_autofree char *p1 = sk_auth_cache_get (cache, "https://r/t", NULL, NULL, 10000 + 289);
  g_assert_cmpstr (p1, ==, "P");
  g_assert_null (sk_auth_cache_get (cache, "https://r/t", NULL, NULL, 10000 + 290));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/auth/challenge/vectors", test_vectors);
  g_test_add_func ("/auth/challenge/registry-shapes", test_registry_shapes);
  g_test_add_func ("/auth/challenge/multiple", test_multiple_challenges);
  g_test_add_func ("/auth/challenge/whitespace-and-case", test_whitespace_and_case);
  g_test_add_func ("/auth/challenge/quoted-strings", test_quoted_strings);
  g_test_add_func ("/auth/challenge/malformed", test_malformed);
  g_test_add_func ("/auth/scope/build", test_scopes);
  g_test_add_func ("/auth/scope/parse", test_scope_parse);
  g_test_add_func ("/auth/token/url", test_token_url);
  g_test_add_func ("/auth/token/oauth-form", test_oauth_form);
  g_test_add_func ("/auth/token/parse", test_token_parse);
  g_test_add_func ("/auth/token/refused", test_token_refused);
  g_test_add_func ("/auth/cache", test_cache);
  return g_test_run ();
}
