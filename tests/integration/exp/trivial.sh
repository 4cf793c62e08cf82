#!/bin/sh
# Test experiment: the least an experiment can do.
read -r p
echo "{\"p\": $p}"
