/* skiff — image references.
 *
 * Registry references follow docker's grammar (github.com/distribution/
 * reference): [domain[:port]/]path[:tag][@digest], where the path is one or
 * more '/'-separated components of lowercase letters and digits joined by
 * '.', '_', '__' or runs of '-', the tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 * and the digest is a sha256 or sha512 digest (oci/digest.h).  The path may
 * be at most 255 characters long (docker counts the path only, not the
 * domain).
 *
 * S3 references are s3://bucket/[prefix/]name[:tag][@digest]; the bucket
 * follows the S3 naming rules, the path the docker path rules.
 *
 * Every parse failure is SK_ERROR_INVALID_REFERENCE with the message
 * "invalid reference '<input>': <why>". */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  SK_REFERENCE_REGISTRY,
  SK_REFERENCE_S3,
} SkReferenceKind;

typedef struct {
  SkReferenceKind kind;
  char *domain; /* registry: "docker.io", "localhost:5000", "[::1]:5000";
                   NULL for s3, and from sk_reference_parse_strict when the
                   text names no domain */
  char *bucket; /* s3 only, else NULL */
  char *path;   /* "library/ubuntu"; for s3 "prefix/name" */
  char *tag;    /* NULL when only a digest was given (or, strict, neither) */
  char *digest; /* NULL or "sha256:<hex>" / "sha512:<hex>" */
} SkReference;

/* Parses what a user types, normalised the way docker's
 * ParseNormalizedNamed does, plus the default tag "latest" when neither a
 * tag nor a digest is given: "ubuntu" is docker.io/library/ubuntu:latest,
 * "index.docker.io/x" is docker.io/library/x.  A first component is a
 * domain when it contains '.' or ':', is "localhost", or has an uppercase
 * letter.  Unlike docker, a first component that is taken for a domain but
 * is not a valid host name ("foo_bar.com/x") is refused rather than silently
 * becoming part of the path.  "s3://" references are accepted too.
 * Returns a new reference, or NULL with @error set. */
SkReference *sk_reference_parse (const char *text, GError **error);

/* Parses the fully qualified grammar without any default (docker's
 * reference.Parse): "test_com" has no domain, "a/b" has domain "a", and
 * a reference may have neither tag nor digest. */
SkReference *sk_reference_parse_strict (const char *text, GError **error);

/* The canonical string: "docker.io/library/ubuntu:latest",
 * "name:tag@digest", "s3://bucket/path:tag".  For references from
 * sk_reference_parse, sk_reference_parse (to_string (ref)) equals ref. */
char *sk_reference_to_string (const SkReference *ref);

/* The familiar form docker prints: docker.io and a single-component
 * "library/" are dropped ("ubuntu:latest", "foo/bar:1"); other domains and
 * s3 references are unchanged. */
char *sk_reference_familiar (const SkReference *ref);

/* The repository without tag or digest: "docker.io/library/ubuntu",
 * "s3://bucket/path". */
char *sk_reference_repository (const SkReference *ref);

/* TRUE when both references have the same fields (NULL-safe). */
gboolean sk_reference_equal (const SkReference *a, const SkReference *b);

SkReference *sk_reference_copy (const SkReference *ref);

/* A copy of @ref with its tag set to @tag (a digest is kept, as docker's
 * WithTag does); NULL with SK_ERROR_INVALID_REFERENCE if @tag is invalid. */
SkReference *sk_reference_with_tag (const SkReference *ref, const char *tag, GError **error);

/* A copy of @ref with its digest set to @digest (the tag is kept); NULL
 * with SK_ERROR_INVALID_REFERENCE if @digest is invalid. */
SkReference *sk_reference_with_digest (const SkReference *ref, const char *digest, GError **error);

void sk_reference_free (SkReference *ref);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkReference, sk_reference_free)

/* Replaces every "{arch}" in @text with @arch (a new string). */
char *sk_reference_expand_arch_for (const char *text, const char *arch);

/* Replaces every "{arch}" in @text with sk_oci_host_arch () (a new string). */
char *sk_reference_expand_arch (const char *text);

/* The OCI architecture name for a uname(2) machine string ("x86_64" ->
 * "amd64", "aarch64" -> "arm64", "i686" -> "386", "armv7l" -> "arm"),
 * or NULL when unknown.  The result is a static string. */
const char *sk_oci_arch_from_uname (const char *machine);

/* The host's OCI architecture name; when uname's machine is not known, the
 * machine string itself.  The result is a static (interned) string. */
const char *sk_oci_host_arch (void);

G_END_DECLS
