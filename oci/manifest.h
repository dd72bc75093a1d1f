/* skiff — OCI image manifests and image indexes (manifest.md,
 * image-index.md), with the Docker v2.2 equivalents they grew from.
 *
 * Parsed documents keep their raw bytes: the digest is always computed
 * over those bytes, never over a re-serialisation.  Builders serialise
 * compactly with a fixed key order, then parse their own output, so a
 * built document is exactly what a reader would see. */
#pragma once

#include <gio/gio.h>

#include "oci/descriptor.h"
#include "oci/mediatypes.h"

G_BEGIN_DECLS

/* What a manifest-like document is, guessed from its bytes the way
 * containers/image's GuessMIMEType does. */
typedef enum {
  SK_MANIFEST_KIND_UNKNOWN,
  SK_MANIFEST_KIND_OCI_MANIFEST,
  SK_MANIFEST_KIND_OCI_INDEX,
  SK_MANIFEST_KIND_DOCKER_MANIFEST,      /* v2 schema 2 */
  SK_MANIFEST_KIND_DOCKER_MANIFEST_LIST,
  SK_MANIFEST_KIND_DOCKER_SCHEMA1,       /* recognised, not supported */
  SK_MANIFEST_KIND_DOCKER_SCHEMA1_SIGNED,
} SkManifestKind;

/* Never fails: unparsable or unrecognised input is SK_MANIFEST_KIND_UNKNOWN. */
SkManifestKind sk_manifest_guess_kind (const void *data, gsize len);
/* The media type of a kind; NULL for SK_MANIFEST_KIND_UNKNOWN. */
const char *sk_manifest_kind_media_type (SkManifestKind kind);
/* The kind a media type names (parameters after ';' ignored). */
SkManifestKind sk_manifest_kind_from_media_type (const char *media_type);

typedef struct {
  GBytes *raw;              /* the document exactly as received */
  char *digest;             /* sha256 of @raw */
  char *media_type;         /* the document's mediaType, NULL if absent */
  char *artifact_type;      /* NULL if absent */
  SkDescriptor *config;
  GPtrArray *layers;        /* SkDescriptor *, at least one */
  SkDescriptor *subject;    /* NULL if absent */
  GHashTable *annotations;  /* NULL if absent */
} SkManifest;

/* Parses and validates an image manifest (OCI, or Docker v2.2 which has
 * the same shape).  @content_type, when non-NULL, is the type the document
 * arrived with (HTTP Content-Type, descriptor mediaType) and must agree
 * with the document.  Takes a reference on @raw.  Fails with
 * SK_ERROR_INVALID_IMAGE: "invalid manifest: layers[2]: digest: ...". */
SkManifest *sk_manifest_parse (GBytes *raw, const char *content_type, GError **error);
void sk_manifest_free (SkManifest *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkManifest, sk_manifest_free)

/* A descriptor pointing at @m (media type, digest and size of its raw
 * bytes, artifactType).  Free with sk_descriptor_free. */
SkDescriptor *sk_manifest_to_descriptor (const SkManifest *m);

/* Builds a skiff VM image manifest: mediaType OCI manifest, artifactType
 * SK_ARTIFACT_TYPE_VM, @config (of type SK_MEDIA_TYPE_VM_CONFIG) and
 * @layers (SkDescriptor *, disks base first, then optional kernel/initrd),
 * @annotations (may be NULL).  Inputs are checked with
 * sk_manifest_validate_skiff.  Nothing is taken over. */
SkManifest *sk_manifest_new_skiff (const SkDescriptor *config, GPtrArray *layers,
                                   GHashTable *annotations, GError **error);

/* Checks that @m is a skiff VM image: artifactType, config type, every
 * layer a qcow2 disk (with a valid io.skiff.disk.diff-id digest and a
 * decimal io.skiff.disk.size) or a kernel/initrd, at least one disk, at
 * most one kernel and one initrd, an initrd only with a kernel.
 * SK_ERROR_INVALID_IMAGE. */
gboolean sk_manifest_validate_skiff (const SkManifest *m, GError **error);

/* TRUE for the qcow2 disk layer media types (any compression). */
gboolean sk_media_type_is_disk (const char *media_type);

typedef struct {
  GBytes *raw;
  char *digest;             /* sha256 of @raw */
  char *media_type;         /* NULL if absent */
  char *artifact_type;      /* NULL if absent */
  GPtrArray *manifests;     /* SkDescriptor * (possibly empty) */
  SkDescriptor *subject;    /* NULL if absent */
  GHashTable *annotations;  /* NULL if absent */
} SkIndex;

/* Parses and validates an image index (OCI, or a Docker manifest list).
 * Same contract as sk_manifest_parse; "invalid image index: ...". */
SkIndex *sk_index_parse (GBytes *raw, const char *content_type, GError **error);
void sk_index_free (SkIndex *idx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkIndex, sk_index_free)

SkDescriptor *sk_index_to_descriptor (const SkIndex *idx);

/* Builds an OCI image index of @manifests (SkDescriptor *, typically with
 * platforms) and @annotations (may be NULL). */
SkIndex *sk_index_new (GPtrArray *manifests, GHashTable *annotations, GError **error);

/* The first entry for @os/@architecture (and @variant when non-NULL), or
 * NULL.  Borrowed. */
const SkDescriptor *sk_index_find_platform (const SkIndex *idx, const char *os,
                                            const char *architecture, const char *variant);
/* The first entry annotated org.opencontainers.image.ref.name = @ref_name,
 * or NULL.  Borrowed. */
const SkDescriptor *sk_index_find_ref (const SkIndex *idx, const char *ref_name);

G_END_DECLS
