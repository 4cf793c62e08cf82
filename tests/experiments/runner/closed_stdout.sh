#!/bin/sh
# Closes stdout and stderr, then keeps running: only the timeout ends it.
exec >&- 2>&-
sleep 30
