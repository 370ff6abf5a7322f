#!/usr/bin/env bash
# As root in an ordinary shell (not PID 1): try to stop, kill, freeze and trace the agent.
# Each outcome goes to $STATE/<name> as "denied" (EPERM) or "allowed"; the steps read them.
set -u
P=$(systemctl show -p MainPID --value innerwarden.service)
echo "$P" >"$STATE/agent.pid"
try() { # NAME CMD...
  local name=$1
  shift
  if "$@" 2>"$STATE/$name.err"; then echo allowed >"$STATE/$name"; else echo denied >"$STATE/$name"; fi
}
try sigterm kill -TERM "$P"
try sigkill kill -KILL "$P"
try sigstop kill -STOP "$P"
# PTRACE_ATTACH (16) through libc: EPERM (1) when the guard refuses it.
try ptrace python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
r = libc.ptrace(16, int(sys.argv[1]), None, None)
if r == 0:
    libc.ptrace(17, int(sys.argv[1]), None, None)  # PTRACE_DETACH
sys.exit(0 if r == 0 else 1)
' "$P"
exit 0
