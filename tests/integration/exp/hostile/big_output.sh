#!/bin/sh
# Hostile experiment: 17 MiB of stdout (the limit is 16 MiB), inside what
# would be a valid JSON object if it were allowed to finish.
read -r p
printf '{"x": "'
head -c 17825792 /dev/zero | tr '\0' x
printf '"}\n'
