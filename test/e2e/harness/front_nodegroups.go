package harness

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Node group versions and cluster upgrades. moto 5.2.1 gives a node group created without a version Kubernetes
// 1.19 (EKS gives it the cluster's), accepts any version on create (EKS only the cluster's), and lacks
// UpdateNodegroupVersion; the front's UpdateClusterVersion also refuses to move a control plane past node groups
// that are not on its version, as EKS does ("Nodegroups ... must be updated to match cluster version ... before
// updating cluster version").

// FailClusterUpgradeTo makes every UpdateClusterVersion to version fail the way EKS reports a failed update: the
// call is accepted (InProgress), DescribeUpdate then reports the update Failed with an error, and the cluster keeps
// its version. An empty version lets upgrades succeed again.
func (f *Front) FailClusterUpgradeTo(version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failUpgradeTo = version
}

// releaseVersionFor is the AMI release version the front reports for a Kubernetes version: shaped like EKS's
// (1.31.3-20250103), not a real one.
func releaseVersionFor(k8s string) string { return k8s + ".0-20250101" }

// clusterVersion is the version the front reports for a cluster (moto's, or the one an UpdateClusterVersion set);
// ok is false when the cluster cannot be read.
func (f *Front) clusterVersion(r *http.Request, region, cluster string) (string, bool) {
	status, raw, err := f.describeCluster(r, cluster)
	var body struct {
		Cluster motoCluster `json:"cluster"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(raw, &body) != nil {
		return "", false
	}
	v := body.Cluster.Version
	f.mu.Lock()
	defer f.mu.Unlock()
	if o := f.overlays[clusterOverlayKey(region, cluster)]; o != nil && o.set["version"] != nil {
		v = str(o.set["version"])
	}
	return v, true
}

// nodegroup is moto's description of a node group with the front's overlay applied; status is moto's HTTP status.
func (f *Front) nodegroup(r *http.Request, region, cluster, name string) (map[string]any, int, error) {
	status, raw, err := f.askMoto(r, http.MethodGet, "/clusters/"+url.PathEscape(cluster)+"/node-groups/"+url.PathEscape(name), nil, nil)
	if err != nil || status != http.StatusOK {
		return nil, status, err
	}
	var body struct {
		Nodegroup map[string]any `json:"nodegroup"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.Nodegroup == nil {
		return nil, http.StatusInternalServerError, fmt.Errorf("moto's node group %s: %s", name, raw)
	}
	f.apply(nodegroupOverlayKey(region, cluster, name), body.Nodegroup)
	return body.Nodegroup, status, nil
}

// defaultNodegroupVersion gives a CreateNodegroup without a version the cluster's version (and a release version
// of it), as EKS does, by completing the request body before moto sees it.
func (f *Front) defaultNodegroupVersion(r *http.Request, region, cluster string, body map[string]any) {
	if body == nil || str(body["version"]) != "" {
		return
	}
	v, ok := f.clusterVersion(r, region, cluster)
	if !ok {
		return // moto answers the call itself
	}
	body["version"] = v
	if str(body["releaseVersion"]) == "" {
		body["releaseVersion"] = releaseVersionFor(v)
	}
	if b, err := json.Marshal(body); err == nil {
		setBody(r, b)
	}
}

// refuseNodegroupVersion answers a CreateNodegroup whose version is not the cluster's with EKS's error and returns
// true; otherwise the call goes on to moto. EKS: "By default, the Kubernetes version of the cluster is used, and
// this is the only accepted specified value."
func (f *Front) refuseNodegroupVersion(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string) bool {
	var body struct {
		Name    string `json:"nodegroupName"`
		Version string `json:"version"`
	}
	if json.Unmarshal(peekBody(r), &body) != nil || body.Version == "" {
		return false
	}
	v, ok := f.clusterVersion(r, e.region, cluster)
	if !ok || v == body.Version {
		return false
	}
	invalidParameter(w, fmt.Sprintf("Requested Nodegroup version %s is invalid. Allowed version is %s", body.Version, v),
		map[string]any{"clusterName": cluster, "nodegroupName": body.Name})
	return true
}

// updateNodegroupVersion serves UpdateNodegroupVersion (POST /clusters/{name}/node-groups/{ng}/update-version).
// EKS's rules: without a version, the node group moves to the cluster's; a version must be the cluster's, or the
// node group's own (a newer AMI); never back; a release version must belong to the version; a launch template
// only for a node group created with one, and the same one. The update is reported Successful by DescribeUpdate
// (with nodegroupName) and the node group then reports the new version.
func (f *Front) updateNodegroupVersion(w http.ResponseWriter, r *http.Request, e eksRequest, cluster, name string) {
	var req struct {
		Version        string `json:"version"`
		ReleaseVersion string `json:"releaseVersion"`
		LaunchTemplate *struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"launchTemplate"`
		Force bool `json:"force"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	ca := f.cluster(w, r, e, cluster)
	if ca == nil {
		return
	}
	ids := map[string]any{"clusterName": cluster, "nodegroupName": name}
	ng, status, err := f.nodegroup(r, e.region, cluster, name)
	switch {
	case err != nil:
		eksError(w, http.StatusInternalServerError, "ServerException", "front: ask moto for the node group: "+err.Error(), nil)
		return
	case status == http.StatusNotFound:
		notFound(w, "No node group found for name: "+name+".", ids)
		return
	case status != http.StatusOK:
		eksError(w, http.StatusInternalServerError, "ServerException", fmt.Sprintf("front: moto answered DescribeNodegroup with HTTP %d", status), nil)
		return
	}
	current := str(ng["version"])
	target := req.Version
	if target == "" {
		target = ca.k8s
	}
	switch from, to, cl := minor(current), minor(target), minor(ca.k8s); {
	case to < 0:
		invalidParameter(w, "unsupported Kubernetes version "+target, ids)
		return
	case to < from:
		invalidParameter(w, fmt.Sprintf("Requested Nodegroup version %s is invalid: a node group cannot be rolled back from %s", target, current), ids)
		return
	case to > cl:
		invalidParameter(w, fmt.Sprintf("Requested Nodegroup version %s is invalid: it is newer than the cluster's version %s", target, ca.k8s), ids)
		return
	case to != from && to != cl:
		invalidParameter(w, fmt.Sprintf("Requested Nodegroup version %s is invalid. Allowed version is %s", target, ca.k8s), ids)
		return
	}
	release := req.ReleaseVersion
	if release == "" {
		release = releaseVersionFor(target)
	} else if !strings.HasPrefix(release, target+".") {
		invalidParameter(w, fmt.Sprintf("Requested release version %s is not valid for kubernetes version %s.", release, target), ids)
		return
	}
	params := []map[string]string{{"type": "Version", "value": target}, {"type": "ReleaseVersion", "value": release}}
	set := map[string]any{"version": target, "releaseVersion": release}
	if lt := req.LaunchTemplate; lt != nil {
		have, _ := ng["launchTemplate"].(map[string]any)
		switch {
		case have == nil:
			invalidParameter(w, "You cannot specify a launch template: node group "+name+" was not created with one", ids)
			return
		case lt.ID != "" && lt.ID != str(have["id"]), lt.Name != "" && lt.Name != str(have["name"]):
			invalidParameter(w, "The launch template ID or name must match the one node group "+name+" was created with", ids)
			return
		}
		merged := map[string]any{}
		for k, v := range have {
			merged[k] = v
		}
		if lt.Version != "" {
			merged["version"] = lt.Version
			params = append(params, map[string]string{"type": "LaunchTemplateVersion", "value": lt.Version})
		}
		set["launchTemplate"] = merged
	}
	f.mu.Lock()
	key := nodegroupOverlayKey(e.region, cluster, name)
	o := f.overlays[key]
	if o == nil {
		o = &overlay{}
		f.overlays[key] = o
	}
	if o.set == nil {
		o.set = map[string]any{}
	}
	for k, v := range set {
		o.set[k] = v
	}
	f.mu.Unlock()
	u := newUpdate("VersionUpdate", "InProgress", params)
	f.remember(frontUpdate{cluster: cluster, nodegroup: name, body: u})
	writeJSON(w, http.StatusOK, map[string]any{"update": u})
}

// upgradeCluster serves UpdateClusterVersion (POST /clusters/{name}/updates): it refuses a step past node groups
// that are not on the cluster's version, fails the update FailClusterUpgradeTo names, and leaves the rest to
// updateClusterVersion (one minor version at a time).
func (f *Front) upgradeCluster(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string) {
	var req struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(peekBody(r), &req) != nil {
		f.updateClusterVersion(w, r, e, cluster) // its own error
		return
	}
	from, ok := f.clusterVersion(r, e.region, cluster)
	if !ok || minor(req.Version) != minor(from)+1 || minor(req.Version) < 0 {
		f.updateClusterVersion(w, r, e, cluster)
		return
	}
	behind, err := f.nodegroupsBehind(r, e.region, cluster, from)
	if err != nil {
		eksError(w, http.StatusInternalServerError, "ServerException", "front: "+err.Error(), nil)
		return
	}
	if len(behind) > 0 {
		invalidParameter(w, fmt.Sprintf("Nodegroups %s must be updated to match cluster version %s before updating cluster version",
			strings.Join(behind, ", "), from), map[string]any{"clusterName": cluster})
		return
	}
	f.mu.Lock()
	fail := f.failUpgradeTo != "" && f.failUpgradeTo == req.Version
	f.mu.Unlock()
	if fail {
		u := newUpdate("VersionUpdate", "InProgress", []map[string]string{
			{"type": "Version", "value": req.Version}, {"type": "PlatformVersion", "value": "eks.1"},
		})
		failed := map[string]any{}
		for k, val := range u {
			failed[k] = val
		}
		failed["status"] = "Failed"
		failed["errors"] = []map[string]any{{
			"errorCode":    "InsufficientFreeAddresses",
			"errorMessage": "front: the upgrade to " + req.Version + " failed (FailClusterUpgradeTo)",
			"resourceIds":  []string{cluster},
		}}
		f.mu.Lock()
		f.updates[str(u["id"])] = frontUpdate{cluster: cluster, body: failed}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"update": u})
		return
	}
	f.updateClusterVersion(w, r, e, cluster)
}

// nodegroupsBehind lists the node groups of a cluster whose version is not version, sorted.
func (f *Front) nodegroupsBehind(r *http.Request, region, cluster, version string) ([]string, error) {
	status, raw, err := f.askMoto(r, http.MethodGet, "/clusters/"+url.PathEscape(cluster)+"/node-groups", nil, nil)
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("ask moto for the node groups of %s: HTTP %d, %v", cluster, status, err)
	}
	var list struct {
		Nodegroups []string `json:"nodegroups"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("moto's node groups of %s: %s", cluster, raw)
	}
	var behind []string
	for _, name := range list.Nodegroups {
		ng, status, err := f.nodegroup(r, region, cluster, name)
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("ask moto for node group %s: HTTP %d, %v", name, status, err)
		}
		if str(ng["version"]) != version {
			behind = append(behind, name)
		}
	}
	sort.Strings(behind)
	return behind, nil
}
