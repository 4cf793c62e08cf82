#!/bin/sh
# Hostile experiment: a JSON object whose string holds bytes that are not UTF-8.
read -r p
printf '{"x": "\377\376\300\200"}\n'
