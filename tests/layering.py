#!/usr/bin/env python3
"""tests/layering.py — the room map's rule, checked: includes run one way.

    tests/layering.py [--root DIR]      exit 0: clean; 1: problems listed

Every .c/.h under fs/, cache/, ipfs/, crypto/ and util/ (tests/ and bench/
may include anything) is read for `#include "path"`; the rooms and the
one direction an include may run (docs/ARCHITECTURE.md, the READMEs of
the rooms):

    fs/cli → fs/tools | fs/fuse → fs/mount → fs/store → fs/model
           → cache → ipfs | crypto → util

A room may include rooms to its right, never to its left or beside it
(fs/tools and fs/fuse are peers, so are ipfs and crypto).  Reported:
  * an include against the direction (or between peers);
  * a source file outside every room (directly in fs/, or in an fs/
    folder that is no room): place it, or add the room here;
  * a cycle of modules (a module is x.c + x.h + a private x_internal.h;
    x includes y when one of its files includes one of y's), whether
    inside a room or across rooms:
    with the direction kept, a cycle can only be inside one room, and
    this names it.
Includes are taken as written, relative to the top (-I.); a `#include`
inside #if 0 or a comment still counts, on purpose: the rule is about
the text a reader sees.
"""
import argparse
import os
import re
import sys

# Rank: an include must go to a strictly lower rank.
RANK = {
    'fs/cli': 7,
    'fs/tools': 6, 'fs/fuse': 6,
    'fs/mount': 5,
    'fs/store': 4,
    'fs/model': 3,
    'cache': 2,
    'ipfs': 1, 'crypto': 1,
    'util': 0,
}
TOPS = ('fs', 'cache', 'ipfs', 'crypto', 'util')
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)


def room_of(path):
    """The room of a path relative to the top, or None (not in one)."""
    parts = path.split('/')
    if parts[0] == 'fs':
        r = '/'.join(parts[:2]) if len(parts) > 2 else None
    else:
        r = parts[0]
    return r if r in RANK else None


def sources(root):
    for top in TOPS:
        for d, subdirs, names in os.walk(os.path.join(root, top)):
            subdirs.sort()
            for n in sorted(names):
                if n.endswith(('.c', '.h')):
                    yield os.path.relpath(os.path.join(d, n), root)


def sccs(graph):
    """Strongly connected components with more than one module (Tarjan,
    iterative: no recursion limit to meet)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w == v:
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def module_of(path):
    """x.c, x.h and a private header x_internal.h are one module."""
    mod = path.rsplit('.', 1)[0]
    return mod[:-len('_internal')] if mod.endswith('_internal') else mod


def check(root):
    problems, graph = [], {}
    nfiles = nincludes = 0
    for f in sources(root):
        nfiles += 1
        r = room_of(f)
        if r is None:
            problems.append(f'{f}: not in a room (rooms: '
                            f'{", ".join(sorted(RANK))})')
            continue
        with open(os.path.join(root, f), errors='replace') as fh:
            text = fh.read()
        mod = module_of(f)
        graph.setdefault(mod, set())
        for m in INCLUDE.finditer(text):
            h = m.group(1)
            if h.split('/')[0] not in TOPS:
                continue  # a system or library header in quotes
            nincludes += 1
            line = text.count('\n', 0, m.start()) + 1
            rh = room_of(h)
            graph[mod].add(module_of(h))
            if rh is None:
                problems.append(f'{f}:{line}: includes {h}, which is in '
                                f'no room')
            elif rh != r and RANK[rh] >= RANK[r]:
                problems.append(f'{f}:{line}: {r} may not include {h} '
                                f'({rh} is ' +
                                ('beside it' if RANK[rh] == RANK[r]
                                 else 'above it') + ')')
    cycles = sccs(graph)
    for c in cycles:
        problems.append('module cycle: ' + ' <-> '.join(c))
    return nfiles, nincludes, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--root', default=os.path.dirname(here),
                    help='top of the checkout (default: this one)')
    a = ap.parse_args()
    nfiles, nincludes, problems = check(a.root)
    for p in problems:
        print(p)
    print(f'layering: {nfiles} files, {nincludes} project includes, '
          f'{len(problems)} problem(s)')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
