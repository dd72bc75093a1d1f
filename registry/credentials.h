/* skiff — registry credentials: auth files and docker credential helpers.
 *
 * Where podman looks (containers-auth.json(5), containers/image
 * pkg/docker/config):
 *
 *   - an explicit file (--authfile, else $REGISTRY_AUTH_FILE): that file
 *     ALONE is read and written;
 *   - otherwise, read in this order, the first that has credentials wins:
 *       $XDG_RUNTIME_DIR/containers/auth.json
 *         (XDG_RUNTIME_DIR unset: /run/containers/<uid>/auth.json, where
 *         podman as root keeps it; set but missing: skipped with a debug
 *         line when reading)
 *       ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json
 *       $DOCKER_CONFIG/config.json, else ~/.docker/config.json
 *       ~/.dockercfg (docker's legacy format: the top level is the map of
 *         entries, no "auths"; read only, as containers/image does).
 *
 * In each file: a "credHelpers" entry for the registry host names the
 * helper to ask; else the "auths" entries, most specific key first
 * ("host/ns/repo", "host/ns", "host"), then host-only keys written as URLs
 * ("https://host/v1/") with docker.io, index.docker.io and
 * registry-1.docker.io as one registry; else "credsStore", the default
 * helper.  An entry holds "auth" (base64 "user:password", split at the
 * first ':') and/or "identitytoken" (an OAuth2 refresh token).  Entries
 * with neither are skipped.
 *
 * Helpers are "docker-credential-<suffix>" found in PATH and speak the
 * docker-credential-helpers protocol: argv[1] is get, store or erase;
 * get and erase read the server URL on stdin, store a JSON document; get
 * prints {"Username","Secret"} ("<token>" as Username: Secret is an
 * identity token).  "credentials not found in native keychain" with a
 * non-zero exit means no credentials, not an error.
 *
 * Writes (store, erase) go to the explicit file, else
 * $XDG_RUNTIME_DIR/containers/auth.json (its directory must exist), else
 * ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json; when that file names
 * a credHelpers entry for the registry, or a credsStore, the helper is
 * used instead.  Files are rewritten through a temporary and rename, mode
 * 0600, parent directories created 0700; other entries and unknown keys
 * are kept. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The file-based "helper" in a credential_helpers list (registries.conf's
 * name for it). */
#define SK_CREDENTIALS_AUTH_FILES "containers-auth.json"

/* Default limit on one credential helper run. */
#define SK_CREDENTIALS_HELPER_TIMEOUT_MS 30000

typedef struct {
  const char *authfile;                  /* --authfile: read and written alone; wins over
                                            registry_auth_file */
  const char *username;                  /* --creds: when set, returned as is, nothing read */
  const char *password;
  const char *const *credential_helpers; /* registries.conf "credential-helpers": helper
                                            suffixes and SK_CREDENTIALS_AUTH_FILES, in order;
                                            NULL: the auth files alone */
  guint helper_timeout_ms;               /* 0: SK_CREDENTIALS_HELPER_TIMEOUT_MS */

  /* Environment overrides (tests).  NULL means "take the variable from
   * the environment", unless ignore_environment is set, then "unset". */
  gboolean ignore_environment;
  const char *registry_auth_file; /* $REGISTRY_AUTH_FILE */
  const char *home;               /* $HOME (never unset: g_get_home_dir ()) */
  const char *xdg_runtime_dir;    /* $XDG_RUNTIME_DIR */
  const char *xdg_config_home;    /* $XDG_CONFIG_HOME */
  const char *docker_config;      /* $DOCKER_CONFIG */
  const char *run_dir;            /* NULL: "/run" (for /run/containers/<uid>/auth.json) */
} SkCredentialsOptions;

typedef struct {
  char *username;       /* NULL when only an identity token was found */
  char *password;       /* NULL with username NULL; may be "" */
  char *identity_token; /* OAuth2 refresh token, or NULL */
  char *source;         /* where they came from, for messages: a file path or
                           "docker-credential-<suffix>" */
} SkCredentials;

/* Frees @creds, wiping the secrets first.  NULL-safe. */
void sk_credentials_free (SkCredentials *creds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkCredentials, sk_credentials_free)

/* Finds credentials for @repository_path ("library/deb", may be NULL) on
 * @registry ("docker.io", "localhost:5000").  @opts may be NULL.  TRUE
 * with *@out NULL when there are none (an empty @registry has none).
 * Fails, naming the file, on a file that exists but cannot be read, is not
 * JSON (SK_ERROR_INVALID_DATA) or holds an "auth" that is not base64 of
 * "user:password" (SK_ERROR_INVALID_DATA); with SK_ERROR_CHILD_FAILED when
 * a helper is missing, fails, times out or prints something else than
 * credentials. */
gboolean sk_credentials_lookup (const SkCredentialsOptions *opts, const char *registry, const char *repository_path,
                                SkCredentials **out, GError **error);

/* Stores @username and @password for @registry (a host, or "host/namespace"
 * for credentials limited to a namespace) where podman would (see above).
 * SK_ERROR_INVALID_REFERENCE for an empty @registry, one with a scheme,
 * whitespace or control characters; SK_ERROR_INVALID_DATA for a target
 * file that is not an auth file; file and helper errors as for lookup. */
gboolean sk_credentials_store (const SkCredentialsOptions *opts, const char *registry, const char *username,
                               const char *password, GError **error);

/* Removes the credentials of @registry from the write target (the exact
 * key, and host-only keys that normalise to the same host) and from its
 * helper.  SK_ERROR_NOT_FOUND "not logged in to 'REGISTRY'" when there
 * were none. */
gboolean sk_credentials_erase (const SkCredentialsOptions *opts, const char *registry, GError **error);

/* The file sk_credentials_store writes (without helpers): a new string,
 * or NULL with @error set when $XDG_RUNTIME_DIR names a missing directory. */
char *sk_credentials_write_path (const SkCredentialsOptions *opts, GError **error);

/* ---- pure helpers (unit-tested) ---- */

/* The files searched, in order (a NULL-terminated vector; the last entry
 * is the legacy ~/.dockercfg unless an explicit file is given). */
GStrv sk_credentials_search_paths (const SkCredentialsOptions *opts);

/* The registry host an auth file key stands for: scheme and path removed
 * when the key is a URL (or @legacy), docker.io's aliases mapped to
 * "docker.io" ("https://index.docker.io/v1/" -> "docker.io"). */
char *sk_credentials_normalize_key (const char *key, gboolean legacy);

/* Decodes an "auth" value: standard base64 (padded, no stray characters)
 * of "user:password", split at the first ':'; trailing NUL bytes of the
 * password are dropped (docker does).  SK_ERROR_INVALID_DATA otherwise. */
gboolean sk_credentials_decode_auth (const char *auth, char **out_username, char **out_password, GError **error);

G_END_DECLS
