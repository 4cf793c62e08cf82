#!/bin/sh
# Hostile experiment: 20 MiB of stderr, then a proper result: only the
# tail of stderr is kept, and the result stands.
read -r p
head -c 20971520 /dev/zero | tr '\0' e >&2
echo '{"quiet": true}'
