#!/usr/bin/env bash
# skiff push --compression none against the real docker-registry: the manifest arrives byte
# for byte (same digest, seen by skopeo), a pull back gives the same
# image, a second push uploads nothing, skopeo copies it on, and a
# basic-auth registry takes credentials from an auth file.
. "$(dirname "$0")/lib.sh"

require_cmd docker-registry htpasswd skopeo qemu-img qemu-io python3

# docker-registry logs only failed requests here: a blob it lacks shows as
# a HEAD answered "blob unknown", which must precede every upload.
blob_misses() { grep -c 'err.code="blob unknown".*http.request.method=HEAD' "$REGISTRY_LOG" || true; }

qemu-img create -q -f qcow2 "$TMP/disk.qcow2" 16M
qemu-io -f qcow2 -c "write -P 0x5a 0 256k" "$TMP/disk.qcow2" >/dev/null
skiff import -q "$TMP/disk.qcow2" localhost/push/one:1 >/dev/null || abort "import failed"
DIGEST=$(skiff inspect localhost/push/one:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])')

# ---------------------------------------------------------------- anonymous
check "anonymous registry starts" registry_start || abort "no registry"
DEST=$REGISTRY_ADDR/skiff/one:1
run skiff push --compression none --tls-verify=false localhost/push/one:1 "$DEST"
is "$RC" 0 "push succeeds"
is "$OUT" "$DIGEST" "push prints the local manifest digest"
like "$ERR" "2 blobs uploaded" "the layer and the config are uploaded"
raw=$(skopeo inspect --raw --tls-verify=false "docker://$DEST" | sha256sum | cut -d' ' -f1)
is "sha256:$raw" "$DIGEST" "skopeo reads the same manifest bytes"

misses=$(blob_misses)
is "$misses" 2 "the first push found both blobs missing"
run skiff push --compression none --tls-verify=false localhost/push/one:1 "$DEST"
is "$RC" 0 "a second push succeeds"
like "$ERR" "0 blobs uploaded .*, 2 already there" "a second push uploads nothing"
is "$(blob_misses)" "$misses" "the second push found no blob missing (so uploaded none)"

run skiff rmi localhost/push/one:1
run skiff pull -q --tls-verify=false "$DEST"
is "$OUT" "$DIGEST" "pulling it back gives the same digest"
skiff tag "$DEST" localhost/push/one:1
run skiff fsck
is "$RC" 0 "fsck passes after the round trip"

check "skopeo copies registry to registry" skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
	"docker://$DEST" "docker://$REGISTRY_ADDR/skiff/copied:2"
run skiff pull -q --tls-verify=false "$REGISTRY_ADDR/skiff/copied:2"
is "$OUT" "$DIGEST" "the skopeo copy pulls with the same digest"
check "skopeo copies to an oci layout" skopeo copy -q --src-tls-verify=false "docker://$DEST" "oci:$TMP/layout:one"
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$TMP/layout/index.json")
is "$got" "$DIGEST" "the oci layout keeps the digest"

run skiff push --compression none --tls-verify=false localhost/push/one:1 "$REGISTRY_ADDR/skiff/one@$DIGEST"
is "$RC" 2 "a digest destination is an invalid reference"
run skiff push --compression none --tls-verify=false localhost/push/nothing:1 "$DEST"
is "$RC" 1 "pushing a missing image fails"
stop_server "$REGISTRY_PID"

# ---------------------------------------------------------------- basic
check "basic-auth registry starts" registry_start_basic alice s3cret || abort "no basic registry"
DEST=$REGISTRY_ADDR/skiff/one:1
run skiff push --compression none --tls-verify=false localhost/push/one:1 "$DEST"
is "$RC" 1 "push without credentials fails"
like "$ERR" "no credentials|401" "the error says why"
AUTH=$TMP/auth.json
run skiff login --tls-verify=false --authfile "$AUTH" -u alice --password-stdin "$REGISTRY_ADDR" <<<"wrong"
is "$RC" 1 "login with a wrong password fails"
like "$ERR" "wrong username or password" "the error says the password is wrong"
check "nothing is written after a failed login" test ! -e "$AUTH"
run skiff login --tls-verify=false --authfile "$AUTH" -u alice "$REGISTRY_ADDR" </dev/null
is "$RC" 2 "login without a password and without a terminal is a usage error"
run skiff login --tls-verify=false --authfile "$AUTH" -u alice --password-stdin "$REGISTRY_ADDR" <<<"s3cret"
is "$RC" 0 "login with the right password succeeds"
is "$(stat -c %a "$AUTH")" 600 "the auth file is private"
run skiff push --compression none --tls-verify=false --authfile "$AUTH" localhost/push/one:1 "$DEST"
is "$RC" 0 "push with credentials from login"
is "$OUT" "$DIGEST" "same digest on the basic registry"
run skiff logout --authfile "$AUTH" "$REGISTRY_ADDR"
is "$RC" 0 "logout succeeds"
run skiff push --compression none --tls-verify=false --authfile "$AUTH" localhost/push/one:1 "$REGISTRY_ADDR/skiff/other:1"
is "$RC" 1 "push after logout fails"
like "$ERR" "no credentials" "with an auth error"
stop_server "$REGISTRY_PID"

# ---------------------------------------------------------------- token
check "token registry starts" registry_start_token bob pw0rd || abort "no token registry"
DEST=$REGISTRY_ADDR/skiff/one:1
run skiff login --tls-verify=false --authfile "$AUTH" -u bob --password-stdin "$REGISTRY_ADDR" <<<"nope"
is "$RC" 1 "token registry: a wrong password fails"
run skiff login --tls-verify=false --authfile "$AUTH" -u bob --password-stdin "$REGISTRY_ADDR" <<<"pw0rd"
is "$RC" 0 "token registry: login succeeds"
run skiff push --compression none --tls-verify=false --authfile "$AUTH" localhost/push/one:1 "$DEST"
is "$RC" 0 "token registry: push with credentials from login"
is "$OUT" "$DIGEST" "token registry: same digest"

done_testing
