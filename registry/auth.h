/* skiff — registry authentication, the pure parts.
 *
 * The distribution token flow (docs: distribution/distribution
 * docs/content/spec/auth/token.md, scope.md, oauth.md):
 *
 *   1. a request answers 401 with WWW-Authenticate: sk_auth_challenges_parse
 *      and sk_auth_challenges_find ("bearer" first, else "basic");
 *   2. Basic: resend with sk_auth_basic_value (user, password);
 *   3. Bearer: build the scopes (sk_auth_scope_repository, or
 *      sk_auth_scopes_for_mount), look in the SkAuthCache, else GET
 *      sk_auth_token_url (with Basic credentials when there are some) or,
 *      with an identity token, POST sk_auth_oauth_refresh_form to the realm;
 *      parse the answer with sk_auth_token_parse, put it in the cache and
 *      resend with "Bearer <token>".
 *
 * Nothing here does I/O.  Malformed input fails with SK_ERROR_INVALID_DATA
 * (challenges, token responses) or SK_ERROR_INVALID_REFERENCE (scopes). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- WWW-Authenticate ---- */

typedef struct {
  char *scheme;       /* lowercase: "bearer", "basic", ... */
  GHashTable *params; /* lowercase name -> unquoted value ("realm", "service",
                         "scope", "error", ...); never NULL */
  char *token68;      /* "Negotiate abc==" style credentials, else NULL */
} SkAuthChallenge;

void sk_auth_challenge_free (SkAuthChallenge *challenge);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkAuthChallenge, sk_auth_challenge_free)

/* A parameter of @challenge by lowercase name, or NULL. */
const char *sk_auth_challenge_get (const SkAuthChallenge *challenge, const char *name);

/* Parses a WWW-Authenticate value (RFC 7235 section 4.1): one or more
 * challenges separated by commas ("Basic realm=\"x\", Bearer realm=...";
 * several WWW-Authenticate headers joined with ", " parse the same way).
 * Schemes and parameter names are case-insensitive and returned lowercase;
 * values are tokens or quoted strings (backslash escapes the next
 * character, commas inside quotes are data); whitespace around '=' and
 * ',' and empty list elements are accepted.  Refused with
 * SK_ERROR_INVALID_DATA: an empty value, a parameter without a scheme or
 * without a value, an unterminated quoted string, control characters, a
 * parameter given twice in one challenge (RFC 7235: "MUST only occur
 * once"), junk after a value.
 * Returns a GPtrArray of SkAuthChallenge (in header order, never empty). */
GPtrArray *sk_auth_challenges_parse (const char *header, GError **error);

/* The first challenge with @scheme (case-insensitive), borrowed; NULL when
 * there is none. */
const SkAuthChallenge *sk_auth_challenges_find (GPtrArray *challenges, const char *scheme);

/* ---- scopes ---- */

typedef enum {
  SK_AUTH_PULL = 1 << 0,
  SK_AUTH_PUSH = 1 << 1,
  SK_AUTH_DELETE = 1 << 2,
} SkAuthActions;

/* "repository:NAME:pull,push" (actions always in the order pull, push,
 * delete).  @repository is the path within the registry ("library/deb");
 * it must be non-empty and hold no whitespace, control character, '"',
 * '\\' or ':' (which would break the scope grammar); @actions non-zero.
 * Fails with SK_ERROR_INVALID_REFERENCE. */
char *sk_auth_scope_repository (const char *repository, SkAuthActions actions, GError **error);

/* The two scopes a cross-repository mount needs, as a NULL-terminated
 * vector: push (with pull) on @target and pull on @source, target first.
 * Send them as repeated scope= parameters (sk_auth_token_url) or joined
 * with spaces (sk_auth_scopes_join). */
GStrv sk_auth_scopes_for_mount (const char *target, const char *source, GError **error);

/* The scopes joined with single spaces, in the given order (the form of a
 * WWW-Authenticate scope parameter and of the OAuth2 form). */
char *sk_auth_scopes_join (const char *const *scopes);

/* Splits a space-separated scope list (a challenge's scope parameter) into
 * its scopes; runs of spaces are one separator, an empty list gives an
 * empty vector. */
GStrv sk_auth_scopes_split (const char *scope_list);

typedef struct {
  char *type;    /* "repository", "registry", ... */
  char *name;    /* may hold one ':' ("localhost:5000/a") */
  char **actions; /* NULL-terminated, possibly empty ("" actions) */
} SkAuthScope;

void sk_auth_scope_free (SkAuthScope *scope);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkAuthScope, sk_auth_scope_free)

/* Parses one scope "type:name:actions" (scope.md grammar): the type ends
 * at the first ':', the actions start after the last, so a name such as
 * "host:5000/repo" survives.  SK_ERROR_INVALID_DATA when a part is
 * missing or empty (type, name). */
SkAuthScope *sk_auth_scope_parse (const char *scope, GError **error);

/* ---- token request and response ---- */

/* The GET URL of a token request: @realm plus "service=S" (when @service
 * is not NULL) and one "scope=X" per scope, appended with '?' or '&'
 * after a query the realm already has.  Values are percent-encoded except
 * unreserved characters and ":/,@" (so the spec's example reads
 * "...?service=registry.docker.io&scope=repository:samalba/my-app:pull,push").
 * A relative @realm is resolved against @request_url (may be NULL).  The
 * realm must be an absolute http or https URL with a host and without a
 * fragment or user information; anything else (file://, ftp://, gopher://,
 * a registry that lies) fails with SK_ERROR_INVALID_DATA
 * "refusing token realm 'URL': ...". */
char *sk_auth_token_url (const char *realm, const char *request_url, const char *service,
                         const char *const *scopes, GError **error);

/* The application/x-www-form-urlencoded body of an OAuth2 refresh-token
 * request (oauth.md): grant_type=refresh_token, service, client_id, scope
 * (all scopes space-separated in one parameter) and refresh_token. */
char *sk_auth_oauth_refresh_form (const char *service, const char *const *scopes, const char *refresh_token,
                                  const char *client_id);

/* The value of an Authorization header for Basic credentials:
 * "Basic base64(user:password)". */
char *sk_auth_basic_value (const char *username, const char *password);

/* Minimum and default lifetime of a token (token.md: "defaults to 60
 * seconds", "should never be returned with less than 60 seconds"). */
#define SK_AUTH_TOKEN_MIN_LIFETIME 60
/* Longest lifetime believed, so arithmetic cannot overflow. */
#define SK_AUTH_TOKEN_MAX_LIFETIME (366 * 24 * 3600)

typedef struct {
  char *token;         /* "token", or "access_token" when "token" is absent or empty */
  char *refresh_token; /* NULL when absent */
  gint64 expires_in;   /* seconds, clamped to [60, SK_AUTH_TOKEN_MAX_LIFETIME] */
  gint64 issued_at;    /* unix seconds from "issued_at", or 0 when absent */
  gint64 expires_at;   /* unix seconds: expires_in after issued_at (or after
                          @now when absent or later than @now) */
} SkAuthToken;

void sk_auth_token_free (SkAuthToken *token);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkAuthToken, sk_auth_token_free)

/* Parses a token server's answer received at @now (unix seconds).  Fails
 * with SK_ERROR_INVALID_DATA when the body is not a JSON object, when
 * neither "token" nor "access_token" is a non-empty string, when a token
 * holds whitespace or control characters (it goes into a header), when
 * "expires_in" is not an integer or "issued_at" not an RFC 3339 time. */
SkAuthToken *sk_auth_token_parse (const void *data, gsize len, gint64 now, GError **error);

/* ---- token cache ---- */

/* A token is not handed out when it expires within this many seconds. */
#define SK_AUTH_CACHE_MARGIN 10

/* Tokens by (realm, service, set of scopes); thread-safe. */
typedef struct _SkAuthCache SkAuthCache;

SkAuthCache *sk_auth_cache_new (void);
void sk_auth_cache_free (SkAuthCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkAuthCache, sk_auth_cache_free)

/* The cache key: realm, service and the scopes sorted and deduplicated
 * (so the order scopes were asked in does not matter). */
char *sk_auth_cache_key (const char *realm, const char *service, const char *const *scopes);

/* Remembers @token (copied) for the key; replaces an older entry. */
void sk_auth_cache_put (SkAuthCache *cache, const char *realm, const char *service, const char *const *scopes,
                        const SkAuthToken *token);

/* A copy of the cached token that is still valid SK_AUTH_CACHE_MARGIN
 * seconds after @now (unix seconds), or NULL.  Expired entries are dropped. */
char *sk_auth_cache_get (SkAuthCache *cache, const char *realm, const char *service, const char *const *scopes,
                         gint64 now);

/* Forgets the entry (after the registry refused the token). */
void sk_auth_cache_remove (SkAuthCache *cache, const char *realm, const char *service, const char *const *scopes);

G_END_DECLS
