package engine

import (
	"slices"
	"testing"
)

func TestBackendConfig(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"real AWS", nil, nil},
		{"one endpoint for every service", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, []string{"use_path_style=true"}},
		{"an S3 endpoint", map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"}, []string{"use_path_style=true"}},
		{"another service's endpoint only", map[string]string{"AWS_ENDPOINT_URL_EKS": "http://127.0.0.1:5000"}, nil},
		{"endpoints ignored", map[string]string{"AWS_ENDPOINT_URL": "http://x", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, nil},
		{"empty", map[string]string{"AWS_ENDPOINT_URL": ""}, nil},
	} {
		got := BackendConfig(func(k string) string { return c.env[k] })
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: BackendConfig = %v, want %v", c.name, got, c.want)
		}
	}
}
