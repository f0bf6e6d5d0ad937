#!/bin/sh
# Certificates for a LAN test of docker-compose.yml: a small certificate authority of its own and
# a server certificate it signs for the hub's and TURN's names (and any addresses given).
#
#   deploy/make-certs.sh HUB_HOSTNAME TURN_HOSTNAME [IP...]
#
# Writes into deploy/certs/ (CERT_DIR= overrides): fullchain.pem and privkey.pem, which nginx and
# coturn read, and ca.pem, which each kiosk and staff PC must trust (install it into the system's
# or the browser's certificate store) so that the hub's pages open without a warning and the
# browser lets them use the camera. ca.key stays here; keep it or delete it. An existing CA is
# reused, so re-running for new names needs no new trust on the PCs.
#
# In production use a certificate from a real CA (or the government CA) instead: copy its key to
# privkey.pem and the certificate followed by its intermediates to fullchain.pem.
set -eu

if [ "$#" -lt 2 ]; then
    echo "usage: $0 HUB_HOSTNAME TURN_HOSTNAME [IP...]" >&2
    exit 2
fi
hub=$1
turn=$2
shift 2
case "$turn" in
    turn.*) ;;
    # nginx sends TLS to coturn by that name (deploy/nginx/tcd-hub.conf).
    *) echo "error: the TURN name must start with 'turn.' (got '$turn')" >&2; exit 2 ;;
esac

out=${CERT_DIR:-$(dirname "$0")/certs}
mkdir -p "$out"
umask 077
names="DNS:$hub,DNS:$turn"
for ip in "$@"; do
    names="$names,IP:$ip"
done

if [ ! -f "$out/ca.pem" ] || [ ! -f "$out/ca.key" ]; then
    openssl req -x509 -new -nodes -days 3650 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -subj "/O=tcd-hub/CN=tcd-hub LAN test CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$out/ca.key" -out "$out/ca.pem"
fi

openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -subj "/O=tcd-hub/CN=$hub" -keyout "$out/privkey.pem" -out "$out/server.csr"
extensions="$out/server.ext"
cat >"$extensions" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$names
EOF
# 397 days: within what every browser accepts for a server certificate.
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -CAcreateserial -days 397 -sha256 -extfile "$extensions" -out "$out/fullchain.pem"
rm -f "$out/server.csr" "$extensions"
# nginx's and coturn's master processes read these as root; the kiosks get ca.pem.
chmod 600 "$out/privkey.pem" "$out/ca.key"
chmod 644 "$out/fullchain.pem" "$out/ca.pem"
echo "wrote $out/fullchain.pem and $out/privkey.pem for $names"
echo "trust $out/ca.pem on every kiosk and staff PC"
