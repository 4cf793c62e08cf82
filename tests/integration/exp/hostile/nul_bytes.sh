#!/bin/sh
# Hostile experiment: NUL bytes inside and after an otherwise valid object.
read -r p
printf '{"x": "a\000b"}\000\000\n'
