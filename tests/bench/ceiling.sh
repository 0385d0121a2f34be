#!/usr/bin/env bash
# The crypto ceiling on this machine, from `openssl speed`, and how close
# membio_bench's figures come to it.
#
#   tests/bench/ceiling.sh [bench.csv] [--seconds N]   (default 3 per test)
#
# Bulk: one way through write, drain, feed and read, each byte is sealed once
# and opened once, in one thread; the ceiling is 1 / (1/E + 1/D), E and D
# the cipher's encrypt and decrypt speeds over 16 KiB blocks.
# Handshakes: the public-key operations of one handshake, both sides:
#   full, ECDSA P-256 (TLS 1.3 or 1.2): 4 X25519 (a key pair and a shared
#     secret on each side), 1 ECDSA sign (server), 2 ECDSA verify (client:
#     the handshake signature and the authority's signature on the leaf)
#   full, RSA-2048: 4 X25519, 1 RSA sign, 2 RSA verify
#   resumed (TLS 1.3 ticket with a new X25519 exchange): 4 X25519
# `openssl speed` times only the shared secret of X25519; making a key pair
# is one scalar multiplication too, and is counted at the same cost. The
# share of a handshake outside this crypto is 1 - crypto time x handshakes/s.
# Both tools count CPU time (membio_bench by default, openssl speed always).
set -euo pipefail

csv=""
seconds=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=${2:?}; shift 2 ;;
    -*) sed -n '2,5s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    *) csv=$1; shift ;;
  esac
done

# Prints the bytes per second of one cipher over 16 KiB, encrypting or
# (with -decrypt) decrypting.
cipher_speed() {
  openssl speed -mr -seconds "$seconds" "$@" -bytes 16384 2>/dev/null |
    awk -F: '$1 == "+F" { print $4 }'
}

# Prints "x25519 ecdsa_sign ecdsa_verify rsa_sign rsa_verify", in operations
# per second.
public_key_speeds() {
  openssl speed -mr -seconds "$seconds" ecdhx25519 ecdsap256 rsa2048 \
    2>/dev/null | awk -F: '
      $1 == "+F2" { rsa_sign = $4; rsa_verify = $5 }
      $1 == "+F4" { ecdsa_sign = $4; ecdsa_verify = $5 }
      $1 == "+F5" { x25519 = $4 }
      END { print x25519, ecdsa_sign, ecdsa_verify, rsa_sign, rsa_verify }'
}

echo "ceiling.sh: openssl speed, $seconds s per test" \
  "($(openssl version | cut -d' ' -f1-2)); load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" >&2

ciphers=""
for pair in aes-128-gcm:AES-128-GCM aes-256-gcm:AES-256-GCM \
  chacha20-poly1305:ChaCha20-Poly1305; do
  evp=${pair%%:*}
  name=${pair#*:}
  encrypt=$(cipher_speed -evp "$evp")
  decrypt=$(cipher_speed -decrypt -evp "$evp")
  ciphers+="$name $encrypt $decrypt"$'\n'
done
read -r x25519 ecdsa_sign ecdsa_verify rsa_sign rsa_verify \
  < <(public_key_speeds)

# Everything else is arithmetic: awk reads the speeds, then the CSV if any.
awk -v ciphers="$ciphers" -v x25519="$x25519" -v ecdsa_sign="$ecdsa_sign" \
  -v ecdsa_verify="$ecdsa_verify" -v rsa_sign="$rsa_sign" \
  -v rsa_verify="$rsa_verify" "$(cat "$(dirname "$0")/csv.awk")"'
  function us(seconds) { return sprintf("%.0f us", seconds * 1e6) }
  function percent(x) { return sprintf("%.0f %%", x * 100) }

  BEGIN {
    n = split(ciphers, lines, "\n")
    printf "| cipher, 16 KiB blocks | encrypt MB/s | decrypt MB/s |"
    printf " one-way ceiling MB/s |\n|---|---|---|---|\n"
    for (i = 1; i <= n; i++) {
      if (split(lines[i], c, " ") < 3) continue
      ceiling[c[1]] = 1 / (1 / c[2] + 1 / c[3]) / 1e6
      printf "| %s | %.0f | %.0f | %.0f |\n", c[1], c[2] / 1e6,
        c[3] / 1e6, ceiling[c[1]]
    }

    ecdsa = 4 / x25519 + 1 / ecdsa_sign + 2 / ecdsa_verify
    rsa = 4 / x25519 + 1 / rsa_sign + 2 / rsa_verify
    resumed = 4 / x25519
    printf "\n| operation | per second |\n|---|---|\n"
    printf "| X25519 shared secret | %.0f |\n", x25519
    printf "| ECDSA P-256 sign, verify | %.0f, %.0f |\n", ecdsa_sign,
      ecdsa_verify
    printf "| RSA-2048 sign, verify | %.0f, %.0f |\n", rsa_sign, rsa_verify
    printf "\nCrypto per handshake: ECDSA P-256 %s, RSA-2048 %s, resumed %s.\n",
      us(ecdsa), us(rsa), us(resumed)

    names["membio"] = names["membio-zero-copy"] = 1
    names["openssl"] = names["gnutls"] = 1
  }

  # Rows of the CSV, if one was given.
  FNR == 1 { next }
  {
    split_csv($0, f)
    if (f[7] == "" || !(f[6] in names)) next
    key = f[2]
    if (f[1] == "full handshake" || f[1] == "resumed handshake") {
      crypto = ecdsa
      if (index(key, "RSA")) crypto = rsa
      if (f[1] == "resumed handshake") crypto = resumed
      what[key] = "time outside the crypto (" us(crypto) " of crypto)"
      cell[key, f[6]] = percent(1 - crypto * f[7])
    } else if (f[1] == "bulk" && f[5] == 16384) {
      what[key] = sprintf("share of the %.0f MB/s ceiling", ceiling[f[4]])
      cell[key, f[6]] = percent(f[7] / ceiling[f[4]])
    } else {
      next
    }
    if (!(key in seen)) {
      seen[key] = 1
      order[++rows] = key
    }
  }

  END {
    if (!rows) exit
    printf "\n| workload | measure | membio | membio zero-copy |"
    printf " raw OpenSSL | GnuTLS |\n|---|---|---|---|---|---|\n"
    for (i = 1; i <= rows; i++) {
      key = order[i]
      printf "| %s | %s | %s | %s | %s | %s |\n", key, what[key],
        cell[key, "membio"], cell[key, "membio-zero-copy"],
        cell[key, "openssl"], cell[key, "gnutls"]
    }
    printf "\nThe GnuTLS column is set against OpenSSL'"'"'s crypto speeds;"
    printf " GnuTLS computes with nettle, whose own speeds may differ.\n"
  }
' ${csv:+"$csv"} </dev/null
