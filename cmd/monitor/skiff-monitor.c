/* skiff-monitor — supervises one VM's qemu (like podman's conmon).
 *
 *   skiff-monitor ROOT ID
 *
 * Started by `skiff run`/`start` (runner/lifecycle.c), never by users.  A
 * program of its own rather than a skiff verb because it sits on the path
 * from `skiff run` to qemu's start: it links only GLib, GIO and jansson
 * (no libostree, libcurl, libarchive ...), so the dynamic loader has a few
 * libraries to map instead of ~60.  Its exit status is the VM's. */
#include "runner/runner.h"

#include <locale.h>
#include <stdio.h>

#define EXIT_MONITOR_FAILED 125

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_set_prgname ("skiff-monitor");
  if (argc != 3 || !g_path_is_absolute (argv[1]))
    {
      fprintf (stderr, "usage: skiff-monitor ROOT ID (internal: started by skiff)\n");
      return EXIT_MONITOR_FAILED;
    }
  return sk_runner_monitor (argv[1], argv[2]);
}
