#!/usr/bin/env bash
# The ssh-bruteforce attack, 40 s long (in dry-run nothing stops it).
ATTACK_SECS=40 exec bash "$(dirname "$0")/../ssh-bruteforce/attack.sh"
