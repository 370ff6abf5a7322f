#!/usr/bin/env bash
systemctl stop webapp.service
rm -f /etc/systemd/system/webapp.service /tmp/.kworker
systemctl daemon-reload
