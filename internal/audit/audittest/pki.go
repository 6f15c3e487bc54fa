package audittest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// PKI is a throw-away CA with a server certificate for localhost and
// 127.0.0.1 and a client certificate, written as PEM files (keys as
// PKCS#8) for rsyslog and the sink under test.
type PKI struct {
	CAFile                string // the CA's certificate
	ServerCert, ServerKey string // signed by the CA; server and client auth
	ClientCert, ClientKey string // signed by the CA; client auth only
	OtherCA               string // a CA certificate that signed nothing here
}

// NewPKI makes a PKI in a temp dir of t, valid from an hour ago for a
// day, with P-256 keys.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	p := &PKI{
		CAFile: filepath.Join(dir, "ca.pem"), OtherCA: filepath.Join(dir, "other-ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client-key.pem"),
	}
	caKey, caDER := makeCert(t, nil, nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: "hinetd test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	})
	writePEM(t, p.CAFile, "CERTIFICATE", caDER)
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	_, otherDER := makeCert(t, nil, nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: "other CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	})
	writePEM(t, p.OtherCA, "CERTIFICATE", otherDER)
	sk, sDER := makeCert(t, ca, caKey, &x509.Certificate{
		Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
	writePEM(t, p.ServerCert, "CERTIFICATE", sDER)
	writeKey(t, p.ServerKey, sk)
	ck, cDER := makeCert(t, ca, caKey, &x509.Certificate{
		Subject: pkix.Name{CommonName: "hinetd client"}, DNSNames: []string{"client.test"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	writePEM(t, p.ClientCert, "CERTIFICATE", cDER)
	writeKey(t, p.ClientKey, ck)
	return p
}

// serial numbers the certificates: one CA's certificates must differ in
// it, and tests may make PKIs in parallel.
var serial atomic.Int64

// makeCert signs tmpl with parentKey as parent (self-signed when parent
// is nil) for a new key, and returns the key and the certificate's DER.
func makeCert(t testing.TB, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, tmpl *x509.Certificate) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(serial.Add(1))
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeKey(t testing.TB, path string, k *ecdsa.PrivateKey) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, "PRIVATE KEY", der)
}
