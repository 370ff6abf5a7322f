#!/usr/bin/env bash
# The file the agent will deny: a copy of bash in /tmp (a dropped interpreter); and the memfd
# launcher the fileless attack uses.
set -euo pipefail
rm -f /tmp/victim /tmp/renamed /tmp/hardlink /tmp/copy
cp /usr/bin/bash /tmp/victim
install -m 0755 "$SCENARIO_DIR/fileless.py" /usr/local/bin/iw-fileless
id -u www-data >/dev/null
