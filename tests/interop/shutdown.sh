#!/usr/bin/env bash
# SIGNAL (INT or TERM) stops echo_server while CLIENT (openssl for `openssl
# s_client`, gnutls for `gnutls-cli`) holds a connection open: the server
# exits 0 and reports the connection closed at shutdown, and the client,
# having had its echo, receives the server's close_notify and ends.
source "$(dirname "$0")/common.sh" || exit 1
signal=$1
client=$2
require_programs ECHO_SERVER

start_echo_server server --write-cert "$work_dir/server.pem"
server_pid=$last_pid

# The client's input stays open: only the server's close ends it.
open_input client
case $client in
openssl)
  require openssl
  start client openssl s_client -connect "127.0.0.1:$port" -brief -msg \
    -CAfile "$work_dir/server.pem" -verify_return_error
  closed='^<<< .*Alert.* close_notify'
  ;;
gnutls)
  require gnutls-cli
  start client gnutls-cli --port "$port" --x509cafile "$work_dir/server.pem" \
    127.0.0.1
  closed='Peer has closed the GnuTLS connection'
  ;;
*)
  fail "unknown client $client"
  ;;
esac
client_pid=$last_pid
echo 'hello membio' >&3
wait_for_line "$work_dir/client.out" '^hello membio$'

kill "-$signal" "$server_pid"
expect_exit "$server_pid" 0
expect_exit "$client_pid" 0
expect_line "$work_dir/client.out" "$closed"
expect_line "$work_dir/server.err" '#1 .*: closed at shutdown$'
expect_line "$work_dir/server.err" \
  "accepted 1, finished 0, failed 0, closed at shutdown 1, cut at shutdown 0"
