/* skiff — turning a disk file into a one-layer image (skiff import). */
#pragma once

#include "store/store.h"

G_BEGIN_DECLS

typedef struct {
  const char *kernel;   /* direct kernel boot: kernel file, or NULL */
  const char *initrd;   /* with a kernel only */
  const char *cmdline;
  const char *arch;     /* OCI name; NULL: the host's */
  guint memory_mib;     /* 0: 512 */
  guint cpus;           /* 0: 1 */
  const char *user;     /* default cloud-init user, or NULL */
} SkImportOptions;

/* Validates @disk (qcow2 with no backing file, or raw, or another format
 * qemu-img converts that names no other file), stores it as the image's
 * only layer with the boot blobs and a config built from @opts, and tags
 * it @tag (a full reference string).  Returns the manifest digest.
 * Nothing is stored when any check fails. */
char *sk_store_import_disk (SkStore *store, const char *disk, const SkImportOptions *opts, const char *tag,
                            GError **error);

G_END_DECLS
