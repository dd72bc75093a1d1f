#!/usr/bin/env bash
# skiff pull over TLS from the real docker-registry with a certificate of a
# CA made here: an unknown CA is refused with a clear one-line error and
# nothing stored; --tls-verify=false and --cert-dir with the CA both work;
# a CA that is not the server's is refused; a registry that requires client
# certificates is reached with podman's NAME.cert/NAME.key in --cert-dir.
. "$(dirname "$0")/lib.sh"

require_cmd docker-registry openssl node curl qemu-img qemu-io python3 ostree

. "$(dirname "$0")/images.sh"

make_disk "$TMP/disk.qcow2" 0x61
src import -q "$TMP/disk.qcow2" localhost/src/tls:1 || abort "scratch import failed"
export_image localhost/src/tls:1 "$TMP/img"
DIGEST=$(sha256_of "$TMP/img/manifest.json")

check "a test CA with server and client certificates" tls_make_ca "$TMP/ca" || abort "no CA"
check "another CA" tls_make_ca "$TMP/other" || abort "no second CA"
check "TLS registry starts" registry_start_tls "$TMP/ca" || abort "no TLS registry"
REG_AUTH=(--cacert "$TMP/ca/ca.crt")
publish "$TMP/img" skiff/tls 1 || abort "publishing over TLS"
REF=$REGISTRY_ADDR/skiff/tls:1

skiff images >/dev/null
EMPTY=$(image_ids)

fail_clearly "an unknown CA is refused" 1 "SSL certificate problem" skiff pull -q "$REF"
like "$ERR" "^skiff: pulling '$REF': GET https://$REGISTRY_ADDR/v2/: " "the refusal names the registry"
like "$ERR" "--cert-dir DIR, or use --tls-verify=false" "the refusal says how to trust the registry"
is "$(printf '%s\n' "$ERR" | wc -l)" 1 "the refusal is one line"
is "$(image_ids)" "$EMPTY" "nothing stored after the refusal"
check "fsck after the refusal" skiff fsck

mkdir -p "$TMP/certs-other" "$TMP/certs-ca" "$TMP/certs-client"
cp "$TMP/other/ca.crt" "$TMP/certs-other/ca.crt"
fail_clearly "--cert-dir with another CA is refused" 1 "SSL certificate problem" \
	skiff pull -q --cert-dir "$TMP/certs-other" "$REF"
is "$(image_ids)" "$EMPTY" "nothing stored with the wrong CA"

check "--tls-verify=false pulls over https" skiff pull -q --tls-verify=false "$REF"
is "$OUT" "$DIGEST" "the digest over unverified https"
skiff rmi "$REF" >/dev/null && skiff prune >/dev/null

cp "$TMP/ca/ca.crt" "$TMP/certs-ca/ca.crt"
check "--cert-dir with the CA pulls" skiff pull -q --cert-dir "$TMP/certs-ca" "$REF"
is "$OUT" "$DIGEST" "the digest over verified https"
check "fsck after the verified pull" skiff fsck
skiff rmi "$REF" >/dev/null && skiff prune >/dev/null

fail_clearly "--cert-dir that does not exist" 1 "$TMP/nope" skiff pull -q --cert-dir "$TMP/nope" "$REF"

# Client certificates: a registry that requires one signed by our CA.
check "TLS registry requiring client certificates starts" registry_start_tls "$TMP/ca" "$TMP/ca/ca.crt" ||
	abort "no client-cert registry"
REG_AUTH=(--cacert "$TMP/ca/ca.crt" --cert "$TMP/ca/client.cert" --key "$TMP/ca/client.key")
publish "$TMP/img" skiff/tls 1 || abort "publishing with a client certificate"
REF=$REGISTRY_ADDR/skiff/tls:1
fail_clearly "no client certificate is refused" 1 "$REGISTRY_ADDR" skiff pull -q --cert-dir "$TMP/certs-ca" "$REF"
like "$ERR" "^skiff: pulling '$REF': GET https://$REGISTRY_ADDR/v2/: " "the refusal names the registry"
is "$(image_ids)" "$EMPTY" "nothing stored without a client certificate"
cp "$TMP/ca/ca.crt" "$TMP/ca/client.cert" "$TMP/ca/client.key" "$TMP/certs-client/"
check "a client certificate in --cert-dir is presented" skiff pull -q --cert-dir "$TMP/certs-client" "$REF"
is "$OUT" "$DIGEST" "the digest with a client certificate"
rm "$TMP/certs-client/client.key"
fail_clearly "a client certificate without its key" 1 "has no key" \
	skiff pull -q --cert-dir "$TMP/certs-client" "$REF"
check "fsck at the end" skiff fsck

done_testing
