package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// What EKS refuses when a cluster is created or changed, each with its source (../shared/reference/
// eks-behaviour.md names them V1-V4, U1-U6, A1-A2). Messages are EKS's where a source quotes one; the others
// are marked invented.

// currentCluster is moto's description of a cluster with the front's overlay applied (nil when it does not
// exist), and moto's HTTP status.
func (f *Front) currentCluster(r *http.Request, region, name string) (map[string]any, int, error) {
	status, raw, err := f.describeCluster(r, name)
	if err != nil || status != http.StatusOK {
		return nil, status, err
	}
	var body struct {
		Cluster map[string]any `json:"cluster"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // createdAt as moto wrote it: it tells one incarnation of a name from another
	if err := dec.Decode(&body); err != nil || body.Cluster == nil {
		return nil, http.StatusInternalServerError, fmt.Errorf("moto's cluster %s: %s", name, raw)
	}
	uniqueIssuer(body.Cluster)
	f.apply(clusterOverlayKey(region, name), body.Cluster)
	defaultUpgradePolicy(body.Cluster)
	return body.Cluster, status, nil
}

// clusterOrError is currentCluster for a handler: it writes ResourceNotFoundException (or a ServerException when
// moto cannot be asked) and returns nil when there is no cluster.
func (f *Front) clusterOrError(w http.ResponseWriter, r *http.Request, region, cluster string) map[string]any {
	cur, status, err := f.currentCluster(r, region, cluster)
	switch {
	case err != nil:
		eksError(w, http.StatusInternalServerError, "ServerException", "front: ask moto for the cluster: "+err.Error(), nil)
		return nil
	case status == http.StatusNotFound || cur == nil:
		notFound(w, "No cluster found for name: "+cluster+".", map[string]any{"clusterName": cluster})
		return nil
	}
	return cur
}

// authMode is a cluster's authentication mode; EKS's default is CONFIG_MAP (EKS API reference, CreateCluster).
func authMode(c map[string]any) string {
	ac, _ := c["accessConfig"].(map[string]any)
	if m := str(ac["authenticationMode"]); m != "" {
		return m
	}
	return "CONFIG_MAP"
}

func apiMode(mode string) bool { return mode == "API" || mode == "API_AND_CONFIG_MAP" }

// standardRefused is V4: extended support cannot be disabled (upgrade policy STANDARD) on a version past the end of
// standard support. EKS user guide, disable-extended-support: "You cannot disable extended support once your
// cluster has entered it. You can only disable extended support for clusters on standard support." No source
// quotes the API's error; the type is EKS's for a bad parameter and the message is invented around the guide's.
func (f *Front) standardRefused(w http.ResponseWriter, version, cluster string) bool {
	if s := versionStatus(version, f.Day()); s != "standard-support" {
		invalidParameter(w, fmt.Sprintf("Kubernetes %s is in %s: you cannot disable extended support once your cluster has entered it; "+
			"you can only disable extended support for clusters on standard support", version, strings.ReplaceAll(s, "-", " ")),
			map[string]any{"clusterName": cluster})
		return true
	}
	return false
}

// keyRefused is U5: secrets encryption needs a symmetric encryption key that exists, is enabled and is in the
// cluster's region (EKS user guide, enable-kms: "Symmetric", "Can encrypt and decrypt data", "Created in the same
// AWS Region as the cluster"). The messages are invented; the type is EKS's InvalidParameterException.
func (f *Front) keyRefused(w http.ResponseWriter, r *http.Request, region, cluster string, configs []any) bool {
	ids := map[string]any{"clusterName": cluster}
	for _, c := range configs {
		m, _ := c.(map[string]any)
		p, _ := m["provider"].(map[string]any)
		keyARN := str(p["keyArn"])
		if keyARN == "" {
			invalidParameter(w, "encryptionConfig.provider.keyArn is required", ids)
			return true
		}
		if f := strings.Split(keyARN, ":"); len(f) > 3 && f[2] == "kms" && f[3] != region {
			invalidParameter(w, "KMS key "+keyARN+" is not in the cluster's region "+region, ids)
			return true
		}
		k, err := f.describeKey(r, keyARN)
		switch {
		case err != nil:
			eksError(w, http.StatusInternalServerError, "ServerException", "front: ask moto for the key: "+err.Error(), nil)
			return true
		case !k.exists:
			invalidParameter(w, "KMS key "+keyARN+" does not exist", ids)
			return true
		case k.state != "Enabled":
			invalidParameter(w, "KMS key "+keyARN+" is "+k.state+", not Enabled", ids)
			return true
		case k.spec != "" && k.spec != "SYMMETRIC_DEFAULT", k.usage != "" && k.usage != "ENCRYPT_DECRYPT":
			invalidParameter(w, "KMS key "+keyARN+" must be a symmetric encryption key", ids)
			return true
		}
	}
	return false
}

// refuseCreateCluster checks a CreateCluster before moto sees it; it writes the error and returns true when EKS
// would refuse it. It also notes the creator, whose access entry EKS creates with the cluster (A1).
func (f *Front) refuseCreateCluster(w http.ResponseWriter, r *http.Request, e eksRequest) bool {
	var body map[string]any
	if json.Unmarshal(peekBody(r), &body) != nil {
		return false // moto answers a body it cannot read
	}
	name, version := str(body["name"]), str(body["version"])
	ids := map[string]any{"clusterName": name}
	// V1: EKS user guide, kubernetes-versions; terraform-provider-aws #21410 ("unsupported Kubernetes version").
	if version != "" && !offered(version, f.Day()) {
		invalidParameter(w, "unsupported Kubernetes version "+version, ids)
		return true
	}
	if up, _ := body["upgradePolicy"].(map[string]any); str(up["supportType"]) == "STANDARD" && version != "" &&
		f.standardRefused(w, version, name) {
		return true
	}
	if ec, _ := body["encryptionConfig"].([]any); len(ec) > 0 && f.keyRefused(w, r, e.region, name, ec) {
		return true
	}
	// A1: with access entries, bootstrapClusterCreatorAdminPermissions (true unless false) gives the creator an
	// entry with AmazonEKSClusterAdminPolicy (EKS user guide, access-entries, creating-access-entries).
	ac, _ := body["accessConfig"].(map[string]any)
	if apiMode(str(ac["authenticationMode"])) && ac["bootstrapClusterCreatorAdminPermissions"] != false {
		creator, err := f.callerARN(r)
		if err != nil {
			eksError(w, http.StatusInternalServerError, "ServerException", "front: "+err.Error(), nil)
			return true
		}
		f.mu.Lock()
		if f.creators == nil {
			f.creators = map[string]string{}
		}
		f.creators[clusterKey(e.region, name)] = creator
		f.mu.Unlock()
	}
	return false
}

// clusterCreated records what EKS does as it creates a cluster: it is CREATING for a while (EKS API reference,
// DescribeCluster), and the creator's access entry exists from the start (A1).
func (f *Front) clusterCreated(region string, c map[string]any) {
	name := str(c["name"])
	key := clusterKey(region, name)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.busy, clusterOverlayKey(region, name)) // a cluster of the same name before
	f.begin(clusterOverlayKey(region, name), &change{status: "CREATING", typ: "ClusterCreate"})
	creator := f.creators[key]
	delete(f.creators, key)
	if creator == "" {
		return
	}
	ca := f.accessEntriesLocked(key, str(c["arn"]), fmt.Sprint(c["createdAt"]))
	f.addEntryLocked(ca, name, creator, "STANDARD", defaultUsername(creator, "STANDARD"))
	now := time.Now().UTC() // clock: a resource timestamp, not a date-based decision
	policy := "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	ca.entries[creator].policies[policy] = &associatedPolicy{arn: policy, scope: "cluster", associated: now, modified: now}
}

// clusterUpdateTypes are the kinds of change UpdateClusterConfig takes, one per call (U1), and the update type
// each starts.
var clusterUpdateTypes = []struct{ field, typ string }{
	{"logging", "LoggingUpdate"},
	{"resourcesVpcConfig", "EndpointAccessUpdate"},
	{"accessConfig", "AccessConfigUpdate"},
	{"upgradePolicy", "UpgradePolicyUpdate"},
	{"zonalShiftConfig", "ZonalShiftConfigUpdate"},
	{"computeConfig", "AutoModeUpdate"},
	{"kubernetesNetworkConfig", "AutoModeUpdate"},
	{"storageConfig", "AutoModeUpdate"},
	{"remoteNetworkConfig", "RemoteNetworkConfigUpdate"},
	{"deletionProtection", "DeletionProtectionUpdate"},
}

// updateClusterConfig serves UpdateClusterConfig (POST /clusters/{name}/update-config), which moto answers with {}
// (the provider then crashes). EKS's rules, before moto applies the change:
//   - U1: one type of update per call; Auto Mode's three settings travel together (CAPA #3553, aws-cdk #21439:
//     InvalidParameterException "Only one type of update can be allowed.").
//   - U2: no update while another is in progress or the cluster is being created (cloud-custodian #9250).
//   - U3: the authentication mode moves only forward, one step at a time: CONFIG_MAP -> API_AND_CONFIG_MAP -> API
//     (EKS user guide, setting-up-access-entries: "Once the access entry method is enabled, it cannot be
//     disabled"; pulumi-eks #1493: "Unsupported authentication mode update from CONFIG_MAP to API").
//   - V4: STANDARD support only on a version in standard support.
//   - A2: moving to access entries gives the roles of existing managed node groups their entries (EKS user guide,
//     creating-access-entries, migrating-access-entries).
//
// A VPC configuration that names some members keeps the others, as EKS does (moto replaces the whole). The change
// is visible at once; the cluster is UPDATING and the update InProgress until it completes.
func (f *Front) updateClusterConfig(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string) {
	raw := peekBody(r)
	var body map[string]any
	if json.Unmarshal(raw, &body) != nil {
		eksError(w, http.StatusBadRequest, "InvalidRequestException", "Could not parse the request body", nil)
		return
	}
	ids := map[string]any{"clusterName": cluster}
	typ, kinds := "", map[string]bool{}
	for _, k := range clusterUpdateTypes {
		if body[k.field] != nil {
			typ = k.typ
			kinds[k.typ] = true
		}
	}
	switch {
	case len(kinds) > 1:
		invalidParameter(w, "Only one type of update can be allowed.", ids)
		return
	case len(kinds) == 0:
		invalidParameter(w, "No changes needed for the cluster update", ids) // invented: no source quotes it
		return
	}
	cur := f.clusterOrError(w, r, e.region, cluster)
	if cur == nil {
		return
	}
	fromMode := authMode(cur)
	if ac, ok := body["accessConfig"].(map[string]any); ok {
		if to := str(ac["authenticationMode"]); to != "" && !(fromMode == "CONFIG_MAP" && to == "API_AND_CONFIG_MAP") &&
			!(fromMode == "API_AND_CONFIG_MAP" && to == "API") {
			invalidParameter(w, "Unsupported authentication mode update from "+fromMode+" to "+to, ids)
			return
		}
	}
	if up, ok := body["upgradePolicy"].(map[string]any); ok && str(up["supportType"]) == "STANDARD" &&
		f.standardRefused(w, str(cur["version"]), cluster) {
		return
	}
	if vpc, ok := body["resourcesVpcConfig"].(map[string]any); ok {
		current, _ := cur["resourcesVpcConfig"].(map[string]any)
		for _, k := range vpcConfigMembers {
			if _, asked := vpc[k]; !asked && current[k] != nil {
				vpc[k] = current[k]
			}
		}
		raw, _ = json.Marshal(body)
	}
	u := newUpdate(typ, "InProgress", nil)
	ck := clusterOverlayKey(e.region, cluster)
	f.mu.Lock()
	c, ok := f.startUpdate(ck, frontUpdate{cluster: cluster, body: u}, nil, nil)
	f.mu.Unlock()
	if !ok {
		inUse(w, typ, cluster, c)
		return
	}
	status, answer, err := f.askMoto(r, http.MethodPost, r.URL.EscapedPath(), raw, map[string]string{"Content-Type": "application/json"})
	if err != nil || status/100 != 2 {
		f.mu.Lock()
		delete(f.busy, ck)
		delete(f.updates, str(u["id"]))
		f.mu.Unlock()
		if err != nil {
			eksError(w, http.StatusInternalServerError, "ServerException", "front: "+err.Error(), nil)
			return
		}
		relayEKS(w, status, answer)
		return
	}
	echo := map[string]any{}
	for _, k := range clusterEchoFields {
		if v, ok := body[k]; ok && v != nil {
			echo[k] = v
		}
	}
	f.record(&rewrite{op: "updateCluster", region: e.region, cluster: cluster, echo: echo})
	if ac, ok := body["accessConfig"].(map[string]any); ok && !apiMode(fromMode) && apiMode(str(ac["authenticationMode"])) {
		if err := f.nodeRoleEntries(r, e.region, cluster, cur); err != nil {
			eksError(w, http.StatusInternalServerError, "ServerException", "front: "+err.Error(), nil)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"update": u})
}

// relayEKS passes moto's EKS error on as it came.
func relayEKS(w http.ResponseWriter, status int, raw []byte) {
	w.Header().Set("Content-Type", "application/json")
	var e struct {
		Type string `json:"__type"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Type != "" {
		w.Header().Set("x-amzn-ErrorType", e.Type)
	}
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}

// nodeRoleEntries gives the role of every managed node group of the cluster its access entry (A2).
func (f *Front) nodeRoleEntries(r *http.Request, region, cluster string, cur map[string]any) error {
	ngs, err := f.nodegroups(r, region, cluster)
	if err != nil {
		return err
	}
	for _, ng := range ngs {
		f.nodeRoleEntry(region, cluster, cur, str(ng["nodeRole"]))
	}
	return nil
}

// nodeRoleEntry gives a managed node group's role the EC2_LINUX access entry EKS creates for it, unless it has one
// (EKS user guide, creating-access-entries: "EKS will create access entries (if enabled)" for the roles of managed
// node groups). cur is the cluster's description; the caller knows its authentication mode includes API.
func (f *Front) nodeRoleEntry(region, cluster string, cur map[string]any, role string) {
	if role == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ca := f.accessEntriesLocked(clusterKey(region, cluster), str(cur["arn"]), fmt.Sprint(cur["createdAt"]))
	if ca.entries[role] == nil {
		f.addEntryLocked(ca, cluster, role, "EC2_LINUX", defaultUsername(role, "EC2_LINUX"))
	}
}

// BlockUpgrades makes EKS's upgrade readiness checks (cluster insights) find a blocking issue on the cluster, or
// clears it with "". UpdateClusterVersion is then refused unless force is set (U6: EKS user guide, update-cluster
// and cluster-insights; terraform-provider-aws #42031).
func (f *Front) BlockUpgrades(cluster, issue string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.insights == nil {
		f.insights = map[string]string{}
	}
	f.insights[cluster] = issue
}

// upgradeCluster serves UpdateClusterVersion (POST /clusters/{name}/updates). EKS's rules:
//   - V2: one minor version at a time (terraform-aws-eks #2607: "Unsupported Kubernetes minor version update from
//     1.22 to 1.25"), to a version offered on the day;
//   - V3: managed node groups on the cluster's version first (terraform-provider-aws #19478, EKS API reference
//     UpdateClusterVersion: "Nodegroups NAME must be updated to match cluster version 1.18 before updating
//     cluster version");
//   - U6: upgrade readiness issues block it unless force is set (terraform-provider-aws #42031:
//     InvalidStateException "Upgrade readiness issues detected. ...");
//   - U2: not while another update is in progress.
//
// The cluster keeps its version until the update completes. FailClusterUpgradeTo makes an accepted update fail.
func (f *Front) upgradeCluster(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string) {
	var req struct {
		Version string `json:"version"`
		Force   bool   `json:"force"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	ca := f.cluster(w, r, e, cluster)
	if ca == nil {
		return
	}
	ids := map[string]any{"clusterName": cluster}
	switch from, to := minor(ca.k8s), minor(req.Version); {
	case to < 0:
		invalidParameter(w, "unsupported Kubernetes version "+req.Version, ids)
		return
	case to != from+1:
		invalidParameter(w, "Unsupported Kubernetes minor version update from "+ca.k8s+" to "+req.Version, ids)
		return
	case !offered(req.Version, f.Day()):
		invalidParameter(w, "unsupported Kubernetes version "+req.Version, ids)
		return
	}
	behind, err := f.nodegroupsBehind(r, e.region, cluster, ca.k8s)
	if err != nil {
		eksError(w, http.StatusInternalServerError, "ServerException", "front: "+err.Error(), nil)
		return
	}
	if len(behind) > 0 {
		invalidParameter(w, fmt.Sprintf("Nodegroups %s must be updated to match cluster version %s before updating cluster version",
			strings.Join(behind, ", "), ca.k8s), ids)
		return
	}
	f.mu.Lock()
	issue := f.insights[cluster]
	fail := f.failUpgradeTo != "" && f.failUpgradeTo == req.Version
	f.mu.Unlock()
	if issue != "" && !req.Force {
		eksError(w, http.StatusBadRequest, "InvalidStateException", "Upgrade readiness issues detected. Call the EKS ListInsights API "+
			"to view upgrade blocking issues detected by EKS. Pass the force flag to override upgrade readiness errors and proceed with upgrade.", ids)
		return
	}
	u := newUpdate("VersionUpdate", "InProgress", []map[string]string{
		{"type": "Version", "value": req.Version}, {"type": "PlatformVersion", "value": "eks.1"},
	})
	ck := clusterOverlayKey(e.region, cluster)
	done := func() { f.setClusterFieldLocked(e.region, cluster, "version", req.Version) }
	var failed []map[string]any
	if fail {
		done = nil
		failed = []map[string]any{{
			"errorCode":    "InsufficientFreeAddresses",
			"errorMessage": "front: the upgrade to " + req.Version + " failed (FailClusterUpgradeTo)",
			"resourceIds":  []string{cluster},
		}}
	}
	f.mu.Lock()
	c, ok := f.startUpdate(ck, frontUpdate{cluster: cluster, body: u}, done, failed)
	f.mu.Unlock()
	if !ok {
		inUse(w, "VersionUpdate", cluster, c)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"update": u})
}
