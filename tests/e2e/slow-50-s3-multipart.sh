#!/usr/bin/env bash
# The slow tier of the S3 transport, on a real radosgw: a 1 GiB image goes
# up as a multipart upload in parallel parts; a push killed (SIGKILL) half
# way leaves its upload pending, and the next push resumes it, uploading
# only the missing parts; no pending upload remains; a fresh store pulls it
# back (parallel ranges) with the same digest and fsck passes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3.sh"

require_cmd radosgw ceph-mon ceph-osd radosgw-admin monmaptool "$AWS_CLI" qemu-img python3

MIB=${SK_S3_SLOW_MIB:-1024}
PART_MIB=32 # SK_S3_PART_SIZE
digest_of() { skiff inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])'; }
part_puts() { grep '"skiff/' "$S3_RGW_LOG" | grep -c '"PUT /skiff-slow/big/blobs/sha256/[0-9a-f]*?partNumber=[0-9]*&uploadId=[^ ]* HTTP/1.1" 200' || true; }

check "radosgw starts" s3_start || abort "no radosgw"
check "aws creates the bucket" aws_s3 mb s3://skiff-slow

head -c "${MIB}M" /dev/urandom >"$TMP/big.raw"
qemu-img convert -q -f raw -O qcow2 "$TMP/big.raw" "$TMP/big.qcow2" && rm -f "$TMP/big.raw"
skiff import -q "$TMP/big.qcow2" localhost/big:1 >/dev/null || abort "import"
rm -f "$TMP/big.qcow2"
BIG=$(digest_of localhost/big:1)
parts=$(((MIB + PART_MIB) / PART_MIB))

# A push killed once a third of the parts are in.
"$SKIFF" --root "$TMP/root" push --compression none localhost/big:1 s3://skiff-slow/big:1 >"$TMP/push1.out" 2>"$TMP/push1.err" &
pid=$!
for ((i = 0; i < 600; i++)); do
	[ "$(part_puts)" -ge $((parts / 3)) ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
first=$(part_puts)
diag "killed after $first of $parts parts"
ok_range=$([ "$first" -gt 0 ] && [ "$first" -lt "$parts" ] && echo yes)
is "$ok_range" yes "the push was killed in the middle of its multipart upload"
run aws_s3api list-multipart-uploads --bucket skiff-slow
like "$OUT" "UploadId" "the killed push left its upload pending"
run aws_s3 ls s3://skiff-slow/big/tags/
is "$OUT" "" "the killed push wrote no tag"

run skiff push --compression none localhost/big:1 s3://skiff-slow/big:1
is "$RC" 0 "the push runs again and succeeds"
like "$ERR" "resumed an interrupted upload: [0-9.]+ [MG]iB were already there" "it says it resumed"
second=$(($(part_puts) - first))
diag "second run uploaded $second parts"
ok_less=$([ "$second" -lt "$parts" ] && [ "$second" -gt 0 ] && echo yes)
is "$ok_less" yes "the second run uploaded only the missing parts ($second of $parts)"
run aws_s3api list-multipart-uploads --bucket skiff-slow
unlike "$OUT" "UploadId" "no pending upload remains"

mv "$TMP/root" "$TMP/root-src"
run skiff pull -q s3://skiff-slow/big:1
is "$OUT" "$BIG" "a fresh store pulls the 1 GiB image back with the same digest"
check "fsck after the pull" skiff fsck

done_testing
