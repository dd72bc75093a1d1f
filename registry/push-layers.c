/* skiff — the bytes each layer is pushed as (see push-layers.h). */
#include "registry/push-layers.h"
#include "registry/blob-cache.h"
#include "registry/push.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "oci/mediatypes.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  SkStore *store;
  GPtrArray *blobs;
  const SkPushTarget *target;
  gpointer data;
} Plan;

/* Opens the stored file of @digest and checks it has @size bytes. */
static int
open_stored (Plan *p, const char *digest, gint64 size, GError **error)
{
  const SkStoreBlob *blob = sk_push_find_stored (p->blobs, digest);
  if (blob == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "blob '%s' is not in the store", digest), -1;
  g_autofree char *path = sk_store_blob_path (p->store, blob);
  sk_autofd int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", path), -1;
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sk_error_from_errno (error, errno, "reading '%s'", path), -1;
  if (size >= 0 && st.st_size != size)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "'%s' has %" G_GINT64_FORMAT
                        " bytes, the manifest says %" G_GINT64_FORMAT, path, (gint64) st.st_size, size), -1;
  return g_steal_fd (&fd);
}

/* A blob that goes as stored: nothing when the destination has it. */
static gboolean
push_stored (Plan *p, const SkDescriptor *d, GError **error)
{
  gboolean present = FALSE;
  if (!p->target->present (p->data, d, &present, error))
    return FALSE;
  if (present)
    return TRUE;
  sk_autofd int fd = open_stored (p, d->digest, d->size, error);
  return fd >= 0 && p->target->upload (p->data, d, fd, error);
}

/* @layer as @c: media type, digest and size replaced, annotations kept. */
static SkDescriptor *
layer_as (const SkDescriptor *layer, SkCompression c, const char *digest, gint64 size)
{
  SkDescriptor *d = sk_descriptor_copy (layer);
  g_free (d->media_type);
  d->media_type = g_strdup (sk_compression_media_type (c));
  g_free (d->digest);
  d->digest = g_strdup (digest);
  d->size = size;
  return d;
}

/* The uncompressed layer's size, from its annotation. */
static gboolean
disk_size (const SkDescriptor *layer, gint64 *out, GError **error)
{
  const char *text = sk_descriptor_get_annotation (layer, SK_ANNOTATION_DISK_SIZE);
  char *end = NULL;
  gint64 v = text ? g_ascii_strtoll (text, &end, 10) : -1;
  if (text == NULL || *end != '\0' || v < 0)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "layer '%s': no usable %s annotation",
                        layer->digest, SK_ANNOTATION_DISK_SIZE), FALSE;
  *out = v;
  return TRUE;
}

/* Compresses the stored layer @diff_id with @c into an unnamed file of
 * the store's tmp/; returns its fd (at offset 0). */
static int
compress_layer (Plan *p, const char *diff_id, gint64 size, SkCompression c, char **out_digest, guint64 *out_size,
                GError **error)
{
  sk_autofd int in = open_stored (p, diff_id, size, error);
  if (in < 0)
    return -1;
  sk_autofd int out = open (sk_store_tmp_dir (p->store), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (out < 0)
    return sk_error_from_errno (error, errno, "creating a file in '%s'", sk_store_tmp_dir (p->store)), -1;
  sk_debug ("compressing layer %s with %s", diff_id, sk_compression_name (c));
  if (!sk_compress_fd (in, c, out, out_digest, out_size, error))
    return g_prefix_error (error, "compressing layer '%s': ", diff_id), -1;
  if (lseek (out, 0, SEEK_SET) < 0)
    return sk_error_from_errno (error, errno, "reading the compressed layer"), -1;
  return g_steal_fd (&out);
}

/* ---------------------------------------------------------------- compressing while uploading */

struct _SkGrowing {
  GMutex lock;
  GCond cond;
  guint64 written;
  gboolean complete;
  gboolean failed;
  gboolean stop; /* the upload failed: the compression may give up */
  /* the compression's outcome, for the thread that waits */
  int in_fd, out_fd;
  SkCompression c;
  char *digest;
  guint64 size;
  GError *error;
};

gint64
sk_growing_wait (SkGrowing *g, guint64 want, gboolean *out_complete)
{
  g_mutex_lock (&g->lock);
  while (!g->complete && !g->failed && g->written < want)
    g_cond_wait (&g->cond, &g->lock);
  gint64 have = g->failed ? -1 : (gint64) g->written;
  *out_complete = g->complete;
  g_mutex_unlock (&g->lock);
  return have;
}

const char *
sk_growing_digest (SkGrowing *g)
{
  g_mutex_lock (&g->lock);
  const char *digest = g->complete ? g->digest : NULL;
  g_mutex_unlock (&g->lock);
  return digest;
}

static gboolean
growing_progress (guint64 written, gpointer data)
{
  SkGrowing *g = data;
  g_mutex_lock (&g->lock);
  g->written = written;
  gboolean go_on = !g->stop;
  g_cond_broadcast (&g->cond);
  g_mutex_unlock (&g->lock);
  return go_on;
}

static gpointer
growing_compress (gpointer data)
{
  SkGrowing *g = data;
  g_autofree char *digest = NULL;
  guint64 size = 0;
  GError *local = NULL;
  gboolean ok = sk_compress_fd_progress (g->in_fd, g->c, g->out_fd, growing_progress, g, &digest, &size, &local);
  g_mutex_lock (&g->lock);
  if (ok)
    {
      g->digest = g_steal_pointer (&digest);
      g->size = g->written = size;
      g->complete = TRUE;
    }
  else
    {
      g->failed = TRUE;
      g->error = local;
    }
  g_cond_broadcast (&g->cond);
  g_mutex_unlock (&g->lock);
  return NULL;
}

/* Layers at least this big (uncompressed) are uploaded as they compress,
 * when the target can: the upload then starts a chunk in, not after the
 * whole layer is compressed. */
#define STREAM_MIN_SIZE (64 * 1024 * 1024)

/* A disk layer in compression @c, compressed by a thread while the
 * target uploads what is ready.  Returns NULL with no error when the blob
 * turned out too small to stream; its compressed file is then in
 * *@out_fd (at offset 0) with *@out_digest and *@out_size. */
static SkDescriptor *
push_streaming (Plan *p, const SkDescriptor *layer, const char *diff_id, gint64 size, SkCompression c, int *out_fd,
                char **out_digest, guint64 *out_size, GError **error)
{
  sk_autofd int in = open_stored (p, diff_id, size, error);
  if (in < 0)
    return NULL;
  sk_autofd int out = open (sk_store_tmp_dir (p->store), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (out < 0)
    return sk_error_from_errno (error, errno, "creating a file in '%s'", sk_store_tmp_dir (p->store)), NULL;
  sk_debug ("compressing layer %s with %s while uploading it", diff_id, sk_compression_name (c));
  SkGrowing g = { .in_fd = in, .out_fd = out, .c = c };
  g_mutex_init (&g.lock);
  g_cond_init (&g.cond);
  GThread *thread = g_thread_new ("skiff-compress", growing_compress, &g);
  g_autoptr (SkDescriptor) d = layer_as (layer, c, "", 0);
  gboolean started = FALSE, present = FALSE;
  g_autoptr (GError) upload_error = NULL;
  gboolean ok = p->target->upload_growing (p->data, d, out, &g, &started, &present, &upload_error);
  if (!ok)
    {
      /* the compression may give up (unless it failed: that was why) */
      g_mutex_lock (&g.lock);
      g.stop = !g.failed;
      g_mutex_unlock (&g.lock);
    }
  g_thread_join (thread);
  g_mutex_clear (&g.lock);
  g_cond_clear (&g.cond);
  g_autofree char *digest = g_steal_pointer (&g.digest);
  g_autoptr (GError) compress_error = g.error;
  if (!ok && g.stop)
    return g_propagate_error (error, g_steal_pointer (&upload_error)), NULL;
  if (compress_error)
    return g_propagate_prefixed_error (error, g_steal_pointer (&compress_error), "compressing layer '%s': ", diff_id),
           NULL;
  if (!ok)
    return g_propagate_error (error, g_steal_pointer (&upload_error)), NULL;
  sk_blob_cache_put_compressed (p->store, diff_id, sk_compression_name (c), digest, g.size);
  if (!started)
    {
      if (lseek (out, 0, SEEK_SET) < 0)
        return sk_error_from_errno (error, errno, "reading the compressed layer"), NULL;
      *out_fd = g_steal_fd (&out);
      *out_digest = g_steal_pointer (&digest);
      *out_size = g.size;
      return NULL;
    }
  return g_steal_pointer (&d);
}

/* A disk layer in compression @c (not NONE): the blob made last time if
 * the destination has it, else made now and uploaded.  @known: a
 * descriptor already checked absent (the manifest's own), or NULL. */
static SkDescriptor *
push_compressed (Plan *p, const SkDescriptor *layer, const char *diff_id, gint64 size, SkCompression c,
                 const char *known_absent, GError **error)
{
  const char *alg = sk_compression_name (c);
  g_autofree char *cached = NULL;
  guint64 cached_size = 0;
  if (sk_blob_cache_get_compressed (p->store, diff_id, alg, &cached, &cached_size)
      && g_strcmp0 (cached, known_absent) != 0)
    {
      g_autoptr (SkDescriptor) d = layer_as (layer, c, cached, (gint64) cached_size);
      gboolean present = FALSE;
      if (!p->target->present (p->data, d, &present, error))
        return NULL;
      if (present)
        return g_steal_pointer (&d);
    }
  g_autofree char *digest = NULL;
  guint64 csize = 0;
  sk_autofd int fd = -1;
  if (p->target->upload_growing && size >= STREAM_MIN_SIZE)
    {
      /* the destination is asked once the digest is known */
      g_autoptr (GError) local = NULL;
      SkDescriptor *d = push_streaming (p, layer, diff_id, size, c, &fd, &digest, &csize, &local);
      if (local)
        return g_propagate_error (error, g_steal_pointer (&local)), NULL;
      if (d)
        return d;
    }
  else
    {
      fd = compress_layer (p, diff_id, size, c, &digest, &csize, error);
      if (fd < 0)
        return NULL;
      sk_blob_cache_put_compressed (p->store, diff_id, alg, digest, csize);
    }
  g_autoptr (SkDescriptor) d = layer_as (layer, c, digest, (gint64) csize);
  /* bytes other than the cache said (another zstd, a lost hint): ask */
  gboolean present = FALSE;
  if (g_strcmp0 (digest, cached) != 0 && g_strcmp0 (digest, known_absent) != 0
      && !p->target->present (p->data, d, &present, error))
    return NULL;
  if (!present && !p->target->upload (p->data, d, fd, error))
    return NULL;
  return g_steal_pointer (&d);
}

static SkDescriptor *
push_layer (Plan *p, const SkDescriptor *layer, const SkPushCompression *want, GError **error)
{
  SkCompression cur;
  if (!sk_compression_of_media_type (layer->media_type, &cur)) /* kernel, initrd */
    return push_stored (p, layer, error) ? sk_descriptor_copy (layer) : NULL;
  SkCompression c = want->set ? want->compression : cur == SK_COMPRESSION_NONE ? want->uncompressed : cur;
  const char *diff_id = sk_descriptor_get_annotation (layer, SK_ANNOTATION_DISK_DIFF_ID);
  gint64 size;
  if (diff_id == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "layer '%s': no %s annotation", layer->digest,
                        SK_ANNOTATION_DISK_DIFF_ID), NULL;
  if (!disk_size (layer, &size, error))
    return NULL;
  if (c == SK_COMPRESSION_NONE)
    {
      g_autoptr (SkDescriptor) d = layer_as (layer, c, diff_id, size);
      return push_stored (p, d, error) ? g_steal_pointer (&d) : NULL;
    }
  if (c == cur)
    {
      /* compressed as the manifest says, by whoever made it: fine if the
       * destination has those bytes */
      gboolean present = FALSE;
      if (!p->target->present (p->data, layer, &present, error))
        return NULL;
      if (present)
        return sk_descriptor_copy (layer);
      return push_compressed (p, layer, diff_id, size, c, layer->digest, error);
    }
  return push_compressed (p, layer, diff_id, size, c, NULL, error);
}

/* Layers pushed by several threads: each takes the next layer not taken
 * yet, until all are done or one failed. */
typedef struct {
  Plan plan; /* data: the caller's context, forked per thread */
  const SkManifest *m;
  const SkPushCompression *want;
  SkDescriptor **pushed; /* per layer */
  gint next;
  GMutex lock;
  GError *error; /* the first failure */
} Parallel;

static void
parallel_fail (Parallel *par, GError *error)
{
  g_mutex_lock (&par->lock);
  if (par->error == NULL)
    par->error = error;
  else
    g_error_free (error);
  g_mutex_unlock (&par->lock);
}

static gpointer
parallel_worker (gpointer data)
{
  Parallel *par = data;
  GError *local = NULL;
  Plan p = par->plan;
  p.data = par->plan.target->fork (par->plan.data, &local);
  if (p.data == NULL)
    return parallel_fail (par, local), NULL;
  for (;;)
    {
      g_mutex_lock (&par->lock);
      gboolean failed = par->error != NULL;
      g_mutex_unlock (&par->lock);
      gint i = g_atomic_int_add (&par->next, 1);
      if (failed || i >= (gint) par->m->layers->len)
        break;
      const SkDescriptor *layer = par->m->layers->pdata[i];
      par->pushed[i] = push_layer (&p, layer, par->want, &local);
      if (par->pushed[i] == NULL)
        {
          g_prefix_error (&local, "blob '%s': ", layer->digest);
          parallel_fail (par, g_steal_pointer (&local));
          break;
        }
    }
  par->plan.target->unfork (par->plan.data, p.data);
  return NULL;
}

static GPtrArray *
push_layers_parallel (Plan *plan, const SkManifest *m, const SkPushCompression *want, GError **error)
{
  guint n = m->layers->len;
  Parallel par = { .plan = *plan, .m = m, .want = want, .pushed = g_new0 (SkDescriptor *, n) };
  g_mutex_init (&par.lock);
  guint n_threads = MIN (n, (guint) SK_PUSH_PARALLEL);
  g_autofree GThread **threads = g_new0 (GThread *, n_threads);
  for (guint i = 0; i < n_threads; i++)
    threads[i] = g_thread_new ("skiff-push", parallel_worker, &par);
  for (guint i = 0; i < n_threads; i++)
    g_thread_join (threads[i]);
  g_mutex_clear (&par.lock);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_descriptor_free);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (out, par.pushed[i]);
  g_free (par.pushed);
  if (par.error)
    return g_propagate_error (error, par.error), NULL;
  return g_steal_pointer (&out);
}

GPtrArray *
sk_push_layers (SkStore *store, GPtrArray *blobs, const SkManifest *m, const SkPushCompression *want,
                const SkPushTarget *target, gpointer data, GError **error)
{
  Plan p = { .store = store, .blobs = blobs, .target = target, .data = data };
  if (target->fork && m->layers->len > 1)
    return push_layers_parallel (&p, m, want, error);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_descriptor_free);
  for (guint i = 0; i < m->layers->len; i++)
    {
      const SkDescriptor *layer = m->layers->pdata[i];
      SkDescriptor *d = push_layer (&p, layer, want, error);
      if (d == NULL)
        return g_prefix_error (error, "blob '%s': ", layer->digest), NULL;
      g_ptr_array_add (out, d);
    }
  return g_steal_pointer (&out);
}

SkManifest *
sk_push_manifest (const SkManifest *m, GPtrArray *layers, GError **error)
{
  gboolean same = layers->len == m->layers->len;
  for (guint i = 0; same && i < layers->len; i++)
    {
      const SkDescriptor *a = m->layers->pdata[i], *b = layers->pdata[i];
      same = g_str_equal (a->digest, b->digest) && g_strcmp0 (a->media_type, b->media_type) == 0;
    }
  if (same)
    return sk_manifest_parse (m->raw, m->media_type, error);
  return sk_manifest_new_skiff (m->config, layers, m->annotations, error);
}
