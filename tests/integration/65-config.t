#!/usr/bin/env bash
# 65-config.t — the config file ($XDG_CONFIG_HOME/ipmaildir/config, or
# $IPMAILDIR_CONFIG) and the environment give defaults to the options;
# precedence: command line > environment > user file (the system file,
# /etc/ipmaildir/config, is below the user's: tests/unit/test_config.c);
# a malformed file stops the command with file:line.
. "$(dirname "$0")/lib.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests ipmaildir's own commands"

export XDG_CONFIG_HOME=$TEST_DIR/xdg
unset IPMAILDIR_CONFIG IPMAILDIR_STORE IPMAILDIR_NODE IPMAILDIR_PASSPHRASE_FILE \
	IPMAILDIR_COMMIT_DELAY IPMAILDIR_ATTR_TIMEOUT IPMAILDIR_CACHE_MB
CONF=$XDG_CONFIG_HOME/ipmaildir/config
mkdir -p "$(dirname "$CONF")"
SA=$TEST_DIR/storeA SB=$TEST_DIR/storeB M=$TEST_DIR/mnt
(umask 077; printf 'pass A\n' > "$TEST_DIR/passA")
"$IPMD_BIN" init --store "$SA" --passphrase-file "$TEST_DIR/passA" >/dev/null 2>&1 || bail "init A"
ipmd_init "$SB" || bail "init B"
cat > "$CONF" <<EOC
# user config for the test
store = $SA
passphrase-file = $TEST_DIR/passA
commit-delay = 100
EOC

# store and passphrase-file come from the file.
mkdir -p "$M"
"$IPMD_BIN" mount -f "$M" 2>>"$TEST_DIR/m.log" &
pid=$!; track_pid "$pid"; _mounts+=("$M")
for _ in $(seq 100); do mountpoint -q "$M" && break; sleep 0.1; done
check "mount with neither --store nor --passphrase-file uses the config file" mountpoint -q "$M"
echo "Subject: via config" > "$M/new/a"
check "a 100 ms commit-delay from the file commits quickly" \
	bash -c 'for i in $(seq 50); do "$0" log --store "$1" --passphrase-file "$2" -n 1 2>/dev/null | awk "NR == 2 && \$3 == 1 { f = 1 } END { exit !f }" && exit 0; sleep 0.1; done; exit 1' "$IPMD_BIN" "$SA" "$TEST_DIR/passA"
fusermount3 -u "$M"; for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
"$IPMD_BIN" export "$TEST_DIR/outA" 2>/dev/null
check "export without --store reads the config's store" test -f "$TEST_DIR/outA/new/a"

# Environment over the file; command line over both.
IPMAILDIR_STORE=$SB "$IPMD_BIN" export "$TEST_DIR/outB" 2>/dev/null
check "IPMAILDIR_STORE overrides the file" test -d "$TEST_DIR/outB/cur" -a ! -e "$TEST_DIR/outB/new/a"
IPMAILDIR_STORE=$SB "$IPMD_BIN" export --store "$SA" "$TEST_DIR/outC" 2>/dev/null
check "--store overrides the environment" test -f "$TEST_DIR/outC/new/a"
IPMAILDIR_CONFIG=$TEST_DIR/other.conf
printf 'store = %s\n' "$SB" > "$IPMAILDIR_CONFIG"
IPMAILDIR_CONFIG=$IPMAILDIR_CONFIG "$IPMD_BIN" export "$TEST_DIR/outD" 2>/dev/null
check "IPMAILDIR_CONFIG names another file instead" test -d "$TEST_DIR/outD/cur" -a ! -e "$TEST_DIR/outD/new/a"

# Every command that takes --store / --passphrase-file / --node takes it
# from the config the same way.  Store A's key is wrapped: without the
# passphrase file (and with no terminal) none of these could open it.
export XDG_DATA_HOME=$TEST_DIR/no-default # the built-in default: absent
cat > "$CONF" <<EOC
store = $SA
passphrase-file = $TEST_DIR/passA
EOC
out=$("$IPMD_BIN" log 2>&1 </dev/null)
check "log: store and passphrase-file from the file" awk '$1 == 1 { f = 1 } END { exit !f }' <<<"$out"
out=$("$IPMD_BIN" status --json 2>&1 </dev/null)
check "status: the store from the file" grep -qF "\"store\":\"$SA\"" <<<"$out"
out=$(IPMAILDIR_STORE=$SB "$IPMD_BIN" status --json 2>&1 </dev/null)
check "status: IPMAILDIR_STORE over the file" grep -qF "\"store\":\"$SB\"" <<<"$out"
out=$("$IPMD_BIN" fsck 2>&1 </dev/null)
is "$?" 0 "fsck: clean, from the file's store and passphrase"
check "…checking that store" grep -qF "checking $SA" <<<"$out"
IPMAILDIR_STORE=$SB "$IPMD_BIN" fsck --store "$SA" 2>&1 </dev/null | grep -qF "checking $SA"
is "$?" 0 "fsck: --store over IPMAILDIR_STORE"
out=$("$IPMD_BIN" gc --dry-run 2>&1 </dev/null)
is "$?" 0 "gc --dry-run: from the file's store and passphrase"
R=$TEST_DIR/arch
mkdir -p "$R"
if "$IPMD_BIN" archive "$R" 2>"$TEST_DIR/arch.err" </dev/null; then
	_mounts+=("$R")
	check "archive: the file's store, mounted" test -f "$R/latest/new/a"
	fusermount3 -u "$R"
else
	not_ok "archive: the file's store, mounted"
	diag "$(cat "$TEST_DIR/arch.err")"
fi
printf 'an object\n' > "$TEST_DIR/obj"
cap=$("$IPMD_BIN" object put "$TEST_DIR/obj" 2>/dev/null </dev/null)
check "object put: the file's store and passphrase" test -n "$cap"
"$IPMD_BIN" object get "$cap" 2>/dev/null </dev/null | cmp -s - "$TEST_DIR/obj"
is "$?" 0 "object get: the file's store"
SC=$TEST_DIR/storeC
printf 'store = %s\npassphrase-file = %s/passA\n' "$SC" "$TEST_DIR" > "$CONF"
"$IPMD_BIN" init >/dev/null 2>&1 </dev/null
check "init: creates the file's store" test -f "$SC/key"
out=$("$IPMD_BIN" status 2>&1 </dev/null)
check "…with the file's passphrase (the key is wrapped)" grep -q "wrapped with a passphrase" <<<"$out"
"$IPMD_BIN" init --store "$TEST_DIR/storeD" --no-passphrase >/dev/null 2>&1 </dev/null
is "$?" 0 "init: --no-passphrase overrides the file's passphrase-file"
# fetch: a configured node is where blocks come from; --store rules it out.
port=$(free_port)
printf 'store = %s\npassphrase-file = %s/passA\nnode = /ip4/127.0.0.1/tcp/%s\n' "$SA" "$TEST_DIR" "$port" > "$CONF"
"$IPMD_BIN" fetch "$cap" >/dev/null 2>"$TEST_DIR/fetch.err" </dev/null
is "$?" 1 "fetch: the file's node is asked (nothing listens there)"
check "…naming it" grep -qF "127.0.0.1:$port" "$TEST_DIR/fetch.err"
"$IPMD_BIN" fetch --store "$SA" "$cap" 2>/dev/null </dev/null | cmp -s - "$TEST_DIR/obj"
is "$?" 0 "fetch: --store over the file's node"
printf 'store = %s\n' "$SA" > "$CONF"
"$IPMD_BIN" fetch "$cap" 2>/dev/null </dev/null | cmp -s - "$TEST_DIR/obj"
is "$?" 0 "fetch: the file's store without a node"

# Malformed: one line naming file:line; the command does nothing.
printf 'store = %s\n# fine\ncommit-dealy = 5\n' "$SA" > "$CONF"
"$IPMD_BIN" export "$TEST_DIR/outE" 2>"$TEST_DIR/bad.err"
is "$?" 2 "an unknown key is an error"
is "$(cat "$TEST_DIR/bad.err")" "ipmaildir export: $CONF:3: unknown key 'commit-dealy'" "…one line naming file:line and the key"
check "…and nothing was exported" test ! -e "$TEST_DIR/outE"
printf 'cache-mb = lots\n' > "$CONF"
run_mount --store "$SA" "$M"
is "$rc" 2 "mount refuses a bad value"
says "…naming it and the range" "$CONF:1: cache-mb: must be MiB, 1 to 65536"
check "…and mounted nothing" bash -c "! mountpoint -q '$M'"
# Every mount -o option with a value is a key too (fs/cli/options.c).
printf 'pad = bucket\n' > "$CONF"
run_mount --store "$SA" "$M"
is "$rc" 2 "mount refuses a bad pad key"
says "…saying what it takes" "$CONF:1: pad: must be padme or none"
printf '' > "$CONF"
IPMAILDIR_COMMIT_DELAY=soon "$IPMD_BIN" export --store "$SA" "$TEST_DIR/outF" 2>"$TEST_DIR/bad3.err"
is "$?" 2 "a bad environment value is an error"
check "…naming the variable" grep -q '\$IPMAILDIR_COMMIT_DELAY: commit-delay' "$TEST_DIR/bad3.err"
printf 'store = relative/dir\n' > "$CONF"
"$IPMD_BIN" key export --read-only 2>"$TEST_DIR/bad4.err"
is "$?" 2 "a relative store path is refused"
check "…saying it must be absolute" grep -q "absolute path" "$TEST_DIR/bad4.err"
# Every long option that a command's --help names is a config key, or one
# the file refuses as an option of one command line (--repair, --at, …):
# never an "unknown key".  The list comes from the --help texts, so a new
# option that is neither fails here.
cmds=$("$IPMD_BIN" --help 2>&1 | sed -nE 's/^ +ipmaildir ([a-z]+).*/\1/p' | sort -u)
longs=$(for c in "" $cmds; do "$IPMD_BIN" $c --help 2>&1; done |
	grep -oE -- '--[a-z][a-z-]+' | sed 's/^--//' | sort -u)
check "the commands' --help texts name long options" test "$(wc -w <<<"$longs")" -gt 20
nkeys=0
for o in $longs; do
	# "x" is no valid value of most keys: the error then names the key
	# and what it takes, which shows it is known.
	printf '%s = x\n' "$o" >"$CONF"
	err=$("$IPMD_BIN" log --store "$SA" --passphrase-file "$TEST_DIR/passA" -n 1 2>&1 >/dev/null </dev/null)
	if grep -q "is an option of one command line (--$o), not a setting" <<<"$err"; then
		ok "--$o: refused as an option of one command line"
	elif grep -q "unknown key" <<<"$err"; then
		not_ok "--$o is a config key"
		diag "$err"
	else
		ok "--$o is a config key"
		nkeys=$((nkeys + 1))
	fi
done
check "most of them are keys ($nkeys)" test "$nkeys" -ge 10
# mount's own -o options, as mount --help lists them, '_' as '-'.
oopts=$("$IPMD_BIN" mount --help 2>&1 | sed -n "/and ipmaildir's:/,/each also a config key/p" |
	sed '$d' | sed "s/.*and ipmaildir's://" | tr '\n' ' ' | sed 's/([^)]*)//g' |
	tr ',' '\n' | sed -E 's/^ *([a-z_]+).*/\1/' | grep -E '^[a-z_]+$' | sort -u)
check "mount --help lists -o options of its own" test "$(wc -w <<<"$oopts")" -ge 10
for o in $oopts; do
	printf '%s = x\n' "${o//_/-}" >"$CONF"
	err=$("$IPMD_BIN" log --store "$SA" --passphrase-file "$TEST_DIR/passA" -n 1 2>&1 >/dev/null </dev/null)
	check "-o $o is the config key ${o//_/-}" bash -c '! grep -q "unknown key\|not a setting" <<<"$1"' _ "$err"
done

# Some of them taking effect from the file.  Store A has two commits.
printf 'store = %s\npassphrase-file = %s/passA\nkeep-last = 1\n' "$SA" "$TEST_DIR" >"$CONF"
out=$("$IPMD_BIN" gc --dry-run 2>&1 </dev/null)
check "gc: keep-last from the file keeps one commit" grep -q "keeping 1 of [2-9]" <<<"$out"
out=$("$IPMD_BIN" gc --dry-run --keep-within 1w 2>&1 </dev/null)
check "…and a rule on the command line replaces it" grep -qE "keeping ([2-9]) of \1 commits" <<<"$out"
printf 'keep-within = 2w\n' >>"$CONF"
out=$("$IPMD_BIN" gc --dry-run 2>&1 </dev/null)
check "keep-within from the file: every young commit kept" grep -qE "keeping ([2-9]) of \1 commits" <<<"$out"
printf 'store = %s\npassphrase-file = %s/passA\nverbose = yes\n' "$SA" "$TEST_DIR" >"$CONF"
out=$("$IPMD_BIN" fsck 2>&1 </dev/null)
check "fsck: verbose from the file lists every block" grep -q "^fsck: ok commit " <<<"$out"
out=$(IPMAILDIR_VERBOSE=no "$IPMD_BIN" fsck 2>&1 </dev/null)
check "…IPMAILDIR_VERBOSE=no turns it off for one run" bash -c '! grep -q "^fsck: ok commit " <<<"$1"' _ "$out"
printf 'store = %s\npassphrase-file = %s/passA\nthreads = 65\n' "$SA" "$TEST_DIR" >"$CONF"
mkdir -p "$TEST_DIR/md/cur" "$TEST_DIR/md/new" "$TEST_DIR/md/tmp"
"$IPMD_BIN" import "$TEST_DIR/md" >/dev/null 2>"$TEST_DIR/thr.err" </dev/null
is "$?" 2 "import: threads from the file is checked as --threads is"
check "…naming the range" grep -q "threads: must be a number of threads, 1 to 64" "$TEST_DIR/thr.err"
# local-cap-mb with the node also from the file: the mount starts (the
# node need not answer: writes wait in the outbox).
port=$(free_port)
printf 'store = %s\npassphrase-file = %s/passA\nnode = /ip4/127.0.0.1/tcp/%s\nlocal-cap-mb = 64\nupload-wait = 0\nsync = 0\n' \
	"$SA" "$TEST_DIR" "$port" >"$CONF"
"$IPMD_BIN" mount -f "$M" >/dev/null 2>"$TEST_DIR/cap.log" &
pid=$!; track_pid "$pid"
for _ in $(seq 100); do mountpoint -q "$M" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "local-cap-mb and node, both from the file: mounted" mountpoint -q "$M"
check "…no 'needs a node'" bash -c "! grep -q 'needs a node' '$TEST_DIR/cap.log'"
fusermount3 -u "$M" 2>/dev/null; for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
printf 'store = %s\npassphrase-file = %s/passA\nlocal-cap-mb = 64\n' "$SA" "$TEST_DIR" >"$CONF"
run_mount -f "$M" </dev/null
is "$rc" 1 "local-cap-mb without any node is refused"
says "…saying it needs a node" "needs a node"

# A config file named by IPMAILDIR_CONFIG must exist.
IPMAILDIR_CONFIG=$TEST_DIR/no-such.conf "$IPMD_BIN" log --store "$SA" 2>"$TEST_DIR/nf.err" </dev/null
is "$?" 2 "a missing \$IPMAILDIR_CONFIG is an error"
check "…naming it" grep -qF "$TEST_DIR/no-such.conf (\$IPMAILDIR_CONFIG): No such file" "$TEST_DIR/nf.err"
done_testing
