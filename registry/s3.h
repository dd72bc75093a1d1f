/* skiff — an S3 client for one bucket, over registry/http and SigV4.
 *
 * Settings come from registry/s3-config (AWS_* variables, ~/.aws).  With
 * credentials every request is signed (registry/sigv4): a body held in
 * memory, or a blob whose sha256 is known, is signed with its payload hash
 * (S3 refuses a body that does not match it); other streamed bodies
 * (multipart parts) with UNSIGNED-PAYLOAD.  Without credentials requests go
 * unsigned (public buckets).
 *
 * Large objects: uploads above SK_S3_MULTIPART_THRESHOLD go as multipart
 * uploads of parallel parts; a run that finds a pending upload of the same
 * key (ListMultipartUploads) reuses the parts already there whose size and
 * MD5 match (ListParts) and uploads the rest; an upload that fails is
 * aborted so no orphan remains (a killed process leaves it for the next
 * run to resume).  Downloads above the threshold run as parallel Range
 * requests, each written in place into the one file, then hashed.
 *
 * Errors name the object: "GET s3://bucket/key: HTTP 403
 * SignatureDoesNotMatch" (S3's error code, and its message when it has
 * one); NOT_FOUND for NoSuchKey/NoSuchBucket, UNAUTHORIZED for 401/403,
 * TRANSIENT for 5xx/429 after retries. */
#pragma once

#include <gio/gio.h>

#include "registry/http.h"
#include "registry/s3-config.h"

G_BEGIN_DECLS

#define SK_S3_MULTIPART_THRESHOLD (64 * 1024 * 1024)
#define SK_S3_PART_SIZE (32 * 1024 * 1024)
#define SK_S3_WORKERS 8     /* parallel part uploads */
#define SK_S3_GET_WORKERS 4 /* parallel ranged GETs */

typedef struct _SkS3Client SkS3Client;

/* A client for @bucket with the settings of sk_s3_config_load.  @tls_verify
 * FALSE skips certificate checks of an https endpoint. */
SkS3Client *sk_s3_client_new (const char *bucket, gboolean tls_verify, GError **error);
void sk_s3_client_free (SkS3Client *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkS3Client, sk_s3_client_free)

/* The keys that start with @prefix, every page of ListObjectsV2. */
GPtrArray *sk_s3_list_keys (SkS3Client *client, const char *prefix, GError **error);

/* "s3://bucket/key", for messages (a new string). */
char *sk_s3_describe (SkS3Client *client, const char *key);

/* HEAD @key: @out_exists, and @out_size when it exists. */
gboolean sk_s3_head (SkS3Client *client, const char *key, gboolean *out_exists, guint64 *out_size, GError **error);

/* GETs @key into memory (at most @max_size bytes).  A missing key is
 * SK_ERROR_NOT_FOUND (a missing bucket too, with S3's NoSuchBucket). */
GBytes *sk_s3_get_bytes (SkS3Client *client, const char *key, gsize max_size, GError **error);

/* PUTs @bytes as @key, signed with their sha256. */
gboolean sk_s3_put_bytes (SkS3Client *client, const char *key, GBytes *bytes, const char *content_type,
                          GError **error);

typedef struct {
  guint parts;           /* parts of a multipart upload (0: a single PUT) */
  guint parts_resumed;   /* found already uploaded by an earlier run */
  guint64 bytes_resumed;
} SkS3UploadStats;

/* Uploads @size bytes of @fd as @key: one PUT signed with @sha256_hex (the
 * body's hex sha256, may be NULL) up to SK_S3_MULTIPART_THRESHOLD, else a
 * resumable multipart upload in parallel parts.  @stats may be NULL. */
gboolean sk_s3_put_file (SkS3Client *client, const char *key, int fd, guint64 size, const char *sha256_hex,
                         SkS3UploadStats *stats, GError **error);

/* Downloads @key (@size bytes, as a descriptor said) into @fd: a large
 * object from scratch in parallel ranges written in place, a small one as
 * one GET that keeps the first @resume_from bytes of @fd.  @out_digest gets the sha256 digest of what was
 * written.  @progress (may be NULL) is called with the bytes so far; the
 * thread hashing the file joins @recycler (may be NULL) as a reader. */
gboolean sk_s3_get_file (SkS3Client *client, const char *key, guint64 size, int fd, guint64 resume_from,
                         SkHttpProgress progress, gpointer progress_data, SkRecycler *recycler, char **out_digest,
                         GError **error);

/* Upload ids of the pending multipart uploads of @key (for tests and
 * cleanup). */
GPtrArray *sk_s3_list_uploads (SkS3Client *client, const char *key, GError **error);

/* ---- pure helpers (unit-tested) ---- */

/* The text of the first <@tag> element of @xml, entities decoded; NULL
 * when there is none. */
char *sk_s3_xml_text (const char *xml, const char *tag);

/* The inner text of every <@tag> element of @xml, in order. */
GPtrArray *sk_s3_xml_elements (const char *xml, const char *tag);

G_END_DECLS
