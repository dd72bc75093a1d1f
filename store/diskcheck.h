/* skiff — getting a disk from outside ready to be a layer. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Checks @disk and returns the path of the qcow2 to store: @disk itself
 * when it is an acceptable qcow2 base (no backing file), else a
 * conversion written under @scratch_dir (its path also in @out_scratch,
 * for the caller to remove).  @out_virtual_size gets the disk's size.
 * Refuses hostile or unsupported disks with SK_ERROR_INVALID_IMAGE. */
char *sk_diskcheck_prepare (const char *disk, const char *scratch_dir, char **out_scratch,
                            guint64 *out_virtual_size, GError **error);

G_END_DECLS
