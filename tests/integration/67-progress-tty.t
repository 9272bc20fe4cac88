#!/usr/bin/env bash
# 67-progress-tty.t — fsck and gc show fs/cli/progress.h's bar on a terminal
# (a pty here) and keep their plain output otherwise.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail-env.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "tests ipmaildir's own commands"

S=$TEST_DIR/store M=$TEST_DIR/mnt
ipmd_init "$S" || bail "init"
ipmd_mount "$S" "$M" || bail "mount"
# Enough blocks that verifying them takes longer than one redraw (0.1 s).
head -c $((96 << 20)) /dev/urandom > "$M/new/big"
echo "Subject: small" > "$M/new/small"
ipmd_umount "$M" || bail "umount"

menv_pty 120 "$TEST_DIR/fsck.tty" "$IPMD_BIN" fsck --store "$S"
is "$?" 0 "fsck on a terminal: clean"
check "…draws a bar in place (\\r, erase to the end of the line)" \
	grep -qaP '\rfsck \d+ blocks .*blocks/s.*\e\[K' "$TEST_DIR/fsck.tty"
check "…and ends with the summary line" grep -qaP '(^|\e\[K)fsck: \d+ blocks, [0-9.]+ MiB in' "$TEST_DIR/fsck.tty"
check "…the report itself is there" grep -qa 'fsck: clean:' "$TEST_DIR/fsck.tty"
"$IPMD_BIN" fsck --store "$S" >"$TEST_DIR/fsck.out" 2>"$TEST_DIR/fsck.err"
is "$?" 0 "fsck into files: clean"
check "…no bar and no escape sequences" bash -c "! grep -qaP '[\\r\\e]' '$TEST_DIR/fsck.out' '$TEST_DIR/fsck.err'"
check "…the report on stdout" grep -q '^fsck: clean:' "$TEST_DIR/fsck.out"

# gc: the sweep (blocks of dropped commits) and its summary on a terminal.
ipmd_mount "$S" "$M" || bail "remount"
rm "$M/new/big"
ipmd_umount "$M" || bail "umount"
menv_pty 120 "$TEST_DIR/gc.tty" "$IPMD_BIN" gc --store "$S" --keep-last 1
is "$?" 0 "gc on a terminal"
# The bar is drawn at most 10 times a second, so not at all by a gc that
# ends within the first tenth (seen under ASan on a quiet machine).
gc_s=$(grep -aoP '(^|\e\[K)gc: \d+ blocks, [0-9.]+ MiB in \K[0-9.]+' "$TEST_DIR/gc.tty" | tail -n 1)
if awk -v s="${gc_s:-1}" 'BEGIN { exit !(s < 0.15) }'; then
	ok "…ended before the first redraw ($gc_s s): no bar needed"
else
	check "…draws the bar (${gc_s:-?} s)" grep -qaP '\rgc \[[#.]+\] \d+/\d+ blocks.*\e\[K' "$TEST_DIR/gc.tty"
fi
check "…and the summary" grep -qaP '(^|\e\[K)gc: \d+ blocks, [0-9.]+ MiB in' "$TEST_DIR/gc.tty"
check "…and what it freed" grep -qaP '^gc: freed \d+ blocks' "$TEST_DIR/gc.tty"
"$IPMD_BIN" fsck --store "$S" >/dev/null 2>&1
is "$?" 0 "fsck after gc: clean"
done_testing
