/* skiff — the CLI: one file per verb, cmd-<verb>.c, each with
 *   int sk_cmd_<verb> (int argc, char **argv, GError **error);
 * returning the exit status.  A verb that fails returns SK_CMD_FAILED with
 * @error set; main() prints it once and picks the exit status. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SK_CMD_FAILED (-1)

typedef int (*SkCmdFn) (int argc, char **argv, GError **error);

typedef struct {
  const char *name;
  SkCmdFn fn;
  const char *summary;
  gboolean hidden;
} SkCmd;

/* The global options, set by main() before any verb runs. */
typedef struct {
  gboolean verbose;
  char *root; /* the store's root directory (absolute) */
} SkGlobals;

extern SkGlobals sk_globals;

/* Output formats of listing/inspecting verbs. */
typedef enum { SK_FORMAT_TABLE, SK_FORMAT_JSON } SkFormat;

/* Parses a --format value ("table", "json"); fails with SK_ERROR_USAGE. */
gboolean sk_cmd_parse_format (const char *value, SkFormat *out, GError **error);

/* Parses @argv with @entries, usage line "skiff VERB PARAMS".  Leaves the
 * positional arguments in argv; fails with a usage error for an unknown
 * flag.  `--help` prints the help and exits 0. */
gboolean sk_cmd_parse (const char *verb, const char *params, const char *summary,
                       const GOptionEntry *entries, int *argc, char ***argv, GError **error);

/* sk_cmd_parse whose G_OPTION_ARG_CALLBACK entries get @user_data. */
gboolean sk_cmd_parse_with_data (const char *verb, const char *params, const char *summary,
                                 const GOptionEntry *entries, gpointer user_data, int *argc, char ***argv,
                                 GError **error);

/* Fails with a usage error unless min <= argc-1 <= max (max < 0: no limit). */
gboolean sk_cmd_check_args (const char *verb, int argc, int min, int max, GError **error);

/* Prints @json (a jansson json_t *) to stdout, indented, with a newline. */
void sk_cmd_print_json (void *json);

#define SK_DECLARE_CMD(verb) int sk_cmd_##verb (int argc, char **argv, GError **error)
SK_DECLARE_CMD (version);
SK_DECLARE_CMD (doctor);
SK_DECLARE_CMD (images);
SK_DECLARE_CMD (tag);
SK_DECLARE_CMD (fsck);
SK_DECLARE_CMD (prune);
SK_DECLARE_CMD (system);
SK_DECLARE_CMD (import);
SK_DECLARE_CMD (commit);
SK_DECLARE_CMD (squash);
SK_DECLARE_CMD (export);
SK_DECLARE_CMD (save);
SK_DECLARE_CMD (load);
SK_DECLARE_CMD (pull);
SK_DECLARE_CMD (push);
SK_DECLARE_CMD (login);
SK_DECLARE_CMD (logout);
SK_DECLARE_CMD (rmi);
SK_DECLARE_CMD (inspect);
SK_DECLARE_CMD (history);
SK_DECLARE_CMD (run);
SK_DECLARE_CMD (create);
SK_DECLARE_CMD (start);
SK_DECLARE_CMD (stop);
SK_DECLARE_CMD (restart);
SK_DECLARE_CMD (kill);
SK_DECLARE_CMD (rm);
SK_DECLARE_CMD (wait);
SK_DECLARE_CMD (port);
SK_DECLARE_CMD (ps);
SK_DECLARE_CMD (logs);
SK_DECLARE_CMD (attach);
SK_DECLARE_CMD (exec);
SK_DECLARE_CMD (ssh);
SK_DECLARE_CMD (autoremove);
SK_DECLARE_CMD (manifest);
SK_DECLARE_CMD (manifest_push);

G_END_DECLS

/* ---- shared by the store verbs (cmd/common-store.c) ---- */
#include "store/store.h"

/* Opens the store at the global root and takes its shared lock. */
SkStore *sk_cmd_open_store (GError **error);

/* Normalises a user-typed image name into the full reference string the
 * store uses ("ubuntu" -> "docker.io/library/ubuntu:latest"); fails with
 * SK_ERROR_INVALID_REFERENCE (exit status 2). */
char *sk_cmd_normalize_name (const char *name, GError **error);

/* Finds an image by name (normalised), digest, or id prefix. */
SkStoreImage *sk_cmd_lookup_image (SkStore *store, const char *name, GError **error);

/* The familiar "repository" and "tag" of a full reference string. */
void sk_cmd_split_familiar (const char *full, char **out_repo, char **out_tag);

/* Pulls the registry reference @name into @store with @opts, showing the
 * progress on stderr unless @quiet (bars on a terminal, lines elsewhere);
 * errors say "pulling 'REF': ...".  In cmd/cmd-pull.c. */
#include "registry/pull.h"
gboolean sk_cmd_pull_image (SkStore *store, const char *name, SkPullOptions *opts, gboolean quiet, char **out_digest,
                            GError **error);

/* "sha256:abcdef123456" -> "abcdef123456" (12 hex digits). */
char *sk_cmd_short_id (const char *digest);

/* ---- shared by the registry verbs (cmd/common-registry.c) ---- */

/* The registry options podman's verbs share. */
typedef struct {
  gboolean tls_verify; /* --tls-verify[=BOOL], default TRUE */
  char *authfile;      /* --authfile FILE, or NULL */
  char *cert_dir;      /* --cert-dir DIR, or NULL */
} SkRegistryCliOptions;

typedef enum {
  SK_REGISTRY_CLI_TLS_VERIFY = 1 << 0,
  SK_REGISTRY_CLI_AUTHFILE = 1 << 1,
  SK_REGISTRY_CLI_CERT_DIR = 1 << 2,
  SK_REGISTRY_CLI_ALL = 0x7,
  SK_REGISTRY_CLI_AUTHFILE_NEW = 1 << 3, /* --authfile may name a file still to be written */
} SkRegistryCliFlags;

/* sk_cmd_parse with the verb's own @entries followed by the registry
 * options @flags names, stored into @ropts (initialised here: TLS checks
 * on, no authfile, no cert dir).  Also fails (SK_ERROR_NOT_FOUND) when
 * --authfile names no regular file (unless SK_REGISTRY_CLI_AUTHFILE_NEW)
 * or --cert-dir no directory. */
gboolean sk_cmd_parse_registry (const char *verb, const char *params, const char *summary,
                                const GOptionEntry *entries, SkRegistryCliOptions *ropts, SkRegistryCliFlags flags,
                                int *argc, char ***argv, GError **error);
