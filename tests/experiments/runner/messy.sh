#!/bin/sh
# Leaves a scratch directory that is hard to remove: nested, read-only and
# unreadable directories, a read-only file, symlinks (one looping), a fifo.
set -e
mkdir -p a/b/c d e/f
echo x >a/b/c/file
echo y >d/file
chmod 0444 a/b/c/file
chmod 0500 a/b/c
chmod 0000 a/b
chmod 0300 d
chmod 0000 e/f
chmod 0100 e
ln -s /etc/passwd link
ln -s .. up
mkfifo fifo
chmod 0500 .
echo "{\"cwd\": \"$PWD\"}"
