package audittest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

// TestNewPKI: the server certificate verifies against the CA for
// 127.0.0.1 and localhost, the client certificate for client auth, each
// with its key; neither verifies against OtherCA.
func TestNewPKI(t *testing.T) {
	p := NewPKI(t)
	pool := func(file string) *x509.CertPool {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		cp := x509.NewCertPool()
		if !cp.AppendCertsFromPEM(b) {
			t.Fatalf("%s: no certificate", file)
		}
		return cp
	}
	leaf := func(cert, key string) *x509.Certificate {
		kp, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatalf("%s with %s: %v", cert, key, err)
		}
		c, err := x509.ParseCertificate(kp.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	server := leaf(p.ServerCert, p.ServerKey)
	client := leaf(p.ClientCert, p.ClientKey)
	ca, other := pool(p.CAFile), pool(p.OtherCA)
	for _, name := range []string{"127.0.0.1", "localhost"} {
		if _, err := server.Verify(x509.VerifyOptions{Roots: ca, DNSName: name}); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}
	clientAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if _, err := client.Verify(x509.VerifyOptions{Roots: ca, KeyUsages: clientAuth}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: other, DNSName: "127.0.0.1"}); err == nil {
		t.Error("server certificate verifies against OtherCA")
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: other, KeyUsages: clientAuth}); err == nil {
		t.Error("client certificate verifies against OtherCA")
	}
}
