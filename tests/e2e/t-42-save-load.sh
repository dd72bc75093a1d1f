#!/usr/bin/env bash
# save and load: a layered image round-trips with digests unchanged (plain,
# through gzip, through skopeo to the real registry and back as skopeo's
# own oci-archive); hostile archives are refused with nothing stored and
# nothing written outside the store.
. "$(dirname "$0")/lib.sh"

require_cmd docker-registry skopeo qemu-img qemu-io python3 gzip

s2() { "$SKIFF" --root "$TMP/root2" "$@"; }
digest_of() { "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])'; }
store_state() { { "$SKIFF" --root "$1" images -q --no-trunc; ls -A "$1/tmp" 2>/dev/null; } | sort | tr '\n' ' '; }

# A base and a child made by commit (the VM never boots: qemu-io writes
# into its overlay).
qemu-img create -q -f qcow2 "$TMP/base.qcow2" 64M
qemu-io -f qcow2 -c "write -P 0x11 0 2M" "$TMP/base.qcow2" >/dev/null
skiff import -q "$TMP/base.qcow2" base:1 >/dev/null || abort "import failed"
skiff create --name c base:1 >/dev/null || abort "create failed"
id=$(skiff inspect --type vm c | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
qemu-io -f qcow2 -c "write -P 0x22 8M 3M" "$TMP/root/vms/$id/overlay.qcow2" >/dev/null
check "commit the created VM" skiff commit -m child c child:1
BASE=$(digest_of skiff inspect base:1)
CHILD=$(digest_of skiff inspect child:1)

check "save base:1 child:1 -o FILE" skiff save base:1 child:1 -o "$TMP/two.tar"
run tar tf "$TMP/two.tar"
is "$(printf '%s\n' "$OUT" | grep -Ec '^blobs/sha256/[0-9a-f]{64}$')" 6 "the archive holds 2 layers, 2 configs and 2 manifests once each"
check "load -i FILE into a fresh store" s2 load -i "$TMP/two.tar"
like "$OUT" "Loaded image: docker.io/library/child:1 \\($CHILD\\)" "load names the child with its digest"
is "$(digest_of s2 inspect base:1)" "$BASE" "the base keeps its digest"
is "$(digest_of s2 inspect child:1)" "$CHILD" "the child keeps its digest"
run s2 fsck
is "$RC" 0 "fsck after load"
skiff export child:1 -o "$TMP/a.qcow2" && s2 export child:1 -o "$TMP/b.qcow2"
check "the loaded child's disk is the saved one" qemu-img compare "$TMP/a.qcow2" "$TMP/b.qcow2"

rm -rf "$TMP/root2"
run bash -c "'$SKIFF' --root '$TMP/root' save child:1 | gzip | zcat | '$SKIFF' --root '$TMP/root2' load"
is "$RC" 0 "save | gzip | zcat | load"
is "$(digest_of s2 inspect child:1)" "$CHILD" "the piped child keeps its digest"
rm -rf "$TMP/root2"
skiff save child:1 | gzip >"$TMP/child.tar.gz"
check "load reads a gzipped archive itself" s2 load -i "$TMP/child.tar.gz"

# skopeo: our archive to the real registry, and skopeo's archive to us.
check "registry starts" registry_start || abort "no registry"
check "skopeo copy oci-archive: docker://" skopeo copy -q --dest-tls-verify=false \
	"oci-archive:$TMP/two.tar:docker.io/library/child:1" "docker://$REGISTRY_ADDR/sk/child:1"
raw=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY_ADDR/sk/child:1" | sha256sum | cut -d' ' -f1)
is "sha256:$raw" "$CHILD" "the registry has the child with its digest unchanged"
rm -rf "$TMP/root2"
run s2 pull -q --tls-verify=false "$REGISTRY_ADDR/sk/child:1"
is "$OUT" "$CHILD" "skiff pulls what skopeo pushed from skiff's archive"
check "skopeo copy docker:// oci-archive: (no name)" skopeo copy -q --src-tls-verify=false \
	"docker://$REGISTRY_ADDR/sk/child:1" "oci-archive:$TMP/skopeo.tar"
rm -rf "$TMP/root2"
check "load skopeo's archive" s2 load -i "$TMP/skopeo.tar"
like "$OUT" "Loaded image: localhost/loaded:${CHILD:7:12} \\($CHILD\\)" "an unnamed image gets a localhost/loaded name"
check "skopeo copy docker:// oci-archive:FILE:child:7" skopeo copy -q --src-tls-verify=false \
	"docker://$REGISTRY_ADDR/sk/child:1" "oci-archive:$TMP/skopeo2.tar:child:7"
check "load skopeo's named archive" s2 load -i "$TMP/skopeo2.tar"
like "$OUT" "Loaded image: docker.io/library/child:7 \\($CHILD\\)" "skopeo's ref name becomes the tag"
run s2 fsck
is "$RC" 0 "fsck after loading skopeo's archives"

# ---------------------------------------------------------------- hostile archives
mkdir -p "$TMP/good" && tar -xf "$TMP/two.tar" -C "$TMP/good"
cat >"$TMP/evil.py" <<'PY'
import hashlib, io, json, os, sys, tarfile
good, kind, out, tmp = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def add_bytes(t, name, data, **kw):
    ti = tarfile.TarInfo(name); ti.size = len(data)
    for k, v in kw.items(): setattr(ti, k, v)
    t.addfile(ti, io.BytesIO(data))
def add_layout(t, skip=(), index=None):
    for root, dirs, files in os.walk(good):
        for f in sorted(files):
            rel = os.path.relpath(os.path.join(root, f), good)
            if rel in skip or (index is not None and rel == "index.json"): continue
            t.add(os.path.join(root, f), rel)
    if index is not None: add_bytes(t, "index.json", json.dumps(index).encode())
idx = json.load(open(os.path.join(good, "index.json")))
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    if kind == "dotdot": add_bytes(t, "../escaped", b"x"); add_layout(t)
    elif kind == "dotdot-deep": add_bytes(t, "blobs/../../escaped", b"x"); add_layout(t)
    elif kind == "absolute": add_bytes(t, tmp + "/absolute", b"x"); add_layout(t)
    elif kind == "symlink":
        ti = tarfile.TarInfo("blobs/sha256/" + "0" * 64); ti.type = tarfile.SYMTYPE; ti.linkname = "/etc/passwd"
        t.addfile(ti); add_layout(t)
    elif kind == "hardlink":
        ti = tarfile.TarInfo("blobs/sha256/" + "0" * 64); ti.type = tarfile.LNKTYPE; ti.linkname = "../../../etc/passwd"
        t.addfile(ti); add_layout(t)
    elif kind == "device":
        ti = tarfile.TarInfo("blobs/sha256/" + "0" * 64); ti.type = tarfile.CHRTYPE; ti.devmajor = 1; ti.devminor = 3
        t.addfile(ti); add_layout(t)
    elif kind == "fifo":
        ti = tarfile.TarInfo("index.json"); ti.type = tarfile.FIFOTYPE; t.addfile(ti); add_layout(t, skip=("index.json",))
    elif kind == "duplicate": add_layout(t); add_bytes(t, "index.json", json.dumps(idx).encode())
    elif kind == "missing-blob":
        d = idx["manifests"][1]["digest"][7:]
        add_layout(t, skip=("blobs/sha256/" + d,))
    elif kind == "wrong-digest":
        add_layout(t); add_bytes(t, "blobs/sha256/" + "1" * 64, b"not what the name says")
    elif kind == "wrong-size":
        m = idx["manifests"][1]; m["size"] += 1; add_layout(t, index=idx)
    elif kind == "wrong-layer-size":
        mpath = os.path.join(good, "blobs/sha256", idx["manifests"][1]["digest"][7:])
        man = json.load(open(mpath)); l = man["layers"][-1]; l["size"] += 4096
        l["annotations"]["io.skiff.disk.size"] = str(l["size"])
        data = json.dumps(man, separators=(",", ":")).encode(); dg = hashlib.sha256(data).hexdigest()
        add_bytes(t, "blobs/sha256/" + dg, data)
        idx["manifests"] = [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + dg,
                             "size": len(data), "annotations": {"org.opencontainers.image.ref.name": "evil:size"}}]
        add_layout(t, index=idx)
    elif kind == "huge-manifest":
        data = b"{" + b" " * (100 << 20) + b"}"; dg = hashlib.sha256(data).hexdigest()
        add_bytes(t, "blobs/sha256/" + dg, data)
        idx["manifests"] = [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + dg,
                             "size": len(data)}]
        add_layout(t, index=idx)
    elif kind == "no-layout": add_bytes(t, "index.json", json.dumps(idx).encode())
    elif kind == "fail-last":
        # both good images first (child:1 moves), then one whose top layer is no qcow2
        mpath = os.path.join(good, "blobs/sha256", idx["manifests"][1]["digest"][7:])
        man = json.load(open(mpath)); l = man["layers"][-1]
        junk = b"this is not a qcow2 image\n" * 4096; jd = hashlib.sha256(junk).hexdigest()
        add_bytes(t, "blobs/sha256/" + jd, junk)
        l["digest"] = "sha256:" + jd; l["size"] = len(junk)
        l["annotations"] = {"io.skiff.disk.diff-id": "sha256:" + jd, "io.skiff.disk.size": str(len(junk))}
        data = json.dumps(man, separators=(",", ":")).encode(); dg = hashlib.sha256(data).hexdigest()
        add_bytes(t, "blobs/sha256/" + dg, data)
        idx["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + dg,
                                 "size": len(data), "annotations": {"org.opencontainers.image.ref.name": "evil:last"}})
        add_layout(t, index=idx)
PY
rm -rf "$TMP/root3"
s3() { "$SKIFF" --root "$TMP/root3" "$@"; }
s3 images >/dev/null
before=$(store_state "$TMP/root3")
evil() { # evil KIND STDERR-SUBSTRING DESC
	python3 "$TMP/evil.py" "$TMP/good" "$1" "$TMP/evil-$1.tar" "$TMP" || { not_ok "$3" "could not build the archive"; return; }
	fail_clearly "$3" 1 "$2" s3 load -i "$TMP/evil-$1.tar"
	is "$(store_state "$TMP/root3")" "$before" "$1: nothing stored, no scratch left"
}
evil dotdot "archive entry '../escaped' leaves the archive's root" "a '../' entry is refused"
evil dotdot-deep "archive entry 'blobs/../../escaped' leaves the archive's root" "a 'blobs/../../' entry is refused"
evil absolute "is an absolute path" "an absolute entry is refused"
evil symlink "is a symbolic link" "a symlink entry is refused"
evil hardlink "is a hard link" "a hard link entry is refused"
evil device "is a device node" "a device node is refused"
evil fifo "archive entry 'index.json' is not a regular file or directory" "a FIFO is refused"
evil duplicate "archive entry 'index.json' appears twice" "a duplicate entry is refused"
evil missing-blob "is not in the archive" "an index entry whose blobs are missing is refused"
evil wrong-digest "blob 'sha256:1111111111111111111111111111111111111111111111111111111111111111' does not match its name" \
	"a blob whose content does not match its name is refused"
evil wrong-size "index.json says" "a manifest whose size in index.json is wrong is refused"
evil wrong-layer-size "the manifest says" "a layer whose size is wrong is refused"
evil huge-manifest "more than the limit" "a 100 MiB manifest is refused"
evil no-layout "not an OCI image layout" "an archive without oci-layout is refused"
[ ! -e "$TMP/escaped" ] && [ ! -e "$TMP/absolute" ] && [ ! -e "$(dirname "$TMP")/escaped" ] &&
	ok "nothing was written outside the store" || not_ok "files escaped the store"
run s3 fsck
is "$RC" 0 "fsck after the hostile archives"

# A load that fails on its last image after the first ones moved names:
# the names point where they pointed before and the added images go.
qemu-img create -q -f qcow2 "$TMP/other.qcow2" 16M
s3 import -q "$TMP/other.qcow2" child:1 >/dev/null && s3 tag child:1 keep:1 >/dev/null ||
	abort "import of the other image failed"
OTHER=$(digest_of s3 inspect child:1)
before=$(store_state "$TMP/root3")
python3 "$TMP/evil.py" "$TMP/good" fail-last "$TMP/evil-last.tar" "$TMP" || abort "could not build the archive"
fail_clearly "a load failing on its last image fails" 1 "image 'sha256:" s3 load -i "$TMP/evil-last.tar"
is "$(digest_of s3 inspect child:1)" "$OTHER" "child:1 points at the image it named before the load"
run s3 inspect base:1
isnt "$RC" 0 "base:1, new in the failed load, is gone"
is "$(store_state "$TMP/root3")" "$before" "the failed load added no image and left no scratch"
run s3 fsck
is "$RC" 0 "fsck after the failed load"
fail_clearly "load of a missing file" 1 "load: opening '$TMP/none.tar'" s3 load -i "$TMP/none.tar"
fail_clearly "save of a missing image" 1 "image 'nothere' not found" skiff save nothere -o "$TMP/x.tar"
[ ! -e "$TMP/x.tar" ] && ok "a failed save leaves no file" || not_ok "a failed save leaves no file"
done_testing
