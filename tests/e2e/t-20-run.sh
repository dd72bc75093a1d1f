#!/usr/bin/env bash
# The runner with the real tiny guest under qemu: run, exec, user-data, -e,
# -p, two VMs of one image, stop, --rm, rm -f, SIGKILLed qemu, and the bad
# inputs of `run` (exit 125, nothing left behind).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guest.sh"

require_cmd qemu-system-x86_64 qemu-img ssh ssh-keygen
guest_build
check "import the tiny guest" guest_import tiny

vm_count() { skiff ps -a -q | wc -l; }

cat >"$TMP/user-data" <<'YAML'
#cloud-config
runcmd:
  - echo "RUNCMD-MARKER $(hostname)"
YAML
port=$(free_port)
check "run -d --name t1 -p $port:80 -e" skiff run -d --name t1 -p "$port:80" -e FOO=bar -e 'SPACED=a b' \
	--user-data "$TMP/user-data" tiny
like "$OUT" '^[0-9a-f]{64}$' "run -d prints the VM id"
wait_console t1 'skiff-guest: ready instance-id=' 60 && ok "the guest reached its ready line" ||
	not_ok "ready line" "$(skiff logs t1 | tail -20)"
id=$(skiff inspect --type vm t1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
run skiff logs t1
like "$OUT" "ready instance-id=$id" "the seed's instance-id is the VM id"
check "exec t1 -- uname -a" skiff exec t1 -- uname -a
like "$OUT" 'Linux t1 6\.[0-9.]+-[0-9]+-amd64 .* x86_64' "exec returns the guest's kernel, hostname t1"
run skiff exec t1 -- sh -c 'exit 7'
is "$RC" 7 "exec returns the guest command's exit status"
run skiff exec t1 -- printf '%s|' 'a b' "c'd"
is "$OUT" "a b|c'd|" "exec passes arguments exactly"
run skiff exec t1 -- cat /etc/environment
like "$OUT" 'FOO="bar"' "-e reaches the guest"
like "$OUT" 'SPACED="a b"' "-e with a space reaches the guest"
wait_console t1 'RUNCMD-MARKER t1' 30 && ok "--user-data runcmd output shows in logs" || not_ok "runcmd in logs"
run skiff ps
like "$OUT" "127.0.0.1:$port->80/tcp +t1" "ps shows the VM and its port"
like "$OUT" 'Up [0-9]+ second' "ps says Up"
run skiff port t1
like "$OUT" "80/tcp -> 127.0.0.1:$port" "port lists the forward"
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && ok "the forwarded port listens on 127.0.0.1" ||
	not_ok "forwarded port listens"
run skiff ps --format json
like "$OUT" '"State": "running"' "ps --format json"
# The monitor's --rm step (an internal verb) never removes a live VM.
fail_clearly "__autoremove refuses a running VM" 1 "VM 't1' has not exited" skiff __autoremove "$id" 0
run skiff ps -q --no-trunc
like "$OUT" "$id" "t1 is still there"

check "a second VM of the same image, --console-log" skiff run -d --name t2 --console-log "$TMP/t2.console" tiny
check "both answer over SSH" skiff exec t2 -- hostname
is "$OUT" t2 "t2 is its own guest"
grep -q 'skiff-guest: ready' "$TMP/t2.console" && ok "--console-log FILE receives the console" || not_ok "--console-log"
run skiff exec t1 -- hostname
is "$OUT" t1 "t1 still runs"

start=$(date +%s)
check "stop -t 20 t2" skiff stop -t 20 t2
[ $(($(date +%s) - start)) -le 20 ] && ok "stop finished within its timeout" || not_ok "stop within timeout"
run skiff ps -a
like "$OUT" 'Exited \(0\).* t2' "t2 exited with status 0 (ACPI power-off)"
check "start t2 again" skiff start t2
check "exec after restart" skiff exec t2 -- true
check "rm -f a running VM" skiff rm -f t2
check "run --disk-size 1g -m 384m --cpus 2" skiff run -d --name grown --disk-size 1g -m 384m --cpus 2 tiny
run skiff exec grown -- cat /sys/block/vda/size
is "$OUT" 2097152 "--disk-size grows the VM's disk (1 GiB in sectors)"
run skiff exec grown -- sh -c 'grep -c ^processor /proc/cpuinfo'
is "$OUT" 2 "--cpus reaches the guest"
run skiff exec grown -- sh -c "awk '/MemTotal/ {print (\$2 > 300000)}' /proc/meminfo"
is "$OUT" 1 "-m reaches the guest"
fail_clearly "--disk-size smaller than the image is refused (usage error)" 2 "disks only grow" skiff run -d --disk-size 1m tiny
check "rm -f grown" skiff rm -f grown
run skiff ps -a
unlike "$OUT" ' t2$' "t2 is gone"

# qemu killed behind skiff's back: ps tells the truth, rm cleans up.
qpid=$(cut -d' ' -f1 "$TMP/root/vms/$id/qemu.pid")
kill -KILL "$qpid"
sleep 1
run skiff ps -a
like "$OUT" 'Exited \(137\).* t1' "ps shows t1 exited (137) after qemu was SIGKILLed"
check "rm the dead VM" skiff rm t1
[ ! -d "$TMP/root/vms/$id" ] && ok "its directory is gone" || not_ok "directory removed"

# --rm leaves nothing behind.
check "run -d --rm" skiff run -d --rm --name gone tiny
check "exec in the --rm VM" skiff exec gone -- true
check "stop the --rm VM" skiff stop gone
for _ in $(seq 1 50); do [ "$(vm_count)" -eq 0 ] && break; sleep 0.2; done
is "$(vm_count)" 0 "--rm removed the VM"
is "$(ls "$TMP/root/vms" | grep -vc names)" 0 "no VM directory left"
is "$(ls "$TMP/root/holds" | wc -l)" 0 "no hold on the image left"

# qemu gone, its exit not yet recorded (the monitor is held with SIGSTOP):
# wait reports what the monitor records, not a guessed kill.
check "run -d --name late" skiff run -d --name late tiny
wait_console late 'skiff-guest: ready' 90 || not_ok "late booted" "$(skiff logs late | tail -5)"
lid=$(skiff inspect --type vm late | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
lmon=$(cut -d' ' -f1 "$TMP/root/vms/$lid/monitor.pid")
lqemu=$(cut -d' ' -f1 "$TMP/root/vms/$lid/qemu.pid")
kill -STOP "$lmon"
run skiff exec late -- poweroff
for _ in $(seq 1 150); do [ "$(awk '{print $3}' "/proc/$lqemu/stat" 2>/dev/null)" = Z ] && break; sleep 0.2; done
skiff wait late >"$TMP/late.txt" 2>&1 &
late_wait=$!
sleep 1
kill -CONT "$lmon"
wait "$late_wait"
is "$(cat "$TMP/late.txt")" 0 "wait reports the clean power-off the monitor records late"
check "rm late" skiff rm late

# Bad input: one clear line, exit 125, no half-created VM.
fail_clearly "a missing image" 125 "image 'nothere' not found" skiff run -d nothere
check "a VM named dup" skiff create --name dup tiny
fail_clearly "a name in use" 125 "the name 'dup' is already in use" skiff run -d --name dup tiny
busy=$(free_port)
perl -MIO::Socket::INET -e '$s=IO::Socket::INET->new(LocalAddr=>"127.0.0.1",LocalPort=>shift,Listen=>1,ReuseAddr=>1) or die; sleep 60' "$busy" &
listener=$!
wait_for_port "$busy" >/dev/null
fail_clearly "a port already taken" 125 "port 127.0.0.1:$busy/tcp is already in use" skiff run -d -p "$busy:80" tiny
kill "$listener"; wait "$listener" 2>/dev/null
fail_clearly "an unreadable user-data file" 125 "--user-data" skiff run -d --user-data "$TMP/none.yaml" tiny
fail_clearly "an invalid port mapping" 2 "invalid port mapping" skiff run -d -p 99999:80 tiny
printf '#!/bin/sh\necho "qemu-system-x86_64: -blockdev foo: simulated failure" >&2\nexit 1\n' >"$TMP/badqemu"
chmod +x "$TMP/badqemu"
SKIFF_QEMU=$TMP/badqemu fail_clearly "qemu failing to start shows its stderr" 125 "simulated failure" \
	skiff run -d --accel tcg tiny
mkdir "$TMP/lonely" && cp "$SKIFF" "$TMP/lonely/skiff"
fail_clearly "skiff-monitor missing beside skiff" 125 "the VM monitor '$TMP/lonely/skiff-monitor'" \
	"$TMP/lonely/skiff" --root "$TMP/root" run -d --accel tcg tiny
fail_clearly "a VM that never reaches SSH within --wait" 1 "did not answer on SSH within 3 s" \
	skiff run -d --name nossh --network none --wait 3 tiny
check "rm -f nossh" skiff rm -f nossh
check "rm dup" skiff rm dup
is "$(vm_count)" 0 "no half-created VM left by the failures"
done_testing
