/* skiff — HTTP over libcurl: sessions, transfers, retries, errors. */
#include "registry/http.h"
#include "registry/follow.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_S 10L
#define LOW_SPEED_BYTES 1L   /* slower than this... */
#define LOW_SPEED_TIME_S 60L /* ...for this long aborts a transfer */
#define MAX_REDIRECTS 10L
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define HASH_CHUNK (1 << 20)
#define WRITE_BUFFER (1024 * 1024) /* downloads reach their file in pieces of this size */
#define FOLLOW_MIN_SIZE (8 * 1024 * 1024) /* downloads hashed on another thread: at least this large */

struct _SkHttp {
  CURL *curl;
  gboolean tls_verify;
  GBytes *ca_blob;   /* system CAs + cert dir's *.crt, or NULL for curl's default */
  char *client_cert; /* "*.cert" path or NULL */
  char *client_key;
  GHashTable *sockets; /* the connections' sockets (fd + 1), for ack_now */
};

/* ---------------------------------------------------------------- session */

static gboolean
append_file (GByteArray *out, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &data, &len, error))
    return FALSE;
  g_byte_array_append (out, (const guint8 *) data, len);
  g_byte_array_append (out, (const guint8 *) "\n", 1);
  return TRUE;
}

/* Reads a podman-style certs.d directory: CAs and one client pair. */
static gboolean
load_cert_dir (SkHttp *http, const char *dir, GError **error)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, error);
  if (d == NULL)
    return g_prefix_error (error, "reading the certificate directory: "), FALSE;
  g_autoptr (GByteArray) cas = g_byte_array_new ();
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_str_has_suffix (name, ".crt"))
        {
          if (cas->len == 0 && g_file_test (SYSTEM_CA_BUNDLE, G_FILE_TEST_IS_REGULAR)
              && !append_file (cas, SYSTEM_CA_BUNDLE, error))
            return FALSE;
          if (!append_file (cas, path, error))
            return FALSE;
        }
      else if (g_str_has_suffix (name, ".cert") && http->client_cert == NULL)
        {
          g_autofree char *stem = g_strndup (path, strlen (path) - strlen (".cert"));
          g_autofree char *key = g_strconcat (stem, ".key", NULL);
          if (!g_file_test (key, G_FILE_TEST_IS_REGULAR))
            return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND,
                                "client certificate '%s' has no key '%s'", path, key), FALSE;
          http->client_cert = g_steal_pointer (&path);
          http->client_key = g_steal_pointer (&key);
        }
    }
  if (cas->len > 0)
    http->ca_blob = g_byte_array_free_to_bytes (g_steal_pointer (&cas));
  return TRUE;
}

SkHttp *
sk_http_new (gboolean tls_verify, const char *cert_dir, GError **error)
{
  static gsize initialised;
  if (g_once_init_enter (&initialised))
    {
      curl_global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&initialised, 1);
    }
  g_autoptr (SkHttp) http = g_new0 (SkHttp, 1);
  http->tls_verify = tls_verify;
  http->sockets = g_hash_table_new (NULL, NULL);
  http->curl = curl_easy_init ();
  if (http->curl == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "curl_easy_init failed"), NULL;
  if (cert_dir && !load_cert_dir (http, cert_dir, error))
    return g_prefix_error (error, "'%s': ", cert_dir), NULL;
  return g_steal_pointer (&http);
}

void
sk_http_free (SkHttp *http)
{
  if (http == NULL)
    return;
  if (http->curl)
    curl_easy_cleanup (http->curl);
  g_clear_pointer (&http->sockets, g_hash_table_unref);
  g_clear_pointer (&http->ca_blob, g_bytes_unref);
  g_free (http->client_cert);
  g_free (http->client_key);
  g_free (http);
}

void
sk_http_response_free (SkHttpResponse *resp)
{
  if (resp == NULL)
    return;
  g_clear_pointer (&resp->headers, g_hash_table_unref);
  g_clear_pointer (&resp->body, g_bytes_unref);
  g_free (resp->url);
  g_free (resp);
}

const char *
sk_http_response_header (const SkHttpResponse *resp, const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);
  return resp->headers ? g_hash_table_lookup (resp->headers, lower) : NULL;
}

/* ---------------------------------------------------------------- transfers */

/* State of one request across its tries. */
typedef struct {
  SkHttp *http;
  CURL *curl;            /* the session's handle, or one of a multi transfer */
  char errbuf[CURL_ERROR_SIZE];
  SkCurlSlist *headers;  /* of the current try */
  guint attempt;         /* tries made */
  const SkHttpRequest *req;
  SkHttpResponse *resp;  /* of the current try */
  GByteArray *mem;       /* in-memory body of the current try */
  gsize max_body;
  gboolean too_big;
  guint64 body_pos;      /* request body read position */
  /* downloads */
  gboolean download;
  int fd;
  SkHasher *hasher;      /* the digest, hashed as bytes arrive; or */
  SkFollower *follower;  /* the digest, hashed off this thread from the file */
  guint64 offset;        /* bytes received and hashed: in fd, or in wbuf */
  guint8 *wbuf;          /* received bytes not written yet (WRITE_BUFFER at most) */
  gsize wlen;
  guint64 synced;        /* file offset up to which writeback was started */
  guint64 requested_from;
  const SkHttpDownloadOptions *dl;
  gboolean to_fd;        /* this try's 2xx body goes to fd */
  gboolean started;      /* first body byte of this try seen */
  GError *write_error;
} Transfer;

static void
transfer_reset_response (Transfer *t)
{
  g_clear_pointer (&t->resp, sk_http_response_free);
  t->resp = g_new0 (SkHttpResponse, 1);
  t->resp->headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_clear_pointer (&t->mem, g_byte_array_unref);
  t->mem = g_byte_array_new ();
  t->too_big = FALSE;
  t->started = FALSE;
  t->to_fd = FALSE;
  t->body_pos = 0;
}

/* ACKs what arrived at once.  Servers without TCP_NODELAY (radosgw)
 * write an answer's head and body as two segments, and the body waits for
 * the head's ACK, which Linux delays by up to 40 ms on a connection that
 * goes request, answer, request: that was 40 ms on every GET of a small
 * object. */
static void
ack_now (Transfer *t)
{
  /* (curl does not tell which connection a transfer uses: all of them,
   * usually one) */
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, t->http->sockets);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      int one = 1;
      (void) setsockopt (GPOINTER_TO_INT (key) - 1, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
}

static curl_socket_t
open_socket (void *data, curlsocktype purpose, struct curl_sockaddr *address)
{
  SkHttp *http = data;
  int fd = socket (address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd < 0)
    return CURL_SOCKET_BAD;
  g_hash_table_add (http->sockets, GINT_TO_POINTER (fd + 1));
  return fd;
}

static int
close_socket (void *data, curl_socket_t fd)
{
  SkHttp *http = data;
  if (http->sockets)
    g_hash_table_remove (http->sockets, GINT_TO_POINTER (fd + 1));
  return close (fd);
}

static size_t
on_header (char *data, size_t size, size_t nmemb, void *user)
{
  Transfer *t = user;
  gsize len = size * nmemb;
  if (len >= 5 && memcmp (data, "HTTP/", 5) == 0)
    {
      ack_now (t);
      /* A new response (after a redirect or a 100 Continue): whatever
       * came before it is not the answer. */
      g_hash_table_remove_all (t->resp->headers);
      g_byte_array_set_size (t->mem, 0);
      t->started = FALSE;
      t->to_fd = FALSE;
      return len;
    }
  char *name, *value;
  if (!sk_http_parse_header_line (data, len, &name, &value))
    return len;
  const char *old = g_hash_table_lookup (t->resp->headers, name);
  if (old)
    {
      char *joined = g_strconcat (old, ", ", value, NULL);
      g_free (value);
      value = joined;
    }
  g_hash_table_replace (t->resp->headers, name, value);
  return len;
}

static long
current_status (Transfer *t)
{
  long status = 0;
  curl_easy_getinfo (t->curl, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

/* Starts over at byte 0: the server ignored our Range. */
static gboolean
restart_file (Transfer *t)
{
  t->wlen = 0;
  if (ftruncate (t->fd, 0) < 0)
    return sk_error_from_errno (&t->write_error, errno, "truncating the download");
  if (t->follower)
    sk_follower_advance (t->follower, 0); /* spoils what it hashed */
  else
    {
      sk_hasher_free (t->hasher);
      t->hasher = sk_hasher_new (t->dl->alg);
    }
  t->offset = 0;
  if (t->dl->progress)
    t->dl->progress (0, 0, t->dl->progress_data);
  return TRUE;
}

/* Decides, at the first body byte of a try, where the body goes. */
static gboolean
start_body (Transfer *t)
{
  t->started = TRUE;
  long status = current_status (t);
  t->to_fd = t->download && status >= 200 && status < 300;
  if (!t->to_fd || t->requested_from == 0)
    return TRUE;
  if (status != 206)
    {
      sk_debug ("server ignored the range request (HTTP %ld): restarting from 0", status);
      return restart_file (t);
    }
  guint64 first, last;
  gint64 total;
  const char *cr = sk_http_response_header (t->resp, "content-range");
  if (cr == NULL || !sk_http_parse_content_range (cr, &first, &last, &total) || first != t->requested_from)
    return g_set_error (&t->write_error, SK_ERROR, SK_ERROR_INVALID_DATA,
                        "unexpected Content-Range '%s' for a request from byte %" G_GUINT64_FORMAT,
                        cr ? cr : "", t->requested_from), FALSE;
  return TRUE;
}

/* Writes what wbuf holds and reports the bytes now in the file: curl
 * hands the body over in pieces of a few KiB, the file (and whoever
 * follows it) gets it in pieces of WRITE_BUFFER. */
static gboolean
flush_writes (Transfer *t)
{
  if (t->wlen == 0)
    return TRUE;
  guint64 at = t->offset - t->wlen;
  if (!sk_pwrite_sparse (t->fd, (const char *) t->wbuf, t->wlen, t->dl->file_offset + at))
    return sk_error_from_errno (&t->write_error, errno, "writing the download");
  t->wlen = 0;
  if (t->follower)
    sk_follower_advance (t->follower, t->offset);
  /* The store syncs what it keeps: start the disk writing now, while
   * the rest downloads, instead of all of it at the end. */
  sk_start_writeback (t->fd, &t->synced, t->dl->file_offset + t->offset);
  if (t->dl->progress)
    {
      curl_off_t cl = -1;
      curl_easy_getinfo (t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
      t->dl->progress (t->offset, cl >= 0 ? t->requested_from + cl : 0, t->dl->progress_data);
    }
  return TRUE;
}

static gboolean
write_to_fd (Transfer *t, const char *data, gsize len)
{
  if (t->dl->max_size && t->offset + len > t->dl->max_size)
    return g_set_error (&t->write_error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                        "more than the expected %" G_GUINT64_FORMAT " bytes", t->dl->max_size), FALSE;
  if (t->hasher)
    sk_hasher_update (t->hasher, data, len);
  if (t->wbuf == NULL)
    t->wbuf = g_malloc (WRITE_BUFFER);
  while (len > 0)
    {
      gsize n = MIN (len, WRITE_BUFFER - t->wlen);
      memcpy (t->wbuf + t->wlen, data, n);
      t->wlen += n;
      t->offset += n;
      data += n;
      len -= n;
      if (t->wlen == WRITE_BUFFER && !flush_writes (t))
        return FALSE;
    }
  return TRUE;
}

static size_t
on_body (char *data, size_t size, size_t nmemb, void *user)
{
  Transfer *t = user;
  gsize len = size * nmemb;
  if (!t->started && !start_body (t))
    return CURL_WRITEFUNC_ERROR;
  if (t->to_fd)
    return write_to_fd (t, data, len) ? len : CURL_WRITEFUNC_ERROR;
  if (t->mem->len + len > t->max_body)
    {
      /* Error bodies of downloads are only read for their message. */
      if (t->download)
        {
          g_byte_array_append (t->mem, (const guint8 *) data, t->max_body - t->mem->len);
          return len;
        }
      t->too_big = TRUE;
      return CURL_WRITEFUNC_ERROR;
    }
  g_byte_array_append (t->mem, (const guint8 *) data, len);
  return len;
}

static size_t
on_read (char *buf, size_t size, size_t nmemb, void *user)
{
  Transfer *t = user;
  const SkHttpRequest *req = t->req;
  gsize want = size * nmemb;
  if (req->body)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (req->body, &len);
      gsize n = MIN (want, len - t->body_pos);
      memcpy (buf, data + t->body_pos, n);
      t->body_pos += n;
      return n;
    }
  gsize n = MIN (want, req->body_len - t->body_pos);
  ssize_t got;
  do
    got = pread (req->body_fd, buf, n, req->body_offset + t->body_pos);
  while (got < 0 && errno == EINTR);
  /* A file that shrank under us must not leave curl waiting for bytes. */
  if (got < 0 || (got == 0 && n > 0))
    return CURL_READFUNC_ABORT;
  t->body_pos += got;
  return got;
}

static int
on_seek (void *user, curl_off_t offset, int origin)
{
  Transfer *t = user;
  if (origin != SEEK_SET || offset < 0)
    return CURL_SEEKFUNC_CANTSEEK;
  t->body_pos = offset;
  return CURL_SEEKFUNC_OK;
}

static void
set_tls_options (SkHttp *http, CURL *c)
{
  curl_easy_setopt (c, CURLOPT_SSL_VERIFYPEER, http->tls_verify ? 1L : 0L);
  curl_easy_setopt (c, CURLOPT_SSL_VERIFYHOST, http->tls_verify ? 2L : 0L);
  if (http->ca_blob)
    {
      struct curl_blob blob = {
        .data = (void *) g_bytes_get_data (http->ca_blob, NULL),
        .len = g_bytes_get_size (http->ca_blob),
        .flags = CURL_BLOB_COPY,
      };
      curl_easy_setopt (c, CURLOPT_CAINFO_BLOB, &blob);
    }
  if (http->client_cert)
    {
      curl_easy_setopt (c, CURLOPT_SSLCERT, http->client_cert);
      curl_easy_setopt (c, CURLOPT_SSLKEY, http->client_key);
    }
}

static gboolean
has_request_body (const SkHttpRequest *req)
{
  return req->body != NULL || req->body_len > 0;
}

static void
set_method (CURL *c, const SkHttpRequest *req, Transfer *t)
{
  const char *method = req->method ? req->method : "GET";
  if (g_str_equal (method, "HEAD"))
    curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
  else if (!g_str_equal (method, "GET"))
    curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, method);
  if (has_request_body (req))
    {
      curl_off_t len = req->body ? (curl_off_t) g_bytes_get_size (req->body) : (curl_off_t) req->body_len;
      curl_easy_setopt (c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt (c, CURLOPT_INFILESIZE_LARGE, len);
      curl_easy_setopt (c, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt (c, CURLOPT_READDATA, t);
      curl_easy_setopt (c, CURLOPT_SEEKFUNCTION, on_seek);
      curl_easy_setopt (c, CURLOPT_SEEKDATA, t);
    }
}

static SkCurlSlist *
build_headers (const SkHttpRequest *req, Transfer *t)
{
  SkCurlSlist *list = NULL;
  for (const char *const *h = req->headers; h && *h; h++)
    list = curl_slist_append (list, *h);
  if (req->authorization)
    {
      g_autofree char *auth = g_strconcat ("Authorization: ", req->authorization, NULL);
      list = curl_slist_append (list, auth);
    }
  if (has_request_body (req))
    list = curl_slist_append (list, "Expect:");
  if (t->requested_from > 0)
    {
      g_autofree char *range = sk_http_range_header (t->requested_from);
      list = curl_slist_append (list, range);
    }
  return list;
}

/* Sets @t's handle up for its next try. */
static void
transfer_prepare (Transfer *t)
{
  CURL *c = t->curl;
  const SkHttpRequest *req = t->req;
  curl_easy_reset (c);
  transfer_reset_response (t);
  t->requested_from = t->download ? t->offset : 0;
  t->errbuf[0] = '\0';
  curl_easy_setopt (c, CURLOPT_URL, req->url);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt (c, CURLOPT_PRIVATE, t);
  curl_easy_setopt (c, CURLOPT_USERAGENT, "skiff/" SK_VERSION);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt (c, CURLOPT_OPENSOCKETDATA, t->http);
  curl_easy_setopt (c, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
  curl_easy_setopt (c, CURLOPT_CLOSESOCKETDATA, t->http);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME_S);
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (c, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, t);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, t);
  /* Large downloads: fewer, larger writes and hash updates. */
  if (t->download)
    curl_easy_setopt (c, CURLOPT_BUFFERSIZE, 512L * 1024);
  set_tls_options (t->http, c);
  set_method (c, req, t);
  g_clear_pointer (&t->headers, curl_slist_free_all);
  t->headers = build_headers (req, t);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, t->headers);
}

/* Records the answer of the try that ended with @code. */
static void
transfer_finish (Transfer *t, CURLcode code)
{
  /* A body that ended before the first byte still needs its decision
   * (an empty 200 restarts a resumed download). */
  if (code == CURLE_OK && !t->started && t->write_error == NULL)
    (void) start_body (t);
  /* What arrived is kept, also when the try failed: a retry resumes
   * after it. */
  if (t->download && t->write_error == NULL)
    (void) flush_writes (t);
  t->resp->status = current_status (t);
  char *eff = NULL;
  curl_easy_getinfo (t->curl, CURLINFO_EFFECTIVE_URL, &eff);
  t->resp->url = g_strdup (eff ? eff : t->req->url);
  t->resp->body = g_bytes_new (t->mem->data, t->mem->len);
  curl_easy_setopt (t->curl, CURLOPT_HTTPHEADER, NULL);
  g_clear_pointer (&t->headers, curl_slist_free_all);
  t->attempt++;
  sk_debug ("%s %s -> %s %ld", t->req->method ? t->req->method : "GET", t->req->url,
            code == CURLE_OK ? "HTTP" : curl_easy_strerror (code), t->resp->status);
}

static gboolean
curl_code_is_transient (CURLcode code)
{
  switch (code)
    {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
method_is_idempotent (const char *method)
{
  return method == NULL || g_str_equal (method, "GET") || g_str_equal (method, "HEAD")
         || g_str_equal (method, "PUT") || g_str_equal (method, "DELETE");
}

/* TRUE when the try that ended with @code should be made again. */
static gboolean
should_retry (Transfer *t, CURLcode code, guint attempt)
{
  if (attempt >= SK_HTTP_TRIES || t->req->no_retry || !method_is_idempotent (t->req->method))
    return FALSE;
  if (t->write_error || t->too_big)
    return FALSE;
  if (code != CURLE_OK)
    return curl_code_is_transient (code);
  return sk_http_status_error_code (t->resp->status) == SK_ERROR_TRANSIENT;
}

/* How long to wait before the next try of @t (ended with @code). */
static guint
retry_delay_ms (Transfer *t, CURLcode code)
{
  const char *ra = code == CURLE_OK ? sk_http_response_header (t->resp, "retry-after") : NULL;
  gint64 retry_after = ra ? sk_http_parse_retry_after (ra, g_get_real_time () / G_USEC_PER_SEC) : -1;
  guint ms = sk_http_backoff_ms (t->attempt, retry_after);
  sk_debug ("%s %s: %s; trying again in %u ms", t->req->method ? t->req->method : "GET", t->req->url,
            code == CURLE_OK ? "transient HTTP status" : curl_easy_strerror (code), ms);
  return ms;
}

/* The outcome of @t's last try (ended with @code): its response, or NULL
 * with @error. */
static SkHttpResponse *
transfer_result (Transfer *t, CURLcode code, GError **error)
{
  const char *method = t->req->method ? t->req->method : "GET";
  if (t->write_error)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&t->write_error), "%s %s: ", method, t->req->url);
      return NULL;
    }
  if (t->too_big)
    {
      g_autofree char *cap = sk_format_size (t->max_body);
      return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "%s %s: response larger than %s", method,
                          t->req->url, cap), NULL;
    }
  if (code != CURLE_OK)
    return sk_http_set_curl_error (error, method, t->req->url, code, t->errbuf), NULL;
  return g_steal_pointer (&t->resp);
}

/* Runs @t's tries on the session's handle. */
static SkHttpResponse *
transfer_run (Transfer *t, GError **error)
{
  for (;;)
    {
      transfer_prepare (t);
      CURLcode code = curl_easy_perform (t->curl);
      transfer_finish (t, code);
      if (!should_retry (t, code, t->attempt))
        return transfer_result (t, code, error);
      g_usleep ((gulong) retry_delay_ms (t, code) * 1000);
    }
}

static void
transfer_clear (Transfer *t)
{
  g_clear_pointer (&t->headers, curl_slist_free_all);
  g_clear_pointer (&t->resp, sk_http_response_free);
  g_clear_pointer (&t->mem, g_byte_array_unref);
  g_clear_pointer (&t->hasher, sk_hasher_free);
  g_clear_pointer (&t->follower, sk_follower_free);
  g_clear_pointer (&t->wbuf, g_free);
  g_clear_error (&t->write_error);
}

SkHttpResponse *
sk_http_send (SkHttp *http, const SkHttpRequest *req, GError **error)
{
  Transfer t = { .http = http, .curl = http->curl, .req = req, .fd = -1 };
  t.max_body = req->max_body ? req->max_body : SK_HTTP_DEFAULT_MAX_BODY;
  SkHttpResponse *resp = transfer_run (&t, error);
  transfer_clear (&t);
  return resp;
}

/* Keeps the first @len bytes of @fd (the part of a download we keep),
 * cutting off anything after them. */
static gboolean
keep_existing (int fd, guint64 len, GError **error)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sk_error_from_errno (error, errno, "reading the partial download");
  if ((guint64) st.st_size < len)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "partial download is shorter than %" G_GUINT64_FORMAT
                        " bytes", len), FALSE;
  /* (not on a file that has the size already: truncating a new, empty
   * file makes ext4 write it all back when it is closed) */
  if ((guint64) st.st_size != len && ftruncate (fd, len) < 0)
    return sk_error_from_errno (error, errno, "truncating the partial download");
  return TRUE;
}

/* Hashes the first @len bytes of @fd into @hasher. */
static gboolean
hash_existing (int fd, guint64 len, SkHasher *hasher, GError **error)
{
  g_autofree guint8 *buf = g_malloc (HASH_CHUNK);
  for (guint64 pos = 0; pos < len;)
    {
      ssize_t n = pread (fd, buf, MIN (HASH_CHUNK, len - pos), pos);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return sk_error_from_errno (error, n < 0 ? errno : EIO, "reading the partial download");
      sk_hasher_update (hasher, buf, n);
      pos += n;
    }
  return TRUE;
}

/* Sets a download's transfer up; FALSE when its partial file is unusable. */
static gboolean
download_init (Transfer *t, SkHttp *http, CURL *curl, const SkHttpRequest *req, int fd,
               const SkHttpDownloadOptions *opts, GError **error)
{
  *t = (Transfer) { .http = http, .curl = curl, .req = req, .fd = fd, .download = TRUE, .dl = opts };
  t->max_body = SK_HTTP_DEFAULT_MAX_BODY;
  if (!opts->in_place)
    {
      if (!keep_existing (fd, opts->resume_from, error))
        return FALSE;
      /* A large blob is hashed by a thread of its own reading it back
       * from the page cache: receiving, writing and two hashes (the
       * store's name too) then spread over the cores. */
      if (opts->max_size >= FOLLOW_MIN_SIZE)
        {
          t->follower = sk_follower_new (fd, opts->resume_from, opts->alg, NULL);
          if (opts->recycler)
            sk_follower_recycle (t->follower, opts->recycler);
        }
      else
        {
          t->hasher = sk_hasher_new (opts->alg);
          if (!hash_existing (fd, opts->resume_from, t->hasher, error))
            return FALSE;
        }
    }
  t->offset = opts->resume_from;
  t->synced = opts->file_offset + opts->resume_from;
  /* Where this download starts: a caller following the file sees it go
   * back when it starts over. */
  if (opts->progress)
    opts->progress (t->offset, 0, opts->progress_data);
  return TRUE;
}

/* Hands a finished download's outcome over; the file gets its full size
 * (skipped zeros at its end are a hole too). */
static SkHttpResponse *
download_result (Transfer *t, SkHttpResponse *resp, char **out_digest, guint64 *out_size, GError **error)
{
  if (resp == NULL || resp->status < 200 || resp->status > 299)
    return resp;
  struct stat st;
  if (fstat (t->fd, &st) < 0 || ((guint64) st.st_size < t->offset && ftruncate (t->fd, t->offset) < 0))
    {
      sk_http_response_free (resp);
      return sk_error_from_errno (error, errno, "%s %s: extending the download", t->req->method ? t->req->method : "GET",
                                  t->req->url), NULL;
    }
  if (out_size)
    *out_size = t->offset;
  char *digest = NULL;
  if (t->follower && !sk_follower_finish (t->follower, t->offset, &digest))
    {
      /* It started over: hash the file as it is now. */
      sk_debug ("%s: hashing the download again", t->req->url);
      t->hasher = sk_hasher_new (t->dl->alg);
      if (!hash_existing (t->fd, t->offset, t->hasher, error))
        return sk_http_response_free (resp), NULL;
    }
  if (t->hasher)
    digest = sk_hasher_finish (t->hasher);
  if (out_digest)
    *out_digest = digest;
  else
    g_free (digest);
  return resp;
}

SkHttpResponse *
sk_http_download (SkHttp *http, const SkHttpRequest *req, int fd, const SkHttpDownloadOptions *opts,
                  char **out_digest, guint64 *out_size, GError **error)
{
  Transfer t;
  SkHttpResponse *resp = NULL;
  if (download_init (&t, http, http->curl, req, fd, opts, error))
    resp = download_result (&t, transfer_run (&t, error), out_digest, out_size, error);
  transfer_clear (&t);
  return resp;
}

/* ---------------------------------------------------------------- parallel downloads */

typedef struct {
  Transfer t;
  SkHttpDownloadJob *job;
  gint64 not_before; /* monotonic time of the next try */
  gboolean over;     /* its last try has ended, with @code */
  CURLcode code;
} MultiItem;

static void
multi_item_done (MultiItem *item, CURLcode code)
{
  SkHttpDownloadJob *job = item->job;
  SkHttpResponse *resp = transfer_result (&item->t, code, &job->error);
  job->resp = download_result (&item->t, resp, &job->digest, &job->size, &job->error);
}

/* Takes the finished transfers off @multi: done, or waiting to try again. */
static void
multi_collect (CURLM *multi, GQueue *waiting, guint *active)
{
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read (multi, &left)) != NULL)
    {
      if (msg->msg != CURLMSG_DONE)
        continue;
      MultiItem *item = NULL;
      curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **) &item);
      CURLcode code = msg->data.result;
      curl_multi_remove_handle (multi, msg->easy_handle);
      (*active)--;
      transfer_finish (&item->t, code);
      if (should_retry (&item->t, code, item->t.attempt))
        {
          item->not_before = g_get_monotonic_time () + (gint64) retry_delay_ms (&item->t, code) * 1000;
          g_queue_push_tail (waiting, item);
        }
      else
        {
          /* Settled once all are over: waiting here for its hashing to
           * catch up would stall the other downloads. */
          item->over = TRUE;
          item->code = code;
        }
    }
}

/* Starts what may start now; returns the ms until a waiting try is due
 * (at most 1000). */
static int
multi_start (CURLM *multi, GQueue *waiting, guint *active, guint parallel)
{
  gint64 now = g_get_monotonic_time ();
  gint64 next = now + G_USEC_PER_SEC;
  for (GList *l = waiting->head; l != NULL;)
    {
      GList *next_link = l->next;
      MultiItem *item = l->data;
      if (*active < parallel && item->not_before <= now)
        {
          g_queue_delete_link (waiting, l);
          transfer_prepare (&item->t);
          curl_multi_add_handle (multi, item->t.curl);
          (*active)++;
        }
      else
        next = MIN (next, MAX (item->not_before, now));
      l = next_link;
    }
  return (int) ((next - now) / 1000);
}

void
sk_http_download_many (SkHttp *http, SkHttpDownloadJob *jobs, guint n_jobs, guint parallel)
{
  g_autoptr (CURLM) multi = curl_multi_init ();
  g_autofree MultiItem *items = g_new0 (MultiItem, n_jobs);
  g_autoptr (GQueue) waiting = g_queue_new ();
  for (guint i = 0; i < n_jobs; i++)
    {
      items[i].job = &jobs[i];
      if (!download_init (&items[i].t, http, curl_easy_init (), jobs[i].req, jobs[i].fd, jobs[i].opts,
                          &jobs[i].error))
        continue;
      g_queue_push_tail (waiting, &items[i]);
    }
  guint active = 0;
  while (active > 0 || !g_queue_is_empty (waiting))
    {
      int timeout_ms = multi_start (multi, waiting, &active, MAX (parallel, 1));
      int running = 0;
      curl_multi_perform (multi, &running);
      multi_collect (multi, waiting, &active);
      if (active > 0 || !g_queue_is_empty (waiting))
        curl_multi_poll (multi, NULL, 0, active > 0 ? MIN (timeout_ms, 1000) : timeout_ms, NULL);
    }
  for (guint i = 0; i < n_jobs; i++)
    {
      if (items[i].over)
        multi_item_done (&items[i], items[i].code);
      if (items[i].t.curl)
        curl_easy_cleanup (items[i].t.curl);
      transfer_clear (&items[i].t);
    }
}

/* ---------------------------------------------------------------- errors */

int
sk_http_status_error_code (long status)
{
  if (status == 401 || status == 403)
    return SK_ERROR_UNAUTHORIZED;
  if (status == 404)
    return SK_ERROR_NOT_FOUND;
  if (status == 408 || status == 429 || (status >= 500 && status <= 599))
    return SK_ERROR_TRANSIENT;
  return SK_ERROR_FAILED;
}

static const char *
reason_phrase (long status)
{
  static const struct { long status; const char *reason; } table[] = {
    { 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
    { 405, "Method Not Allowed" }, { 408, "Request Timeout" }, { 413, "Payload Too Large" },
    { 416, "Range Not Satisfiable" }, { 429, "Too Many Requests" }, { 500, "Internal Server Error" },
    { 502, "Bad Gateway" }, { 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    if (table[i].status == status)
      return table[i].reason;
  return NULL;
}

gboolean
sk_http_set_status_error (GError **error, const char *method, const char *url, const SkHttpResponse *resp)
{
  g_autofree char *detail = resp->body ? sk_http_parse_error_body (resp->body) : NULL;
  const char *text = detail ? detail : reason_phrase (resp->status);
  g_set_error (error, SK_ERROR, sk_http_status_error_code (resp->status), "%s %s: HTTP %ld%s%s",
               method ? method : "GET", url, resp->status, text ? " " : "", text ? text : "");
  return FALSE;
}

gboolean
sk_http_set_curl_error (GError **error, const char *method, const char *url, int curl_code, const char *detail)
{
  CURLcode code = curl_code;
  int sk_code = curl_code_is_transient (code) ? SK_ERROR_TRANSIENT : SK_ERROR_FAILED;
  const char *what = detail && *detail ? detail : curl_easy_strerror (code);
  g_autofree char *clean = g_strchomp (g_strdup (what));
  g_set_error (error, SK_ERROR, sk_code, "%s %s: %s", method ? method : "GET", url, clean);
  return FALSE;
}

/* ---------------------------------------------------------------- pure helpers */

char *
sk_http_range_header (guint64 offset)
{
  return g_strdup_printf ("Range: bytes=%" G_GUINT64_FORMAT "-", offset);
}

static gboolean
parse_u64 (const char *s, const char **end, guint64 *out)
{
  if (!g_ascii_isdigit (*s))
    return FALSE;
  char *e;
  errno = 0;
  guint64 v = g_ascii_strtoull (s, &e, 10);
  if (errno != 0)
    return FALSE;
  *end = e;
  *out = v;
  return TRUE;
}

gboolean
sk_http_parse_content_range (const char *value, guint64 *out_first, guint64 *out_last, gint64 *out_total)
{
  const char *p = value;
  while (*p == ' ')
    p++;
  if (g_ascii_strncasecmp (p, "bytes ", 6) != 0)
    return FALSE;
  p += 6;
  guint64 first, last, total = 0;
  if (!parse_u64 (p, &p, &first) || *p++ != '-' || !parse_u64 (p, &p, &last) || *p++ != '/')
    return FALSE;
  gboolean star = *p == '*';
  if (star)
    p++;
  else if (!parse_u64 (p, &p, &total) || total > G_MAXINT64)
    return FALSE;
  if (*p != '\0' || first > last || (!star && last >= total))
    return FALSE;
  *out_first = first;
  *out_last = last;
  *out_total = star ? -1 : (gint64) total;
  return TRUE;
}

/* Keeps registry-chosen text printable on one line. */
static char *
printable (const char *s, gsize max)
{
  GString *out = g_string_new (NULL);
  for (const char *p = s; *p && out->len < max; p++)
    g_string_append_c (out, (guchar) *p < 0x20 || *p == 0x7f ? ' ' : *p);
  return g_string_free (out, FALSE);
}

char *
sk_http_parse_error_body (GBytes *body)
{
  gsize len;
  const char *data = g_bytes_get_data (body, &len);
  if (data == NULL || len == 0)
    return NULL;
  g_autoptr (json_t) root = json_loadb (data, len, 0, NULL);
  json_t *errors = root ? json_object_get (root, "errors") : NULL;
  if (!json_is_array (errors) || json_array_size (errors) == 0)
    return NULL;
  json_t *first = json_array_get (errors, 0);
  const char *code = json_string_value (json_object_get (first, "code"));
  const char *message = json_string_value (json_object_get (first, "message"));
  if (code == NULL && message == NULL)
    return NULL;
  g_autofree char *c = printable (code ? code : "", 64);
  g_autofree char *m = printable (message ? message : "", 200);
  GString *out = g_string_new (c);
  if (*c && *m)
    g_string_append (out, ": ");
  g_string_append (out, m);
  if (json_array_size (errors) > 1)
    g_string_append_printf (out, " (and %zu more)", json_array_size (errors) - 1);
  return g_string_free (out, FALSE);
}

gint64
sk_http_parse_retry_after (const char *value, gint64 now)
{
  g_autofree char *v = g_strstrip (g_strdup (value));
  if (*v == '\0')
    return -1;
  if (g_ascii_isdigit (*v))
    {
      const char *end;
      guint64 secs;
      if (!parse_u64 (v, &end, &secs) || *end != '\0')
        return -1;
      return (gint64) MIN (secs, (guint64) G_MAXINT32);
    }
  /* HTTP-date, IMF-fixdate form: "Sun, 06 Nov 1994 08:49:37 GMT". */
  int day, year, h, m, s;
  char wday[4], mon[4];
  if (sscanf (v, "%3s, %d %3s %d %d:%d:%d GMT", wday, &day, mon, &year, &h, &m, &s) != 7)
    return -1;
  static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  int month = 0;
  for (int i = 0; i < 12; i++)
    if (g_str_equal (mon, months[i]))
      month = i + 1;
  if (month == 0)
    return -1;
  g_autoptr (GDateTime) when = g_date_time_new_utc (year, month, day, h, m, s);
  if (when == NULL)
    return -1;
  gint64 delta = g_date_time_to_unix (when) - now;
  return delta > 0 ? delta : 0;
}

char *
sk_http_content_type_strip (const char *value)
{
  if (value == NULL)
    return NULL;
  const char *semi = strchr (value, ';');
  g_autofree char *head = semi ? g_strndup (value, semi - value) : g_strdup (value);
  return g_ascii_strdown (g_strstrip (head), -1);
}

gboolean
sk_http_parse_header_line (const char *line, gsize len, char **out_name, char **out_value)
{
  const char *colon = memchr (line, ':', len);
  if (colon == NULL || colon == line)
    return FALSE;
  for (const char *p = line; p < colon; p++)
    if (!g_ascii_isgraph (*p))
      return FALSE;
  *out_name = g_ascii_strdown (line, colon - line);
  *out_value = g_strstrip (g_strndup (colon + 1, len - (colon + 1 - line)));
  return TRUE;
}

char *
sk_http_resolve_url (const char *base, const char *ref)
{
  g_autoptr (GUri) uri = g_uri_parse_relative (NULL, base, G_URI_FLAGS_ENCODED, NULL);
  if (uri == NULL)
    return NULL;
  g_autoptr (GUri) resolved = g_uri_parse_relative (uri, ref, G_URI_FLAGS_ENCODED, NULL);
  if (resolved == NULL || g_uri_get_host (resolved) == NULL)
    return NULL;
  const char *scheme = g_uri_get_scheme (resolved);
  if (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
    return NULL;
  return g_uri_to_string (resolved);
}

/* The port @uri names, or its scheme's default. */
static int
uri_port (GUri *uri)
{
  int port = g_uri_get_port (uri);
  if (port > 0)
    return port;
  return g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
}

gboolean
sk_http_same_origin (const char *a, const char *b)
{
  g_autoptr (GUri) ua = g_uri_parse (a, G_URI_FLAGS_ENCODED, NULL);
  g_autoptr (GUri) ub = g_uri_parse (b, G_URI_FLAGS_ENCODED, NULL);
  if (ua == NULL || ub == NULL || g_uri_get_host (ua) == NULL || g_uri_get_host (ub) == NULL)
    return FALSE;
  return g_ascii_strcasecmp (g_uri_get_scheme (ua), g_uri_get_scheme (ub)) == 0
         && g_ascii_strcasecmp (g_uri_get_host (ua), g_uri_get_host (ub)) == 0 && uri_port (ua) == uri_port (ub);
}

guint
sk_http_backoff_ms (guint attempt, gint64 retry_after)
{
  if (retry_after >= 0)
    return (guint) MIN (retry_after, 60) * 1000;
  guint shift = MIN (attempt > 0 ? attempt - 1 : 0, 6);
  return 500u << shift;
}
