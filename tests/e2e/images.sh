# shellcheck shell=bash
# Image-making helpers shared by the pull tests (source after lib.sh):
# a scratch store ($SRC) to import from, export_image to lay an image out
# as files, publish to push those files with curl, write_manifest and
# write_config to write skiff manifests by hand, make_disk for a small
# qcow2.  Scripts that use write_config set ARCH first.

SRC=$TMP/src-root
image_ids() { skiff images -q --no-trunc | sort | tr '\n' ' '; }
sha256_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
size_of() { stat -c %s "$1"; }
src() { "$SKIFF" --root "$SRC" "$@"; }

# export_image NAME DIR: the manifest, config and blobs of an image in the
# scratch store, as files: DIR/manifest.json, DIR/config.json, DIR/blobs/HEX.
export_image() {
	local name=$1 dir=$2 digest hex
	mkdir -p "$dir/blobs"
	digest=$(src inspect "$name" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])')
	hex=${digest#sha256:}
	ostree --repo="$SRC/repo" cat "skiff/images/$hex" /manifest.json >"$dir/manifest.json"
	ostree --repo="$SRC/repo" cat "skiff/images/$hex" /config.json >"$dir/config.json"
	for f in "$SRC"/layers/*.qcow2 "$SRC"/boot/*; do
		[ -f "$f" ] || continue
		cp "$f" "$dir/blobs/$(sha256sum "$f" | cut -d' ' -f1)"
	done
	cp "$dir/config.json" "$dir/blobs/$(sha256sum "$dir/config.json" | cut -d' ' -f1)"
}

# publish DIR REPO TAG: pushes every blob the manifest names, then the
# manifest (with REG_AUTH).  Sets MANIFEST_DIGEST.
publish() {
	local dir=$1 repo=$2 tag=$3 d
	for d in $(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]));
print(m["config"]["digest"]); [print(l["digest"]) for l in m["layers"]]' "$dir/manifest.json"); do
		registry_push_blob "$repo" "$dir/blobs/${d#sha256:}" || {
			diag "pushing blob $d: HTTP $HTTP_STATUS $BODY"
			return 1
		}
	done
	registry_push_manifest "$repo" "$tag" "$dir/manifest.json" || {
		diag "pushing the manifest: HTTP $HTTP_STATUS $BODY"
		return 1
	}
}

# write_manifest DIR CONFIG-FILE LAYER-SPEC...: a skiff manifest by hand;
# each LAYER-SPEC is MEDIA-TYPE:BLOB-FILE:QCOW2-FILE (the uncompressed disk
# gives the diff-id annotations).  Blobs are copied into DIR/blobs.
write_manifest() {
	local dir=$1 config=$2 spec layers= mt blob disk sep=
	shift 2
	mkdir -p "$dir/blobs"
	cp "$config" "$dir/blobs/$(sha256sum "$config" | cut -d' ' -f1)"
	for spec in "$@"; do
		IFS=: read -r mt blob disk <<<"$spec"
		cp "$blob" "$dir/blobs/$(sha256sum "$blob" | cut -d' ' -f1)"
		layers+=$sep$(printf '{"mediaType":"%s","digest":"%s","size":%s,"annotations":{"io.skiff.disk.diff-id":"%s","io.skiff.disk.size":"%s"}}' \
			"$mt" "$(sha256_of "$blob")" "$(size_of "$blob")" "$(sha256_of "$disk")" "$(size_of "$disk")")
		sep=,
	done
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.skiff.vm.v1","config":{"mediaType":"application/vnd.skiff.vm.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
		"$(sha256_of "$config")" "$(size_of "$config")" "$layers" >"$dir/manifest.json"
}

# write_config FILE DISK...: a skiff config for a chain of disks.
write_config() {
	local file=$1 ids= sep= d
	shift
	for d in "$@"; do
		ids+="$sep\"$(sha256_of "$d")\""
		sep=,
	done
	printf '{"architecture":"%s","os":"linux","config":{"boot":"bios","memory":512,"cpus":1,"disk_size":16777216},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$ARCH" "$ids" >"$file"
}

make_disk() {
	qemu-img create -q -f qcow2 "$1" 16M
	qemu-io -f qcow2 -c "write -P ${2:-0x5a} 0 256k" "$1" >/dev/null
}
