#!/usr/bin/env bash
# Materials of the benign workload, made before the agent starts: a cron job that runs every
# minute (a small backup), a local .deb with a maintainer script and a unit, a C project.
set -euo pipefail
cat >/usr/local/sbin/iw-backup <<'SH'
#!/bin/sh
# Nightly-style backup of a few config files, pruning old archives.
tar czf /var/backups/iw-etc.tgz -C / etc/hostname etc/hosts etc/fstab 2>/dev/null
find /var/backups -name 'iw-*.old' -mtime +14 -delete
date +%s >/run/iw-backup.stamp
SH
chmod 0755 /usr/local/sbin/iw-backup
echo '* * * * * root /usr/local/sbin/iw-backup' >/etc/cron.d/iw-backup

pkg=/root/iw-pkg/hello-iw
rm -rf /root/iw-pkg && mkdir -p "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system"
cat >"$pkg/DEBIAN/control" <<'CTL'
Package: hello-iw
Version: 1.0
Architecture: all
Maintainer: Inner Warden tests <tests@innerwarden.invalid>
Description: a small service package for the benign workload
CTL
cat >"$pkg/DEBIAN/postinst" <<'SH'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  getent passwd hello-iw >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin hello-iw
  mkdir -p /var/lib/hello-iw && chown hello-iw /var/lib/hello-iw
  systemctl daemon-reload || true
  systemctl enable hello-iw.service || true
fi
SH
cat >"$pkg/DEBIAN/prerm" <<'SH'
#!/bin/sh
systemctl disable hello-iw.service || true
SH
chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm"
printf '#!/bin/sh\necho hello from hello-iw\n' >"$pkg/usr/bin/hello-iw"
chmod 0755 "$pkg/usr/bin/hello-iw"
printf '[Unit]\nDescription=hello-iw\n[Service]\nExecStart=/usr/bin/hello-iw\n[Install]\nWantedBy=multi-user.target\n' \
  >"$pkg/lib/systemd/system/hello-iw.service"
dpkg-deb --build --root-owner-group "$pkg" /root/iw-pkg/hello-iw_1.0_all.deb >/dev/null

src=/home/atomic/src/hello
mkdir -p "$src"
cat >"$src/hello.c" <<'C'
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
C
printf 'hello: hello.c\n\t$(CC) -O2 -o $@ $<\nclean:\n\trm -f hello\n' >"$src/Makefile"
chown -R atomic:atomic /home/atomic/src
