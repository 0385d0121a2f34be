#!/usr/bin/env bash
# `gnutls-cli` against echo_server with TLS VERSION (1.2 or 1.3) pinned on
# the server: a line goes out, the same line comes back, then gnutls-cli
# closes and sees echo_server's close_notify.
source "$(dirname "$0")/common.sh" || exit 1
version=$1
require gnutls-cli
require_programs ECHO_SERVER

start_echo_server server --write-cert "$work_dir/server.pem" \
  "--tls$version" --max-connections 1
server_pid=$last_pid

# The input stays open until the echo has arrived, so that the client does
# not close before reading it.
open_input client
start client gnutls-cli --port "$port" --x509cafile "$work_dir/server.pem" \
  127.0.0.1
client_pid=$last_pid
echo 'hello membio' >&3
wait_for_line "$work_dir/client.out" '^hello membio$'
close_input

expect_exit "$client_pid" 0
expect_exit "$server_pid" 0
expect_line "$work_dir/client.out" "Description: \\(TLS$version-X.509\\)"
expect_line "$work_dir/client.out" "Peer has closed the GnuTLS connection"
expect_line "$work_dir/server.err" "#1 .*: finished, 13 bytes echoed"
expect_line "$work_dir/server.err" "accepted 1, finished 1, failed 0"
