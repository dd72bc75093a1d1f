#!/usr/bin/env bash
# Multi-architecture images: `skiff manifest create/add/remove/inspect/push/rm`
# and `skiff push --compression none --all` of a list of the tiny guest (amd64) and an arm64
# image, against the real docker-registry and skopeo: the registry gets an
# OCI index whose entries carry the platforms; skopeo copies it whole with
# its digest; a fresh store pulls the host's image (and boots it) or, with
# --platform, the other one; a platform the index lacks, images the list
# holds, a run of a foreign image and bad lists fail clearly, changing
# nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guest.sh"

require_cmd docker-registry skopeo qemu-img qemu-system-x86_64 python3
guest_build

digest_of() { skiff inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])'; }
# platforms JSON: "os/arch=digest" of each entry, sorted
platforms() {
	python3 -c '
import json, sys
i = json.load(sys.stdin)
print(" ".join(sorted("%s/%s=%s" % (m["platform"]["os"], m["platform"]["architecture"], m["digest"]) for m in i["manifests"])))'
}

check "registry starts" registry_start || abort "no registry"
R=$REGISTRY_ADDR
guest_import localhost/tiny:amd64 >/dev/null || abort "importing the tiny guest"
AMD=$(digest_of localhost/tiny:amd64)
qemu-img create -q -f qcow2 "$TMP/arm.qcow2" 16M
skiff import -q --arch arm64 "$TMP/arm.qcow2" localhost/tiny:arm64 >/dev/null || abort "importing the arm64 image"
ARM=$(digest_of localhost/tiny:arm64)

# ---------------------------------------------------------------- a list
check "manifest create with one image" skiff manifest create localhost/tiny:multi localhost/tiny:amd64
check "manifest add the arm64 image" skiff manifest add localhost/tiny:multi localhost/tiny:arm64
run skiff manifest inspect localhost/tiny:multi
is "$RC" 0 "manifest inspect of the local list"
is "$(printf '%s' "$OUT" | platforms)" "$(printf 'linux/amd64=%s linux/arm64=%s' "$AMD" "$ARM")" \
	"the list has both images under their config's platforms"
like "$OUT" '"mediaType": "application/vnd.oci.image.index.v1\+json"' "it is an OCI image index"
run skiff images
unlike "$OUT" "multi" "images does not show the list"

fail_clearly "a second image for the same platform" 1 "already has an image for linux/amd64 ($AMD): remove it first" \
	skiff manifest add localhost/tiny:multi localhost/tiny:amd64
fail_clearly "create of an existing list" 1 "manifest list 'localhost/tiny:multi' already exists" \
	skiff manifest create localhost/tiny:multi
fail_clearly "a list named like an image" 1 "'localhost/tiny:amd64' names an image" \
	skiff manifest create localhost/tiny:amd64
fail_clearly "add of a missing image" 1 "not found" skiff manifest add localhost/tiny:multi localhost/nothing:1
fail_clearly "add to a missing list" 1 "manifest list 'localhost/none:1' not found" \
	skiff manifest add localhost/none:1 localhost/tiny:amd64
fail_clearly "an image a list holds is not removed" 1 "is in use by manifest list 'localhost/tiny:multi'" \
	skiff rmi localhost/tiny:arm64
check "the image is still there" skiff inspect localhost/tiny:arm64
fail_clearly "a foreign image does not run here" 125 "image 'localhost/tiny:arm64' is for arm64, and this machine runs amd64 guests" \
	skiff run -d --name armvm localhost/tiny:arm64
is "$(skiff ps -a -q | wc -l)" 0 "no VM was left behind"

# ---------------------------------------------------------------- push
run skiff manifest push --compression none --tls-verify=false localhost/tiny:multi "$R/multi/tiny:1"
is "$RC" 0 "manifest push succeeds" || diag "$ERR"
INDEX=$OUT
run skopeo inspect --raw --tls-verify=false "docker://$R/multi/tiny:1"
is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$INDEX" "the registry has the index manifest push printed"
is "$(printf '%s' "$OUT" | platforms)" "$(printf 'linux/amd64=%s linux/arm64=%s' "$AMD" "$ARM")" \
	"the registry's index names both images with their platforms"
like "$OUT" '"mediaType":"application/vnd.oci.image.index.v1\+json"' "an OCI index"
for d in "$AMD" "$ARM"; do
	run skopeo inspect --raw --tls-verify=false "docker://$R/multi/tiny@$d"
	is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$d" "the registry has image $d by digest"
done
run skiff manifest inspect --tls-verify=false "$R/multi/tiny:1"
is "$(printf '%s' "$OUT" | platforms)" "$(printf 'linux/amd64=%s linux/arm64=%s' "$AMD" "$ARM")" \
	"manifest inspect reads the index from the registry"
run skiff push --compression none -q --all --tls-verify=false localhost/tiny:multi "$R/multi/again:1"
is "$RC" 0 "push --all of the list succeeds" || diag "$ERR"
is "$OUT" "$INDEX" "with the same index digest"
run skiff manifest push -q --tls-verify=false localhost/tiny:multi "$R/multi/zstd:1"
is "$RC" 0 "manifest push without --compression succeeds" || diag "$ERR"
run skopeo inspect --raw --tls-verify=false "docker://$R/multi/zstd:1"
zindex=$OUT
for d in $(printf '%s' "$zindex" | python3 -c 'import json,sys; print(" ".join(m["digest"] for m in json.load(sys.stdin)["manifests"]))'); do
	like "$(skopeo inspect --raw --tls-verify=false "docker://$R/multi/zstd@$d")" 'application/vnd.skiff.disk.qcow2.v1\+zstd' \
		"the index names image $d, with its disk layer compressed (zstd by default)"
done
isnt "$(printf '%s' "$zindex" | platforms)" "$(printf 'linux/amd64=%s linux/arm64=%s' "$AMD" "$ARM")" \
	"so the compressed images have digests of their own"
check "skopeo copy --all copies the index and its images" skopeo copy -q --all --src-tls-verify=false \
	"docker://$R/multi/tiny:1" "oci:$TMP/layout:multi"
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$TMP/layout/index.json")
is "$got" "$INDEX" "the oci: layout keeps the index digest"

# ---------------------------------------------------------------- pull by platform
mv "$TMP/root" "$TMP/root-src"
run skiff pull -q --tls-verify=false "$R/multi/tiny:1"
is "$RC" 0 "a fresh store pulls the index" || diag "$ERR"
is "$OUT" "$AMD" "and gets the host's (amd64) image"
check "run -d of the index's reference" skiff run -d --name m1 "$R/multi/tiny:1"
if wait_console m1 'skiff-guest: ready' 120; then
	ok "the image picked from the index boots"
else
	not_ok "the image picked from the index boots" "$(skiff logs m1 2>&1 | tail -20)"
fi
skiff rm -f m1 >/dev/null 2>&1
run skiff pull -q --platform linux/arm64 --tls-verify=false "$R/multi/tiny:1"
is "$OUT" "$ARM" "--platform linux/arm64 gets the other image"
before=$(skiff images -q --no-trunc | sort | tr '\n' ' ')
fail_clearly "a platform the index lacks" 1 "has no image for linux/s390x" \
	skiff pull --platform linux/s390x --tls-verify=false "$R/multi/tiny:1"
is "$(skiff images -q --no-trunc | sort | tr '\n' ' ')" "$before" "nothing stored"
rm -rf "$TMP/root"
mv "$TMP/root-src" "$TMP/root"

# ---------------------------------------------------------------- remove, rm
run skiff manifest remove localhost/tiny:multi "$ARM"
is "$RC" 0 "manifest remove of the arm64 image"
run skiff manifest inspect localhost/tiny:multi
is "$(printf '%s' "$OUT" | platforms)" "linux/amd64=$AMD" "the list has the amd64 image left"
check "the removed image is no longer held" skiff rmi localhost/tiny:arm64
fail_clearly "remove of an image the list lacks" 1 "has no image '$ARM'" \
	skiff manifest remove localhost/tiny:multi "$ARM"
check "manifest rm" skiff manifest rm localhost/tiny:multi
fail_clearly "the list is gone" 1 "manifest list 'localhost/tiny:multi' not found" \
	skiff manifest push --compression none --tls-verify=false localhost/tiny:multi "$R/multi/gone:1"
check "its images stay" skiff inspect localhost/tiny:amd64
fail_clearly "manifest without a subcommand" 2 "manifest: expected a subcommand" skiff manifest
run skiff fsck
is "$RC" 0 "fsck is clean"

done_testing
