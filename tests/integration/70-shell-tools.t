#!/usr/bin/env bash
# 70-shell-tools.t — the mailbox owner's shell tools on the mount: ls -l,
# find, grep -r, du, tar c/x, cp -a and rsync -a, into and out of the mount,
# with a tree of generated messages in Maildir++ folders.  Names, sizes,
# modes, mtimes (stat --format) and contents (sha256sum) must survive
# every copy.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"

menv_require tar rsync sha256sum setpriv python3
MNT=$TEST_DIR/mnt
SRC=$TEST_DIR/src
OUT=$TEST_DIR/out

menv_user
menv_mount "$MNT"

# The source tree: a Maildir with two folders, flags in names, mtimes spread
# over the past years, a few large messages and some odd but legal files.
for d in "" .Archive .Lists.dev; do mkdir -p "$SRC/$d/cur" "$SRC/$d/new" "$SRC/$d/tmp"; done
touch "$SRC/.Archive/maildirfolder" "$SRC/.Lists.dev/maildirfolder"
menv_gen_many "$TEST_DIR/gen" sh 57 small
for i in 1 2 3; do menv_gen "sh-big-$i" $((900000 * i)) >"$TEST_DIR/gen/sh-big-$i.eml"; done
i=0
for f in "$TEST_DIR"/gen/*.eml; do
	case $((i % 4)) in
	0) dst="$SRC/new/$((1600000000 + i)).M${i}P$i.host" ;;
	1) dst="$SRC/cur/$((1600000000 + i)).M${i}P$i.host:2,S" ;;
	2) dst="$SRC/.Archive/cur/$((1600000000 + i)).M${i}P$i.host:2,FS" ;;
	3) dst="$SRC/.Lists.dev/cur/$((1600000000 + i)).M${i}P$i.host:2," ;;
	esac
	cp "$f" "$dst"
	touch -d "@$((1500000000 + i * 86400 * 17))" "$dst"
	i=$((i + 1))
done
printf '3 V1600000000 N61\n' >"$SRC/dovecot-uidlist"
: >"$SRC/.Archive/empty file"
chmod 600 "$SRC/cur/"*
chown -R "$MAIL_UID:$MAIL_GID" "$SRC"
mkdir -p "$OUT"
chown "$MAIL_UID:$MAIL_GID" "$OUT"
files=$(find "$SRC" -type f | wc -l)

# manifest DIR — "name size mtime mode" and sha256 of every file under DIR.
manifest() {
	(cd "$1" && find . -type f ! -path './.notmuch/*' -print0 | LC_ALL=C sort -z |
		xargs -0 -r stat --format '%n %s %Y %a' &&
		find . -type f ! -path './.notmuch/*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
dirs() { (cd "$1" && find . -type d | LC_ALL=C sort); }
manifest "$SRC" >"$TEST_DIR/src.manifest"
# same_tree NAME DIR — DIR holds exactly the source tree.
same_tree() {
	manifest "$2" >"$TEST_DIR/m.manifest"
	if diff "$TEST_DIR/src.manifest" "$TEST_DIR/m.manifest" >"$TEST_DIR/m.diff"; then
		ok "$1: names, sizes, mtimes, modes and sha256 of $files files"
	else
		not_ok "$1: names, sizes, mtimes, modes and sha256 of $files files"
		head -n 20 "$TEST_DIR/m.diff" | while IFS= read -r l; do diag "$l"; done
	fi
	is "$(dirs "$2" | tr '\n' ' ')" "$(dirs "$SRC" | tr '\n' ' ')" "$1: the same directories"
}
u() { menv_as_user "$@"; }

# ---------------------------------------------------------------- cp -a in
check "cp -a into the mount" u cp -a "$SRC/." "$MNT/"
same_tree "cp -a in" "$MNT"

# ---------------------------------------------------------------- ls, find, grep, du
is "$(u ls -1 "$MNT/cur" | LC_ALL=C sort | tr '\n' ' ')" "$(ls -1 "$SRC/cur" | LC_ALL=C sort | tr '\n' ' ')" "ls lists cur/"
ls_l() { u ls -l --time-style=+%s "$1" | awk 'NR > 1 { print $1, $5, $6, $7 }' | LC_ALL=C sort -k4; }
is "$(ls_l "$MNT/.Archive/cur" | md5sum)" "$(ls_l "$SRC/.Archive/cur" | md5sum)" "ls -l shows the same modes, sizes, mtimes"
is "$(u find "$MNT" -type f -name '*:2,*S*' | wc -l)" "$(find "$SRC" -type f -name '*:2,*S*' | wc -l)" "find -name '*:2,*S*' finds the seen messages"
is "$(u find "$MNT" -type f -size +800k | wc -l)" 3 "find -size +800k finds the 3 large messages"
is "$(u find "$MNT" -type f -newermt @1700000000 | wc -l)" "$(find "$SRC" -type f -newermt @1700000000 | wc -l)" "find -newermt sees the preserved mtimes"
is "$(u find "$MNT" -empty -type f | wc -l)" "$(find "$SRC" -empty -type f | wc -l)" "find -empty finds the empty files"
mid=$(grep -m1 '^Message-ID:' "$TEST_DIR/gen/sh-00010.eml")
is "$(u grep -rlF -- "$mid" "$MNT" | wc -l)" 1 "grep -rl finds a Message-ID in one file"
is "$(u grep -rh '^From: ' "$MNT" | wc -l)" "$(grep -rh '^From: ' "$SRC" | wc -l)" "grep -r counts every From: line"
# A line from deep inside the largest message (past the first chunks).
deep=$(awk 'NR == 30000' "$TEST_DIR/gen/sh-big-3.eml")
is "$(u grep -rlF -- "$deep" "$MNT" | wc -l)" 1 "grep -r finds a line 2 MB into a message"
is "$(u du -ab "$MNT" | awk '$2 ~ /:2,/ { s += $1 } END { print s }')" \
	"$(du -ab "$SRC" | awk '$2 ~ /:2,/ { s += $1 } END { print s }')" "du -ab adds up the same apparent sizes"
zero=$(find "$MNT" -type f -size +0 -printf '%b %p\n' | awk '$1 == 0' | wc -l)
is "$zero" 0 "no non-empty file reports st_blocks 0 (du, tar --sparse would skip it)"
check "du -sk counts at least the data" test "$(du -sk "$MNT" | cut -f1)" -ge "$(($(du -sk --apparent-size "$SRC" | cut -f1) / 2))"

# ---------------------------------------------------------------- tar
check "tar c of the mount" u tar -C "$MNT" -cf "$OUT/mnt.tar" .
mkdir -p "$OUT/untar" && chown "$MAIL_UID:$MAIL_GID" "$OUT/untar"
check "tar x of that archive outside" u tar -C "$OUT/untar" -xf "$OUT/mnt.tar"
same_tree "tar out" "$OUT/untar"
check "tar --sparse c of the mount" u tar -C "$MNT" --sparse -cf "$OUT/sparse.tar" .
mkdir -p "$OUT/unsparse" && chown "$MAIL_UID:$MAIL_GID" "$OUT/unsparse"
u tar -C "$OUT/unsparse" -xf "$OUT/sparse.tar"
same_tree "tar --sparse out" "$OUT/unsparse"
check "tar c of the source" u tar -C "$SRC" -cf "$OUT/src.tar" .
u mkdir "$MNT/.Tarred"
check "tar x into the mount" u tar -C "$MNT/.Tarred" -xf "$OUT/src.tar"
same_tree "tar in" "$MNT/.Tarred"

# ---------------------------------------------------------------- cp -a out
check "cp -a out of the mount" u cp -a "$MNT/.Tarred" "$OUT/cpout"
same_tree "cp -a out" "$OUT/cpout"

# ---------------------------------------------------------------- rsync
check "rsync -a into the mount" u rsync -a "$SRC/" "$MNT/.Rsynced/"
same_tree "rsync in" "$MNT/.Rsynced"
is "$(u rsync -ai "$SRC/" "$MNT/.Rsynced/")" "" "a second rsync -a finds nothing to do (sizes and mtimes kept)"
is "$(u rsync -ainc "$SRC/" "$MNT/.Rsynced/")" "" "rsync --checksum finds no difference"
check "rsync -a out of the mount" u rsync -a "$MNT/.Rsynced/" "$OUT/rsyncout/"
same_tree "rsync out" "$OUT/rsyncout"
# Changes go back in: rsync's delta transfer (temp file + rename) and
# --inplace (writes at offsets into the existing file).
big=$(find "$SRC/.Archive/cur" "$SRC/cur" "$SRC/new" "$SRC/.Lists.dev/cur" -type f -size +800k | head -n 1)
rel=${big#"$SRC"/}
overwrite() {  # overwrite FILE OFFSET TEXT — as the user, in place
	u "$MENV_PY" -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); f.write(sys.argv[3].encode())' "$@"
}
u sh -c 'printf "appended line\n" >> "$1"' _ "$big"
overwrite "$big" 500000 OVERWRITTEN
touch -d @1650000000 "$big"
check "rsync -a sends a changed message" u rsync -a "$SRC/" "$MNT/.Rsynced/"
check "the changed message is byte-exact" cmp -s "$big" "$MNT/.Rsynced/$rel"
overwrite "$big" 1000 "CHANGED AGAIN"
overwrite "$big" 700000 "AND HERE"
touch -d @1660000000 "$big"
check "rsync --inplace writes the changes into the existing file" \
	u rsync -a --inplace --no-whole-file "$SRC/" "$MNT/.Rsynced/"
check "the message changed in place is byte-exact" cmp -s "$big" "$MNT/.Rsynced/$rel"
manifest "$SRC" >"$TEST_DIR/src.manifest"
same_tree "rsync update" "$MNT/.Rsynced"
check "rm -r of a folder" u rm -r "$MNT/.Rsynced"
check "the folder is gone" test ! -e "$MNT/.Rsynced"
done_testing
