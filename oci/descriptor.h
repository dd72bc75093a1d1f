/* skiff — OCI content descriptors and platforms (descriptor.md).
 *
 * A descriptor names content by media type, digest and size.  Validation
 * follows the OCI schema (defs-descriptor.json, content-descriptor.json)
 * plus the checks the upstream validator makes in code: a registered
 * algorithm (sha256, sha384, sha512) needs its exact lowercase hex
 * encoding; a digest with an unknown but well-formed algorithm is accepted
 * here (callers that fetch content require sha256/sha512 through
 * oci/digest.h); embedded `data` must be padded base64 and match size and
 * digest. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  char *architecture;  /* required */
  char *os;            /* required */
  char *os_version;    /* "os.version", NULL if absent */
  GStrv os_features;   /* "os.features", NULL if absent */
  char *variant;       /* NULL if absent */
} SkPlatform;

SkPlatform *sk_platform_new (const char *os, const char *architecture, const char *variant);
SkPlatform *sk_platform_copy (const SkPlatform *p);
void sk_platform_free (SkPlatform *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkPlatform, sk_platform_free)

typedef struct {
  char *media_type;         /* required */
  char *digest;             /* required, "<alg>:<encoded>" */
  gint64 size;              /* required, >= 0 */
  GStrv urls;               /* NULL if absent */
  GHashTable *annotations;  /* char* -> char*, NULL if absent */
  char *artifact_type;      /* NULL if absent */
  SkPlatform *platform;     /* NULL if absent */
  GBytes *data;             /* decoded `data`, NULL if absent */
} SkDescriptor;

/* A new descriptor owning copies of its arguments; not validated (see
 * sk_descriptor_validate). */
SkDescriptor *sk_descriptor_new (const char *media_type, const char *digest, gint64 size);
SkDescriptor *sk_descriptor_copy (const SkDescriptor *d);
void sk_descriptor_free (SkDescriptor *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkDescriptor, sk_descriptor_free)

/* Annotation lookup (NULL when absent) and update (@value NULL removes). */
const char *sk_descriptor_get_annotation (const SkDescriptor *d, const char *key);
void sk_descriptor_set_annotation (SkDescriptor *d, const char *key, const char *value);
/* Takes ownership of @platform (may be NULL). */
void sk_descriptor_set_platform (SkDescriptor *d, SkPlatform *platform);

/* Checks every field of @d as the schema would; SK_ERROR_INVALID_IMAGE,
 * message naming the field ("digest: invalid digest '...': why"). */
gboolean sk_descriptor_validate (const SkDescriptor *d, GError **error);

/* Parses a standalone descriptor document
 * (application/vnd.oci.descriptor.v1+json).  SK_ERROR_INVALID_IMAGE. */
SkDescriptor *sk_descriptor_parse (GBytes *bytes, GError **error);

/* Serialises @d compactly with a stable key order. */
GBytes *sk_descriptor_serialize (const SkDescriptor *d);

/* RFC 6838 media type as the schema's pattern: type "/" subtype, each
 * starting with an alphanumeric, at most 127 characters each. */
gboolean sk_media_type_validate (const char *media_type, GError **error);

/* The descriptor digest grammar <algorithm>:<encoded> plus the registered
 * algorithms' encodings (see above). */
gboolean sk_descriptor_digest_validate (const char *digest, GError **error);

/* Platform checks (architecture and os present). */
gboolean sk_platform_validate (const SkPlatform *p, GError **error);

/* TRUE when @p matches @os/@architecture and, if @variant is non-NULL,
 * its variant. */
gboolean sk_platform_matches (const SkPlatform *p, const char *os, const char *architecture,
                              const char *variant);

G_END_DECLS
