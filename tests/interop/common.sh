# Shared by membio's interop tests, which source it: a scratch directory,
# certificates made with the openssl tool, servers started in the
# background on 127.0.0.1 with ports that are free, and checks.
#
# CTest passes the programs under test in the environment: TCP_CLIENT,
# ECHO_SERVER, ASIO_CLIENT and FRAGMENTING_PROXY. A missing tool fails the
# test instead of skipping it, so that a machine without it cannot pass.
set -euo pipefail

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/membio-interop.XXXXXX")
started_pids=()

# Stops what the test started and removes its files; after a failure, shows
# every program's output first, since that is where the reason is.
finish_test() {
  local status=$? pid file

  for pid in "${started_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true

  if [[ $status -ne 0 ]]; then
    for file in "$work_dir"/*.out "$work_dir"/*.err; do
      [[ -s $file ]] || continue
      echo "---- ${file##*/}"
      cat "$file"
    done
  fi
  rm -rf "$work_dir"
}
trap finish_test EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Fails unless every tool named is on the PATH.
require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null ||
      fail "$tool not found; ./quickstart test installs the test packages"
  done
}

# Fails unless every variable named holds the path of a program.
require_programs() {
  local name
  for name in "$@"; do
    [[ -x ${!name:-} ]] || fail "$name is not set to a built program"
  done
}

# Makes a root authority: $work_dir/NAME.pem and NAME.key.
make_ca() {
  local name=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work_dir/$name.key" -out "$work_dir/$name.pem" -days 2 \
    -subj "/CN=$name" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# Issues a certificate for localhost and 127.0.0.1, named NAME and signed
# by the authority CA: $work_dir/NAME.pem and NAME.key.
issue() {
  local name=$1 ca=$2
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work_dir/$name.key" -out "$work_dir/$name.csr" \
    -subj "/CN=$name" 2>/dev/null

  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" >"$work_dir/$name.ext"
  openssl x509 -req -in "$work_dir/$name.csr" -CA "$work_dir/$ca.pem" \
    -CAkey "$work_dir/$ca.key" -days 2 -extfile "$work_dir/$name.ext" \
    -out "$work_dir/$name.pem" 2>/dev/null
}

# The input of the program run as NAME: $work_dir/NAME.in if it exists,
# else nothing.
input_of() {
  if [[ -e $work_dir/$1.in ]]; then
    echo "$work_dir/$1.in"
  else
    echo /dev/null
  fi
}

# Runs "$@" as NAME, bounded by `timeout`, with its output in
# $work_dir/NAME.out and NAME.err and its input from `input_of NAME`;
# returns its exit status. The input pipe of open_input is not inherited,
# so that closing it reaches its reader as the end of input.
run() {
  local name=$1
  shift
  timeout 30 "$@" <"$(input_of "$name")" >"$work_dir/$name.out" \
    2>"$work_dir/$name.err" 3>&-
}

# Runs "$@" as NAME like `run`, in the background; sets last_pid. The
# subshell becomes `timeout` itself, so that killing last_pid reaches the
# program.
start() {
  local name=$1
  shift
  (
    exec timeout 60 "$@" <"$(input_of "$name")" >"$work_dir/$name.out" \
      2>"$work_dir/$name.err" 3>&-
  ) &
  last_pid=$!
  started_pids+=("$last_pid")
}

# Makes $work_dir/NAME.in a pipe whose writing end is file descriptor 3, for
# the program started next as NAME: write to it with >&3, end it with
# close_input.
open_input() {
  mkfifo "$work_dir/$1.in"
  exec 3<>"$work_dir/$1.in"
}

close_input() {
  exec 3>&-
}

# Waits until FILE holds a line matching PATTERN (grep -E); fails after ten
# seconds.
wait_for_line() {
  local file=$1 pattern=$2 tries=0
  until grep -qE -- "$pattern" "$file" 2>/dev/null; do
    ((++tries <= 100)) || fail "${file##*/} never showed: $pattern"
    sleep 0.1
  done
}

# Waits for the background program PID to end and fails unless its exit
# status is WANTED.
expect_exit() {
  local pid=$1 wanted=$2 status=0
  wait "$pid" || status=$?
  [[ $status -eq $wanted ]] || fail "exit status $status, wanted $wanted"
}

expect_line() {
  local file=$1 pattern=$2
  grep -qE -- "$pattern" "$file" || fail "${file##*/} lacks: $pattern"
}

expect_no_line() {
  local file=$1 pattern=$2
  ! grep -qE -- "$pattern" "$file" || fail "${file##*/} shows: $pattern"
}

expect_same() {
  cmp -s "$1" "$2" || fail "${2##*/} differs from ${1##*/}"
}

# Starts `openssl s_server` as NAME on a port it picks itself; sets port.
# It serves one connection, then exits.
start_openssl_server() {
  local name=$1
  shift
  start "$name" openssl s_server -accept 127.0.0.1:0 -naccept 1 "$@"
  wait_for_start "$work_dir/$name.out" '^ACCEPT ' || fail "s_server ended"
  port=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$work_dir/$name.out")
}

# Waits until the program started last shows PATTERN in FILE (true) or
# exits (false); fails after ten seconds.
wait_for_start() {
  local file=$1 pattern=$2 tries=0
  until grep -qE -- "$pattern" "$file" 2>/dev/null; do
    kill -0 "$last_pid" 2>/dev/null || return 1
    ((++tries <= 100)) || fail "${file##*/} never showed: $pattern"
    sleep 0.1
  done
}

# Starts gnutls-serv --echo as NAME; sets port. gnutls-serv cannot pick a
# port itself, nor take an address to listen on (it listens on all of
# them), so ports are tried at random until one is free. When IPv4's is
# taken, it says so and goes on with IPv6 alone: that counts as taken.
start_gnutls_server() {
  local name=$1 attempt
  shift

  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    start "$name" gnutls-serv --echo --port "$port" "$@"
    wait_for_start "$work_dir/$name.err" 'IPv4.*(done|failed)' || continue
    grep -q 'IPv4.*done' "$work_dir/$name.err" && return
    kill "$last_pid"
  done
  fail "gnutls-serv found no free port"
}

# Starts echo_server as NAME on a port it picks itself; sets port.
start_echo_server() {
  local name=$1
  shift
  start "$name" "$ECHO_SERVER" --port 0 "$@"
  wait_for_start "$work_dir/$name.out" '^listening on ' ||
    fail "echo_server ended"
  port=$(sed -n 's/^listening on //p' "$work_dir/$name.out")
}

# Runs tshark "$@" as NAME, like `run`. Its preferences come from an empty
# directory, so that a user's profile (a key log file set for TLS, say)
# cannot decrypt what a capture's own secrets do not.
run_tshark() {
  local name=$1
  shift
  mkdir -p "$work_dir/wireshark"
  WIRESHARK_CONFIG_DIR=$work_dir/wireshark run "$name" tshark "$@"
}

# Starts echo_server as `server` with the arguments given, and tcp_client as
# `client` sending it megabytes of $work_dir/client.in through a proxy
# (`proxy`) that holds the replies, as a client would that sends without
# reading; returns once the server has paused reading that client. Sets
# server_pid and client_pid; close_input then lets the replies through.
start_backed_up_client() {
  start_echo_server server --write-cert "$work_dir/server.pem" "$@"
  server_pid=$last_pid

  open_input proxy
  start proxy "$FRAGMENTING_PROXY" --hold-replies 65536 "$port"
  wait_for_start "$work_dir/proxy.out" '^listening on ' || fail "no proxy"
  local proxy_port
  proxy_port=$(sed -n 's/^listening on //p' "$work_dir/proxy.out")

  head -c 6000000 /dev/urandom | base64 >"$work_dir/client.in"
  start client "$TCP_CLIENT" --ca "$work_dir/server.pem" --timeout 30 \
    127.0.0.1 "$proxy_port"
  client_pid=$last_pid
  wait_for_line "$work_dir/proxy.out" '^holding replies$'
  wait_for_line "$work_dir/server.err" '#1 .*: paused reading, [0-9]+ bytes'
}
