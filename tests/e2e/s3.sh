# shellcheck shell=bash disable=SC2034
# A throwaway Ceph radosgw (a real S3 server that checks signatures) for
# the S3 tests; source after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/s3.sh"
#   s3_start || abort "no radosgw"
#   aws_s3 mb s3://bkt
#
# s3_start builds 1 mon + 1 OSD (bluestore on a sparse file) + radosgw in
# $TMP/ceph, every daemon on 127.0.0.1 on free ports, Ceph's own auth off
# (S3 signatures are still checked), and creates the S3 user
# $S3_ACCESS_KEY / $S3_SECRET_KEY with radosgw-admin.  It sets S3_ENDPOINT,
# S3_PORT, S3_DIR, S3_RGW_LOG and exports the AWS_* variables skiff and
# aws read (AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE point into
# $TMP, so the host's ~/.aws stays out).  The daemons stop by PID at
# cleanup, radosgw first, then the OSD and the mon (radosgw outliving the
# OSD hangs).  s3_sts_restart restarts radosgw with STS on and a clock the
# test can move (to expire session tokens).

S3_ACCESS_KEY=SKIFFTESTKEY0000
S3_SECRET_KEY=skiff-test-secret-0000000000000000000000
S3_REGION=us-east-1
S3_RGW_PID=
S3_OSD_PID=
S3_MON_PID=

# The AWS CLI Debian ships (a pyenv shim named aws may come first in PATH).
AWS_CLI=/usr/bin/aws

_s3_conf() {
	local d=$1 fsid=$2 mon_port=$3 rgw_port=$4
	cat <<-EOF
		[global]
		fsid = $fsid
		mon host = v2:127.0.0.1:$mon_port
		public addr = 127.0.0.1
		auth cluster required = none
		auth service required = none
		auth client required = none
		ms_mon_client_mode = crc secure
		run dir = $d/run
		admin socket = $d/run/\$name.asok
		log file = $d/log/\$name.log
		mon data = $d/mon
		osd data = $d/osd0
		osd objectstore = bluestore
		bluestore block create = true
		bluestore block path = $d/osd0.block
		bluestore block size = 21474836480
		osd pool default size = 1
		osd pool default min size = 1
		osd pool default pg num = 8
		osd pool default pgp num = 8
		osd pool default pg autoscale mode = off
		mon allow pool size one = true
		mon warn on pool no redundancy = false
		mon max pg per osd = 1000
		osd crush chooseleaf type = 0
		osd memory target = 536870912
		[client.rgw.gw]
		rgw frontends = beast endpoint=127.0.0.1:$rgw_port
		rgw data = $d/rgw
	EOF
}

# Stops the daemons in the order Ceph needs (cleanup hook).
s3_stop() {
	local pid
	[ -n "$S3_RGW_PID" ] && stop_server "$S3_RGW_PID"
	for pid in $S3_OSD_PID $S3_MON_PID; do
		_sk_is_our_child "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in $S3_OSD_PID $S3_MON_PID; do
		stop_server "$pid"
	done
	S3_RGW_PID=
	S3_OSD_PID=
	S3_MON_PID=
}

# s3_start: the cluster and the user (see above).  ~10-20 s.
s3_start() {
	local d=$TMP/ceph fsid osd_uuid mon_port
	mkdir -p "$d/mon" "$d/osd0" "$d/run" "$d/log" "$d/rgw"
	fsid=$(cat /proc/sys/kernel/random/uuid)
	osd_uuid=$(cat /proc/sys/kernel/random/uuid)
	mon_port=$(free_port) || return 1
	S3_PORT=$(free_port) || return 1
	_s3_conf "$d" "$fsid" "$mon_port" "$S3_PORT" >"$d/ceph.conf"
	_sk_cleanup_hooks+=(s3_stop)
	monmaptool --create --add a "v2:127.0.0.1:$mon_port" --fsid "$fsid" "$d/monmap" >"$d/log/setup.log" 2>&1 &&
		ceph-mon -c "$d/ceph.conf" --mkfs -i a --monmap "$d/monmap" >>"$d/log/setup.log" 2>&1 ||
		{ diag "ceph-mon --mkfs failed: $(tail -3 "$d/log/setup.log")"; return 1; }
	spawn_server ceph-mon ceph-mon -c "$d/ceph.conf" -f -i a
	S3_MON_PID=$SERVER_PID
	wait_for_port "$mon_port" "$S3_MON_PID" 30 || { diag "ceph-mon did not start"; return 1; }
	timeout 60 ceph -c "$d/ceph.conf" osd new "$osd_uuid" >>"$d/log/setup.log" 2>&1 &&
		ceph-osd -c "$d/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$d/log/setup.log" 2>&1 ||
		{ diag "creating the OSD failed: $(tail -3 "$d/log/setup.log")"; return 1; }
	spawn_server ceph-osd ceph-osd -c "$d/ceph.conf" -f -i 0
	S3_OSD_PID=$SERVER_PID
	spawn_server radosgw radosgw -c "$d/ceph.conf" -f -n client.rgw.gw
	S3_RGW_PID=$SERVER_PID
	S3_RGW_LOG=$d/log/client.rgw.gw.log
	wait_for_port "$S3_PORT" "$S3_RGW_PID" 90 || { diag "radosgw did not start: $(tail -3 "$S3_RGW_LOG")"; return 1; }
	timeout 60 radosgw-admin -c "$d/ceph.conf" user create --uid skiff-test --display-name skiff-test \
		--access-key "$S3_ACCESS_KEY" --secret "$S3_SECRET_KEY" >>"$d/log/setup.log" 2>&1 ||
		{ diag "radosgw-admin user create failed"; return 1; }
	S3_DIR=$d
	S3_ENDPOINT=http://127.0.0.1:$S3_PORT
	export AWS_ENDPOINT_URL=$S3_ENDPOINT
	export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
	export AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
	export AWS_DEFAULT_REGION=$S3_REGION
	export AWS_CONFIG_FILE=$TMP/aws-config
	export AWS_SHARED_CREDENTIALS_FILE=$TMP/aws-credentials
	unset AWS_PROFILE AWS_SESSION_TOKEN AWS_REGION AWS_ENDPOINT_URL_S3
	_s3_wait_ready
}

# The libfaketime library of Debian's faketime package.
_s3_libfaketime() {
	local lib
	for lib in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1; do
		[ -e "$lib" ] && { echo "$lib"; return 0; }
	done
	return 1
}

# radosgw answers before its pools are ready: wait for a real answer.
_s3_wait_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		"$AWS_CLI" --endpoint-url "$S3_ENDPOINT" s3api list-buckets >/dev/null 2>&1 && return 0
		sleep 0.3
	done
	diag "radosgw does not answer S3 requests"
	return 1
}

# s3_sts_restart: radosgw again, on the same port, with STS
# (GetSessionToken) and under libfaketime reading its clock's offset from a
# file that s3_clock writes.  (With STS on, radosgw answers a wrong secret
# with AccessDenied instead of SignatureDoesNotMatch, so it is off before.)
s3_sts_restart() {
	local lib
	lib=$(_s3_libfaketime) || { diag "libfaketime not found"; return 1; }
	stop_server "$S3_RGW_PID"
	printf '\trgw s3 auth use sts = true\n\trgw sts key = skiff-sts-key-16\n' >>"$S3_DIR/ceph.conf"
	echo "+0" >"$S3_DIR/clock"
	# only wall-clock time moves; a cache of 1 s keeps the file reads rare
	spawn_server radosgw-sts env LD_PRELOAD="$lib" FAKETIME_TIMESTAMP_FILE="$S3_DIR/clock" \
		FAKETIME_CACHE_DURATION=1 FAKETIME_DONT_FAKE_MONOTONIC=1 radosgw -c "$S3_DIR/ceph.conf" -f -n client.rgw.gw
	S3_RGW_PID=$SERVER_PID
	wait_for_port "$S3_PORT" "$S3_RGW_PID" 90 || { diag "radosgw did not restart: $(tail -3 "$S3_RGW_LOG")"; return 1; }
	_s3_wait_ready
}

# s3_clock MINUTES: radosgw's clock from now on runs MINUTES (may be
# negative, or 0) off the real one; after s3_sts_restart.  Returns once
# radosgw's own Date header shows it (libfaketime rereads the file lazily).
s3_clock() {
	local minutes=$1 i
	printf '%+dm\n' "$minutes" >"$S3_DIR/clock.new" && mv "$S3_DIR/clock.new" "$S3_DIR/clock" || return 1
	for ((i = 0; i < 100; i++)); do
		curl -sI "$S3_ENDPOINT/" | python3 -c '
import email.utils, sys, time
want = int(sys.argv[1]) * 60
for line in sys.stdin:
    if line.lower().startswith("date:"):
        off = email.utils.parsedate_to_datetime(line.split(":", 1)[1].strip()).timestamp() - time.time()
        sys.exit(0 if abs(off - want) < 60 else 1)
sys.exit(1)' "$minutes" && return 0
		sleep 0.2
	done
	diag "radosgw's clock did not move by $minutes minutes"
	return 1
}

# s3_session_token: temporary credentials for the test user from radosgw's
# STS (GetSessionToken, 15 minutes, the shortest allowed; after
# s3_sts_restart), in
# S3_TOKEN_KEY, S3_TOKEN_SECRET and S3_TOKEN.
s3_session_token() {
	local out
	timeout 60 radosgw-admin -c "$S3_DIR/ceph.conf" caps add --uid skiff-test --caps "user-policy=*" \
		>>"$S3_DIR/log/setup.log" 2>&1 || return 1
	"$AWS_CLI" --endpoint-url "$S3_ENDPOINT" iam put-user-policy --user-name skiff-test --policy-name sts \
		--policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:GetSessionToken"],"Resource":"*"}]}' ||
		return 1
	out=$("$AWS_CLI" --endpoint-url "$S3_ENDPOINT" sts get-session-token --duration-seconds 900 \
		--query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text) || return 1
	read -r S3_TOKEN_KEY S3_TOKEN_SECRET S3_TOKEN <<<"$out"
	[ -n "$S3_TOKEN" ]
}

# aws_s3 ARGS...: Debian's aws s3 against the test server.
aws_s3() {
	"$AWS_CLI" --endpoint-url "$S3_ENDPOINT" s3 "$@"
}

# aws_s3api ARGS...: the same for s3api.
aws_s3api() {
	"$AWS_CLI" --endpoint-url "$S3_ENDPOINT" s3api "$@"
}
