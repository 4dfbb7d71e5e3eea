package kubeaccess

import (
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"k8s.io/client-go/rest"
)

// RESTConfig is a client-go configuration for the cluster that authenticates as cfg's credentials with the same
// token `tapstack token` prints, signed in process: a new one when the last reaches its expiration. now is the
// clock; nil means time.Now. It is how tapstack itself talks to the cluster, with no kubeconfig or plugin.
func RESTConfig(cfg aws.Config, c Cluster, now func() time.Time) *rest.Config {
	if now == nil {
		now = time.Now
	}
	tokens := &tokenCache{cfg: cfg, cluster: c.Name, now: now}
	return &rest.Config{
		Host:            c.Endpoint,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.CAData},
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			return &bearerTransport{tokens: tokens, next: rt}
		},
	}
}

// tokenCache keeps the last token until its expiration.
type tokenCache struct {
	cfg     aws.Config
	cluster string
	now     func() time.Time

	mu  sync.Mutex
	tok Token
}

func (c *tokenCache) get(r *http.Request) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.Value == "" || !c.now().Before(c.tok.Expiration) {
		tok, err := NewToken(r.Context(), c.cfg, c.cluster, c.now)
		if err != nil {
			return "", err
		}
		c.tok = tok
	}
	return c.tok.Value, nil
}

type bearerTransport struct {
	tokens *tokenCache
	next   http.RoundTripper
}

func (t *bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := t.tokens.get(r)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
	r.Header.Set("Authorization", "Bearer "+tok)
	return t.next.RoundTrip(r)
}
