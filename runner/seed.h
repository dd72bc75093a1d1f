/* skiff — the cloud-init NoCloud seed ISO of a VM.
 *
 * ISO9660 written by libarchive (no helper program): volume id "cidata"
 * (libarchive upper-cases the primary descriptor's to CIDATA; the Joliet
 * descriptor and blkid say "cidata"; cloud-init accepts both), Rock Ridge
 * and Joliet names so the files are seen as "meta-data", "user-data", ...
 * at the root, level 2, no trailing padding.  About 10 ms. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The seed's files as text.  meta_data and user_data are required (an
 * empty user-data is valid); the others are written only when non-NULL. */
typedef struct {
  const char *meta_data;
  const char *user_data;
  const char *network_config; /* v1 or v2 YAML, passed through */
  const char *vendor_data;
} SkSeedFiles;

/* Writes the seed ISO to @path through a temporary file in the same
 * directory, renamed into place, so @path is either the old file or the
 * complete new one; not fsynced (a new VM is made durable as a whole by
 * sk_vm_sync, off the path to qemu's start).  Mode 0600: user-data holds the guest's
 * private host key.  Fails with SK_ERROR_INVALID_DATA when a
 * required file is missing, else with the libarchive or errno message. */
gboolean sk_seed_write_iso (const char *path, const SkSeedFiles *files, GError **error);

G_END_DECLS
