#!/usr/bin/env bash
# scripts/kfp-real/stop.sh STATE_DIR [--purge]
# Stops exactly what start.sh STATE_DIR started: the processes named by STATE_DIR/*.pid, each
# checked against its command line first (never by name), and the kube-apiserver + etcd of
# STATE_DIR/kube through the shared kube stop.sh (one given by KFP_REAL_KUBE_STATE at start is
# left running: it is not ours). --purge also deletes the database, config, logs and the kube
# data of STATE_DIR, then STATE_DIR itself when empty; it deletes nothing outside STATE_DIR, and
# only in a state dir that start.sh marked as its own.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
KUBE_SCRIPTS=${KUBE_SCRIPTS:-${NBKF_SHARED:-$REPO/../shared}/kube}
STATE=""; PURGE=0
for a in "$@"; do case $a in --purge) PURGE=1;; *) STATE=$a;; esac; done
[ -n "$STATE" ] || { echo "usage: stop.sh STATE_DIR [--purge]" >&2; exit 2; }
[ -d "$STATE" ] || { echo "no state dir $STATE"; exit 0; }
STATE=$(cd "$STATE" && pwd)
[ -f "$STATE/.nbkf-kfp-real" ] || { echo "$STATE was not made by start.sh (no .nbkf-kfp-real): left alone" >&2; exit 1; }

# stop_one NAME PATTERN: PATTERN must occur in the process's command line
stop_one() {
  local f=$STATE/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"; then
    kill -TERM "$pid"
    # The KFP API server cancels its context on the first SIGTERM but keeps serving HTTP;
    # a second one makes it exit (controller-runtime's signal handler).
    for i in $(seq 150); do
      kill -0 "$pid" 2>/dev/null || break
      [ "$i" = 3 ] && kill -TERM "$pid" 2>/dev/null
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; sleep 0.2; }
    echo "stopped $1 (pid $pid)"
  else
    echo "$1 (pid ${pid:-?}) not running"
  fi
  rm -f "$f"
}
# In parallel: each may take a second or more.
stop_one logproxy logproxy.py &
stop_one su "--config=$STATE/config-su" &
stop_one mu "--config=$STATE/config-mu" &
stop_one moto moto_server &
wait
stop_one mariadb "--datadir=$STATE/mariadb/data"
if [ -d "$STATE/kube" ] && [ ! -f "$STATE/kube-external" ]; then
  if [ "$PURGE" = 1 ]; then bash "$KUBE_SCRIPTS/stop.sh" "$STATE/kube" --purge; else bash "$KUBE_SCRIPTS/stop.sh" "$STATE/kube"; fi
fi
rm -f "$STATE/env"
if [ "$PURGE" = 1 ]; then
  rm -rf "$STATE/mariadb" "$STATE/config-su" "$STATE/config-mu" "$STATE/kube"
  rm -f "$STATE"/*.log "$STATE/ports.env" "$STATE/timing" "$STATE/kube-external" "$STATE/.nbkf-kfp-real"
  rmdir "$STATE" 2>/dev/null || true
  echo "purged $STATE"
fi
