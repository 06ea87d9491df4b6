#!/usr/bin/env bash
# scripts/kfp-real/start.sh STATE_DIR
# Starts the real Kubeflow Pipelines 2.17 API server (unmodified `backend/src/apiserver`) with
# what it needs, on 127.0.0.1, in STATE_DIR:
#   - MariaDB 10.11 as KFP's MySQL (utf8mb4, MySQL 8's sql_mode less ONLY_FULL_GROUP_BY);
#   - moto as KFP's MinIO/S3 (KFP 2.17 only checks the bucket on start; specs live in the DB);
#   - a real kube-apiserver 1.20 + etcd, started with the shared kube scripts in STATE_DIR/kube,
#     or, with KFP_REAL_KUBE_STATE=DIR, one already started by them (then neither started nor
#     stopped here); in it the CRDs of crds.yaml, the namespace `kubeflow` and its service
#     account `pipeline-runner`;
#   - the KFP API server, single-user, multi-user or both (KFP_REAL_MULTIUSER below).
# Writes STATE_DIR/env, to source with `set -a`:
#   KFP_REAL_HOST=http://127.0.0.1:PORT    the single-user server (the multi-user one with =1)
#   KFP_REAL_MU_HOST=http://127.0.0.1:PORT the multi-user server (with =1 or =both)
#   KFP_REAL_MULTIUSER, KFP_REAL_NAMESPACE, KUBECTL, the PIDs and ports, and the kube
#   state's env (KUBECONFIG, KUBE_REAL_SERVER, KUBE_REAL_TOKEN_FILE, KUBE_REAL_CA, ...).
# Idempotent: what already runs from STATE_DIR is kept. Stop with stop.sh STATE_DIR [--purge].
# Needs setup.sh (MariaDB, moto), the shared kube build, and the API server binary.
#
# Options (environment):
#   KFP_REAL_MULTIUSER=0|1|both  0 (default): single-user. 1: multi-user (identity from the
#                          `kubeflow-userid` header or a bearer token checked by TokenReview with
#                          audience pipelines.kubeflow.org; access by SubjectAccessReview against
#                          the kube-apiserver's RBAC). both: one of each, sharing MariaDB
#                          (databases mlpipeline and mlpipeline_mu), moto and the kube-apiserver.
#   KFP_REAL_KUBE_STATE=DIR      use that running kube-apiserver (state dir of the kube start.sh)
#   KFP_REAL_HTTP_PORT=N         fixed REST port of the first server (default: a free one)
#   KFP_REAL_LOG_PROXY=1         put logproxy.py in front of KFP_REAL_HOST as
#                                KFP_REAL_PROXY_HOST; every request and response goes to
#                                STATE_DIR/http.log (authorization and cookies redacted)
#   KFP_REAL_SQL_MODE=...        MariaDB's sql_mode
#   NBKF_KFP_APISERVER           the API server binary (default $NBKF_KFP_HOME/bin/apiserver-2.17.0)
#   NBKF_KFP_HOME, NBKF_KUBE_HOME, KUBE_SCRIPTS (default $NBKF_SHARED/kube, else ../shared/kube
#   beside the repository), KUBECTL
#
# Caveat: KFP's REST gateway dials its own gRPC server at "localhost"+rpcPortFlag
# (backend/src/apiserver/main.go), so the gRPC listener has to be given as ":PORT", which Go
# binds on all interfaces. Everything else (REST, MariaDB, moto, etcd, kube-apiserver) listens
# on 127.0.0.1 only.
#
# Files: everything this writes or deletes is under STATE_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
H=${NBKF_KFP_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/nbkf-kfp}
KH=${NBKF_KUBE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/nbkf-kube}
KUBE_SCRIPTS=${KUBE_SCRIPTS:-${NBKF_SHARED:-$REPO/../shared}/kube}
KUBECTL=${KUBECTL:-$KH/debroot/usr/bin/kubectl}
KFP_VERSION=${KFP_VERSION:-2.17.0}
APISERVER_BIN=${NBKF_KFP_APISERVER:-$H/bin/apiserver-$KFP_VERSION}
STATE=${1:?usage: start.sh STATE_DIR}
MODE=${KFP_REAL_MULTIUSER:-0}
EXT_KUBE=${KFP_REAL_KUBE_STATE:-}
SQL_MODE=${KFP_REAL_SQL_MODE:-STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION}
NS=kubeflow
MDB=$H/debroot

case $MODE in 0|1|both) ;; *) echo "KFP_REAL_MULTIUSER must be 0, 1 or both" >&2; exit 2;; esac
for f in "$APISERVER_BIN" "$MDB/usr/sbin/mariadbd" "$H/venv-moto/bin/moto_server" "$KUBECTL"; do
  [ -x "$f" ] || { echo "missing $f (setup.sh prepares MariaDB and moto; the kube build has kubectl; see setup.sh for the API server)" >&2; exit 1; }
done
if [ -n "$EXT_KUBE" ]; then
  [ -f "$EXT_KUBE/env" ] || { echo "KFP_REAL_KUBE_STATE=$EXT_KUBE has no env: is that kube-apiserver running?" >&2; exit 1; }
  EXT_KUBE=$(cd "$EXT_KUBE" && pwd)
else
  [ -f "$KUBE_SCRIPTS/start.sh" ] || { echo "missing $KUBE_SCRIPTS/start.sh (set NBKF_SHARED or KUBE_SCRIPTS)" >&2; exit 1; }
fi
# Every daemon here gets /dev/null as its standard input; a /dev/null that is not the device
# (seen on a test machine) breaks them in odd ways, so say so rather than start.
[ -c /dev/null ] || { echo "/dev/null is not a character device here; restore it (mknod -m 666 /dev/null c 1 3)" >&2; exit 1; }

mkdir -p "$STATE"; STATE=$(cd "$STATE" && pwd)
touch "$STATE/.nbkf-kfp-real"          # stop.sh --purge deletes only state dirs marked so
export LD_LIBRARY_PATH=$MDB/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

now_ms() { date +%s%3N; }
T0=$(now_ms); TIMING=""
mark() { TIMING="$TIMING $1=$(( $(now_ms) - T0 ))ms"; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { cat "$STATE/$1.pid" 2>/dev/null || true; }
# ours NAME PATTERN: STATE/NAME.pid names a live process whose command line contains PATTERN
ours() { local p; p=$(pid_of "$1"); alive "$p" && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "$2"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# ports.env: the ports of the running components
PORTS=$STATE/ports.env; touch "$PORTS"
getp() { awk -F= -v k="$1" '$1==k{v=$2} END{print v}' "$PORTS"; }
setp() { { grep -v "^$1=" "$PORTS" || true; echo "$1=$2"; } > "$PORTS.tmp"; mv "$PORTS.tmp" "$PORTS"; }
# launch NAME CMD...: detached in a session of its own; STATE/NAME.pid holds the program's pid
launch() {
  local name=$1; shift
  rm -f "$STATE/$name.pid"
  setsid sh -c 'echo $$ > "$0"; exec "$@"' "$STATE/$name.pid" "$@" > "$STATE/$name.log" 2>&1 < /dev/null &
  for _ in $(seq 50); do [ -s "$STATE/$name.pid" ] && break; sleep 0.1; done
}
# stop_pid NAME PATTERN: TERM (twice: the KFP API server exits on the second), then KILL
stop_pid() {
  local p; ours "$1" "$2" || return 0
  p=$(pid_of "$1"); kill -TERM "$p"
  for i in $(seq 150); do alive "$p" || break; [ "$i" = 3 ] && kill -TERM "$p" 2>/dev/null; sleep 0.1; done
  alive "$p" && kill -KILL "$p"
  rm -f "$STATE/$1.pid"
}
fail() {
  echo "FAILED: $1" >&2
  for l in "$STATE"/*.log; do [ -f "$l" ] && { echo "--- tail $l" >&2; tail -15 "$l" >&2; }; done
  exit 1
}
RESTART_API=0

# --- 1. MariaDB --------------------------------------------------------------------------
MDBDIR=$STATE/mariadb; mkdir -p "$MDBDIR"
MDB_MARK="--datadir=$MDBDIR/data"
mdb() { "$MDB/usr/bin/mariadb" --no-defaults --protocol=socket -S "$MDBDIR/mysqld.sock" -uroot "$@"; }
if ours mariadb "$MDB_MARK"; then
  echo "mariadb already running (pid $(pid_of mariadb), port $(getp DB_PORT))"
else
  if [ ! -d "$MDBDIR/data/mysql" ]; then
    "$MDB/usr/bin/mariadb-install-db" --no-defaults --basedir="$MDB/usr" --datadir="$MDBDIR/data" \
      --user="$(id -un)" --auth-root-authentication-method=normal --skip-test-db > "$MDBDIR/install.log" 2>&1 \
      || { cat "$MDBDIR/install.log" >&2; fail "mariadb-install-db"; }
  fi
  DB_PORT=$(free_port); setp DB_PORT "$DB_PORT"
  # utf8mb4 as MySQL 8 (latin1, MariaDB's default without a config, refuses non-ASCII specs).
  launch mariadb "$MDB/usr/sbin/mariadbd" --no-defaults --basedir="$MDB/usr" "$MDB_MARK" \
    --lc-messages-dir="$MDB/usr/share/mysql" --plugin-dir="$MDB/usr/lib/mysql/plugin" \
    --user="$(id -un)" --bind-address=127.0.0.1 --port="$DB_PORT" --socket="$MDBDIR/mysqld.sock" \
    --pid-file="$MDBDIR/mysqld.pid" --skip-name-resolve --skip-log-bin \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --sql-mode="$SQL_MODE" --innodb-buffer-pool-size=64M --innodb-log-file-size=16M --max-connections=200
  for i in $(seq 300); do
    ours mariadb "$MDB_MARK" || fail "mariadbd exited"
    mdb -e 'select 1' > /dev/null 2>&1 && break
    [ "$i" = 300 ] && fail "mariadb not ready after 30s"
    sleep 0.1
  done
  RESTART_API=1
fi
DB_PORT=$(getp DB_PORT); mark mariadb

# --- 2. moto (S3) ------------------------------------------------------------------------
if ours moto moto_server; then
  echo "moto already running (pid $(pid_of moto), port $(getp S3_PORT))"
else
  S3_PORT=$(free_port); setp S3_PORT "$S3_PORT"
  launch moto "$H/venv-moto/bin/python" "$H/venv-moto/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT"
  for i in $(seq 300); do
    ours moto moto_server || fail "moto exited"
    curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && break
    [ "$i" = 300 ] && fail "moto not ready after 30s"
    sleep 0.1
  done
  RESTART_API=1
fi
S3_PORT=$(getp S3_PORT); mark moto

# --- 3. kube-apiserver + etcd ------------------------------------------------------------
if [ -n "$EXT_KUBE" ]; then
  KSTATE=$EXT_KUBE
  echo "$KSTATE" > "$STATE/kube-external"
else
  rm -f "$STATE/kube-external"
  KSTATE=$STATE/kube
  if [ -f "$KSTATE/apiserver.pid" ] && alive "$(cat "$KSTATE/apiserver.pid")"; then
    echo "kube-apiserver already running (pid $(cat "$KSTATE/apiserver.pid"))"
  else
    [ -d "$KSTATE" ] && { bash "$KUBE_SCRIPTS/stop.sh" "$KSTATE" > /dev/null 2>&1 || true; }
    bash "$KUBE_SCRIPTS/start.sh" "$KSTATE" > "$STATE/kube-start.log" 2>&1 || { cat "$STATE/kube-start.log" >&2; fail "kube start.sh"; }
    RESTART_API=1
  fi
fi
KUBECONFIG=$(awk -F= '$1=="KUBECONFIG"{print $2}' "$KSTATE/env")
export KUBECONFIG
mark kube

# --- 4. CRDs, namespace, service account -------------------------------------------------
"$KUBECTL" apply -f "$HERE/crds.yaml" > "$STATE/crds.log" 2>&1 || fail "kubectl apply crds.yaml"
"$KUBECTL" wait --for condition=established --timeout=60s -f "$HERE/crds.yaml" >> "$STATE/crds.log" 2>&1 || fail "CRDs not established"
"$KUBECTL" get namespace "$NS" > /dev/null 2>&1 || "$KUBECTL" create namespace "$NS" > /dev/null
"$KUBECTL" -n "$NS" get serviceaccount pipeline-runner > /dev/null 2>&1 \
  || "$KUBECTL" -n "$NS" create serviceaccount pipeline-runner > /dev/null
mark crds

# --- 5. the KFP API server(s) ------------------------------------------------------------
# start_api NAME MULTIUSER DBNAME [HTTP_PORT]
start_api() {
  local name=$1 mu=$2 db=$3 http=${4:-} rpc conf=$STATE/config-$1
  local mark_pat="--config=$conf"
  if ours "$name" "$mark_pat" && [ "$RESTART_API" = 0 ]; then
    echo "KFP API server $name already running (pid $(pid_of "$name"), port $(getp "HTTP_PORT_$name"))"
    return 0
  fi
  stop_pid "$name" "$mark_pat"     # a dependency was restarted: so is the API server
  http=${http:-$(free_port)}; rpc=$(free_port)
  setp "HTTP_PORT_$name" "$http"; setp "RPC_PORT_$name" "$rpc"
  mkdir -p "$conf"
  cat > "$conf/config.json" <<JSON
{
  "DBConfig": {
    "MySQLConfig": {
      "Host": "127.0.0.1", "Port": "$DB_PORT", "User": "root", "Password": "",
      "DBName": "$db", "GroupConcatMaxLen": "4194304"
    },
    "ConMaxLifeTime": "120s"
  },
  "ObjectStoreConfig": {
    "Host": "127.0.0.1", "Port": "$S3_PORT", "Secure": "false", "Region": "us-east-1",
    "AccessKey": "minio", "SecretAccessKey": "minio123",
    "BucketName": "mlpipeline", "PipelinePath": "pipelines"
  },
  "DBDriverName": "mysql",
  "ARCHIVE_CONFIG_LOG_FILE_NAME": "main.log",
  "ARCHIVE_CONFIG_LOG_PATH_PREFIX": "/artifacts",
  "InitConnectionTimeout": "30s",
  "DEFAULTPIPELINERUNNERSERVICEACCOUNT": "pipeline-runner",
  "CacheEnabled": "true",
  "CRON_SCHEDULE_TIMEZONE": "UTC",
  "CACHE_IMAGE": "ghcr.io/containerd/busybox",
  "CACHE_NODE_RESTRICTIONS": "false"
}
JSON
  local mu_env=()
  if [ "$mu" = 1 ]; then
    mu_env=(MULTIUSER=true KUBEFLOW_USERID_HEADER=kubeflow-userid KUBEFLOW_USERID_PREFIX= TOKEN_REVIEW_AUDIENCE=pipelines.kubeflow.org)
  fi
  # A clean environment: a stray KUBERNETES_SERVICE_HOST would select in-cluster config. The
  # visualization server's address is required but never dialled at start-up.
  launch "$name" env -i PATH=/usr/bin:/bin HOME="$STATE" KUBECONFIG="$KUBECONFIG" \
    POD_NAMESPACE="$NS" COMMIT_SHA=unknown TAG_NAME="$KFP_VERSION" \
    ML_PIPELINE_VISUALIZATIONSERVER_SERVICE_HOST=127.0.0.1 ML_PIPELINE_VISUALIZATIONSERVER_SERVICE_PORT=9 \
    "${mu_env[@]}" \
    "$APISERVER_BIN" "$mark_pat" --httpPortFlag="127.0.0.1:$http" --rpcPortFlag=":$rpc" --logtostderr=true
}
wait_api() {
  local name=$1 http; http=$(getp "HTTP_PORT_$1")
  for i in $(seq 600); do
    ours "$name" "--config=$STATE/config-$name" || fail "KFP API server $name exited"
    curl -sf "http://127.0.0.1:$http/apis/v2beta1/healthz" > /dev/null 2>&1 && return 0
    [ "$i" = 600 ] && fail "KFP API server $name not healthy after 60s"
    sleep 0.1
  done
}
APIS=()
case $MODE in
  0) start_api su 0 mlpipeline "${KFP_REAL_HTTP_PORT:-}"; APIS=(su);;
  1) start_api mu 1 mlpipeline "${KFP_REAL_HTTP_PORT:-}"; APIS=(mu);;
  both) start_api su 0 mlpipeline "${KFP_REAL_HTTP_PORT:-}"; start_api mu 1 mlpipeline_mu; APIS=(su mu);;
esac
for a in "${APIS[@]}"; do wait_api "$a"; done
mark apiserver

# --- 6. optional logging proxy -----------------------------------------------------------
FIRST=${APIS[0]}
PROXY_LINES=""
if [ "${KFP_REAL_LOG_PROXY:-0}" = 1 ] || ours logproxy logproxy.py; then
  if ! ours logproxy logproxy.py || [ "$RESTART_API" = 1 ]; then
    stop_pid logproxy logproxy.py
    PROXY_PORT=$(free_port); setp PROXY_PORT "$PROXY_PORT"
    launch logproxy python3 "$HERE/logproxy.py" "$PROXY_PORT" "http://127.0.0.1:$(getp "HTTP_PORT_$FIRST")" "$STATE/http.log"
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PROXY_PORT/apis/v2beta1/healthz" > /dev/null 2>&1 && break; sleep 0.1; done
  fi
  PROXY_LINES="KFP_REAL_PROXY_HOST=http://127.0.0.1:$(getp PROXY_PORT)
LOGPROXY_PID=$(pid_of logproxy)"
fi

{
  echo "KFP_REAL_HOST=http://127.0.0.1:$(getp "HTTP_PORT_$FIRST")"
  echo "KFP_REAL_GRPC_PORT=$(getp "RPC_PORT_$FIRST")"
  echo "KFP_APISERVER_PID=$(pid_of "$FIRST")"
  if [ "$MODE" != 0 ]; then
    echo "KFP_REAL_MU_HOST=http://127.0.0.1:$(getp HTTP_PORT_mu)"
    echo "KFP_REAL_MU_GRPC_PORT=$(getp RPC_PORT_mu)"
    echo "KFP_APISERVER_MU_PID=$(pid_of mu)"
  fi
  echo "KFP_REAL_MULTIUSER=$MODE"
  echo "KFP_REAL_VERSION=$KFP_VERSION"
  echo "KFP_REAL_NAMESPACE=$NS"
  echo "KFP_REAL_DB_PORT=$DB_PORT"
  echo "KFP_REAL_DB_SOCKET=$MDBDIR/mysqld.sock"
  echo "KFP_REAL_S3_ENDPOINT=http://127.0.0.1:$S3_PORT"
  echo "MARIADB_PID=$(pid_of mariadb)"
  echo "MOTO_PID=$(pid_of moto)"
  echo "KUBECTL=$KUBECTL"
  [ -n "$PROXY_LINES" ] && echo "$PROXY_LINES"
  cat "$KSTATE/env"
} > "$STATE/env.tmp"
mv "$STATE/env.tmp" "$STATE/env"
echo "# timing:$TIMING" > "$STATE/timing"
cat "$STATE/env"
echo "# timing (cumulative):$TIMING"
