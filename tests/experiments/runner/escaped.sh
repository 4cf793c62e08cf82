#!/bin/sh
# Leaves a child in a session of its own, out of reach of the group kill,
# holding stdout and stderr open.
setsid sleep 5 &
echo "{\"pid\": $!}"
# Let setsid run before the group is killed.
sleep 0.3
