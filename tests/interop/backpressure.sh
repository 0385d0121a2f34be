#!/usr/bin/env bash
# Backpressure in echo_server: a client sends megabytes but reads none of
# the echo (a proxy with a small receive buffer holds the replies). The
# server must stop reading that client once its echo piles up, and say so,
# rather than hold it all: past its 4 MiB output limit it would fail the
# connection. Once the client reads again, the server resumes, every byte
# comes back exactly, and the connection closes cleanly.
source "$(dirname "$0")/common.sh" || exit 1
require_programs TCP_CLIENT ECHO_SERVER FRAGMENTING_PROXY

start_backed_up_client --max-connections 1

# Paused, the server keeps the connection and reads no more.
sleep 1
expect_no_line "$work_dir/server.err" '#1 .*: (failed|resumed)'

close_input
expect_exit "$client_pid" 0
expect_same "$work_dir/client.in" "$work_dir/client.out"
expect_exit "$server_pid" 0
expect_line "$work_dir/server.err" '#1 .*: resumed reading$'
size=$(wc -c <"$work_dir/client.in")
expect_line "$work_dir/server.err" "#1 .*: finished, $size bytes echoed"
expect_line "$work_dir/server.err" "accepted 1, finished 1, failed 0"
