/* skiff — the local image store, on one libostree repository.
 *
 * Layout under the store root:
 *   repo/            ostree repository, bare-user mode
 *   layers/<hex>.qcow2  read-only hardlinks of layer objects (hex = diff-id)
 *   boot/<hex>       hardlinks of kernel/initrd blobs (hex = blob digest)
 *   holds/<hex>/<who>  images in use (by VMs), never pruned
 *   tmp/             scratch files of running commands (emptied by prune)
 *   store.lock       flock: shared for every change, exclusive for prune
 *
 * An image is one ostree commit whose tree holds manifest.json, config.json
 * (the exact bytes that were hashed), layers/<diff-id hex>.qcow2 and
 * boot/<digest hex>; commit metadata "skiff.manifest-digest" names it.
 * Refs: skiff/images/<manifest hex> for every stored image, and
 * skiff/tags/<escaped name> for each tag ("docker.io/library/x:latest").
 * Identical layers are one content object, whatever image holds them. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _SkStore SkStore;

/* Opens the store at @root, creating it (and the repository) if needed. */
SkStore *sk_store_open (const char *root, GError **error);
void sk_store_free (SkStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkStore, sk_store_free)

const char *sk_store_root (SkStore *store);
/* The directory of layer hardlinks, where every <hex>.qcow2 lives. */
const char *sk_store_layers_dir (SkStore *store);
/* Scratch space on the store's filesystem; prune empties it. */
const char *sk_store_tmp_dir (SkStore *store);

typedef enum { SK_STORE_LOCK_SHARED, SK_STORE_LOCK_EXCLUSIVE } SkStoreLockMode;
/* Takes the store lock for the life of @store (blocking).  Changes take it
 * shared, garbage collection exclusive. */
gboolean sk_store_lock (SkStore *store, SkStoreLockMode mode, GError **error);

/* ---- writing ---- */

/* A blob ready to be part of an image: its place in the image tree and the
 * ostree content object holding it. */
typedef struct {
  char *tree_path; /* "layers/<hex>.qcow2", "boot/<hex>" */
  char *object;    /* ostree content checksum */
  guint64 size;
} SkStoreBlob;
void sk_store_blob_free (SkStoreBlob *blob);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkStoreBlob, sk_store_blob_free)

/* Streams @fd (from offset 0 to EOF) into the repository as a read-only
 * file, computing its sha256 in the same pass.  When @expected_digest is
 * given the bytes must match it (SK_ERROR_DIGEST_MISMATCH) and, if the
 * store already has that content, nothing is read at all.  Returns the
 * blob with tree_path "<dir>/<hex>[suffix]"; @out_digest gets the sha256. */
SkStoreBlob *sk_store_write_blob (SkStore *store, int fd, const char *dir, const char *suffix,
                                  const char *expected_digest, char **out_digest, GError **error);

/* Like sk_store_write_blob, but takes the file itself instead of a copy:
 * @path (open as @fd) must be a file on the store's filesystem (its tmp
 * directory) that nothing else writes to; it becomes read-only and is
 * linked into the repository (the caller still removes @path).  The
 * caller vouches for @expected_digest (it hashed the bytes as it wrote
 * them), and for @object (hex; may be NULL) when it also hashed them after
 * sk_store_blob_header: what the caller did not compute is computed here. */
SkStoreBlob *sk_store_adopt_blob (SkStore *store, int fd, const char *path, const char *object, const char *dir,
                                  const char *suffix, const char *expected_digest, GError **error);

/* The bytes ostree hashes before a blob's own to name its object. */
GBytes *sk_store_blob_header (guint64 size, GError **error);

/* The absolute path of the repository file holding @blob (read-only). */
char *sk_store_blob_path (SkStore *store, const SkStoreBlob *blob);

/* Stores a small in-memory file (manifest, config) and returns its object. */
char *sk_store_write_small (SkStore *store, GBytes *bytes, GError **error);

/* The ostree object already holding tree path @tree_path in some stored
 * image, or NULL. */
char *sk_store_find_blob (SkStore *store, const char *tree_path);

/* Commits an image made of @manifest, @config and @blobs (SkStoreBlob),
 * and points @tag (a full reference string, may be NULL) at it, all in one
 * ostree transaction.  Returns the manifest digest. */
char *sk_store_commit_image (SkStore *store, GBytes *manifest, GBytes *config, GPtrArray *blobs,
                             const char *tag, GError **error);

/* ---- reading ---- */

typedef struct {
  char *digest;   /* manifest digest, "sha256:..." */
  char *commit;   /* ostree commit */
  GPtrArray *tags; /* full reference strings, sorted */
  gint64 created; /* unix time the image was stored */
  GBytes *manifest; /* NULL until sk_store_image_load (lookup loads them) */
  GBytes *config;
  guint64 size;   /* sum of its blobs */
  gboolean held;  /* a VM uses it */
} SkStoreImage;
void sk_store_image_free (SkStoreImage *img);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkStoreImage, sk_store_image_free)

/* Reads the image's manifest.json and config.json into @img. */
gboolean sk_store_image_load (SkStore *store, SkStoreImage *img, GError **error);

/* Every stored image, newest first (manifest and config not loaded). */
GPtrArray *sk_store_list_images (SkStore *store, GError **error);

/* Finds an image by full tag, by manifest digest ("sha256:<hex>") or by a
 * unique prefix of at least 4 hex digits of it.  SK_ERROR_NOT_FOUND. */
SkStoreImage *sk_store_lookup (SkStore *store, const char *name, GError **error);

/* Blobs of an image (tree path, object, size), layers in chain order. */
GPtrArray *sk_store_image_blobs (SkStore *store, SkStoreImage *img, GError **error);

/* Makes sure every blob of @img has its hardlink under layers/ or boot/. */
gboolean sk_store_checkout (SkStore *store, SkStoreImage *img, GError **error);

/* ---- tags, removal, holds ---- */

gboolean sk_store_tag (SkStore *store, const char *digest, const char *tag, GError **error);
/* Removes @tag; when it was the image's last tag and nothing holds the
 * image, the image goes too (its blobs go at the next prune). */
gboolean sk_store_untag (SkStore *store, const char *tag, gboolean *out_image_removed, GError **error);
/* Removes an image and every tag of it. */
gboolean sk_store_remove_image (SkStore *store, const char *digest, GError **error);

gboolean sk_store_hold (SkStore *store, const char *digest, const char *holder, GError **error);
gboolean sk_store_release (SkStore *store, const char *digest, const char *holder, GError **error);
GPtrArray *sk_store_holders (SkStore *store, const char *digest);

/* ---- maintenance ---- */

/* Removes images that no tag and no hold reference, then every object and
 * layer link they alone used.  Needs the exclusive lock (takes it). */
gboolean sk_store_prune (SkStore *store, guint *out_images, guint64 *out_bytes_freed, GError **error);

/* Verifies every object: ostree checksums, manifest and config digests,
 * each layer's diff-id and qcow2 header, the layer links.  Problems go to
 * @out_problems (one line each); FALSE only when fsck itself failed. */
gboolean sk_store_fsck (SkStore *store, GPtrArray **out_problems, GError **error);

typedef struct {
  guint images;
  guint layers;
  guint64 unique_bytes;  /* bytes of distinct blobs */
  guint64 shared_bytes;  /* bytes images would take without sharing */
} SkStoreUsage;
gboolean sk_store_usage (SkStore *store, SkStoreUsage *out, GError **error);

/* Escapes a reference for use as an ostree ref component and back. */
char *sk_store_escape_ref (const char *name);
char *sk_store_unescape_ref (const char *escaped);

G_END_DECLS
