#!/bin/sh
# Hostile experiment: closes its stdout and runs on; only the timeout ends it.
read -r p
exec >&-
sleep 120
