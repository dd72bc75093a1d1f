# shellcheck shell=bash disable=SC2034
# (SC2034: the variables the helpers set are for the scripts that source this.)
# Shared helpers for skiff's end-to-end tests (bash, TAP for prove).
#
#   #!/usr/bin/env bash
#   . "$(dirname "$0")/lib.sh"
#   plan 3
#   registry_start_basic alice secret
#   check "skiff pushes" skiff push ...
#
# What it gives a script:
# - $TMP, a private temp dir, removed at exit; every server started through
#   spawn_server (and so every registry and token server) is killed by its
#   PID and reaped at exit, on INT and TERM too, even when the script fails.
#   SK_KEEP_TMP=1 keeps $TMP for a post-mortem.
# - TAP: plan, done_testing, ok, not_ok, check, is, isnt, like, unlike,
#   fail_clearly, skip, skip_all, diag, note, abort; run (captures $OUT,
#   $ERR, $RC).
# - free_port, wait_for_port, wait_for_http, spawn_server, stop_server.
# - registry_start, registry_start_basic, registry_start_token: the real
#   Debian docker-registry on 127.0.0.1; registry_token, registry_push_blob,
#   registry_push_manifest, registry_get for curl-level access.
# - skiff: $SKIFF run with --root "$TMP/root".
# It turns on `set -u -o pipefail` and points DOCKER_CONFIG and
# REGISTRY_AUTH_FILE into $TMP, so the host's credentials stay out.
#
# Helpers that start servers or count tests keep state in shell variables:
# call them directly, never inside $(...) or a pipeline (a subshell would
# lose the PIDs and the test numbers).  Assertions return non-zero when they
# fail, so a script can stop early with `check ... || abort "..."`.

set -u -o pipefail

SK_E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SKIFF=${SKIFF:-$(cd "$SK_E2E_LIB_DIR/../.." && pwd)/skiff}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/skiff-e2e.XXXXXX") || {
	echo "Bail out! cannot create a temp dir"
	exit 1
}
# Keep the host's registry credentials out of the tests.
export DOCKER_CONFIG=$TMP/docker-config
export REGISTRY_AUTH_FILE=$TMP/containers-auth.json

_sk_tests=0
_sk_failures=0
_sk_planned=
_sk_pids=()
_sk_owner=$BASHPID
_sk_registries=0
_sk_cleanup_hooks=() # functions run first at cleanup (servers that must stop in order)

# ---------------------------------------------------------------- cleanup

# _sk_proc_state PID: prints "STATE PPID" from /proc (the command name in
# the middle may hold spaces and parentheses, hence the last ')').
_sk_proc_state() {
	local stat fields
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	read -r -a fields <<<"${stat##*) }"
	echo "${fields[0]} ${fields[1]}"
}

# True when PID is running (not a zombie).
_sk_alive() {
	local state
	state=$(_sk_proc_state "$1") || return 1
	[ "${state% *}" != Z ]
}

# True when PID is running and a child of this shell (so not a recycled PID).
_sk_is_our_child() {
	local state
	state=$(_sk_proc_state "$1") || return 1
	[ "${state% *}" != Z ] && [ "${state#* }" = "$_sk_owner" ]
}

_sk_kill_and_reap() {
	local pid=$1 i
	if _sk_is_our_child "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			_sk_is_our_child "$pid" || break
			sleep 0.1
		done
		_sk_is_our_child "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	{ wait "$pid"; } 2>/dev/null
	return 0
}

# Removes every VM of every skiff root under $TMP (a test that died midway
# leaves them running); skiff stops them by their recorded PIDs.
_sk_remove_vms() {
	local vms root id
	[ -n "${SKIFF:-}" ] && [ -x "$SKIFF" ] || return 0
	while IFS= read -r vms; do
		root=${vms%/vms}
		for id in $("$SKIFF" --root "$root" ps -a -q --no-trunc 2>/dev/null); do
			"$SKIFF" --root "$root" rm -f "$id" >/dev/null 2>&1
		done
	done < <(find "$TMP" -maxdepth 4 -type d -name vms 2>/dev/null)
}

_sk_cleanup() {
	local pid
	[ "$BASHPID" = "$_sk_owner" ] || return 0
	_sk_remove_vms
	local hook
	for hook in "${_sk_cleanup_hooks[@]}"; do
		"$hook"
	done
	for pid in "${_sk_pids[@]}"; do
		_sk_is_our_child "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${_sk_pids[@]}"; do
		_sk_kill_and_reap "$pid"
	done
	_sk_pids=()
	if [ "${SK_KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}

_sk_on_exit() {
	local rc=$?
	_sk_cleanup
	if [ "$rc" -eq 0 ] && [ "$_sk_failures" -gt 0 ]; then
		exit 1
	fi
	exit "$rc"
}

trap _sk_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- TAP

plan() {
	_sk_planned=$1
	echo "1..$1"
}

done_testing() {
	[ -n "$_sk_planned" ] || echo "1..$_sk_tests"
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# Lines to stderr (shown by prove), prefixed with '# '.
diag() {
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/# /' >&2
	done
}

note() {
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/# /'
	done
}

_sk_desc() {
	local desc=${1//\\/\\\\}
	printf '%s' "${desc//#/\\#}"
}

ok() {
	_sk_tests=$((_sk_tests + 1))
	echo "ok $_sk_tests - $(_sk_desc "$1")"
}

# not_ok DESC [DIAG LINES...]
not_ok() {
	_sk_tests=$((_sk_tests + 1))
	_sk_failures=$((_sk_failures + 1))
	echo "not ok $_sk_tests - $(_sk_desc "$1")"
	shift
	[ $# -eq 0 ] || diag "$@"
	return 1
}

skip() {
	_sk_tests=$((_sk_tests + 1))
	echo "ok $_sk_tests - $(_sk_desc "$1") # SKIP ${2:-}"
}

# A failed test and the end of the script (prove reports the failure).
abort() {
	not_ok "aborted: $*"
	exit 1
}

# run CMD...: stdout in $OUT, stderr in $ERR, exit status in $RC.
run() {
	"$@" >"$TMP/.run-out" 2>"$TMP/.run-err"
	RC=$?
	OUT=$(cat "$TMP/.run-out")
	ERR=$(cat "$TMP/.run-err")
	return 0
}

_sk_tail() {
	printf '%s\n' "$1" | tail -n 15
}

# check DESC CMD...: passes when CMD exits 0.
check() {
	local desc=$1
	shift
	run "$@"
	if [ "$RC" -eq 0 ]; then
		ok "$desc"
	else
		not_ok "$desc" "command: $*" "exit status: $RC" "stdout:" "$(_sk_tail "$OUT")" \
			"stderr:" "$(_sk_tail "$ERR")"
	fi
}

is() {
	if [ "$1" == "$2" ]; then
		ok "$3"
	else
		not_ok "$3" "got:      '$1'" "expected: '$2'"
	fi
}

isnt() {
	if [ "$1" != "$2" ]; then
		ok "$3"
	else
		not_ok "$3" "got '$1', expected anything else"
	fi
}

# like GOT REGEX DESC (bash extended regex)
like() {
	if [[ $1 =~ $2 ]]; then
		ok "$3"
	else
		not_ok "$3" "got:      '$1'" "expected to match: /$2/"
	fi
}

unlike() {
	if [[ $1 =~ $2 ]]; then
		not_ok "$3" "got:      '$1'" "expected not to match: /$2/"
	else
		ok "$3"
	fi
}

# fail_clearly DESC STATUS STDERR-SUBSTRING CMD...
# CMD must fail with exit STATUS ('*' for any non-zero status) and say
# STDERR-SUBSTRING on stderr, without crashing (signals, sanitizer reports,
# GLib criticals).  $OUT, $ERR and $RC are left for further checks.
fail_clearly() {
	local desc=$1 want_rc=$2 want_err=$3
	local problems=()
	shift 3
	run "$@"
	if [ "$RC" -eq 0 ]; then
		problems+=("the command succeeded")
	elif [ "$want_rc" != '*' ] && [ "$RC" != "$want_rc" ]; then
		problems+=("exit status $RC, expected $want_rc")
	elif [ "$want_rc" = '*' ] && [ "$RC" -ge 126 ]; then
		problems+=("exit status $RC: crashed or not runnable")
	fi
	[[ $ERR == *"$want_err"* ]] || problems+=("stderr lacks '$want_err'")
	[[ $ERR =~ AddressSanitizer|runtime\ error:|-CRITICAL\ \*\*|Segmentation ]] &&
		problems+=("stderr shows a crash or a GLib critical")
	if [ ${#problems[@]} -eq 0 ]; then
		ok "$desc"
	else
		not_ok "$desc" "command: $*" "${problems[@]}" "stderr:" "$(_sk_tail "$ERR")"
	fi
}

# require_cmd CMD...: skip the whole script when a command is missing,
# except under CI, where `make deps` should have installed it.
require_cmd() {
	local cmd
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 && continue
		if [ "${CI:-}" = true ]; then
			echo "Bail out! '$cmd' is missing (make deps should install it)"
			exit 1
		fi
		skip_all "'$cmd' is not installed (make deps)"
	done
}

skiff() {
	"$SKIFF" --root "$TMP/root" "$@"
}

# qemu_img_create_encrypted ARGS...: `qemu-img create ARGS`, for images
# with LUKS encryption.  qemu times its PBKDF by the thread's CPU time and
# gives up ("Unable to get accurate CPU usage") when a round measures 0 ms,
# which a loaded machine sometimes reports; a new try measures again.
qemu_img_create_encrypted() {
	local try
	for try in 1 2 3 4 5; do
		qemu-img create "$@" 2>"$TMP/qemu-img.err" && return 0
		grep -q 'accurate CPU usage' "$TMP/qemu-img.err" || break
	done
	cat "$TMP/qemu-img.err" >&2
	return 1
}

# ---------------------------------------------------------------- servers

# Prints a TCP port on 127.0.0.1 that was free a moment ago.  The kernel
# picks it at random, so parallel scripts rarely collide; wait_for_port with
# a PID detects the rare loser, and registry_start then retries.
free_port() {
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
			Proto => "tcp", Listen => 1) or die "free_port: $!\n";
		print $s->sockport, "\n";'
}

# True when PID holds a listening socket on PORT.
_sk_owns_port() {
	local pid=$1 port=$2 inode fd
	local inodes
	inodes=$(awk -v p="$(printf '%04X' "$port")" \
		'$4 == "0A" { n = split($2, a, ":"); if (a[n] == p) print $10 }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null)
	for inode in $inodes; do
		for fd in "/proc/$pid/fd/"*; do
			[ "$(readlink "$fd" 2>/dev/null)" = "socket:[$inode]" ] && return 0
		done
	done
	return 1
}

# wait_for_port PORT [PID [TIMEOUT]]: wait until 127.0.0.1:PORT accepts
# connections; with PID, until that very process listens there (fails at
# once if it dies).  TIMEOUT in seconds, default 15.
wait_for_port() {
	local port=$1 pid=${2:-} timeout=${3:-15} i
	for ((i = 0; i < timeout * 10; i++)); do
		if [ -n "$pid" ]; then
			_sk_alive "$pid" || return 1
			_sk_owns_port "$pid" "$port" && return 0
		elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# wait_for_http URL [TIMEOUT]: wait until URL answers HTTP at all.
wait_for_http() {
	local url=$1 timeout=${2:-15} i code
	for ((i = 0; i < timeout * 10; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url")
		[ "$code" != 000 ] && return 0
		sleep 0.1
	done
	return 1
}

# spawn_server NAME CMD...: start CMD in the background, stdin from
# /dev/null, output to $TMP/NAME.log; its PID goes to $SERVER_PID and to the
# cleanup list.
spawn_server() {
	local name=$1
	shift
	"$@" </dev/null >"$TMP/$name.log" 2>&1 &
	SERVER_PID=$!
	_sk_pids+=("$SERVER_PID")
}

# stop_server PID: stop one server now (e.g. to test a registry going away).
stop_server() {
	local pid=$1 kept=() p
	_sk_kill_and_reap "$pid"
	for p in "${_sk_pids[@]}"; do
		[ "$p" = "$pid" ] || kept+=("$p")
	done
	_sk_pids=("${kept[@]}")
}

# ---------------------------------------------------------------- registries

# _sk_registry_serve AUTH-YAML: start docker-registry in a new directory
# under $TMP, retrying on a port lost to a concurrent script.
_sk_registry_serve() {
	local auth=$1 dir port name unset_env=()
	_sk_registries=$((_sk_registries + 1))
	dir=$TMP/registry$_sk_registries
	mkdir -p "$dir/data"
	# docker-registry reads REGISTRY_* variables as configuration overrides
	# (REGISTRY_AUTH_FILE would replace auth:): drop them.
	for name in $(compgen -e); do
		[[ $name == REGISTRY_* ]] && unset_env+=(-u "$name")
	done
	for _ in 1 2 3; do
		port=$(free_port) || return 1
		cat >"$dir/config.yml" <<-EOF
			version: 0.1
			log:
			  level: warn
			  formatter: text
			  accesslog:
			    disabled: true
			storage:
			  filesystem:
			    rootdirectory: $dir/data
			  delete:
			    enabled: true
			http:
			  addr: 127.0.0.1:$port
			  secret: skiff-e2e-$RANDOM$RANDOM$RANDOM
			$auth
		EOF
		spawn_server "registry$_sk_registries" env "${unset_env[@]}" \
			docker-registry serve "$dir/config.yml"
		if wait_for_port "$port" "$SERVER_PID" 20 &&
			wait_for_http "http://127.0.0.1:$port/v2/" 10; then
			REGISTRY_PID=$SERVER_PID
			REGISTRY_PORT=$port
			REGISTRY_ADDR=127.0.0.1:$port
			REGISTRY_URL=http://$REGISTRY_ADDR
			REGISTRY_DIR=$dir
			REGISTRY_LOG=$TMP/registry$_sk_registries.log
			return 0
		fi
		stop_server "$SERVER_PID"
		grep -q 'address already in use' "$TMP/registry$_sk_registries.log" || break
	done
	diag "docker-registry did not start; its log:" "$(cat "$TMP/registry$_sk_registries.log")"
	return 1
}

# registry_start: an anonymous registry.  Sets REGISTRY_ADDR (host:port),
# REGISTRY_URL, REGISTRY_PORT, REGISTRY_PID, REGISTRY_DIR, REGISTRY_LOG.
registry_start() {
	REGISTRY_USER=
	REGISTRY_PASS=
	_sk_registry_serve ""
}

# registry_start_basic USER PASS: htpasswd (bcrypt) auth; also sets
# REGISTRY_USER, REGISTRY_PASS.
registry_start_basic() {
	local htpasswd=$TMP/htpasswd$((_sk_registries + 1))
	htpasswd -Bbc "$htpasswd" "$1" "$2" 2>/dev/null || return 1
	REGISTRY_USER=$1
	REGISTRY_PASS=$2
	_sk_registry_serve "auth:
  htpasswd:
    realm: skiff-e2e
    path: $htpasswd"
}

# registry_start_token USER PASS [TOKEN-SERVER OPTIONS...]: bearer token
# auth with tests/e2e/token-server.js (e.g. --anonymous-pull,
# --user-actions pull).  Also sets TOKEN_URL (the realm), TOKEN_PORT,
# TOKEN_PID, TOKEN_LOG (one JSON line per token request), TOKEN_SERVICE,
# TOKEN_ISSUER.
registry_start_token() {
	local user=$1 pass=$2 n=$((_sk_registries + 1)) dir i
	shift 2
	dir=$TMP/token$n
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=skiff-e2e-token" \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 || {
		diag "openssl could not make the token signing certificate"
		return 1
	}
	TOKEN_SERVICE=skiff-e2e-registry
	TOKEN_ISSUER=skiff-e2e-token-issuer
	TOKEN_LOG=$dir/requests.log
	: >"$TOKEN_LOG"
	spawn_server "token$n" env TOKEN_SERVER_PASSWORD="$pass" node "$SK_E2E_LIB_DIR/token-server.js" \
		--key "$dir/key.pem" --cert "$dir/cert.pem" --issuer "$TOKEN_ISSUER" \
		--service "$TOKEN_SERVICE" --user "$user" --port 0 --port-file "$dir/port" \
		--log "$TOKEN_LOG" "$@"
	TOKEN_PID=$SERVER_PID
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/port" ] && break
		_sk_alive "$TOKEN_PID" || break
		sleep 0.1
	done
	TOKEN_PORT=$(cat "$dir/port" 2>/dev/null)
	if [ -z "$TOKEN_PORT" ] || ! wait_for_port "$TOKEN_PORT" "$TOKEN_PID" 10; then
		diag "the token server did not start; its log:" "$(cat "$TMP/token$n.log")"
		return 1
	fi
	TOKEN_URL=http://127.0.0.1:$TOKEN_PORT/token
	REGISTRY_USER=$user
	REGISTRY_PASS=$pass
	_sk_registry_serve "auth:
  token:
    realm: $TOKEN_URL
    service: $TOKEN_SERVICE
    issuer: $TOKEN_ISSUER
    rootcertbundle: $dir/cert.pem"
}

# ---------------------------------------------------------------- curl access

# Extra curl arguments the helpers below send: (-u user:pass) for basic
# auth, (-H "Authorization: Bearer $TOKEN") for a token, () for none.
REG_AUTH=()

SK_MANIFEST_ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json'

# registry_token [-u USER:PASS] SCOPE...: GET a token from $TOKEN_URL.
# Sets HTTP_STATUS, TOKEN (empty on failure) and TOKEN_RESPONSE.
registry_token() {
	local args=(-G --data-urlencode "service=$TOKEN_SERVICE") scope
	if [ "${1:-}" = -u ]; then
		args+=(-u "$2")
		shift 2
	fi
	for scope in "$@"; do
		args+=(--data-urlencode "scope=$scope")
	done
	HTTP_STATUS=$(curl -sS -o "$TMP/.token" -w '%{http_code}' "${args[@]}" "$TOKEN_URL")
	TOKEN_RESPONSE=$(cat "$TMP/.token")
	TOKEN=
	[ "$HTTP_STATUS" = 200 ] || return 1
	TOKEN=$(node -e 'const r = JSON.parse(process.argv[1]); process.stdout.write(r.token || r.access_token || "")' \
		"$TOKEN_RESPONSE")
}

# registry_get PATH [CURL ARGS...]: GET $REGISTRY_URL/v2/PATH with REG_AUTH.
# Body in $TMP/.body (and $BODY), headers in $HEADERS, status in HTTP_STATUS.
registry_get() {
	local path=$1
	shift
	HTTP_STATUS=$(curl -sS -D "$TMP/.headers" -o "$TMP/.body" -w '%{http_code}' \
		"${REG_AUTH[@]}" "$@" "$REGISTRY_URL/v2/$path")
	_sk_read_response
}

# Sets HEADERS and BODY ("(binary)" when it holds NUL bytes) from the last
# response's $TMP/.headers and $TMP/.body.
_sk_read_response() {
	HEADERS=$(tr -d '\r' <"$TMP/.headers" 2>/dev/null)
	# shellcheck disable=SC2094 # both only read the body
	if [ ! -f "$TMP/.body" ]; then
		BODY=
	elif tr -d '\000' <"$TMP/.body" | cmp -s - "$TMP/.body"; then
		BODY=$(cat "$TMP/.body" 2>/dev/null)
	else
		BODY='(binary)'
	fi
}

# registry_push_blob REPO FILE: monolithic upload (POST, then PUT ?digest=).
# Sets BLOB_DIGEST, HTTP_STATUS, HEADERS, BODY (of the failing request when
# one fails); returns 0 on 201 Created.
registry_push_blob() {
	local repo=$1 file=$2 location sep
	BLOB_DIGEST=sha256:$(sha256sum "$file" | cut -d' ' -f1)
	HTTP_STATUS=$(curl -sS -D "$TMP/.headers" -o "$TMP/.body" -w '%{http_code}' -X POST \
		"${REG_AUTH[@]}" "$REGISTRY_URL/v2/$repo/blobs/uploads/")
	_sk_read_response
	[ "$HTTP_STATUS" = 202 ] || return 1
	location=$(printf '%s\n' "$HEADERS" | sed -n 's/^location: //Ip')
	case $location in
	http://* | https://*) ;;
	*) location=$REGISTRY_URL$location ;;
	esac
	sep='?'
	[[ $location == *\?* ]] && sep='&'
	HTTP_STATUS=$(curl -sS -D "$TMP/.headers" -o "$TMP/.body" -w '%{http_code}' -X PUT \
		"${REG_AUTH[@]}" -H 'Content-Type: application/octet-stream' -T "$file" \
		"$location${sep}digest=$BLOB_DIGEST")
	_sk_read_response
	[ "$HTTP_STATUS" = 201 ]
}

# registry_push_manifest REPO REF FILE [MEDIA-TYPE]: PUT a manifest.
# Sets MANIFEST_DIGEST (the registry's Docker-Content-Digest), HTTP_STATUS,
# HEADERS, BODY.
registry_push_manifest() {
	local repo=$1 ref=$2 file=$3 type=${4:-application/vnd.oci.image.manifest.v1+json}
	HTTP_STATUS=$(curl -sS -D "$TMP/.headers" -o "$TMP/.body" -w '%{http_code}' -X PUT \
		"${REG_AUTH[@]}" -H "Content-Type: $type" --data-binary "@$file" \
		"$REGISTRY_URL/v2/$repo/manifests/$ref")
	_sk_read_response
	MANIFEST_DIGEST=$(printf '%s\n' "$HEADERS" | sed -n 's/^docker-content-digest: //Ip')
	[ "$HTTP_STATUS" = 201 ]
}

# ---------------------------------------------------------------- lying proxy

# proxy_start TARGET-URL: tests/e2e/lying-proxy.js in front of a registry
# (TARGET-URL, e.g. $REGISTRY_URL).  Sets PROXY_ADDR (host:port), PROXY_URL,
# PROXY_PORT, PROXY_PID, PROXY_CONTROL (its rules file: see proxy_rules) and
# PROXY_LOG (one JSON line per request).
_sk_proxies=0
proxy_start() {
	local dir i
	_sk_proxies=$((_sk_proxies + 1))
	dir=$TMP/proxy$_sk_proxies
	mkdir -p "$dir"
	PROXY_CONTROL=$dir/rules.json
	PROXY_LOG=$dir/requests.log
	: >"$PROXY_LOG"
	spawn_server "proxy$_sk_proxies" node "$SK_E2E_LIB_DIR/lying-proxy.js" --target "$1" \
		--port 0 --port-file "$dir/port" --control "$PROXY_CONTROL" --log "$PROXY_LOG"
	PROXY_PID=$SERVER_PID
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/port" ] && break
		_sk_alive "$PROXY_PID" || break
		sleep 0.1
	done
	PROXY_PORT=$(cat "$dir/port" 2>/dev/null)
	if [ -z "$PROXY_PORT" ] || ! wait_for_port "$PROXY_PORT" "$PROXY_PID" 10; then
		diag "the lying proxy did not start; its log:" "$(cat "$TMP/proxy$_sk_proxies.log")"
		return 1
	fi
	PROXY_ADDR=127.0.0.1:$PROXY_PORT
	PROXY_URL=http://$PROXY_ADDR
}

# proxy_rules RULE-JSON...: the proxy's rules from now on (none: forward
# everything); each argument is one rule object, e.g.
#   proxy_rules '{"path":"/blobs/sha256:","action":"drop","percent":60,"times":1}'
proxy_rules() {
	local IFS=,
	printf '{"rules":[%s]}\n' "$*" >"$PROXY_CONTROL.tmp" && mv "$PROXY_CONTROL.tmp" "$PROXY_CONTROL"
}

# proxy_bytes SUBSTRING [FIELD]: body bytes the proxy sent (FIELD bytes) or
# forwarded to the registry (FIELD up) for requests whose path contains
# SUBSTRING, since the log was last emptied (: >"$PROXY_LOG").
proxy_bytes() {
	node -e '
		const [log, sub, field] = process.argv.slice(1);
		let n = 0;
		for (const l of require("fs").readFileSync(log, "utf8").split("\n"))
			if (l && JSON.parse(l).path.includes(sub)) n += JSON.parse(l)[field];
		console.log(n);' "$PROXY_LOG" "$1" "${2:-bytes}"
}

# proxy_requests LOG COND...: the requests of a proxy log (PROXY_LOG or an
# earlier proxy's) matching every condition, one JSON line each; a
# condition is FIELD=VALUE (equal, ignoring case: method=PATCH,
# auth=true) or FIELD~SUBSTRING (path~/blobs/uploads/).
proxy_requests() {
	python3 - "$@" <<'EOF'
import json, sys
log, conds = sys.argv[1], sys.argv[2:]
for line in open(log):
    e = json.loads(line)
    ok = True
    for c in conds:
        if '~' in c:
            k, v = c.split('~', 1); ok = ok and v in str(e[k])
        else:
            k, v = c.split('=', 1); ok = ok and str(e[k]).lower() == v.lower()
    if ok:
        print(line.rstrip())
EOF
}

# proxy_count LOG COND...: how many requests proxy_requests finds.
proxy_count() { proxy_requests "$@" | grep -c . || true; }

# proxy_up LOG COND...: request body bytes of those requests (to the registry).
proxy_up() { proxy_requests "$@" | python3 -c 'import json,sys; print(sum(json.loads(l)["up"] for l in sys.stdin))'; }

# ---------------------------------------------------------------- TLS

# tls_make_ca DIR: a CA (DIR/ca.crt, DIR/ca.key), a server certificate for
# 127.0.0.1 and localhost (DIR/server.crt, .key) and a client certificate
# (DIR/client.cert, DIR/client.key, podman's names) signed by it.
tls_make_ca() {
	local dir=$1
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=skiff-e2e-ca" \
		-keyout "$dir/ca.key" -out "$dir/ca.crt" >/dev/null 2>&1 &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
			-keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1 &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext" &&
		openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
			-days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" >/dev/null 2>&1 &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=skiff-e2e-client" \
			-keyout "$dir/client.key" -out "$dir/client.csr" >/dev/null 2>&1 &&
		printf 'extendedKeyUsage=clientAuth\n' >"$dir/client.ext" &&
		openssl x509 -req -in "$dir/client.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
			-days 2 -extfile "$dir/client.ext" -out "$dir/client.cert" >/dev/null 2>&1 || {
		diag "openssl could not make the test CA in $dir"
		return 1
	}
}

# registry_start_tls DIR [CLIENT-CA]: an anonymous registry serving https
# with DIR/server.crt and DIR/server.key (from tls_make_ca); with
# CLIENT-CA, it requires client certificates signed by that CA.
# REGISTRY_URL is https://...
registry_start_tls() {
	local dir=$1 clientca=${2:-} tls
	REGISTRY_USER=
	REGISTRY_PASS=
	# Placed right after http: secret, so it lands under http:.
	tls="  tls:
    certificate: $dir/server.crt
    key: $dir/server.key"
	[ -n "$clientca" ] && tls+="
    clientcas:
      - $clientca"
	_sk_registry_serve "$tls" || return 1
	REGISTRY_URL=https://$REGISTRY_ADDR
}
