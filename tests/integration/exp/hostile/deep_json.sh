#!/bin/sh
# Hostile experiment: 100000 nested arrays, far past any parser's depth limit.
read -r p
printf '{"x": '
head -c 100000 /dev/zero | tr '\0' '['
head -c 100000 /dev/zero | tr '\0' ']'
printf '}\n'
