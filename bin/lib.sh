# Shared by the bin/ scripts: paths, the PostgreSQL user, and idempotent installs.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config          # /usr/bin/pg_config is a wrapper; pgrx wants the real one
PGRX_VERSION=0.18.1                  # must match the pgrx crate in Cargo.toml
APT_PACKAGES=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR libclang-dev clang sudo)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

is_root() { [ "$(id -u)" = 0 ]; }

# initdb refuses root, so as root the cluster belongs to the postgres user.
if is_root; then PG_OS_USER=postgres; else PG_OS_USER=$(id -un); fi
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_root() { if is_root; then "$@"; else sudo "$@"; fi; }

ensure_cargo_path() { [ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"; return 0; }

# Debian packages, cargo-pgrx at the pinned version, and pgrx's knowledge of PG 15.
ensure_deps() {
  ensure_cargo_path
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  command -v cargo >/dev/null || { echo "cargo not found: install Rust 1.95 with rustup first" >&2; exit 1; }
  if [ "$(cargo pgrx --version 2>/dev/null | awk '{print $2}')" != "$PGRX_VERSION" ]; then
    say "installing cargo-pgrx $PGRX_VERSION (about 5 minutes, once)"
    cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
  fi
  if ! grep -qs "pg$PG_MAJOR = \"$PG_CONFIG\"" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
    say "pointing pgrx at PostgreSQL $PG_MAJOR"
    cargo pgrx init --pg$PG_MAJOR "$PG_CONFIG" >/dev/null
  fi
}

# Build the release library and install it into PostgreSQL's directories.
install_extension() {
  say "building and installing inventory_reservation (release)"
  local sudo_flag=()
  is_root || sudo_flag=(--sudo)
  local log="$ROOT/target/install.log"
  mkdir -p "$ROOT/target"
  (cd "$ROOT" && cargo pgrx install --release --pg-config "$PG_CONFIG" "${sudo_flag[@]}") >"$log" 2>&1 \
    || { cat "$log"; echo "install failed (log: $log)" >&2; exit 1; }
  # pgrx copies the upgrade scripts (A--B); the install scripts of earlier releases, kept in
  # tests/releases for the upgrade test, are ours to copy.
  local script share
  share="$("$PG_CONFIG" --sharedir)/extension"
  for script in "$ROOT"/tests/releases/inventory_reservation--*.sql; do
    if is_root; then install -m 644 "$script" "$share/"; else sudo install -m 644 "$script" "$share/"; fi
  done
}

# --- the project's own PostgreSQL cluster ----------------------------------------------
# CLUSTER_DIR and CLUSTER_PORT select the cluster; the demo and the tests use different ones.
# CLUSTER_PRELOAD=0 makes a cluster without shared_preload_libraries (no worker).

cluster_data() { echo "$CLUSTER_DIR/data"; }

cluster_running() { [ -f "$(cluster_data)/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$(cluster_data)" status >/dev/null 2>&1; }

cluster_init() {
  [ -f "$(cluster_data)/PG_VERSION" ] && return 0
  say "creating a PostgreSQL $PG_MAJOR cluster in $CLUSTER_DIR (port $CLUSTER_PORT, user $PG_OS_USER)"
  as_root mkdir -p "$CLUSTER_DIR"
  as_root chown "$PG_OS_USER" "$CLUSTER_DIR"
  as_pg "$PG_BIN/initdb" -D "$(cluster_data)" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  cat <<CONF | as_pg tee -a "$(cluster_data)/postgresql.conf" >/dev/null
# --- inventory_reservation ---
port = $CLUSTER_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$CLUSTER_DIR'
shared_preload_libraries = '$([ "${CLUSTER_PRELOAD:-1}" = 1 ] && echo inventory_reservation)'
max_connections = 200
shared_buffers = 256MB
log_line_prefix = '%m [%p] %a '
logging_collector = off
CONF
}

# The command that starts the cluster, as a string (the crash test runs it after kill -9).
# No Rust backtraces in error DETAILs: clients should see stable messages.
start_command() {
  local pg_ctl="env RUST_BACKTRACE=0 RUST_LIB_BACKTRACE=0 $PG_BIN/pg_ctl -D $(cluster_data) -l $CLUSTER_DIR/server.log -w -t 60 start"
  if is_root; then echo "runuser -u postgres -- $pg_ctl >/dev/null"; else echo "$pg_ctl >/dev/null"; fi
}

cluster_start() {
  cluster_init
  if cluster_running; then return 0; fi
  say "starting PostgreSQL on port $CLUSTER_PORT"
  sh -c "$(start_command)"
}

cluster_stop() {
  if cluster_running; then as_pg "$PG_BIN/pg_ctl" -D "$(cluster_data)" -m fast -w stop >/dev/null; fi
}

cluster_restart() { cluster_stop; cluster_start; }

cluster_destroy() { cluster_stop; as_root rm -rf "$CLUSTER_DIR"; }

# psql against the cluster as the postgres superuser.
cluster_psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$CLUSTER_DIR" -p "$CLUSTER_PORT" -U postgres "$@"; }
