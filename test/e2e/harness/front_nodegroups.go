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
	u := newUpdate("VersionUpdate", "InProgress", params)
	key := nodegroupOverlayKey(e.region, cluster, name)
	f.mu.Lock()
	c, ok := f.startUpdate(key, frontUpdate{cluster: cluster, nodegroup: name, body: u}, func() {
		fields := f.setFieldsLocked(key)
		for k, v := range set {
			fields[k] = v
		}
	}, nil)
	f.mu.Unlock()
	if !ok {
		nodegroupInUse(w, cluster, name, c)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"update": u})
}

// nodegroupInUse writes EKS's refusal of a change to a node group that is still changing (N4: EKS API reference,
// UpdateNodegroupConfig and UpdateNodegroupVersion list ResourceInUseException). The message is invented.
func nodegroupInUse(w http.ResponseWriter, cluster, name string, c *change) {
	eksError(w, http.StatusConflict, "ResourceInUseException",
		fmt.Sprintf("Nodegroup %s is currently %s and cannot be updated", name, c.status),
		map[string]any{"clusterName": cluster, "nodegroupName": name})
}

// refuseNodegroupBusy refuses an UpdateNodegroupConfig while the node group is still changing, before moto sees
// it, and returns true then.
func (f *Front) refuseNodegroupBusy(w http.ResponseWriter, e eksRequest, cluster, name string) bool {
	f.mu.Lock()
	c := f.changing(nodegroupOverlayKey(e.region, cluster, name))
	f.mu.Unlock()
	if c == nil {
		return false
	}
	nodegroupInUse(w, cluster, name, c)
	return true
}

// nodeJoinFailure is N3: nodes join the cluster only when the node role has AmazonEKSWorkerNodePolicy and read
// access to ECR (AmazonEC2ContainerRegistryReadOnly, or the newer AmazonEC2ContainerRegistryPullOnly), and the VPC
// CNI has its permissions (AmazonEKS_CNI_Policy on the node role, or on the role the vpc-cni add-on runs with);
// otherwise the node group ends CREATE_FAILED with NodeCreationFailure (EKS user guide, create-node-role and
// troubleshooting, "Instances failed to join the Kubernetes cluster"). The front decides as the node group is
// created and recognises the AWS managed policies only. It returns "" when the nodes would join.
func (f *Front) nodeJoinFailure(r *http.Request, region, cluster, nodeRole string) (string, error) {
	ri, err := f.role(r, nodeRole)
	if err != nil {
		return "", err
	}
	var missing []string
	if !ri.exists {
		return "Instances failed to join the kubernetes cluster: the node role " + nodeRole + " does not exist", nil
	}
	if !ri.hasPolicy("AmazonEKSWorkerNodePolicy") {
		missing = append(missing, "AmazonEKSWorkerNodePolicy")
	}
	if !ri.hasPolicy("AmazonEC2ContainerRegistryReadOnly", "AmazonEC2ContainerRegistryPullOnly") {
		missing = append(missing, "AmazonEC2ContainerRegistryReadOnly")
	}
	if !ri.hasPolicy("AmazonEKS_CNI_Policy") {
		ok, err := f.cniRoleUsable(r, region, cluster)
		if err != nil {
			return "", err
		}
		if !ok {
			missing = append(missing, "AmazonEKS_CNI_Policy (on the node role or the vpc-cni add-on's role)")
		}
	}
	if len(missing) == 0 {
		return "", nil
	}
	return "Instances failed to join the kubernetes cluster: the node role lacks " + strings.Join(missing, ", "), nil
}

// nodegroupCreated records what EKS does as it creates a node group: CREATING for a while, then ACTIVE, or
// CREATE_FAILED when its nodes cannot join (failure, from nodeJoinFailure).
func (f *Front) nodegroupCreated(region, cluster, name, failure string) {
	key := nodegroupOverlayKey(region, cluster, name)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.busy, key)
	f.begin(key, &change{status: "CREATING", typ: "NodegroupCreate", done: func() {
		if failure == "" {
			return
		}
		o := f.overlays[key]
		if o == nil {
			return
		}
		if o.set == nil {
			o.set = map[string]any{}
		}
		o.set["status"] = "CREATE_FAILED"
		o.set["health"] = map[string]any{"issues": []map[string]any{{
			"code": "NodeCreationFailure", "message": failure, "resourceIds": []string{},
		}}}
	}})
}

// nodegroups is moto's description, with the front's overlay, of every node group of a cluster, sorted by name.
func (f *Front) nodegroups(r *http.Request, region, cluster string) ([]map[string]any, error) {
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
	sort.Strings(list.Nodegroups)
	out := make([]map[string]any, 0, len(list.Nodegroups))
	for _, name := range list.Nodegroups {
		ng, status, err := f.nodegroup(r, region, cluster, name)
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("ask moto for node group %s: HTTP %d, %v", name, status, err)
		}
		out = append(out, ng)
	}
	return out, nil
}

// nodesReady reports whether the cluster has a node group whose nodes are ready: ACTIVE (not creating, not
// failed) with at least one node.
func (f *Front) nodesReady(r *http.Request, region, cluster string) (bool, error) {
	ngs, err := f.nodegroups(r, region, cluster)
	if err != nil {
		return false, err
	}
	for _, ng := range ngs {
		sc, _ := ng["scalingConfig"].(map[string]any)
		if str(ng["status"]) == "ACTIVE" && fmt.Sprint(sc["desiredSize"]) != "0" {
			return true, nil
		}
	}
	return false, nil
}

// nodegroupsBehind lists the node groups of a cluster whose version is not version, sorted.
func (f *Front) nodegroupsBehind(r *http.Request, region, cluster, version string) ([]string, error) {
	ngs, err := f.nodegroups(r, region, cluster)
	if err != nil {
		return nil, err
	}
	var behind []string
	for _, ng := range ngs {
		if str(ng["version"]) != version {
			behind = append(behind, str(ng["nodegroupName"]))
		}
	}
	return behind, nil
}
