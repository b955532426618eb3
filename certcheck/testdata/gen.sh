#!/bin/sh
# Regenerates the PEM fixtures of certcheck's tests with OpenSSL 3, whose
# encodings differ from Go's (T61String and BMPString names, RSA-PSS,
# DSA, v1 certificates, UTCTime from 1950, GeneralizedTime after 2049).
# The files are committed; run this only to change them.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
o() { openssl "$@" 2>/dev/null; }

o req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" -out root-ca-rsa2048.pem -days 36500 \
  -subj "/C=TW/O=Example Lab/CN=Example Lab Root CA" -sha256
ca() { # ca <csr> <out> <extfile> [x509 options...]
  csr=$1 out=$2 ext=$3; shift 3
  o x509 -req -in "$csr" -CA root-ca-rsa2048.pem -CAkey "$tmp/ca.key" -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
    -out "$out" -extfile "$ext" "$@"
}
csr() { # csr <key options> <subject> [req options...]
  keyopt=$1 subj=$2; shift 2
  o req -new $keyopt -nodes -keyout "$tmp/k" -out "$tmp/csr" -subj "$subj" "$@"
}
ext() { printf '%s\n' "$@" > "$tmp/ext"; }

csr "-newkey rsa:2048" "/CN=cucm1.example.com"
ext "subjectAltName=DNS:cucm1.example.com,IP:10.10.10.1,email:admin@example.com,URI:sip:cucm1.example.com" \
  "extendedKeyUsage=serverAuth,clientAuth" "keyUsage=critical,digitalSignature,keyEncipherment" "basicConstraints=CA:FALSE"
ca "$tmp/csr" node-rsapss-sha256.pem "$tmp/ext" -days 36500 -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32

csr "-newkey ec -pkeyopt ec_paramgen_curve:P-384" "/O=Example Lab/OU=Edge/CN=expc1.example.com"
ext "subjectAltName=DNS:expc1.example.com,DNS:mra.example.com" "extendedKeyUsage=clientAuth,serverAuth" \
  "authorityKeyIdentifier=keyid,issuer" "subjectKeyIdentifier=hash"
ca "$tmp/csr" edge-ecdsa-p384.pem "$tmp/ext" -days 36500 -sha384

csr "-newkey ec -pkeyopt ec_paramgen_curve:P-521" "/CN=self521.example.com" -x509 -days 36500 -sha512 \
  -addext "basicConstraints=critical,CA:FALSE" -addext "subjectAltName=DNS:self521.example.com"
mv "$tmp/csr" self-signed-p521.pem

csr "-newkey ed25519" "/CN=ed.example.com" -x509 -days 36500 \
  -addext "basicConstraints=critical,CA:FALSE" -addext "subjectAltName=DNS:ed.example.com" -addext "extendedKeyUsage=serverAuth"
mv "$tmp/csr" self-signed-ed25519.pem

o dsaparam -out "$tmp/dsa.param" 2048
csr "-newkey dsa:$tmp/dsa.param" "/CN=dsa.example.com"
ext "subjectAltName=DNS:dsa.example.com" "extendedKeyUsage=1.3.6.1.5.5.7.3.17,1.3.6.1.4.1.311.10.3.3,codeSigning"
ca "$tmp/csr" dsa-key-unknown-eku.pem "$tmp/ext" -days 36500 -sha256

csr "-newkey rsa:1024" "/CN=old.example.com"
ext "subjectAltName=DNS:old.example.com" "extendedKeyUsage=serverAuth"
ca "$tmp/csr" sha1-rsa1024.pem "$tmp/ext" -days 36500 -sha1

csr "-newkey rsa:2048" "/CN=v1.example.com"
printf '' > "$tmp/empty"
o x509 -req -in "$tmp/csr" -CA root-ca-rsa2048.pem -CAkey "$tmp/ca.key" -set_serial 7 -out v1-no-extensions.pem -days 36500 -sha256

# Names in T61String (Latin-1), BMPString (CJK), IA5String (DC, email),
# a multi-valued RDN, and a critical extension x509 does not know.
cat > "$tmp/req.cnf" <<'CNF'
[req]
distinguished_name = dn
string_mask = default
prompt = no
[dn]
CNF
csr "-newkey rsa:2048" "/DC=com/DC=example/O=Réseau Téléphonie/L=臺北/CN=cucm2.example.com+OU=Voice/emailAddress=voice@example.com" \
  -utf8 -multivalue-rdn -config "$tmp/req.cnf"
ext "subjectAltName=DNS:cucm2.example.com,DNS:*.cucm.example.com,IP:2001:db8::2" "1.3.6.1.4.1.55555.1=critical,ASN1:UTF8String:lab" \
  "extendedKeyUsage=serverAuth" "certificatePolicies=1.3.6.1.4.1.55555.2"
ca "$tmp/csr" names-t61-bmp-ia5-multivalued.pem "$tmp/ext" -days 36500 -sha256

# An intermediate with a path length of 0 and name constraints.
csr "-newkey rsa:2048" "/O=Example Lab/CN=Example Lab Issuing CA"
ext "basicConstraints=critical,CA:TRUE,pathlen:0" "keyUsage=critical,keyCertSign,cRLSign" \
  "nameConstraints=critical,permitted;DNS:example.com" "crlDistributionPoints=URI:http://crl.example.com/ca.crl" \
  "authorityInfoAccess=OCSP;URI:http://ocsp.example.com/"
ca "$tmp/csr" intermediate-pathlen0-constraints.pem "$tmp/ext" -days 36500 -sha256

# Fixed dates, signed with openssl ca: UTCTime from 1950 to 2049, and an
# expired certificate.
mkdir -p "$tmp/ca/new"
: > "$tmp/ca/index.txt"
cat > "$tmp/ca.cnf" <<CNF
[ca]
default_ca = lab
[lab]
database = $tmp/ca/index.txt
new_certs_dir = $tmp/ca/new
serial = $tmp/ca/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
CNF
echo 1000 > "$tmp/ca/serial"
cad() { # cad <subject> <start> <end> <out> [ca options...]
  subj=$1 start=$2 end=$3 out=$4; shift 4
  csr "-newkey rsa:2048" "$subj"
  o ca -batch -config "$tmp/ca.cnf" -cert root-ca-rsa2048.pem -keyfile "$tmp/ca.key" -in "$tmp/csr" \
    -startdate "$start" -enddate "$end" -notext -out "$tmp/out" -extfile "$tmp/ext" "$@"
  o x509 -in "$tmp/out" -out "$out"
}
ext "subjectAltName=DNS:span.example.com" "extendedKeyUsage=serverAuth"
cad "/CN=span.example.com" 500101000000Z 491231235959Z utctime-1950-to-2049.pem
ext "subjectAltName=DNS:expired.example.com" "extendedKeyUsage=clientAuth"
cad "/CN=expired.example.com" 20200101000000Z 20210101000000Z expired-2021-edge.pem
