#!/usr/bin/env bash
# Table headers are unique: a result named like a parameter or a metadata
# key is written results.NAME, so pandas and R see every name once and
# each column holds what its name says.
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
log "PASS test_tools_headers"
