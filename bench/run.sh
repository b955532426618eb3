#!/usr/bin/env bash
# Load test of the OAuth registrar with SIPp: the registrar (token
# validation on every registration) against a bare SIP handler with the
# same message flow, on 127.0.0.1. See bench/README.md.
set -euo pipefail

TRANSPORT=${TRANSPORT:-udp}
CALLS=${CALLS:-10000}
RATE=${RATE:-2000}
LIMIT=${LIMIT:-500}
DEVICES=${DEVICES:-10000}
PORT=${PORT:-5070}
TIMEOUT=${TIMEOUT:-60}
PROFILE=${PROFILE:-0}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=bench/out
csv=$out/devices.csv

if ! command -v sipp >/dev/null 2>&1; then
	echo "sipp not found; install it with: apt-get install sip-tester (Debian/Ubuntu)" >&2
	exit 2
fi
case $TRANSPORT in
udp) sipp_transport=u1 ;;
tcp) sipp_transport=t1 ;;
*)
	echo "TRANSPORT must be udp or tcp, not $TRANSPORT" >&2
	exit 2
	;;
esac

tmp=$(mktemp -d)
server_pid=
cleanup() {
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$out"
go build -o "$tmp/registrar" ./bench/registrar

# stats FILE prints, from the last row of a SIPp statistics file:
# successful failed elapsed-seconds retransmissions mean-response-ms.
stats() {
	awk -F';' '
		function secs(t, a) { split(t, a, "\t"); return a[3] + 0 }
		function ms(t, a) { split(t, a, ":"); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4] / 1000 }
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		{ last = $0 }
		END {
			$0 = last
			printf "%d %d %.3f %d %.2f\n", $col["SuccessfulCall(C)"], $col["FailedCall(C)"],
				secs($col["CurrentTime"]) - secs($col["StartTime"]), $col["Retransmissions(C)"],
				ms($col["ResponseTimeregister(C)"])
		}' "$1"
}

status=0
declare -A rate
for mode in registrar bare; do
	stat=$out/$mode.stat.csv
	rm -f "$stat" "$out/$mode.errors.log" "$out/$mode.screen.log"
	args=(-mode "$mode" -listen "127.0.0.1:$PORT" -transport "$TRANSPORT" -devices "$DEVICES" -csv "$csv")
	if [[ $PROFILE == 1 ]]; then
		args+=(-cpuprofile "$out/$mode.cpu.pprof")
	fi
	: >"$tmp/$mode.out"
	"$tmp/registrar" "${args[@]}" >"$tmp/$mode.out" 2>"$out/$mode.server.log" &
	server_pid=$!
	for ((i = 0; i < 1200; i++)); do
		grep -qx ready "$tmp/$mode.out" && break
		if ! kill -0 "$server_pid" 2>/dev/null; then
			echo "$mode: server exited before ready:" >&2
			cat "$out/$mode.server.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	if ! grep -qx ready "$tmp/$mode.out"; then
		echo "$mode: server not ready after 120 s" >&2
		exit 1
	fi

	rc=0
	TIMEFORMAT='%R %U %S'
	{ time sipp "127.0.0.1:$PORT" -sf bench/register.xml -inf "$csv" -t "$sipp_transport" -i 127.0.0.1 \
		-m "$CALLS" -r "$RATE" -l "$LIMIT" -recv_timeout 10s -timeout "${TIMEOUT}s" -timeout_error \
		-max_recv_loops 10000 -max_sched_loops 10000 -buff_size 4194304 -nostdin \
		-trace_stat -stf "$stat" -fd 1 -trace_err -error_file "$out/$mode.errors.log" \
		-trace_screen -screen_file "$out/$mode.screen.log" >"$out/$mode.sipp.log" 2>&1; } 2>"$tmp/$mode.time" || rc=$?

	kill -TERM "$server_pid" 2>/dev/null || true
	wait "$server_pid" || true
	server_pid=

	if [[ ! -s $stat ]]; then
		echo "$mode: sipp exited $rc without statistics; see $out/$mode.sipp.log" >&2
		status=1
		continue
	fi
	read -r ok failed elapsed retrans resp < <(stats "$stat")
	read -r _ sipp_user sipp_sys <"$tmp/$mode.time"
	rate[$mode]=$(awk -v ok="$ok" -v s="$elapsed" 'BEGIN { printf "%.1f", (s > 0 ? ok / s : 0) }')
	printf '%-9s %6d ok %4d failed in %7.3f s = %8s registrations/s  (mean REGISTER->200 %.2f ms, %d retransmissions, sipp CPU %.2f s)\n' \
		"$mode:" "$ok" "$failed" "$elapsed" "${rate[$mode]}" "$resp" "$retrans" "$(awk -v u="$sipp_user" -v s="$sipp_sys" 'BEGIN { print u + s }')"
	sed -n 's/^[a-z]*: answered/          server: answered/p' "$out/$mode.server.log"
	if ((rc != 0 || failed != 0 || ok != CALLS)); then
		echo "$mode: sipp exited $rc, $failed failed, $ok of $CALLS succeeded; see $out/$mode.errors.log and $out/$mode.screen.log" >&2
		status=1
	fi
done

awk -v r="${rate[registrar]:-0}" -v b="${rate[bare]:-0}" 'BEGIN { printf "registrar/bare = %.3f\n", (b > 0 ? r / b : 0) }'
exit "$status"
