package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/sipoauth/sdk/internal/loaddevices"
	"github.com/sipoauth/sdk/issuer"
)

// maxDevices bounds -devices: every device costs one RSA signature and a
// few kilobytes on disk.
const maxDevices = 1_000_000

// Names of the files written into the directory.
const (
	DevicesFile   = "devices.json"        // the registrar's -devices
	KeysFile      = "signing-key.pub.pem" // the registrar's -keys
	ClusterFile   = "cluster-key.json"    // the registrar's -decryption-key
	CertFile      = "node.pem"            // the registrar's -cert, Kamailio's certificate, tlsload's -ca
	KeyFile       = "node.key"            // the registrar's -key, Kamailio's private key
	ConfigFile    = "registrar.json"      // the registrar's -config, naming the files above
	BearerCSV     = "bearer.csv"          // SIPp injection file: user;device;token
	DigestCSV     = "digest.csv"          // SIPp injection file: user;device;[authentication username=… password=…]
	KamailioDBDir = "kamailio-db"         // db_text directory: the htable "htable" of users and passwords
)

// options are the command's settings.
type options struct {
	dir      string
	devices  int
	issuer   string
	audience string
	ttl      time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", "", "directory to write into (created; files in it are replaced)")
	flag.IntVar(&o.devices, "devices", 20000, "number of devices and users (CSFload00000 of load00000, ...)")
	flag.StringVar(&o.issuer, "issuer", "https://bench.invalid", "iss of the tokens, the registrar's -issuer")
	flag.StringVar(&o.audience, "audience", "sip", "aud of the tokens, the registrar's -audience")
	flag.DurationVar(&o.ttl, "ttl", 12*time.Hour, "lifetime of the tokens (at most 24h, the registrar's -max-token-lifetime)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: setup -dir DIR [-devices N]\n\nWrites the files a registrar-versus-Kamailio comparison needs into DIR.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "setup: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(2)
	}
	start := time.Now()
	if err := write(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d devices into %s in %.1f s\n", o.devices, o.dir, time.Since(start).Seconds())
}

func (o options) check() error {
	switch {
	case o.dir == "":
		return errors.New("-dir is required")
	case o.devices < 1 || o.devices > maxDevices:
		return fmt.Errorf("-devices %d: want 1 to %d", o.devices, maxDevices)
	case o.ttl <= 0 || o.ttl > 24*time.Hour:
		return fmt.Errorf("-ttl %s: want more than 0 and at most 24h", o.ttl)
	case o.issuer == "" || o.audience == "":
		return errors.New("-issuer and -audience must not be empty")
	}
	return nil
}

// write writes every file of o into o.dir, and one line per file to w.
func write(o options, w io.Writer) error {
	if err := os.MkdirAll(filepath.Join(o.dir, KamailioDBDir), 0o755); err != nil {
		return err
	}
	iss, err := issuer.New(issuer.Config{Issuer: o.issuer, Audience: []string{o.audience}, Nested: true})
	if err != nil {
		return err
	}
	tokens, err := loaddevices.Mint(iss, o.devices, o.ttl)
	if err != nil {
		return err
	}
	passwords := make([]string, o.devices)
	for i := range passwords {
		passwords[i] = randomHex(8)
	}

	put := func(name string, mode os.FileMode, data []byte) error {
		if err := os.WriteFile(filepath.Join(o.dir, name), data, mode); err != nil {
			return err
		}
		fmt.Fprintf(w, "  %-22s %d bytes\n", name, len(data))
		return nil
	}
	type device struct {
		Name  string `json:"name"`
		Owner string `json:"owner"`
		OAuth bool   `json:"oauth"`
	}
	devs := make([]device, o.devices)
	for i := range devs {
		devs[i] = device{Name: loaddevices.DeviceName(i), Owner: loaddevices.UserName(i), OAuth: true}
	}
	devJSON, err := json.Marshal(devs)
	if err != nil {
		return err
	}
	kid, key := iss.EncryptionKey()
	clusterJSON, err := json.Marshal(map[string]string{kid: base64.StdEncoding.EncodeToString(key)})
	if err != nil {
		return err
	}
	certPEM, keyPEM, err := selfSigned()
	if err != nil {
		return err
	}
	cfgJSON, err := json.MarshalIndent(map[string]any{
		"cert": CertFile, "key": KeyFile, "keys": KeysFile, "decryption-key": ClusterFile,
		"devices": DevicesFile, "issuer": []string{o.issuer}, "audience": []string{o.audience},
	}, "", "  ")
	if err != nil {
		return err
	}
	files := []struct {
		name string
		mode os.FileMode
		data []byte
	}{
		{DevicesFile, 0o644, append(devJSON, '\n')},
		{KeysFile, 0o644, iss.PublicKeyPEM()},
		{ClusterFile, 0o600, append(clusterJSON, '\n')},
		{CertFile, 0o644, certPEM},
		{KeyFile, 0o600, keyPEM},
		{ConfigFile, 0o644, append(cfgJSON, '\n')},
	}
	for _, f := range files {
		if err := put(f.name, f.mode, f.data); err != nil {
			return err
		}
	}
	lines := func(name string, header string, line func(i int) string) error {
		f, err := os.OpenFile(filepath.Join(o.dir, name), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(f)
		bw.WriteString(header)
		for i := range o.devices {
			bw.WriteString(line(i))
		}
		if err := bw.Flush(); err != nil {
			f.Close()
			return err
		}
		st, err := f.Stat()
		if err == nil {
			fmt.Fprintf(w, "  %-22s %d bytes\n", name, st.Size())
		}
		return errors.Join(err, f.Close())
	}
	if err := lines(BearerCSV, "SEQUENTIAL\n", func(i int) string {
		return loaddevices.UserName(i) + ";" + loaddevices.DeviceName(i) + ";" + tokens[i] + "\n"
	}); err != nil {
		return err
	}
	if err := lines(DigestCSV, "SEQUENTIAL\n", func(i int) string {
		return fmt.Sprintf("%s;%s;[authentication username=%s password=%s]\n", loaddevices.UserName(i), loaddevices.DeviceName(i), loaddevices.UserName(i), passwords[i])
	}); err != nil {
		return err
	}
	// Kamailio's db_text form of the htable module's table: key_type 0
	// (one value), value_type 0 (string), expires 0 (never).
	if err := lines(filepath.Join(KamailioDBDir, "htable"),
		"id(int,auto) key_name(str) key_type(int) value_type(int) key_value(str) expires(int)\n",
		func(i int) string { return fmt.Sprintf("%d:%s:0:0:%s:0\n", i+1, loaddevices.UserName(i), passwords[i]) }); err != nil {
		return err
	}
	return put(filepath.Join(KamailioDBDir, "version"), 0o644, []byte("table_name(str) table_version(int)\nhtable:2\n"))
}

// selfSigned makes a P-256 certificate for localhost, 127.0.0.1 and ::1,
// valid for 30 days, and its PKCS#8 key, both PEM.
func selfSigned() (certPEM, keyPEM []byte, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"sipoauth bench"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}
