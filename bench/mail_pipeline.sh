# bench/mail_pipeline.sh — the `pipeline` workload of bench/mail.sh (sourced
# by it; uses its targets, rows and helpers): the mail server people run,
# end to end, on every target.  Per target a private Postfix (smtpd on
# 127.0.0.1, every local recipient handed over LMTP) and a private Dovecot
# (its LMTP server stores into the target as the test user, IMAP on
# 127.0.0.1); Postfix's smtp-source sends the corpus, $par sessions at a
# time, one message per session; then $par IMAP clients fetch the whole
# INBOX back (tests/integration/imap_fetchback.py) and every message must
# be the one sent, byte for byte below the trace headers the servers add.
#
# IPMD_BENCH_PROFILE=DIR: the servers' and the FUSE daemons' calls are
# traced while it runs (figures then measure the tracing too): Dovecot and
# its children with `strace -f -T -y` on file calls (DIR/T-dovecot.strace),
# each FUSE daemon with `strace -f -T -y` on every call, /dev/fuse's
# buffers included (DIR/T-daemon.strace); bench/strace_profile.py sums the
# straces of the delivery phase and of the fetch-back into
# DIR/T-{dovecot,daemon}-{deliver,fetch}.md.  With
# IPMD_BENCH_PROFILE_WITH=perf, instead of strace (whose ptrace stops
# would fill the samples), ipmaildir's daemon runs under `perf record -g`
# (DIR/T-perf.data, `perf report` in DIR/T-perf.txt).

# pipe_servers T: T's Postfix and Dovecot configured and started.
declare -A P_SMTP P_IMAP P_PCONF P_PLOG P_PPID P_DLOG P_DPID
pipe_servers() {
	local t=$1 base=${TGT_BASE[$1]}
	P_SMTP[$t]=$(free_port)
	P_IMAP[$t]=$(free_port)
	while [ "${P_IMAP[$t]}" = "${P_SMTP[$t]}" ]; do P_IMAP[$t]=$(free_port); done
	menv_dovecot_conf "$base/dovecot" "${TGT_DIR[$t]}" "${P_IMAP[$t]}" postfix
	P_DLOG[$t]=$DOVECOT_LOG
	menv_dovecot_start "${P_IMAP[$t]}" || die "dovecot on $t did not start"
	P_DPID[$t]=$DOVECOT_PID
	menv_postfix_conf "$base/postfix" "${P_SMTP[$t]}" "$DOVECOT_LMTP"
	P_PCONF[$t]=$POSTFIX_CONF
	P_PLOG[$t]=$POSTFIX_LOG
	menv_postfix_start || die "postfix on $t did not start"
	P_PPID[$t]=$POSTFIX_PID
	menv_wait_port "${P_SMTP[$t]}" || die "smtpd on $t does not answer"
	[ -z "${IPMD_BENCH_PROFILE:-}" ] || pipe_trace "$t"
}

# pipe_trace T: the tracers of IPMD_BENCH_PROFILE on T's servers and daemon.
declare -A P_TRACERS
pipe_trace() {
	local t=$1 dir=$IPMD_BENCH_PROFILE pid
	mkdir -p "$dir" || die "no profile directory $dir"
	P_TRACERS[$t]=
	if [ "${IPMD_BENCH_PROFILE_WITH:-strace}" = perf ]; then
		command -v perf >/dev/null || die "IPMD_BENCH_PROFILE_WITH=perf needs perf"
		[ "${TGT_KIND[$t]}" = ipmaildir ] || return 0
		perf record -q -g -F 1999 -o "$dir/$t-perf.data" -p "${TGT_PID[$t]}" 2>>"$dir/perf.err" &
		P_TRACERS[$t]=$!
	else
		command -v strace >/dev/null || die "IPMD_BENCH_PROFILE needs strace"
		strace -f -qq -ttt -T -y -e trace=%file,%desc -o "$dir/$t-dovecot.strace" -p "${P_DPID[$t]}" &
		P_TRACERS[$t]=$!
		if [ -n "${TGT_PID[$t]:-}" ]; then
			strace -f -qq -ttt -T -y -x -s 192 -o "$dir/$t-daemon.strace" -p "${TGT_PID[$t]}" &
			P_TRACERS[$t]="${P_TRACERS[$t]} $!"
		fi
	fi
	for pid in ${P_TRACERS[$t]}; do track_pid "$pid"; done
	sleep 1 # until every thread is attached
}

# pipe_untrace T: stop T's tracers and summarize what they saw, in the
# delivery phase (from P_T0 to P_T1) and in the fetch-back (from P_T1 on).
P_T0=
P_T1=
pipe_untrace() {
	local t=$1 dir=${IPMD_BENCH_PROFILE:-} pid phase win
	[ -n "$dir" ] && [ -n "${P_TRACERS[$t]:-}" ] || return 0
	for pid in ${P_TRACERS[$t]}; do kill -INT "$pid" 2>/dev/null; done
	for pid in ${P_TRACERS[$t]}; do wait "$pid" 2>/dev/null; done
	echo "deliver $P_T0 $P_T1" >"$dir/$t.phases"
	for phase in deliver fetch; do
		[ -e "$dir/$t-dovecot.strace" ] || break
		win=(--from "$P_T0" --to "$P_T1")
		[ "$phase" = deliver ] || win=(--from "$P_T1")
		"$MENV_PY" "$TOP/bench/strace_profile.py" "${win[@]}" files "$dir/$t-dovecot.strace" \
			"${TGT_DIR[$t]}" >"$dir/$t-dovecot-$phase.md"
		[ ! -e "$dir/$t-daemon.strace" ] || "$MENV_PY" "$TOP/bench/strace_profile.py" "${win[@]}" \
			fuse "$dir/$t-daemon.strace" >"$dir/$t-daemon-$phase.md"
	done
	[ ! -e "$dir/$t-perf.data" ] ||
		perf report -i "$dir/$t-perf.data" --stdio --no-children --percent-limit 0.5 -g none \
			>"$dir/$t-perf.txt" 2>/dev/null
}

# pipe_stop T: Postfix (postfix stop, until its master is gone) and
# Dovecot of T stopped.
pipe_stop() {
	local t=$1 i
	pipe_untrace "$t"
	postfix -c "${P_PCONF[$t]}" stop >/dev/null 2>&1
	for ((i = 0; i < 100; i++)); do kill -0 "${P_PPID[$t]}" 2>/dev/null || break; sleep 0.1; done
	menv_stop_pid "${P_DPID[$t]}"
}

# pipe_sent T: how many LMTP deliveries T's Postfix logged as sent
# (Dovecot's LMTP answers 250 once the message is stored).
pipe_sent() { grep -c 'relay=.*lmtp.* status=sent' "${P_PLOG[$1]}"; }

# pipe_part T LIST WANT: send LIST to T's smtpd ($par sessions) and wait
# until WANT deliveries in all are sent; sets PIPE_SMTP_S (until the last
# session ended) and PIPE_E2E_S (until the last delivery).
PIPE_SMTP_S=
PIPE_E2E_S=
pipe_part() {
	local t=$1 list=$2 want=$3 t0 i out=$TEST_DIR/pipe-send.$1
	t0=$(now)
	menv_smtp_send "${P_SMTP[$t]}" "$par" "$list" >"$out" &
	_workers=($!)
	wait "${_workers[0]}"
	_workers=()
	PIPE_SMTP_S=$(since "$t0")
	[ "$(awk '$1 != 0' "$out" | wc -l)" = 0 ] || die "smtpd on $t refused messages: $(awk '$1 != 0' "$out" | head -n 3)"
	[ "$(wc -l <"$out")" = "$(wc -l <"$list")" ] || die "smtp-source on $t did not send every message"
	for ((i = 0; i < 600 * 50; i++)); do
		[ "$(pipe_sent "$t")" -lt "$want" ] || break
		sleep 0.02
	done
	PIPE_E2E_S=$(since "$t0")
	[ "$(pipe_sent "$t")" -ge "$want" ] || die "$t: only $(pipe_sent "$t") of $want messages delivered after 600 s"
}

# pipe_fetch T: one fetch-back of T's INBOX by $par IMAP clients; sets
# PIPE_FETCH (the JSON line); dies when a message is lost or altered.
PIPE_FETCH=
pipe_fetch() {
	local t=$1 err=$TEST_DIR/pipe-fetch.err
	PIPE_FETCH=$("$MENV_PY" "$TOP/tests/integration/imap_fetchback.py" "${P_IMAP[$t]}" \
		"$MAIL_USER" "$MAIL_PASS" "$par" "$TEST_DIR/pipe-expect" 2>"$err") ||
		{ head -n 10 "$err" >&2; die "IMAP fetch-back on $t: $PIPE_FETCH"; }
}

# cpu_ticks PID: user + system CPU of a process so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

# lmtp_ms T: the mean time, in ms, of the LMTP transmission of T's
# deliveries (the last of Postfix's delays=a/b/c/d: connection setup
# excluded, Dovecot's storing of the message included).
lmtp_ms() {
	sed -n 's/.*relay=.*lmtp.* delays=[^/]*\/[^/]*\/[^/]*\/\([0-9.]*\),.*status=sent.*/\1/p' "${P_PLOG[$1]}" |
		awk '{ s += $1; n++ } END { if (n) printf "%.1f", s * 1000 / n }'
}

# json_field JSON KEY
json_field() { "$MENV_PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

mail_pipeline() {
	local n=$pipe_n t r want=0 m
	local -A e2e smtp fetch fetchmb cpu0
	local fetch_n=$((rounds + 1))
	menv_require postfix smtp-source /usr/sbin/dovecot xargs
	menv_user
	mkdir -p "$TEST_DIR/home"
	chown "$MAIL_UID:$MAIL_GID" "$TEST_DIR/home"
	echo "SMTP -> Postfix -> LMTP -> Dovecot -> target, then IMAP: $n messages (genmail mail mix)," \
		"$par SMTP sessions at a time (one message each), $par IMAP clients, $rounds parts"
	menv_gen_many "$TEST_DIR/pipe" pipe "$n" mail || die "genmail failed"
	menv_smtp_expect "$TEST_DIR/pipe" "$TEST_DIR/pipe-expect" || die "no expected messages"
	split_lists "$TEST_DIR/pipe" "$TEST_DIR/pipe-list" 1 "$rounds"
	echo "  corpus: $(bytes_in "$TEST_DIR/pipe") bytes, $(find "$TEST_DIR/pipe" -size +1M | wc -l) messages over 1 MiB"
	row pipe pipeline "SMTP in to stored via LMTP $n msgs $par sessions (median of $rounds parts)" msg/s higher "r>=0.8"
	row pipesmtp pipeline "  smtpd accepted (until the last session ended; median)" msg/s higher
	row pipelmtp pipeline "  LMTP transmission per msg (mean of Postfix's delays d: Dovecot storing it)" ms lower
	row pipecpu pipeline "  FUSE daemon CPU per msg delivered (user+system)" ms lower
	row pipefirst pipeline "first IMAP fetch-back of all $n msgs $par clients (Dovecot fills its cache)" msg/s higher
	row pipefetch pipeline "IMAP fetch-back of all $n msgs $par clients again (median of $rounds)" msg/s higher
	row pipefetchmb pipeline "IMAP fetch-back of all $n msgs $par clients again (median of $rounds)" MB/s higher
	row pipebad pipeline "  msgs lost or altered SMTP in to IMAP out" count lower "v<=0"
	row pipeerr pipeline "  errors in Dovecot's and Postfix's logs" count lower "v<=0"
	all_up
	for t in "${TARGETS[@]}"; do
		pipe_servers "$t"
		[ -z "${TGT_PID[$t]:-}" ] || cpu0[$t]=$(cpu_ticks "${TGT_PID[$t]}")
	done
	P_T0=$EPOCHREALTIME
	for ((r = 0; r < rounds; r++)); do
		[ -e "$TEST_DIR/pipe-list.$r.all" ] || continue
		m=$(wc -l <"$TEST_DIR/pipe-list.$r.all")
		want=$((want + m))
		for t in "${TARGETS[@]}"; do
			pipe_part "$t" "$TEST_DIR/pipe-list.$r.all" "$want"
			e2e[$t]="${e2e[$t]:-} $(rate "$m" "$PIPE_E2E_S")"
			smtp[$t]="${smtp[$t]:-} $(rate "$m" "$PIPE_SMTP_S")"
		done
	done
	for t in "${TARGETS[@]}"; do
		[ "$(menv_count "${TGT_DIR[$t]}")" = "$n" ] || die "$t: not $n messages in the Maildir"
		put pipelmtp "$t" "$(lmtp_ms "$t")"
		[ -z "${cpu0[$t]:-}" ] || put pipecpu "$t" "$(awk -v a="${cpu0[$t]}" -v b="$(cpu_ticks "${TGT_PID[$t]}")" \
			-v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN { printf "%.2f", (b - a) * 1000 / hz / n }')"
	done
	P_T1=$EPOCHREALTIME
	# The first fetch-back reads what LMTP wrote and has Dovecot fill
	# dovecot.index.cache; the next ones read with the cache filled.
	for ((r = 0; r < fetch_n; r++)); do
		for t in "${TARGETS[@]}"; do
			pipe_fetch "$t"
			if [ "$r" = 0 ]; then
				put pipefirst "$t" "$(json_field "$PIPE_FETCH" msgs_per_s)"
				continue
			fi
			fetch[$t]="${fetch[$t]:-} $(json_field "$PIPE_FETCH" msgs_per_s)"
			fetchmb[$t]="${fetchmb[$t]:-} $(json_field "$PIPE_FETCH" mb_per_s)"
		done
	done
	for t in "${TARGETS[@]}"; do
		pipe_stop "$t"
		# shellcheck disable=SC2086 # the list of parts, split on purpose
		put pipe "$t" "$(median ${e2e[$t]})"
		# shellcheck disable=SC2086
		put pipesmtp "$t" "$(median ${smtp[$t]})"
		# shellcheck disable=SC2086
		put pipefetch "$t" "$(median ${fetch[$t]})"
		# shellcheck disable=SC2086
		put pipefetchmb "$t" "$(median ${fetchmb[$t]})"
		# pipe_fetch died on any loss: what is left to count is 0.
		put pipebad "$t" "$(json_field "$PIPE_FETCH" corrupt)"
		put pipeerr "$t" "$(($(log_errors "${P_DLOG[$t]}") +
			$(grep -cE ': (error|fatal|panic):|status=(deferred|bounced)' "${P_PLOG[$t]}")))"
		say "$t" "end to end msg/s:${e2e[$t]}, median ${VAL[pipe,$t]}; smtpd accepted:${smtp[$t]}; LMTP ${VAL[pipelmtp,$t]} ms/msg; daemon CPU ${VAL[pipecpu,$t]:--} ms/msg; IMAP fetch-back msg/s: first ${VAL[pipefirst,$t]}, again${fetch[$t]} (MB/s:${fetchmb[$t]}); ${VAL[pipeerr,$t]} errors in the logs"
		if [ "${VAL[pipeerr,$t]}" != 0 ]; then
			grep -hE '(Error|Panic|Fatal):|: (error|fatal|panic):|status=(deferred|bounced)' \
				"${P_DLOG[$t]}" "${P_PLOG[$t]}" | head -n 3 >&2
			[ "$t" = gocryptfs ] || die "the servers logged errors on $t"
		fi
	done
	all_down
	emit_rows
	headline "pipeline msg/s vs plain: end to end $(vs_plain pipe); LMTP ms/msg $(vs_plain pipelmtp x); IMAP fetch-back first $(vs_plain pipefirst), again $(vs_plain pipefetch);" \
		"lost or altered: ipmaildir ${VAL[pipebad,ipmaildir]}"
}
