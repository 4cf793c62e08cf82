#!/usr/bin/env python3
"""Rebuilds the seed corpora in tests/fuzz/corpus/<target>/ (small on purpose:
libFuzzer grows its own copy while it runs, see run.sh):
  fuzz_submit    the inputs of tests/submit-cases (those up to 4 KiB)
  fuzz_space     the "parameters" objects of those cases, plus a few extremes
  fuzz_protocol  messages as run.sh's format has them: a flag byte (bit 0: a
                 ROUTER routing-id frame first, bit 1: also through sockets),
                 then frames separated by FF FF
Run it after adding case folders: tests/fuzz/make_corpus.py"""
import json, os, shutil

here = os.path.dirname(os.path.abspath(__file__))
cases = os.path.join(here, "..", "submit-cases")
out = os.path.join(here, "corpus")


def reset(target):
    d = os.path.join(out, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def params_of(data):
    try:
        doc = json.loads(data)
        return doc.get("parameters") if isinstance(doc, dict) else None
    except (ValueError, RecursionError):
        t = data.strip()
        if t.startswith(b"/") and b"{" in t:
            try:
                return json.loads(t[t.index(b"{"):])
            except (ValueError, RecursionError):
                return None
    return None


submit, space = reset("fuzz_submit"), reset("fuzz_space")
seen = set()
for name in sorted(os.listdir(cases)):
    data = open(os.path.join(cases, name, "input"), "rb").read()
    if len(data) <= 4096:
        open(os.path.join(submit, name), "wb").write(data)
    p = params_of(data)
    if isinstance(p, dict):
        text = json.dumps(p, separators=(",", ":")).encode()
        if len(text) <= 4096 and text not in seen:
            seen.add(text)
            open(os.path.join(space, name), "wb").write(text)
extremes = {
    "real-range-tiny-step": b'{"a":{"range":[1152921504606846976,1152921504606847232,1e-12]}}',
    "real-range-past-2p53": b'{"a":{"range":[1152921504606076154,1152921504606847232,1e-12]}}',
    "real-range-negative": b'{"x":{"range":[1.5,-2.5,-0.25]},"y":[true,"s",3]}',
    "linspace-wide": b'{"z":{"linspace":[-1e308,1e308,7]}}',
    "int-range-extreme": b'{"i":{"range":[-9223372036854775808,9223372036854775807,4611686018427387904]}}',
}
for k, v in extremes.items():
    open(os.path.join(space, k), "wb").write(v)

proto = reset("fuzz_protocol")
S = b"\xff\xff"


def msg(flags, *frames):
    return bytes([flags]) + S.join(frames)


seeds = {
    "dealer-task": msg(0, b"clab/1", b"task", b'{"job":"j1","experiment":"/bin/true","params":{"a":1},"tag":"t","timeout":5}'),
    "router-hb": msg(1, b"eng1", b"clab/1", b"hb", b'{"host":"h","pid":1,"tasks":0,"held":["j1"]}'),
    "router-result": msg(1, b"eng1", b"clab/1", b"result", b'{"job":"j1","record":{"ok":true,"results":[{"x":0.1}],"metadata":{"epyc.experiment.status":true}}}'),
    "router-submit": msg(1, b"cli", b"clab/1", b"submit", b'{"tasks":[{"job":"a","experiment":"/bin/true","params":{"x":[1,2.5e-7,"\\u00e9"]}}]}'),
    "router-ack": msg(1, b"cli", b"clab/1", b"ack", b'{"jobs":["a","b"]}'),
    "dealer-welcome": msg(0, b"clab/1", b"welcome", b'{"epoch":"00ff","engines":[]}'),
    "dealer-results": msg(0, b"clab/1", b"results", b'{"results":[{"job":"a","record":{"ok":false,"metadata":{"epyc.experiment.exception":"exit status 3"}}}]}'),
    "sock-hello": msg(3, b"x", b"clab/1", b"hello", b"{}"),
    "sock-too-many": msg(2, b"clab/1", b"hello", *([b"{}"] * 8)),
    "sock-one-frame": msg(2, b"clab/1"),
    "bad-version": msg(0, b"clab/2", b"task", b"{}"),
    "bad-type": msg(0, b"clab/1", b"Task!", b"{}"),
    "bad-body": msg(0, b"clab/1", b"task", b"[1,2"),
    "empty-peer": msg(1, b"", b"clab/1", b"hb", b"{}"),
    "nested": msg(0, b"clab/1", b"task", b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}"),
    "reals": msg(0, b"clab/1", b"pong", b'{"a":0.1,"b":1e300,"c":-0.0,"d":5e-324,"e":123456789012345678}'),
    "controls": msg(0, b"clab/1", b"pong", b'{"s":"\\u0001\\u001f\\"\\\\\\/\\ud83d\\ude00"}'),
}
for k, v in seeds.items():
    open(os.path.join(proto, k), "wb").write(v)
for t in ("fuzz_submit", "fuzz_space", "fuzz_protocol"):
    print(t, len(os.listdir(os.path.join(out, t))))
