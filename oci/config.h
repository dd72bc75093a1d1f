/* skiff — the VM image config (application/vnd.skiff.vm.config.v1+json).
 *
 * Shaped like an OCI image config so registries' and tools' viewers make
 * sense of it; skiff's own settings live in "config".  Members, in the
 * order skiff writes them (compact, no whitespace):
 *
 *   {
 *     "created": "2024-05-01T12:00:00Z",          optional, RFC 3339
 *     "architecture": "amd64",                    required (OCI/Go names)
 *     "os": "linux",                              required
 *     "config": {                                 required
 *       "boot": "uefi",                           "bios" | "uefi" | "kernel"
 *       "cmdline": "console=ttyS0 root=/dev/vda", required with "kernel",
 *                                                 refused otherwise
 *       "memory": 1024,                           MiB, 1 .. 16777216
 *       "cpus": 2,                                1 .. 1024
 *       "user": "debian",                         optional, cloud-init user
 *       "disk_size": 10737418240                  virtual size in bytes, > 0
 *     },
 *     "rootfs": {                                 required
 *       "type": "layers",
 *       "diff_ids": ["sha256:<64 hex>", ...]      base first, >= 1, distinct
 *     },
 *     "history": [                                optional
 *       { "created": "...", "created_by": "skiff import disk.qcow2",
 *         "comment": "...", "empty_layer": false }
 *     ]
 *   }
 *
 * diff_ids[i] is the sha256 of layer i's uncompressed qcow2 (the
 * io.skiff.disk.diff-id annotation of the manifest's i-th disk layer).
 * Unknown members are ignored on parse and not written back. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  SK_BOOT_BIOS,
  SK_BOOT_UEFI,
  SK_BOOT_KERNEL,
} SkBootMode;

#define SK_CONFIG_MAX_MEMORY_MIB (16u * 1024 * 1024)
#define SK_CONFIG_MAX_CPUS 1024u

typedef struct {
  char *created;      /* NULL if absent */
  char *created_by;   /* NULL if absent */
  char *comment;      /* NULL if absent */
  char *author;       /* NULL if absent */
  gboolean empty_layer;
} SkHistoryEntry;

typedef struct {
  char *created;        /* RFC 3339 or NULL */
  char *architecture;   /* Go/OCI names: "amd64", "arm64" */
  char *os;             /* "linux" */
  GPtrArray *diff_ids;  /* char *, base first */
  guint64 disk_size;    /* virtual disk size in bytes */
  SkBootMode boot;
  char *cmdline;        /* kernel boot only */
  guint memory_mib;
  guint cpus;
  char *user;           /* default cloud-init user, NULL for the runner's */
  GPtrArray *history;   /* SkHistoryEntry * */
} SkConfig;

/* An empty config (architecture/os NULL, bios, 1 CPU, 512 MiB) to fill in;
 * sk_config_serialize validates it. */
SkConfig *sk_config_new (void);
void sk_config_free (SkConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkConfig, sk_config_free)

/* Takes copies; any string may be NULL. */
void sk_config_add_diff_id (SkConfig *c, const char *diff_id);
void sk_config_add_history (SkConfig *c, const char *created, const char *created_by,
                            const char *comment, gboolean empty_layer);

/* Parses and validates; SK_ERROR_INVALID_IMAGE ("invalid config: config:
 * memory: must be at least 1 MiB").  Larger than SK_CONFIG_MAX_SIZE is
 * refused. */
SkConfig *sk_config_parse (GBytes *bytes, GError **error);

/* Checks every field as sk_config_parse does. */
gboolean sk_config_validate (const SkConfig *c, GError **error);

/* Validates, then writes the deterministic form documented above. */
GBytes *sk_config_serialize (const SkConfig *c, GError **error);

const char *sk_boot_mode_to_string (SkBootMode mode);
gboolean sk_boot_mode_from_string (const char *s, SkBootMode *out_mode, GError **error);

/* An RFC 3339 date-time ("2015-10-31T22:22:56.015925234Z"). */
gboolean sk_config_timestamp_valid (const char *s);

/* Validates an OCI image config (application/vnd.oci.image.config.v1+json)
 * as the OCI schema and upstream validator do: skiff uses it to explain
 * why a container image is not a VM image, and the tests run the OCI
 * conformance cases through it.  SK_ERROR_INVALID_IMAGE. */
gboolean sk_config_validate_oci_image (GBytes *bytes, GError **error);

G_END_DECLS
