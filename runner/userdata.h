/* skiff — the cloud-init NoCloud documents of a VM, as text.
 *
 * Everything here is pure: no I/O, no subprocess.  runner/seed.h packs the
 * documents into the seed ISO.
 *
 * YAML safety: every string skiff puts into meta-data or user-data is
 * emitted as a double-quoted YAML scalar ("..." with \" \\ \n \t \xHH
 * \uHHHH escapes; every byte outside printable ASCII is escaped), or, for
 * a multi-line private key made only of printable ASCII lines, as a literal
 * block scalar (|) indented under its key.  No value can end its scalar
 * and start a key of its own.
 *
 * The generated #cloud-config (no user-data given) holds, in this order:
 *   hostname             --hostname (omitted when NULL)
 *   users                one entry for the image's default user: sudo
 *                        "ALL=(ALL) NOPASSWD:ALL", shell (default /bin/sh:
 *                        present in every guest), lock_passwd, and
 *                        ssh_authorized_keys = the user's keys + skiff's
 *                        per-VM key.  Omitted when the default user is
 *                        NULL or "root".
 *   ssh_authorized_keys  the same keys again at top level: cloud-init
 *                        gives them to the default user and to root
 *   disable_root: false  root accepts those keys too.  skiff exec logs in
 *                        as the default user; tiny guests have only root.
 *                        The key holders have passwordless sudo anyway, so
 *                        root login grants nothing more.
 *   ssh_pwauth: false
 *   ssh_keys             ed25519_private / ed25519_public: the host key
 *                        skiff generated and pinned, so skiff exec never
 *                        trusts on first use (given ssh_keys, cloud-init
 *                        generates no other host key: no RSA, which takes
 *                        seconds under TCG)
 *   write_files          for -e KEY=VAL: /etc/environment (appended,
 *                        KEY="VAL" lines as pam_env reads them) and
 *                        /etc/profile.d/skiff-env.sh (export KEY='VAL')
 *   runcmd               the requested commands, each run by sh -c
 *
 * User-supplied user-data (--user-data FILE) is never rewritten: the
 * result is a MIME multipart/mixed message.  Its first part is the user's
 * document, base64-encoded, with the content type cloud-init gives its
 * first line (#cloud-config -> text/cloud-config, #! ->
 * text/x-shellscript, #cloud-boothook, #include, #include-once,
 * #cloud-config-archive, #part-handler, #cloud-config-jsonp, "## template:
 * jinja"); a user's MIME message is embedded whole as a nested part.  The
 * last part is skiff's cloud-config above, with "Merge-Type:
 * dict(no_replace,recurse_list)+list(append)+str()": cloud-init merges it
 * into whatever the user's parts built, appending skiff's entries to the
 * lists (users, ssh_authorized_keys, write_files, runcmd) and adding the
 * keys the user did not set; a scalar the user set (hostname, ssh_pwauth,
 * a host key under ssh_keys) is the user's call and stays, so a user who
 * sets their own ed25519 host key loses skiff's pinning.  Empty user-data
 * counts as none; gzip-compressed user-data and text of no known type are
 * refused. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *instance_id;        /* required: the VM id */
  char *hostname;           /* nullable */
  char *default_user;       /* from the image config; NULL or "root": root only */
  char *shell;              /* nullable: /bin/sh */
  GPtrArray *authorized_keys; /* char *: the user's keys, then skiff's */
  char *host_key_private;   /* nullable: OpenSSH ed25519 private key */
  char *host_key_public;    /* nullable unless host_key_private is set */
  GPtrArray *env;           /* char *: "KEY=VAL" */
  GPtrArray *runcmd;        /* char *: shell commands */
} SkUserDataSpec;

/* A spec with empty arrays that free their strings; free with
 * sk_userdata_spec_free (NULL-safe), which frees every member. */
SkUserDataSpec *sk_userdata_spec_new (void);
void sk_userdata_spec_free (SkUserDataSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkUserDataSpec, sk_userdata_spec_free)

/* @s as a double-quoted YAML scalar (see above).  Never fails: invalid
 * UTF-8 bytes become \uFFFD.  Free with g_free. */
char *sk_userdata_yaml_quote (const char *s);

/* The meta-data document: instance-id and local-hostname (omitted when
 * @hostname is NULL).  Free with g_free. */
char *sk_userdata_meta_data (const char *instance_id, const char *hostname);

/* Checks one -e argument: "KEY=VAL", KEY matching [A-Za-z_][A-Za-z0-9_]*,
 * VAL without line breaks (they cannot be written to /etc/environment).
 * Fails with SK_ERROR_USAGE. */
gboolean sk_userdata_check_env (const char *kv, GError **error);

/* Checks a --hostname: RFC 1123 labels of letters, digits and '-', at most
 * 63 bytes each and 253 in all.  Fails with SK_ERROR_USAGE. */
gboolean sk_userdata_check_hostname (const char *hostname, GError **error);

/* The MIME type cloud-init would give user-data starting like @data
 * ("text/cloud-config", "text/x-shellscript", "multipart/mixed" for a MIME
 * message, ...), or NULL when it has no known type.  Static string. */
const char *sk_userdata_detect_type (GBytes *data);

/* The user-data document for @spec, merged with @user_supplied (nullable)
 * as described above.  Fails with SK_ERROR_USAGE for a bad env entry or
 * hostname or user-data of unknown type, SK_ERROR_INVALID_DATA for a bad
 * default user name or an SSH key with a line break, SK_ERROR_UNSUPPORTED
 * for compressed user-data.  @out_user_data is freed with g_free. */
gboolean sk_userdata_build (const SkUserDataSpec *spec, GBytes *user_supplied,
                            char **out_user_data, GError **error);

G_END_DECLS
