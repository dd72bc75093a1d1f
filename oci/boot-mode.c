/* skiff — the boot modes of an image config, by name.  A file of its own
 * so that programs needing only these (skiff-monitor) link no JSON or
 * digest code of the config. */
#include "oci/config.h"

#include "common/error.h"

static const char *const boot_names[] = {
  [SK_BOOT_BIOS] = "bios",
  [SK_BOOT_UEFI] = "uefi",
  [SK_BOOT_KERNEL] = "kernel",
};

const char *
sk_boot_mode_to_string (SkBootMode mode)
{
  return (guint) mode < G_N_ELEMENTS (boot_names) ? boot_names[mode] : NULL;
}

gboolean
sk_boot_mode_from_string (const char *s, SkBootMode *out_mode, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (boot_names); i++)
    if (g_strcmp0 (s, boot_names[i]) == 0)
      {
        *out_mode = i;
        return TRUE;
      }
  return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                      "unknown boot mode '%s' (expected bios, uefi or kernel)", s ? s : ""), FALSE;
}
