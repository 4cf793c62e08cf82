#!/bin/sh
# Reports the signal mask and the ignored signals it started with (hex).
blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' /proc/$$/status)
ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$$/status)
printf '{"blocked": "%s", "ignored": "%s"}\n' "$blk" "$ign"
