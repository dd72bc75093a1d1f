/* skiff — HTTP for the registry transports, over libcurl.
 *
 * One SkHttp per remote host keeps one curl easy handle (so connections
 * and TLS sessions are reused) and the TLS settings.  A request is sent
 * with sk_http_send (response body in memory, capped) or sk_http_download
 * (response body streamed into an fd while hashing, resumable with Range);
 * sk_http_download_many runs several downloads at once over curl multi.
 * Neither turns an HTTP status into an error: callers look at the status
 * (a 401 starts the auth flow) and call sk_http_set_status_error, the one
 * place where curl codes and HTTP statuses become GErrors.
 *
 * Redirects are followed (at most 10) to http and https only; curl sends
 * the Authorization header only to the host, port and scheme of the
 * original request.  Idempotent requests (GET, HEAD, PUT, DELETE) are
 * retried 3 times in all on transient failures (5xx, 429, resets,
 * timeouts), honouring Retry-After. */
#pragma once

#include <gio/gio.h>

#include "oci/digest.h"
#include "registry/follow.h"

G_BEGIN_DECLS

/* Largest in-memory response body when the request names no cap. */
#define SK_HTTP_DEFAULT_MAX_BODY (64 * 1024)
/* Tries of an idempotent request that fails transiently. */
#define SK_HTTP_TRIES 3

typedef struct _SkHttp SkHttp;

/* A session.  @tls_verify FALSE turns off certificate and host name
 * checks.  @cert_dir (may be NULL) is laid out like podman's certs.d
 * directories: every "*.crt" is a CA certificate trusted in addition to the
 * system's, and a "NAME.cert" with its "NAME.key" is a client certificate.
 * Fails when @cert_dir cannot be read. */
SkHttp *sk_http_new (gboolean tls_verify, const char *cert_dir, GError **error);
void sk_http_free (SkHttp *http);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkHttp, sk_http_free)

typedef struct {
  const char *method;         /* NULL: "GET" */
  const char *url;
  const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
  const char *authorization;  /* the Authorization value ("Bearer x"), or NULL */
  GBytes *body;               /* request body, or NULL */
  int body_fd;                /* or, when body_len > 0, a body read from this fd */
  guint64 body_len;           /* (exactly this many bytes from body_offset) */
  guint64 body_offset;        /* where the body starts in body_fd (a part of a file) */
  gsize max_body;             /* cap of an in-memory response body; 0: SK_HTTP_DEFAULT_MAX_BODY */
  gboolean no_retry;          /* one try even when idempotent */
} SkHttpRequest;

typedef struct {
  long status;
  GHashTable *headers; /* lowercase name -> value; repeated headers joined with ", " */
  GBytes *body;        /* in-memory body (an error body after sk_http_download) */
  char *url;           /* the URL the final answer came from (after redirects) */
} SkHttpResponse;
void sk_http_response_free (SkHttpResponse *resp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkHttpResponse, sk_http_response_free)

/* A response header (case-insensitive name), or NULL. */
const char *sk_http_response_header (const SkHttpResponse *resp, const char *name);

/* Sends @req and returns the final response, whatever its status.  Fails
 * (with sk_http_set_curl_error's wording) only when no response arrived,
 * or when the body is larger than the cap (SK_ERROR_INVALID_DATA
 * "... response larger than 4.0 MiB"). */
SkHttpResponse *sk_http_send (SkHttp *http, const SkHttpRequest *req, GError **error);

/* Called as bytes arrive: @done of @total (0 when unknown); also when a
 * download starts, and when it starts over, with the bytes it keeps. */
typedef void (*SkHttpProgress) (guint64 done, guint64 total, gpointer user_data);

typedef struct {
  SkDigestAlgorithm alg;   /* digest computed over the whole file */
  guint64 resume_from;     /* bytes already in the fd to keep: asks "Range: bytes=N-" */
  guint64 max_size;        /* refuse a body making the file larger; 0: no limit */
  SkHttpProgress progress; /* may be NULL */
  gpointer progress_data;
  gboolean in_place;       /* the body is one range of a larger file (parallel ranged GETs): it is
                              written at file_offset onwards and neither hashed nor resumed, and
                              nothing else of the fd is read or truncated (resume_from must be 0) */
  guint64 file_offset;
  SkRecycler *recycler;    /* may be NULL; the thread hashing the file back joins it as a reader */
} SkHttpDownloadOptions;

/* GETs @req into @fd (a regular file opened read-write): the first
 * @opts->resume_from bytes of @fd are kept and hashed, the rest is
 * requested with a Range header; a server that answers 200 instead of 206
 * ignored the range and the file restarts from 0.  A 2xx answer is
 * streamed into @fd (never kept in memory); any other answer's body stays
 * in the returned response for the caller's error.  On a 2xx answer
 * @out_digest and @out_size describe the whole file.  Transient failures
 * are retried, resuming from the bytes received.  The file may be left
 * partly written on failure (to resume later). */
SkHttpResponse *sk_http_download (SkHttp *http, const SkHttpRequest *req, int fd, const SkHttpDownloadOptions *opts,
                                  char **out_digest, guint64 *out_size, GError **error);

/* One download of sk_http_download_many: the inputs as for
 * sk_http_download, and its outcome (@resp, or @error). */
typedef struct {
  const SkHttpRequest *req;
  int fd;
  const SkHttpDownloadOptions *opts;
  SkHttpResponse *resp; /* owned by the caller afterwards */
  char *digest;         /* on a 2xx answer, as sk_http_download's */
  guint64 size;
  GError *error;
} SkHttpDownloadJob;

/* Runs @jobs like sk_http_download each (retries, resuming, Range), at
 * most @parallel at a time over one curl multi handle (connections are
 * reused between them).  Returns when every job has its outcome. */
void sk_http_download_many (SkHttp *http, SkHttpDownloadJob *jobs, guint n_jobs, guint parallel);

/* ---- errors ---- */

/* The error code an HTTP status stands for: UNAUTHORIZED for 401/403,
 * NOT_FOUND for 404, TRANSIENT for 408, 429 and 5xx, else FAILED. */
int sk_http_status_error_code (long status);

/* Sets @error for a response that is not what the caller wanted:
 * "GET URL: HTTP 404 MANIFEST_UNKNOWN: manifest unknown" (the registry's
 * JSON error body when it has one, else the status' reason phrase).
 * Always returns FALSE. */
gboolean sk_http_set_status_error (GError **error, const char *method, const char *url, const SkHttpResponse *resp);

/* Sets @error for a transfer that failed before an answer: "GET URL:
 * <curl's message>"; TRANSIENT for timeouts, resets and partial bodies.
 * @detail (may be NULL) is curl's error buffer.  Always returns FALSE. */
gboolean sk_http_set_curl_error (GError **error, const char *method, const char *url, int curl_code,
                                 const char *detail);

/* ---- pure helpers (unit-tested) ---- */

/* "Range: bytes=N-". */
char *sk_http_range_header (guint64 offset);

/* Parses a Content-Range value "bytes FIRST-LAST/TOTAL" (TOTAL may be
 * "*", giving -1).  FALSE when malformed or FIRST > LAST. */
gboolean sk_http_parse_content_range (const char *value, guint64 *out_first, guint64 *out_last, gint64 *out_total);

/* The first error of a distribution-spec error body
 * ({"errors":[{"code":"...","message":"..."}]}) as "CODE: message" (or
 * "CODE" alone), with " (and N more)" when there are several; NULL when
 * @body is not such a document.  Control characters are replaced. */
char *sk_http_parse_error_body (GBytes *body);

/* Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date
 * (relative to @now, unix time); -1 when invalid.  Never negative. */
gint64 sk_http_parse_retry_after (const char *value, gint64 now);

/* "application/json; charset=utf-8" -> "application/json" (lowercase,
 * trimmed); NULL stays NULL. */
char *sk_http_content_type_strip (const char *value);

/* Splits a header line "Name: value\r\n" into a lowercase name and a
 * trimmed value; FALSE for a status line or a blank line. */
gboolean sk_http_parse_header_line (const char *line, gsize len, char **out_name, char **out_value);

/* Resolves @ref (absolute, or relative like a Location header) against
 * @base; NULL when either does not parse or the result is not http(s). */
char *sk_http_resolve_url (const char *base, const char *ref);

/* TRUE when absolute URLs @a and @b have the same scheme, host and port
 * (a missing port is the scheme's default); FALSE when either does not
 * parse. */
gboolean sk_http_same_origin (const char *a, const char *b);

/* Delay before try @attempt (1-based, after a failed try): 500 ms doubling,
 * or @retry_after seconds (>= 0) capped at 60. */
guint sk_http_backoff_ms (guint attempt, gint64 retry_after);

G_END_DECLS
