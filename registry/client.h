/* skiff — OCI distribution v2 client for one registry host.
 *
 * A client talks to the host a reference's domain names (docker.io is
 * served by registry-1.docker.io) over https, or over plain http when TLS
 * verification is off and https cannot connect (podman's behaviour).  It
 * answers 401 challenges itself: Basic with the stored credentials, Bearer
 * by fetching a token for the request's scope from the challenge's realm
 * (anonymously first, then with credentials), cached per scope.
 *
 * Everything fetched is checked before it is returned: manifests against
 * the requested digest (or the Docker-Content-Digest header for a tag),
 * their size (SK_MANIFEST_MAX_SIZE) and content type; blobs against their
 * digest and size while they stream. */
#pragma once

#include <gio/gio.h>

#include "registry/auth.h"
#include "registry/http.h"

G_BEGIN_DECLS

/* The Accept header of manifest requests: OCI manifest and index, Docker
 * v2.2 manifest and manifest list. */
#define SK_REGISTRY_MANIFEST_ACCEPT                                                                          \
  "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "            \
  "application/vnd.docker.distribution.manifest.v2+json, "                                                 \
  "application/vnd.docker.distribution.manifest.list.v2+json"

typedef struct {
  gboolean tls_verify;  /* FALSE: no certificate checks, and http when https fails */
  const char *cert_dir; /* NULL: /etc/containers/certs.d/HOST or /etc/docker/certs.d/HOST when present */
  const char *authfile; /* NULL: the default credential lookup */
} SkRegistryOptions;

typedef struct _SkRegistryClient SkRegistryClient;

/* A client for the registry @domain names (a reference's domain:
 * "docker.io", "localhost:5000", "[::1]:5000").  Does no I/O beyond
 * reading the certificate directory; the first request finds the scheme. */
SkRegistryClient *sk_registry_client_new (const char *domain, const SkRegistryOptions *opts, GError **error);
void sk_registry_client_free (SkRegistryClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkRegistryClient, sk_registry_client_free)

/* Fetches the manifest or index @ref (a tag or a digest) of @repository
 * ("library/debian").  On success: @out_raw the exact bytes, @out_media_type
 * the Content-Type without parameters (may be NULL when the registry sent
 * none), @out_digest the sha256 of the bytes (or the requested digest when
 * it was a sha512 one).  Errors: SK_ERROR_NOT_FOUND, SK_ERROR_UNAUTHORIZED,
 * SK_ERROR_DIGEST_MISMATCH, SK_ERROR_INVALID_DATA (larger than
 * SK_MANIFEST_MAX_SIZE). */
gboolean sk_registry_get_manifest (SkRegistryClient *client, const char *repository, const char *ref,
                                   GBytes **out_raw, char **out_media_type, char **out_digest, GError **error);

/* Downloads blob @digest of @repository into @fd (a regular file open
 * read-write) keeping its first @resume_from bytes (a partial earlier
 * download; the rest is asked with Range).  @size >= 0 is the size the
 * descriptor promised.  Succeeds only when the whole file has exactly
 * @digest and @size; SK_ERROR_DIGEST_MISMATCH otherwise (the file is then
 * worthless: the caller removes it).  Other failures may leave a partial
 * file worth resuming. */
gboolean sk_registry_get_blob (SkRegistryClient *client, const char *repository, const char *digest, gint64 size,
                               int fd, guint64 resume_from, SkHttpProgress progress, gpointer progress_data,
                               GError **error);

/* One blob of sk_registry_get_blobs: the arguments of sk_registry_get_blob
 * and its outcome (@error NULL: the file holds exactly the blob). */
typedef struct {
  const char *digest;
  gint64 size;
  int fd;
  guint64 resume_from;
  SkHttpProgress progress;
  gpointer progress_data;
  SkRecycler *recycler; /* may be NULL: a thread reading the file back joins it */
  GError *error; /* set on failure; the caller frees it */
} SkRegistryBlobJob;

/* Downloads @jobs as sk_registry_get_blob does each, at most @parallel at
 * a time over one connection pool; each job's outcome is in its @error.
 * FALSE (with @error) only when the registry cannot be reached at all. */
gboolean sk_registry_get_blobs (SkRegistryClient *client, const char *repository, SkRegistryBlobJob *jobs,
                                guint n_jobs, guint parallel, GError **error);

/* A small blob (a config) in memory, at most @max_size bytes, verified
 * against @digest and @size (>= 0). */
GBytes *sk_registry_get_blob_bytes (SkRegistryClient *client, const char *repository, const char *digest,
                                    gint64 size, gsize max_size, GError **error);

/* "scheme://host" of the registry, finding the scheme on the first call
 * (a request to /v2/); NULL with @error when the registry cannot be
 * reached.  Owned by @client. */
const char *sk_registry_client_base (SkRegistryClient *client, GError **error);

/* Sends @req (an absolute URL on this registry, from
 * sk_registry_client_base or a Location it gave) with the authorization
 * @actions on @repository need, answering 401 challenges like the calls
 * above (Basic, then tokens for "repository:REPO:ACTIONS").  Returns the
 * final response whatever its status (the caller judges it).  Used by
 * push: @req may carry a streamed body (body_fd, body_len).  A URL on
 * another scheme, host or port than the registry is sent without any
 * authorization, and its 401 is returned as is. */
SkHttpResponse *sk_registry_send (SkRegistryClient *client, SkHttpRequest *req, const char *repository,
                                  SkAuthActions actions, GError **error);

/* Like sk_registry_send, with a token for both scopes of a
 * cross-repository mount: pull and push on @target, pull on @source. */
SkHttpResponse *sk_registry_send_mount (SkRegistryClient *client, SkHttpRequest *req, const char *target,
                                        const char *source, GError **error);

/* "scheme://host" once known, else "host"; for messages. */
const char *sk_registry_client_describe (SkRegistryClient *client);

/* ---- pure helpers (unit-tested) ---- */

/* The host serving @domain's API: "registry-1.docker.io" for "docker.io",
 * else @domain itself. */
const char *sk_registry_api_host (const char *domain);

/* "BASE/v2/REPOSITORY/KIND/REF" with KIND "manifests" or "blobs"; @ref is a
 * tag or digest (their grammars need no escaping). */
char *sk_registry_url (const char *base, const char *repository, const char *kind, const char *ref);

G_END_DECLS
