#!/usr/bin/env python3
"""The house rules that a reader relies on, checked on the real tree.

- no C source file over MAX_FILE lines, no function over MAX_FUNC lines
  (from the line that opens its body's signature to its closing brace);
- no include cycle between modules (a module is a .c/.h pair, named by its
  base name, with private `NAME_i.h` headers and `NAME_*.c` parts counted
  as the module NAME);
- no call cycle between modules: which module defines each external symbol
  and which module refers to it is read with `nm` from the objects of a
  real build (CLAB_BUILD), so a cycle through a function pointer table is
  not one, but any direct call is;
- rooms: every file of backend/ is in the room of its program (common/,
  controller/, engine/), and no two types share a name anywhere in fs/ and
  backend/ (a reader who greps for a type finds one);
- the walk reaches every room: at least MIN_FILES files are checked.

Usage: check_layout.py SRC [BUILD]. Exit 1 with one line per breach.
"""
import os
import re
import subprocess
import sys

MAX_FILE = 700
MAX_FUNC = 80
DIRS = ("fs", "backend")
# Before the rooms the walk saw 84 files of fs/ and backend/'s top level;
# it must see at least as many now that it walks their subfolders too.
MIN_FILES = 84
BACKEND_ROOMS = ("common", "controller", "engine")

# A function definition starts at column 0 with a type and a name followed
# by "(", and its body's brace is the first "{" at column 0 after it.
FUNC_START = re.compile(r"^(?!static\s+const\b)[A-Za-z_][\w\s\*]*?\b([A-Za-z_]\w*)\s*\(")


def sources(src):
    for d in DIRS:
        for root, dirs, names in os.walk(os.path.join(src, d)):
            dirs.sort()
            rel = os.path.relpath(root, src)
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    yield os.path.join(rel, name)


def rooms(files):
    """A file of backend/ outside the room of a program."""
    out = []
    for path in files:
        parts = path.split(os.sep)
        if parts[0] == "backend" and (len(parts) < 3 or parts[1] not in BACKEND_ROOMS):
            out.append(f"{path}: not in a room of backend/ ({', '.join(BACKEND_ROOMS)})")
    return out


TYPEDEF = re.compile(r"^}\s*([A-Za-z_]\w*)\s*;", re.M)
TYPEDEF_ONE = re.compile(r"^typedef\s+[^;{(]*?\b([A-Za-z_]\w*)\s*;", re.M)


def type_names(src, files):
    """Two type definitions with one name: confusing even in two programs."""
    where = {}
    for path in files:
        with open(os.path.join(src, path), encoding="utf-8") as f:
            text = f.read()
        for name in TYPEDEF.findall(text) + TYPEDEF_ONE.findall(text):
            where.setdefault(name, []).append(path)
    return [f"type {name} is defined in {' and '.join(paths)}"
            for name, paths in sorted(where.items()) if len(paths) > 1]


def module_of(path, modules):
    """fs/notebook_read.c and fs/notebook_i.h belong to fs/notebook."""
    d, name = os.path.split(path)
    base = os.path.splitext(name)[0]
    if base.endswith("_i"):
        base = base[:-2]
    while base not in modules.get(d, ()) and "_" in base:
        base = base.rsplit("_", 1)[0]
    return f"{d}/{base}"


def long_functions(path, text):
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = FUNC_START.match(lines[i])
        if m and not lines[i].rstrip().endswith(";"):
            # find the body: first line that is exactly "{" or ends the
            # signature with "{" before a ";" ends a declaration
            j = i
            while j < len(lines) and not lines[j].startswith("{") \
                    and not lines[j].rstrip().endswith("{") \
                    and not lines[j].rstrip().endswith(";"):
                j += 1
            if j < len(lines) and not lines[j].rstrip().endswith(";"):
                k = j + 1
                while k < len(lines) and not lines[k].startswith("}"):
                    k += 1
                size = k - i + 1
                if size > MAX_FUNC and "=" not in lines[i].split("(")[0]:
                    out.append(f"{path}:{i + 1}: function {m.group(1)} is {size} lines "
                               f"(at most {MAX_FUNC})")
                i = k + 1
                continue
        i += 1
    return out


def find_cycles(graph):
    """Every strongly connected component with more than one module."""
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def include_graph(src, files, modules):
    """Headers are found by name: each room is on the include path."""
    graph = {}
    inc = re.compile(r'^#include\s+"([^"]+)"', re.M)
    headers = {os.path.basename(p): p for p in files if p.endswith(".h")}
    for path in files:
        with open(os.path.join(src, path), encoding="utf-8") as f:
            text = f.read()
        me = module_of(path, modules)
        for name in inc.findall(text):
            if name in headers:
                other = module_of(headers[name], modules)
                if other != me:
                    graph.setdefault(me, set()).add(other)
    return graph


def call_graph(build, modules):
    """Module -> modules whose symbols its objects use, from nm."""
    defined, used = {}, {}
    # An object is BUILD/DIR/CMakeFiles/TARGET.dir/REL/NAME.c.o for the
    # source DIR/REL/NAME.c (DIR holding the target's CMakeLists.txt).
    obj = re.compile(r"^((?:fs|backend)(?:/[^/]+)*)/CMakeFiles/[^/]+\.dir(/.*)?$")
    for root, _, names in os.walk(build):
        if "CMakeFiles" not in root:
            continue
        m = obj.match(os.path.relpath(root, build))
        if not m:
            continue
        for name in names:
            if not name.endswith(".c.o"):
                continue
            path = f"{m.group(1)}{m.group(2) or ''}/{name[:-4]}"
            mod = module_of(path, modules)
            out = subprocess.run(["nm", os.path.join(root, name)], capture_output=True,
                                 text=True, check=True).stdout
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[1] in "TDBR":
                    defined[parts[2]] = mod
                elif len(parts) == 2 and parts[0] == "U":
                    used.setdefault(mod, set()).add(parts[1])
    graph = {}
    for mod, syms in used.items():
        for s in syms:
            other = defined.get(s)
            if other and other != mod:
                graph.setdefault(mod, set()).add(other)
    return graph


def main():
    src = sys.argv[1]
    build = sys.argv[2] if len(sys.argv) > 2 else None
    files = list(sources(src))
    modules = {}
    for path in files:
        d, name = os.path.split(path)
        if name.endswith("_i.h"):
            modules.setdefault(d, set()).add(name[:-4])
        elif name.endswith(".h"):
            modules.setdefault(d, set()).add(name[:-2])
        elif name.endswith(".c"):
            base = name[:-2]
            if not any(base.startswith(h + "_") for h in
                       [n[:-4] if n.endswith("_i.h") else n[:-2]
                        for n in os.listdir(os.path.join(src, d)) if n.endswith(".h")]):
                modules.setdefault(d, set()).add(base)
    problems = []
    for path in files:
        with open(os.path.join(src, path), encoding="utf-8") as f:
            text = f.read()
        n = text.count("\n")
        if path.endswith(".c") and n > MAX_FILE:
            problems.append(f"{path}: {n} lines (at most {MAX_FILE})")
        problems += long_functions(path, text)
    problems += rooms(files) + type_names(src, files)
    if len(files) < MIN_FILES:
        problems.append(f"only {len(files)} files found in {', '.join(DIRS)} "
                        f"(at least {MIN_FILES}): does the walk reach every room?")
    for comp in find_cycles(include_graph(src, files, modules)):
        problems.append("include cycle between modules: " + " <-> ".join(comp))
    if build:
        for comp in find_cycles(call_graph(build, modules)):
            problems.append("call cycle between modules: " + " <-> ".join(comp))
    for p in problems:
        print(p)
    print(f"layout: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
