/* skiff — images in S3: an OCI layout per repository plus tag objects. */
#include "registry/s3-image.h"
#include "registry/push-layers.h"
#include "registry/s3.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "oci/digest.h"
#include "oci/layout.h"
#include "oci/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG_OBJECT_MAX (64 * 1024)
#define INDEX_MAX (4 * 1024 * 1024)
#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"

char *
sk_s3_layout_key (const char *path, const char *name)
{
  return g_strdup_printf ("%s/%s", path, name);
}

char *
sk_s3_blob_name (const char *digest)
{
  SkDigestAlgorithm alg;
  if (!sk_digest_validate (digest, &alg, NULL))
    return NULL;
  return g_strdup_printf ("blobs/%s/%s", sk_digest_algorithm_name (alg), sk_digest_hex (digest));
}

static char *
blob_key (const char *path, const char *digest, GError **error)
{
  g_autofree char *name = sk_s3_blob_name (digest);
  if (name == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "invalid digest '%s'", digest), NULL;
  return sk_s3_layout_key (path, name);
}

/* ---------------------------------------------------------------- pull */

typedef struct {
  SkS3Client *client;
  SkStore *store;
  const char *path;
} Source;

static gboolean
verify_bytes (Source *s, const char *key, GBytes *bytes, const char *digest, gint64 size, GError **error)
{
  g_autofree char *where = sk_s3_describe (s->client, key);
  if (size >= 0 && g_bytes_get_size (bytes) != (gsize) size)
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH, "%s: %" G_GSIZE_FORMAT " bytes, expected %"
                        G_GINT64_FORMAT, where, g_bytes_get_size (bytes), size), FALSE;
  if (!sk_digest_verify_bytes (digest, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), error))
    return g_prefix_error (error, "%s: ", where), FALSE;
  return TRUE;
}

static GBytes *
source_get_blob_bytes (gpointer data, const char *digest, gint64 size, gsize max_size, GError **error)
{
  Source *s = data;
  g_autofree char *key = blob_key (s->path, digest, error);
  if (key == NULL)
    return NULL;
  g_autoptr (GBytes) bytes = sk_s3_get_bytes (s->client, key, max_size, error);
  if (bytes == NULL || !verify_bytes (s, key, bytes, digest, size, error))
    return NULL;
  return g_steal_pointer (&bytes);
}

/* The descriptor in the tag object of @tag in repository @path. */
static SkDescriptor *
read_tag (SkS3Client *client, const char *path, const char *tag, GError **error)
{
  g_autofree char *name = g_strdup_printf ("tags/%s", tag);
  g_autofree char *key = sk_s3_layout_key (path, name);
  g_autoptr (GBytes) bytes = sk_s3_get_bytes (client, key, TAG_OBJECT_MAX, error);
  if (bytes == NULL)
    return g_prefix_error (error, "tag '%s': ", tag), NULL;
  SkDescriptor *d = sk_descriptor_parse (bytes, error);
  if (d == NULL)
    {
      g_autofree char *where = sk_s3_describe (client, key);
      return g_prefix_error (error, "tag '%s': %s: ", tag, where), NULL;
    }
  return d;
}

static gboolean
source_get_manifest (gpointer data, const char *ref, GBytes **out_raw, char **out_media_type, char **out_digest,
                     GError **error)
{
  Source *s = data;
  g_autoptr (SkDescriptor) d = NULL;
  if (strchr (ref, ':') == NULL)
    {
      d = read_tag (s->client, s->path, ref, error);
      if (d == NULL)
        return FALSE;
    }
  g_autoptr (GBytes) raw = source_get_blob_bytes (s, d ? d->digest : ref, d ? d->size : -1, SK_MANIFEST_MAX_SIZE,
                                                  error);
  if (raw == NULL)
    return d ? (g_prefix_error (error, "manifest of tag '%s': ", ref), FALSE) : FALSE;
  *out_raw = g_steal_pointer (&raw);
  *out_media_type = d ? g_strdup (d->media_type) : NULL;
  *out_digest = g_strdup (d ? d->digest : ref);
  return TRUE;
}

static gboolean
get_blob (Source *s, const char *digest, gint64 size, int fd, guint64 resume_from, SkHttpProgress progress,
          gpointer progress_data, SkRecycler *recycler, GError **error)
{
  g_autofree char *key = blob_key (s->path, digest, error);
  if (key == NULL)
    return FALSE;
  g_autofree char *got = NULL;
  if (!sk_s3_get_file (s->client, key, size, fd, resume_from, progress, progress_data, recycler, &got, error))
    return FALSE;
  if (!g_str_equal (got, digest))
    {
      g_autofree char *where = sk_s3_describe (s->client, key);
      return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH, "%s: content is %s, not %s", where, got,
                          digest), FALSE;
    }
  return TRUE;
}

static gboolean
source_get_blob (gpointer data, const char *digest, gint64 size, int fd, guint64 resume_from, SkHttpProgress progress,
                 gpointer progress_data, GError **error)
{
  return get_blob (data, digest, size, fd, resume_from, progress, progress_data, NULL, error);
}

/* One blob after the other: each large one is already fetched in parallel
 * ranges. */
static gboolean
source_get_blobs (gpointer data, SkRegistryBlobJob *jobs, guint n_jobs, guint parallel, GError **error)
{
  for (guint i = 0; i < n_jobs; i++)
    get_blob (data, jobs[i].digest, jobs[i].size, jobs[i].fd, jobs[i].resume_from, jobs[i].progress,
              jobs[i].progress_data, jobs[i].recycler, &jobs[i].error);
  return TRUE;
}

static const SkPullSource s3_source = {
  .get_manifest = source_get_manifest,
  .get_blob = source_get_blob,
  .get_blobs = source_get_blobs,
  .get_blob_bytes = source_get_blob_bytes,
};

gboolean
sk_s3_pull (SkStore *store, const SkReference *ref, const SkPullOptions *opts, char **out_digest, GError **error)
{
  if (ref->kind != SK_REFERENCE_S3)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE, "not an s3 reference"), FALSE;
  g_autoptr (SkS3Client) client = sk_s3_client_new (ref->bucket, opts->tls_verify, error);
  if (client == NULL)
    return FALSE;
  Source s = { .client = client, .store = store, .path = ref->path };
  return sk_pull_image (store, &s3_source, &s, ref, opts, out_digest, error);
}

/* ---------------------------------------------------------------- push */

typedef struct {
  SkStore *store;
  SkS3Client *client;
  const char *path;
  GPtrArray *blobs;
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

/* Uploads @desc->size bytes of @fd as @key. */
static gboolean
upload_fd (Push *p, const SkDescriptor *desc, const char *key, int fd, GError **error)
{
  /* A sha256 digest is the body's hash: S3 checks the bytes against it. */
  const char *hash = g_str_has_prefix (desc->digest, "sha256:") ? sk_digest_hex (desc->digest) : NULL;
  SkS3UploadStats up = { 0 };
  if (!sk_s3_put_file (p->client, key, fd, desc->size, hash, &up, error))
    return FALSE;
  p->stats->resumed_bytes += up.bytes_resumed;
  return TRUE;
}

/* *@out_present when the bucket has @desc (HEAD, same size); @count:
 * report it in the events and stats (the manifest is not). */
static gboolean
blob_present (Push *p, const SkDescriptor *desc, gboolean count, gboolean *out_present, GError **error)
{
  g_autofree char *key = blob_key (p->path, desc->digest, error);
  if (key == NULL)
    return FALSE;
  gboolean exists = FALSE;
  guint64 size = 0;
  if (!sk_s3_head (p->client, key, &exists, &size, error))
    return g_prefix_error (error, "blob '%s': ", desc->digest), FALSE;
  *out_present = exists && size == (guint64) desc->size;
  if (*out_present && count)
    {
      p->stats->skipped++;
      p->stats->skipped_bytes += desc->size;
      emit (p, SK_PUSH_EVENT_BLOB_SKIP, desc->digest, desc->size);
    }
  return TRUE;
}

/* Uploads @desc from @bytes or @fd. */
static gboolean
upload_blob (Push *p, const SkDescriptor *desc, GBytes *bytes, int fd, gboolean count, GError **error)
{
  g_autofree char *key = blob_key (p->path, desc->digest, error);
  if (key == NULL)
    return FALSE;
  if (count)
    emit (p, SK_PUSH_EVENT_BLOB_START, desc->digest, desc->size);
  gboolean ok = bytes ? sk_s3_put_bytes (p->client, key, bytes, NULL, error) : upload_fd (p, desc, key, fd, error);
  if (!ok)
    return g_prefix_error (error, "blob '%s': ", desc->digest), FALSE;
  if (count)
    {
      p->stats->uploaded++;
      p->stats->uploaded_bytes += desc->size;
      emit (p, SK_PUSH_EVENT_BLOB_DONE, desc->digest, desc->size);
    }
  return TRUE;
}

/* Uploads @bytes as @desc unless the bucket has it. */
static gboolean
push_bytes (Push *p, const SkDescriptor *desc, GBytes *bytes, gboolean count, GError **error)
{
  gboolean present = FALSE;
  if (!blob_present (p, desc, count, &present, error))
    return FALSE;
  return present || upload_blob (p, desc, bytes, -1, count, error);
}

/* SkPushTarget for sk_push_layers. */
static gboolean
target_present (gpointer data, const SkDescriptor *desc, gboolean *out_present, GError **error)
{
  return blob_present (data, desc, TRUE, out_present, error);
}

static gboolean
target_upload (gpointer data, const SkDescriptor *desc, int fd, GError **error)
{
  return upload_blob (data, desc, NULL, fd, TRUE, error);
}

static const SkPushTarget s3_target = { .present = target_present, .upload = target_upload };

/* TRUE in @out_exists when the repository's oci-layout is there; fails on
 * anything but a missing key (a missing bucket, bad credentials). */
static gboolean
check_layout (Push *p, gboolean *out_exists, GError **error)
{
  g_autofree char *key = sk_s3_layout_key (p->path, "oci-layout");
  g_autoptr (GError) local = NULL;
  g_autoptr (GBytes) bytes = sk_s3_get_bytes (p->client, key, TAG_OBJECT_MAX, &local);
  *out_exists = bytes != NULL;
  if (bytes || (g_error_matches (local, SK_ERROR, SK_ERROR_NOT_FOUND) && strstr (local->message, "NoSuchKey")))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

/* index.json of the repository; NULL (no error) when there is none or it
 * is not an index (warned about: it is about to be replaced). */
static SkIndex *
read_index (Push *p, GError **error)
{
  g_autofree char *key = sk_s3_layout_key (p->path, "index.json");
  g_autoptr (GError) local = NULL;
  g_autoptr (GBytes) raw = sk_s3_get_bytes (p->client, key, INDEX_MAX, &local);
  if (raw == NULL && !g_error_matches (local, SK_ERROR, SK_ERROR_NOT_FOUND))
    return g_propagate_error (error, g_steal_pointer (&local)), NULL;
  SkIndex *idx = raw ? sk_index_parse (raw, SK_MEDIA_TYPE_OCI_INDEX, &local) : NULL;
  if (raw && idx == NULL)
    {
      g_autofree char *where = sk_s3_describe (p->client, key);
      sk_warn ("%s: replacing an invalid index.json (%s)", where, local->message);
    }
  return idx;
}

static gboolean
write_index (Push *p, SkIndex *idx, GError **error)
{
  g_autofree char *key = sk_s3_layout_key (p->path, "index.json");
  return sk_s3_put_bytes (p->client, key, idx->raw, SK_MEDIA_TYPE_OCI_INDEX, error);
}

static gboolean
update_index (Push *p, const char *tag, const SkDescriptor *desc, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (SkIndex) idx = read_index (p, &local);
  if (local)
    return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
  g_autoptr (SkIndex) updated = sk_layout_index_set_ref (idx, tag, desc, error);
  return updated && write_index (p, updated, error);
}

static gboolean
index_has_ref (const SkIndex *idx, const char *name)
{
  for (guint i = 0; idx && i < idx->manifests->len; i++)
    if (g_strcmp0 (sk_descriptor_get_annotation (idx->manifests->pdata[i], SK_ANNOTATION_REF_NAME), name) == 0)
      return TRUE;
  return FALSE;
}

/* index.json is read, changed and written whole, so two pushes of
 * different tags at once could each drop the other's.  After its tag
 * object is written, a push lists tags/ and re-reads index.json; tags
 * missing from it are added from their tag objects and index.json is
 * written again, until a listing finds none missing.  Whoever writes
 * index.json last checks after that write, so every tag ends up in it (a
 * tag re-pointed during such a race may keep its older entry until the
 * next push; pulls read the tag objects, never index.json). */
static gboolean
reconcile_index (Push *p, GError **error)
{
  g_autofree char *prefix = sk_s3_layout_key (p->path, "tags/");
  for (guint round = 0; round < 8; round++)
    {
      g_autoptr (GPtrArray) keys = sk_s3_list_keys (p->client, prefix, error);
      if (keys == NULL)
        return FALSE;
      g_autoptr (GError) local = NULL;
      g_autoptr (SkIndex) idx = read_index (p, &local);
      if (local)
        return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
      guint added = 0;
      for (guint i = 0; i < keys->len; i++)
        {
          const char *tag = (const char *) keys->pdata[i] + strlen (prefix);
          if (*tag == '\0' || strchr (tag, '/') || index_has_ref (idx, tag))
            continue;
          g_autoptr (SkDescriptor) d = read_tag (p->client, p->path, tag, error);
          if (d == NULL)
            return FALSE;
          SkIndex *next = sk_layout_index_set_ref (idx, tag, d, error);
          if (next == NULL)
            return FALSE;
          g_clear_pointer (&idx, sk_index_free);
          idx = next;
          added++;
        }
      if (added == 0)
        return TRUE;
      sk_debug ("index.json lacked %u tag(s) written by another push: adding them", added);
      if (!write_index (p, idx, error))
        return FALSE;
    }
  g_autofree char *where = sk_s3_describe (p->client, p->path);
  sk_warn ("%s: index.json kept changing while this push checked it; it may lack tags until the next push", where);
  return TRUE;
}

/* Every blob of @m, then the manifest as pushed (*@out_pushed). */
static gboolean
push_blobs (Push *p, const SkManifest *m, SkStoreImage *img, SkManifest **out_pushed, GError **error)
{
  SkPushCompression want = { .set = p->opts->compression_set, .compression = p->opts->compression,
                             .uncompressed = SK_PUSH_DEFAULT_COMPRESSION };
  g_autoptr (GPtrArray) layers = sk_push_layers (p->store, p->blobs, m, &want, &s3_target, p, error);
  if (layers == NULL || !push_bytes (p, m->config, img->config, TRUE, error))
    return FALSE;
  g_autoptr (SkManifest) pushed = sk_push_manifest (m, layers, error);
  if (pushed == NULL)
    return g_prefix_error (error, "manifest: "), FALSE;
  g_autoptr (SkDescriptor) md = sk_manifest_to_descriptor (pushed);
  emit (p, SK_PUSH_EVENT_MANIFEST, pushed->digest, g_bytes_get_size (pushed->raw));
  if (!push_bytes (p, md, pushed->raw, FALSE, error))
    return FALSE;
  *out_pushed = g_steal_pointer (&pushed);
  return TRUE;
}

gboolean
sk_s3_push (SkStore *store, SkStoreImage *img, const SkReference *dest, const SkPushOptions *opts,
            char **out_digest, SkPushStats *stats, GError **error)
{
  SkPushStats local_stats = { 0 };
  if (dest->kind != SK_REFERENCE_S3 || dest->tag == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE, "not an s3 reference with a tag"), FALSE;
  g_autoptr (SkManifest) m = sk_manifest_parse (img->manifest, NULL, error);
  if (m == NULL)
    return FALSE;
  g_autoptr (GPtrArray) blobs = sk_store_image_blobs (store, img, error);
  if (blobs == NULL)
    return FALSE;
  g_autoptr (SkS3Client) client = sk_s3_client_new (dest->bucket, opts->tls_verify, error);
  if (client == NULL)
    return FALSE;
  Push p = { .store = store, .client = client, .path = dest->path, .blobs = blobs, .opts = opts,
             .stats = stats ? stats : &local_stats };
  gboolean have_layout = FALSE;
  g_autoptr (SkManifest) pushed = NULL;
  if (!check_layout (&p, &have_layout, error) || !push_blobs (&p, m, img, &pushed, error))
    return FALSE;
  g_autofree char *layout_key = sk_s3_layout_key (dest->path, "oci-layout");
  g_autoptr (GBytes) layout = g_bytes_new_static (OCI_LAYOUT_JSON, strlen (OCI_LAYOUT_JSON));
  if (!have_layout && !sk_s3_put_bytes (client, layout_key, layout, "application/json", error))
    return FALSE;
  g_autoptr (SkDescriptor) desc = sk_manifest_to_descriptor (pushed);
  if (!update_index (&p, dest->tag, desc, error))
    return g_prefix_error (error, "index.json: "), FALSE;
  g_autofree char *tag_name = g_strdup_printf ("tags/%s", dest->tag);
  g_autofree char *tag_key = sk_s3_layout_key (dest->path, tag_name);
  g_autoptr (GBytes) tag_bytes = sk_descriptor_serialize (desc);
  if (!sk_s3_put_bytes (client, tag_key, tag_bytes, "application/json", error)
      || !reconcile_index (&p, error))
    return FALSE;
  *out_digest = g_strdup (pushed->digest);
  return TRUE;
}
