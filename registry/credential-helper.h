/* skiff — docker-credential-<suffix> helpers (private to registry/).
 *
 * The protocol of docker/docker-credential-helpers: argv[1] is the action;
 * get and erase read the server URL on stdin, store reads
 * {"ServerURL","Username","Secret"}; get prints {"Username","Secret"}.
 * "credentials not found in native keychain" on stdout with a non-zero
 * exit means there are none.  The helper is looked up in PATH (a suffix
 * holding anything but letters, digits, '-', '_' and '.' is refused, so a
 * file cannot name a path), gets its input from a memory file (a helper
 * that exits without reading cannot SIGPIPE us) and is killed after
 * @timeout_ms (0: SK_CREDENTIALS_HELPER_TIMEOUT_MS).  Failures of the helper
 * are SK_ERROR_CHILD_FAILED: "docker-credential-x get: exit status 3: <its
 * message>", "... timed out after N ms", "credential helper
 * 'docker-credential-x' not found in PATH". */
#pragma once

#include "registry/credentials.h"

G_BEGIN_DECLS

/* *@out NULL when the helper has nothing; else what it printed (possibly
 * empty strings: the caller decides whether they are usable). */
gboolean sk_credential_helper_get (const char *suffix, const char *server_url, guint timeout_ms, SkCredentials **out,
                                   GError **error);

gboolean sk_credential_helper_store (const char *suffix, const char *server_url, const char *username,
                                     const char *password, guint timeout_ms, GError **error);

/* @out_found is FALSE when the helper had nothing to erase. */
gboolean sk_credential_helper_erase (const char *suffix, const char *server_url, guint timeout_ms, gboolean *out_found,
                                     GError **error);

G_END_DECLS
