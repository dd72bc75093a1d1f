/* skiff — S3 requests: signing, errors, objects in memory, streamed and
 * multipart uploads, parallel ranged downloads. */
#include "registry/s3-private.h"
#include "registry/follow.h"
#include "registry/sigv4.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "oci/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (4 << 20)
#define PART_TRIES 4


SkS3Client *
sk_s3_client_new (const char *bucket, gboolean tls_verify, GError **error)
{
  g_autoptr (SkS3Config) cfg = sk_s3_config_load (error);
  if (cfg == NULL)
    return NULL;
  SkHttp *http = sk_http_new (tls_verify, NULL, error);
  if (http == NULL)
    return NULL;
  SkS3Client *c = g_new0 (SkS3Client, 1);
  c->cfg = g_steal_pointer (&cfg);
  c->bucket = g_strdup (bucket);
  c->tls_verify = tls_verify;
  c->http = http;
  return c;
}

void
sk_s3_client_free (SkS3Client *c)
{
  if (c == NULL)
    return;
  sk_s3_config_free (c->cfg);
  g_free (c->bucket);
  sk_http_free (c->http);
  g_free (c);
}

char *
sk_s3_describe (SkS3Client *c, const char *key)
{
  return g_strdup_printf ("s3://%s/%s", c->bucket, key);
}

/* ---------------------------------------------------------------- xml */

static char *
xml_unescape (const char *s, gsize len)
{
  static const struct { const char *entity; char c; } table[] = {
    { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
  };
  GString *out = g_string_sized_new (len);
  for (gsize i = 0; i < len; i++)
    {
      gboolean done = FALSE;
      for (gsize k = 0; s[i] == '&' && k < G_N_ELEMENTS (table) && !done; k++)
        {
          gsize n = strlen (table[k].entity);
          if (i + n <= len && strncmp (s + i, table[k].entity, n) == 0)
            {
              g_string_append_c (out, table[k].c);
              i += n - 1;
              done = TRUE;
            }
        }
      if (!done)
        g_string_append_c (out, s[i]);
    }
  return g_string_free (out, FALSE);
}

GPtrArray *
sk_s3_xml_elements (const char *xml, const char *tag)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *open = g_strdup_printf ("<%s>", tag);
  g_autofree char *close = g_strdup_printf ("</%s>", tag);
  const char *pos = xml;
  while (pos && (pos = strstr (pos, open)) != NULL)
    {
      const char *start = pos + strlen (open);
      const char *end = strstr (start, close);
      if (end == NULL)
        break;
      g_ptr_array_add (out, xml_unescape (start, end - start));
      pos = end + strlen (close);
    }
  return out;
}

char *
sk_s3_xml_text (const char *xml, const char *tag)
{
  g_autoptr (GPtrArray) all = sk_s3_xml_elements (xml, tag);
  return all->len ? g_strdup (all->pdata[0]) : NULL;
}

/* ---------------------------------------------------------------- errors */

char *
sk_s3_body_text (const SkHttpResponse *resp)
{
  if (resp->body == NULL)
    return g_strdup ("");
  gsize len;
  const char *data = g_bytes_get_data (resp->body, &len);
  return g_strndup (data, len);
}

/* Printable, one line, at most 200 characters. */
static char *
sanitize (const char *s)
{
  g_autofree char *copy = g_utf8_make_valid (s, -1);
  for (char *c = copy; *c; c++)
    if ((guchar) *c < 0x20)
      *c = ' ';
  g_strstrip (copy);
  /* g_utf8_substring reads past the end when asked for more characters
   * than there are */
  return g_utf8_substring (copy, 0, MIN (g_utf8_strlen (copy, -1), 200));
}

gboolean
sk_s3_status_error (GError **error, SkS3Client *c, const char *method, const char *key, const SkHttpResponse *resp)
{
  g_autofree char *text = sk_s3_body_text (resp);
  g_autofree char *code = sk_s3_xml_text (text, "Code");
  g_autofree char *msg = sk_s3_xml_text (text, "Message");
  g_autofree char *where = sk_s3_describe (c, key);
  int ecode = sk_http_status_error_code (resp->status);
  g_autofree char *scode = code ? sanitize (code) : NULL;
  g_autofree char *smsg = msg ? sanitize (msg) : NULL;
  if (scode && (g_str_equal (scode, "NoSuchKey") || g_str_equal (scode, "NoSuchBucket")))
    ecode = SK_ERROR_NOT_FOUND;
  g_autofree char *hint = NULL;
  if (scode && g_str_equal (scode, "SignatureDoesNotMatch"))
    hint = g_strdup (" (check the secret key)");
  else if (scode && g_str_equal (scode, "RequestTimeTooSkewed"))
    hint = g_strdup (" (this machine's clock is off)");
  else if (scode && g_str_equal (scode, "NoSuchBucket"))
    hint = g_strdup_printf (" (bucket '%s' does not exist)", c->bucket);
  else if (scode && (g_str_equal (scode, "ExpiredToken") || g_str_equal (scode, "TokenRefreshRequired")))
    hint = g_strdup (" (the session token has expired: get new credentials)");
  else if (scode && g_str_equal (scode, "InvalidToken"))
    hint = g_strdup (" (the session token is not valid)");
  /* radosgw answers an expired token with a bare AccessDenied */
  else if (scode && g_str_equal (scode, "AccessDenied") && c->cfg->session_token)
    hint = g_strdup (" (the session token may have expired)");
  g_set_error (error, SK_ERROR, ecode, "%s %s: HTTP %ld %s%s%s%s", method, where, resp->status,
               scode ? scode : "(no S3 error code)", smsg && *smsg ? ": " : "", smsg && *smsg ? smsg : "", hint ? hint : "");
  return FALSE;
}

/* ---------------------------------------------------------------- requests */


static char *
request_url (SkS3Client *c, const SkS3Req *r)
{
  g_autofree char *url = sk_s3_object_url (c->cfg, c->bucket, r->key);
  return r->query && *r->query ? g_strdup_printf ("%s?%s", url, r->query) : g_steal_pointer (&url);
}

/* "host[:port]" as curl sends it. */
static char *
host_header (GUri *uri)
{
  int port = g_uri_get_port (uri);
  gboolean https = g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0;
  if (port < 0 || (https && port == 443) || (!https && port == 80))
    return g_strdup_printf ("Host: %s", g_uri_get_host (uri));
  return g_strdup_printf ("Host: %s:%d", g_uri_get_host (uri), port);
}

static const char *
payload_hash (const SkS3Req *r, char **owned)
{
  if (r->payload_hash)
    return r->payload_hash;
  if (r->body_len > 0 && r->body == NULL)
    return SK_SIGV4_UNSIGNED_PAYLOAD;
  gsize len = 0;
  const void *data = r->body ? g_bytes_get_data (r->body, &len) : "";
  return *owned = sk_sigv4_hex_sha256 (data, len);
}

/* The headers of @r, signed when there are credentials. */
static GPtrArray *
request_headers (SkS3Client *c, const SkS3Req *r, const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, error);
  if (uri == NULL)
    return NULL;
  GPtrArray *headers = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (headers, host_header (uri));
  for (const char *const *h = r->headers; h && *h; h++)
    g_ptr_array_add (headers, g_strdup (*h));
  if (c->cfg->access_key)
    {
      g_autofree char *owned = NULL;
      g_ptr_array_add (headers, NULL);
      SkSigV4Key key = { c->cfg->access_key, c->cfg->secret_key, c->cfg->session_token, c->cfg->region, "s3" };
      SkSigV4Request sreq = { .method = r->method, .path = g_uri_get_path (uri), .query = g_uri_get_query (uri),
                              .headers = (const char *const *) headers->pdata,
                              .payload_hash = payload_hash (r, &owned) };
      g_auto (GStrv) added = sk_sigv4_sign (&key, &sreq, TRUE, g_get_real_time () / G_USEC_PER_SEC);
      g_ptr_array_remove_index (headers, headers->len - 1);
      for (char **a = added; *a; a++)
        g_ptr_array_add (headers, g_strdup (*a));
    }
  g_ptr_array_add (headers, NULL);
  return headers;
}

SkHttpResponse *
sk_s3_send (SkS3Client *c, SkHttp *http, const SkS3Req *r, GError **error)
{
  g_autofree char *url = request_url (c, r);
  g_autoptr (GPtrArray) headers = request_headers (c, r, url, error);
  if (headers == NULL)
    return NULL;
  SkHttpRequest req = { .method = r->method, .url = url, .headers = (const char *const *) headers->pdata,
                        .body = r->body, .body_fd = r->body_fd, .body_offset = r->body_offset,
                        .body_len = r->body_len, .max_body = r->max_body, .no_retry = r->no_retry };
  g_autoptr (GError) local = NULL;
  SkHttpResponse *resp = sk_http_send (http, &req, &local);
  if (resp == NULL)
    {
      g_autofree char *where = sk_s3_describe (c, r->key);
      g_set_error (error, local->domain, local->code, "%s: %s", where, local->message);
    }
  return resp;
}

/* For a HEAD that failed: the same key with a GET of one byte, whose
 * answer carries S3's error code. */
static gboolean
head_error (SkS3Client *c, const char *key, const SkHttpResponse *head, GError **error)
{
  const char *range[] = { "Range: bytes=0-0", NULL };
  SkS3Req r = { .method = "GET", .key = key, .headers = range };
  g_autoptr (SkHttpResponse) resp = sk_s3_send (c, c->http, &r, NULL);
  return sk_s3_status_error (error, c, "HEAD", key, resp && resp->status >= 300 ? resp : head);
}

gboolean
sk_s3_head (SkS3Client *c, const char *key, gboolean *out_exists, guint64 *out_size, GError **error)
{
  SkS3Req r = { .method = "HEAD", .key = key };
  g_autoptr (SkHttpResponse) resp = sk_s3_send (c, c->http, &r, error);
  if (resp == NULL)
    return FALSE;
  if (resp->status == 404)
    {
      *out_exists = FALSE;
      return TRUE;
    }
  if (resp->status != 200)
    return head_error (c, key, resp, error);
  const char *cl = sk_http_response_header (resp, "content-length");
  *out_exists = TRUE;
  if (out_size)
    *out_size = cl ? g_ascii_strtoull (cl, NULL, 10) : 0;
  return TRUE;
}

GBytes *
sk_s3_get_bytes (SkS3Client *c, const char *key, gsize max_size, GError **error)
{
  SkS3Req r = { .method = "GET", .key = key, .max_body = max_size };
  g_autoptr (SkHttpResponse) resp = sk_s3_send (c, c->http, &r, error);
  if (resp == NULL)
    return NULL;
  if (resp->status != 200)
    return sk_s3_status_error (error, c, "GET", key, resp), NULL;
  return g_bytes_ref (resp->body);
}

GPtrArray *
sk_s3_list_keys (SkS3Client *c, const char *prefix, GError **error)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *enc_prefix = sk_sigv4_uri_encode (prefix, -1, FALSE);
  g_autofree char *token = NULL;
  for (guint page = 0; page < 10000; page++)
    {
      g_autofree char *enc_token = token ? sk_sigv4_uri_encode (token, -1, FALSE) : NULL;
      /* parameters in canonical (sorted) order */
      g_autofree char *query = g_strdup_printf ("%s%s%slist-type=2&prefix=%s", enc_token ? "continuation-token=" : "",
                                                enc_token ? enc_token : "", enc_token ? "&" : "", enc_prefix);
      SkS3Req r = { .method = "GET", .key = "", .query = query, .max_body = 4 << 20 };
      g_autoptr (SkHttpResponse) resp = sk_s3_send (c, c->http, &r, error);
      if (resp == NULL)
        return NULL;
      if (resp->status != 200)
        return sk_s3_status_error (error, c, "GET", prefix, resp), NULL;
      g_autofree char *text = sk_s3_body_text (resp);
      g_autoptr (GPtrArray) contents = sk_s3_xml_elements (text, "Contents");
      for (guint i = 0; i < contents->len; i++)
        {
          char *key = sk_s3_xml_text (contents->pdata[i], "Key");
          if (key)
            g_ptr_array_add (keys, key);
        }
      g_autofree char *truncated = sk_s3_xml_text (text, "IsTruncated");
      g_free (token);
      token = sk_s3_xml_text (text, "NextContinuationToken");
      if (g_strcmp0 (truncated, "true") != 0 || token == NULL)
        return g_steal_pointer (&keys);
    }
  return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "listing %s: too many pages", prefix), NULL;
}

gboolean
sk_s3_put_bytes (SkS3Client *c, const char *key, GBytes *bytes, const char *content_type, GError **error)
{
  g_autofree char *ct = g_strdup_printf ("Content-Type: %s", content_type ? content_type : "application/octet-stream");
  const char *headers[] = { ct, NULL };
  SkS3Req r = { .method = "PUT", .key = key, .headers = headers, .body = bytes };
  g_autoptr (SkHttpResponse) resp = sk_s3_send (c, c->http, &r, error);
  if (resp == NULL)
    return FALSE;
  if (resp->status != 200)
    return sk_s3_status_error (error, c, "PUT", key, resp);
  return TRUE;
}

gboolean
sk_s3_put_file (SkS3Client *c, const char *key, int fd, guint64 size, const char *sha256_hex,
                SkS3UploadStats *stats, GError **error)
{
  SkS3UploadStats local = { 0 };
  if (stats == NULL)
    stats = &local;
  if (size > SK_S3_MULTIPART_THRESHOLD)
    return sk_s3_multipart_upload (c, key, fd, size, stats, error);
  const char *headers[] = { "Content-Type: application/octet-stream", NULL };
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  SkS3Req r = { .method = "PUT", .key = key, .headers = headers, .body_fd = fd, .body_len = size,
              .payload_hash = sha256_hex, .body = size == 0 ? empty : NULL };
  g_autoptr (SkHttpResponse) resp = sk_s3_send (c, c->http, &r, error);
  if (resp == NULL)
    return FALSE;
  if (resp->status != 200)
    return sk_s3_status_error (error, c, "PUT", key, resp);
  return TRUE;
}

/* ---------------------------------------------------------------- downloads */

typedef struct {
  SkS3Client *client;
  const char *key;
  int fd;             /* the whole file, sized in advance */
  guint64 *offsets;
  guint64 *sizes;
  guint n_parts;
  gint next;
  GMutex lock;
  GError *error;
  guint64 total;
  SkHttpProgress progress;
  gpointer progress_data;
  gboolean *part_done; /* the hasher follows finished parts (under lock) */
  SkRecycler *recycler; /* the hasher reads the file back: may be NULL */
  guint workers;       /* still running (under lock) */
  GCond cond;          /* part_done or workers changed */
} Download;

/* One part, from scratch, into its range of the file. */
static gboolean
download_part (Download *d, SkHttp *http, guint i, GError **error)
{
  g_autofree char *range = g_strdup_printf ("Range: bytes=%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT,
                                            d->offsets[i], d->offsets[i] + d->sizes[i] - 1);
  const char *headers[] = { range, NULL };
  SkS3Req r = { .method = "GET", .key = d->key, .headers = headers };
  g_autofree char *url = request_url (d->client, &r);
  g_autoptr (GPtrArray) all = request_headers (d->client, &r, url, error);
  if (all == NULL)
    return FALSE;
  /* One try per call: a retry of a part restarts it (never a second Range). */
  SkHttpRequest req = { .method = "GET", .url = url, .headers = (const char *const *) all->pdata, .no_retry = TRUE };
  SkHttpDownloadOptions opts = { .alg = SK_DIGEST_SHA256, .max_size = d->sizes[i], .in_place = TRUE,
                                 .file_offset = d->offsets[i] };
  guint64 got = 0;
  g_autoptr (SkHttpResponse) resp = sk_http_download (http, &req, d->fd, &opts, NULL, &got, error);
  if (resp != NULL && resp->status == 206 && got == d->sizes[i])
    return TRUE;
  if (resp && resp->status >= 300)
    return sk_s3_status_error (error, d->client, "GET", d->key, resp);
  if (resp)
    return g_set_error (error, SK_ERROR, SK_ERROR_TRANSIENT, "GET %s: part %u: HTTP %ld with %" G_GUINT64_FORMAT
                        " of %" G_GUINT64_FORMAT " bytes", d->key, i + 1, resp->status, got, d->sizes[i]), FALSE;
  return FALSE;
}

static gboolean
download_part_with_retries (Download *d, SkHttp *http, guint i, GError **error)
{
  for (guint attempt = 1;; attempt++)
    {
      g_autoptr (GError) local = NULL;
      if (download_part (d, http, i, &local))
        return TRUE;
      gboolean transient = g_error_matches (local, SK_ERROR, SK_ERROR_TRANSIENT);
      if (!transient || attempt >= PART_TRIES)
        return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
      sk_debug ("%s; trying part %u again", local->message, i + 1);
      g_usleep ((gulong) sk_http_backoff_ms (attempt, -1) * 1000);
    }
}

static void
download_fail (Download *d, GError *local)
{
  g_mutex_lock (&d->lock);
  if (d->error == NULL)
    d->error = local;
  else
    g_error_free (local);
  g_mutex_unlock (&d->lock);
}

static void
download_take_parts (Download *d)
{
  g_autoptr (SkHttp) http = sk_http_new (d->client->tls_verify, NULL, NULL);
  if (http == NULL)
    return download_fail (d, g_error_new (SK_ERROR, SK_ERROR_FAILED, "curl_easy_init failed"));
  for (;;)
    {
      gint i = g_atomic_int_add (&d->next, 1);
      if (i >= (gint) d->n_parts)
        return;
      g_mutex_lock (&d->lock);
      gboolean failed = d->error != NULL;
      g_mutex_unlock (&d->lock);
      if (failed)
        return;
      GError *local = NULL;
      if (!download_part_with_retries (d, http, i, &local))
        return download_fail (d, local);
      g_mutex_lock (&d->lock);
      d->part_done[i] = TRUE;
      g_cond_broadcast (&d->cond);
      g_mutex_unlock (&d->lock);
    }
}

static gpointer
download_worker (gpointer data)
{
  Download *d = data;
  download_take_parts (d);
  g_mutex_lock (&d->lock);
  d->workers--;
  g_cond_broadcast (&d->cond);
  g_mutex_unlock (&d->lock);
  return NULL;
}

/* hash_following's loop; @reader is its slot in d->recycler. */
static char *
hash_parts (Download *d, SkHasher *h, guint8 *buf, gint reader, GError **error)
{
  for (guint i = 0; i < d->n_parts; i++)
    {
      g_mutex_lock (&d->lock);
      while (!d->part_done[i] && d->error == NULL && d->workers > 0)
        g_cond_wait (&d->cond, &d->lock);
      gboolean ready = d->part_done[i];
      g_mutex_unlock (&d->lock);
      if (!ready)
        return NULL;
      for (guint64 pos = 0; pos < d->sizes[i];)
        {
          gssize n = sk_hash_fd_range (h, d->fd, d->offsets[i] + pos, MIN ((guint64) COPY_CHUNK, d->sizes[i] - pos),
                                       buf);
          if (n <= 0)
            return sk_error_from_errno (error, n < 0 ? errno : EIO, "hashing the download"), NULL;
          pos += n;
        }
      if (d->recycler)
        sk_recycler_passed (d->recycler, reader, d->offsets[i] + d->sizes[i]);
      if (d->progress)
        d->progress (d->offsets[i] + d->sizes[i], d->total, d->progress_data);
    }
  return sk_hasher_finish (h);
}

/* Hashes the file part by part as the workers finish them, so hashing
 * overlaps the transfer; NULL when the download failed.  Progress reports
 * the hashed prefix: bytes before it are final (a follower may read them). */
static char *
hash_following (Download *d, GError **error)
{
  g_autoptr (SkHasher) h = sk_hasher_new (SK_DIGEST_SHA256);
  g_autofree guint8 *buf = g_malloc (COPY_CHUNK);
  gint reader = d->recycler ? sk_recycler_join (d->recycler) : -1;
  char *digest = hash_parts (d, h, buf, reader, error);
  if (d->recycler)
    sk_recycler_leave (d->recycler, reader);
  return digest;
}

static void
download_clear (Download *d)
{
  g_free (d->offsets);
  g_free (d->sizes);
  g_free (d->part_done);
  g_clear_error (&d->error);
  g_mutex_clear (&d->lock);
  g_cond_clear (&d->cond);
}

static gboolean
parallel_download (SkS3Client *c, const char *key, guint64 size, int fd, SkHttpProgress progress,
                   gpointer progress_data, SkRecycler *recycler, char **out_digest, GError **error)
{
  /* Sized first: parts land anywhere, and zero blocks stay holes. */
  /* (a new, empty file is not truncated: ext4 would write it all back
   * when it is closed) */
  struct stat st;
  if (fstat (fd, &st) < 0 || (st.st_size != 0 && ftruncate (fd, 0) < 0) || ftruncate (fd, size) < 0)
    return sk_error_from_errno (error, errno, "sizing the download");
  Download d = { .client = c, .key = key, .fd = fd, .total = size, .progress = progress,
                 .progress_data = progress_data, .recycler = recycler };
  g_mutex_init (&d.lock);
  g_cond_init (&d.cond);
  d.n_parts = (size + SK_S3_PART_SIZE - 1) / SK_S3_PART_SIZE;
  d.offsets = g_new0 (guint64, d.n_parts);
  d.sizes = g_new0 (guint64, d.n_parts);
  d.part_done = g_new0 (gboolean, d.n_parts);
  for (guint i = 0; i < d.n_parts; i++)
    {
      d.offsets[i] = (guint64) i * SK_S3_PART_SIZE;
      d.sizes[i] = MIN ((guint64) SK_S3_PART_SIZE, size - d.offsets[i]);
    }
  GThread *threads[SK_S3_GET_WORKERS];
  d.workers = MIN ((guint) SK_S3_GET_WORKERS, d.n_parts);
  guint n_threads = d.workers;
  for (guint i = 0; i < n_threads; i++)
    threads[i] = g_thread_new ("s3-get", download_worker, &d);
  g_autoptr (GError) hash_error = NULL;
  g_autofree char *digest = hash_following (&d, &hash_error);
  if (digest == NULL && hash_error)
    download_fail (&d, g_steal_pointer (&hash_error));
  for (guint i = 0; i < n_threads; i++)
    g_thread_join (threads[i]);
  if (d.error)
    {
      g_propagate_error (error, g_steal_pointer (&d.error));
      download_clear (&d);
      return FALSE;
    }
  download_clear (&d);
  *out_digest = g_steal_pointer (&digest);
  return TRUE;
}

gboolean
sk_s3_get_file (SkS3Client *c, const char *key, guint64 size, int fd, guint64 resume_from,
                SkHttpProgress progress, gpointer progress_data, SkRecycler *recycler, char **out_digest,
                GError **error)
{
  if (size > SK_S3_MULTIPART_THRESHOLD)
    return parallel_download (c, key, size, fd, progress, progress_data, recycler, out_digest, error);
  SkS3Req r = { .method = "GET", .key = key };
  g_autofree char *url = request_url (c, &r);
  g_autoptr (GPtrArray) headers = request_headers (c, &r, url, error);
  if (headers == NULL)
    return FALSE;
  SkHttpRequest req = { .method = "GET", .url = url, .headers = (const char *const *) headers->pdata };
  SkHttpDownloadOptions opts = { .alg = SK_DIGEST_SHA256, .resume_from = resume_from, .max_size = size,
                                 .progress = progress, .progress_data = progress_data, .recycler = recycler };
  g_autoptr (SkHttpResponse) resp = sk_http_download (c->http, &req, fd, &opts, out_digest, NULL, error);
  if (resp == NULL)
    {
      g_autofree char *where = sk_s3_describe (c, key);
      return g_prefix_error (error, "%s: ", where), FALSE;
    }
  if (resp->status != 200 && resp->status != 206)
    return sk_s3_status_error (error, c, "GET", key, resp);
  return TRUE;
}
