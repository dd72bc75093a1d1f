#!/usr/bin/env bash
# skiff run pulling the image it does not have: the tiny guest is pushed to
# the real docker-registry (basic auth), removed from the store, and `skiff
# run -d` of the registry reference pulls it (with the registry options)
# and boots it to its ready line; --pull never refuses a missing image,
# --pull always pulls again, a bad --pull value is a usage error; a pull
# that fails leaves no VM and no image behind; a copy skopeo made through an
# oci: layout into another repository pulls and boots too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guest.sh"

require_cmd docker-registry htpasswd qemu-img qemu-system-x86_64 skopeo
guest_build

check "basic-auth registry starts" registry_start_basic alice secret || abort "no registry"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_ADDR" "$(printf 'alice:secret' | base64 -w0)" >"$TMP/auth.json"
REF=$REGISTRY_ADDR/skiff/tiny:1

check "import the tiny guest" guest_import localhost/tiny:1
check "push it to the registry" skiff push -q --tls-verify=false --authfile "$TMP/auth.json" localhost/tiny:1 "$REF"
DIGEST=$OUT
check "remove it from the store" skiff rmi localhost/tiny:1
skiff prune >/dev/null 2>&1
is "$(skiff images -q | wc -l)" 0 "the store has no image"

fail_clearly "--pull never with a missing image" 125 "image '$REF' not found" \
	skiff run -d --pull never --tls-verify=false --authfile "$TMP/auth.json" "$REF"
fail_clearly "a bad --pull value is a usage error" 2 "--pull" skiff run -d --pull sometimes "$REF"
fail_clearly "a failing pull (no credentials) starts nothing" 125 "no credentials for '$REGISTRY_ADDR'" \
	skiff run -d --tls-verify=false "$REF"
like "$ERR" "pulling '$REF'" "the failure says it was pulling"
is "$(skiff ps -a -q | wc -l)" 0 "no VM after the failed pull"
is "$(skiff images -q | wc -l)" 0 "no image after the failed pull"

check "run -d pulls the missing image" skiff run -d --name pulled --tls-verify=false --authfile "$TMP/auth.json" "$REF"
like "$ERR" "Copying blob sha256:" "run shows the pull's progress on stderr"
run skiff images --no-trunc
like "$OUT" "$REGISTRY_ADDR/skiff/tiny +1 +$DIGEST " "the pulled image is in the store"
if wait_console pulled 'skiff-guest: ready' 120; then
	ok "the pulled guest boots to its ready line"
else
	not_ok "the pulled guest boots to its ready line" "$(skiff logs pulled 2>&1 | tail -20)"
fi
skiff rm -f pulled >/dev/null 2>&1

check "--pull missing does not pull a stored image" skiff create --name again --pull missing "$REF"
unlike "$ERR" "Copying" "nothing was fetched"
skiff rm -f again >/dev/null 2>&1
check "--pull always pulls a stored image again" skiff create --name fresh --pull always -q --tls-verify=false \
	--authfile "$TMP/auth.json" "$REF"
is "$ERR" "" "-q keeps the pull quiet"
skiff rm -f fresh >/dev/null 2>&1
check "--pull always, not quiet" skiff create --name fresh2 --pull=always --tls-verify=false \
	--authfile "$TMP/auth.json" "$REF"
like "$ERR" "skipped: already in the store" "--pull always asks the registry, stored layers are skipped"
skiff rm -f fresh2 >/dev/null 2>&1
# Interop: the image travels through skopeo (registry -> oci: layout ->
# another repository) and the copy still pulls and boots.
check "skopeo copies the pushed image to an oci: layout" skopeo copy -q --src-tls-verify=false --src-creds alice:secret \
	"docker://$REF" "oci:$TMP/layout:1"
REF2=$REGISTRY_ADDR/other/tiny-copy:1
check "skopeo copies the layout back into the registry" skopeo copy -q --dest-tls-verify=false \
	--dest-creds alice:secret "oci:$TMP/layout:1" "docker://$REF2"
skiff rmi -f "$REF" >/dev/null 2>&1
skiff prune >/dev/null 2>&1
check "run -d of skopeo's copy pulls it" skiff run -d --name copied --tls-verify=false --authfile "$TMP/auth.json" "$REF2"
run skiff images --no-trunc
like "$OUT" "$REGISTRY_ADDR/other/tiny-copy +1 +$DIGEST " "skopeo's copy has the digest skiff pushed"
if wait_console copied 'skiff-guest: ready' 120; then
	ok "skopeo's copy boots to its ready line"
else
	not_ok "skopeo's copy boots to its ready line" "$(skiff logs copied 2>&1 | tail -20)"
fi
skiff rm -f copied >/dev/null 2>&1
check "fsck at the end" skiff fsck

done_testing
