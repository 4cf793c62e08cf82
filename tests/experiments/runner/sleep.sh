#!/bin/sh
# Runs for 30 s in a child; that child's pid goes to stderr so that the test
# can see it die with the process group.
sleep 30 &
echo $! >&2
wait
