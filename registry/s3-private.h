/* skiff — what registry/s3.c shares with registry/s3-multipart.c. */
#pragma once

#include "registry/s3.h"

G_BEGIN_DECLS

struct _SkS3Client {
  SkS3Config *cfg;
  char *bucket;
  gboolean tls_verify;
  SkHttp *http; /* for the calling thread; workers make their own */
};

/* One request to the bucket, signed by sk_s3_send when there are
 * credentials. */
typedef struct {
  const char *method;
  const char *key;
  const char *query;          /* encoded, or NULL */
  const char *const *headers; /* extra signed headers, or NULL */
  GBytes *body;
  int body_fd;
  guint64 body_offset;
  guint64 body_len;
  const char *payload_hash;   /* NULL: sha256 of @body (or of nothing), UNSIGNED for an fd body */
  gsize max_body;
  gboolean no_retry;
} SkS3Req;

/* Sends @r over @http (the calling thread's); NULL when no answer came
 * (the error names the object). */
SkHttpResponse *sk_s3_send (SkS3Client *c, SkHttp *http, const SkS3Req *r, GError **error);

/* Sets @error for an S3 answer that is not what the caller wanted:
 * "METHOD s3://bucket/key: HTTP 403 Code: message".  Returns FALSE. */
gboolean sk_s3_status_error (GError **error, SkS3Client *c, const char *method, const char *key,
                             const SkHttpResponse *resp);

/* The response body as a string. */
char *sk_s3_body_text (const SkHttpResponse *resp);

/* A resumable multipart upload of @size bytes of @fd as @key. */
gboolean sk_s3_multipart_upload (SkS3Client *c, const char *key, int fd, guint64 size, SkS3UploadStats *stats,
                                 GError **error);

G_END_DECLS
