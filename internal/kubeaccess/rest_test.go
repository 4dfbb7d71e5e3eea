package kubeaccess

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// A client from RESTConfig trusts the cluster's CA only, sends the token as a bearer, keeps it while it is
// valid and signs a new one at its expiration.
func TestRESTConfig(t *testing.T) {
	var (
		mu    sync.Mutex
		auths []string
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"major": "1", "minor": "36"}`)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	clock := signedAt
	rc := RESTConfig(staticConfig(t, ""), Cluster{Name: "c1", Endpoint: srv.URL, CAData: ca}, func() time.Time { return clock })
	client, err := rest.HTTPClientFor(rc)
	if err != nil {
		t.Fatal(err)
	}
	get := func() {
		t.Helper()
		resp, err := client.Get(srv.URL + "/version")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get()
	clock = clock.Add(13 * time.Minute)
	get()
	clock = clock.Add(time.Minute) // 14 minutes after the first signing: expired
	get()

	if len(auths) != 3 {
		t.Fatalf("%d requests", len(auths))
	}
	dates := make([]string, len(auths))
	for i, a := range auths {
		tok, ok := strings.CutPrefix(a, "Bearer ")
		if !ok {
			t.Fatalf("Authorization %q", a)
		}
		u := decode(t, tok)
		if u.Query().Get("X-Amz-SignedHeaders") != "host;x-k8s-aws-id" {
			t.Errorf("token URL %s", u)
		}
		dates[i] = u.Query().Get("X-Amz-Date")
	}
	if auths[0] != auths[1] {
		t.Error("a valid token was signed again")
	}
	if dates[0] != "20260314T092653Z" || dates[2] != "20260314T094053Z" {
		t.Errorf("tokens signed at %v, want the first at 09:26:53 and a new one at 09:40:53", dates)
	}

	// Another CA: the client refuses the server.
	rc.TLSClientConfig.CAData = otherCA(t)
	client, err = rest.HTTPClientFor(rc)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := client.Get(srv.URL + "/version"); err == nil {
		resp.Body.Close()
		t.Error("a server outside the cluster's CA was trusted")
	}
}

// otherCA is a self-signed CA certificate that signed nothing the test servers hold.
func otherCA(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
