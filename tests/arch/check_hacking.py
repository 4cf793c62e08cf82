#!/usr/bin/env python3
"""HACKING.md's life of a job must name real code.

Every step of the chain in the section "The life of a job" is a list item
that names a function and the file that defines it:

    1. `clab_inbox_write()` in `fs/inbox.c`: ...

This checks that each named file exists and defines the function (a
definition starts at column 0 and its body follows), and that the chain has
at least MIN_STEPS steps, so that renaming or moving a function without
updating the map fails the suite.

Usage: check_hacking.py SRC
"""
import os
import re
import sys

MIN_STEPS = 12
STEP = re.compile(r"^\s*\d+\.\s+`([A-Za-z_]\w*)\(\)`\s+in\s+`([\w./-]+)`")


def chain_steps(text):
    m = re.search(r"^## The life of a job\s*$(.*?)(?=^## )", text, re.M | re.S)
    if not m:
        return None
    return [STEP.match(line).groups() for line in m.group(1).splitlines()
            if STEP.match(line)]


def defines(path, func):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    pat = re.compile(r"^[A-Za-z_][\w \t\*]*\b" + re.escape(func) +
                     r"\s*\([^;{]*\)\s*\{", re.M | re.S)
    return pat.search(text) is not None


def main():
    src = sys.argv[1]
    with open(os.path.join(src, "HACKING.md"), encoding="utf-8") as f:
        steps = chain_steps(f.read())
    if steps is None:
        print("HACKING.md: no section '## The life of a job'")
        return 1
    problems = []
    for func, path in steps:
        full = os.path.join(src, path)
        if not os.path.isfile(full):
            problems.append(f"HACKING.md: {func}() is said to be in {path}, which does not exist")
        elif not defines(full, func):
            problems.append(f"HACKING.md: {path} does not define {func}()")
    if len(steps) < MIN_STEPS:
        problems.append(f"HACKING.md: the chain has {len(steps)} steps (at least {MIN_STEPS})")
    for p in problems:
        print(p)
    print(f"hacking: {len(steps)} steps checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
