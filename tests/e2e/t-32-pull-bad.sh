#!/usr/bin/env bash
# skiff pull against registries that lie or fail: the real docker-registry
# behind tests/e2e/lying-proxy.js (corrupted, truncated and dropped blobs,
# rewritten Content-Type and Docker-Content-Digest, a manifest over 4 MiB,
# 503/429 with Retry-After, redirects to file:// and ftp://), a wrong
# password, expired tokens, a registry that is down, a host that does not
# resolve, a layer that is no valid qcow2, a zstd layer that holds more
# than its annotation says.  Each fails with one line naming
# the registry and the object, exit 1, with the store unchanged (images,
# fsck); a later good pull succeeds, resuming what a broken one left.
. "$(dirname "$0")/lib.sh"

require_cmd docker-registry htpasswd openssl node curl qemu-img qemu-io python3 ostree

. "$(dirname "$0")/images.sh"

# A layer of 3 MiB of random data (so transfers take several reads).
head -c 3M /dev/urandom >"$TMP/random.raw"
qemu-img convert -O qcow2 "$TMP/random.raw" "$TMP/big.qcow2" || abort "making the layer"
src import -q "$TMP/big.qcow2" localhost/src/big:1 || abort "scratch import failed"
export_image localhost/src/big:1 "$TMP/big"
ARCH=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["architecture"])' "$TMP/big/config.json")
BIG_DIGEST=$(sha256_of "$TMP/big/manifest.json")
HEX=$(sha256sum "$TMP/big.qcow2" | cut -d' ' -f1)
SIZE=$(size_of "$TMP/big.qcow2")
BLOB=/blobs/sha256:$HEX
PARTIAL=$TMP/root/tmp/blob-$HEX.partial

check "registry starts" registry_start || abort "no registry"
publish "$TMP/big" skiff/big 1 || abort "publishing skiff/big:1"
check "lying proxy starts" proxy_start "$REGISTRY_URL" || abort "no proxy"
REF=$PROXY_ADDR/skiff/big:1

# An empty store to compare with (the store exists once skiff opened it).
skiff images >/dev/null
EMPTY=$(image_ids)

# store_unchanged WHAT: no image appeared and fsck is clean.
store_unchanged() {
	is "$(image_ids)" "$EMPTY" "$1: no image stored"
	check "$1: fsck is clean" skiff fsck
}

# bad_pull WHAT MESSAGE RULE...: with the proxy lying as RULEs say, the pull
# fails with exit 1 and one line naming the reference (so the registry) and
# MESSAGE.
bad_pull() {
	local what=$1 msg=$2
	shift 2
	proxy_rules "$@"
	: >"$PROXY_LOG"
	fail_clearly "$what: refused" 1 "$msg" skiff pull -q --tls-verify=false "$REF"
	is "$(printf '%s\n' "$ERR" | wc -l)" 1 "$what: the error is one line"
	like "$ERR" "^skiff: pulling '$REF': " "$what: the error names the registry and repository"
	BAD_ERR=$ERR
	store_unchanged "$what"
}

# ---------------------------------------------------------------- blobs

bad_pull "corrupted blob" "blob 'sha256:$HEX': digest mismatch" \
	"{\"path\":\"$BLOB\",\"action\":\"corrupt\",\"offset\":100000}"
[ -e "$PARTIAL" ] && not_ok "corrupted blob: the bad download is not kept" ||
	ok "corrupted blob: the bad download is not kept"

# A clean but short answer (Content-Length says 100000): the pull tries
# again a few times, resuming each time, then fails keeping what it got.
bad_pull "truncated body" "blob 'sha256:$HEX': the registry sent " \
	"{\"path\":\"$BLOB\",\"action\":\"truncate\",\"bytes\":100000}"
got=$(size_of "$PARTIAL" 2>/dev/null || echo 0)
like "$BAD_ERR" "the registry sent $got of its $SIZE bytes" "truncated body: the error says how much came"
[ "$got" -ge 300000 ] && [ $((got % 100000)) -eq 0 ] && [ "$got" -lt "$SIZE" ] &&
	ok "truncated body: the valid part ($got bytes, 100000 a try) is kept for resuming" ||
	not_ok "truncated body: the valid part is kept for resuming" "partial: $got bytes"

# The connection drops at 60 % of every answer: three tries, then it fails.
bad_pull "dropped connection" "transfer closed with" \
	"{\"path\":\"$BLOB\",\"action\":\"drop\",\"percent\":60}"
kept=$(size_of "$PARTIAL" 2>/dev/null || echo 0)
[ "$kept" -gt 300000 ] && [ "$kept" -lt "$SIZE" ] && ok "dropped connection: the partial download grew ($kept bytes)" ||
	not_ok "dropped connection: the partial download grew" "kept: $kept"

# The good pull resumes where the broken one stopped.
proxy_rules
: >"$PROXY_LOG"
check "a good pull after the broken ones" skiff pull --tls-verify=false "$REF"
is "$OUT" "$BIG_DIGEST" "the good pull's digest"
like "$ERR" "Resuming blob sha256:${HEX:0:12} at" "the good pull resumes the partial download"
is "$(proxy_bytes "$BLOB")" "$((SIZE - kept))" "the good pull fetches only the missing bytes"
check "the resumed layer is the published one" cmp "$TMP/root/layers/$HEX.qcow2" "$TMP/big.qcow2"
check "fsck after the resumed pull" skiff fsck
is "$(ls "$TMP/root/tmp" | wc -l)" 0 "no download left in the store's tmp"

# A drop at 60 % once: the same pull resumes at once with a Range request.
skiff rmi "$REF" >/dev/null && skiff prune >/dev/null
proxy_rules "{\"path\":\"$BLOB\",\"action\":\"drop\",\"percent\":60,\"times\":1}"
: >"$PROXY_LOG"
check "a pull through a connection dropped at 60 %" skiff pull -q --tls-verify=false "$REF"
fetched=$(proxy_bytes "$BLOB")
[ "$fetched" -le $((SIZE * 11 / 10)) ] && ok "the dropped pull fetched $fetched bytes for a $SIZE-byte layer (<= 1.1x)" ||
	not_ok "the dropped pull fetches at most 1.1x the layer" "fetched $fetched of $SIZE"
like "$(grep -c '"range":"bytes=' "$PROXY_LOG")" '^1$' "the second request asks for the rest with Range"
skiff rmi "$REF" >/dev/null && skiff prune >/dev/null

# Transient answers: 503 and 429 with Retry-After twice, then the truth.
proxy_rules "{\"path\":\"$BLOB\",\"action\":\"status\",\"status\":503,\"retry_after\":\"1\",\"times\":1}" \
	"{\"path\":\"/manifests/\",\"action\":\"status\",\"status\":429,\"retry_after\":\"1\",\"times\":2}"
start=$(date +%s%N)
check "a pull through 503 and 429 answers with Retry-After" skiff pull -q --tls-verify=false "$REF"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed_ms" -ge 2900 ] && ok "Retry-After was honoured (${elapsed_ms} ms for three 1 s waits)" ||
	not_ok "Retry-After was honoured" "the pull took ${elapsed_ms} ms"
skiff rmi "$REF" >/dev/null && skiff prune >/dev/null
bad_pull "a registry that keeps answering 503" "HTTP 503" \
	"{\"path\":\"$BLOB\",\"action\":\"status\",\"status\":503,\"retry_after\":\"0\"}"

# Redirects of the blob to other schemes are not followed.
bad_pull "redirect to file://" "Protocol \"file\" not supported" \
	"{\"path\":\"$BLOB\",\"action\":\"redirect\",\"location\":\"file:///etc/passwd\"}"
bad_pull "redirect to ftp://" "Protocol \"ftp\" not supported" \
	"{\"path\":\"$BLOB\",\"action\":\"redirect\",\"location\":\"ftp://127.0.0.1/blob\"}"

# ---------------------------------------------------------------- a zstd layer, decompressed as it downloads
# The same disk as skiff pushes it by default (zstd).  A thread follows the
# download, decompressing; whatever upsets it (a restart, bytes too many)
# makes the pull decompress the finished download again, or refuse it.
src push -q --tls-verify=false localhost/src/big:1 "$REGISTRY_ADDR/skiff/bigz:1" >"$TMP/bigz.out" ||
	abort "pushing the zstd image"
ZDIGEST=$(cat "$TMP/bigz.out")
curl -sS -H "Accept: application/vnd.oci.image.manifest.v1+json" -o "$TMP/bigz.json" \
	"$REGISTRY_URL/v2/skiff/bigz/manifests/1" || abort "reading the zstd manifest"
ZLAYER=$(python3 -c 'import json,sys; print([l["digest"] for l in json.load(open(sys.argv[1]))["layers"] if "zstd" in l["mediaType"]][0])' \
	"$TMP/bigz.json")
ZBLOB=/blobs/$ZLAYER
GOOD_REF=$REF
REF=$PROXY_ADDR/skiff/bigz:1

bad_pull "corrupted zstd blob" "blob '$ZLAYER': digest mismatch" \
	"{\"path\":\"$ZBLOB\",\"action\":\"corrupt\",\"offset\":100000}"
proxy_rules "{\"path\":\"$ZBLOB\",\"action\":\"drop\",\"percent\":60,\"times\":1}"
run env SKIFF_DEBUG=1 "$SKIFF" --root "$TMP/root" pull -q --tls-verify=false "$REF"
is "$RC" 0 "a zstd layer through a connection dropped at 60 %" || diag "$(_sk_tail "$ERR")"
is "$OUT" "$ZDIGEST" "has the pushed digest"
like "$ERR" "layer '$ZLAYER': decompressed during its download" "it was decompressed as it came, across the resumed request"
check "the layer decompressed as it came is the published disk" cmp "$TMP/root/layers/$HEX.qcow2" "$TMP/big.qcow2"
check "fsck after it" skiff fsck
skiff rmi "$REF" >/dev/null && skiff prune >/dev/null
proxy_rules

# An earlier pull left a partial download of other bytes: the resumed
# download does not match, starts over, and the layer is decompressed after it.
head -c 1M /dev/urandom >"$TMP/root/tmp/blob-${ZLAYER#sha256:}.partial"
run env SKIFF_DEBUG=1 "$SKIFF" --root "$TMP/root" pull -q --tls-verify=false "$REF"
is "$RC" 0 "a zstd layer resumed from wrong bytes" || diag "$(_sk_tail "$ERR")"
is "$OUT" "$ZDIGEST" "has the pushed digest"
like "$ERR" "starting over" "its download started over"
unlike "$ERR" "decompressed during its download" "so it was decompressed after the download"
check "that layer is the published disk" cmp "$TMP/root/layers/$HEX.qcow2" "$TMP/big.qcow2"
check "fsck after it" skiff fsck
skiff rmi "$REF" >/dev/null && skiff prune >/dev/null
EMPTY=$(image_ids)

# The zstd blob under a manifest whose disk is smaller than what it holds.
curl -sS -o "$TMP/z.blob" "$REGISTRY_URL/v2/skiff/bigz$ZBLOB" || abort "fetching the zstd blob"
make_disk "$TMP/small.qcow2"
write_config "$TMP/lie-config.json" "$TMP/small.qcow2"
write_manifest "$TMP/lie" "$TMP/lie-config.json" "application/vnd.skiff.disk.qcow2.v1+zstd:$TMP/z.blob:$TMP/small.qcow2"
publish "$TMP/lie" skiff/lie 1 || abort "publishing skiff/lie:1"
REF=$PROXY_ADDR/skiff/lie:1
bad_pull "a zstd layer larger than its annotated size" "decompressed layer is larger than its $(size_of "$TMP/small.qcow2") bytes"
is "$(ls "$TMP/root/tmp" | wc -l)" 0 "the refused layer leaves nothing in tmp"
REF=$GOOD_REF
proxy_rules

# ---------------------------------------------------------------- manifests

bad_pull "manifest over 4 MiB" "larger than 4.0 MiB" \
	'{"path":"/manifests/1","action":"inflate","bytes":5000000}'
bad_pull "Content-Type of another manifest type" \
	"manifest '1': invalid manifest: content type 'application/vnd.docker.distribution.manifest.v2+json' does not match mediaType" \
	'{"path":"/manifests/1","action":"content-type","value":"application/vnd.docker.distribution.manifest.v2+json"}'
bad_pull "Content-Type of an index" "manifest '1': invalid image index" \
	'{"path":"/manifests/1","action":"content-type","value":"application/vnd.oci.image.index.v1+json"}'
bad_pull "wrong Docker-Content-Digest" "manifest '1': digest mismatch" \
	'{"path":"/manifests/1","action":"digest","value":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}'
proxy_rules

# ---------------------------------------------------------------- a layer that is no qcow2

head -c 65536 /dev/urandom >"$TMP/junk.qcow2"
write_config "$TMP/junk-config.json" "$TMP/junk.qcow2"
write_manifest "$TMP/junk" "$TMP/junk-config.json" "application/vnd.skiff.disk.qcow2.v1:$TMP/junk.qcow2:$TMP/junk.qcow2"
publish "$TMP/junk" skiff/junk 1 || abort "publishing skiff/junk:1"
fail_clearly "a layer that is not a qcow2 is refused" 1 "invalid disk" \
	skiff pull -q --tls-verify=false "$PROXY_ADDR/skiff/junk:1"
like "$ERR" "^skiff: pulling '$PROXY_ADDR/skiff/junk:1': layer 'sha256:" "the refusal names the layer"
store_unchanged "a layer that is not a qcow2"
is "$(ls "$TMP/root/tmp" | wc -l)" 0 "the refused layer leaves nothing in tmp (nor do empty downloads)"

# ---------------------------------------------------------------- the registry

fail_clearly "a host that does not resolve" 1 "Could not resolve host: registry.skiff-test.invalid" \
	skiff pull --tls-verify=false registry.skiff-test.invalid/skiff/big:1
like "$ERR" "^skiff: pulling 'registry.skiff-test.invalid/skiff/big:1': " "the DNS error names the reference"
store_unchanged "a host that does not resolve"

registry_start || abort "no second registry"
down=$REGISTRY_ADDR
stop_server "$REGISTRY_PID"
fail_clearly "a registry that is down" 1 "Couldn't connect to server" \
	skiff pull --tls-verify=false "$down/skiff/big:1"
like "$ERR" "^skiff: pulling '$down/skiff/big:1': GET http://$down/v2/" "the refusal names the registry"
store_unchanged "a registry that is down"

# ---------------------------------------------------------------- credentials

check "basic-auth registry starts" registry_start_basic alice secret || abort "no basic registry"
REG_AUTH=(-u alice:secret)
publish "$TMP/big" skiff/big 1 || abort "publishing to the basic registry"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_ADDR" "$(printf 'alice:wrong' | base64 -w0)" >"$TMP/wrong.json"
fail_clearly "a wrong password" 1 "credentials for '$REGISTRY_ADDR' were refused" \
	skiff pull --tls-verify=false --authfile "$TMP/wrong.json" "$REGISTRY_ADDR/skiff/big:1"
like "$ERR" "manifests/1: HTTP 401" "the wrong password's error names the manifest"
store_unchanged "a wrong password"

# A token server whose tokens expired before they were issued: the registry
# refuses each one; skiff asks again and then gives up clearly.
check "token registry with expired tokens starts" registry_start_token bob tok --expires-in -120 ||
	abort "no token registry"
registry_token -u bob:tok "repository:skiff/big:pull,push"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_ADDR" "$(printf 'bob:tok' | base64 -w0)" >"$TMP/tok.json"
fail_clearly "an expired token" 1 "$REGISTRY_ADDR" \
	skiff pull --tls-verify=false --authfile "$TMP/tok.json" "$REGISTRY_ADDR/skiff/big:1"
like "$ERR" "token" "the expired token's error says it is about the token"
store_unchanged "an expired token"

# Tokens that live ~3 s (they expired 57 s ago; docker-registry allows 60 s
# of clock skew; skiff believes 60 s, the spec's minimum) behind a
# proxy that is slow for the blob: the token expires mid-pull and skiff
# asks for a new one.
check "token registry with short-lived tokens starts" registry_start_token bob tok --expires-in -57 ||
	abort "no second token registry"
registry_token -u bob:tok "repository:skiff/big:pull,push"
REG_AUTH=(-H "Authorization: Bearer $TOKEN")
publish "$TMP/big" skiff/big 1 || abort "publishing to the token registry"
check "proxy for the token registry starts" proxy_start "$REGISTRY_URL" || abort "no second proxy"
proxy_rules "{\"path\":\"$BLOB\",\"action\":\"delay\",\"ms\":4500,\"times\":1}"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$PROXY_ADDR" "$(printf 'bob:tok' | base64 -w0)" >"$TMP/tok2.json"
: >"$TOKEN_LOG"
check "a token that expires mid-pull is renewed" \
	skiff pull -q --tls-verify=false --authfile "$TMP/tok2.json" "$PROXY_ADDR/skiff/big:1"
is "$OUT" "$BIG_DIGEST" "the renewed pull's digest"
[ "$(grep -c '"user":"bob"' "$TOKEN_LOG")" -ge 2 ] && ok "a second token was fetched" ||
	not_ok "a second token was fetched" "$(cat "$TOKEN_LOG")"
check "fsck after all" skiff fsck

done_testing
