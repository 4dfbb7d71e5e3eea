package incluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The errors client-go gives, from servers on loopback: unreachable only when no API server answered.
func TestUnreachableThroughClientGo(t *testing.T) {
	list := func(t *testing.T, cfg *rest.Config) error {
		t.Helper()
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.StorageV1().StorageClasses().List(context.Background(), metav1.ListOptions{})
		if err == nil {
			t.Fatal("the list succeeded")
		}
		return err
	}

	// Nothing listens: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	if err := list(t, &rest.Config{Host: closed}); !Unreachable(err) {
		t.Errorf("connection refused: %v is not unreachable", err)
	}

	// Connected, but no answer within the client's timeout, as a private endpoint's black hole.
	stuck := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-stuck }))
	defer silent.Close()
	defer close(stuck)
	if err := list(t, &rest.Config{Host: silent.URL, Timeout: 200 * time.Millisecond}); !Unreachable(err) {
		t.Errorf("no answer: %v is not unreachable", err)
	}

	// The API server answered: not unreachable, whatever it said.
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusInternalServerError} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","code":%d}`, code)
		}))
		if err := list(t, &rest.Config{Host: srv.URL}); Unreachable(err) {
			t.Errorf("HTTP %d: %v counted as unreachable", code, err)
		}
		srv.Close()
	}
}

func TestUnreachable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&net.DNSError{Err: "no such host", Name: "x.eks.amazonaws.com", IsNotFound: true}, true},
		{fmt.Errorf("apply: %w", context.DeadlineExceeded), true},
		{context.Canceled, false}, // interrupted: not the network's doing
		{apierrors.NewUnauthorized("no"), false},
		{apierrors.NewForbidden(schema.GroupResource{Resource: "storageclasses"}, "x", errors.New("no")), false},
		{errors.New("get credentials: expired"), false},
	} {
		if got := Unreachable(c.err); got != c.want {
			t.Errorf("%v: %v, want %v", c.err, got, c.want)
		}
	}
}

func TestReachHint(t *testing.T) {
	for _, c := range []struct {
		public bool
		cidrs  []string
		want   string
	}{
		{false, nil, "private only"},
		{true, []string{"203.0.113.0/24"}, "admits only 203.0.113.0/24"},
		{true, []string{"0.0.0.0/0"}, "the runner's own network"},
		{true, nil, "the runner's own network"},
	} {
		if got := ReachHint(c.public, c.cidrs); !strings.Contains(got, c.want) {
			t.Errorf("%v %v: %q, want it to say %q", c.public, c.cidrs, got, c.want)
		}
	}
}
