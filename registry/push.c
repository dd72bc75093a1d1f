/* skiff — pushing a stored image to a registry: HEAD, POST, streamed PUT,
 * then the manifest. */
#include "registry/push.h"
#include "registry/client.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "oci/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  SkStore *store;
  SkRegistryClient *client;
  const char *repo;
  const char *base;
  GPtrArray *blobs; /* SkStoreBlob of the image */
  GBytes *config;
  const SkPushOptions *opts;
  SkPushStats *stats;
} Push;

static void
emit (const Push *p, SkPushEventKind kind, const char *digest, guint64 total)
{
  if (p->opts->progress == NULL)
    return;
  SkPushEvent ev = { .kind = kind, .digest = digest, .total = total };
  p->opts->progress (&ev, p->opts->progress_data);
}

const SkStoreBlob *
sk_push_find_stored (GPtrArray *blobs, const char *digest)
{
  const char *hex = strchr (digest, ':') + 1;
  for (guint i = 0; i < blobs->len; i++)
    {
      const SkStoreBlob *b = blobs->pdata[i];
      g_autofree char *name = g_path_get_basename (b->tree_path);
      char *dot = strchr (name, '.');
      if (dot)
        *dot = '\0';
      if (g_str_equal (name, hex))
        return b;
    }
  return NULL;
}

static gboolean
blob_exists (Push *p, const char *digest, gboolean *out_exists, GError **error)
{
  g_autofree char *url = sk_registry_url (p->base, p->repo, "blobs", digest);
  SkHttpRequest req = { .method = "HEAD", .url = url };
  g_autoptr (SkHttpResponse) resp = sk_registry_send (p->client, &req, p->repo, SK_AUTH_PULL | SK_AUTH_PUSH, error);
  if (resp == NULL)
    return FALSE;
  if (resp->status != 200 && resp->status != 404)
    return sk_http_set_status_error (error, "HEAD", url, resp);
  *out_exists = resp->status == 200;
  return TRUE;
}

/* Opens an upload session; returns its absolute Location. */
static char *
start_upload (Push *p, GError **error)
{
  g_autofree char *url = g_strdup_printf ("%s/v2/%s/blobs/uploads/", p->base, p->repo);
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  const char *headers[] = { "Content-Length: 0", NULL };
  SkHttpRequest req = { .method = "POST", .url = url, .headers = headers };
  g_autoptr (SkHttpResponse) resp = sk_registry_send (p->client, &req, p->repo, SK_AUTH_PULL | SK_AUTH_PUSH, error);
  if (resp == NULL)
    return NULL;
  if (resp->status != 202)
    return sk_http_set_status_error (error, "POST", url, resp), NULL;
  const char *location = sk_http_response_header (resp, "location");
  char *abs = location ? sk_http_resolve_url (url, location) : NULL;
  if (abs == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "POST %s: no usable Location in the answer", url),
           NULL;
  return abs;
}

/* "LOCATION?digest=D" or "LOCATION&digest=D". */
static char *
with_digest (const char *location, const char *digest)
{
  return g_strdup_printf ("%s%cdigest=%s", location, strchr (location, '?') ? '&' : '?', digest);
}

/* One upload: a session, then a single PUT ?digest= with the whole body
 * (@bytes, or @size bytes streamed from @fd). */
static gboolean
upload (Push *p, const char *digest, GBytes *bytes, int fd, guint64 size, GError **error)
{
  g_autofree char *location = start_upload (p, error);
  if (location == NULL)
    return FALSE;
  g_autofree char *url = with_digest (location, digest);
  const char *headers[] = { "Content-Type: application/octet-stream", NULL };
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  SkHttpRequest req = { .method = "PUT", .url = url, .headers = headers, .no_retry = TRUE };
  if (bytes || size == 0)
    req.body = bytes ? bytes : empty;
  else
    {
      req.body_fd = fd;
      req.body_len = size;
    }
  g_autoptr (SkHttpResponse) resp = sk_registry_send (p->client, &req, p->repo, SK_AUTH_PULL | SK_AUTH_PUSH, error);
  if (resp == NULL)
    return FALSE;
  if (resp->status != 201)
    return sk_http_set_status_error (error, "PUT", location, resp);
  return TRUE;
}

static gboolean
upload_stored (Push *p, const SkDescriptor *desc, GError **error)
{
  const SkStoreBlob *blob = sk_push_find_stored (p->blobs, desc->digest);
  if (blob == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_UNSUPPORTED,
                        "blob '%s' (%s) is not stored as is: pushing compressed layers is not supported yet",
                        desc->digest, desc->media_type), FALSE;
  g_autofree char *path = sk_store_blob_path (p->store, blob);
  sk_autofd int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", path), FALSE;
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sk_error_from_errno (error, errno, "reading '%s'", path), FALSE;
  if ((guint64) st.st_size != (guint64) desc->size)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "'%s' has %" G_GINT64_FORMAT
                        " bytes, the manifest says %" G_GINT64_FORMAT, path, (gint64) st.st_size, desc->size), FALSE;
  return upload (p, desc->digest, NULL, fd, st.st_size, error);
}

/* Uploads one blob unless the registry has it. */
static gboolean
push_blob (Push *p, const SkDescriptor *desc, gboolean is_config, GError **error)
{
  gboolean exists = FALSE;
  if (!blob_exists (p, desc->digest, &exists, error))
    return g_prefix_error (error, "blob '%s': ", desc->digest), FALSE;
  if (exists)
    {
      p->stats->skipped++;
      p->stats->skipped_bytes += desc->size;
      emit (p, SK_PUSH_EVENT_BLOB_SKIP, desc->digest, desc->size);
      return TRUE;
    }
  emit (p, SK_PUSH_EVENT_BLOB_START, desc->digest, desc->size);
  gboolean ok = is_config ? upload (p, desc->digest, p->config, -1, 0, error) : upload_stored (p, desc, error);
  if (!ok)
    return g_prefix_error (error, "blob '%s': ", desc->digest), FALSE;
  p->stats->uploaded++;
  p->stats->uploaded_bytes += desc->size;
  emit (p, SK_PUSH_EVENT_BLOB_DONE, desc->digest, desc->size);
  return TRUE;
}

static gboolean
put_manifest (Push *p, const SkManifest *m, const char *ref, const char *digest, GError **error)
{
  g_autofree char *url = sk_registry_url (p->base, p->repo, "manifests", ref);
  const char *type = m->media_type ? m->media_type : SK_MEDIA_TYPE_OCI_MANIFEST;
  g_autofree char *ct = g_strdup_printf ("Content-Type: %s", type);
  const char *headers[] = { ct, NULL };
  SkHttpRequest req = { .method = "PUT", .url = url, .headers = headers, .body = m->raw };
  g_autoptr (SkHttpResponse) resp = sk_registry_send (p->client, &req, p->repo, SK_AUTH_PULL | SK_AUTH_PUSH, error);
  if (resp == NULL)
    return FALSE;
  if (resp->status != 201)
    return sk_http_set_status_error (error, "PUT", url, resp);
  const char *got = sk_http_response_header (resp, "docker-content-digest");
  if (got && !g_str_equal (got, digest))
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                        "the registry stored the manifest as '%s', not '%s'", got, digest), FALSE;
  return TRUE;
}

gboolean
sk_registry_push (SkStore *store, SkStoreImage *img, const SkReference *dest, const SkPushOptions *opts,
                  char **out_digest, SkPushStats *stats, GError **error)
{
  SkPushStats local_stats = { 0 };
  g_autoptr (SkManifest) m = sk_manifest_parse (img->manifest, NULL, error);
  if (m == NULL)
    return FALSE;
  g_autoptr (GPtrArray) blobs = sk_store_image_blobs (store, img, error);
  if (blobs == NULL)
    return FALSE;
  SkRegistryOptions ropts = { .tls_verify = opts->tls_verify, .cert_dir = opts->cert_dir,
                              .authfile = opts->authfile };
  g_autoptr (SkRegistryClient) client = sk_registry_client_new (dest->domain, &ropts, error);
  if (client == NULL)
    return FALSE;
  Push p = { .store = store, .client = client, .repo = dest->path, .blobs = blobs, .config = img->config,
             .opts = opts, .stats = stats ? stats : &local_stats };
  p.base = sk_registry_client_base (client, error);
  if (p.base == NULL)
    return FALSE;
  for (guint i = 0; i < m->layers->len; i++)
    if (!push_blob (&p, m->layers->pdata[i], FALSE, error))
      return FALSE;
  if (!push_blob (&p, m->config, TRUE, error))
    return FALSE;
  emit (&p, SK_PUSH_EVENT_MANIFEST, img->digest, g_bytes_get_size (m->raw));
  const char *ref = dest->tag ? dest->tag : img->digest;
  if (!put_manifest (&p, m, ref, img->digest, error))
    return g_prefix_error (error, "manifest: "), FALSE;
  *out_digest = g_strdup (img->digest);
  return TRUE;
}
