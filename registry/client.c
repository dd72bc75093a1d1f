/* skiff — OCI distribution v2 client: scheme discovery, the 401 challenge
 * flow, verified manifests and blobs. */
#include "registry/client.h"
#include "registry/auth.h"
#include "registry/credentials.h"
#include "common/error.h"
#include "common/log.h"
#include "oci/digest.h"
#include "oci/mediatypes.h"

#include <string.h>

/* How far the Bearer flow got for a scope. */
typedef enum {
  TOKEN_NONE,      /* no token asked yet */
  TOKEN_ANONYMOUS, /* asked without credentials */
  TOKEN_CREDENTIALS,
} TokenStage;

struct _SkRegistryClient {
  char *domain;      /* as in the reference: credentials are stored by it */
  char *host;        /* the API host */
  char *base;        /* "https://host" once a request got through, else NULL */
  gboolean tls_verify;
  char *authfile;
  SkHttp *http;
  /* credentials, looked up on the first challenge */
  gboolean creds_loaded;
  SkCredentials *creds; /* NULL when there are none */
  char *basic;       /* Authorization value once the registry asked for Basic */
  /* bearer */
  char *realm;
  char *service;
  SkAuthCache *tokens;
  GHashTable *stages; /* scope -> TokenStage */
  GHashTable *renewed; /* scopes whose refused token was asked again */
};

const char *
sk_registry_api_host (const char *domain)
{
  return g_str_equal (domain, "docker.io") ? "registry-1.docker.io" : domain;
}

char *
sk_registry_url (const char *base, const char *repository, const char *kind, const char *ref)
{
  return g_strdup_printf ("%s/v2/%s/%s/%s", base, repository, kind, ref);
}

/* podman's per-host certificate directories, when one exists. */
static char *
default_cert_dir (const char *host)
{
  const char *roots[] = { "/etc/containers/certs.d", "/etc/docker/certs.d" };
  for (gsize i = 0; i < G_N_ELEMENTS (roots); i++)
    {
      g_autofree char *dir = g_build_filename (roots[i], host, NULL);
      if (g_file_test (dir, G_FILE_TEST_IS_DIR))
        return g_steal_pointer (&dir);
    }
  return NULL;
}

SkRegistryClient *
sk_registry_client_new (const char *domain, const SkRegistryOptions *opts, GError **error)
{
  g_autoptr (SkRegistryClient) c = g_new0 (SkRegistryClient, 1);
  c->domain = g_strdup (domain);
  c->host = g_strdup (sk_registry_api_host (domain));
  c->tls_verify = opts->tls_verify;
  c->authfile = g_strdup (opts->authfile);
  c->tokens = sk_auth_cache_new ();
  c->stages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  c->renewed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *cert_dir = opts->cert_dir ? g_strdup (opts->cert_dir) : default_cert_dir (c->host);
  c->http = sk_http_new (opts->tls_verify, cert_dir, error);
  if (c->http == NULL)
    return NULL;
  return g_steal_pointer (&c);
}

void
sk_registry_client_free (SkRegistryClient *c)
{
  if (c == NULL)
    return;
  g_free (c->domain);
  g_free (c->host);
  g_free (c->base);
  g_free (c->authfile);
  g_clear_pointer (&c->http, sk_http_free);
  g_clear_pointer (&c->creds, sk_credentials_free);
  g_free (c->basic);
  g_free (c->realm);
  g_free (c->service);
  g_clear_pointer (&c->tokens, sk_auth_cache_free);
  g_clear_pointer (&c->stages, g_hash_table_unref);
  g_clear_pointer (&c->renewed, g_hash_table_unref);
  g_free (c);
}

const char *
sk_registry_client_describe (SkRegistryClient *c)
{
  return c->base ? c->base : c->host;
}

/* ---------------------------------------------------------------- scheme */

/* What to do about a TLS failure, from curl's message (the curl code
 * alone does not tell a refused client certificate from other errors). */
static const char *
tls_hint (const char *message)
{
  if (strstr (message, "SSL certificate problem") || strstr (message, "no alternative certificate subject name"))
    return "trust its CA with --cert-dir DIR, or use --tls-verify=false";
  if (strstr (message, "alert bad certificate") || strstr (message, "alert certificate required"))
    return "the registry wants a client certificate: NAME.cert and NAME.key in --cert-dir DIR";
  return NULL;
}

/* Finds the scheme: https, or http when TLS checks are off and https
 * cannot even connect (a plain-http registry). */
static gboolean
ensure_base (SkRegistryClient *c, GError **error)
{
  if (c->base)
    return TRUE;
  g_autofree char *https = g_strdup_printf ("https://%s", c->host);
  g_autofree char *ping = g_strconcat (https, "/v2/", NULL);
  SkHttpRequest req = { .url = ping, .no_retry = !c->tls_verify };
  g_autoptr (GError) local = NULL;
  g_autoptr (SkHttpResponse) resp = sk_http_send (c->http, &req, &local);
  if (resp)
    {
      c->base = g_steal_pointer (&https);
      return TRUE;
    }
  const char *hint = tls_hint (local->message);
  if (hint)
    return g_set_error (error, local->domain, local->code, "%s (%s)", local->message, hint), FALSE;
  if (c->tls_verify)
    return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
  sk_debug ("https to %s failed (%s): trying http", c->host, local->message);
  g_autofree char *http = g_strdup_printf ("http://%s", c->host);
  g_autofree char *ping_http = g_strconcat (http, "/v2/", NULL);
  req.url = ping_http;
  g_autoptr (SkHttpResponse) resp2 = sk_http_send (c->http, &req, error);
  if (resp2 == NULL)
    return FALSE;
  c->base = g_steal_pointer (&http);
  return TRUE;
}

/* ---------------------------------------------------------------- auth */

/* Looks the credentials up once, when a challenge first needs them. */
static gboolean
load_credentials (SkRegistryClient *c, const char *repository, GError **error)
{
  if (c->creds_loaded)
    return TRUE;
  SkCredentialsOptions opts = { .authfile = c->authfile };
  if (!sk_credentials_lookup (&opts, c->domain, repository, &c->creds, error))
    return g_prefix_error (error, "credentials for '%s': ", c->domain), FALSE;
  c->creds_loaded = TRUE;
  if (c->creds)
    sk_debug ("credentials for '%s' from %s", c->domain, c->creds->source);
  return TRUE;
}

static gboolean
have_password (SkRegistryClient *c)
{
  return c->creds && c->creds->username && c->creds->password;
}

static char *
authorization_for (SkRegistryClient *c, const char *scope)
{
  if (c->basic)
    return g_strdup (c->basic);
  if (c->realm == NULL)
    return NULL;
  g_auto (GStrv) scopes = sk_auth_scopes_split (scope);
  g_autofree char *token = sk_auth_cache_get (c->tokens, c->realm, c->service, (const char *const *) scopes,
                                              g_get_real_time () / G_USEC_PER_SEC);
  return token ? g_strconcat ("Bearer ", token, NULL) : NULL;
}

/* Asks the realm for a token: GET (anonymous, or with Basic credentials),
 * or with an identity token the OAuth2 refresh POST. */
static SkHttpResponse *
request_token (SkRegistryClient *c, const char *scope, const char *request_url, gboolean with_credentials,
               GError **error)
{
  g_auto (GStrv) scopes = sk_auth_scopes_split (scope);
  const char *identity = with_credentials && c->creds ? c->creds->identity_token : NULL;
  g_autofree char *url = sk_auth_token_url (c->realm, request_url, c->service,
                                         identity ? NULL : (const char *const *) scopes, error);
  if (url == NULL)
    return NULL;
  if (identity)
    {
      g_autofree char *form = sk_auth_oauth_refresh_form (c->service, (const char *const *) scopes, identity, "skiff");
      g_autoptr (GBytes) body = g_bytes_new_take (form, strlen (form));
      form = NULL;
      const char *headers[] = { "Accept: application/json", "Content-Type: application/x-www-form-urlencoded", NULL };
      SkHttpRequest req = { .method = "POST", .url = url, .headers = headers, .body = body };
      return sk_http_send (c->http, &req, error);
    }
  g_autofree char *basic = with_credentials ? sk_auth_basic_value (c->creds->username, c->creds->password) : NULL;
  const char *headers[] = { "Accept: application/json", NULL };
  SkHttpRequest req = { .url = url, .headers = headers, .authorization = basic };
  return sk_http_send (c->http, &req, error);
}

/* Gets a token for @scope from the current realm and caches it. */
static gboolean
fetch_token (SkRegistryClient *c, const char *scope, const char *request_url, gboolean with_credentials,
             GError **error)
{
  g_autoptr (SkHttpResponse) resp = request_token (c, scope, request_url, with_credentials, error);
  if (resp == NULL)
    return g_prefix_error (error, "fetching a token: "), FALSE;
  if (resp->status != 200)
    {
      gboolean post = with_credentials && c->creds && c->creds->identity_token;
      sk_http_set_status_error (error, post ? "POST" : "GET", c->realm, resp);
      return g_prefix_error (error, "fetching a token: "), FALSE;
    }
  gsize len;
  const void *data = g_bytes_get_data (resp->body, &len);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr (SkAuthToken) token = sk_auth_token_parse (data, len, now, error);
  if (token == NULL)
    return g_prefix_error (error, "token from '%s': ", c->realm), FALSE;
  g_auto (GStrv) scopes = sk_auth_scopes_split (scope);
  sk_auth_cache_put (c->tokens, c->realm, c->service, (const char *const *) scopes, token);
  return TRUE;
}

/* The final word on a 401 we cannot answer. */
static gboolean
refuse (SkRegistryClient *c, const char *method, const char *url, const SkHttpResponse *resp, GError **error)
{
  sk_http_set_status_error (error, method, url, resp);
  if (c->creds)
    g_prefix_error (error, "credentials for '%s' were refused: ", c->domain);
  else
    g_prefix_error (error, "no credentials for '%s': ", c->domain);
  return FALSE;
}

/* Moves the Bearer flow for @scope one step on: anonymous token, then
 * one with credentials.  FALSE when there is no step left. */
static gboolean
next_bearer_step (SkRegistryClient *c, const SkAuthChallenge *ch, const char *scope, const char *url,
                  const char *repository, gboolean sent_auth, gboolean *out_progress, GError **error)
{
  const char *realm = sk_auth_challenge_get (ch, "realm");
  if (realm == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "bearer challenge without a realm"), FALSE;
  g_free (c->realm);
  c->realm = g_strdup (realm);
  g_free (c->service);
  c->service = g_strdup (sk_auth_challenge_get (ch, "service"));
  TokenStage stage = GPOINTER_TO_INT (g_hash_table_lookup (c->stages, scope));
  /* Sent without a token although we had one: it expired.  Redo the step
   * that got it. */
  if (!sent_auth && stage > TOKEN_NONE)
    stage--;
  /* The registry refused a token we sent (it expired sooner than it
   * said, or was revoked): redo the step that got it, once. */
  else if (sent_auth && stage > TOKEN_NONE && g_strcmp0 (sk_auth_challenge_get (ch, "error"), "invalid_token") == 0)
    {
      if (!g_hash_table_add (c->renewed, g_strdup (scope)))
        return g_set_error (error, SK_ERROR, SK_ERROR_UNAUTHORIZED,
                            "the registry refused a fresh token from '%s' for '%s' (invalid_token)", c->realm,
                            scope), FALSE;
      g_auto (GStrv) scopes = sk_auth_scopes_split (scope);
      sk_auth_cache_remove (c->tokens, c->realm, c->service, (const char *const *) scopes);
      sk_debug ("token for '%s' refused: asking again", scope);
      stage--;
    }
  *out_progress = FALSE;
  if (stage == TOKEN_NONE)
    {
      g_hash_table_replace (c->stages, g_strdup (scope), GINT_TO_POINTER (TOKEN_ANONYMOUS));
      g_autoptr (GError) local = NULL;
      if (fetch_token (c, scope, url, FALSE, &local))
        return *out_progress = TRUE, TRUE;
      if (!g_error_matches (local, SK_ERROR, SK_ERROR_UNAUTHORIZED))
        return g_propagate_error (error, g_steal_pointer (&local)), FALSE;
      stage = TOKEN_ANONYMOUS;
    }
  if (!load_credentials (c, repository, error))
    return FALSE;
  if (stage == TOKEN_ANONYMOUS && c->creds)
    {
      g_hash_table_replace (c->stages, g_strdup (scope), GINT_TO_POINTER (TOKEN_CREDENTIALS));
      if (!fetch_token (c, scope, url, TRUE, error))
        return g_prefix_error (error, "credentials for '%s' were refused: ", c->domain), FALSE;
      return *out_progress = TRUE, TRUE;
    }
  return TRUE;
}

/* Answers the 401 in @resp: TRUE when the request is worth sending again. */
static gboolean
answer_challenge (SkRegistryClient *c, const char *method, const char *url, const SkHttpResponse *resp,
                  const char *scope, const char *repository, gboolean sent_auth, GError **error)
{
  const char *header = sk_http_response_header (resp, "www-authenticate");
  g_autoptr (GPtrArray) challenges = header ? sk_auth_challenges_parse (header, NULL) : NULL;
  const SkAuthChallenge *bearer = challenges ? sk_auth_challenges_find (challenges, "bearer") : NULL;
  const SkAuthChallenge *basic = challenges ? sk_auth_challenges_find (challenges, "basic") : NULL;
  gboolean progress = FALSE;
  if (bearer)
    {
      if (!next_bearer_step (c, bearer, scope, url, repository, sent_auth, &progress, error))
        return FALSE;
    }
  else if (basic && c->basic == NULL)
    {
      if (!load_credentials (c, repository, error))
        return FALSE;
      if (have_password (c))
        {
          c->basic = sk_auth_basic_value (c->creds->username, c->creds->password);
          progress = TRUE;
        }
    }
  return progress ? TRUE : refuse (c, method, url, resp, error);
}

/* ---------------------------------------------------------------- requests */

typedef struct {
  int fd;                          /* download target, or -1 */
  const SkHttpDownloadOptions *dl;
  char *digest;                    /* of the downloaded file */
  guint64 size;
} Download;

/* Sends @req (URL relative to the registry's base) with the authorization
 * @scope (one scope, or several joined with spaces) needs, answering
 * challenges; returns the final response.  @repository names the
 * credentials to use. */
static SkHttpResponse *
client_send_scope_list (SkRegistryClient *c, SkHttpRequest *req, const char *scope, const char *repository,
                        Download *dl, GError **error)
{
  const char *method = req->method ? req->method : "GET";
  /* Each challenge moves the flow on (basic, anonymous token, token
   * with credentials): a few rounds at most. */
  for (guint round = 0; round < 4; round++)
    {
      g_autofree char *auth = authorization_for (c, scope);
      req->authorization = auth;
      SkHttpResponse *resp = dl ? sk_http_download (c->http, req, dl->fd, dl->dl, &dl->digest, &dl->size, error)
                                : sk_http_send (c->http, req, error);
      req->authorization = NULL;
      if (resp == NULL || resp->status != 401)
        return resp;
      g_autoptr (SkHttpResponse) denied = resp;
      if (!answer_challenge (c, method, req->url, denied, scope, repository, auth != NULL, error))
        return NULL;
    }
  return g_set_error (error, SK_ERROR, SK_ERROR_UNAUTHORIZED, "%s %s: still unauthorized after authenticating",
                      method, req->url), NULL;
}

static SkHttpResponse *
client_send_scoped (SkRegistryClient *c, SkHttpRequest *req, const char *repository, SkAuthActions actions,
                    Download *dl, GError **error)
{
  g_autofree char *scope = sk_auth_scope_repository (repository, actions, error);
  if (scope == NULL)
    return NULL;
  return client_send_scope_list (c, req, scope, repository, dl, error);
}

static SkHttpResponse *
client_send (SkRegistryClient *c, SkHttpRequest *req, const char *repository, Download *dl, GError **error)
{
  return client_send_scoped (c, req, repository, SK_AUTH_PULL, dl, error);
}

const char *
sk_registry_client_base (SkRegistryClient *c, GError **error)
{
  return ensure_base (c, error) ? c->base : NULL;
}

SkHttpResponse *
sk_registry_send (SkRegistryClient *c, SkHttpRequest *req, const char *repository, SkAuthActions actions,
                  GError **error)
{
  if (!ensure_base (c, error))
    return NULL;
  /* A Location on another host (blob storage, or a registry that lies)
   * never sees our credentials or tokens, and its challenges go unanswered. */
  if (!sk_http_same_origin (c->base, req->url))
    {
      sk_debug ("%s %s: another host than %s, sent without credentials", req->method ? req->method : "GET",
                req->url, c->base);
      req->authorization = NULL;
      return sk_http_send (c->http, req, error);
    }
  return client_send_scoped (c, req, repository, actions, NULL, error);
}

SkHttpResponse *
sk_registry_send_mount (SkRegistryClient *c, SkHttpRequest *req, const char *target, const char *source,
                        GError **error)
{
  if (!ensure_base (c, error))
    return NULL;
  g_auto (GStrv) scopes = sk_auth_scopes_for_mount (target, source, error);
  if (scopes == NULL)
    return NULL;
  g_autofree char *scope = sk_auth_scopes_join ((const char *const *) scopes);
  return client_send_scope_list (c, req, scope, target, NULL, error);
}

/* The error for an unwanted answer about @what (a manifest or a blob). */
static gboolean
refused (GError **error, const char *kind, const char *what, const char *url, const SkHttpResponse *resp)
{
  sk_http_set_status_error (error, "GET", url, resp);
  if (resp->status == 404)
    g_prefix_error (error, "%s '%s' not found: ", kind, what);
  return FALSE;
}

static gboolean
verify_manifest_digest (const char *ref, const SkHttpResponse *resp, GBytes *raw, char **out_digest,
                        GError **error)
{
  gsize len;
  const void *data = g_bytes_get_data (raw, &len);
  const char *header = sk_http_response_header (resp, "docker-content-digest");
  gboolean by_digest = strchr (ref, ':') != NULL;
  const char *expected = by_digest ? ref : header;
  if (expected && !sk_digest_verify_bytes (expected, data, len, error))
    return g_prefix_error (error, "manifest '%s': ", ref), FALSE;
  if (by_digest && header && !g_str_equal (header, ref) && !sk_digest_verify_bytes (header, data, len, error))
    return g_prefix_error (error, "manifest '%s': Docker-Content-Digest: ", ref), FALSE;
  *out_digest = expected && !g_str_has_prefix (expected, "sha256:") ? g_strdup (expected)
                                                                     : sk_digest_bytes (SK_DIGEST_SHA256, data, len);
  return TRUE;
}

gboolean
sk_registry_get_manifest (SkRegistryClient *c, const char *repository, const char *ref, GBytes **out_raw,
                          char **out_media_type, char **out_digest, GError **error)
{
  if (!ensure_base (c, error))
    return FALSE;
  g_autofree char *url = sk_registry_url (c->base, repository, "manifests", ref);
  const char *headers[] = { SK_REGISTRY_MANIFEST_ACCEPT, NULL };
  SkHttpRequest req = { .url = url, .headers = headers, .max_body = SK_MANIFEST_MAX_SIZE };
  g_autoptr (SkHttpResponse) resp = client_send (c, &req, repository, NULL, error);
  if (resp == NULL)
    return FALSE;
  if (resp->status != 200)
    return refused (error, "manifest", ref, url, resp);
  g_autofree char *digest = NULL;
  if (!verify_manifest_digest (ref, resp, resp->body, &digest, error))
    return FALSE;
  *out_raw = g_bytes_ref (resp->body);
  *out_media_type = sk_http_content_type_strip (sk_http_response_header (resp, "content-type"));
  *out_digest = g_steal_pointer (&digest);
  return TRUE;
}

static gboolean
check_blob (const char *digest, gint64 size, const char *got_digest, guint64 got_size, GError **error)
{
  /* A body that ended early, cleanly (a lying or broken proxy): what came
   * is worth resuming. */
  if (size >= 0 && got_size < (guint64) size)
    return g_set_error (error, SK_ERROR, SK_ERROR_TRANSIENT,
                        "blob '%s': the registry sent %" G_GUINT64_FORMAT " of its %" G_GINT64_FORMAT " bytes", digest,
                        got_size, size), FALSE;
  if (size >= 0 && got_size != (guint64) size)
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                        "blob '%s': expected %" G_GINT64_FORMAT " bytes, got %" G_GUINT64_FORMAT, digest, size,
                        got_size), FALSE;
  if (!g_str_equal (digest, got_digest))
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                        "blob '%s': digest mismatch: the registry sent '%s'", digest, got_digest), FALSE;
  return TRUE;
}

/* One download from @opts->resume_from; *out_unsatisfiable on 416, the
 * file's size in @out_size when an answer came. */
static gboolean
download_blob (SkRegistryClient *c, const char *repository, const char *url, const char *digest, gint64 size,
               int fd, const SkHttpDownloadOptions *opts, gboolean *out_unsatisfiable, guint64 *out_size,
               GError **error)
{
  SkHttpRequest req = { .url = url };
  Download dl = { .fd = fd, .dl = opts };
  g_autoptr (SkHttpResponse) resp = client_send (c, &req, repository, &dl, error);
  g_autofree char *got = g_steal_pointer (&dl.digest);
  if (resp == NULL)
    return FALSE;
  *out_unsatisfiable = resp->status == 416;
  if (resp->status < 200 || resp->status > 299)
    return refused (error, "blob", digest, url, resp);
  *out_size = dl.size;
  return check_blob (digest, size, got, dl.size, error);
}

gboolean
sk_registry_get_blob (SkRegistryClient *c, const char *repository, const char *digest, gint64 size, int fd,
                      guint64 resume_from, SkHttpProgress progress, gpointer progress_data, GError **error)
{
  SkDigestAlgorithm alg;
  if (!sk_digest_validate (digest, &alg, error))
    return FALSE;
  if (!ensure_base (c, error))
    return FALSE;
  g_autofree char *url = sk_registry_url (c->base, repository, "blobs", digest);
  SkHttpDownloadOptions opts = {
    .alg = alg, .resume_from = resume_from, .max_size = size >= 0 ? (guint64) size : 0,
    .progress = progress, .progress_data = progress_data,
  };
  if (size >= 0 && resume_from > (guint64) size)
    opts.resume_from = 0;
  g_autoptr (GError) local = NULL;
  for (guint attempt = 1;; attempt++)
    {
      gboolean unsatisfiable = FALSE;
      guint64 got = 0;
      g_clear_error (&local);
      if (download_blob (c, repository, url, digest, size, fd, &opts, &unsatisfiable, &got, &local))
        return TRUE;
      if (attempt >= SK_HTTP_TRIES)
        break;
      /* A partial file the server cannot continue (it is complete, or the
       * blob changed): start over.  A body cut short: go on from its end. */
      if (unsatisfiable && opts.resume_from > 0)
        opts.resume_from = 0;
      else if (g_error_matches (local, SK_ERROR, SK_ERROR_TRANSIENT) && got > opts.resume_from)
        opts.resume_from = got;
      else
        break;
      sk_debug ("blob '%s': %s; downloading again from byte %" G_GUINT64_FORMAT, digest, local->message,
                opts.resume_from);
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

/* After the parallel try of @job (@hj its outcome): TRUE when it is done
 * (verified, or failed for good), FALSE when the sequential path should
 * finish it (a challenge to answer, a range to redo, a short body). */
static gboolean
blob_job_settled (SkRegistryBlobJob *job, SkHttpDownloadJob *hj, const char *url, guint64 *out_resume)
{
  *out_resume = job->resume_from;
  if (hj->resp == NULL)
    {
      job->error = g_steal_pointer (&hj->error);
      return TRUE;
    }
  long status = hj->resp->status;
  if (status == 401 || status == 416)
    return FALSE;
  if (status < 200 || status > 299)
    return refused (&job->error, "blob", job->digest, url, hj->resp), TRUE;
  g_autoptr (GError) local = NULL;
  if (check_blob (job->digest, job->size, hj->digest, hj->size, &local))
    return TRUE;
  if (g_error_matches (local, SK_ERROR, SK_ERROR_TRANSIENT))
    return *out_resume = hj->size, FALSE;
  job->error = g_steal_pointer (&local);
  return TRUE;
}

gboolean
sk_registry_get_blobs (SkRegistryClient *c, const char *repository, SkRegistryBlobJob *jobs, guint n_jobs,
                       guint parallel, GError **error)
{
  if (!ensure_base (c, error))
    return FALSE;
  g_autofree char *scope = sk_auth_scope_repository (repository, SK_AUTH_PULL, error);
  if (scope == NULL)
    return FALSE;
  /* The manifest's fetch answered the challenges: its authorization serves
   * the blobs (a 401 sends a job down the sequential path). */
  g_autofree char *auth = authorization_for (c, scope);
  g_autofree SkHttpDownloadJob *hjobs = g_new0 (SkHttpDownloadJob, n_jobs);
  g_autofree SkHttpRequest *reqs = g_new0 (SkHttpRequest, n_jobs);
  g_autofree SkHttpDownloadOptions *opts = g_new0 (SkHttpDownloadOptions, n_jobs);
  g_autoptr (GPtrArray) urls = g_ptr_array_new_with_free_func (g_free);
  guint n = 0;
  for (guint i = 0; i < n_jobs; i++)
    {
      SkDigestAlgorithm alg;
      if (!sk_digest_validate (jobs[i].digest, &alg, &jobs[i].error))
        continue;
      char *url = sk_registry_url (c->base, repository, "blobs", jobs[i].digest);
      g_ptr_array_add (urls, url);
      reqs[n] = (SkHttpRequest) { .url = url, .authorization = auth };
      guint64 max = jobs[i].size >= 0 ? (guint64) jobs[i].size : 0;
      opts[n] = (SkHttpDownloadOptions) { .alg = alg, .resume_from = max && jobs[i].resume_from > max ? 0 : jobs[i].resume_from,
                                          .max_size = max, .progress = jobs[i].progress,
                                          .progress_data = jobs[i].progress_data, .recycler = jobs[i].recycler };
      hjobs[n] = (SkHttpDownloadJob) { .req = &reqs[n], .fd = jobs[i].fd, .opts = &opts[n] };
      n++;
    }
  sk_http_download_many (c->http, hjobs, n, parallel);
  n = 0;
  for (guint i = 0; i < n_jobs; i++)
    {
      if (jobs[i].error)
        continue;
      SkHttpDownloadJob *hj = &hjobs[n++];
      guint64 resume = 0;
      if (!blob_job_settled (&jobs[i], hj, hj->req->url, &resume))
        sk_registry_get_blob (c, repository, jobs[i].digest, jobs[i].size, jobs[i].fd, resume, jobs[i].progress,
                              jobs[i].progress_data, &jobs[i].error);
      g_clear_pointer (&hj->resp, sk_http_response_free);
      g_clear_pointer (&hj->digest, g_free);
      g_clear_error (&hj->error);
    }
  return TRUE;
}

GBytes *
sk_registry_get_blob_bytes (SkRegistryClient *c, const char *repository, const char *digest, gint64 size,
                            gsize max_size, GError **error)
{
  if (!sk_digest_validate (digest, NULL, error))
    return NULL;
  if (size > (gint64) max_size)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "blob '%s' is %" G_GINT64_FORMAT
                        " bytes, more than the %" G_GSIZE_FORMAT " allowed", digest, size, max_size), NULL;
  if (!ensure_base (c, error))
    return NULL;
  g_autofree char *url = sk_registry_url (c->base, repository, "blobs", digest);
  SkHttpRequest req = { .url = url, .max_body = max_size };
  g_autoptr (SkHttpResponse) resp = client_send (c, &req, repository, NULL, error);
  if (resp == NULL)
    return NULL;
  if (resp->status != 200)
    return refused (error, "blob", digest, url, resp), NULL;
  gsize len;
  const void *data = g_bytes_get_data (resp->body, &len);
  if (size >= 0 && len != (gsize) size)
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH, "blob '%s': expected %" G_GINT64_FORMAT
                        " bytes, got %" G_GSIZE_FORMAT, digest, size, len), NULL;
  if (!sk_digest_verify_bytes (digest, data, len, error))
    return g_prefix_error (error, "blob '%s': ", digest), NULL;
  return g_bytes_ref (resp->body);
}
