/* skiff — the serial console on the terminal. */
#include "cmd/console.h"
#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define DETACH_KEY 0x1d /* Ctrl-] */

static gboolean
vm_gone (const char *root, SkVm *vm, int monitor_pid)
{
  if (monitor_pid > 0)
    {
      siginfo_t si = { 0 };
      return waitid (P_PID, monitor_pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == monitor_pid;
    }
  SkVmStatus st;
  sk_vm_status (root, vm, &st);
  gboolean gone = st.state != SK_VM_RUNNING;
  sk_vm_status_clear (&st);
  return gone;
}

/* One read from @from written to @to: bytes copied, 0 at end, -1 on error. */
static ssize_t
copy_once (int from, int to)
{
  char buf[65536];
  ssize_t n;
  do
    n = read (from, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  for (ssize_t off = 0; off < n;)
    {
      ssize_t w = write (to, buf + off, n - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      off += w;
    }
  return n;
}

gboolean
sk_cmd_console_follow (const char *root, SkVm *vm, gboolean from_end, int monitor_pid, GError **error)
{
  g_autofree char *path = sk_vm_path (root, vm, "console.log");
  int fd = -1;
  for (int i = 0; i < 100 && fd < 0; i++)
    {
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 && errno != ENOENT)
        return sk_error_from_errno (error, errno, "opening '%s'", path);
      if (fd < 0)
        g_usleep (50 * 1000);
    }
  if (fd < 0)
    return sk_error_from_errno (error, ENOENT, "opening '%s'", path);
  if (from_end)
    (void) lseek (fd, 0, SEEK_END);
  for (;;)
    {
      gboolean gone = vm_gone (root, vm, monitor_pid);
      while (copy_once (fd, STDOUT_FILENO) > 0)
        ;
      if (gone)
        break;
      g_usleep (100 * 1000);
    }
  close (fd);
  return TRUE;
}

static int
connect_console (const char *root, SkVm *vm, GError **error)
{
  g_autofree char *dir = sk_vm_dir (root, vm->id);
  int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", dir), -1;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/console.sock", dfd);
  int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int r = s < 0 ? -1 : connect (s, (struct sockaddr *) &addr, sizeof addr);
  int errsv = errno;
  close (dfd);
  if (r < 0)
    {
      if (s >= 0)
        close (s);
      return sk_error_from_errno (error, errsv, "attaching to the console of VM '%s'", vm->name), -1;
    }
  return s;
}

/* Copies terminal input to the console; FALSE when the detach key came. */
static gboolean
forward_input (int sock, gboolean raw)
{
  char buf[4096];
  ssize_t n = read (STDIN_FILENO, buf, sizeof buf);
  if (n <= 0)
    return n < 0 && errno == EINTR;
  char *k = raw ? memchr (buf, DETACH_KEY, n) : NULL;
  ssize_t len = k ? k - buf : n;
  if (len > 0 && write (sock, buf, len) < 0)
    return FALSE;
  return k == NULL;
}

int
sk_cmd_console_attach (const char *root, SkVm *vm, gboolean raw, int monitor_pid, GError **error)
{
  int sock = connect_console (root, vm, error);
  if (sock < 0)
    return -1;
  struct termios saved;
  gboolean restore = raw && isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &saved) == 0;
  if (restore)
    {
      struct termios t = saved;
      cfmakeraw (&t);
      tcsetattr (STDIN_FILENO, TCSANOW, &t);
      fprintf (stderr, "skiff: attached to '%s' (Ctrl-] detaches)\r\n", vm->name);
    }
  int result = SK_CONSOLE_VM_EXITED;
  gboolean stdin_open = TRUE;
  for (;;)
    {
      struct pollfd p[2] = { { sock, POLLIN, 0 }, { STDIN_FILENO, stdin_open ? POLLIN : 0, 0 } };
      if (poll (p, 2, 500) < 0 && errno != EINTR)
        break;
      if ((p[0].revents & (POLLIN | POLLHUP)) && copy_once (sock, STDOUT_FILENO) <= 0)
        break;
      if (p[1].revents & (POLLIN | POLLHUP))
        {
          if (!forward_input (sock, raw))
            {
              if (raw)
                {
                  result = SK_CONSOLE_DETACHED;
                  break;
                }
              stdin_open = FALSE;
            }
        }
      if (vm_gone (root, vm, monitor_pid))
        break;
    }
  if (restore)
    {
      tcsetattr (STDIN_FILENO, TCSANOW, &saved);
      if (result == SK_CONSOLE_DETACHED)
        fprintf (stderr, "\nskiff: detached from '%s'\n", vm->name);
    }
  close (sock);
  return result;
}
