/* skiff — what runner/lifecycle.c and runner/monitor.c share. */
#pragma once

#include "runner/vm.h"

G_BEGIN_DECLS

/* The qemu argv of @vm, to run inside its directory (relative paths);
 * checked, so a bad port spec or boot mode fails here. */
GStrv sk_runner_qemu_argv (SkVm *vm, GError **error);

/* The last line of the file at @path, or NULL when unreadable. */
char *sk_runner_tail_line (const char *path);

/* Writes the VM's exit file ("CODE [reason]") and its finish time. */
void sk_runner_record_exit (const char *root, const char *id, int code, const char *reason);

G_END_DECLS
