/* skiff — diagnostics on stderr.  Debug lines appear with -v/--verbose
 * (or SKIFF_DEBUG=1); warnings always.  Library code never writes stdout. */
#pragma once

#include <glib.h>

void sk_log_set_verbose (gboolean verbose);
gboolean sk_log_get_verbose (void);
void sk_debug (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
void sk_warn (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
/* Logs an argv at debug level, shell-quoted. */
void sk_debug_argv (const char *const *argv);
