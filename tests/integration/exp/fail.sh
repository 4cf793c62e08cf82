#!/bin/sh
# Test experiment: fails with exit status 3 when a is 2, else succeeds.
read -r p
case "$p" in
*'"a":2'*) echo "bad a" >&2; exit 3 ;;
esac
echo '{"ok": true}'
