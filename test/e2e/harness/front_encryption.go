package harness

import (
	"encoding/json"
	"net/http"
)

// associateEncryptionConfig serves AssociateEncryptionConfig (POST /clusters/{name}/encryption-config/associate),
// which moto lacks. EKS's rules: secrets encryption is enabled once and never removed or moved to another key
// (U4: EKS user guide, enable-kms, "You can't disable secrets encryption after enabling it. This action is
// irreversible."; terraform-provider-aws #19968, InvalidParameterException "Encryption is already enabled on the
// cluster"); the key must be usable (U5, keyRefused); not while another update is in progress (U2). The cluster
// reports the configuration once the update completes.
func (f *Front) associateEncryptionConfig(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string) {
	var req struct {
		EncryptionConfig []any `json:"encryptionConfig"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	ids := map[string]any{"clusterName": cluster}
	if len(req.EncryptionConfig) != 1 {
		invalidParameter(w, "encryptionConfig must hold exactly one configuration", ids) // invented
		return
	}
	cur := f.clusterOrError(w, r, e.region, cluster)
	if cur == nil {
		return
	}
	if ec, _ := cur["encryptionConfig"].([]any); len(ec) > 0 {
		invalidParameter(w, "Encryption is already enabled on the cluster", ids)
		return
	}
	if f.keyRefused(w, r, e.region, cluster, req.EncryptionConfig) {
		return
	}
	u := newUpdate("AssociateEncryptionConfig", "InProgress", []map[string]string{
		{"type": "EncryptionConfig", "value": mustJSON(req.EncryptionConfig)},
	})
	f.mu.Lock()
	c, ok := f.startUpdate(clusterOverlayKey(e.region, cluster), frontUpdate{cluster: cluster, body: u}, func() {
		f.setClusterFieldLocked(e.region, cluster, "encryptionConfig", req.EncryptionConfig)
	}, nil)
	f.mu.Unlock()
	if !ok {
		inUse(w, "AssociateEncryptionConfig", cluster, c)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"update": u})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
