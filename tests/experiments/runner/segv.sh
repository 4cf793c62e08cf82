#!/bin/sh
# Dies of SIGSEGV, without leaving a core file behind.
ulimit -c 0
kill -SEGV $$
