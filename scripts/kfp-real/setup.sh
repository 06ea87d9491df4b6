#!/usr/bin/env bash
# scripts/kfp-real/setup.sh
# Prepares, from package registries only, what start.sh runs beside the real Kubeflow Pipelines
# API server, in $NBKF_KFP_HOME (default ${XDG_CACHE_HOME:-~/.cache}/nbkf-kfp). Idempotent: a
# second run takes about a second (scripts/test keeps its output in $NBKF_KFP_HOME/setup.log).
#
#   debroot/     MariaDB 10.11 (server, client, libaio1, liburing2), KFP's MySQL: the .debs are
#                fetched with `apt-get download` from the Debian archive and unpacked with
#                `dpkg-deb -x`; nothing is installed system-wide
#   venv-moto/   moto[server] (an S3 stand-in for KFP's MinIO), from PyPI, pinned by
#                moto-requirements.txt beside this script
#
# It does NOT provide the KFP API server itself (kubeflow/pipelines `backend/src/apiserver`,
# 2.17.0): no package registry reachable from CI serves it (the Go module proxy answers
# "403 This module version is not available" for github.com/kubeflow/pipelines at any version).
# start.sh runs the binary named by $NBKF_KFP_APISERVER, else
# $NBKF_KFP_HOME/bin/apiserver-$KFP_VERSION; this script only says whether it is there.
# Exit status: 0 ready; 3 everything ready except that binary; 1 an error.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
H=${NBKF_KFP_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/nbkf-kfp}
KFP_VERSION=${KFP_VERSION:-2.17.0}
NICE=${NICE:-nice -n 10}
[ -n "$H" ] && [ "$H" != / ] || { echo "setup.sh: bad NBKF_KFP_HOME" >&2; exit 1; }
mkdir -p "$H/debs"
echo "=== setup.sh $(date -u +%FT%TZ) in $H"
T0=$(date +%s)

# --- MariaDB (unpacked, not installed) ---------------------------------------------------
if [ ! -x "$H/debroot/usr/sbin/mariadbd" ]; then
  pkgs=(mariadb-server-core mariadb-server mariadb-client-core libaio1 liburing2)
  echo "downloading ${pkgs[*]} from the Debian archive"
  rm -f "$H"/debs/*.deb
  if ! ( cd "$H/debs" && apt-get download "${pkgs[@]}" ); then
    # A fresh machine may have no package lists yet.
    echo "apt-get download failed; running apt-get update once and trying again"
    apt-get update -qq
    ( cd "$H/debs" && apt-get download "${pkgs[@]}" )
  fi
  rm -rf "$H/debroot.tmp"; mkdir -p "$H/debroot.tmp"
  for d in "$H"/debs/*.deb; do dpkg-deb -x "$d" "$H/debroot.tmp"; done
  rm -rf "$H/debroot"; mv "$H/debroot.tmp" "$H/debroot"
fi
LD_LIBRARY_PATH=$H/debroot/usr/lib/x86_64-linux-gnu "$H/debroot/usr/sbin/mariadbd" --version

# --- moto (S3) ---------------------------------------------------------------------------
req=$HERE/moto-requirements.txt
if [ ! -x "$H/venv-moto/bin/moto_server" ] || ! cmp -s "$req" "$H/venv-moto/.requirements"; then
  echo "installing moto[server] from PyPI into $H/venv-moto"
  rm -rf "$H/venv-moto"
  python3 -m venv "$H/venv-moto"
  $NICE "$H/venv-moto/bin/pip" install -q --disable-pip-version-check -r "$req"
  cp "$req" "$H/venv-moto/.requirements"
fi
"$H/venv-moto/bin/python" -c 'import moto; print("moto", moto.__version__)'

# --- the KFP API server ------------------------------------------------------------------
BIN=${NBKF_KFP_APISERVER:-$H/bin/apiserver-$KFP_VERSION}
echo "setup.sh done in $(( $(date +%s) - T0 )) s"
if [ -x "$BIN" ]; then
  echo "KFP API server: $BIN"
else
  echo "KFP API server: missing ($BIN); no registry serves it, see the README of nbkf"
  exit 3
fi
