/* skiff — pull: resolve, fetch and verify every part of an image, then
 * commit it to the store in one step. */
#include "registry/pull.h"
#include "registry/client.h"
#include "registry/follow.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"
#include "oci/config.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "store/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define COPY_CHUNK (1 << 20)
/* Blobs downloaded at once. */
#define SK_PULL_PARALLEL 4

typedef struct {
  SkStore *store;
  const SkPullSource *src;
  gpointer src_data;
  const SkReference *ref;
  const SkPullOptions *opts;
  GPtrArray *blobs; /* SkStoreBlob, in the manifest's order */
} Pull;

/* One layer or boot blob of the image on its way into the store. */
typedef struct {
  Pull *p;
  const SkDescriptor *d;
  gboolean disk;
  SkStoreBlob *have; /* already stored: nothing to fetch */
  char *path;        /* the partial download */
  int fd;            /* open and locked, or -1 */
  guint64 resume;    /* bytes an earlier pull left */
  gboolean complete; /* the partial file already holds the whole blob */
  GError *error;     /* of its download */
  SkFollower *follower; /* hashing the download as it goes, or NULL */
  char *object;      /* its ostree name, when the follower found it */
  struct _Inflater *inflater; /* decompressing the download as it goes, or NULL */
  SkRecycler *recycler; /* the download's readers hand its pages back, or NULL */
} Item;

static void inflater_advance (struct _Inflater *in, guint64 written);
static void inflater_free (struct _Inflater *in);

static void
emit (Pull *p, SkPullEventKind kind, const char *digest, const char *media_type, guint64 done, guint64 total)
{
  if (p->opts->progress == NULL)
    return;
  SkPullEvent ev = { .kind = kind, .digest = digest, .media_type = media_type, .done = done, .total = total };
  p->opts->progress (&ev, p->opts->progress_data);
}

static void
on_bytes (guint64 done, guint64 total, gpointer user_data)
{
  Item *it = user_data;
  if (it->follower)
    sk_follower_advance (it->follower, done);
  if (it->inflater)
    inflater_advance (it->inflater, done);
  emit (it->p, SK_PULL_EVENT_BLOB_BYTES, it->d->digest, it->d->media_type, done, total);
}

const char *
sk_pull_layer_compression (const char *media_type)
{
  if (g_strcmp0 (media_type, SK_MEDIA_TYPE_DISK_QCOW2) == 0)
    return "";
  if (g_strcmp0 (media_type, SK_MEDIA_TYPE_DISK_QCOW2_GZIP) == 0)
    return "gzip";
  if (g_strcmp0 (media_type, SK_MEDIA_TYPE_DISK_QCOW2_ZSTD) == 0)
    return "zstd";
  return NULL;
}

/* ---------------------------------------------------------------- manifest */

static SkManifest *
fetch_platform_manifest (Pull *p, const SkIndex *idx, GError **error)
{
  const SkPullOptions *o = p->opts;
  const char *os = o->os ? o->os : "linux";
  const char *arch = o->architecture ? o->architecture : sk_oci_host_arch ();
  const SkDescriptor *entry = sk_index_find_platform (idx, os, arch, o->variant);
  if (entry == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "image index '%s' has no image for %s/%s%s%s",
                        idx->digest, os, arch, o->variant ? "/" : "", o->variant ? o->variant : ""), NULL;
  g_autoptr (GBytes) raw = NULL;
  g_autofree char *type = NULL, *digest = NULL;
  if (!p->src->get_manifest (p->src_data, entry->digest, &raw, &type, &digest, error))
    return NULL;
  if (g_bytes_get_size (raw) != (gsize) entry->size)
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH, "manifest '%s': the index says %" G_GINT64_FORMAT
                        " bytes, got %" G_GSIZE_FORMAT, entry->digest, entry->size, g_bytes_get_size (raw)), NULL;
  /* The index's descriptor says what the document is, as much as the
   * registry's Content-Type does. */
  if (type && !g_str_equal (type, entry->media_type))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                        "manifest '%s': Content-Type '%s' but the index says '%s'", entry->digest, type,
                        entry->media_type), NULL;
  return sk_manifest_parse (raw, entry->media_type, error);
}

static gboolean
is_index (GBytes *raw, const char *type)
{
  SkManifestKind kind = type ? sk_manifest_kind_from_media_type (type)
                             : sk_manifest_guess_kind (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  return kind == SK_MANIFEST_KIND_OCI_INDEX || kind == SK_MANIFEST_KIND_DOCKER_MANIFEST_LIST;
}

/* The image manifest @p->ref names, through an index when it is one. */
static SkManifest *
resolve_manifest (Pull *p, GError **error)
{
  const char *what = p->ref->digest ? p->ref->digest : p->ref->tag;
  g_autoptr (GBytes) raw = NULL;
  g_autofree char *type = NULL, *digest = NULL;
  if (!p->src->get_manifest (p->src_data, what, &raw, &type, &digest, error))
    return NULL;
  g_autoptr (SkManifest) m = NULL;
  if (is_index (raw, type))
    {
      g_autoptr (SkIndex) idx = sk_index_parse (raw, type, error);
      if (idx == NULL)
        return g_prefix_error (error, "manifest '%s': ", what), NULL;
      m = fetch_platform_manifest (p, idx, error);
    }
  else
    m = sk_manifest_parse (raw, type, error);
  if (m == NULL || !sk_manifest_validate_skiff (m, error))
    return g_prefix_error (error, "manifest '%s': ", what), NULL;
  return g_steal_pointer (&m);
}

/* ---------------------------------------------------------------- config */

static GBytes *
fetch_config (Pull *p, const SkManifest *m, GError **error)
{
  emit (p, SK_PULL_EVENT_CONFIG, m->config->digest, m->config->media_type, 0, m->config->size);
  g_autoptr (GBytes) bytes = p->src->get_blob_bytes (p->src_data, m->config->digest,
                                                         m->config->size, SK_CONFIG_MAX_SIZE, error);
  if (bytes == NULL)
    return g_prefix_error (error, "config '%s': ", m->config->digest), NULL;
  g_autoptr (SkConfig) cfg = sk_config_parse (bytes, error);
  if (cfg == NULL)
    return NULL;
  guint disk = 0;
  for (guint i = 0; i < m->layers->len; i++)
    {
      const SkDescriptor *d = m->layers->pdata[i];
      if (!sk_media_type_is_disk (d->media_type))
        continue;
      const char *diff_id = sk_descriptor_get_annotation (d, SK_ANNOTATION_DISK_DIFF_ID);
      if (disk >= cfg->diff_ids->len || !g_str_equal (cfg->diff_ids->pdata[disk], diff_id))
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                            "config '%s': diff_ids do not match the manifest's layers (layer %u)", m->config->digest,
                            disk), NULL;
      disk++;
    }
  if (disk != cfg->diff_ids->len)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "config '%s': %u diff_ids for %u disk layers",
                        m->config->digest, cfg->diff_ids->len, disk), NULL;
  const char *arch = p->opts->architecture ? p->opts->architecture : sk_oci_host_arch ();
  if (!g_str_equal (cfg->architecture, arch))
    sk_warn ("image '%s' is for %s, not %s", m->digest, cfg->architecture, arch);
  return g_steal_pointer (&bytes);
}

/* ---------------------------------------------------------------- blobs */

static char *
partial_path (Pull *p, const char *digest)
{
  g_autofree char *name = g_strdup_printf ("blob-%s.partial", sk_digest_hex (digest));
  return g_build_filename (sk_store_tmp_dir (p->store), name, NULL);
}

/* TRUE when the file already holds exactly the blob (a finished download
 * whose storing failed or was interrupted). */
static gboolean
partial_is_complete (int fd, const SkDescriptor *d)
{
  SkDigestAlgorithm alg;
  if (!sk_digest_validate (d->digest, &alg, NULL) || lseek (fd, 0, SEEK_SET) < 0)
    return FALSE;
  g_autofree char *got = sk_digest_fd (alg, fd, NULL, NULL);
  return got && g_str_equal (got, d->digest);
}

static SkStoreBlob *
existing_blob (Pull *p, const char *tree_path)
{
  g_autofree char *obj = sk_store_find_blob (p->store, tree_path);
  if (obj == NULL)
    return NULL;
  SkStoreBlob *b = g_new0 (SkStoreBlob, 1);
  b->tree_path = g_strdup (tree_path);
  b->object = g_steal_pointer (&obj);
  g_autofree char *path = sk_store_blob_path (p->store, b);
  struct stat st;
  if (stat (path, &st) < 0)
    return sk_store_blob_free (b), NULL;
  b->size = st.st_size;
  return b;
}

/* The store path an item is kept at. */
static char *
item_tree_path (const Item *it)
{
  if (it->disk)
    return g_strdup_printf ("layers/%s.qcow2", sk_digest_hex (sk_descriptor_get_annotation (it->d,
                                                                                        SK_ANNOTATION_DISK_DIFF_ID)));
  return g_strdup_printf ("boot/%s", sk_digest_hex (it->d->digest));
}

/* Opens and locks @it's partial file, noting what an earlier pull left.
 * Two pulls of the same blob take turns on the lock. */
static gboolean
item_open_partial (Item *it, GError **error)
{
  const SkDescriptor *d = it->d;
  it->path = partial_path (it->p, d->digest);
  GError *local_error = NULL;
  if (it->p->src->take_blob && !it->p->src->take_blob (it->p->src_data, d->digest, d->size, it->path, &local_error)
      && local_error)
    return g_propagate_error (error, local_error), FALSE;
  it->fd = open (it->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (it->fd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", it->path);
  if (flock (it->fd, LOCK_EX) < 0)
    return sk_error_from_errno (error, errno, "locking '%s'", it->path);
  struct stat st;
  if (fstat (it->fd, &st) < 0)
    return sk_error_from_errno (error, errno, "reading '%s'", it->path);
  it->resume = st.st_size <= d->size ? (guint64) st.st_size : 0;
  it->complete = it->resume == (guint64) d->size && partial_is_complete (it->fd, d);
  emit (it->p, SK_PULL_EVENT_BLOB_START, d->digest, d->media_type, it->resume, d->size);
  return TRUE;
}

static void
item_clear (Item *it)
{
  if (it->have)
    sk_store_blob_free (it->have);
  g_clear_pointer (&it->follower, sk_follower_free);
  g_clear_pointer (&it->inflater, inflater_free);
  g_clear_pointer (&it->recycler, sk_recycler_unref);
  g_free (it->object);
  sk_close_fdp (&it->fd);
  g_free (it->path);
  g_clear_error (&it->error);
}

static int
compare_digests (gconstpointer a, gconstpointer b)
{
  const Item *x = *(Item *const *) a, *y = *(Item *const *) b;
  return g_strcmp0 (x->d->digest, y->d->digest);
}

/* Finds what the store has, and opens the partial files of the rest (in
 * digest order, so that concurrent pulls lock them in one order). */
static gboolean
plan_items (Pull *p, Item *items, guint n, GError **error)
{
  g_autoptr (GPtrArray) fetch = g_ptr_array_new ();
  for (guint i = 0; i < n; i++)
    {
      Item *it = &items[i];
      if (!it->disk && !g_str_has_prefix (it->d->digest, "sha256:"))
        return g_set_error (error, SK_ERROR, SK_ERROR_UNSUPPORTED, "boot blob '%s': boot blobs must have sha256 digests",
                            it->d->digest), FALSE;
      g_autofree char *tree_path = item_tree_path (it);
      it->have = existing_blob (p, tree_path);
      if (it->have)
        emit (p, SK_PULL_EVENT_BLOB_SKIP, it->d->digest, it->d->media_type, it->have->size, it->have->size);
      else
        g_ptr_array_add (fetch, it);
    }
  g_ptr_array_sort (fetch, compare_digests);
  for (guint i = 0; i < fetch->len; i++)
    {
      Item *it = fetch->pdata[i];
      /* The same blob twice in one image: the first holds the lock. */
      if (i > 0 && compare_digests (&fetch->pdata[i - 1], &fetch->pdata[i]) == 0)
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "blob '%s' is listed twice", it->d->digest),
               FALSE;
      if (!item_open_partial (it, error))
        return g_prefix_error (error, "%s '%s': ", it->disk ? "layer" : "boot blob", it->d->digest), FALSE;
    }
  return TRUE;
}

/* TRUE for a blob the store keeps byte for byte (not decompressed). */
static gboolean
stored_as_is (const SkDescriptor *d)
{
  const char *compression = sk_pull_layer_compression (d->media_type);
  return compression == NULL || *compression == '\0';
}

/* ---------------------------------------------------------------- decompressed layers */

/* Where a decompressed layer goes: its file, written from start to end
 * (zero blocks left as holes, the disk writing as it goes), and two
 * hashes of its bytes: the diff-id, and the store's name for a file of
 * the size the manifest gives (so storing it needs no second read),
 * which a follower computes from the file on another core, as for
 * downloads. */
typedef struct {
  int fd;
  guint64 max_size;
  guint64 at, synced;
  SkHasher *diff;
  SkFollower *object;
} Unpacked;

static void
unpacked_init (Unpacked *u, int fd, guint64 max_size)
{
  g_autoptr (GBytes) header = sk_store_blob_header (max_size, NULL);
  *u = (Unpacked) { .fd = fd, .max_size = max_size, .diff = sk_hasher_new (SK_DIGEST_SHA256),
                    .object = sk_follower_new (fd, 0, SK_DIGEST_SHA256, header) };
  /* The follower is the file's one reader: what it has hashed goes back
   * to the page cache. */
  g_autoptr (SkRecycler) recycler = sk_recycler_new (fd);
  sk_follower_recycle (u->object, recycler);
}

static void
unpacked_clear (Unpacked *u)
{
  g_clear_pointer (&u->diff, sk_hasher_free);
  g_clear_pointer (&u->object, sk_follower_free);
}

/* Appends @len bytes: FALSE with @error past max_size, or when writing
 * fails. */
static gboolean
unpacked_write (Unpacked *u, const void *buf, gsize len, GError **error)
{
  if (u->at + len > u->max_size)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                        "decompressed layer is larger than its %" G_GUINT64_FORMAT " bytes", u->max_size), FALSE;
  if (!sk_pwrite_sparse (u->fd, buf, len, u->at))
    return sk_error_from_errno (error, errno, "writing the decompressed layer");
  sk_hasher_update (u->diff, buf, len);
  u->at += len;
  sk_follower_advance (u->object, u->at);
  sk_start_writeback (u->fd, &u->synced, u->at);
  return TRUE;
}

/* The end: the file gets its size (zeros at its end are a hole too).
 * Returns the bytes' sha256, and in *@out_object their store name when
 * there are max_size of them. */
static char *
unpacked_finish (Unpacked *u, char **out_object, GError **error)
{
  if (ftruncate (u->fd, (off_t) u->at) < 0)
    return sk_error_from_errno (error, errno, "writing the decompressed layer"), NULL;
  g_autofree char *object = NULL;
  *out_object = sk_follower_finish (u->object, u->at, &object) && u->at == u->max_size
                    ? g_strdup (sk_digest_hex (object))
                    : NULL;
  return sk_hasher_finish (u->diff);
}

/* ---------------------------------------------------------------- decompressing as it downloads */

/* A zstd layer decompressed by a follower as its download goes, into the
 * file of the store's tmp/ that decompressing after the download would
 * write (an Unpacked: holes, both hashes in the same pass).  Anything
 * unusual (the download starting over, bytes zstd refuses, more than the
 * annotation's size) only spoils it: the layer is then decompressed again
 * after the download, which reports what was wrong. */
typedef struct _Inflater {
  SkFollower *follower;
  ZSTD_DCtx *dctx;
  char *path;
  int fd;
  Unpacked u;
  size_t last; /* ZSTD_decompressStream's last answer: 0 at a frame's end */
  guint8 *out;
  gsize out_cap;
} Inflater;

static gboolean
inflate_consume (const guint8 *data, gsize len, gpointer user_data)
{
  Inflater *in = user_data;
  ZSTD_inBuffer ib = { data, len, 0 };
  while (ib.pos < ib.size)
    {
      ZSTD_outBuffer ob = { in->out, in->out_cap, 0 };
      in->last = ZSTD_decompressStream (in->dctx, &ob, &ib);
      if (ZSTD_isError (in->last) || (ob.pos > 0 && !unpacked_write (&in->u, in->out, ob.pos, NULL)))
        return FALSE;
    }
  return TRUE;
}

static void
inflater_advance (Inflater *in, guint64 written)
{
  sk_follower_advance (in->follower, written);
}

static void
inflater_free (Inflater *in)
{
  if (in == NULL)
    return;
  sk_follower_free (in->follower); /* first: it stops the threads */
  unpacked_clear (&in->u);
  ZSTD_freeDCtx (in->dctx);
  sk_close_fdp (&in->fd);
  if (in->path)
    (void) unlink (in->path);
  g_free (in->path);
  g_free (in->out);
  g_free (in);
}

/* An inflater for @it's download (a zstd disk layer), or NULL. */
static Inflater *
inflater_new (Item *it)
{
  const char *diff_id = sk_descriptor_get_annotation (it->d, SK_ANNOTATION_DISK_DIFF_ID);
  const char *size = sk_descriptor_get_annotation (it->d, SK_ANNOTATION_DISK_SIZE);
  if (diff_id == NULL || size == NULL || !g_str_equal (sk_pull_layer_compression (it->d->media_type), "zstd"))
    return NULL;
  Inflater *in = g_new0 (Inflater, 1);
  in->fd = -1;
  g_autofree char *name = g_strdup_printf ("layer-%s.qcow2.tmp", sk_digest_hex (diff_id));
  in->path = g_build_filename (sk_store_tmp_dir (it->p->store), name, NULL);
  in->fd = open (in->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  in->dctx = ZSTD_createDCtx ();
  if (in->fd < 0 || in->dctx == NULL)
    {
      inflater_free (in);
      return NULL;
    }
  in->out_cap = ZSTD_DStreamOutSize ();
  in->out = g_malloc (in->out_cap);
  unpacked_init (&in->u, in->fd, g_ascii_strtoull (size, NULL, 10));
  in->follower = sk_follower_new_full (it->fd, it->resume, inflate_consume, in);
  /* The compressed bytes stay on disk (a later pull resumes from them);
   * once decompressed, their pages are the ones the layer is written into
   * next. */
  if (it->recycler)
    sk_follower_recycle (in->follower, it->recycler);
  return in;
}

/* After the download: TRUE when the inflater decompressed all of it into
 * a whole zstd stream of the annotated size. */
static gboolean
inflater_finish (Inflater *in, guint64 size)
{
  return sk_follower_finish_full (in->follower, size) && in->last == 0 && in->u.at == in->u.max_size;
}

/* Downloads every item that needs it, SK_PULL_PARALLEL at a time. */
static gboolean
download_items (Pull *p, Item *items, guint n, GError **error)
{
  g_autofree SkRegistryBlobJob *jobs = g_new0 (SkRegistryBlobJob, n);
  g_autofree Item **owners = g_new0 (Item *, n);
  guint n_jobs = 0;
  for (guint i = 0; i < n; i++)
    {
      Item *it = &items[i];
      if (it->have || it->complete)
        continue;
      jobs[n_jobs] = (SkRegistryBlobJob) { .digest = it->d->digest, .size = it->d->size, .fd = it->fd,
                                           .resume_from = it->resume, .progress = on_bytes, .progress_data = it };
      owners[n_jobs++] = it;
      /* A blob stored as it is downloaded gets its store name hashed
       * meanwhile, on another core. */
      g_autoptr (GBytes) header = stored_as_is (it->d) ? sk_store_blob_header (it->d->size, NULL) : NULL;
      /* Read back as it downloads (by these and by the source's hasher),
       * its pages go back to the page cache as the readers pass them; a
       * blob only decompressed after its download keeps them. */
      it->recycler = header || it->disk ? sk_recycler_new (it->fd) : NULL;
      if (header)
        {
          it->follower = sk_follower_new (it->fd, it->resume, SK_DIGEST_SHA256, header);
          sk_follower_recycle (it->follower, it->recycler);
        }
      else if (it->disk)
        it->inflater = inflater_new (it);
      if (it->follower == NULL && it->inflater == NULL)
        g_clear_pointer (&it->recycler, sk_recycler_unref);
      jobs[n_jobs - 1].recycler = it->recycler;
    }
  if (n_jobs == 0)
    return TRUE;
  if (p->src->get_blobs && !p->src->get_blobs (p->src_data, jobs, n_jobs, SK_PULL_PARALLEL, error))
    return FALSE;
  /* A source without parallel downloads: one after the other. */
  for (guint i = 0; p->src->get_blobs == NULL && i < n_jobs; i++)
    p->src->get_blob (p->src_data, jobs[i].digest, jobs[i].size, jobs[i].fd, jobs[i].resume_from, jobs[i].progress,
                      jobs[i].progress_data, &jobs[i].error);
  for (guint i = 0; i < n_jobs; i++)
    {
      Item *it = owners[i];
      it->error = jobs[i].error;
      g_autofree char *object = NULL;
      if (it->follower && it->error == NULL && sk_follower_finish (it->follower, it->d->size, &object))
        {
          it->object = g_strdup (sk_digest_hex (object));
          sk_debug ("blob '%s': hashed for the store during its download", it->d->digest);
        }
      g_clear_pointer (&it->follower, sk_follower_free);
      if (it->inflater && (it->error || !inflater_finish (it->inflater, it->d->size)))
        {
          sk_debug ("layer '%s': decompressing during the download did not work out", it->d->digest);
          g_clear_pointer (&it->inflater, inflater_free);
        }
    }
  return TRUE;
}

/* Settles @it's download: bytes from an earlier pull may be wrong (a blob
 * that changed, a damaged file), so a mismatch after resuming starts over
 * from 0 once.  A wrong blob is removed; a broken download stays to be
 * resumed (when it got anywhere). */
static gboolean
finish_download (Item *it, GError **error)
{
  Pull *p = it->p;
  const SkDescriptor *d = it->d;
  if (it->error && it->resume > 0 && g_error_matches (it->error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH))
    {
      sk_debug ("resumed download of '%s' does not match: starting over", d->digest);
      g_clear_error (&it->error);
      p->src->get_blob (p->src_data, d->digest, d->size, it->fd, 0, on_bytes, it, &it->error);
    }
  if (it->error == NULL)
    {
      emit (p, SK_PULL_EVENT_BLOB_DONE, d->digest, d->media_type, d->size, d->size);
      return TRUE;
    }
  struct stat st;
  if (g_error_matches (it->error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH) || (fstat (it->fd, &st) == 0 && st.st_size == 0))
    (void) unlink (it->path);
  g_propagate_error (error, g_steal_pointer (&it->error));
  return FALSE;
}

/* Streams @in_fd through @compression ("gzip", "zstd") into @out_fd (an
 * empty file; zero blocks stay holes, and the disk starts writing as it
 * goes, as for downloads), refusing more than @max_size bytes; returns
 * the sha256 of the output, and in @out_object its store name when it has
 * @max_size bytes (hashed in the same pass: no second read). */
static char *
decompress (int in_fd, const char *compression, int out_fd, guint64 max_size, guint64 *out_size, char **out_object,
            GError **error)
{
  g_autoptr (SkArchive) a = archive_read_new ();
  int r = g_str_equal (compression, "gzip") ? archive_read_support_filter_gzip (a)
                                            : archive_read_support_filter_zstd (a);
  /* ARCHIVE_WARN: done by an external program; still correct. */
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
    return sk_error_from_archive (error, a, compression), NULL;
  struct archive_entry *entry;
  if (archive_read_support_format_raw (a) != ARCHIVE_OK || lseek (in_fd, 0, SEEK_SET) < 0
      || archive_read_open_fd (a, in_fd, COPY_CHUNK) != ARCHIVE_OK || archive_read_next_header (a, &entry) != ARCHIVE_OK)
    return sk_error_from_archive (error, a, "decompressing the layer"), NULL;
  Unpacked u;
  unpacked_init (&u, out_fd, max_size);
  g_autofree guint8 *buf = g_malloc (COPY_CHUNK);
  char *digest = NULL;
  for (;;)
    {
      la_ssize_t n = archive_read_data (a, buf, COPY_CHUNK);
      if (n < 0)
        {
          sk_error_from_archive (error, a, "decompressing the layer");
          break;
        }
      if (n == 0)
        {
          digest = unpacked_finish (&u, out_object, error);
          break;
        }
      if (!unpacked_write (&u, buf, n, error))
        break;
    }
  *out_size = u.at;
  unpacked_clear (&u);
  return digest;
}

typedef struct {
  char *partial;    /* downloaded blob */
  char *unpacked;   /* decompressed qcow2, when compressed */
  char *object;     /* the store name of unpacked, when known */
} LayerFiles;

static void
layer_files_clear (LayerFiles *f)
{
  if (f->partial)
    (void) unlink (f->partial);
  if (f->unpacked)
    (void) unlink (f->unpacked);
  g_clear_pointer (&f->partial, g_free);
  g_clear_pointer (&f->unpacked, g_free);
  g_clear_pointer (&f->object, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LayerFiles, layer_files_clear)

/* Turns the downloaded blob into the layer's qcow2: decompressed when it
 * is compressed, checked against the diff-id and size either way.
 * Returns an fd of the qcow2 (its path is @files->unpacked or partial). */
static int
unpack_layer (Item *it, LayerFiles *files, const char **out_path, GError **error)
{
  Pull *p = it->p;
  const SkDescriptor *d = it->d;
  int blob_fd = it->fd;
  const char *diff_id = sk_descriptor_get_annotation (d, SK_ANNOTATION_DISK_DIFF_ID);
  guint64 want_size = g_ascii_strtoull (sk_descriptor_get_annotation (d, SK_ANNOTATION_DISK_SIZE), NULL, 10);
  const char *compression = sk_pull_layer_compression (d->media_type);
  g_autofree char *digest = NULL;
  guint64 size = 0;
  if (*compression == '\0')
    {
      digest = g_str_equal (d->digest, diff_id) ? g_strdup (d->digest) : NULL;
      size = d->size;
      *out_path = files->partial;
      if (digest && size == want_size)
        return dup (blob_fd);
    }
  else if (it->inflater)
    {
      /* decompressed during the download */
      Inflater *in = it->inflater;
      files->unpacked = g_steal_pointer (&in->path);
      digest = unpacked_finish (&in->u, &files->object, error);
      if (digest == NULL)
        return -1;
      size = in->u.at;
      *out_path = files->unpacked;
      sk_debug ("layer '%s': decompressed during its download", d->digest);
      if (g_str_equal (digest, diff_id) && size == want_size)
        return g_steal_fd (&in->fd);
    }
  else
    {
      g_autofree char *name = g_strdup_printf ("layer-%s.qcow2.tmp", sk_digest_hex (diff_id));
      files->unpacked = g_build_filename (sk_store_tmp_dir (p->store), name, NULL);
      sk_autofd int out = open (files->unpacked, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (out < 0)
        return sk_error_from_errno (error, errno, "creating '%s'", files->unpacked), -1;
      digest = decompress (blob_fd, compression, out, want_size, &size, &files->object, error);
      if (digest == NULL)
        return -1;
      *out_path = files->unpacked;
      if (g_str_equal (digest, diff_id) && size == want_size)
        return g_steal_fd (&out);
    }
  return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                      "uncompressed layer does not match its diff-id '%s' and size %" G_GUINT64_FORMAT
                      " (got %s, %" G_GUINT64_FORMAT " bytes)", diff_id, want_size, digest ? digest : d->digest, size), -1;
}

/* Checks and stores a downloaded disk layer whose parent is
 * @parent_diff_id (NULL for the base). */
static gboolean
store_disk (Item *it, const char *parent_diff_id, GError **error)
{
  Pull *p = it->p;
  const SkDescriptor *d = it->d;
  const char *diff_id = sk_descriptor_get_annotation (d, SK_ANNOTATION_DISK_DIFF_ID);
  g_autofree char *backing = parent_diff_id ? g_strdup_printf ("%s.qcow2", sk_digest_hex (parent_diff_id)) : NULL;
  g_auto (LayerFiles) files = { .partial = g_strdup (it->path) };
  const char *qcow2 = NULL;
  sk_autofd int fd = unpack_layer (it, &files, &qcow2, error);
  if (fd < 0 || !sk_qcow2_verify (qcow2, backing, NULL, error))
    return FALSE;
  /* The verified file itself becomes the stored layer (no copy). */
  const char *object = qcow2 == files.partial ? it->object : files.object;
  g_autoptr (SkStoreBlob) blob = sk_store_adopt_blob (p->store, fd, qcow2, object, "layers", ".qcow2", diff_id,
                                                      error);
  if (blob == NULL)
    return FALSE;
  /* The stored copy is what qemu will open: when it is another file (the
   * store had the content already) it must pass the same checks. */
  g_autofree char *stored = sk_store_blob_path (p->store, blob);
  struct stat a, b;
  gboolean same = fstat (fd, &a) == 0 && stat (stored, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  if (!same && !sk_qcow2_verify (stored, backing, NULL, error))
    return g_prefix_error (error, "the stored copy changed: "), FALSE;
  g_ptr_array_add (p->blobs, g_steal_pointer (&blob));
  return TRUE;
}

/* Stores a downloaded kernel or initrd. */
static gboolean
store_boot (Item *it, GError **error)
{
  g_auto (LayerFiles) files = { .partial = g_strdup (it->path) };
  SkStoreBlob *blob = sk_store_adopt_blob (it->p->store, it->fd, it->path, it->object, "boot", NULL, it->d->digest,
                                           error);
  if (blob == NULL)
    return FALSE;
  g_ptr_array_add (it->p->blobs, blob);
  return TRUE;
}

/* Each item, in the manifest's order: stored already, or its download
 * settled, checked and stored. */
static gboolean
store_items (Pull *p, Item *items, guint n, GError **error)
{
  const char *parent = NULL;
  for (guint i = 0; i < n; i++)
    {
      Item *it = &items[i];
      gboolean ok = TRUE;
      if (it->have)
        g_ptr_array_add (p->blobs, g_steal_pointer (&it->have));
      else
        ok = finish_download (it, error) && (it->disk ? store_disk (it, parent, error) : store_boot (it, error));
      if (!ok)
        return g_prefix_error (error, "%s '%s': ", it->disk ? "layer" : "boot blob", it->d->digest), FALSE;
      if (it->disk)
        parent = sk_descriptor_get_annotation (it->d, SK_ANNOTATION_DISK_DIFF_ID);
    }
  return TRUE;
}

static gboolean
pull_layers (Pull *p, const SkManifest *m, GError **error)
{
  guint n = m->layers->len;
  g_autofree Item *items = g_new0 (Item, n);
  for (guint i = 0; i < n; i++)
    items[i] = (Item) { .p = p, .d = m->layers->pdata[i], .fd = -1,
                        .disk = sk_media_type_is_disk (((SkDescriptor *) m->layers->pdata[i])->media_type) };
  gboolean ok = plan_items (p, items, n, error) && download_items (p, items, n, error)
                && store_items (p, items, n, error);
  for (guint i = 0; i < n; i++)
    item_clear (&items[i]);
  return ok;
}

/* ---------------------------------------------------------------- pull */

static char *
commit_image (Pull *p, const SkManifest *m, GBytes *config, GError **error)
{
  g_autofree char *tag = sk_reference_to_string (p->ref);
  g_autofree char *digest = sk_store_commit_image (p->store, m->raw, config, p->blobs, tag, error);
  if (digest == NULL)
    return NULL;
  g_autoptr (SkStoreImage) img = sk_store_lookup (p->store, digest, error);
  if (img == NULL || !sk_store_checkout (p->store, img, error))
    return NULL;
  return g_steal_pointer (&digest);
}

gboolean
sk_pull_image (SkStore *store, const SkPullSource *src, gpointer src_data, const SkReference *ref,
               const SkPullOptions *opts, char **out_digest, GError **error)
{
  g_autoptr (GPtrArray) blobs = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_store_blob_free);
  Pull p = { .store = store, .src = src, .src_data = src_data, .ref = ref, .opts = opts, .blobs = blobs };
  g_autoptr (SkManifest) m = resolve_manifest (&p, error);
  if (m == NULL)
    return FALSE;
  emit (&p, SK_PULL_EVENT_MANIFEST, m->digest, m->media_type, 0, 0);
  g_autoptr (GBytes) config = fetch_config (&p, m, error);
  if (config == NULL || !pull_layers (&p, m, error))
    return FALSE;
  emit (&p, SK_PULL_EVENT_STORING, m->digest, m->media_type, 0, 0);
  char *digest = commit_image (&p, m, config, error);
  if (digest == NULL)
    return FALSE;
  *out_digest = digest;
  return TRUE;
}

/* ---------------------------------------------------------------- registry source */

typedef struct {
  SkRegistryClient *client;
  const char *repository;
} RegistrySource;

static gboolean
registry_get_manifest (gpointer data, const char *ref, GBytes **out_raw, char **out_media_type, char **out_digest,
                       GError **error)
{
  RegistrySource *r = data;
  return sk_registry_get_manifest (r->client, r->repository, ref, out_raw, out_media_type, out_digest, error);
}

static gboolean
registry_get_blob (gpointer data, const char *digest, gint64 size, int fd, guint64 resume_from,
                   SkHttpProgress progress, gpointer progress_data, GError **error)
{
  RegistrySource *r = data;
  return sk_registry_get_blob (r->client, r->repository, digest, size, fd, resume_from, progress, progress_data,
                               error);
}

static gboolean
registry_get_blobs (gpointer data, SkRegistryBlobJob *jobs, guint n_jobs, guint parallel, GError **error)
{
  RegistrySource *r = data;
  return sk_registry_get_blobs (r->client, r->repository, jobs, n_jobs, parallel, error);
}

static GBytes *
registry_get_blob_bytes (gpointer data, const char *digest, gint64 size, gsize max_size, GError **error)
{
  RegistrySource *r = data;
  return sk_registry_get_blob_bytes (r->client, r->repository, digest, size, max_size, error);
}

static const SkPullSource registry_source = {
  .get_manifest = registry_get_manifest,
  .get_blob = registry_get_blob,
  .get_blobs = registry_get_blobs,
  .get_blob_bytes = registry_get_blob_bytes,
};

gboolean
sk_registry_pull (SkStore *store, const SkReference *ref, const SkPullOptions *opts, char **out_digest,
                  GError **error)
{
  if (ref->kind != SK_REFERENCE_REGISTRY || ref->domain == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE, "not a registry reference"), FALSE;
  SkRegistryOptions ropts = { .tls_verify = opts->tls_verify, .cert_dir = opts->cert_dir, .authfile = opts->authfile };
  g_autoptr (SkRegistryClient) client = sk_registry_client_new (ref->domain, &ropts, error);
  if (client == NULL)
    return FALSE;
  RegistrySource r = { .client = client, .repository = ref->path };
  return sk_pull_image (store, &registry_source, &r, ref, opts, out_digest, error);
}
