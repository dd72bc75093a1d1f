#include "runner/ssh.h"
#include "common/error.h"
#include "common/util.h"

char *
sk_ssh_known_hosts_line (const char *host_pub, guint port)
{
  /* Drop the comment: "type base64 [comment]". */
  g_auto (GStrv) f = g_strsplit_set (host_pub, " \t\n", 0);
  guint n = 0;
  const char *parts[2] = { NULL, NULL };
  for (guint i = 0; f[i] && n < 2; i++)
    if (*f[i])
      parts[n++] = f[i];
  if (n < 2)
    return NULL;
  return g_strdup_printf ("[127.0.0.1]:%u %s %s\n", port, parts[0], parts[1]);
}

GStrv
sk_ssh_argv (const char *ssh, const char *key, const char *known_hosts, const char *user, guint port,
             gboolean tty, guint connect_timeout, const char *const *cmd)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_autofree char *p = g_strdup_printf ("%u", port);
  g_autofree char *kh = g_strdup_printf ("UserKnownHostsFile=%s", known_hosts);
  g_autofree char *ct = g_strdup_printf ("ConnectTimeout=%u", connect_timeout);
  g_strv_builder_add_many (b, ssh, "-F", "/dev/null", "-i", key, "-p", p, "-l", user,
                           "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                           "-o", "StrictHostKeyChecking=yes", "-o", kh, "-o", "GlobalKnownHostsFile=/dev/null",
                           "-o", "UpdateHostKeys=no", "-o", "BatchMode=yes", "-o", "PasswordAuthentication=no",
                           "-o", "KbdInteractiveAuthentication=no", "-o", "LogLevel=ERROR", "-o", ct,
                           "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6",
                           tty ? "-tt" : "-T", "--", "127.0.0.1", NULL);
  if (cmd && cmd[0])
    {
      /* ssh hands the remote shell one string: quote each word so the
       * guest runs exactly this argv. */
      g_autoptr (GString) line = g_string_new (NULL);
      for (const char *const *c = cmd; *c; c++)
        {
          g_autofree char *q = g_shell_quote (*c);
          g_string_append_printf (line, "%s%s", line->len ? " " : "", q);
        }
      g_strv_builder_add (b, line->str);
    }
  return g_strv_builder_end (b);
}
