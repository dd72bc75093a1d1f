/* Unit tests: registry/sigv4 against vectors/sigv4 — every case of the
 * classic AWS suite, the header-signing cases of the aws-c-auth suite and
 * the S3 documentation's header-signed examples.
 *
 * Not run, because skiff never sends such requests: presigned URLs (the
 * aws-c-auth query-* files, s3-docs presigned-get-object), aws-chunked
 * streaming signatures (s3-docs chunked-put-object's chunk signatures; its
 * seed signature, an ordinary header signature, is checked), and SigV4a
 * (aws-c-auth v4a/, ECDSA).
 *
 * Two classic cases, post-x-www-form-urlencoded and
 * post-x-www-form-urlencoded-parameters, have a .sts/.authz computed from
 * an older canonical request than their .creq (without content-length,
 * and "charset=utf8": sha256 of the .creq is not the .sts's last line).
 * Their canonical request is checked; their signatures are checked in the
 * aws-c-auth suite's copies of the same cases, which are consistent. */
#include "registry/sigv4.h"

#include <jansson.h>
#include <string.h>

#define CLASSIC_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static char *
vectors_dir (const char *sub)
{
  const char *src = g_getenv ("SK_SRCDIR");
  g_autofree char *dir = g_build_filename (src ? src : ".", "..", "shared", "vectors", "sigv4", sub, NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    g_error ("test vectors not found at '%s' (set SK_SRCDIR to the repository root)", dir);
  return g_steal_pointer (&dir);
}

static char *
read_text (const char *dir, const char *name, const char *ext)
{
  g_autofree char *file = g_strconcat (name, ext, NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  char *text = NULL;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (path, &text, NULL, &error))
    g_error ("%s", error->message);
  return text;
}

/* A parsed .req / request.txt. */
typedef struct {
  char *method;
  char *path;
  char *query;
  GPtrArray *headers; /* "Name:value" (continuations kept with their newlines) */
  char *body;
} Req;

static void
req_free (Req *r)
{
  g_free (r->method);
  g_free (r->path);
  g_free (r->query);
  g_ptr_array_unref (r->headers);
  g_free (r->body);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Req, req_free)

/* The suites disagree on obsolete header line folding: the classic suite
 * reads each continuation line as one more value of the header (joined
 * with ","), aws-c-auth as part of the value (folded to a space).  skiff
 * never sends folded headers; @continuation_repeats picks the reading. */
static Req *
parse_req (const char *text, gboolean continuation_repeats)
{
  Req *r = g_new0 (Req, 1);
  r->headers = g_ptr_array_new_with_free_func (g_free);
  const char *nl = strchr (text, '\n');
  g_autofree char *first = nl ? g_strndup (text, nl - text) : g_strdup (text);
  char *sp = strchr (first, ' ');
  char *proto = g_strrstr (first, " HTTP/");
  g_assert_nonnull (sp);
  g_assert_nonnull (proto);
  r->method = g_strndup (first, sp - first);
  g_autofree char *uri = g_strndup (sp + 1, proto - sp - 1);
  char *q = strchr (uri, '?');
  r->query = g_strdup (q ? q + 1 : "");
  r->path = q ? g_strndup (uri, q - uri) : g_strdup (uri);
  const char *pos = nl ? nl + 1 : text + strlen (text);
  while (*pos)
    {
      nl = strchr (pos, '\n');
      g_autofree char *line = nl ? g_strndup (pos, nl - pos) : g_strdup (pos);
      pos = nl ? nl + 1 : pos + strlen (pos);
      if (*line == '\0')
        {
          r->body = g_strdup (pos);
          break;
        }
      if (*line == '#')
        continue;
      if ((line[0] == ' ' || line[0] == '\t') && r->headers->len > 0)
        {
          char *prev = r->headers->pdata[r->headers->len - 1];
          if (continuation_repeats)
            {
              g_autofree char *hname = g_strndup (prev, strchr (prev, ':') - prev);
              g_ptr_array_add (r->headers, g_strconcat (hname, ":", line, NULL));
              continue;
            }
          r->headers->pdata[r->headers->len - 1] = g_strconcat (prev, "\n", line, NULL);
          g_free (prev);
          continue;
        }
      g_ptr_array_add (r->headers, g_steal_pointer (&line));
    }
  if (r->body == NULL)
    r->body = g_strdup ("");
  g_ptr_array_add (r->headers, NULL);
  return r;
}

/* Returns the trimmed value of header @name, to be freed. */
static char *
req_header (const Req *r, const char *name)
{
  gsize n = strlen (name);
  for (guint i = 0; i + 1 < r->headers->len; i++)
    {
      const char *h = r->headers->pdata[i];
      if (g_ascii_strncasecmp (h, name, n) == 0 && h[n] == ':')
        return g_strstrip (g_strdup (h + n + 1));
    }
  return NULL;
}

/* Checks creq, sts and signature of @r against @dir/@name.{creq,sts,authz};
 * the authz is compared with the separators' spaces removed. */
static gboolean
stale_sts (const char *name)
{
  return g_str_equal (name, "post-x-www-form-urlencoded") || g_str_equal (name, "post-x-www-form-urlencoded-parameters");
}

static void
check_header_case (const char *dir, const char *name, const Req *r, const SkSigV4Key *key, gboolean normalize,
                   const char *payload_hash)
{
  SkSigV4Request req = { .method = r->method, .path = r->path, .query = r->query,
                         .headers = (const char *const *) r->headers->pdata, .payload_hash = payload_hash,
                         .normalize_path = normalize };
  g_autofree char *names = NULL;
  g_autofree char *creq = sk_sigv4_canonical_request (&req, &names);
  g_autofree char *want_creq = read_text (dir, name, ".creq");
  g_assert_cmpstr (creq, ==, want_creq);
  if (stale_sts (name))
    return;
  g_autofree char *date = req_header (r, "x-amz-date");
  g_assert_nonnull (date);
  g_autofree char *scope = sk_sigv4_scope (date, key);
  g_autofree char *sts = sk_sigv4_string_to_sign (date, scope, creq);
  g_autofree char *want_sts = read_text (dir, name, ".sts");
  g_assert_cmpstr (sts, ==, want_sts);
  g_autofree char *sig = sk_sigv4_signature (key, date, sts);
  g_autofree char *authz = g_strdup_printf ("AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=%s",
                                            key->access_key, scope, names, sig);
  g_autofree char *want_authz = read_text (dir, name, ".authz");
  g_auto (GStrv) parts = g_strsplit (g_strstrip (want_authz), ", ", -1);
  g_autofree char *want_compact = g_strjoinv (",", parts);
  g_assert_cmpstr (authz, ==, want_compact);
}

/* Every directory below @dir holding a NAME.req. */
static void
collect_cases (const char *dir, GPtrArray *out)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (!g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      g_autofree char *req = g_strconcat (path, "/", name, ".req", NULL);
      if (g_file_test (req, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (out, g_strdup (path));
      else
        collect_cases (path, out);
    }
}

static void
test_classic (void)
{
  g_autofree char *root = vectors_dir ("classic-aws-sig-v4-test-suite");
  g_autoptr (GPtrArray) cases = g_ptr_array_new_with_free_func (g_free);
  collect_cases (root, cases);
  g_assert_cmpuint (cases->len, >=, 29);
  SkSigV4Key key = { "AKIDEXAMPLE", CLASSIC_SECRET, NULL, "us-east-1", "service" };
  for (guint i = 0; i < cases->len; i++)
    {
      const char *dir = cases->pdata[i];
      g_autofree char *name = g_path_get_basename (dir);
      g_test_message ("classic %s", name);
      g_autofree char *text = read_text (dir, name, ".req");
      g_autoptr (Req) r = parse_req (text, TRUE);
      g_autofree char *hash = sk_sigv4_hex_sha256 (r->body, strlen (r->body));
      check_header_case (dir, name, r, &key, TRUE, hash);
    }
}

static gint64
iso_time (const char *text)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (text, NULL);
  g_assert_nonnull (dt);
  return g_date_time_to_unix (dt);
}

static char *
read_trimmed (const char *dir, const char *file)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return g_strstrip (text);
}

static void
run_aws_c_auth_case (const char *dir, const char *name)
{
  g_autofree char *ctx_path = g_build_filename (dir, "context.json", NULL);
  json_error_t jerr;
  json_t *ctx = json_load_file (ctx_path, 0, &jerr);
  g_assert_nonnull (ctx);
  json_t *creds = json_object_get (ctx, "credentials");
  gboolean omit_token = json_is_true (json_object_get (ctx, "omit_session_token"));
  SkSigV4Key key = {
    .access_key = json_string_value (json_object_get (creds, "access_key_id")),
    .secret_key = json_string_value (json_object_get (creds, "secret_access_key")),
    .session_token = omit_token ? NULL : json_string_value (json_object_get (creds, "token")),
    .region = json_string_value (json_object_get (ctx, "region")),
    .service = json_string_value (json_object_get (ctx, "service")),
  };
  gboolean normalize = json_is_true (json_object_get (ctx, "normalize"));
  gboolean sign_body = json_is_true (json_object_get (ctx, "sign_body"));
  gint64 now = iso_time (json_string_value (json_object_get (ctx, "timestamp")));
  g_autofree char *req_path = g_build_filename (dir, "request.txt", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (req_path, &text, NULL, NULL));
  g_autoptr (Req) r = parse_req (text, FALSE);
  g_autofree char *hash = sk_sigv4_hex_sha256 (r->body, strlen (r->body));
  SkSigV4Request req = { .method = r->method, .path = r->path, .query = r->query,
                         .headers = (const char *const *) r->headers->pdata, .payload_hash = hash,
                         .normalize_path = normalize };
  g_auto (GStrv) added = sk_sigv4_sign (&key, &req, sign_body, now);

  /* The canonical request of the request plus what sign added. */
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  for (guint i = 0; i + 1 < r->headers->len; i++)
    g_ptr_array_add (all, r->headers->pdata[i]);
  for (char **a = added; *a; a++)
    if (!g_str_has_prefix (*a, "Authorization:"))
      g_ptr_array_add (all, *a);
  g_ptr_array_add (all, NULL);
  SkSigV4Request full = req;
  full.headers = (const char *const *) all->pdata;
  g_autofree char *creq = sk_sigv4_canonical_request (&full, NULL);
  g_autofree char *want_creq = read_trimmed (dir, "header-canonical-request.txt");
  g_autofree char *creq_trimmed = g_strstrip (g_strdup (creq));
  g_assert_cmpstr (creq_trimmed, ==, want_creq);

  const char *authz = added[g_strv_length (added) - 1];
  g_assert_true (g_str_has_prefix (authz, "Authorization: AWS4-HMAC-SHA256 Credential="));
  g_autofree char *want_sig = read_trimmed (dir, "header-signature.txt");
  g_autofree char *suffix = g_strconcat (", Signature=", want_sig, NULL);
  if (!g_str_has_suffix (authz, suffix))
    g_error ("aws-c-auth %s: got '%s', want signature %s", name, authz, want_sig);
  json_decref (ctx);
}

static void
test_aws_c_auth (void)
{
  g_autofree char *root = vectors_dir ("aws-c-auth-signing-test-suite/v4");
  g_autoptr (GDir) d = g_dir_open (root, 0, NULL);
  g_assert_nonnull (d);
  guint n = 0;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *dir = g_build_filename (root, name, NULL);
      g_test_message ("aws-c-auth %s", name);
      run_aws_c_auth_case (dir, name);
      n++;
    }
  g_assert_cmpuint (n, ==, 38);
}

static void
test_s3_docs (void)
{
  g_autofree char *root = vectors_dir ("s3-docs-examples");
  SkSigV4Key key = { "AKIAIOSFODNN7EXAMPLE", S3_SECRET, NULL, "us-east-1", "s3" };
  const char *cases[] = { "get-object", "put-object", "get-bucket-lifecycle", "list-objects" };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *dir = g_build_filename (root, cases[i], NULL);
      g_autofree char *text = read_text (dir, cases[i], ".req");
      g_autoptr (Req) r = parse_req (text, FALSE);
      g_autofree char *hash = req_header (r, "x-amz-content-sha256");
      g_autofree char *body_hash = sk_sigv4_hex_sha256 (r->body, strlen (r->body));
      g_assert_cmpstr (hash, ==, body_hash);
      check_header_case (dir, cases[i], r, &key, FALSE, hash);
    }
  /* The seed signature of the chunked upload: canonical request given. */
  g_autofree char *dir = g_build_filename (root, "chunked-put-object", NULL);
  g_autofree char *creq = read_text (dir, "chunked-put-object", ".creq");
  g_autofree char *scope = sk_sigv4_scope ("20130524T000000Z", &key);
  g_autofree char *sts = sk_sigv4_string_to_sign ("20130524T000000Z", scope, creq);
  g_autofree char *want_sts = read_text (dir, "chunked-put-object", ".sts");
  g_assert_cmpstr (sts, ==, want_sts);
  g_autofree char *sig = sk_sigv4_signature (&key, "20130524T000000Z", sts);
  g_assert_cmpstr (sig, ==, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
}

/* What skiff itself signs: S3 keys with reserved characters, bare query
 * keys, UNSIGNED-PAYLOAD, a session token. */
static void
test_s3_requests (void)
{
  g_autofree char *enc = sk_sigv4_uri_encode ("a+b c/d~e", -1, TRUE);
  g_assert_cmpstr (enc, ==, "a%2Bb%20c/d~e");
  g_autofree char *enc2 = sk_sigv4_uri_encode ("a/b", -1, FALSE);
  g_assert_cmpstr (enc2, ==, "a%2Fb");
  const char *headers[] = { "Host: 127.0.0.1:7480", NULL };
  SkSigV4Request req = { .method = "POST", .path = "/bkt/p/a%2Bb", .query = "uploads",
                         .headers = headers, .payload_hash = SK_SIGV4_UNSIGNED_PAYLOAD };
  g_autofree char *names = NULL;
  g_autofree char *creq = sk_sigv4_canonical_request (&req, &names);
  g_assert_cmpstr (creq, ==, "POST\n/bkt/p/a%2Bb\nuploads=\nhost:127.0.0.1:7480\n\nhost\nUNSIGNED-PAYLOAD");
  /* Not normalised for S3: "//" and ".." stay. */
  SkSigV4Request dots = { .method = "GET", .path = "/b//x/../y", .headers = headers };
  g_autofree char *creq2 = sk_sigv4_canonical_request (&dots, NULL);
  g_assert_true (g_str_has_prefix (creq2, "GET\n/b//x/../y\n\n"));
  SkSigV4Key key = { "AK", "SK", "TOKEN", "us-east-1", "s3" };
  g_auto (GStrv) added = sk_sigv4_sign (&key, &req, TRUE, 1440000000);
  g_assert_cmpuint (g_strv_length (added), ==, 4);
  g_assert_cmpstr (added[0], ==, "x-amz-date: 20150819T160000Z");
  g_assert_cmpstr (added[1], ==, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  g_assert_cmpstr (added[2], ==, "x-amz-security-token: TOKEN");
  g_assert_true (g_str_has_prefix (added[3], "Authorization: AWS4-HMAC-SHA256 Credential=AK/20150819/us-east-1/s3/"
                                             "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                                             "x-amz-security-token, Signature="));
  g_autofree char *date = sk_sigv4_amz_date (0);
  g_assert_cmpstr (date, ==, "19700101T000000Z");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sigv4/classic-suite", test_classic);
  g_test_add_func ("/sigv4/aws-c-auth-header-cases", test_aws_c_auth);
  g_test_add_func ("/sigv4/s3-docs-examples", test_s3_docs);
  g_test_add_func ("/sigv4/s3-requests", test_s3_requests);
  return g_test_run ();
}
