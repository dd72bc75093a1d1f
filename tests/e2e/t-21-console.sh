#!/usr/bin/env bash
# The serial console paths with the real tiny guest: `run -it --rm` on a
# pseudo-terminal (console output arrives, Ctrl-] detaches and the VM goes
# on), `attach` and detaching again, `logs -f` ending when the VM stops,
# `wait` printing the exit status after `stop`, `restart`, and a foreground
# `run --rm` whose user-data script powers the guest off: its output on
# skiff's stdout, skiff's exit status the VM's, nothing left behind.
# (The tiny guest has no getty on ttyS0, so nothing is typed into a console
# shell; console output is produced with `skiff exec` writing to
# /dev/console.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guest.sh"

require_cmd qemu-system-x86_64 qemu-img ssh ssh-keygen python3
guest_build

check "import the tiny guest" guest_import tiny

# pty_drive TRANSCRIPT STEP... -- CMD...: runs CMD on a new pseudo-terminal
# and plays the steps: expect:SECONDS:REGEX (wait for REGEX in the output
# since the last match), send:HEX (type bytes), run:SHELL (run a command
# beside it), exit:SECONDS (wait for CMD to exit).  Prints "OK n" or
# "FAIL n why" per step (stopping at the first failure) and "EXIT status"
# when CMD exited; the terminal output goes to TRANSCRIPT.  CMD is killed
# (by its PID) if it is still running at the end.
cat >"$TMP/pty-drive.py" <<'PY'
import os, pty, re, select, signal, subprocess, sys, time

transcript = sys.argv[1]
sep = sys.argv.index("--")
steps, cmd = sys.argv[2:sep], sys.argv[sep + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
buf, pos, status = b"", 0, None

def pump(timeout):
    global buf, status
    r, _, _ = select.select([fd], [], [], timeout)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        buf += data
        if data:
            return
    if status is None:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            status = os.waitstatus_to_exitcode(st)

def run(n, step):
    global pos
    kind, _, arg = step.partition(":")
    if kind == "expect":
        secs, _, regex = arg.partition(":")
        deadline = time.time() + float(secs)
        while time.time() < deadline:
            m = re.search(regex.encode(), buf[pos:])
            if m:
                pos += m.end()
                return None
            if status is not None:
                return "the command exited (%d) before /%s/" % (status, regex)
            pump(0.1)
        return "no /%s/ within %s s" % (regex, secs)
    if kind == "send":
        os.write(fd, bytes.fromhex(arg))
        return None
    if kind == "run":
        r = subprocess.run(["/bin/sh", "-c", arg], stdin=subprocess.DEVNULL, capture_output=True)
        return None if r.returncode == 0 else "'%s' exited %d: %s" % (arg, r.returncode, r.stderr.decode()[-300:])
    if kind == "exit":
        deadline = time.time() + float(arg)
        while status is None and time.time() < deadline:
            pump(0.1)
        return None if status is not None else "still running after %s s" % arg
    return "unknown step '%s'" % step

failed = False
for n, step in enumerate(steps, 1):
    why = run(n, step)
    if why:
        print("FAIL %d %s" % (n, why))
        failed = True
        break
    print("OK %d" % n)
if status is None:
    pump(0.2)
if status is None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
else:
    print("EXIT %d" % status)
with open(transcript, "wb") as f:
    f.write(buf)
sys.exit(1 if failed else 0)
PY

# drive DESC TRANSCRIPT STEP... -- CMD...: pty_drive as one test.
drive() {
	local desc=$1 transcript=$2
	shift 2
	run python3 "$TMP/pty-drive.py" "$transcript" "$@"
	if [ "$RC" -eq 0 ]; then
		ok "$desc"
	else
		not_ok "$desc" "steps: $(tr '\n' ' ' <<<"$OUT")" "stderr: $ERR" "terminal output (tail):" \
			"$(tail -c 1500 "$transcript" 2>/dev/null | tr -d '\r')"
	fi
}

q() { printf '%q ' "$@"; }
SK=$(q "$SKIFF" --root "$TMP/root")
# A line on the guest's console, written over SSH.
to_console() { echo "run:$SK exec con -- sh -c 'echo $1 >/dev/console'"; }

# ---------------------------------------------------------------- run -it

drive "run -it --rm: console output on the terminal, Ctrl-] detaches" "$TMP/run-it.txt" \
	"expect:60:attached to 'con'" "expect:90:skiff-guest: ready instance-id=" \
	"$(to_console console-marker-one)" "expect:20:console-marker-one" \
	send:1d "expect:10:detached from 'con'" exit:10 \
	-- "$SKIFF" --root "$TMP/root" run -it --rm --name con tiny
like "$OUT" 'EXIT 0' "skiff exits 0 after detaching"
run skiff ps
like "$OUT" 'Up [0-9]+ second.* con' "the detached VM is still running"

drive "attach: console output again, Ctrl-] detaches again" "$TMP/attach.txt" \
	"expect:20:attached to 'con'" "$(to_console console-marker-two)" "expect:20:console-marker-two" \
	send:1d "expect:10:detached from 'con'" exit:10 \
	-- "$SKIFF" --root "$TMP/root" attach con
like "$OUT" 'EXIT 0' "attach exits 0 after detaching"
unlike "$(cat "$TMP/attach.txt")" 'console-marker-one' "attach shows new output, not the old console"
check "the VM still answers after the second detach" skiff exec con -- true

# logs -f on the --rm VM, then stop: logs -f ends, --rm removes the VM.
skiff logs -f con >"$TMP/logs-con.txt" 2>&1 &
logs_pid=$!
sleep 1
check "stop the -it --rm VM" skiff stop -t 20 con
for _ in $(seq 1 50); do kill -0 "$logs_pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$logs_pid" 2>/dev/null; then
	kill "$logs_pid"
	not_ok "logs -f ends when the VM stops" "still running 10 s after stop"
else
	ok "logs -f ends when the VM stops"
fi
wait "$logs_pid"
is "$?" 0 "logs -f exits 0"
grep -q 'console-marker-two' "$TMP/logs-con.txt" && ok "logs -f showed the console from its start" ||
	not_ok "logs -f showed the console" "$(tail -5 "$TMP/logs-con.txt")"
for _ in $(seq 1 25); do skiff ps -a -q | grep -q . || break; sleep 0.2; done
is "$(skiff ps -a -q | wc -l)" 0 "--rm removed the VM after it was stopped"

# ---------------------------------------------------------------- wait, restart

check "run -d --name w1" skiff run -d --name w1 tiny
wait_console w1 'skiff-guest: ready' 90 || not_ok "w1 booted" "$(skiff logs w1 | tail -5)"
skiff wait w1 >"$TMP/wait.txt" 2>&1 &
wait_pid=$!
skiff logs -f w1 >"$TMP/logs-w1.txt" 2>&1 &
logs_pid=$!
sleep 0.5
kill -0 "$wait_pid" 2>/dev/null && ok "wait blocks while the VM runs" || not_ok "wait blocks while the VM runs"
check "stop w1" skiff stop -t 20 w1
for _ in $(seq 1 50); do kill -0 "$wait_pid" 2>/dev/null || kill -0 "$logs_pid" 2>/dev/null || break; sleep 0.2; done
wait "$wait_pid"
is "$?" 0 "wait exits 0"
is "$(cat "$TMP/wait.txt")" 0 "wait prints the exit status 0 after stop"
if kill -0 "$logs_pid" 2>/dev/null; then
	kill "$logs_pid"
	wait "$logs_pid"
	not_ok "logs -f of a VM without --rm ends when it stops"
else
	wait "$logs_pid"
	ok "logs -f of a VM without --rm ends when it stops"
fi
check "restart w1" skiff restart w1
check "exec after restart" skiff exec w1 -- cat /proc/uptime
run skiff ps
like "$OUT" 'Up [0-9]+ second.* w1' "w1 runs again"
check "rm -f w1" skiff rm -f w1

# ---------------------------------------------------------------- foreground run

printf '#!/bin/sh\necho "POWEROFF-MARKER $(hostname)"\nsleep 0.2\npoweroff -f\n' >"$TMP/poweroff.sh"
run timeout 120 "$SKIFF" --root "$TMP/root" run --rm --name fg --user-data "$TMP/poweroff.sh" tiny
is "$RC" 0 "foreground run exits with the VM's status (0)"
like "$OUT" 'POWEROFF-MARKER fg' "the user-data script's output is on skiff's stdout"
is "$(skiff ps -a -q | wc -l)" 0 "the foreground --rm VM is gone"
is "$(find "$TMP/root/vms" -mindepth 1 -maxdepth 1 ! -name names | wc -l)" 0 "no VM directory left"
done_testing
