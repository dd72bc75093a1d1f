/* skiff — S3 multipart uploads: parallel parts, resumed from a pending
 * upload, aborted on failure. */
#include "registry/s3-private.h"
#include "registry/sigv4.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

#define COPY_CHUNK (4 << 20)
#define MAX_PARTS 10000

/* ---------------------------------------------------------------- multipart */

typedef struct {
  guint number;  /* 1-based */
  guint64 offset;
  guint64 size;
  char *etag;    /* as S3 gave it, quotes included */
} Part;

typedef struct {
  SkS3Client *client;
  const char *key;
  const char *upload_id;
  int fd;
  Part *parts;
  guint n_parts;
  gint next;          /* next part index to take (atomic) */
  GMutex lock;
  GError *error;      /* first failure */
} Upload;

static char *
md5_etag (int fd, guint64 offset, guint64 size)
{
  g_autoptr (EVP_MD_CTX) ctx = EVP_MD_CTX_new ();
  EVP_DigestInit_ex (ctx, EVP_md5 (), NULL);
  g_autofree guint8 *buf = g_malloc (COPY_CHUNK);
  for (guint64 pos = 0; pos < size;)
    {
      ssize_t n = pread (fd, buf, MIN ((guint64) COPY_CHUNK, size - pos), offset + pos);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return NULL;
      EVP_DigestUpdate (ctx, buf, n);
      pos += n;
    }
  guint8 md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex (ctx, md, &len);
  GString *out = g_string_new ("\"");
  for (unsigned int i = 0; i < len; i++)
    g_string_append_printf (out, "%02x", md[i]);
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

static gboolean
upload_part (Upload *u, SkHttp *http, Part *p, GError **error)
{
  g_autofree char *id = sk_sigv4_uri_encode (u->upload_id, -1, FALSE);
  g_autofree char *query = g_strdup_printf ("partNumber=%u&uploadId=%s", p->number, id);
  SkS3Req r = { .method = "PUT", .key = u->key, .query = query, .body_fd = u->fd, .body_offset = p->offset,
              .body_len = p->size };
  g_autoptr (SkHttpResponse) resp = sk_s3_send (u->client, http, &r, error);
  if (resp == NULL)
    return FALSE;
  if (resp->status != 200)
    return sk_s3_status_error (error, u->client, "PUT", u->key, resp), g_prefix_error (error, "part %u: ", p->number),
           FALSE;
  const char *etag = sk_http_response_header (resp, "etag");
  if (etag == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "part %u of %s: no ETag in the answer", p->number,
                        u->key), FALSE;
  p->etag = g_strdup (etag);
  return TRUE;
}

static gpointer
upload_worker (gpointer data)
{
  Upload *u = data;
  g_autoptr (SkHttp) http = sk_http_new (u->client->tls_verify, NULL, NULL);
  for (;;)
    {
      gint i = g_atomic_int_add (&u->next, 1);
      if (i >= (gint) u->n_parts || http == NULL)
        return NULL;
      g_mutex_lock (&u->lock);
      gboolean failed = u->error != NULL;
      g_mutex_unlock (&u->lock);
      if (failed)
        return NULL;
      Part *p = &u->parts[i];
      if (p->etag)
        continue;
      GError *local = NULL;
      if (!upload_part (u, http, p, &local))
        {
          g_mutex_lock (&u->lock);
          if (u->error == NULL)
            u->error = local;
          else
            g_error_free (local);
          g_mutex_unlock (&u->lock);
          return NULL;
        }
    }
}

static gboolean
run_workers (GThreadFunc fn, gpointer data, guint n_jobs)
{
  guint n = MIN ((guint) SK_S3_WORKERS, MAX (n_jobs, 1u));
  GThread *threads[SK_S3_WORKERS];
  for (guint i = 0; i < n; i++)
    threads[i] = g_thread_new ("s3-worker", fn, data);
  for (guint i = 0; i < n; i++)
    g_thread_join (threads[i]);
  return TRUE;
}

GPtrArray *
sk_s3_list_uploads (SkS3Client *c, const char *key, GError **error)
{
  g_autofree char *prefix = sk_sigv4_uri_encode (key, -1, FALSE);
  g_autofree char *query = g_strdup_printf ("prefix=%s&uploads=", prefix);
  SkS3Req r = { .method = "GET", .key = "", .query = query, .max_body = 4 << 20 };
  g_autoptr (SkHttpResponse) resp = sk_s3_send (c, c->http, &r, error);
  if (resp == NULL)
    return NULL;
  if (resp->status != 200)
    return sk_s3_status_error (error, c, "GET", "?uploads", resp), NULL;
  g_autofree char *text = sk_s3_body_text (resp);
  g_autoptr (GPtrArray) uploads = sk_s3_xml_elements (text, "Upload");
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < uploads->len; i++)
    {
      g_autofree char *k = sk_s3_xml_text (uploads->pdata[i], "Key");
      char *id = sk_s3_xml_text (uploads->pdata[i], "UploadId");
      if (g_strcmp0 (k, key) == 0 && id)
        g_ptr_array_add (ids, id);
      else
        g_free (id);
    }
  return ids;
}

/* Marks the parts of @u that the pending upload already has (same size
 * and MD5); returns how many. */
static guint
reuse_parts (Upload *u, SkS3UploadStats *stats, GError **error)
{
  g_autofree char *id = sk_sigv4_uri_encode (u->upload_id, -1, FALSE);
  g_autofree char *query = g_strdup_printf ("max-parts=%u&uploadId=%s", MAX_PARTS, id);
  SkS3Req r = { .method = "GET", .key = u->key, .query = query, .max_body = 8 << 20 };
  g_autoptr (SkHttpResponse) resp = sk_s3_send (u->client, u->client->http, &r, error);
  if (resp == NULL || resp->status != 200)
    return 0;
  g_autofree char *text = sk_s3_body_text (resp);
  g_autoptr (GPtrArray) listed = sk_s3_xml_elements (text, "Part");
  guint reused = 0;
  for (guint i = 0; i < listed->len; i++)
    {
      g_autofree char *num = sk_s3_xml_text (listed->pdata[i], "PartNumber");
      g_autofree char *etag = sk_s3_xml_text (listed->pdata[i], "ETag");
      g_autofree char *size = sk_s3_xml_text (listed->pdata[i], "Size");
      guint64 n = num ? g_ascii_strtoull (num, NULL, 10) : 0;
      if (n < 1 || n > u->n_parts || etag == NULL || size == NULL)
        continue;
      Part *p = &u->parts[n - 1];
      if (g_ascii_strtoull (size, NULL, 10) != p->size)
        continue;
      g_autofree char *want = md5_etag (u->fd, p->offset, p->size);
      if (want == NULL || g_ascii_strcasecmp (want, etag) != 0)
        continue;
      p->etag = g_strdup (etag);
      reused++;
      stats->bytes_resumed += p->size;
    }
  return reused;
}

static char *
start_upload (SkS3Client *c, const char *key, GError **error)
{
  const char *headers[] = { "Content-Type: application/octet-stream", NULL };
  SkS3Req r = { .method = "POST", .key = key, .query = "uploads=", .headers = headers };
  g_autoptr (SkHttpResponse) resp = sk_s3_send (c, c->http, &r, error);
  if (resp == NULL)
    return NULL;
  if (resp->status != 200)
    return sk_s3_status_error (error, c, "POST", key, resp), NULL;
  g_autofree char *text = sk_s3_body_text (resp);
  char *id = sk_s3_xml_text (text, "UploadId");
  if (id == NULL || *id == '\0')
    return g_free (id), g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                                     "POST %s?uploads: no UploadId in the answer", key), NULL;
  return id;
}

static void
abort_upload (SkS3Client *c, const char *key, const char *upload_id)
{
  g_autofree char *id = sk_sigv4_uri_encode (upload_id, -1, FALSE);
  g_autofree char *query = g_strdup_printf ("uploadId=%s", id);
  SkS3Req r = { .method = "DELETE", .key = key, .query = query };
  g_autoptr (GError) local = NULL;
  g_autoptr (SkHttpResponse) resp = sk_s3_send (c, c->http, &r, &local);
  if (resp == NULL || resp->status != 204)
    sk_warn ("could not abort the multipart upload of s3://%s/%s: %s", c->bucket, key,
             local ? local->message : "unexpected answer");
}

static gboolean
complete_upload (Upload *u, GError **error)
{
  GString *xml = g_string_new ("<CompleteMultipartUpload>");
  for (guint i = 0; i < u->n_parts; i++)
    g_string_append_printf (xml, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", u->parts[i].number,
                            u->parts[i].etag);
  g_string_append (xml, "</CompleteMultipartUpload>");
  g_autoptr (GBytes) body = g_string_free_to_bytes (xml);
  g_autofree char *id = sk_sigv4_uri_encode (u->upload_id, -1, FALSE);
  g_autofree char *query = g_strdup_printf ("uploadId=%s", id);
  const char *headers[] = { "Content-Type: application/xml", NULL };
  SkS3Req r = { .method = "POST", .key = u->key, .query = query, .headers = headers, .body = body };
  g_autoptr (SkHttpResponse) resp = sk_s3_send (u->client, u->client->http, &r, error);
  if (resp == NULL)
    return FALSE;
  g_autofree char *text = sk_s3_body_text (resp);
  /* S3 may answer 200 and put the failure in the body. */
  if (resp->status != 200 || strstr (text, "<Error>") != NULL)
    return sk_s3_status_error (error, u->client, "POST", u->key, resp);
  return TRUE;
}

static void
plan_parts (Upload *u, guint64 size)
{
  guint64 part = MAX ((guint64) SK_S3_PART_SIZE, (size + MAX_PARTS - 1) / MAX_PARTS);
  u->n_parts = (size + part - 1) / part;
  u->parts = g_new0 (Part, u->n_parts);
  for (guint i = 0; i < u->n_parts; i++)
    {
      u->parts[i].number = i + 1;
      u->parts[i].offset = (guint64) i * part;
      u->parts[i].size = MIN (part, size - u->parts[i].offset);
    }
}

static void
upload_clear (Upload *u)
{
  for (guint i = 0; i < u->n_parts; i++)
    g_free (u->parts[i].etag);
  g_free (u->parts);
  g_clear_error (&u->error);
  g_mutex_clear (&u->lock);
}

gboolean
sk_s3_multipart_upload (SkS3Client *c, const char *key, int fd, guint64 size, SkS3UploadStats *stats, GError **error)
{
  Upload u = { .client = c, .key = key, .fd = fd };
  g_mutex_init (&u.lock);
  plan_parts (&u, size);
  stats->parts = u.n_parts;
  g_autoptr (GError) list_error = NULL;
  g_autoptr (GPtrArray) pending = sk_s3_list_uploads (c, key, &list_error);
  if (pending == NULL)
    sk_debug ("listing pending uploads of '%s': %s", key, list_error->message);
  g_autofree char *upload_id = NULL;
  if (pending && pending->len > 0)
    {
      upload_id = g_strdup (pending->pdata[pending->len - 1]);
      u.upload_id = upload_id;
      stats->parts_resumed = reuse_parts (&u, stats, NULL);
      sk_debug ("resuming upload %s of '%s': %u of %u parts there", upload_id, key, stats->parts_resumed, u.n_parts);
    }
  else
    {
      upload_id = start_upload (c, key, error);
      if (upload_id == NULL)
        return upload_clear (&u), FALSE;
      u.upload_id = upload_id;
    }
  run_workers (upload_worker, &u, u.n_parts);
  if (u.error == NULL && complete_upload (&u, error))
    return upload_clear (&u), TRUE;
  if (u.error)
    g_propagate_error (error, g_steal_pointer (&u.error));
  abort_upload (c, key, upload_id);
  upload_clear (&u);
  return FALSE;
}

