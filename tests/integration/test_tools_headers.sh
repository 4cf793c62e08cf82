#!/usr/bin/env bash
# Table headers are unique: a result named like a parameter or a metadata
# key is written results.NAME, so pandas and R see every name once and
# each column holds what its name says. Names that are themselves the
# renamed names (a result results.k beside a result k in a sweep over k)
# get the prefix again, as often as it takes (issue 21).
. "$(dirname "$0")/lib.sh"

mount_lab --engines 2
submit "{\"experiment\": \"$EXP/collide.py\", \"tag\": \"c\",
         \"parameters\": {\"beta\": [0.5, 1.5], \"N\": 10}}"
wait_done c 60
csv=$MNT/results/c/results.csv
tsv=$MNT/results/c/results.tsv

header=$(head -n 1 "$csv")
assert_eq "$(echo "$header" | tr , '\n' | wc -l)" "$(echo "$header" | tr , '\n' | sort -u | wc -l)" \
    "distinct names in the csv header: $header"
assert_eq "N,beta,results.N,results.beta,results.clab.job,results.epyc.experiment.status,y" \
    "$(echo "$header" | cut -d, -f1-7)" "csv header's parameter and result columns"
assert_eq "$(head -n 1 "$csv" | tr , '\t')" "$(head -n 1 "$tsv")" "tsv header = csv header"

# Debian's python3 (a pyenv python3 earlier on PATH lacks python3-pandas).
/usr/bin/python3 - "$csv" <<'PY' || fail "pandas"
import sys
import pandas as pd
d = pd.read_csv(sys.argv[1])
assert list(d.columns) == list(dict.fromkeys(d.columns)), list(d.columns)
assert not any(c.endswith(".1") for c in d.columns), list(d.columns)
d = d.sort_values("beta")
assert list(d["beta"]) == [0.5, 1.5]
assert list(d["results.beta"]) == [1.0, 3.0]
assert list(d["results.N"]) == [11, 11] and list(d["N"]) == [10, 10]
assert list(d["results.clab.job"]) == ["mine", "mine"]
assert all(j != "mine" for j in d["clab.job"])
assert list(d["results.epyc.experiment.status"]) == ["also mine"] * 2
assert list(d["epyc.experiment.status"]) == [True, True]
PY

Rscript -e '
d <- read.csv(commandArgs(TRUE)[1], check.names = FALSE)
stopifnot(!any(duplicated(names(d))))
d <- d[order(d$beta), ]
stopifnot(all(d[["results.beta"]] == c(1, 3)), all(d[["results.N"]] == c(11, 11)))
stopifnot(all(d[["results.clab.job"]] == "mine"), all(d[["clab.job"]] != "mine"))
d2 <- read.csv(commandArgs(TRUE)[1])
stopifnot(!any(duplicated(names(d2))))
' "$csv" || fail "R"

# Issue 21: results k, results.k, results.results.k and metadata.k, and
# metadata k, metadata.k and results.k, in a sweep over k and results.k.
submit "{\"experiment\": \"$EXP/collide_levels.py\", \"tag\": \"lv\",
         \"parameters\": {\"k\": [1, 2], \"results.k\": 10}}"
wait_done lv 60
csv=$MNT/results/lv/results.csv
assert_eq 0 "$(key "$MNT/results/lv/status" failed)" "failed points of lv"
/usr/bin/python3 - "$csv" "$MNT/results/lv/results.tsv" <<'PY' || fail "pandas and csv on lv"
import csv, sys
import pandas as pd
want = ["k", "results.k",
        "results.results.results.k", "results.metadata.k",
        "results.results.results.results.k", "results.results.k"]
with open(sys.argv[1], newline="") as f:
    header = next(csv.reader(f))
assert header[:6] == want, header
assert len(header) == len(set(header)), header
md = header[6:]
for name in ("metadata.metadata.k", "metadata.k", "metadata.results.k"):
    assert name in md, (name, md)
assert "k" not in md and "results.k" not in md, md
with open(sys.argv[2]) as f:
    assert f.readline().rstrip("\n").split("\t") == header
d = pd.read_csv(sys.argv[1])
assert list(d.columns) == header, list(d.columns)
d = d.sort_values("k")
assert list(d["k"]) == [1, 2] and list(d["results.k"]) == [10, 10]
assert list(d["results.results.results.k"]) == [100, 200]
assert list(d["results.results.results.results.k"]) == [200, 400]
assert list(d["results.results.k"]) == [300, 600]
assert list(d["results.metadata.k"]) == [400, 800]
assert list(d["metadata.metadata.k"]) == ["m1", "m2"]
assert list(d["metadata.k"]) == ["mm1", "mm2"]
assert list(d["metadata.results.k"]) == ["mr1", "mr2"]
PY
Rscript -e '
d <- read.csv(commandArgs(TRUE)[1], check.names = FALSE)
stopifnot(!any(duplicated(names(d))))
d <- d[order(d$k), ]
stopifnot(all(d[["results.results.k"]] == c(300, 600)), all(d[["results.k"]] == c(10, 10)))
stopifnot(all(d[["metadata.metadata.k"]] == c("m1", "m2")))
d2 <- read.csv(commandArgs(TRUE)[1])
stopifnot(!any(duplicated(names(d2))))
' "$csv" || fail "R on lv"
log "PASS test_tools_headers"
