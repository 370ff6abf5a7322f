#!/usr/bin/env python3
"""iw-fileless PROGRAM [ARGS...]: copy PROGRAM into a memfd and exec it from there, as a
fileless dropper does (the kernel sees an exec of /proc/self/fd/N, an inode with no link)."""
import os
import sys

if len(sys.argv) < 2:
    sys.exit("usage: iw-fileless PROGRAM [ARGS...]")
prog = sys.argv[1]
fd = os.memfd_create("payload")
with open(prog, "rb") as f:
    os.write(fd, f.read())
os.execv(f"/proc/self/fd/{fd}", [os.path.basename(prog)] + sys.argv[2:])
