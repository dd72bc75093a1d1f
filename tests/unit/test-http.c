/* Unit tests: registry/http — the pure helpers (Range, Content-Range,
 * error bodies, Retry-After, content types, header lines, URL resolution,
 * backoff) and transfers against scripted HTTP servers on 127.0.0.1:
 * status errors with the registry's message, the body cap, resumed
 * downloads (206 and a server ignoring Range), retries, redirects that
 * must not carry Authorization to another origin or leave http(s); the
 * registry client against scripted registries: the http fallback, Basic
 * and Bearer challenges, manifests that do not match their digest. */
#include "common/error.h"
#include "oci/digest.h"
#include "registry/client.h"
#include "registry/http.h"
#include "registry/pull.h"
#include "oci/mediatypes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---------------------------------------------------------------- pure */

static void
test_range_header (void)
{
  g_autofree char *a = sk_http_range_header (0);
  g_autofree char *b = sk_http_range_header (G_GUINT64_CONSTANT (5368709120));
  g_assert_cmpstr (a, ==, "Range: bytes=0-");
  g_assert_cmpstr (b, ==, "Range: bytes=5368709120-");
}

static void
test_content_range (void)
{
  guint64 first = 1, last = 1;
  gint64 total = 1;
  g_assert_true (sk_http_parse_content_range ("bytes 500-1499/2048", &first, &last, &total));
  g_assert_cmpuint (first, ==, 500);
  g_assert_cmpuint (last, ==, 1499);
  g_assert_cmpint (total, ==, 2048);
  g_assert_true (sk_http_parse_content_range ("bytes 0-0/*", &first, &last, &total));
  g_assert_cmpuint (first, ==, 0);
  g_assert_cmpint (total, ==, -1);
  const char *bad[] = {
    "", "bytes", "bytes 5-4/10", "bytes 0-10/10", "items 0-1/2", "bytes -1-2/3", "bytes 1-2/3x",
    "bytes 1-/3", "bytes */10", "bytes 1-2", "bytes 99999999999999999999-1/2",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (sk_http_parse_content_range (bad[i], &first, &last, &total));
}

static char *
error_body (const char *json)
{
  g_autoptr (GBytes) b = g_bytes_new (json, strlen (json));
  return sk_http_parse_error_body (b);
}

static void
test_error_body (void)
{
  g_autofree char *one = error_body ("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\","
                                     "\"detail\":{\"Tag\":\"x\"}}]}");
  g_assert_cmpstr (one, ==, "MANIFEST_UNKNOWN: manifest unknown");
  g_autofree char *two = error_body ("{\"errors\":[{\"code\":\"DENIED\"},{\"code\":\"UNAUTHORIZED\"}]}");
  g_assert_cmpstr (two, ==, "DENIED (and 1 more)");
  g_autofree char *ctl = error_body ("{\"errors\":[{\"code\":\"X\",\"message\":\"a\\nb\\u001b[31m\"}]}");
  g_assert_cmpstr (ctl, ==, "X: a b [31m");
  const char *not_errors[] = { "", "not json", "{}", "{\"errors\":[]}", "{\"errors\":{}}", "{\"errors\":[{}]}",
                               "[1,2]" };
  for (gsize i = 0; i < G_N_ELEMENTS (not_errors); i++)
    {
      g_autofree char *s = error_body (not_errors[i]);
      g_assert_null (s);
    }
}

static void
test_retry_after (void)
{
  /* 2024-01-01T00:00:00Z */
  gint64 now = 1704067200;
  g_assert_cmpint (sk_http_parse_retry_after ("7", now), ==, 7);
  g_assert_cmpint (sk_http_parse_retry_after(" 0 ", now), ==, 0);
  g_assert_cmpint (sk_http_parse_retry_after ("Mon, 01 Jan 2024 00:00:30 GMT", now), ==, 30);
  g_assert_cmpint (sk_http_parse_retry_after ("Sun, 31 Dec 2023 23:00:00 GMT", now), ==, 0);
  const char *bad[] = { "", "-1", "1.5", "soon", "Mon, 01 Foo 2024 00:00:30 GMT", "Mon, 32 Jan 2024 00:00:30 GMT",
                        "7s" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_cmpint (sk_http_parse_retry_after (bad[i], now), ==, -1);
}

static void
test_backoff (void)
{
  g_assert_cmpuint (sk_http_backoff_ms (1, -1), ==, 500);
  g_assert_cmpuint (sk_http_backoff_ms (2, -1), ==, 1000);
  g_assert_cmpuint (sk_http_backoff_ms (2, 3), ==, 3000);
  g_assert_cmpuint (sk_http_backoff_ms (1, 100000), ==, 60000);
  g_assert_cmpuint (sk_http_backoff_ms (1, 0), ==, 0);
}

static void
test_content_type (void)
{
  g_autofree char *a = sk_http_content_type_strip ("application/vnd.oci.image.manifest.v1+json; charset=utf-8");
  g_autofree char *b = sk_http_content_type_strip ("  Application/JSON  ");
  g_autofree char *c = sk_http_content_type_strip (";x=y");
  g_assert_cmpstr (a, ==, "application/vnd.oci.image.manifest.v1+json");
  g_assert_cmpstr (b, ==, "application/json");
  g_assert_cmpstr (c, ==, "");
  g_assert_null (sk_http_content_type_strip (NULL));
}

static void
test_header_line (void)
{
  char *name = NULL, *value = NULL;
  const char *line = "Docker-Content-Digest:  sha256:abc \r\n";
  g_assert_true (sk_http_parse_header_line (line, strlen (line), &name, &value));
  g_assert_cmpstr (name, ==, "docker-content-digest");
  g_assert_cmpstr (value, ==, "sha256:abc");
  g_free (name);
  g_free (value);
  const char *empty = "X-Empty:\r\n";
  g_assert_true (sk_http_parse_header_line (empty, strlen (empty), &name, &value));
  g_assert_cmpstr (value, ==, "");
  g_free (name);
  g_free (value);
  const char *bad[] = { "\r\n", "HTTP/1.1 200 OK\r\n", ": v\r\n", "Bad Name: v\r\n" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (sk_http_parse_header_line (bad[i], strlen (bad[i]), &name, &value));
}

static void
test_resolve_url (void)
{
  struct { const char *base, *ref, *want; } cases[] = {
    { "http://127.0.0.1:5000/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/u1?_state=x",
      "http://127.0.0.1:5000/v2/a/blobs/uploads/u1?_state=x" },
    { "https://r.example/v2/", "https://auth.example/token", "https://auth.example/token" },
    { "https://r.example/v2/a/manifests/x", "../../b", "https://r.example/v2/b" },
    { "https://r.example/v2/", "file:///etc/passwd", NULL },
    { "https://r.example/v2/", "ftp://r.example/x", NULL },
    { "not a url", "/x", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = sk_http_resolve_url (cases[i].base, cases[i].ref);
      g_assert_cmpstr (got, ==, cases[i].want);
    }
}

static void
test_status_codes (void)
{
  g_assert_cmpint (sk_http_status_error_code (401), ==, SK_ERROR_UNAUTHORIZED);
  g_assert_cmpint (sk_http_status_error_code (403), ==, SK_ERROR_UNAUTHORIZED);
  g_assert_cmpint (sk_http_status_error_code (404), ==, SK_ERROR_NOT_FOUND);
  g_assert_cmpint (sk_http_status_error_code (429), ==, SK_ERROR_TRANSIENT);
  g_assert_cmpint (sk_http_status_error_code (503), ==, SK_ERROR_TRANSIENT);
  g_assert_cmpint (sk_http_status_error_code (400), ==, SK_ERROR_FAILED);
  g_assert_cmpint (sk_http_status_error_code (416), ==, SK_ERROR_FAILED);
}

static void
test_status_error_message (void)
{
  const char *json = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}";
  SkHttpResponse resp = { .status = 404, .body = g_bytes_new_static (json, strlen (json)) };
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_http_set_status_error (&error, "GET", "http://127.0.0.1:5000/v2/x/manifests/y", &resp));
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==,
                   "GET http://127.0.0.1:5000/v2/x/manifests/y: HTTP 404 MANIFEST_UNKNOWN: manifest unknown");
  g_bytes_unref (resp.body);
  g_clear_error (&error);
  SkHttpResponse plain = { .status = 502 };
  sk_http_set_status_error (&error, "HEAD", "http://h/v2/", &plain);
  g_assert_error (error, SK_ERROR, SK_ERROR_TRANSIENT);
  g_assert_cmpstr (error->message, ==, "HEAD http://h/v2/: HTTP 502 Bad Gateway");
}

/* ---------------------------------------------------------------- scripted servers */

typedef struct {
  int fd;
  guint16 port;
  GPtrArray *responses; /* GBytes, raw HTTP answers, one per connection */
  GPtrArray *requests;  /* char *, request heads as received */
  GThread *thread;
} Server;

static char *
read_request_head (int fd)
{
  GString *req = g_string_new (NULL);
  char buf[4096];
  while (strstr (req->str, "\r\n\r\n") == NULL)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      if (poll (&p, 1, 5000) <= 0)
        break;
      ssize_t n = read (fd, buf, sizeof buf);
      if (n <= 0)
        break;
      g_string_append_len (req, buf, n);
    }
  return g_string_free (req, FALSE);
}

static gpointer
server_thread (gpointer data)
{
  Server *s = data;
  for (guint i = 0; i < s->responses->len; i++)
    {
      struct pollfd p = { .fd = s->fd, .events = POLLIN };
      if (poll (&p, 1, 10000) <= 0)
        break;
      int c = accept4 (s->fd, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0)
        break;
      g_ptr_array_add (s->requests, read_request_head (c));
      gsize len;
      const char *answer = g_bytes_get_data (s->responses->pdata[i], &len);
      for (gsize off = 0; off < len;)
        {
          ssize_t n = write (c, answer + off, len - off);
          if (n <= 0)
            break;
          off += n;
        }
      shutdown (c, SHUT_RDWR);
      close (c);
    }
  return NULL;
}

static Server *
server_new (void)
{
  Server *s = g_new0 (Server, 1);
  s->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (s->fd, >=, 0);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  g_assert_cmpint (bind (s->fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  socklen_t alen = sizeof addr;
  g_assert_cmpint (getsockname (s->fd, (struct sockaddr *) &addr, &alen), ==, 0);
  s->port = ntohs (addr.sin_port);
  g_assert_cmpint (listen (s->fd, 8), ==, 0);
  s->responses = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  s->requests = g_ptr_array_new_with_free_func (g_free);
  return s;
}

/* Queues an answer with "Connection: close" and a Content-Length. */
static void
server_add_bytes (Server *s, const char *status_and_headers, const void *body, gsize len)
{
  g_autofree char *head = g_strdup_printf ("HTTP/1.1 %s\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n",
                                           status_and_headers, len);
  GByteArray *answer = g_byte_array_new ();
  g_byte_array_append (answer, (const guint8 *) head, strlen (head));
  g_byte_array_append (answer, body, len);
  g_ptr_array_add (s->responses, g_byte_array_free_to_bytes (answer));
}

static void
server_add (Server *s, const char *status_and_headers, const char *body)
{
  server_add_bytes (s, status_and_headers, body, strlen (body));
}

static void
server_start (Server *s)
{
  s->thread = g_thread_new ("http-server", server_thread, s);
}

/* Waits until the server has answered (or given up); its requests are
 * then safe to read. */
static void
server_join (Server *s)
{
  if (s->thread)
    g_thread_join (s->thread);
  s->thread = NULL;
}

static void
server_free (Server *s)
{
  server_join (s);
  close (s->fd);
  g_ptr_array_unref (s->responses);
  g_ptr_array_unref (s->requests);
  g_free (s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Server, server_free)

static char *
server_url (Server *s, const char *path)
{
  return g_strdup_printf ("http://127.0.0.1:%u%s", s->port, path);
}

static SkHttp *
new_http (void)
{
  g_autoptr (GError) error = NULL;
  SkHttp *http = sk_http_new (TRUE, NULL, &error);
  g_assert_no_error (error);
  return http;
}

static void
test_send_headers_and_status (void)
{
  g_autoptr (Server) s = server_new ();
  server_add (s, "200 OK\r\nDocker-Content-Digest: sha256:aa\r\nX-Twice: a\r\nx-twice: b", "{}");
  server_add (s, "404 Not Found\r\nContent-Type: application/json",
              "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}");
  server_start (s);
  g_autoptr (SkHttp) http = new_http ();
  g_autofree char *url = server_url (s, "/v2/x/manifests/y");
  const char *headers[] = { "Accept: application/vnd.oci.image.manifest.v1+json", NULL };
  SkHttpRequest req = { .url = url, .headers = headers, .authorization = "Bearer tok" };
  g_autoptr (GError) error = NULL;
  g_autoptr (SkHttpResponse) ok = sk_http_send (http, &req, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ok->status, ==, 200);
  g_assert_cmpstr (sk_http_response_header (ok, "DOCKER-CONTENT-DIGEST"), ==, "sha256:aa");
  g_assert_cmpstr (sk_http_response_header (ok, "x-twice"), ==, "a, b");
  g_assert_cmpmem (g_bytes_get_data (ok->body, NULL), g_bytes_get_size (ok->body), "{}", 2);
  g_autoptr (SkHttpResponse) missing = sk_http_send (http, &req, &error);
  g_assert_no_error (error);
  g_assert_cmpint (missing->status, ==, 404);
  sk_http_set_status_error (&error, "GET", url, missing);
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_suffix (error->message, "/v2/x/manifests/y: HTTP 404 MANIFEST_UNKNOWN: manifest unknown"));
}

static void
test_send_body_cap (void)
{
  g_autoptr (Server) s = server_new ();
  g_autofree char *big = g_strnfill (3000, 'x');
  server_add (s, "200 OK", big);
  server_start (s);
  g_autoptr (SkHttp) http = new_http ();
  g_autofree char *url = server_url (s, "/v2/x/manifests/big");
  SkHttpRequest req = { .url = url, .max_body = 2048 };
  g_autoptr (GError) error = NULL;
  g_autoptr (SkHttpResponse) resp = sk_http_send (http, &req, &error);
  g_assert_null (resp);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "response larger than 2.0 KiB"));
}

static void
test_send_retries_transient (void)
{
  g_autoptr (Server) s = server_new ();
  server_add (s, "503 Service Unavailable\r\nRetry-After: 0", "");
  server_add (s, "429 Too Many Requests\r\nRetry-After: 0", "");
  server_add (s, "200 OK", "fine");
  server_start (s);
  g_autoptr (SkHttp) http = new_http ();
  g_autofree char *url = server_url (s, "/v2/");
  SkHttpRequest req = { .url = url };
  g_autoptr (GError) error = NULL;
  g_autoptr (SkHttpResponse) resp = sk_http_send (http, &req, &error);
  g_assert_no_error (error);
  g_assert_cmpint (resp->status, ==, 200);
  server_join (s);
  g_assert_cmpuint (s->requests->len, ==, 3);
}

static void
test_post_not_retried (void)
{
  g_autoptr (Server) s = server_new ();
  server_add (s, "503 Service Unavailable\r\nRetry-After: 0", "");
  server_start (s);
  g_autoptr (SkHttp) http = new_http ();
  g_autofree char *url = server_url (s, "/v2/x/blobs/uploads/");
  SkHttpRequest req = { .url = url, .method = "POST" };
  g_autoptr (GError) error = NULL;
  g_autoptr (SkHttpResponse) resp = sk_http_send (http, &req, &error);
  g_assert_no_error (error);
  g_assert_cmpint (resp->status, ==, 503);
}

static int
temp_file_with (const char *content, char **out_path)
{
  g_autoptr (GError) error = NULL;
  int fd = g_file_open_tmp ("skiff-http-XXXXXX", out_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (write (fd, content, strlen (content)), ==, (ssize_t) strlen (content));
  return fd;
}

static char *
file_contents (const char *path)
{
  char *data = NULL;
  g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
  return data;
}

/* Downloads from a one-answer server into a file holding @existing. */
static void
download_case (const char *answer_head, const char *answer_body, const char *existing, guint64 resume,
               guint64 max_size, const char *want_file, GError **error, char **out_request)
{
  g_autoptr (Server) s = server_new ();
  server_add (s, answer_head, answer_body);
  server_start (s);
  g_autoptr (SkHttp) http = new_http ();
  g_autofree char *url = server_url (s, "/v2/x/blobs/sha256:00");
  g_autofree char *path = NULL;
  int fd = temp_file_with (existing, &path);
  SkHttpRequest req = { .url = url };
  SkHttpDownloadOptions opts = { .alg = SK_DIGEST_SHA256, .resume_from = resume, .max_size = max_size };
  g_autofree char *digest = NULL;
  guint64 size = 0;
  g_autoptr (SkHttpResponse) resp = sk_http_download (http, &req, fd, &opts, &digest, &size, error);
  close (fd);
  if (want_file)
    {
      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status / 100, ==, 2);
      g_autofree char *got = file_contents (path);
      g_assert_cmpstr (got, ==, want_file);
      g_autofree char *want_digest = sk_digest_bytes (SK_DIGEST_SHA256, want_file, strlen (want_file));
      g_assert_cmpstr (digest, ==, want_digest);
      g_assert_cmpuint (size, ==, strlen (want_file));
    }
  g_unlink (path);
  server_join (s);
  *out_request = g_strdup (s->requests->len ? s->requests->pdata[0] : "");
}

static void
test_download_fresh (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *request = NULL;
  download_case ("200 OK", "hello world", "", 0, 0, "hello world", &error, &request);
  g_assert_no_error (error);
  g_assert_null (strstr (request, "Range:"));
}

static void
test_download_resume_206 (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *request = NULL;
  /* Bytes after the resume point are stale and must be cut off. */
  download_case ("206 Partial Content\r\nContent-Range: bytes 6-10/11", "world", "hello XXXXXXXXX", 6, 11,
                 "hello world", &error, &request);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (request, "Range: bytes=6-\r\n"));
}

static void
test_download_range_ignored (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *request = NULL;
  download_case ("200 OK", "hello world", "hello ", 6, 0, "hello world", &error, &request);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (request, "Range: bytes=6-\r\n"));
}

static void
test_download_bad_content_range (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *request = NULL;
  download_case ("206 Partial Content\r\nContent-Range: bytes 0-4/11", "hello", "hello ", 6, 0, NULL, &error,
                 &request);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "unexpected Content-Range 'bytes 0-4/11'"));
}

static void
test_download_too_large (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *request = NULL;
  download_case ("200 OK", "hello world, and more", "", 0, 11, NULL, &error, &request);
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_assert_nonnull (strstr (error->message, "more than the expected 11 bytes"));
}

/* ---- large downloads: hashed by a thread reading the file back ---- */

#define MIB (1024 * 1024)

/* 13 MiB and a bit of random data and runs of zeros (which downloads
 * leave as holes, beyond the file's end until later data arrives), ending
 * in zeros. */
static GBytes *
big_blob (void)
{
  gsize len = 13 * MIB + 123;
  guint8 *data = g_malloc0 (len);
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  const gsize data_runs[][2] = { { 0, MIB }, { 5 * MIB, 5 * MIB + 4097 }, { 9 * MIB + 17, 12 * MIB } };
  for (gsize r = 0; r < G_N_ELEMENTS (data_runs); r++)
    for (gsize i = data_runs[r][0]; i < data_runs[r][1]; i++)
      data[i] = (guint8) g_rand_int (rand);
  return g_bytes_new_take (data, len);
}

static void
assert_file_is (const char *path, GBytes *want)
{
  g_autofree char *got = NULL;
  gsize got_len = 0;
  g_assert_true (g_file_get_contents (path, &got, &got_len, NULL));
  g_assert_cmpuint (got_len, ==, g_bytes_get_size (want));
  g_assert_true (memcmp (got, g_bytes_get_data (want, NULL), got_len) == 0);
}

/* Downloads @blob from a server answering @head and @body (the whole
 * blob when NULL) into a file holding @existing (may be NULL), resuming
 * after @resume of its bytes; checks file, digest and size.  Returns the
 * request the server got; *@out_status the answer's status. */
static char *
big_download_case (const char *head, GBytes *body, GBytes *existing, guint64 resume, GBytes *blob, long *out_status)
{
  g_autoptr (Server) s = server_new ();
  gsize len;
  const void *data = g_bytes_get_data (body ? body : blob, &len);
  server_add_bytes (s, head, data, len);
  server_start (s);
  g_autoptr (SkHttp) http = new_http ();
  g_autofree char *url = server_url (s, "/v2/x/blobs/sha256:00");
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  int fd = g_file_open_tmp ("skiff-http-XXXXXX", &path, &error);
  g_assert_no_error (error);
  gsize existing_len = existing ? g_bytes_get_size (existing) : 0;
  if (existing_len > 0)
    g_assert_cmpint (write (fd, g_bytes_get_data (existing, NULL), existing_len), ==, (ssize_t) existing_len);
  SkHttpRequest req = { .url = url };
  SkHttpDownloadOptions opts = { .alg = SK_DIGEST_SHA256, .resume_from = resume,
                                 .max_size = g_bytes_get_size (blob) };
  g_autofree char *digest = NULL;
  guint64 size = 0;
  g_autoptr (SkHttpResponse) resp = sk_http_download (http, &req, fd, &opts, &digest, &size, &error);
  close (fd);
  g_assert_no_error (error);
  g_assert_cmpint (resp->status / 100, ==, 2);
  if (out_status)
    *out_status = resp->status;
  assert_file_is (path, blob);
  g_autofree char *want = sk_digest_bytes (SK_DIGEST_SHA256, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob));
  g_assert_cmpstr (digest, ==, want);
  g_assert_cmpuint (size, ==, g_bytes_get_size (blob));
  g_unlink (path);
  server_join (s);
  return g_strdup (s->requests->len ? s->requests->pdata[0] : "");
}

/* @len bytes of @c. */
static GBytes *
filled (char c, gsize len)
{
  char *data = g_malloc (len);
  memset (data, c, len);
  return g_bytes_new_take (data, len);
}

static void
test_download_big_fresh (void)
{
  g_autoptr (GBytes) blob = big_blob ();
  g_free (big_download_case ("200 OK", NULL, NULL, 0, blob, NULL));
}

static void
test_download_big_resume (void)
{
  g_autoptr (GBytes) blob = big_blob ();
  /* The file holds the first 6 MiB (within a run of zeros), then stale
   * bytes to be cut off. */
  guint64 from = 6 * MIB;
  g_autoptr (GByteArray) existing = g_byte_array_new ();
  g_byte_array_append (existing, g_bytes_get_data (blob, NULL), from);
  g_byte_array_append (existing, (const guint8 *) "stale stale", 11);
  g_autoptr (GBytes) existing_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&existing));
  g_autoptr (GBytes) rest = g_bytes_new_from_bytes (blob, from, g_bytes_get_size (blob) - from);
  g_autofree char *head = g_strdup_printf ("206 Partial Content\r\nContent-Range: bytes %" G_GUINT64_FORMAT
                                           "-%zu/%zu", from, g_bytes_get_size (blob) - 1, g_bytes_get_size (blob));
  long status = 0;
  g_autofree char *request = big_download_case (head, rest, existing_bytes, from, blob, &status);
  g_assert_cmpint (status, ==, 206);
  g_autofree char *range = g_strdup_printf ("Range: bytes=%" G_GUINT64_FORMAT "-\r\n", from);
  g_assert_nonnull (strstr (request, range));
}

/* The server ignores the Range: the download starts over, and the bytes
 * the file held (wrong ones here) must not count in the digest, whether
 * the new body overtakes them within the first write or later. */
static void
test_download_big_range_ignored (void)
{
  g_autoptr (GBytes) blob = big_blob ();
  g_autoptr (GBytes) some = filled ('X', 512 * 1024);
  g_autoptr (GBytes) more = filled ('X', 3 * MIB);
  g_free (big_download_case ("200 OK", NULL, some, 512 * 1024, blob, NULL));
  g_free (big_download_case ("200 OK", NULL, more, 3 * MIB, blob, NULL));
}

/* A body that differs from the blob gets the body's digest. */
static void
test_download_big_corrupt (void)
{
  g_autoptr (GBytes) blob = big_blob ();
  g_autoptr (GByteArray) bad = g_bytes_unref_to_array (g_bytes_ref (blob));
  bad->data[7 * MIB] ^= 1; /* a zero byte in a run of zeros */
  g_autoptr (GBytes) body = g_byte_array_free_to_bytes (g_steal_pointer (&bad));
  g_free (big_download_case ("200 OK", body, NULL, 0, body, NULL));
  g_autofree char *good = sk_digest_bytes (SK_DIGEST_SHA256, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob));
  g_autofree char *got = sk_digest_bytes (SK_DIGEST_SHA256, g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  g_assert_cmpstr (good, !=, got);
}

/* Two large downloads side by side, each hashed on its own thread. */
static void
test_download_many_big (void)
{
  g_autoptr (GBytes) blob = big_blob ();
  g_autoptr (GBytes) other = g_bytes_new_from_bytes (blob, MIB / 2, 9 * MIB);
  GBytes *blobs[] = { blob, other };
  /* One server per download: a server answers connections in the
   * order they come. */
  g_autoptr (Server) s = server_new ();
  g_autoptr (Server) s2 = server_new ();
  server_add_bytes (s, "200 OK", g_bytes_get_data (blob, NULL), g_bytes_get_size (blob));
  server_add_bytes (s2, "200 OK", g_bytes_get_data (other, NULL), g_bytes_get_size (other));
  server_start (s);
  server_start (s2);
  g_autoptr (SkHttp) http = new_http ();
  g_autofree char *url1 = server_url (s, "/v2/x/blobs/sha256:01");
  g_autofree char *url2 = server_url (s2, "/v2/x/blobs/sha256:02");
  SkHttpRequest reqs[] = { { .url = url1 }, { .url = url2 } };
  SkHttpDownloadOptions opts[2];
  SkHttpDownloadJob jobs[2] = { 0 };
  char *paths[2];
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (GError) error = NULL;
      int fd = g_file_open_tmp ("skiff-http-XXXXXX", &paths[i], &error);
      g_assert_no_error (error);
      opts[i] = (SkHttpDownloadOptions) { .alg = SK_DIGEST_SHA256, .max_size = g_bytes_get_size (blobs[i]) };
      jobs[i] = (SkHttpDownloadJob) { .req = &reqs[i], .fd = fd, .opts = &opts[i] };
    }
  sk_http_download_many (http, jobs, 2, 2);
  for (int i = 0; i < 2; i++)
    {
      g_assert_no_error (jobs[i].error);
      g_assert_cmpint (jobs[i].resp->status, ==, 200);
      assert_file_is (paths[i], blobs[i]);
      g_autofree char *want = sk_digest_bytes (SK_DIGEST_SHA256, g_bytes_get_data (blobs[i], NULL),
                                               g_bytes_get_size (blobs[i]));
      g_assert_cmpstr (jobs[i].digest, ==, want);
      g_assert_cmpuint (jobs[i].size, ==, g_bytes_get_size (blobs[i]));
      close (jobs[i].fd);
      sk_http_response_free (jobs[i].resp);
      g_free (jobs[i].digest);
      g_unlink (paths[i]);
      g_free (paths[i]);
    }
}

static void
test_download_error_body_in_memory (void)
{
  g_autoptr (Server) s = server_new ();
  server_add (s, "404 Not Found", "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\"}]}");
  server_start (s);
  g_autoptr (SkHttp) http = new_http ();
  g_autofree char *url = server_url (s, "/v2/x/blobs/sha256:00");
  g_autofree char *path = NULL;
  int fd = temp_file_with ("", &path);
  SkHttpRequest req = { .url = url };
  SkHttpDownloadOptions opts = { .alg = SK_DIGEST_SHA256 };
  g_autofree char *digest = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SkHttpResponse) resp = sk_http_download (http, &req, fd, &opts, &digest, NULL, &error);
  close (fd);
  g_assert_no_error (error);
  g_assert_cmpint (resp->status, ==, 404);
  g_assert_null (digest);
  g_autofree char *got = file_contents (path);
  g_assert_cmpstr (got, ==, "");
  g_unlink (path);
  g_autofree char *msg = sk_http_parse_error_body (resp->body);
  g_assert_cmpstr (msg, ==, "BLOB_UNKNOWN: blob unknown to registry");
}

static void
test_redirect_drops_authorization (void)
{
  g_autoptr (Server) target = server_new ();
  server_add (target, "200 OK", "blob");
  server_start (target);
  g_autoptr (Server) origin = server_new ();
  g_autofree char *where = server_url (target, "/storage/blob");
  g_autofree char *head = g_strdup_printf ("307 Temporary Redirect\r\nLocation: %s", where);
  server_add (origin, head, "");
  server_start (origin);
  g_autoptr (SkHttp) http = new_http ();
  g_autofree char *url = server_url (origin, "/v2/x/blobs/sha256:00");
  SkHttpRequest req = { .url = url, .authorization = "Bearer secret-token" };
  g_autoptr (GError) error = NULL;
  g_autoptr (SkHttpResponse) resp = sk_http_send (http, &req, &error);
  g_assert_no_error (error);
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_cmpstr (resp->url, ==, where);
  server_join (origin);
  server_join (target);
  g_assert_nonnull (strstr (origin->requests->pdata[0], "Authorization: Bearer secret-token"));
  g_assert_null (strstr (target->requests->pdata[0], "Authorization"));
  g_assert_null (strstr (target->requests->pdata[0], "secret-token"));
}

static void
test_redirect_to_file_refused (void)
{
  g_autoptr (Server) s = server_new ();
  server_add (s, "302 Found\r\nLocation: file:///etc/passwd", "");
  server_start (s);
  g_autoptr (SkHttp) http = new_http ();
  g_autofree char *url = server_url (s, "/v2/x/blobs/sha256:00");
  SkHttpRequest req = { .url = url };
  g_autoptr (GError) error = NULL;
  g_autoptr (SkHttpResponse) resp = sk_http_send (http, &req, &error);
  g_assert_null (resp);
  g_assert_error (error, SK_ERROR, SK_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "GET http://127.0.0.1:"));
  g_assert_nonnull (strstr (error->message, "file"));
}

static void
test_connection_refused (void)
{
  Server *s = server_new ();
  g_autofree char *url = server_url (s, "/v2/");
  close (s->fd);
  s->fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  server_free (s);
  g_autoptr (SkHttp) http = new_http ();
  SkHttpRequest req = { .url = url };
  g_autoptr (GError) error = NULL;
  g_autoptr (SkHttpResponse) resp = sk_http_send (http, &req, &error);
  g_assert_null (resp);
  g_assert_error (error, SK_ERROR, SK_ERROR_FAILED);
  g_autofree char *prefix = g_strdup_printf ("GET %s: ", url);
  g_assert_true (g_str_has_prefix (error->message, prefix));
}

static void
test_cert_dir (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("skiff-certs-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *cert = g_build_filename (dir, "client.cert", NULL);
  g_assert_true (g_file_set_contents (cert, "x", 1, NULL));
  g_autoptr (SkHttp) none = sk_http_new (TRUE, dir, &error);
  g_assert_null (none);
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "has no key"));
  g_clear_error (&error);
  g_autofree char *key = g_build_filename (dir, "client.key", NULL);
  g_assert_true (g_file_set_contents (key, "x", 1, NULL));
  g_autoptr (SkHttp) ok = sk_http_new (TRUE, dir, &error);
  g_assert_no_error (error);
  g_unlink (cert);
  g_unlink (key);
  g_rmdir (dir);
  g_autoptr (SkHttp) missing = sk_http_new (TRUE, "/nonexistent/skiff-certs", &error);
  g_assert_null (missing);
  g_assert_nonnull (strstr (error->message, "'/nonexistent/skiff-certs'"));
}

/* ---------------------------------------------------------------- client */

static void
test_client_pure (void)
{
  g_assert_cmpstr (sk_registry_api_host ("docker.io"), ==, "registry-1.docker.io");
  g_assert_cmpstr (sk_registry_api_host ("localhost:5000"), ==, "localhost:5000");
  g_autofree char *u = sk_registry_url ("http://127.0.0.1:5000", "skiff/one", "manifests", "v1");
  g_assert_cmpstr (u, ==, "http://127.0.0.1:5000/v2/skiff/one/manifests/v1");
  g_assert_cmpstr (sk_pull_layer_compression (SK_MEDIA_TYPE_DISK_QCOW2), ==, "");
  g_assert_cmpstr (sk_pull_layer_compression (SK_MEDIA_TYPE_DISK_QCOW2_ZSTD), ==, "zstd");
  g_assert_cmpstr (sk_pull_layer_compression (SK_MEDIA_TYPE_DISK_QCOW2_GZIP), ==, "gzip");
  g_assert_null (sk_pull_layer_compression (SK_MEDIA_TYPE_KERNEL));
  g_assert_null (sk_pull_layer_compression ("application/vnd.skiff.disk.qcow2.v1+bzip2"));
}

#define MANIFEST_BODY "{\"schemaVersion\":2}"

/* A client with TLS checks off for a scripted server: its first answer
 * goes to curl's TLS attempt (which fails), then plain http. */
static SkRegistryClient *
scripted_client (Server *s, const char *authfile)
{
  g_autofree char *domain = g_strdup_printf ("127.0.0.1:%u", s->port);
  SkRegistryOptions opts = { .tls_verify = FALSE, .authfile = authfile };
  g_autoptr (GError) error = NULL;
  SkRegistryClient *c = sk_registry_client_new (domain, &opts, &error);
  g_assert_no_error (error);
  return c;
}

static void
server_add_tls_and_ping (Server *s)
{
  server_add (s, "400 Bad Request", "not TLS");
  server_add (s, "200 OK", "{}");
}

static void
test_client_http_fallback_and_digest_header (void)
{
  g_autoptr (Server) s = server_new ();
  g_autofree char *good = sk_digest_bytes (SK_DIGEST_SHA256, MANIFEST_BODY, strlen (MANIFEST_BODY));
  g_autofree char *ok_head = g_strdup_printf ("200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json; "
                                              "charset=utf-8\r\nDocker-Content-Digest: %s", good);
  server_add_tls_and_ping (s);
  server_add (s, ok_head, MANIFEST_BODY);
  server_add (s, "200 OK\r\nDocker-Content-Digest: sha256:"
                 "0000000000000000000000000000000000000000000000000000000000000000", MANIFEST_BODY);
  server_start (s);
  g_autoptr (SkRegistryClient) c = scripted_client (s, NULL);
  g_autoptr (GBytes) raw = NULL;
  g_autofree char *type = NULL, *digest = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_registry_get_manifest (c, "skiff/one", "v1", &raw, &type, &digest, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (type, ==, "application/vnd.oci.image.manifest.v1+json");
  g_assert_cmpstr (digest, ==, good);
  g_assert_true (g_str_has_prefix (sk_registry_client_describe (c), "http://127.0.0.1:"));
  g_autoptr (GBytes) raw2 = NULL;
  g_autofree char *type2 = NULL, *digest2 = NULL;
  g_assert_false (sk_registry_get_manifest (c, "skiff/one", "v1", &raw2, &type2, &digest2, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_assert_null (raw2);
  server_join (s);
  g_assert_nonnull (strstr (s->requests->pdata[2], "Accept: application/vnd.oci.image.manifest.v1+json, "
                                                  "application/vnd.oci.image.index.v1+json"));
}

static void
test_client_manifest_by_digest_mismatch (void)
{
  g_autoptr (Server) s = server_new ();
  server_add_tls_and_ping (s);
  server_add (s, "200 OK", "{\"schemaVersion\":2,\"evil\":1}");
  server_start (s);
  g_autoptr (SkRegistryClient) c = scripted_client (s, NULL);
  g_autofree char *want = sk_digest_bytes (SK_DIGEST_SHA256, MANIFEST_BODY, strlen (MANIFEST_BODY));
  g_autoptr (GBytes) raw = NULL;
  g_autofree char *type = NULL, *digest = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_registry_get_manifest (c, "skiff/one", want, &raw, &type, &digest, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH);
  g_assert_nonnull (strstr (error->message, want));
}

static char *
write_authfile (const char *domain, const char *userpass)
{
  g_autofree char *b64 = g_base64_encode ((const guchar *) userpass, strlen (userpass));
  g_autofree char *json = g_strdup_printf ("{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}", domain, b64);
  char *path = NULL;
  int fd = g_file_open_tmp ("skiff-auth-XXXXXX.json", &path, NULL);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, json, strlen (json)), ==, (ssize_t) strlen (json));
  close (fd);
  return path;
}

static void
test_client_basic_challenge (void)
{
  g_autoptr (Server) s = server_new ();
  server_add_tls_and_ping (s);
  server_add (s, "401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"r\"", "");
  server_add (s, "200 OK", MANIFEST_BODY);
  server_start (s);
  g_autofree char *domain = g_strdup_printf ("127.0.0.1:%u", s->port);
  g_autofree char *authfile = write_authfile (domain, "alice:pa:ss");
  g_autoptr (SkRegistryClient) c = scripted_client (s, authfile);
  g_autoptr (GBytes) raw = NULL;
  g_autofree char *type = NULL, *digest = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_registry_get_manifest (c, "skiff/one", "v1", &raw, &type, &digest, &error));
  g_assert_no_error (error);
  server_join (s);
  g_assert_null (strstr (s->requests->pdata[2], "Authorization"));
  /* base64 ("alice:pa:ss") */
  g_assert_nonnull (strstr (s->requests->pdata[3], "Authorization: Basic YWxpY2U6cGE6c3M=\r\n"));
  g_unlink (authfile);
}

static void
test_client_basic_without_credentials (void)
{
  g_autoptr (Server) s = server_new ();
  server_add_tls_and_ping (s);
  server_add (s, "401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"r\"",
              "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}");
  server_start (s);
  g_autofree char *authfile = write_authfile ("other.example", "a:b");
  g_autoptr (SkRegistryClient) c = scripted_client (s, authfile);
  g_autoptr (GBytes) raw = NULL;
  g_autofree char *type = NULL, *digest = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_registry_get_manifest (c, "skiff/one", "v1", &raw, &type, &digest, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_UNAUTHORIZED);
  g_assert_true (g_str_has_prefix (error->message, "no credentials for '127.0.0.1:"));
  g_assert_nonnull (strstr (error->message, "HTTP 401 UNAUTHORIZED: authentication required"));
  g_unlink (authfile);
}

static void
test_client_bearer_challenge (void)
{
  g_autoptr (Server) s = server_new ();
  g_autofree char *realm = server_url (s, "/token");
  g_autofree char *challenge = g_strdup_printf ("401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"%s\","
                                                "service=\"reg\",scope=\"repository:skiff/one:pull\"", realm);
  server_add_tls_and_ping (s);
  server_add (s, challenge, "");
  server_add (s, "200 OK\r\nContent-Type: application/json", "{\"token\":\"tok-1\",\"expires_in\":300}");
  server_add (s, "200 OK", MANIFEST_BODY);
  server_add (s, "200 OK", MANIFEST_BODY);
  server_start (s);
  g_autoptr (SkRegistryClient) c = scripted_client (s, NULL);
  g_autoptr (GError) error = NULL;
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (GBytes) raw = NULL;
      g_autofree char *type = NULL, *digest = NULL;
      g_assert_true (sk_registry_get_manifest (c, "skiff/one", "v1", &raw, &type, &digest, &error));
      g_assert_no_error (error);
    }
  server_join (s);
  g_assert_true (g_str_has_prefix (s->requests->pdata[3],
                                   "GET /token?service=reg&scope=repository:skiff/one:pull HTTP/1.1\r\n"));
  g_assert_null (strstr (s->requests->pdata[3], "Authorization"));
  g_assert_nonnull (strstr (s->requests->pdata[4], "Authorization: Bearer tok-1\r\n"));
  /* The cached token serves the next request without a new challenge. */
  g_assert_nonnull (strstr (s->requests->pdata[5], "Authorization: Bearer tok-1\r\n"));
}

static void
test_client_blob_not_found (void)
{
  g_autoptr (Server) s = server_new ();
  server_add_tls_and_ping (s);
  server_add (s, "404 Not Found", "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\"}]}");
  server_start (s);
  g_autoptr (SkRegistryClient) c = scripted_client (s, NULL);
  const char *digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) b = sk_registry_get_blob_bytes (c, "skiff/one", digest, 0, 1024, &error);
  g_assert_null (b);
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "blob 'sha256:e3b0c442"));
  g_assert_nonnull (strstr (error->message, "not found: GET http://127.0.0.1:"));
  g_assert_nonnull (strstr (error->message, "HTTP 404 BLOB_UNKNOWN: blob unknown to registry"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/http/range-header", test_range_header);
  g_test_add_func ("/http/content-range", test_content_range);
  g_test_add_func ("/http/error-body", test_error_body);
  g_test_add_func ("/http/retry-after", test_retry_after);
  g_test_add_func ("/http/backoff", test_backoff);
  g_test_add_func ("/http/content-type", test_content_type);
  g_test_add_func ("/http/header-line", test_header_line);
  g_test_add_func ("/http/resolve-url", test_resolve_url);
  g_test_add_func ("/http/status-codes", test_status_codes);
  g_test_add_func ("/http/status-error-message", test_status_error_message);
  g_test_add_func ("/http/send/headers-and-status", test_send_headers_and_status);
  g_test_add_func ("/http/send/body-cap", test_send_body_cap);
  g_test_add_func ("/http/send/retries-transient", test_send_retries_transient);
  g_test_add_func ("/http/send/post-not-retried", test_post_not_retried);
  g_test_add_func ("/http/send/redirect-drops-authorization", test_redirect_drops_authorization);
  g_test_add_func ("/http/send/redirect-to-file-refused", test_redirect_to_file_refused);
  g_test_add_func ("/http/send/connection-refused", test_connection_refused);
  g_test_add_func ("/http/download/fresh", test_download_fresh);
  g_test_add_func ("/http/download/resume-206", test_download_resume_206);
  g_test_add_func ("/http/download/range-ignored", test_download_range_ignored);
  g_test_add_func ("/http/download/bad-content-range", test_download_bad_content_range);
  g_test_add_func ("/http/download/too-large", test_download_too_large);
  g_test_add_func ("/http/download/error-body-in-memory", test_download_error_body_in_memory);
  g_test_add_func ("/http/download/big-fresh", test_download_big_fresh);
  g_test_add_func ("/http/download/big-resume", test_download_big_resume);
  g_test_add_func ("/http/download/big-range-ignored", test_download_big_range_ignored);
  g_test_add_func ("/http/download/big-corrupt", test_download_big_corrupt);
  g_test_add_func ("/http/download/many-big", test_download_many_big);
  g_test_add_func ("/http/cert-dir", test_cert_dir);
  g_test_add_func ("/http/client/pure", test_client_pure);
  g_test_add_func ("/http/client/http-fallback-and-digest-header", test_client_http_fallback_and_digest_header);
  g_test_add_func ("/http/client/manifest-by-digest-mismatch", test_client_manifest_by_digest_mismatch);
  g_test_add_func ("/http/client/basic-challenge", test_client_basic_challenge);
  g_test_add_func ("/http/client/basic-without-credentials", test_client_basic_without_credentials);
  g_test_add_func ("/http/client/bearer-challenge", test_client_bearer_challenge);
  g_test_add_func ("/http/client/blob-not-found", test_client_blob_not_found);
  return g_test_run ();
}
