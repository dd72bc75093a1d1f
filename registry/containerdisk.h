/* skiff — KubeVirt containerDisks: regular container images whose layer
 * holds the VM's disk as /disk/<name>.qcow2 or /disk/<name>.img.
 *
 * Import finds the disk in the top-most layer that has one (each layer
 * downloaded verified into the store's tmp/, then read as a tar stream
 * with the archive rules of oci/layout-tar.h), streams it out and imports
 * it as `skiff import` would, with every disk check. */
#pragma once

#include "oci/reference.h"
#include "registry/pull.h"
#include "registry/push.h"
#include "store/import.h"

G_BEGIN_DECLS

/* Imports the containerDisk @ref names into @store as a one-layer image
 * tagged @tag, with @iopts for its settings.  @out_digest gets the stored
 * manifest digest.  SK_ERROR_INVALID_IMAGE when @ref is a skiff image or
 * holds no disk. */
gboolean sk_containerdisk_import (SkStore *store, const SkReference *ref, const SkPullOptions *opts,
                                  const SkImportOptions *iopts, const char *tag, char **out_digest, GError **error);

/* Pushes @img's whole disk as a containerDisk to @dest: an OCI image of
 * one uncompressed tar layer holding disk/ and disk/disk.qcow2 (uid and
 * gid 107, KubeVirt's qemu user), the shape `ADD --chown=107:107 disk.qcow2
 * /disk/` gives.  @out_digest gets the manifest digest. */
gboolean sk_containerdisk_export (SkStore *store, SkStoreImage *img, const SkReference *dest,
                                  const SkPushOptions *opts, char **out_digest, GError **error);

/* TRUE for "disk/<name>.qcow2" and "disk/<name>.img" (a cleaned tar name). */
gboolean sk_containerdisk_is_disk_name (const char *name);

G_END_DECLS
