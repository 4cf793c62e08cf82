#!/bin/sh
# Hostile experiment: leaves 50 sleepers behind (bounded: they would end on
# their own after 300 s) and fails. The runner must kill them with the
# experiment's process group and answer at once. Each sleeper's command
# line holds the "marker" parameter, so the test can look for survivors.
read -r p
marker=$(printf '%s' "$p" | sed 's/.*"marker":"\([^"]*\)".*/\1/')
i=0
while [ $i -lt 50 ]; do
    sh -c 'sleep 300; :' "clab-sleeper-$marker" &
    i=$((i + 1))
done
echo "left 50 sleepers" >&2
exit 3
