/* Unit tests: runner/sshkey — ed25519 key pairs in OpenSSH's formats,
 * checked against the real ssh-keygen and dropbearconvert. */
#include "runner/sshkey.h"
#include "common/error.h"

#include <sys/stat.h>

static char *
tmpdir (void)
{
  return g_dir_make_tmp ("skiff-sshkey-XXXXXX", NULL);
}

static void
rmrf (const char *dir)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (cmd), ==, 0);
}

/* Runs @argv; returns its stdout (asserting exit status 0). */
static char *
run (const char *const *argv)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = -1;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status,
                               &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", argv[0], err);
  return g_steal_pointer (&out);
}

/* "type base64" of a public key line, without its comment. */
static char *
type_and_key (const char *line)
{
  g_auto (GStrv) f = g_strsplit_set (line, " \n", 3);
  g_assert_nonnull (f[0]);
  g_assert_nonnull (f[1]);
  return g_strdup_printf ("%s %s", f[0], f[1]);
}

/* ---- a reader of openssh-key-v1, only for checking ---- */

typedef struct {
  const guint8 *p;
  gsize left;
} Reader;

static guint32
get_u32 (Reader *r)
{
  g_assert_cmpuint (r->left, >=, 4);
  guint32 v = (guint32) r->p[0] << 24 | (guint32) r->p[1] << 16 | (guint32) r->p[2] << 8 | r->p[3];
  r->p += 4, r->left -= 4;
  return v;
}

static Reader
get_string (Reader *r)
{
  guint32 n = get_u32 (r);
  g_assert_cmpuint (r->left, >=, n);
  Reader s = { r->p, n };
  r->p += n, r->left -= n;
  return s;
}

static void
assert_string (Reader *r, const char *want)
{
  Reader s = get_string (r);
  g_assert_cmpmem (s.p, s.left, want, strlen (want));
}

typedef struct {
  guint8 seed[32], pub[32];
  guint32 check;
  char *comment;
} ParsedKey;

/* Parses an unencrypted openssh-key-v1 ed25519 file, asserting its shape. */
static void
parse_private (const char *text, ParsedKey *k)
{
  g_assert_true (g_str_has_prefix (text, "-----BEGIN OPENSSH PRIVATE KEY-----\n"));
  g_assert_true (g_str_has_suffix (text, "\n-----END OPENSSH PRIVATE KEY-----\n"));
  g_auto (GStrv) lines = g_strsplit (text, "\n", 0);
  g_autoptr (GString) b64 = g_string_new (NULL);
  for (guint i = 1; lines[i] && !g_str_has_prefix (lines[i], "-----END"); i++)
    {
      g_assert_cmpuint (strlen (lines[i]), <=, 70);
      g_string_append (b64, lines[i]);
    }
  gsize len;
  g_autofree guint8 *raw = g_base64_decode (b64->str, &len);
  Reader r = { raw, len };
  g_assert_cmpuint (len, >, 15);
  g_assert_cmpmem (raw, 15, "openssh-key-v1", 15);
  r.p += 15, r.left -= 15;
  assert_string (&r, "none");
  assert_string (&r, "none");
  assert_string (&r, "");
  g_assert_cmpuint (get_u32 (&r), ==, 1);
  Reader blob = get_string (&r);
  assert_string (&blob, "ssh-ed25519");
  Reader pub = get_string (&blob);
  g_assert_cmpuint (pub.left, ==, 32);
  Reader priv = get_string (&r);
  g_assert_cmpuint (r.left, ==, 0);
  g_assert_cmpuint (priv.left % 8, ==, 0);
  k->check = get_u32 (&priv);
  g_assert_cmpuint (get_u32 (&priv), ==, k->check);
  assert_string (&priv, "ssh-ed25519");
  Reader pub2 = get_string (&priv);
  g_assert_cmpmem (pub2.p, pub2.left, pub.p, pub.left);
  Reader sk = get_string (&priv);
  g_assert_cmpuint (sk.left, ==, 64);
  g_assert_cmpmem (sk.p + 32, 32, pub.p, 32);
  memcpy (k->seed, sk.p, 32);
  memcpy (k->pub, pub.p, 32);
  Reader c = get_string (&priv);
  k->comment = g_strndup ((const char *) c.p, c.left);
  for (guint8 i = 1; priv.left; i++, priv.p++, priv.left--)
    g_assert_cmpuint (priv.p[0], ==, i);
}

/* RFC 8032, 7.1, TEST 1. */
static const guint8 rfc_seed[32] = { 0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
                                     0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
                                     0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 };
static const guint8 rfc_pub[32] = { 0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
                                    0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
                                    0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a };

/* The pure formatter on a fixed key: the files parse back to the same
 * key, and ssh-keygen derives the same public key from the private file. */
static void
test_format_vector (void)
{
  g_autofree char *pub = NULL;
  g_autofree char *priv = sk_sshkey_format_ed25519 (rfc_seed, rfc_pub, 0x01020304, "skiff-test", &pub);
  g_assert_cmpstr (pub, ==, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"
                            " skiff-test\n");
  ParsedKey k = { 0 };
  parse_private (priv, &k);
  g_assert_cmpmem (k.seed, 32, rfc_seed, 32);
  g_assert_cmpmem (k.pub, 32, rfc_pub, 32);
  g_assert_cmpuint (k.check, ==, 0x01020304);
  g_assert_cmpstr (k.comment, ==, "skiff-test");
  g_free (k.comment);

  /* Comments of every length mod 8 pad correctly; NULL is empty. */
  for (guint n = 0; n < 9; n++)
    {
      g_autofree char *c = g_strnfill (n, 'c');
      g_autofree char *p2 = NULL;
      g_autofree char *k2 = sk_sshkey_format_ed25519 (rfc_seed, rfc_pub, n, n ? c : NULL, &p2);
      ParsedKey pk = { 0 };
      parse_private (k2, &pk);
      g_assert_cmpstr (pk.comment, ==, c);
      g_autofree char *end = g_strdup_printf ("%s\n", n ? c : "Ea");
      g_assert_true (g_str_has_suffix (p2, end));
      g_free (pk.comment);
    }

  g_autofree char *dir = tmpdir ();
  g_autofree char *path = g_build_filename (dir, "k", NULL);
  g_assert_true (g_file_set_contents_full (path, priv, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  const char *derive[] = { "ssh-keygen", "-y", "-f", path, NULL };
  g_autofree char *derived = run (derive);
  g_autofree char *want = type_and_key (pub);
  g_autofree char *got = type_and_key (derived);
  g_assert_cmpstr (got, ==, want);
  rmrf (dir);
}

/* Byte for byte what ssh-keygen writes: a key ssh-keygen made, taken apart
 * and formatted again, is the same file. */
static void
test_same_as_ssh_keygen (void)
{
  g_autofree char *dir = tmpdir ();
  g_autofree char *path = g_build_filename (dir, "id", NULL);
  const char *keygen[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "made-by ssh-keygen", "-f", path,
                           NULL };
  g_free (run (keygen));
  g_autofree char *theirs = NULL, *theirs_pub = NULL;
  g_autofree char *pub_path = g_strconcat (path, ".pub", NULL);
  g_assert_true (g_file_get_contents (path, &theirs, NULL, NULL));
  g_assert_true (g_file_get_contents (pub_path, &theirs_pub, NULL, NULL));
  ParsedKey k = { 0 };
  parse_private (theirs, &k);
  g_autofree char *ours_pub = NULL;
  g_autofree char *ours = sk_sshkey_format_ed25519 (k.seed, k.pub, k.check, k.comment, &ours_pub);
  g_assert_cmpstr (ours, ==, theirs);
  g_assert_cmpstr (ours_pub, ==, theirs_pub);
  g_free (k.comment);
  rmrf (dir);
}

static guint
file_mode (const char *path)
{
  struct stat st;
  g_assert_cmpint (stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

/* A generated pair: right modes, ssh-keygen agrees on both files and on
 * the fingerprint, dropbear converts the private key to the same public
 * key, and two pairs differ. */
static void
test_generate (void)
{
  g_autofree char *dir = tmpdir ();
  g_autofree char *path = g_build_filename (dir, "id_ed25519", NULL);
  g_autofree char *pub_path = g_strconcat (path, ".pub", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_sshkey_generate_ed25519 (path, "skiff-0123456789ab", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (file_mode (path), ==, 0600);
  g_assert_cmpuint (file_mode (pub_path), ==, 0644);
  g_autofree char *pub = NULL;
  g_assert_true (g_file_get_contents (pub_path, &pub, NULL, NULL));
  g_assert_true (g_str_has_suffix (pub, " skiff-0123456789ab\n"));

  const char *derive[] = { "ssh-keygen", "-y", "-f", path, NULL };
  g_autofree char *derived = run (derive);
  g_autofree char *a = type_and_key (pub), *b = type_and_key (derived);
  g_assert_cmpstr (a, ==, b);

  const char *fp_priv[] = { "ssh-keygen", "-l", "-f", path, NULL };
  const char *fp_pub[] = { "ssh-keygen", "-l", "-f", pub_path, NULL };
  g_autofree char *f1 = run (fp_priv), *f2 = run (fp_pub);
  g_assert_true (g_str_has_prefix (f1, "256 SHA256:"));
  g_assert_true (g_str_has_suffix (f1, "(ED25519)\n"));
  g_assert_cmpstr (f1, ==, f2);

  g_autofree char *db = g_build_filename (dir, "dropbear_key", NULL);
  const char *convert[] = { "dropbearconvert", "openssh", "dropbear", path, db, NULL };
  g_free (run (convert));
  const char *dbpub[] = { "dropbearkey", "-y", "-f", db, NULL };
  g_autofree char *dbout = run (dbpub);
  g_autofree char *want = g_strdup_printf ("\n%s ", a);
  g_assert_nonnull (strstr (dbout, want));

  g_autofree char *other = g_build_filename (dir, "other", NULL);
  g_assert_true (sk_sshkey_generate_ed25519 (other, NULL, &error));
  g_autofree char *other_pub_path = g_strconcat (other, ".pub", NULL);
  g_autofree char *other_pub = NULL;
  g_assert_true (g_file_get_contents (other_pub_path, &other_pub, NULL, NULL));
  g_autofree char *c = type_and_key (other_pub);
  g_assert_cmpstr (a, !=, c);
  rmrf (dir);
}

/* An unwritable place is an error naming the file. */
static void
test_generate_error (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_sshkey_generate_ed25519 ("/nonexistent-dir/id", "x", &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/nonexistent-dir/id"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sshkey/format-vector", test_format_vector);
  g_test_add_func ("/sshkey/same-as-ssh-keygen", test_same_as_ssh_keygen);
  g_test_add_func ("/sshkey/generate", test_generate);
  g_test_add_func ("/sshkey/generate-error", test_generate_error);
  return g_test_run ();
}
