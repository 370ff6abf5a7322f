#!/usr/bin/env bash
# The ssh-bruteforce attack (until blocked).
exec bash "$(dirname "$0")/../ssh-bruteforce/attack.sh"
