package harness

import (
	"encoding/base64"
	"strings"
)

// kubeAPI is the Kubernetes API server a cluster's description points at.
type kubeAPI struct {
	endpoint string
	caData   string // base64 of the PEM bundle, as EKS reports certificateAuthority.data
}

// ServeKubernetesAPI makes DescribeCluster (and the other answers that describe the cluster) report endpoint and
// the CA bundle caPEM for the cluster named cluster, in place of moto's made-up host name and random data: a real
// API server, such as test/kubeapi's, then answers the cluster's Kubernetes API. The cluster's Kubernetes version
// stays the one EKS reports, whatever that server's own /version says.
func (f *Front) ServeKubernetesAPI(cluster, endpoint string, caPEM []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kubeAPIs == nil {
		f.kubeAPIs = map[string]kubeAPI{}
	}
	f.kubeAPIs[cluster] = kubeAPI{endpoint: endpoint, caData: base64.StdEncoding.EncodeToString(caPEM)}
}

// kubeAPIFieldsLocked sets the endpoint and CA of a cluster description (overlay key key) that ServeKubernetesAPI
// names; call it with f.mu held.
func (f *Front) kubeAPIFieldsLocked(key string, desc map[string]any) {
	if !strings.HasPrefix(key, "cluster/") {
		return
	}
	if k, ok := f.kubeAPIs[str(desc["name"])]; ok {
		desc["endpoint"] = k.endpoint
		desc["certificateAuthority"] = map[string]any{"data": k.caData}
	}
}
