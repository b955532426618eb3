#!/usr/bin/env bash
# bench/compare.sh - the OAuth registrar side by side with Kamailio (SIP Digest) and the bare
# sipgo handler (bench/registrar -mode bare), all on 127.0.0.1, interleaved run by run:
#   1. UDP and TCP with SIPp: REGISTER -> 407 -> REGISTER with credentials -> 200, stepping the rate;
#      then each server at CPU_RATE (4,000/s) over TCP for its CPU per registration
#   2. TLS with bench/tlsload: the same flow over TLS_CONNS persistent TLS connections, stepped
#   3. IDLE_CONNS (20,000) idle TLS connections, each registered once: server memory per connection
#   4. TCP again: the registrar with -store redis:// (a redis-server started here) against -store memory
# and prints one table with the ratios registrar/Kamailio. See bench/README.md.
#
#   bash bench/compare.sh          quick mode (~6 min)
#   bash bench/compare.sh full     longer steps, repeats, a failed step confirmed (~20 min)
#
# Environment knobs (quick default, [full]):
#   DUR=3 [15]                    seconds per SIPp step
#   RATES="2000 4000 8000 16000" ["2000 4000 8000 12000 16000 24000 32000"]   SIPp steps (calls/s)
#   TLS_RATES="1000 2000 4000 8000" ["1000 2000 4000 6000 8000 12000 16000"]  tlsload steps
#   TLS_DUR=3 [10]  TLS_CONNS=50  seconds per tlsload step; its persistent connections
#   CPU_RATE=4000  CPU_DUR=5 [15] the CPU-per-registration runs (TCP, TLS, the Redis phase), REPEAT+1
#                                 interleaved rounds each, averaged
#   REPEAT=1 [2]                  extra runs at each server's best step (interleaved)
#   CONFIRM=0 [1]                 re-run a failing step once before giving up on that server
#   IDLE_CONNS=20000              idle TLS connections (capped by the open-file limit, see below)
#   DEVICES=20000                 devices and users written by bench/setup
#   PHASES="sipp tls idle redis"  which phases to run; TRANSPORTS="udp tcp"
#   PORT_BASE=25160               ports PORT_BASE..PORT_BASE+8 on 127.0.0.1 (must be free)
#   PROFILE=0                     1: a CPU profile of the registrar over each first CPU run (TCP, TLS), from its
#                                 -pprof endpoint on PORT_BASE+8, in the results directory (go tool pprof -top FILE);
#                                 the sipp and tls phases' registrar then also keeps metrics: not figures to publish
#   WORK=/tmp/sipoauth-compare    work directory (setup files, logs, raw results); kept afterwards
#   KAM_SHM=256 KAM_PKG=16        Kamailio -m and -M (MB)
#   KAM_IDLE_SHM=2048             Kamailio -m for the idle phase (each TLS connection takes shared memory)
#   UDPBUF=1048576                Kamailio's maxbuffer, the UDP receive buffer it asks for: the registrar's default
#                                 -udp-receive-buffer, so that both servers hold the same bursts
#   KAM_TLS_TCP_CHILDREN=1        Kamailio tcp_children for the TLS and idle phases (see README: with 2,
#                                 Kamailio 5.6.3 with OpenSSL 3 corrupts its shared memory under handshakes)
#
# It installs nothing: when a tool is missing it says which and exits 2. Every process it starts is
# stopped by PID on exit. Exit status: 0 when every phase ran, 1 when something could not run.
set -uo pipefail

MODE=${1:-quick}
case $MODE in
quick) ;;
full)
	DUR=${DUR:-15}; RATES=${RATES:-"2000 4000 8000 12000 16000 24000 32000"}
	TLS_RATES=${TLS_RATES:-"1000 2000 4000 6000 8000 12000 16000"}; TLS_DUR=${TLS_DUR:-10}
	CPU_DUR=${CPU_DUR:-15}; REPEAT=${REPEAT:-2}; CONFIRM=${CONFIRM:-1}
	;;
*) sed -n '2,32p' "$0"; exit 2 ;;
esac
DUR=${DUR:-3}
RATES=${RATES:-"2000 4000 8000 16000"}
TLS_RATES=${TLS_RATES:-"1000 2000 4000 8000"}
TLS_DUR=${TLS_DUR:-3}
TLS_CONNS=${TLS_CONNS:-50}
CPU_RATE=${CPU_RATE:-4000}
CPU_DUR=${CPU_DUR:-5}
REPEAT=${REPEAT:-1}
CONFIRM=${CONFIRM:-0}
IDLE_CONNS=${IDLE_CONNS:-20000}
DEVICES=${DEVICES:-20000}
PHASES=${PHASES:-"sipp tls idle redis"}
TRANSPORTS=${TRANSPORTS:-"udp tcp"}
PORT_BASE=${PORT_BASE:-25160}
W=${WORK:-/tmp/sipoauth-compare}
KAM_SHM=${KAM_SHM:-256}
KAM_PKG=${KAM_PKG:-16}
KAM_IDLE_SHM=${KAM_IDLE_SHM:-2048}
KAM_TLS_TCP_CHILDREN=${KAM_TLS_TCP_CHILDREN:-1}
PROFILE=${PROFILE:-0}
UDPBUF=${UDPBUF:-1048576}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
KAM_MODULES=/usr/lib/x86_64-linux-gnu/kamailio/modules

# --- what must be installed
missing=()
command -v kamailio >/dev/null 2>&1 || missing+=("kamailio (package kamailio)")
[ -f "$KAM_MODULES/tls.so" ] || missing+=("Kamailio's tls module (package kamailio-tls-modules)")
command -v sipp >/dev/null 2>&1 || missing+=("sipp (package sip-tester)")
command -v redis-server >/dev/null 2>&1 || missing+=("redis-server (package redis-server)")
command -v go >/dev/null 2>&1 || missing+=("go (https://go.dev/dl/)")
command -v ss >/dev/null 2>&1 || missing+=("ss (package iproute2)")
[ "$PROFILE" != 1 ] || command -v curl >/dev/null 2>&1 || missing+=("curl, for PROFILE=1 (package curl)")
if [ ${#missing[@]} -gt 0 ]; then
	echo "compare.sh: missing: ${missing[*]}" >&2
	echo "install them with: apt-get install kamailio kamailio-tls-modules sip-tester redis-server" >&2
	exit 2
fi

P_KAM=$PORT_BASE P_KAM_TLS=$((PORT_BASE + 1)) P_REG=$((PORT_BASE + 2)) P_REG_TLS=$((PORT_BASE + 3))
P_BARE_UDP=$((PORT_BASE + 4)) P_BARE_TCP=$((PORT_BASE + 5)) P_REDIS_REG=$((PORT_BASE + 6)) P_REDIS_REG_TLS=$((PORT_BASE + 7))
P_PPROF=$((PORT_BASE + 8)) SIPP_UDP_PORT=$((PORT_BASE + 20))
ports="$P_KAM $P_KAM_TLS $P_REG $P_REG_TLS $P_BARE_UDP $P_BARE_TCP $P_REDIS_REG $P_REDIS_REG_TLS $SIPP_UDP_PORT"
[ "$PROFILE" = 1 ] && ports="$ports $P_PPROF"
for p in $ports; do
	if ss -Htuln "sport = :$p" | grep -q .; then
		echo "compare.sh: port $p on this machine is in use; set PORT_BASE to a free range" >&2
		exit 1
	fi
done

# the open-file limit: every connection is a file in the server and in tlsload
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
if [ "$NOFILE" != unlimited ] && [ "$IDLE_CONNS" -gt $((NOFILE - 100)) ]; then
	echo "compare.sh: open-file limit $NOFILE (ulimit -Hn): idle connections capped at $((NOFILE - 100)) instead of $IDLE_CONNS" >&2
	IDLE_CONNS=$((NOFILE - 100))
fi

STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$W/run-$STAMP
RES=$RUN/results.tsv
mkdir -p "$RUN" "$W/bin" || exit 1
HZ=$(getconf CLK_TCK)
T0=$(date +%s)

declare -A MAINPID=()
STARTED=()
PROFPID=
cleanup() {
	local k p all=""
	[ -n "$PROFPID" ] && kill "$PROFPID" 2>/dev/null
	for k in "${!MAINPID[@]}"; do all="$all $(pids_of "$k")"; done
	for k in "${!MAINPID[@]}"; do kill -TERM "${MAINPID[$k]}" 2>/dev/null; done
	for p in $all; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	for k in "${!MAINPID[@]}"; do wait "${MAINPID[$k]}" 2>/dev/null; done
	MAINPID=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# all PIDs of one server (Kamailio forks its workers; the Go servers are one process each)
pids_of() { local m=${MAINPID[$1]:-}; [ -n "$m" ] || return 0; echo "$m $(ps -o pid= --ppid "$m" 2>/dev/null | tr '\n' ' ')"; }
ticks() { local s=0 p t; for p in "$@"; do t=$(awk '{sub(/^.*\) /,""); print $12+$13}' "/proc/$p/stat" 2>/dev/null || echo 0); s=$((s + t)); done; echo $s; }
rss_kb() { local s=0 p t; for p in "$@"; do t=$(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null); s=$((s + ${t:-0})); done; echo $s; }
# PSS: shared pages (Kamailio's shared memory) divided among the processes that map them
pss_kb() { local s=0 p t; for p in "$@"; do t=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null); s=$((s + ${t:-0})); done; echo $s; }

# --- build and set up
echo "== building (go build) and writing $DEVICES devices (bench/setup)" >&2
for t in "./cmd/sipoauth-registrar:registrar" "./bench/registrar:benchreg" "./bench/setup:setup" "./bench/tlsload:tlsload"; do
	go build -o "$W/bin/${t##*:}" "${t%%:*}" || { echo "go build ${t%%:*} failed" >&2; exit 1; }
done
# the tokens live 12 hours: the files are made again when over 6 hours old
S=$W/setup-$DEVICES
if [ ! -s "$S/bearer.csv" ] || [ "$(($(wc -l <"$S/bearer.csv") - 1))" != "$DEVICES" ] || [ -n "$(find "$S/bearer.csv" -mmin +360 2>/dev/null)" ]; then
	rm -rf "$S"
	"$W/bin/setup" -dir "$S" -devices "$DEVICES" >"$RUN/setup.log" 2>&1 || { cat "$RUN/setup.log" >&2; exit 1; }
fi
printf '[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\nprivate_key = %s\ncertificate = %s\n' \
	"$S/node.key" "$S/node.pem" >"$RUN/tls.cfg"

# --- servers
wait_port() { # NAME PROTO PORT
	local i
	for i in $(seq 1 300); do
		if ! kill -0 "${MAINPID[$1]}" 2>/dev/null; then echo "server $1 exited; see $RUN/$1.log" >&2; tail -5 "$RUN/$1.log" >&2; return 1; fi
		if [ "$2" = udp ]; then ss -Hlun "sport = :$3" | grep -q . && return 0
		else ss -Hltn "sport = :$3" | grep -q . && return 0; fi
		sleep 0.1
	done
	echo "server $1: port $3/$2 not open after 30 s" >&2
	return 1
}
start_kam() { # NAME TCP_CHILDREN SHM
	local d=$RUN/$1.d
	mkdir -p "$d/run"
	kamailio -f "$ROOT/bench/kamailio/registrar.cfg" -DD -E -m "$3" -M "$KAM_PKG" -P "$d/kam.pid" -Y "$d/run" \
		-A "KAM_PORT=$P_KAM" -A "KAM_TLS_PORT=$P_KAM_TLS" -A "KAM_CTL=\"unix:$d/kam.ctl\"" \
		-A "KAM_TLSCFG=\"$RUN/tls.cfg\"" -A "KAM_DBURL=\"text://$S/kamailio-db\"" \
		-A "KAM_MAXCONN=$((IDLE_CONNS + 1000))" -A "KAM_TCP_CHILDREN=$2" -A "KAM_UDPBUF=$UDPBUF" >>"$RUN/$1.log" 2>&1 &
	MAINPID[$1]=$!
	wait_port "$1" tcp "$P_KAM_TLS" && wait_port "$1" udp "$P_KAM"
}
start_reg() { # NAME PLAIN_PORT TLS_PORT STORE [profiled]
	local prof=()
	[ "$PROFILE" = 1 ] && [ "${5:-}" = profiled ] && prof=(-metrics "127.0.0.1:$P_PPROF" -pprof)
	"$W/bin/registrar" -config "$S/registrar.json" -oauth "127.0.0.1:$3" -edge "" -plaintext-for-load-tests "127.0.0.1:$2" \
		-store "$4" -log-level warn -node-name BENCH -max-connections $((IDLE_CONNS + 1000)) \
		-max-connections-per-source $((IDLE_CONNS + 1000)) "${prof[@]}" >>"$RUN/$1.log" 2>&1 &
	MAINPID[$1]=$!
	wait_port "$1" tcp "$3" && wait_port "$1" udp "$2"
}
# profile NAME: with PROFILE=1, a CPU profile of the registrar (reg) over the next CPU_DUR seconds,
# written to $RUN/reg-NAME.pprof by a curl in the background (PROFPID); profiled waits for it
profile() {
	[ "$PROFILE" = 1 ] || return 0
	curl -sf -m $((CPU_DUR + 30)) -o "$RUN/reg-$1.pprof" "http://127.0.0.1:$P_PPROF/debug/pprof/profile?seconds=$CPU_DUR" &
	PROFPID=$!
}
profiled() {
	[ -n "$PROFPID" ] || return 0
	if wait "$PROFPID"; then
		echo "  CPU profile: $(ls -t "$RUN"/reg-*.pprof | head -1)" >&2
	else
		echo "  CPU profile: curl failed" >&2
	fi
	PROFPID=
}
start_bare() { # NAME TRANSPORT PORT
	"$W/bin/benchreg" -mode bare -listen "127.0.0.1:$3" -transport "$2" -devices 1 -csv "$RUN/$1.csv" >>"$RUN/$1.log" 2>&1 &
	MAINPID[$1]=$!
	wait_port "$1" "$2" "$3"
}
stop() { # NAME...
	local k p all=""
	for k in "$@"; do all="$all $(pids_of "$k")"; kill -TERM "${MAINPID[$k]}" 2>/dev/null; done
	for p in $all; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	for k in "$@"; do wait "${MAINPID[$k]}" 2>/dev/null; unset "MAINPID[$k]"; done
}

echo -e "phase\tserver\ttransport\trate\tdur\tcalls\tok\tfailed\tretrans\tachieved\tsrv_cpu_s\tsrv_cpu_pct\tus_per_reg\trss_mb\tp50_ms\tp99_ms\tpass\tpss_mb" >"$RES"

# run_sipp PHASE NAME TRANSPORT PORT XML CSV RATE DUR -> one row; returns 0 on PASS
run_sipp() {
	local phase=$1 name=$2 tr=$3 port=$4 xml=$5 csv=$6 rate=$7 dur=$8
	local calls=$((rate * dur)) d="$RUN/raw/$phase-$name-$tr-$rate-$(date +%H%M%S%N)" pids t0 t1 rc tflag
	mkdir -p "$d"
	pids=$(pids_of "$name")
	if [ "$tr" = udp ]; then tflag="-t u1 -p $SIPP_UDP_PORT"; else tflag="-t t1"; fi
	t0=$(ticks $pids)
	# shellcheck disable=SC2086
	timeout -k 5 $((dur * 3 + 40)) /usr/bin/time -f "%U %S %e" -o "$d/time" \
		sipp "127.0.0.1:$port" -sf "$ROOT/bench/compare/$xml" -inf "$csv" -i 127.0.0.1 $tflag \
		-r "$rate" -rp 1000 -m "$calls" -l 15000 -timeout "$((dur * 3 + 30))s" -recv_timeout 5000 \
		-buff_size 4194304 -nostdin -nd -trace_stat -stf "$d/stat.csv" -fd 1 -trace_err -error_file "$d/err.log" \
		>"$d/sipp.out" 2>&1
	rc=$?
	t1=$(ticks $pids)
	awk -F';' -v hz="$HZ" -v t0="$t0" -v t1="$t1" -v rate="$rate" -v calls="$calls" -v rc="$rc" \
		-v tm="$(tail -1 "$d/time" 2>/dev/null)" -v rss="$(rss_kb $pids)" -v pss="$(pss_kb $pids)" \
		-v phase="$phase" -v name="$name" -v tr="$tr" -v dur="$dur" '
		function ms(t, a) { split(t, a, ":"); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4] / 1000 }
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		{ last = $0 }
		END {
			split(tm, a, " "); wall = a[3] + 0; if (wall <= 0) wall = 1e-9
			$0 = last
			created = $col["TotalCallCreated"] + 0; ok = $col["SuccessfulCall(C)"] + 0; failed = $col["FailedCall(C)"] + 0
			retr = $col["Retransmissions(C)"] + 0; ach = $col["CallRate(C)"] + 0
			cpu = (t1 - t0) / hz
			pass = (rc == 0 && created == calls && ok == calls && failed == 0 && retr == 0 && ach >= 0.9 * rate) ? "PASS" : "FAIL"
			printf "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.2f\t%.0f\t%.1f\t%.0f\t%.2f\t-\t%s\t%.0f\n", phase, name, tr, rate, dur, calls, ok, failed, retr, ach,
				cpu, cpu / wall * 100, (ok > 0 ? cpu / ok * 1e6 : 0), rss / 1024, ms($col["ResponseTimeregister(C)"]), pass, pss / 1024
		}' "$d/stat.csv" 2>/dev/null >"$d/row"
	[ -s "$d/row" ] || printf "%s\t%s\t%s\t%d\t%d\t%d\t0\t0\t0\t0\t0\t0\t0\t0\t0\t-\tFAIL\t0\n" "$phase" "$name" "$tr" "$rate" "$dur" "$calls" >"$d/row"
	cat "$d/row" >>"$RES"
	awk -F'\t' '{printf "  %-6s %-9s %-4s %6d/s x %2ds: ok=%d failed=%d retrans=%d achieved=%d/s CPU=%.0f%% (%.0f us/reg) RSS=%.0fMB mean=%.2fms %s\n", $1, $2, $3, $4, $5, $7, $8, $9, $10, $12, $13, $14, $15, $17}' "$d/row" >&2
	awk -F'\t' '$17 == "PASS" { p = 1 } END { exit !p }' "$d/row"
}

# run_tls PHASE NAME PORT AUTH CSV RATE DUR -> one row; returns 0 on PASS
run_tls() {
	local phase=$1 name=$2 port=$3 auth=$4 csv=$5 rate=$6 dur=$7 d out
	d="$RUN/raw/$phase-$name-tls-$rate-$(date +%H%M%S%N)"
	mkdir -p "$d"
	timeout -k 5 $((dur * 3 + 60)) "$W/bin/tlsload" -target "127.0.0.1:$port" -auth "$auth" -creds "$csv" -ca "$S/node.pem" \
		-conns "$TLS_CONNS" -rate "$rate" -duration "${dur}s" -pid "${MAINPID[$name]}" >"$d/out" 2>&1
	out=$(grep '^result ' "$d/out")
	if [ -z "$out" ]; then
		printf "%s\t%s\ttls\t%d\t%d\t%d\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\tFAIL\t0\n" "$phase" "$name" "$rate" "$dur" $((rate * dur)) >"$d/row"
		sed 's/^/    /' "$d/out" | head -5 >&2
	else
		echo "$out" | awk -v phase="$phase" -v name="$name" -v dur="$dur" '{
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			printf "%s\t%s\ttls\t%d\t%d\t%d\t%d\t%d\t0\t%.0f\t%.2f\t%.0f\t%.1f\t%.0f\t%.2f\t%.2f\t%s\t%.0f\n", phase, name, v["rate"], dur, v["total"], v["ok"], v["failed"],
				v["achieved"], v["srv_cpu_s"], v["srv_cpu_pct"], v["srv_cpu_us_per_reg"], v["srv_rss_mb"], v["p50_ms"], v["p99_ms"], v["pass"], v["srv_pss_mb"] }' >"$d/row"
	fi
	cat "$d/row" >>"$RES"
	awk -F'\t' '{printf "  %-6s %-9s %-4s %6d/s x %2ds: ok=%d failed=%d achieved=%d/s CPU=%.0f%% (%.0f us/reg) RSS=%.0fMB p50=%.2fms p99=%.2fms %s\n", $1, $2, $3, $4, $5, $7, $8, $10, $12, $13, $14, $15, $16, $17}' "$d/row" >&2
	awk -F'\t' '$17 == "PASS" { p = 1 } END { exit !p }' "$d/row"
}

# step PHASE RUNNER "RATES" DUR SERVER... : each server's rates interleaved with the others' until it
# fails (CONFIRM: re-run a failing step once), then REPEAT more runs at each server's best step
# (see below); records "phase server best passes runs" in $RUN/best. A server is name:args-of-runner.
step() {
	local phase=$1 runner=$2 rates=$3 dur=$4; shift 4
	local spec name rate r round any lower
	declare -A alive=() best=() args=() np=() nr=() passed=() again=()
	for spec in "$@"; do name=${spec%%:*}; args[$name]=${spec#*:}; alive[$name]=1; best[$name]=0; passed[$name]=""; done
	for rate in $rates; do
		any=0
		for spec in "$@"; do
			name=${spec%%:*}
			[ "${alive[$name]}" = 1 ] || continue
			# shellcheck disable=SC2086
			if $runner "$phase" "$name" ${args[$name]} "$rate" "$dur" || { [ "$CONFIRM" = 1 ] && $runner "$phase" "$name" ${args[$name]} "$rate" "$dur"; }; then
				best[$name]=$rate; passed[$name]="${passed[$name]} $rate"; any=1
			else
				alive[$name]=0
			fi
		done
		[ "$any" = 1 ] || break
	done
	# REPEAT more runs at each server's best step; where most runs there failed, the same once
	# more at its next lower passing step, which is then reported with its own passes
	for spec in "$@"; do name=${spec%%:*}; np[$name]=1; nr[$name]=1; again[$name]=0; [ "${best[$name]}" -gt 0 ] && again[$name]=1; done
	for round in 1 2; do
		for r in $(seq 1 "$REPEAT"); do
			for spec in "$@"; do
				name=${spec%%:*}
				[ "${again[$name]}" = 1 ] || continue
				nr[$name]=$((nr[$name] + 1))
				# shellcheck disable=SC2086
				$runner "$phase" "$name" ${args[$name]} "${best[$name]}" "$dur" && np[$name]=$((np[$name] + 1))
			done
		done
		any=0
		for spec in "$@"; do
			name=${spec%%:*}
			[ "${again[$name]}" = 1 ] || continue
			again[$name]=0
			[ $((np[$name] * 2)) -gt "${nr[$name]}" ] && continue
			[ "$round" = 1 ] || continue
			lower=0
			for r in ${passed[$name]}; do [ "$r" -lt "${best[$name]}" ] && [ "$r" -gt "$lower" ] && lower=$r; done
			[ "$lower" -gt 0 ] || continue
			echo "  $name: ${np[$name]} of ${nr[$name]} runs at ${best[$name]}/s passed; repeating at $lower/s" >&2
			best[$name]=$lower; np[$name]=1; nr[$name]=1; again[$name]=1; any=1
		done
		[ "$any" = 1 ] || break
	done
	for spec in "$@"; do
		name=${spec%%:*}
		printf "%s\t%s\t%d\t%d\t%d\n" "$phase" "$name" "${best[$name]}" "${np[$name]}" "${nr[$name]}" >>"$RUN/best"
	done
}

# warm PHASE NAME PORT XML CSV: every device registers once over TCP, so that the runs after it
# measure re-registrations (the registrar's token cache warm, Kamailio's location table full)
warm() {
	local calls=$DEVICES
	sipp "127.0.0.1:$3" -sf "$ROOT/bench/compare/$4" -inf "$5" -i 127.0.0.1 -t t1 -r 2000 -rp 1000 -m "$calls" -l 15000 \
		-timeout "$((calls / 1000 + 60))s" -recv_timeout 5000 -buff_size 4194304 -nostdin -nd >"$RUN/warm-$1-$2.out" 2>&1 ||
		echo "  warm-up of $2: sipp exited $? (see $RUN/warm-$1-$2.out)" >&2
}

status=0
: >"$RUN/best"
: >"$RUN/idle"
echo "versions: $(kamailio -v | head -1 | sed 's/^version: //'); $(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1); $(go version | cut -d' ' -f3); redis $(redis-server --version | grep -o 'v=[^ ]*')" >&2
echo "mode=$MODE DUR=$DUR RATES=\"$RATES\" TLS_RATES=\"$TLS_RATES\" TLS_DUR=$TLS_DUR TLS_CONNS=$TLS_CONNS CPU_RATE=$CPU_RATE REPEAT=$REPEAT IDLE_CONNS=$IDLE_CONNS; results: $RUN" >&2
KAM_SPEC_DIGEST="$S/digest.csv"
BEARER="$S/bearer.csv"

if [[ " $PHASES " == *" sipp "* ]]; then
	echo "== UDP and TCP, SIPp (each server fresh, every device registered once first)" >&2
	if start_kam kam 2 "$KAM_SHM" && start_reg reg "$P_REG" "$P_REG_TLS" memory profiled && start_bare bare-udp udp "$P_BARE_UDP" && start_bare bare-tcp tcp "$P_BARE_TCP"; then
		warm sipp kam "$P_KAM" reg_digest.xml "$KAM_SPEC_DIGEST"
		warm sipp reg "$P_REG" reg_bearer.xml "$BEARER"
		for tr in $TRANSPORTS; do
			bare=bare-$tr bport=$P_BARE_UDP
			[ "$tr" = tcp ] && bport=$P_BARE_TCP
			echo "-- $tr" >&2
			step "sipp-$tr" run_sipp "$RATES" "$DUR" \
				"kam:$tr $P_KAM reg_digest.xml $KAM_SPEC_DIGEST" \
				"reg:$tr $P_REG reg_bearer.xml $BEARER" \
				"$bare:$tr $bport reg_bearer.xml $BEARER"
		done
		echo "-- CPU at $CPU_RATE/s over TCP, ${CPU_DUR}s each, $((REPEAT + 1)) rounds" >&2
		for round in $(seq 0 "$REPEAT"); do
			run_sipp cpu kam tcp "$P_KAM" reg_digest.xml "$KAM_SPEC_DIGEST" "$CPU_RATE" "$CPU_DUR"
			[ "$round" = 0 ] && profile cpu-tcp
			run_sipp cpu reg tcp "$P_REG" reg_bearer.xml "$BEARER" "$CPU_RATE" "$CPU_DUR"
			profiled
			run_sipp cpu bare-tcp tcp "$P_BARE_TCP" reg_bearer.xml "$BEARER" "$CPU_RATE" "$CPU_DUR"
		done
	else
		status=1
	fi
	stop kam reg bare-udp bare-tcp
fi

if [[ " $PHASES " == *" tls "* ]]; then
	echo "== TLS, tlsload with $TLS_CONNS connections (Kamailio tcp_children=$KAM_TLS_TCP_CHILDREN)" >&2
	if start_kam kam "$KAM_TLS_TCP_CHILDREN" "$KAM_SHM" && start_reg reg "$P_REG" "$P_REG_TLS" memory profiled; then
		warm tls kam "$P_KAM" reg_digest.xml "$KAM_SPEC_DIGEST"
		warm tls reg "$P_REG" reg_bearer.xml "$BEARER"
		step tls run_tls "$TLS_RATES" "$TLS_DUR" "kam:$P_KAM_TLS digest $KAM_SPEC_DIGEST" "reg:$P_REG_TLS bearer $BEARER"
		echo "-- CPU at $CPU_RATE/s over TLS, ${CPU_DUR}s each, $((REPEAT + 1)) rounds" >&2
		for round in $(seq 0 "$REPEAT"); do
			run_tls cpu-tls kam "$P_KAM_TLS" digest "$KAM_SPEC_DIGEST" "$CPU_RATE" "$CPU_DUR"
			[ "$round" = 0 ] && profile cpu-tls
			run_tls cpu-tls reg "$P_REG_TLS" bearer "$BEARER" "$CPU_RATE" "$CPU_DUR"
			profiled
		done
	else
		status=1
	fi
	stop kam reg
fi

if [[ " $PHASES " == *" idle "* ]]; then
	echo "== $IDLE_CONNS idle TLS connections, one registration each (fresh servers; Kamailio -m $KAM_IDLE_SHM)" >&2
	for name in kam reg; do
		if [ $name = kam ]; then
			start_kam kam "$KAM_TLS_TCP_CHILDREN" "$KAM_IDLE_SHM" || { status=1; stop kam; continue; }
			port=$P_KAM_TLS auth=digest csv=$KAM_SPEC_DIGEST
		else
			start_reg reg "$P_REG" "$P_REG_TLS" memory || { status=1; stop reg; continue; }
			port=$P_REG_TLS auth=bearer csv=$BEARER
		fi
		sleep 2
		timeout -k 5 600 "$W/bin/tlsload" -target "127.0.0.1:$port" -auth "$auth" -creds "$csv" -ca "$S/node.pem" \
			-idle "$IDLE_CONNS" -hold 5s -pid "${MAINPID[$name]}" >"$RUN/idle-$name.out" 2>&1
		sed 's/^/  /' "$RUN/idle-$name.out" | grep -v '^  result' >&2
		grep '^result ' "$RUN/idle-$name.out" | sed "s/^result /$name /" >>"$RUN/idle"
		stop "$name"
	done
fi

if [[ " $PHASES " == *" redis "* ]]; then
	echo "== TCP, the registrar with -store redis:// against -store memory" >&2
	rport=
	for p in $(seq $((PORT_BASE + 30)) $((PORT_BASE + 130))); do
		ss -Htln "sport = :$p" | grep -q . || { rport=$p; break; }
	done
	mkdir -p "$RUN/redis"
	redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --dir "$RUN/redis" --protected-mode yes >>"$RUN/redis.log" 2>&1 &
	MAINPID[redis]=$!
	if wait_port redis tcp "$rport" && start_reg reg "$P_REG" "$P_REG_TLS" memory && start_reg reg-redis "$P_REDIS_REG" "$P_REDIS_REG_TLS" "redis://127.0.0.1:$rport/0"; then
		warm redis reg "$P_REG" reg_bearer.xml "$BEARER"
		warm redis reg-redis "$P_REDIS_REG" reg_bearer.xml "$BEARER"
		step redis-tcp run_sipp "$RATES" "$DUR" "reg:tcp $P_REG reg_bearer.xml $BEARER" "reg-redis:tcp $P_REDIS_REG reg_bearer.xml $BEARER"
		for _ in $(seq 0 "$REPEAT"); do
			run_sipp cpu-redis reg tcp "$P_REG" reg_bearer.xml "$BEARER" "$CPU_RATE" "$CPU_DUR"
			run_sipp cpu-redis reg-redis tcp "$P_REDIS_REG" reg_bearer.xml "$BEARER" "$CPU_RATE" "$CPU_DUR"
		done
		# redis-server's own CPU is not in reg-redis's figures
		echo "  redis-server CPU over the phase: $(awk -v t="$(ticks "${MAINPID[redis]}")" -v hz="$HZ" 'BEGIN { printf "%.1f s", t / hz }')" >&2
	else
		status=1
	fi
	stop reg reg-redis redis
fi

# --- the table
awk -F'\t' -v bestf="$RUN/best" -v idlef="$RUN/idle" -v cpurate="$CPU_RATE" '
	BEGIN {
		while ((getline l < bestf) > 0) { split(l, b, "\t"); B[b[1] "/" b[2]] = b[3]; P[b[1] "/" b[2]] = b[4] "/" b[5] }
		while ((getline l < idlef) > 0) {
			nf = split(l, f, " ")
			for (i = 2; i <= nf; i++) { split(f[i], kv, "="); I[f[1] "/" kv[1]] = kv[2] }
		}
	}
	NR == 1 { next }
	{
		k = $1 "/" $2
		if ((k in B) && $4 == B[k] && $17 == "PASS") { npass[k]++; if ($14 > BR[k]) BR[k] = $14; if ($18 > BS[k]) BS[k] = $18 }
		# CPU runs: the mean over the rounds; memory: after the last round
		if ($1 ~ /^cpu/) { k = $1 "/" $2; cs[k] += $13; cn[k]++; C[k] = sprintf("%.1f", cs[k] / cn[k]); CR[k] = $14; CS[k] = $18 }
	}
	function ratio(a, b) { return (b > 0 && a != "") ? sprintf("%.2f", a / b) : "-" }
	function passes(what, kv, rv, bv) {
		printf "%-44s %12s %12s %12s\n", what, (kv == "" ? "-" : kv), (rv == "" ? "-" : rv), (bv == "" ? "-" : bv)
	}
	function row(what, unit, kv, rv, bv) {
		printf "%-44s %12s %12s %12s %10s %10s\n", what, (kv == "" ? "-" : kv), (rv == "" ? "-" : rv), (bv == "" ? "-" : bv), ratio(rv, kv), ratio(bv, kv)
	}
	END {
		printf "\n%-44s %12s %12s %12s %10s %10s\n", "", "Kamailio", "registrar", "bare sipgo", "reg/kam", "bare/kam"
		for (t = 1; t <= 2; t++) {
			tr = t == 1 ? "udp" : "tcp"
			if (("sipp-" tr "/kam") in B) {
				row(toupper(tr) " best rate, registrations/s", "", B["sipp-" tr "/kam"], B["sipp-" tr "/reg"], B["sipp-" tr "/bare-" tr])
				passes("  runs passed at that rate", P["sipp-" tr "/kam"], P["sipp-" tr "/reg"], P["sipp-" tr "/bare-" tr])
				if (tr == "udp") {
					row("  UDP RSS after a run at that rate, MB (sum)", "", BR["sipp-udp/kam"], BR["sipp-udp/reg"], BR["sipp-udp/bare-udp"])
					row("  UDP PSS after a run at that rate, MB (sum)", "", BS["sipp-udp/kam"], BS["sipp-udp/reg"], BS["sipp-udp/bare-udp"])
				}
			}
		}
		if ("tls/kam" in B) {
			row("TLS best rate, registrations/s", "", B["tls/kam"], B["tls/reg"], "")
			passes("  runs passed at that rate", P["tls/kam"], P["tls/reg"], "")
		}
		if (("cpu/kam" in C) || ("cpu/reg" in C)) {
			row("TCP CPU per registration at " cpurate "/s, us", "", C["cpu/kam"], C["cpu/reg"], C["cpu/bare-tcp"])
			row("TCP RSS after that run, MB (sum)", "", CR["cpu/kam"], CR["cpu/reg"], CR["cpu/bare-tcp"])
			row("TCP PSS after that run, MB (sum)", "", CS["cpu/kam"], CS["cpu/reg"], CS["cpu/bare-tcp"])
		}
		if (("cpu-tls/kam" in C) || ("cpu-tls/reg" in C))
			row("TLS CPU per registration at " cpurate "/s, us", "", C["cpu-tls/kam"], C["cpu-tls/reg"], "")
		if (("kam/rss_per_conn_kb" in I) || ("reg/rss_per_conn_kb" in I)) {
			row("idle TLS: RSS per connection, KiB", "", I["kam/rss_per_conn_kb"], I["reg/rss_per_conn_kb"], "")
			row("idle TLS: PSS per connection, KiB", "", I["kam/pss_per_conn_kb"], I["reg/pss_per_conn_kb"], "")
			passes("idle TLS: connections open (registered)", I["kam/open"] " (" I["kam/registered"] ")", I["reg/open"] " (" I["reg/registered"] ")", "")
			row("idle TLS: RSS after, MB", "", I["kam/rss_after_mb"], I["reg/rss_after_mb"], "")
		}
		if ("redis-tcp/reg" in B) {
			printf "\n%-44s %12s %12s %10s\n", "TCP, registrar store", "memory", "redis", "redis/mem"
			printf "%-44s %12s %12s %10s\n", "best rate, registrations/s", B["redis-tcp/reg"], B["redis-tcp/reg-redis"], ratio(B["redis-tcp/reg-redis"], B["redis-tcp/reg"])
			printf "%-44s %12s %12s\n", "  runs passed at that rate", P["redis-tcp/reg"], P["redis-tcp/reg-redis"]
			printf "%-44s %12s %12s %10s\n", "CPU per registration at " cpurate "/s, us", C["cpu-redis/reg"], C["cpu-redis/reg-redis"], ratio(C["cpu-redis/reg-redis"], C["cpu-redis/reg"])
		}
		print "\nbest rate: highest step where a run registered every call, 0 failed, 0 retransmissions, achieved >= 90 % of the target,"
		print "           and most runs passed (else the next lower passing step, repeated, with its own count)."
		print "CPU: utime+stime of all the server'"'"'s processes over the run / registrations, mean of the rounds (redis-server excluded)."
		print "RSS (sum): VmRSS summed over the server'"'"'s processes; PSS: shared pages split among them (Kamailio'"'"'s shared memory once)."
		print "A registration is REGISTER -> 407 -> REGISTER with credentials -> 200: two transactions."
	}' "$RES" | tee "$RUN/table.txt"
awk -F'\t' 'NR > 1 && $17 != "PASS" && $1 ~ /^cpu/ { printf "note: the CPU run of %s at %d/s did not pass (ok=%d failed=%d retrans=%d)\n", $2, $4, $7, $8, $9 }' "$RES"
echo "elapsed: $(($(date +%s) - T0)) s; results: $RES, table: $RUN/table.txt"
exit $status
