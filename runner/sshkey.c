/* skiff — ed25519 key pairs in OpenSSH's formats (PROTOCOL.key). */
#include "runner/sshkey.h"
#include "common/error.h"
#include "common/util.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define KEY_TYPE "ssh-ed25519"
#define PEM_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----\n"
#define PEM_END "-----END OPENSSH PRIVATE KEY-----\n"
#define PEM_COLUMNS 70
#define CIPHER_BLOCK 8 /* the "none" cipher's block size */

static void
put_u32 (GByteArray *b, guint32 v)
{
  guint8 be[4] = { v >> 24, v >> 16, v >> 8, v };
  g_byte_array_append (b, be, 4);
}

/* An SSH "string": a 32-bit big-endian length, then the bytes. */
static void
put_string (GByteArray *b, const void *data, gsize len)
{
  put_u32 (b, len);
  g_byte_array_append (b, data, len);
}

static void
put_cstring (GByteArray *b, const char *s)
{
  put_string (b, s, strlen (s));
}

/* The public key blob: string "ssh-ed25519", string pub. */
static GByteArray *
public_blob (const guint8 *pub)
{
  GByteArray *b = g_byte_array_new ();
  put_cstring (b, KEY_TYPE);
  put_string (b, pub, SK_SSHKEY_ED25519_LEN);
  return b;
}

/* The private section: two equal check words, the key, the comment, then
 * padding 1, 2, 3 ... up to the cipher's block size. */
static GByteArray *
private_section (const guint8 *seed, const guint8 *pub, guint32 check, const char *comment)
{
  GByteArray *b = g_byte_array_new ();
  put_u32 (b, check);
  put_u32 (b, check);
  put_cstring (b, KEY_TYPE);
  put_string (b, pub, SK_SSHKEY_ED25519_LEN);
  /* OpenSSH keeps the private key as seed || pub. */
  put_u32 (b, 2 * SK_SSHKEY_ED25519_LEN);
  g_byte_array_append (b, seed, SK_SSHKEY_ED25519_LEN);
  g_byte_array_append (b, pub, SK_SSHKEY_ED25519_LEN);
  put_cstring (b, comment);
  for (guint8 pad = 1; b->len % CIPHER_BLOCK; pad++)
    g_byte_array_append (b, &pad, 1);
  return b;
}

char *
sk_sshkey_format_ed25519 (const guint8 *seed, const guint8 *pub, guint32 check, const char *comment,
                          char **out_public)
{
  comment = comment ? comment : "";
  g_autoptr (GByteArray) blob = public_blob (pub);
  g_autoptr (GByteArray) priv = private_section (seed, pub, check, comment);

  g_autoptr (GByteArray) file = g_byte_array_new ();
  g_byte_array_append (file, (const guint8 *) "openssh-key-v1", sizeof "openssh-key-v1"); /* with its NUL */
  put_cstring (file, "none"); /* cipher */
  put_cstring (file, "none"); /* kdf */
  put_cstring (file, "");     /* kdf options */
  put_u32 (file, 1);          /* number of keys */
  put_string (file, blob->data, blob->len);
  put_string (file, priv->data, priv->len);

  g_autofree char *b64 = g_base64_encode (file->data, file->len);
  GString *pem = g_string_new (PEM_BEGIN);
  for (gsize off = 0, n = strlen (b64); off < n; off += PEM_COLUMNS)
    {
      g_string_append_len (pem, b64 + off, MIN (PEM_COLUMNS, n - off));
      g_string_append_c (pem, '\n');
    }
  g_string_append (pem, PEM_END);

  g_autofree char *pub64 = g_base64_encode (blob->data, blob->len);
  *out_public = g_strdup_printf (KEY_TYPE " %s%s%s\n", pub64, *comment ? " " : "", comment);
  return g_string_free (pem, FALSE);
}

/* OpenSSL's error queue as a GError: the one place it is converted. */
static gboolean
openssl_failed (GError **error, const char *what)
{
  char buf[256] = "unknown error";
  unsigned long e = ERR_get_error ();
  if (e)
    ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "%s: %s", what, buf), FALSE;
}

static gboolean
new_ed25519 (guint8 *seed, guint8 *pub, GError **error)
{
  EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "ED25519");
  if (key == NULL)
    return openssl_failed (error, "generating an ed25519 key");
  size_t slen = SK_SSHKEY_ED25519_LEN, plen = SK_SSHKEY_ED25519_LEN;
  gboolean ok = EVP_PKEY_get_raw_private_key (key, seed, &slen) == 1
                && EVP_PKEY_get_raw_public_key (key, pub, &plen) == 1 && slen == SK_SSHKEY_ED25519_LEN
                && plen == SK_SSHKEY_ED25519_LEN;
  EVP_PKEY_free (key);
  return ok ? TRUE : openssl_failed (error, "reading an ed25519 key");
}

gboolean
sk_sshkey_generate_ed25519 (const char *path, const char *comment, GError **error)
{
  guint8 seed[SK_SSHKEY_ED25519_LEN], pub[SK_SSHKEY_ED25519_LEN];
  guint32 check;
  if (!new_ed25519 (seed, pub, error))
    return FALSE;
  if (RAND_bytes ((unsigned char *) &check, sizeof check) != 1)
    return openssl_failed (error, "random check word");
  g_autofree char *public_line = NULL;
  g_autofree char *private_text = sk_sshkey_format_ed25519 (seed, pub, check, comment, &public_line);
  g_autofree char *pub_path = g_strconcat (path, ".pub", NULL);
  return sk_file_write_atomic_nosync (path, private_text, strlen (private_text), 0600, error)
         && sk_file_write_atomic_nosync (pub_path, public_line, strlen (public_line), 0644, error);
}
