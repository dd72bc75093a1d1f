/* skiff — per-VM ed25519 key pairs made in-process (OpenSSL), written in
 * OpenSSH's own formats: the private key as an unencrypted
 * "openssh-key-v1" PEM block, the public key as an "ssh-ed25519" line.
 * Both are what `ssh-keygen -t ed25519 -N ''` writes, without its process
 * start on the path to a VM's boot. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SK_SSHKEY_ED25519_LEN 32

/* The two files of an ed25519 key pair from its 32-byte @seed (the private
 * key) and 32-byte @pub, with @comment (may be NULL: empty).  @check is the
 * private section's random check word.  Returns the private key file text
 * ("-----BEGIN OPENSSH PRIVATE KEY-----" ...) and sets @out_public to the
 * ".pub" line ("ssh-ed25519 AAAA... comment\n").  Pure. */
char *sk_sshkey_format_ed25519 (const guint8 *seed, const guint8 *pub, guint32 check, const char *comment,
                                char **out_public);

/* Makes a fresh ed25519 key pair and writes it to @path (mode 0600, never
 * wider, even briefly) and @path.pub (0644), each through a temporary and
 * rename, not fsynced: the caller makes the directory durable.  Errors
 * name the file. */
gboolean sk_sshkey_generate_ed25519 (const char *path, const char *comment, GError **error);

G_END_DECLS
