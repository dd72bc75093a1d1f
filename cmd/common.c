/* skiff — option parsing and output helpers shared by the verbs. */
#include "cmd/cmd.h"
#include "common/cleanup.h"
#include "common/error.h"

#include <stdio.h>

gboolean
sk_cmd_parse_format (const char *value, SkFormat *out, GError **error)
{
  if (value == NULL || g_str_equal (value, "table"))
    *out = SK_FORMAT_TABLE;
  else if (g_str_equal (value, "json"))
    *out = SK_FORMAT_JSON;
  else
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "invalid --format '%s': expected 'table' or 'json'", value), FALSE;
  return TRUE;
}

gboolean
sk_cmd_parse (const char *verb, const char *params, const char *summary,
              const GOptionEntry *entries, int *argc, char ***argv, GError **error)
{
  return sk_cmd_parse_with_data (verb, params, summary, entries, NULL, argc, argv, error);
}

gboolean
sk_cmd_parse_with_data (const char *verb, const char *params, const char *summary, const GOptionEntry *entries,
                        gpointer user_data, int *argc, char ***argv, GError **error)
{
  g_autofree char *usage = g_strdup_printf ("%s%s%s", verb, params ? " " : "", params ? params : "");
  g_autoptr (GOptionContext) ctx = g_option_context_new (usage);
  g_option_context_set_summary (ctx, summary);
  if (entries)
    {
      GOptionGroup *group = g_option_group_new (NULL, NULL, NULL, user_data, NULL);
      g_option_group_add_entries (group, entries);
      g_option_context_set_main_group (ctx, group);
    }
  g_option_context_set_strict_posix (ctx, FALSE);
  /* GOption's "Usage: skiff" uses the prgname; argv[0] is the verb. */
  if (!g_option_context_parse (ctx, argc, argv, error))
    {
      g_prefix_error (error, "%s: ", verb);
      (*error)->domain = SK_ERROR;
      (*error)->code = SK_ERROR_USAGE;
      return FALSE;
    }
  /* A lone "--" stays in argv when it ends the options; drop it. */
  for (int i = 1; i < *argc; i++)
    if (g_str_equal ((*argv)[i], "--"))
      {
        for (int j = i; j < *argc; j++)
          (*argv)[j] = (*argv)[j + 1];
        (*argc)--;
        break;
      }
  return TRUE;
}

gboolean
sk_cmd_check_args (const char *verb, int argc, int min, int max, GError **error)
{
  int n = argc - 1;
  if (n < min)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "%s: needs %s%d argument%s (see 'skiff %s --help')", verb,
                        max == min ? "" : "at least ", min, min == 1 ? "" : "s", verb), FALSE;
  if (max >= 0 && n > max)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "%s: takes at most %d argument%s (see 'skiff %s --help')", verb,
                        max, max == 1 ? "" : "s", verb), FALSE;
  return TRUE;
}

void
sk_cmd_print_json (void *json)
{
  g_autofree char *s = json_dumps (json, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  if (s)
    printf ("%s\n", s);
}
