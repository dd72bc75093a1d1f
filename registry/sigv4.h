/* skiff — AWS Signature Version 4 (header signing), with OpenSSL HMAC.
 *
 * sk_sigv4_sign adds what a request needs to be accepted by S3 (or any
 * SigV4 service): x-amz-date, x-amz-content-sha256 (the payload's hex
 * sha256, or "UNSIGNED-PAYLOAD" for a streamed body), x-amz-security-token
 * for temporary credentials, and the Authorization header.  The pieces
 * (canonical request, string to sign, signature) are exposed for the test
 * vectors.
 *
 * Canonicalisation: the path and every query key and value are
 * percent-decoded, then encoded again with only the unreserved characters
 * (A-Z a-z 0-9 - . _ ~) left as they are, so a path written encoded or not
 * gives the same canonical form; S3 keys are encoded once, never twice.
 * Query parameters are sorted by encoded key then value ("uploads" becomes
 * "uploads=").  Header names are lowercased, values trimmed with inner
 * runs of whitespace folded to one space, repeated headers joined with ",".
 * S3 asks for no path normalisation; other services remove "." and ".."
 * segments and empty segments (@normalize_path). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* x-amz-content-sha256 of a body that is not hashed in advance. */
#define SK_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* Hex sha256 of the empty body. */
#define SK_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct {
  const char *access_key;
  const char *secret_key;
  const char *session_token; /* NULL unless temporary credentials */
  const char *region;         /* "us-east-1" */
  const char *service;        /* "s3" */
} SkSigV4Key;

typedef struct {
  const char *method;
  const char *path;           /* as on the request line: "/bucket/a%2Bb" or "/example space/" */
  const char *query;          /* after '?', without it; NULL or "" when none */
  const char *const *headers; /* "Name:value" lines (Host included), NULL-terminated; a value may
                                 continue on lines that start with whitespace */
  const char *payload_hash;   /* hex sha256 of the body, or SK_SIGV4_UNSIGNED_PAYLOAD */
  gboolean normalize_path;    /* FALSE for S3 */
} SkSigV4Request;

/* The canonical request of @req, and in @out_signed_headers (may be NULL)
 * the ";"-joined lowercase names of the headers it signs. */
char *sk_sigv4_canonical_request (const SkSigV4Request *req, char **out_signed_headers);

/* "AWS4-HMAC-SHA256\nDATE\nSCOPE\nhex(sha256(creq))". */
char *sk_sigv4_string_to_sign (const char *amz_date, const char *scope, const char *canonical_request);

/* "YYYYMMDD/REGION/SERVICE/aws4_request". */
char *sk_sigv4_scope (const char *amz_date, const SkSigV4Key *key);

/* The hex signature of @string_to_sign with @key's derived signing key. */
char *sk_sigv4_signature (const SkSigV4Key *key, const char *amz_date, const char *string_to_sign);

/* "20150830T123600Z" for a unix time. */
char *sk_sigv4_amz_date (gint64 unix_time);

/* Signs @req as of @unix_time: returns the header lines to add to it
 * ("x-amz-date: ...", "x-amz-content-sha256: ..." when
 * @add_content_sha256, "x-amz-security-token: ..." when @key has a
 * session token, then "Authorization: ..."), all of them but the last
 * signed.  @req->headers must not hold any of them already. */
GStrv sk_sigv4_sign (const SkSigV4Key *key, const SkSigV4Request *req, gboolean add_content_sha256, gint64 unix_time);

/* Lowercase hex sha256 of @len bytes. */
char *sk_sigv4_hex_sha256 (const void *data, gsize len);

/* Percent-encodes @len bytes of @s for S3: unreserved characters stay,
 * '/' stays when @keep_slash, everything else becomes %XX (uppercase). */
char *sk_sigv4_uri_encode (const char *s, gssize len, gboolean keep_slash);

G_END_DECLS
