/* skiff — new layers from disks skiff made (commit), one-layer copies of a
 * chain (squash), and self-contained disks for other tools (export).
 *
 * Every qcow2 that becomes a layer is written by qemu-img convert into a
 * scratch directory under the store's tmp/, validated as import validates
 * (store/qcow2.h, both opinions), streamed into the store and validated
 * again there.  Nothing is tagged until the image is committed whole. */
#pragma once

#include "store/store.h"

G_BEGIN_DECLS

typedef struct {
  const char *comment;        /* history comment (commit -m), may be NULL */
  const char *created_by;     /* history created_by */
  const char *const *changes; /* config changes "memory=MIB", "cpus=N",
                                 "user=NAME", "cmdline=STRING"; may be NULL */
} SkLayerOptions;

/* `qemu-img convert` of the qcow2 @src into @out in @format ("qcow2",
 * "raw"): with @backing (a layer name) only the clusters @src itself
 * allocates are copied and @out names @backing as its parent; without,
 * @out is the whole disk, self-contained.  Pure. */
GStrv sk_layer_convert_argv (const char *src, const char *backing, const char *format, const char *out);

/* Makes the VM overlay @overlay a new top layer on @parent: its backing
 * file must be exactly @layers_rel/<hex of parent's top diff-id>.qcow2
 * (else SK_ERROR_INVALID_IMAGE: a tampered overlay), only its allocated
 * clusters are kept, and the layer names its parent by content.  The new
 * image gets a history entry and is tagged @tag.  Returns its manifest
 * digest.  The cost grows with what the overlay holds, not the image. */
char *sk_store_commit_layer (SkStore *store, SkStoreImage *parent, const char *overlay, const char *layers_rel,
                             const SkLayerOptions *opts, const char *tag, GError **error);

/* Flattens @img's chain into one self-contained layer: a new image tagged
 * @tag with the same boot blobs and settings.  Returns its digest. */
char *sk_store_squash (SkStore *store, SkStoreImage *img, const SkLayerOptions *opts, const char *tag,
                       GError **error);

/* Writes @img's whole disk to @out as one self-contained file in @format
 * ("qcow2" or "raw"), through a temporary beside it renamed into place. */
gboolean sk_store_export_disk (SkStore *store, SkStoreImage *img, const char *out, const char *format,
                               GError **error);

G_END_DECLS
