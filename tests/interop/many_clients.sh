#!/usr/bin/env bash
# echo_server serves many tcp_clients at once, each sending a megabyte or
# more: every client gets back exactly what it sent. One client takes its
# replies only after a pause, while the others go on; the sockets' buffers
# absorb what it leaves, so backpressure.sh is the test of a server pausing
# for a client. SIGTERM then stops echo_server cleanly.
source "$(dirname "$0")/common.sh" || exit 1
require openssl
require_programs TCP_CLIENT ECHO_SERVER

clients=8
start_echo_server server --write-cert "$work_dir/server.pem"
server_pid=$last_pid

pids=()
for ((client = 1; client <= clients; ++client)); do
  head -c 800000 /dev/urandom | base64 >"$work_dir/client$client.in"
  start client$client "$TCP_CLIENT" --ca "$work_dir/server.pem" \
    --timeout 20 127.0.0.1 "$port"
  pids+=("$last_pid")
done

# This one's output goes through a pipe that is read only after a pause.
head -c 3000000 /dev/urandom | base64 >"$work_dir/slow.in"
timeout 30 "$TCP_CLIENT" --ca "$work_dir/server.pem" --timeout 20 \
  127.0.0.1 "$port" <"$work_dir/slow.in" 2>"$work_dir/slow.err" 3>&- |
  (sleep 2 && cat >"$work_dir/slow.out") || fail "the slow client failed"
expect_same "$work_dir/slow.in" "$work_dir/slow.out"

for ((client = 1; client <= clients; ++client)); do
  expect_exit "${pids[client - 1]}" 0
  expect_same "$work_dir/client$client.in" "$work_dir/client$client.out"
done

kill -TERM "$server_pid"
expect_exit "$server_pid" 0
total=$((clients + 1))
expect_line "$work_dir/server.err" \
  "accepted $total, finished $total, failed 0, closed at shutdown 0"
