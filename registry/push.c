/* skiff — pushing a stored image to a registry: HEAD, POST, streamed PUT
 * or PATCHes, then the manifest. */
#include "registry/push.h"
#include "registry/blob-cache.h"
#include "registry/client.h"
#include "registry/push-layers.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "oci/manifest.h"
#include "oci/mediatypes.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  SkStore *store;
  SkStoreImage *img;
  const SkReference *dest;
  SkRegistryClient *client;
  const char *domain;
  const char *repo;
  const char *base;
  GPtrArray *blobs; /* SkStoreBlob of the image */
  GHashTable *files; /* sk_registry_push_files: digest -> file, else NULL */
  GBytes *config;
  const SkPushOptions *opts;
  guint64 chunk_size;
  SkPushStats *stats;
  char *session;        /* an upload session a 202 mount answer opened */
  char *session_digest; /* for this blob */
} Push;

static void
push_clear (Push *p)
{
  g_clear_pointer (&p->session, g_free);
  g_clear_pointer (&p->session_digest, g_free);
}

/* Layers may go up from several threads (sk_push_layers): progress and
 * counts are reported under this lock. */
G_LOCK_DEFINE_STATIC (report);

static void
emit_from (const Push *p, SkPushEventKind kind, const char *digest, guint64 total, const char *from)
{
  if (p->opts->progress == NULL)
    return;
  SkPushEvent ev = { .kind = kind, .digest = digest, .total = total, .from = from };
  G_LOCK (report);
  p->opts->progress (&ev, p->opts->progress_data);
  G_UNLOCK (report);
}

static void
emit (const Push *p, SkPushEventKind kind, const char *digest, guint64 total)
{
  emit_from (p, kind, digest, total, NULL);
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

/* A client for @dest's registry with @opts' TLS and credential settings. */
static SkRegistryClient *
open_client (const SkReference *dest, const SkPushOptions *opts, GError **error)
{
  SkRegistryOptions ropts = { .tls_verify = opts->tls_verify, .cert_dir = opts->cert_dir,
                              .authfile = opts->authfile };
  return sk_registry_client_new (dest->domain, &ropts, error);
}

/* ---------------------------------------------------------------- pure helpers */

char *
sk_push_location (const char *request_url, const char *location, GError **error)
{
  if (location == NULL || *location == '\0')
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "the answer has no Location"), NULL;
  char *abs = sk_http_resolve_url (request_url, location);
  if (abs == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "unusable Location '%s'", location), NULL;
  return abs;
}

char *
sk_push_with_digest (const char *location, const char *digest)
{
  const char *hash = strchr (location, '#');
  gsize len = hash ? (gsize) (hash - location) : strlen (location);
  return g_strdup_printf ("%.*s%cdigest=%s", (int) len, location, memchr (location, '?', len) ? '&' : '?', digest);
}

gboolean
sk_push_is_chunked (guint64 size, guint64 chunk_size)
{
  return chunk_size > 0 && size > chunk_size;
}

guint64
sk_push_chunk_len (guint64 size, guint64 chunk_size, guint64 offset)
{
  if (offset >= size)
    return 0;
  return chunk_size > 0 ? MIN (chunk_size, size - offset) : size - offset;
}

char *
sk_push_content_range (guint64 offset, guint64 len)
{
  g_return_val_if_fail (len > 0, NULL);
  return g_strdup_printf ("%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, offset, offset + len - 1);
}

gboolean
sk_push_check_range (const char *value, guint64 received, GError **error)
{
  if (value == NULL)
    return TRUE;
  const char *p = g_str_has_prefix (value, "bytes=") ? value + 6 : value;
  char *end = NULL;
  guint64 first = g_ascii_strtoull (p, &end, 10);
  guint64 last = 0;
  gboolean ok = end != p && *end == '-' && g_ascii_isdigit (end[1]);
  if (ok)
    {
      const char *q = end + 1;
      last = g_ascii_strtoull (q, &end, 10);
      ok = *end == '\0' && first == 0 && last >= first;
    }
  if (!ok)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "unusable Range '%s' in the answer", value), FALSE;
  if (last + 1 != received)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                        "the registry holds %" G_GUINT64_FORMAT " bytes of the upload, %" G_GUINT64_FORMAT " were sent",
                        last + 1, received), FALSE;
  return TRUE;
}

/* ---------------------------------------------------------------- uploads */

/* An upload URL for messages: without its query (the registry's opaque
 * state, often hundreds of characters). */
static char *
shown_url (const char *url)
{
  return g_strndup (url, strcspn (url, "?#"));
}

/* Opens an upload session; returns its absolute Location. */
static char *
start_upload (Push *p, GError **error)
{
  g_autofree char *url = g_strdup_printf ("%s/v2/%s/blobs/uploads/", p->base, p->repo);
  const char *headers[] = { "Content-Length: 0", NULL };
  SkHttpRequest req = { .method = "POST", .url = url, .headers = headers };
  g_autoptr (SkHttpResponse) resp = sk_registry_send (p->client, &req, p->repo, SK_AUTH_PULL | SK_AUTH_PUSH, error);
  if (resp == NULL)
    return NULL;
  if (resp->status != 202)
    return sk_http_set_status_error (error, "POST", url, resp), NULL;
  char *location = sk_push_location (url, sk_http_response_header (resp, "location"), error);
  if (location == NULL)
    return g_prefix_error (error, "POST %s: ", url), NULL;
  return location;
}

/* Where a blob's bytes come from: @bytes, or @size bytes of @fd. */
typedef struct {
  GBytes *bytes;
  int fd;
  guint64 size;
} Body;

/* PATCHes @len bytes at @offset to *@location and moves *@location on
 * to the newest Location the registry answers. */
static gboolean
patch_chunk (Push *p, char **location, const Body *body, guint64 offset, guint64 len, GError **error)
{
  g_autofree char *range = sk_push_content_range (offset, len);
  g_autofree char *content_range = g_strconcat ("Content-Range: ", range, NULL);
  const char *headers[] = { "Content-Type: application/octet-stream", content_range, NULL };
  g_autofree char *url = g_strdup (*location);
  SkHttpRequest req = { .method = "PATCH", .url = url, .headers = headers, .body_fd = body->fd,
                        .body_offset = offset, .body_len = len, .no_retry = TRUE };
  sk_debug ("PATCH %s (bytes %s of %" G_GUINT64_FORMAT ")", url, range, body->size);
  g_autoptr (SkHttpResponse) resp = sk_registry_send (p->client, &req, p->repo, SK_AUTH_PULL | SK_AUTH_PUSH, error);
  if (resp == NULL)
    return FALSE;
  g_autofree char *shown = shown_url (url);
  if (resp->status != 202)
    return sk_http_set_status_error (error, "PATCH", shown, resp);
  char *next = NULL;
  if (!sk_push_check_range (sk_http_response_header (resp, "range"), offset + len, error)
      || (next = sk_push_location (url, sk_http_response_header (resp, "location"), error)) == NULL)
    return g_prefix_error (error, "PATCH %s: ", shown), FALSE;
  g_free (*location);
  *location = next;
  return TRUE;
}

/* The closing PUT ?digest= at @location, carrying the whole blob when
 * @whole (else no body: the chunks are there). */
static gboolean
finish_upload (Push *p, const char *location, const char *digest, const Body *body, gboolean whole, GError **error)
{
  g_autofree char *url = sk_push_with_digest (location, digest);
  const char *headers[] = { "Content-Type: application/octet-stream", NULL };
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  SkHttpRequest req = { .method = "PUT", .url = url, .headers = headers, .no_retry = TRUE };
  if (!whole || body->size == 0)
    req.body = empty;
  else if (body->bytes)
    req.body = body->bytes;
  else
    {
      req.body_fd = body->fd;
      req.body_len = body->size;
    }
  g_autoptr (SkHttpResponse) resp = sk_registry_send (p->client, &req, p->repo, SK_AUTH_PULL | SK_AUTH_PUSH, error);
  if (resp == NULL)
    return FALSE;
  g_autofree char *shown = shown_url (url);
  if (resp->status != 201)
    return sk_http_set_status_error (error, "PUT", shown, resp);
  const char *got = sk_http_response_header (resp, "docker-content-digest");
  if (got && !g_str_equal (got, digest))
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH, "PUT %s: the registry stored the blob as '%s'",
                        shown, got), FALSE;
  return TRUE;
}

/* Best effort: tell the registry to drop a failed upload session. */
static void
cancel_upload (Push *p, const char *location)
{
  SkHttpRequest req = { .method = "DELETE", .url = location, .no_retry = TRUE };
  g_autoptr (GError) local = NULL;
  g_autoptr (SkHttpResponse) resp = sk_registry_send (p->client, &req, p->repo, SK_AUTH_PULL | SK_AUTH_PUSH, &local);
  sk_debug ("cancelling upload %s: %s", location,
            resp ? "done" : local ? local->message : "failed");
}

/* One upload: a session, then either a single PUT ?digest= with the
 * whole body, or PATCHes of chunk_size bytes (each to the newest
 * Location) and an empty PUT ?digest=. */
static gboolean
upload (Push *p, const char *digest, const Body *body, const char *session, GError **error)
{
  g_autofree char *location = session ? g_strdup (session) : start_upload (p, error);
  if (location == NULL)
    return FALSE;
  gboolean chunked = body->bytes == NULL && sk_push_is_chunked (body->size, p->chunk_size);
  gboolean ok = TRUE;
  for (guint64 off = 0, len; ok && chunked && (len = sk_push_chunk_len (body->size, p->chunk_size, off)) > 0;
       off += len)
    ok = patch_chunk (p, &location, body, off, len, error);
  ok = ok && finish_upload (p, location, digest, body, !chunked, error);
  if (!ok)
    cancel_upload (p, location);
  return ok;
}

/* The file holding blob @desc (sk_registry_push_files). */
static char *
blob_file (Push *p, const SkDescriptor *desc, GError **error)
{
  const char *path = p->files ? g_hash_table_lookup (p->files, desc->digest) : NULL;
  if (path == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "blob '%s' has no file", desc->digest), NULL;
  return g_strdup (path);
}

/* ---------------------------------------------------------------- mounts */

/* The repository of the registry to mount @digest from: where skiff last
 * pushed it, else where the image came from (its tags); NULL when none
 * other than the destination is known. */
static char *
mount_source (Push *p, const char *digest)
{
  if (p->store == NULL) /* sk_registry_push_files: no history to go by */
    return NULL;
  g_auto (GStrv) known = sk_blob_cache_locations (p->store, digest, p->domain);
  for (guint i = 0; known[i]; i++)
    if (!g_str_equal (known[i], p->repo))
      return g_strdup (known[i]);
  for (guint i = 0; p->img->tags && i < p->img->tags->len; i++)
    {
      g_autoptr (SkReference) ref = sk_reference_parse (p->img->tags->pdata[i], NULL);
      if (ref && ref->kind == SK_REFERENCE_REGISTRY && g_str_equal (ref->domain, p->domain)
          && !g_str_equal (ref->path, p->repo))
        return g_strdup (ref->path);
    }
  return NULL;
}

/* POST ?mount=&from=: *@out_mounted when the registry linked the blob
 * (201); *@out_session when it opened an upload session instead (202).
 * Neither when it refused: the caller uploads as usual. */
static gboolean
try_mount (Push *p, const char *digest, const char *from, gboolean *out_mounted, char **out_session, GError **error)
{
  g_autofree char *url = g_strdup_printf ("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", p->base, p->repo, digest,
                                          from);
  const char *headers[] = { "Content-Length: 0", NULL };
  SkHttpRequest req = { .method = "POST", .url = url, .headers = headers };
  g_autoptr (GError) local = NULL;
  g_autoptr (SkHttpResponse) resp = sk_registry_send_mount (p->client, &req, p->repo, from, &local);
  if (resp == NULL && g_error_matches (local, SK_ERROR, SK_ERROR_UNAUTHORIZED))
    return sk_debug ("mounting %s from %s: %s; uploading", digest, from, local->message), TRUE;
  if (resp == NULL)
    return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
  sk_debug ("POST %s -> %ld", url, resp->status);
  if (resp->status == 201)
    {
      const char *got = sk_http_response_header (resp, "docker-content-digest");
      if (got && !g_str_equal (got, digest))
        return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                            "POST %s: the registry mounted '%s' instead", url, got), FALSE;
      *out_mounted = TRUE;
    }
  else if (resp->status == 202)
    {
      *out_session = sk_push_location (url, sk_http_response_header (resp, "location"), error);
      if (*out_session == NULL)
        return g_prefix_error (error, "POST %s: ", url), FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------- blobs */

static void
count (Push *p, guint *n, guint64 *bytes, guint64 size)
{
  G_LOCK (report);
  (*n)++;
  *bytes += size;
  G_UNLOCK (report);
}

/* *@out_present when the registry has @desc (HEAD) or mounted it from
 * another repository of the registry that skiff knows; a 202 answer to
 * the mount leaves its session in p->session for the upload. */
static gboolean
blob_present (Push *p, const SkDescriptor *desc, gboolean *out_present, GError **error)
{
  gboolean exists = FALSE;
  *out_present = FALSE;
  g_clear_pointer (&p->session, g_free);
  g_clear_pointer (&p->session_digest, g_free);
  if (!blob_exists (p, desc->digest, &exists, error))
    return g_prefix_error (error, "blob '%s': ", desc->digest), FALSE;
  if (exists)
    {
      count (p, &p->stats->skipped, &p->stats->skipped_bytes, desc->size);
      emit (p, SK_PUSH_EVENT_BLOB_SKIP, desc->digest, desc->size);
      return *out_present = TRUE;
    }
  g_autofree char *from = mount_source (p, desc->digest);
  gboolean mounted = FALSE;
  if (from && !try_mount (p, desc->digest, from, &mounted, &p->session, error))
    return g_prefix_error (error, "blob '%s': ", desc->digest), FALSE;
  if (p->session)
    p->session_digest = g_strdup (desc->digest);
  if (mounted)
    {
      count (p, &p->stats->mounted, &p->stats->mounted_bytes, desc->size);
      emit_from (p, SK_PUSH_EVENT_BLOB_MOUNTED, desc->digest, desc->size, from);
      *out_present = TRUE;
    }
  return TRUE;
}

/* Uploads @body as @desc, in the session a mount opened for it if any. */
static gboolean
upload_blob (Push *p, const SkDescriptor *desc, const Body *body, GError **error)
{
  const char *session = g_strcmp0 (p->session_digest, desc->digest) == 0 ? p->session : NULL;
  emit (p, SK_PUSH_EVENT_BLOB_START, desc->digest, desc->size);
  gboolean ok = upload (p, desc->digest, body, session, error);
  g_clear_pointer (&p->session, g_free);
  g_clear_pointer (&p->session_digest, g_free);
  if (!ok)
    return g_prefix_error (error, "blob '%s': ", desc->digest), FALSE;
  count (p, &p->stats->uploaded, &p->stats->uploaded_bytes, desc->size);
  emit (p, SK_PUSH_EVENT_BLOB_DONE, desc->digest, desc->size);
  return TRUE;
}

/* Uploads one blob (the config from memory, else a file) unless the
 * registry has it or can mount it. */
static gboolean
push_blob (Push *p, const SkDescriptor *desc, gboolean is_config, GError **error)
{
  gboolean present = FALSE;
  if (!blob_present (p, desc, &present, error))
    return FALSE;
  if (present)
    return TRUE;
  if (is_config && p->config)
    {
      Body config = { .bytes = p->config, .fd = -1, .size = g_bytes_get_size (p->config) };
      return upload_blob (p, desc, &config, error);
    }
  g_autofree char *path = blob_file (p, desc, error);
  if (path == NULL)
    return g_prefix_error (error, "blob '%s': ", desc->digest), FALSE;
  sk_autofd int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", path), FALSE;
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sk_error_from_errno (error, errno, "reading '%s'", path), FALSE;
  if ((guint64) st.st_size != (guint64) desc->size)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "'%s' has %" G_GINT64_FORMAT
                        " bytes, the manifest says %" G_GINT64_FORMAT, path, (gint64) st.st_size, desc->size), FALSE;
  Body body = { .fd = fd, .size = st.st_size };
  return upload_blob (p, desc, &body, error);
}

/* SkPushTarget for sk_push_layers. */
static gboolean
target_present (gpointer data, const SkDescriptor *desc, gboolean *out_present, GError **error)
{
  return blob_present (data, desc, out_present, error);
}

static gboolean
target_upload (gpointer data, const SkDescriptor *desc, int fd, GError **error)
{
  Body body = { .fd = fd, .size = desc->size };
  return upload_blob (data, desc, &body, error);
}

/* A layer uploaded as it is compressed: a PATCH for each chunk as soon as
 * it is there; once the compression is complete (the digest known), a
 * HEAD (the registry may have those bytes: then the session is dropped),
 * the rest, and the PUT ?digest=. */
static gboolean
target_upload_growing (gpointer data, SkDescriptor *desc, int fd, SkGrowing *g, gboolean *out_started,
                       gboolean *out_present, GError **error)
{
  Push *p = data;
  guint64 chunk = p->chunk_size;
  gboolean complete = FALSE;
  gint64 have = sk_growing_wait (g, chunk, &complete);
  *out_started = *out_present = FALSE;
  if (have < 0)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "the compression failed"), FALSE;
  if (complete)
    return TRUE; /* small enough for the usual way */
  *out_started = TRUE;
  g_autofree char *location = start_upload (p, error);
  if (location == NULL)
    return FALSE;
  Body body = { .fd = fd };
  guint64 off = 0;
  gboolean ok = TRUE;
  while (ok)
    {
      have = sk_growing_wait (g, off + chunk, &complete);
      if (have < 0)
        ok = (g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "the compression failed"), FALSE);
      else if (complete)
        break;
      else
        {
          body.size = (guint64) have;
          ok = patch_chunk (p, &location, &body, off, chunk, error);
          off += chunk;
        }
    }
  if (ok)
    {
      g_free (desc->digest);
      desc->digest = g_strdup (sk_growing_digest (g));
      desc->size = have;
      body.size = (guint64) have;
      ok = blob_present (p, desc, out_present, error);
      /* a refused mount's session is not this one */
      if (p->session)
        cancel_upload (p, p->session);
      g_clear_pointer (&p->session, g_free);
      g_clear_pointer (&p->session_digest, g_free);
      if (ok && *out_present)
        {
          cancel_upload (p, location);
          return TRUE;
        }
      for (guint64 len; ok && (len = sk_push_chunk_len (body.size, chunk, off)) > 0; off += len)
        ok = patch_chunk (p, &location, &body, off, len, error);
      ok = ok && finish_upload (p, location, desc->digest, &body, FALSE, error);
    }
  if (!ok)
    {
      cancel_upload (p, location);
      return FALSE;
    }
  count (p, &p->stats->uploaded, &p->stats->uploaded_bytes, desc->size);
  emit (p, SK_PUSH_EVENT_BLOB_DONE, desc->digest, desc->size);
  return TRUE;
}

/* Another thread's context: the same push over a connection of its own. */
static gpointer
target_fork (gpointer data, GError **error)
{
  Push *parent = data;
  g_autofree Push *p = g_new (Push, 1);
  *p = *parent;
  p->session = NULL;
  p->session_digest = NULL;
  p->client = open_client (parent->dest, parent->opts, error);
  if (p->client == NULL)
    return NULL;
  p->base = sk_registry_client_base (p->client, error);
  if (p->base == NULL)
    return sk_registry_client_free (p->client), NULL;
  return g_steal_pointer (&p);
}

static void
target_unfork (gpointer data, gpointer forked)
{
  Push *p = forked;
  push_clear (p);
  sk_registry_client_free (p->client);
  g_free (p);
}

static const SkPushTarget registry_target = { .present = target_present, .upload = target_upload,
                                              .fork = target_fork, .unfork = target_unfork,
                                              .upload_growing = target_upload_growing };

/* Remembers that the destination now holds every blob of @m. */
static void
record_locations (Push *p, const SkManifest *m)
{
  if (p->store == NULL)
    return;
  for (guint i = 0; i < m->layers->len; i++)
    sk_blob_cache_add_location (p->store, ((SkDescriptor *) m->layers->pdata[i])->digest, p->domain, p->repo);
  sk_blob_cache_add_location (p->store, m->config->digest, p->domain, p->repo);
}

/* PUTs the manifest or index @raw (of @type, digest @digest) as @ref. */
static gboolean
put_manifest_raw (Push *p, GBytes *raw, const char *type, const char *ref, const char *digest, GError **error)
{
  g_autofree char *url = sk_registry_url (p->base, p->repo, "manifests", ref);
  g_autofree char *ct = g_strdup_printf ("Content-Type: %s", type);
  const char *headers[] = { ct, NULL };
  SkHttpRequest req = { .method = "PUT", .url = url, .headers = headers, .body = raw };
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

static gboolean
put_manifest (Push *p, const SkManifest *m, const char *ref, const char *digest, GError **error)
{
  return put_manifest_raw (p, m->raw, m->media_type ? m->media_type : SK_MEDIA_TYPE_OCI_MANIFEST, ref, digest, error);
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
  g_autoptr (SkRegistryClient) client = open_client (dest, opts, error);
  if (client == NULL)
    return FALSE;
  Push p = { .store = store, .img = img, .dest = dest, .client = client, .domain = dest->domain, .repo = dest->path,
             .blobs = blobs, .config = img->config, .opts = opts, .stats = stats ? stats : &local_stats,
             .chunk_size = opts->chunk_size ? opts->chunk_size : SK_PUSH_DEFAULT_CHUNK_SIZE };
  p.base = sk_registry_client_base (client, error);
  if (p.base == NULL)
    return FALSE;
  SkPushCompression want = { .set = opts->compression_set, .compression = opts->compression,
                             .uncompressed = SK_PUSH_DEFAULT_COMPRESSION };
  g_autoptr (GPtrArray) layers = sk_push_layers (store, blobs, m, &want, &registry_target, &p, error);
  gboolean ok = layers && push_blob (&p, m->config, TRUE, error);
  push_clear (&p);
  if (!ok)
    return FALSE;
  g_autoptr (SkManifest) pushed = sk_push_manifest (m, layers, error);
  if (pushed == NULL)
    return g_prefix_error (error, "manifest: "), FALSE;
  emit (&p, SK_PUSH_EVENT_MANIFEST, pushed->digest, g_bytes_get_size (pushed->raw));
  const char *ref = dest->tag ? dest->tag : pushed->digest;
  if (!put_manifest (&p, pushed, ref, pushed->digest, error))
    return g_prefix_error (error, "manifest: "), FALSE;
  record_locations (&p, pushed);
  p.stats->manifest_size = g_bytes_get_size (pushed->raw);
  *out_digest = g_strdup (pushed->digest);
  return TRUE;
}

gboolean
sk_registry_push_index (SkStore *store, const SkIndex *idx, const SkReference *dest, const SkPushOptions *opts,
                        char **out_digest, SkPushStats *stats, GError **error)
{
  SkPushStats local_stats = { 0 };
  stats = stats ? stats : &local_stats;
  if (dest->tag == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE, "an index is pushed to a tag"), FALSE;
  /* every image by digest into the destination repository */
  SkReference by_digest = *dest;
  by_digest.tag = NULL;
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_descriptor_free);
  for (guint i = 0; i < idx->manifests->len; i++)
    {
      const SkDescriptor *e = idx->manifests->pdata[i];
      g_autoptr (SkStoreImage) img = sk_store_lookup (store, e->digest, NULL);
      if (img == NULL)
        return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "image '%s' of the index is not in the store",
                            e->digest), FALSE;
      if (img->manifest == NULL && !sk_store_image_load (store, img, error))
        return FALSE;
      g_autofree char *digest = NULL;
      if (!sk_registry_push (store, img, &by_digest, opts, &digest, stats, error))
        return g_prefix_error (error, "image '%s': ", e->digest), FALSE;
      SkDescriptor *d = sk_descriptor_copy (e);
      if (!g_str_equal (digest, d->digest)) /* layers compressed on the way */
        {
          g_free (d->digest);
          d->digest = g_steal_pointer (&digest);
          d->size = stats->manifest_size;
        }
      g_ptr_array_add (entries, d);
    }
  g_autoptr (SkIndex) pushed = sk_index_new (entries, idx->annotations, error);
  if (pushed == NULL)
    return FALSE;
  g_autoptr (SkRegistryClient) client = open_client (dest, opts, error);
  if (client == NULL)
    return FALSE;
  Push p = { .store = store, .client = client, .domain = dest->domain, .repo = dest->path, .opts = opts,
             .stats = stats };
  p.base = sk_registry_client_base (client, error);
  if (p.base == NULL)
    return FALSE;
  emit (&p, SK_PUSH_EVENT_MANIFEST, pushed->digest, g_bytes_get_size (pushed->raw));
  if (!put_manifest_raw (&p, pushed->raw, SK_MEDIA_TYPE_OCI_INDEX, dest->tag, pushed->digest, error))
    return g_prefix_error (error, "index: "), FALSE;
  *out_digest = g_strdup (pushed->digest);
  return TRUE;
}

gboolean
sk_registry_push_files (GBytes *manifest, GHashTable *files, const SkReference *dest, const SkPushOptions *opts,
                        char **out_digest, SkPushStats *stats, GError **error)
{
  SkPushStats local_stats = { 0 };
  g_autoptr (SkManifest) m = sk_manifest_parse (manifest, NULL, error);
  if (m == NULL)
    return FALSE;
  g_autoptr (SkRegistryClient) client = open_client (dest, opts, error);
  if (client == NULL)
    return FALSE;
  Push p = { .client = client, .repo = dest->path, .files = files, .opts = opts,
             .stats = stats ? stats : &local_stats,
             .chunk_size = opts->chunk_size ? opts->chunk_size : SK_PUSH_DEFAULT_CHUNK_SIZE };
  p.base = sk_registry_client_base (client, error);
  if (p.base == NULL)
    return FALSE;
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < m->layers->len; i++)
    ok = push_blob (&p, m->layers->pdata[i], FALSE, error);
  ok = ok && push_blob (&p, m->config, TRUE, error);
  push_clear (&p);
  if (!ok)
    return FALSE;
  emit (&p, SK_PUSH_EVENT_MANIFEST, m->digest, g_bytes_get_size (m->raw));
  if (!put_manifest (&p, m, dest->tag ? dest->tag : m->digest, m->digest, error))
    return g_prefix_error (error, "manifest: "), FALSE;
  *out_digest = g_strdup (m->digest);
  return TRUE;
}
