/* skiff — credential lookup used by the registry client.
 *
 * A stand-in until registry/credentials.h (auth.json, docker config,
 * credential helpers) is available: it reads base64 "auth" entries of
 * auth.json-shaped files only, no credential helpers, no identity tokens.
 * Private to registry/. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Looks up credentials for @repository ("library/deb") on @domain
 * ("docker.io", "127.0.0.1:5000").  @authfile (may be NULL) is the only
 * file read when given; else $REGISTRY_AUTH_FILE, then
 * $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json,
 * $DOCKER_CONFIG/config.json (~/.docker/config.json).  Keys match most
 * specific first ("domain/repo", "domain/ns", "domain"); "https://" and a
 * trailing "/v1/" on keys are ignored, docker.io and index.docker.io are
 * one registry.  TRUE with *out_username NULL when nothing matches; FALSE
 * when a file exists but cannot be read or parsed, or an entry is bad. */
gboolean sk_client_credentials_lookup (const char *authfile, const char *domain, const char *repository,
                                       char **out_username, char **out_password, GError **error);

/* The key a credential file entry stands for: "https://index.docker.io/v1/"
 * -> "docker.io", "http://localhost:5000/" -> "localhost:5000". */
char *sk_client_credentials_normalize_key (const char *key);

G_END_DECLS
