#!/bin/sh
# Hostile experiment: 20 MiB of stderr ending in a last line, then a
# failure: the traceback is only the tail of stderr, that last line in it.
read -r p
head -c 20971520 /dev/zero | tr '\0' e >&2
echo >&2
echo "the last line" >&2
exit 3
