/* skiff — which bytes each layer of a stored image is pushed as, shared
 * by the registry and S3 pushes.
 *
 * The store keeps every disk layer as its uncompressed qcow2 (named by
 * diff-id).  A push sends each layer compressed as asked (--compression),
 * or as the image's manifest has it:
 *
 *  - uncompressed: the stored file itself;
 *  - a compression the manifest already names (an image pulled
 *    compressed): nothing when the destination has that blob (HEAD, or a
 *    mount); else the layer compressed again, which gives other bytes
 *    than the original compressor did, so the manifest changes;
 *  - another compression: the blob skiff made last time for this layer
 *    and algorithm (registry/blob-cache.h), when the destination has it;
 *    else the layer is compressed now (registry/compress.h, deterministic)
 *    into an unnamed file in the store's tmp/, uploaded, and forgotten.
 *
 * Kernel and initrd blobs go as stored.  The manifest pushed is the
 * stored one, byte for byte, when no layer changed; else a new one with
 * the pushed layers (same config, same annotations). */
#pragma once

#include <gio/gio.h>

#include "oci/manifest.h"
#include "registry/compress.h"
#include "store/store.h"

G_BEGIN_DECLS

/* A layer being compressed into a file by another thread, for a target
 * that sends it on as it comes. */
typedef struct _SkGrowing SkGrowing;

/* Waits until the file has at least @want bytes or is complete; returns
 * how many it has (final bytes), with *@out_complete set when that is
 * all of them; -1 when the compression failed (the push reports why). */
gint64 sk_growing_wait (SkGrowing *g, guint64 want, gboolean *out_complete);

/* The compressed blob's digest, once sk_growing_wait said complete. */
const char *sk_growing_digest (SkGrowing *g);

/* Where the layers go, as the push module sees it. */
typedef struct {
  /* *@out_present: the destination has @desc already (and has counted and
   * reported it as skipped or mounted). */
  gboolean (*present) (gpointer data, const SkDescriptor *desc, gboolean *out_present, GError **error);
  /* Uploads @desc: @desc->size bytes of @fd from offset 0 (and counts and
   * reports it). */
  gboolean (*upload) (gpointer data, const SkDescriptor *desc, int fd, GError **error);
  /* Optional: a context for another thread pushing other layers at the
   * same time (its own connection), given back to @unfork when done.
   * Without them layers go one after the other. */
  gpointer (*fork) (gpointer data, GError **error);
  void (*unfork) (gpointer data, gpointer forked);
  /* Optional: uploads a layer while it is compressed into @fd, as @g
   * tells how far it got, so the two overlap.  Once @g is complete,
   * @desc gets the blob's digest and size and the target asks itself
   * whether it has that blob (then it drops the upload and sets
   * *@out_present).  A blob complete before a first part could go is not
   * started: *@out_started FALSE (no error), and the caller goes on as
   * for a compressed file (present, then upload). */
  gboolean (*upload_growing) (gpointer data, SkDescriptor *desc, int fd, SkGrowing *g, gboolean *out_started,
                              gboolean *out_present, GError **error);
} SkPushTarget;

/* Layers pushed at once when the target can fork: a registry spends more
 * CPU receiving a blob than skiff spends sending it, one core per upload. */
#define SK_PUSH_PARALLEL 3

/* How a disk layer stored uncompressed goes out unless told otherwise: as
 * docker, podman and tart do, a push compresses (a VM disk is mostly
 * zeros and file-system slack, and the registry then stores and hashes
 * less). */
#define SK_PUSH_DEFAULT_COMPRESSION SK_COMPRESSION_ZSTD

typedef struct {
  gboolean set;               /* FALSE: each layer as the manifest has it, */
  SkCompression uncompressed; /* except that uncompressed ones go as this */
  SkCompression compression;  /* when set: every disk layer */
} SkPushCompression;

/* Makes sure @target has every layer of @m (an image of @store with the
 * blobs @blobs) and returns the layer descriptors as pushed.  With a
 * target that forks, up to SK_PUSH_PARALLEL layers go at once; the
 * target's callbacks then run on several threads (each with its own
 * context) and must serialise what they share. */
GPtrArray *sk_push_layers (SkStore *store, GPtrArray *blobs, const SkManifest *m, const SkPushCompression *want,
                           const SkPushTarget *target, gpointer data, GError **error);

/* @m when @layers are its layers (a new reference), else a new manifest
 * with them. */
SkManifest *sk_push_manifest (const SkManifest *m, GPtrArray *layers, GError **error);

G_END_DECLS
