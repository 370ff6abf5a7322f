#!/usr/bin/env bash
# The file the agent will deny: a copy of bash in /tmp (a dropped interpreter).
set -euo pipefail
rm -f /tmp/victim /tmp/renamed /tmp/hardlink /tmp/copy
cp /usr/bin/bash /tmp/victim
