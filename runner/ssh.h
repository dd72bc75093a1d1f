/* skiff — SSH into VMs with skiff's own per-VM key and a pinned host key. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The known_hosts line pinning @host_pub (an "ssh-ed25519 AAAA... c" line)
 * for 127.0.0.1 port @port. Pure. */
char *sk_ssh_known_hosts_line (const char *host_pub, guint port);

/* argv of ssh running @cmd (NULL: an interactive shell) in a VM, each
 * word shell-quoted so the guest runs exactly that argv: key auth
 * with @key only, host key checked against @known_hosts only (never trust
 * on first use), no agent, no password prompts.  @tty asks for a terminal.
 * Pure. */
GStrv sk_ssh_argv (const char *ssh, const char *key, const char *known_hosts, const char *user, guint port,
                   gboolean tty, guint connect_timeout, const char *const *cmd);

G_END_DECLS
