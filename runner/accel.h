/* skiff — which accelerator qemu can really use here. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  SK_KVM_ABSENT,   /* no /dev/kvm, or not openable */
  SK_KVM_UNUSABLE, /* /dev/kvm exists but a guest does not run on it */
  SK_KVM_OK,
} SkKvmStatus;

/* The qemu-system binary for this host: $SKIFF_QEMU, else
 * qemu-system-<arch> found in PATH.  Returns NULL if absent. */
char *sk_accel_find_qemu (void);

/* qemu's architecture suffix for this host ("x86_64", "aarch64"). */
const char *sk_accel_host_qemu_arch (void);

/* The argv of the probe: a 64 KiB firmware (written to @fw_path by
 * sk_accel_write_probe_firmware) that enters protected mode and writes
 * 0x31 to an isa-debug-exit port, so qemu exits with status 99.  Under a
 * working accelerator that takes milliseconds; a /dev/kvm without nested
 * virtualisation hangs at the mode switch.  Pure. */
GStrv sk_accel_probe_argv (const char *qemu, const char *accel, const char *fw_path);

gboolean sk_accel_write_probe_firmware (const char *path, GError **error);

/* Where the probe's verdict is cached: /run/skiff for root, else
 * $XDG_RUNTIME_DIR/skiff (both are emptied at boot, like the verdict's
 * validity), else @fallback. */
char *sk_accel_cache_dir (const char *fallback);

/* Runs the probe firmware under @accel ("kvm", "tcg") for at most
 * @timeout_ms; TRUE when the test guest exited as planned, else FALSE with
 * @out_reason set. */
gboolean sk_accel_probe_guest (const char *qemu, const char *accel, guint timeout_ms,
                               char **out_reason);

/* Probes KVM with qemu (bounded to @timeout_ms), caching the verdict in
 * @cache_dir (may be NULL) per boot and qemu binary.  @out_reason gets a
 * one-line explanation. */
SkKvmStatus sk_accel_probe_kvm (const char *qemu, const char *cache_dir, guint timeout_ms,
                                char **out_reason);

G_END_DECLS
