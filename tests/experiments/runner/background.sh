#!/bin/sh
# Succeeds at once but leaves a child that holds stdout and stderr open.
sleep 100 &
echo "{\"pid\": $!}"
