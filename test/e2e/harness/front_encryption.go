package harness

import (
	"encoding/json"
	"net/http"
)

// associateEncryptionConfig serves AssociateEncryptionConfig (POST /clusters/{name}/encryption-config/associate),
// which moto lacks: as EKS, once per cluster; the cluster then reports the configuration.
func (f *Front) associateEncryptionConfig(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string) {
	var req struct {
		EncryptionConfig []map[string]any `json:"encryptionConfig"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	ids := map[string]any{"clusterName": cluster}
	if len(req.EncryptionConfig) != 1 {
		invalidParameter(w, "encryptionConfig must hold exactly one configuration", ids)
		return
	}
	status, raw, err := f.describeCluster(r, cluster)
	if err != nil || status == http.StatusNotFound {
		notFound(w, "No cluster found for name: "+cluster+".", ids)
		return
	}
	var body struct {
		Cluster map[string]any `json:"cluster"`
	}
	_ = json.Unmarshal(raw, &body)
	if body.Cluster != nil {
		f.apply(clusterOverlayKey(e.region, cluster), body.Cluster)
		if ec, _ := body.Cluster["encryptionConfig"].([]any); len(ec) > 0 {
			eksError(w, http.StatusBadRequest, "InvalidRequestException", "Encryption is already enabled on the cluster", ids)
			return
		}
	}
	ec := make([]any, len(req.EncryptionConfig))
	for i, c := range req.EncryptionConfig {
		ec[i] = c
	}
	f.setClusterField(e.region, cluster, "encryptionConfig", ec)
	u := newUpdate("AssociateEncryptionConfig", "InProgress", []map[string]string{
		{"type": "EncryptionConfig", "value": mustJSON(req.EncryptionConfig)},
	})
	f.remember(frontUpdate{cluster: cluster, body: u})
	writeJSON(w, http.StatusOK, map[string]any{"update": u})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
