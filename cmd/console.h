/* skiff — the serial console on the terminal: follow the log, attach. */
#pragma once

#include "runner/vm.h"

G_BEGIN_DECLS

#define SK_CONSOLE_DETACHED 0
#define SK_CONSOLE_VM_EXITED 1

/* Copies console.log to stdout, from its current end when @from_end, else
 * from the start, until the VM exits (@monitor_pid > 0: that child exits;
 * else the VM's status says so). */
gboolean sk_cmd_console_follow (const char *root, SkVm *vm, gboolean from_end, int monitor_pid, GError **error);

/* Connects the terminal to the VM's serial console socket.  With @raw the
 * terminal is put in raw mode and Ctrl-] detaches.  Returns
 * SK_CONSOLE_DETACHED, SK_CONSOLE_VM_EXITED, or -1 with @error set. */
int sk_cmd_console_attach (const char *root, SkVm *vm, gboolean raw, int monitor_pid, GError **error);

G_END_DECLS
