"""What a crash or fault script expects of the files below a mount
(stdlib only): the checkers those scripts write import it (lib.sh's
ipmd_py runs them with this folder on the module path).

    import expect_files as ef
    bad = ef.check(mnt, {"new/d1": body,             # exactly these bytes
                         "dovecot-uidlist.tmp": ef.ABSENT,
                         "x.lock": ef.one_of(ef.ABSENT, b"", whole)})
    sys.exit(ef.report(bad))

A want maps a path below the root to what it must be:
  - bytes: the file reads as exactly these;
  - ABSENT: there is no such file;
  - a callable: given the bytes read (None when there is no such file),
    it returns None when they will do, else what is wrong (a str).
check returns "path: what is wrong" for each path that is not as wanted,
in the want's order; empty when all is.
"""
import os
import sys

ABSENT = None


def fill(line, size):
    """line (bytes) repeated and cut to size bytes: a test file's body."""
    return (line * (size // len(line) + 1))[:size]


def differ(got, want):
    """How got differs from want (both bytes), in a few words."""
    n = min(len(got), len(want))
    at = next((i for i in range(n) if got[i] != want[i]), n)
    return "%d bytes, want %d; first difference at byte %d" % (
        len(got), len(want), at)


def one_of(*allowed):
    """A want: the file is one of allowed (bytes, or ABSENT)."""
    def is_one(got):
        if got in allowed:
            return None
        if got is None:
            return "missing"
        return "%d bytes, none of the %d allowed contents" % (
            len(got), len(allowed))
    return is_one


def _compare(got, want):
    if got == want:
        return None
    if want is ABSENT:
        return "is still there"
    if got is None:
        return "missing"
    return differ(got, want)


def check(root, want):
    """The list of what is wrong with the files below root (see above)."""
    bad = []
    for name, expect in want.items():
        try:
            with open(os.path.join(root, name), "rb") as f:
                got = f.read()
        except FileNotFoundError:
            got = None
        except OSError as e:
            bad.append("%s: %s" % (name, e))
            continue
        problem = expect(got) if callable(expect) else _compare(got, expect)
        if problem:
            bad.append("%s: %s" % (name, problem))
    return bad


def report(bad, most=20, out=sys.stdout):
    """The first most problems as TAP comments on out; the exit status a
    checker ends with: 1 when there is any, else 0."""
    for b in bad[:most]:
        print("# " + b, file=out)
    return 1 if bad else 0
