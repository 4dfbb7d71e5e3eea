package harness

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// clusterAddons holds the add-ons of one cluster, tied to that cluster's incarnation in moto.
type clusterAddons struct {
	arn, createdAt string // of the cluster in moto: when they change, the cluster was re-created
	k8s            string // the cluster's Kubernetes version
	addons         map[string]*addon
	associations   map[string]*podIdentityAssociation // Pod Identity associations by ID
}

type addon struct {
	name, cluster, version, arn string
	config, roleARN             string
	tags                        map[string]string
	created, modified           time.Time
	podIdentity                 []*podIdentityAssociation
}

func (a *addon) json(status string) map[string]any {
	tags := a.tags
	if tags == nil {
		tags = map[string]string{}
	}
	m := map[string]any{
		"addonName":               a.name,
		"clusterName":             a.cluster,
		"status":                  status,
		"addonVersion":            a.version,
		"health":                  map[string]any{"issues": []any{}},
		"addonArn":                a.arn,
		"createdAt":               epoch(a.created),
		"modifiedAt":              epoch(a.modified),
		"tags":                    tags,
		"podIdentityAssociations": a.associationARNs(),
	}
	if a.config != "" {
		m["configurationValues"] = a.config
	}
	if a.roleARN != "" {
		m["serviceAccountRoleArn"] = a.roleARN
	}
	return m
}

// frontUpdate is an update DescribeUpdate can answer: InProgress until its change completes, then final.
type frontUpdate struct {
	cluster, nodegroup, addon string
	body                      map[string]any // as created: InProgress
	final                     map[string]any // once complete: Successful, or Failed with errors
	until                     time.Time
}

// motoCluster is what the front needs of a cluster moto holds.
type motoCluster struct {
	Name      string          `json:"name"`
	Arn       string          `json:"arn"`
	Version   string          `json:"version"`
	CreatedAt json.RawMessage `json:"createdAt"`
}

// describeCluster asks moto for a cluster with the caller's credentials: HTTP status and body.
func (f *Front) describeCluster(r *http.Request, name string) (int, []byte, error) {
	return f.askMoto(r, http.MethodGet, "/clusters/"+url.PathEscape(name), nil, nil)
}

// motoClusterOrError asks moto for a cluster. When it does not exist, forget (if set) runs with f.mu held and a
// ResourceNotFoundException is written; when moto cannot be asked, a ServerException. ok is false then.
func (f *Front) motoClusterOrError(w http.ResponseWriter, r *http.Request, name string, forget func()) (motoCluster, bool) {
	status, raw, err := f.describeCluster(r, name)
	if err != nil {
		eksError(w, http.StatusInternalServerError, "ServerException", "front: ask moto for the cluster: "+err.Error(), nil)
		return motoCluster{}, false
	}
	if status == http.StatusNotFound {
		if forget != nil {
			f.mu.Lock()
			forget()
			f.mu.Unlock()
		}
		notFound(w, "No cluster found for name: "+name+".", map[string]any{"clusterName": name})
		return motoCluster{}, false
	}
	var body struct {
		Cluster motoCluster `json:"cluster"`
	}
	if status != http.StatusOK || json.Unmarshal(raw, &body) != nil || body.Cluster.Arn == "" {
		eksError(w, http.StatusInternalServerError, "ServerException",
			fmt.Sprintf("front: moto answered DescribeCluster with HTTP %d: %s", status, raw), nil)
		return motoCluster{}, false
	}
	return body.Cluster, true
}

// cluster asks moto for the cluster, with the caller's credentials, and drops the add-ons of an earlier cluster of
// that name. It writes the error and returns nil when the cluster does not exist or moto cannot be asked.
func (f *Front) cluster(w http.ResponseWriter, r *http.Request, e eksRequest, name string) *clusterAddons {
	key := clusterKey(e.region, name)
	mc, ok := f.motoClusterOrError(w, r, name, func() { delete(f.addons, key) })
	if !ok {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ca := f.addons[key]
	if ca == nil || ca.arn != mc.Arn || ca.createdAt != string(mc.CreatedAt) {
		ca = &clusterAddons{arn: mc.Arn, createdAt: string(mc.CreatedAt), addons: map[string]*addon{},
			associations: map[string]*podIdentityAssociation{}}
		f.addons[key] = ca
	}
	ca.k8s = mc.Version
	if o := f.overlays[clusterOverlayKey(e.region, name)]; o != nil && o.set["version"] != nil {
		ca.k8s = str(o.set["version"])
	}
	return ca
}

// setClusterFieldLocked makes the front report value for a field of a cluster's description, in place of moto's;
// call it with f.mu held.
func (f *Front) setClusterFieldLocked(region, cluster, field string, value any) {
	f.setFieldsLocked(clusterOverlayKey(region, cluster))[field] = value
}

// setFieldsLocked returns the fields the front reports in place of moto's for an overlay key, creating them;
// call it with f.mu held.
func (f *Front) setFieldsLocked(key string) map[string]any {
	o := f.overlays[key]
	if o == nil {
		o = &overlay{}
		f.overlays[key] = o
	}
	if o.set == nil {
		o.set = map[string]any{}
	}
	return o.set
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(r.Body)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		eksError(w, http.StatusBadRequest, "InvalidRequestException", "Could not parse the request body: "+err.Error(), nil)
		return false
	}
	return true
}

type addonRequest struct {
	AddonName               string                `json:"addonName"`
	AddonVersion            *string               `json:"addonVersion"`
	ServiceAccountRoleArn   *string               `json:"serviceAccountRoleArn"`
	ResolveConflicts        string                `json:"resolveConflicts"`
	ConfigurationValues     *string               `json:"configurationValues"`
	Tags                    map[string]string     `json:"tags"`
	PodIdentityAssociations *[]podIdentityRequest `json:"podIdentityAssociations"`
	NamespaceConfig         any                   `json:"namespaceConfig"`
}

// checkAddonRequest validates what CreateAddon and UpdateAddon have in common; it writes the error and returns
// false when the request is refused.
func checkAddonRequest(w http.ResponseWriter, name, k8s string, req addonRequest) bool {
	ids := map[string]any{"addonName": name}
	if req.ResolveConflicts != "" && req.ResolveConflicts != "NONE" && req.ResolveConflicts != "OVERWRITE" &&
		req.ResolveConflicts != "PRESERVE" {
		invalidParameter(w, "1 validation error detected: Value '"+req.ResolveConflicts+
			"' at 'resolveConflicts' failed to satisfy constraint: Member must satisfy enum value set: [PRESERVE, OVERWRITE, NONE]", ids)
		return false
	}
	if req.NamespaceConfig != nil {
		invalidParameter(w, "front: namespaceConfig is not emulated", ids)
		return false
	}
	if req.AddonVersion != nil && *req.AddonVersion != "" && !addonVersionSupported(name, *req.AddonVersion, k8s) {
		invalidParameter(w, "Addon version specified is not supported", ids)
		return false
	}
	if req.ConfigurationValues != nil && *req.ConfigurationValues != "" {
		if msg := checkConfiguration(*req.ConfigurationValues); msg != "" {
			invalidParameter(w, "ConfigurationValue provided in request is not supported: "+msg, ids)
			return false
		}
	}
	return true
}

// checkConfiguration does the part of EKS's schema check that catches the usual mistakes: the value must be a
// JSON (or YAML) object, and env values must be strings. It returns "" when the value passes.
func checkConfiguration(v string) string {
	s := strings.TrimSpace(v)
	if !strings.HasPrefix(s, "{") {
		return "" // YAML: not checked
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(s), &obj); err != nil {
		return "Json schema validation failed with error: " + err.Error()
	}
	if env, ok := obj["env"].(map[string]any); ok {
		for k, val := range env {
			if _, isString := val.(string); !isString {
				return fmt.Sprintf("Json schema validation failed with error: [$.env.%s: %T found, string expected]", k, val)
			}
		}
	}
	return ""
}

func (f *Front) createAddon(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string) {
	var req addonRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.AddonName == "" {
		invalidParameter(w, "addonName is required", nil)
		return
	}
	ca := f.cluster(w, r, e, cluster)
	if ca == nil {
		return
	}
	k8s := ca.k8s
	if _, known := addonCatalog[req.AddonName]; !known {
		invalidParameter(w, "Addon "+req.AddonName+" specified is not supported in "+k8s+" kubernetes version",
			map[string]any{"addonName": req.AddonName, "clusterName": cluster})
		return
	}
	if !checkAddonRequest(w, req.AddonName, k8s, req) {
		return
	}
	version := ""
	if req.AddonVersion != nil {
		version = *req.AddonVersion
	}
	if version == "" {
		version = defaultAddonVersion(req.AddonName, k8s)
		if version == "" {
			invalidParameter(w, "Addon "+req.AddonName+" specified is not supported in "+k8s+" kubernetes version",
				map[string]any{"addonName": req.AddonName, "clusterName": cluster})
			return
		}
	}
	if req.PodIdentityAssociations != nil && (!checkPodIdentity(w, cluster, req.AddonName, version, *req.PodIdentityAssociations) ||
		!f.checkPodIdentityRoles(w, r, cluster, req.AddonName, *req.PodIdentityAssociations)) {
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := ca.addons[req.AddonName]; dup {
		eksError(w, http.StatusConflict, "ResourceInUseException", "Addon already exists.",
			map[string]any{"addonName": req.AddonName, "clusterName": cluster})
		return
	}
	now := time.Now().UTC() // clock: a resource timestamp, not a date-based decision
	a := &addon{
		name: req.AddonName, cluster: cluster, version: version,
		arn:  addonARN(ca.arn, req.AddonName),
		tags: req.Tags, created: now, modified: now,
	}
	if req.ConfigurationValues != nil {
		a.config = *req.ConfigurationValues
	}
	if req.ServiceAccountRoleArn != nil {
		a.roleARN = *req.ServiceAccountRoleArn
	}
	if req.PodIdentityAssociations != nil {
		a.podIdentity = ca.associate(a, *req.PodIdentityAssociations)
	}
	ca.addons[a.name] = a
	key := addonKey(e.region, cluster, a.name)
	delete(f.busy, key)
	f.begin(key, &change{status: "CREATING", typ: "AddonCreate"})
	writeJSON(w, http.StatusOK, map[string]any{"addon": a.json("CREATING")})
}

// addonKey identifies an add-on among the front's changes.
func addonKey(region, cluster, name string) string {
	return "addon/" + clusterKey(region, cluster) + "/" + name
}

// addonARN is arn:<partition>:eks:<region>:<account>:addon/<cluster>/<addon>/<uuid>.
func addonARN(clusterARN, name string) string {
	prefix, cluster, _ := strings.Cut(clusterARN, ":cluster/")
	return prefix + ":addon/" + cluster + "/" + name + "/" + uuid()
}

func (f *Front) describeAddon(w http.ResponseWriter, r *http.Request, e eksRequest, cluster, name string) {
	_, a := f.findAddon(w, r, e, cluster, name)
	if a == nil {
		return
	}
	f.mu.Lock()
	c := f.changing(addonKey(e.region, cluster, name))
	f.mu.Unlock()
	status, issues := "ACTIVE", []map[string]any(nil)
	if c != nil {
		status = c.status
	} else {
		var err error
		if issues, err = f.addonIssues(r, e.region, cluster, a); err != nil {
			eksError(w, http.StatusInternalServerError, "ServerException", "front: "+err.Error(), nil)
			return
		}
		if len(issues) > 0 {
			status = "DEGRADED"
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	body := a.json(status)
	if len(issues) > 0 {
		body["health"] = map[string]any{"issues": issues}
	}
	writeJSON(w, http.StatusOK, map[string]any{"addon": body})
}

// findAddon writes ResourceNotFoundException and returns nil when the cluster or the add-on does not exist.
func (f *Front) findAddon(w http.ResponseWriter, r *http.Request, e eksRequest, cluster, name string) (*clusterAddons, *addon) {
	ca := f.cluster(w, r, e, cluster)
	if ca == nil {
		return nil, nil
	}
	f.mu.Lock()
	a := ca.addons[name]
	f.mu.Unlock()
	if a == nil {
		notFound(w, "No addon: "+name+" found in cluster: "+cluster,
			map[string]any{"addonName": name, "clusterName": cluster})
	}
	return ca, a
}

func (f *Front) listAddons(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string) {
	ca := f.cluster(w, r, e, cluster)
	if ca == nil {
		return
	}
	f.mu.Lock()
	names := make([]string, 0, len(ca.addons))
	for n := range ca.addons {
		names = append(names, n)
	}
	f.mu.Unlock()
	sort.Strings(names)
	writeJSON(w, http.StatusOK, map[string]any{"addons": names})
}

func (f *Front) deleteAddon(w http.ResponseWriter, r *http.Request, e eksRequest, cluster, name string) {
	ca, a := f.findAddon(w, r, e, cluster, name)
	if a == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(ca.addons, name)
	ca.dissociate(a)
	delete(f.busy, addonKey(e.region, cluster, name))
	writeJSON(w, http.StatusOK, map[string]any{"addon": a.json("DELETING")})
}

func (f *Front) updateAddon(w http.ResponseWriter, r *http.Request, e eksRequest, cluster, name string) {
	var req addonRequest
	if !readJSON(w, r, &req) {
		return
	}
	ca, a := f.findAddon(w, r, e, cluster, name)
	if a == nil || !checkAddonRequest(w, name, ca.k8s, req) {
		return
	}
	if req.PodIdentityAssociations != nil {
		version := a.version
		if req.AddonVersion != nil && *req.AddonVersion != "" {
			version = *req.AddonVersion
		}
		if !checkPodIdentity(w, cluster, name, version, *req.PodIdentityAssociations) ||
			!f.checkPodIdentityRoles(w, r, cluster, name, *req.PodIdentityAssociations) {
			return
		}
	}
	var params []map[string]string
	f.mu.Lock()
	if c := f.changing(addonKey(e.region, cluster, name)); c != nil {
		f.mu.Unlock()
		// N4: cdk-eks-blueprints #447, "Addon vpc-cni cannot be updated as it is currently in UPDATING state".
		eksError(w, http.StatusConflict, "ResourceInUseException", "Addon "+name+" cannot be updated as it is currently in "+c.status+" state",
			map[string]any{"clusterName": cluster, "addonName": name})
		return
	}
	if req.AddonVersion != nil && *req.AddonVersion != "" {
		a.version = *req.AddonVersion
		params = append(params, map[string]string{"type": "AddonVersion", "value": a.version})
	}
	if req.ServiceAccountRoleArn != nil {
		a.roleARN = *req.ServiceAccountRoleArn
		params = append(params, map[string]string{"type": "ServiceAccountRoleArn", "value": a.roleARN})
	}
	if req.ResolveConflicts != "" {
		params = append(params, map[string]string{"type": "ResolveConflicts", "value": req.ResolveConflicts})
	}
	if req.ConfigurationValues != nil {
		a.config = *req.ConfigurationValues
		params = append(params, map[string]string{"type": "ConfigurationValues", "value": a.config})
	}
	if req.PodIdentityAssociations != nil {
		ca.dissociate(a)
		a.podIdentity = ca.associate(a, *req.PodIdentityAssociations)
		params = append(params, map[string]string{"type": "PodIdentityAssociations", "value": strings.Join(a.associationARNs(), ",")})
	}
	a.modified = time.Now().UTC() // clock: a resource timestamp, not a date-based decision
	u := newUpdate("AddonUpdate", "InProgress", params)
	f.startUpdate(addonKey(e.region, cluster, name), frontUpdate{cluster: cluster, addon: name, body: u}, nil, nil)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"update": u})
}

// newUpdate returns an EKS Update object.
func newUpdate(typ, status string, params []map[string]string) map[string]any {
	if params == nil {
		params = []map[string]string{}
	}
	return map[string]any{
		"id": uuid(), "status": status, "type": typ, "params": params,
		"createdAt": epoch(time.Now()), "errors": []any{}, // clock: a resource timestamp, not a date-based decision
	}
}

// startUpdate begins the change an update makes to the resource key, with f.mu held, and keeps the update for
// DescribeUpdate: InProgress until the change completes, then Successful unless failed gives its errors. done
// applies the change when it completes. When the resource is still changing, it returns the change in progress
// and false, and nothing is kept.
func (f *Front) startUpdate(key string, u frontUpdate, done func(), failed []map[string]any) (*change, bool) {
	id := str(u.body["id"])
	c, ok := f.begin(key, &change{status: "UPDATING", updateID: id, typ: str(u.body["type"]), done: done})
	if !ok {
		return c, false
	}
	final := make(map[string]any, len(u.body))
	for k, v := range u.body {
		final[k] = v
	}
	final["status"] = "Successful"
	if failed != nil {
		final["status"], final["errors"] = "Failed", failed
	}
	u.final, u.until = final, c.until
	f.updates[id] = u
	return c, true
}

// inUse writes EKS's refusal of a change while another is in progress on a cluster (cloud-custodian #9250,
// ACK community #1192: "Cannot EndpointAccessUpdate because cluster NAME currently has update ID in progress").
func inUse(w http.ResponseWriter, typ, cluster string, c *change) {
	msg := fmt.Sprintf("Cannot %s because cluster %s currently has update %s in progress", typ, cluster, c.updateID)
	if c.updateID == "" {
		msg = fmt.Sprintf("Cannot %s because cluster %s is currently %s", typ, cluster, strings.ToLower(c.status)) // invented: no source quotes this case
	}
	eksError(w, http.StatusConflict, "ResourceInUseException", msg, map[string]any{"clusterName": cluster})
}

func (f *Front) describeUpdate(w http.ResponseWriter, r *http.Request, e eksRequest, cluster, id string) {
	q := r.URL.Query()
	f.mu.Lock()
	u, ok := f.updates[id]
	f.mu.Unlock()
	if !ok || u.cluster != cluster || u.nodegroup != q.Get("nodegroupName") || u.addon != q.Get("addonName") {
		notFound(w, "No update found for ID: "+id, map[string]any{"clusterName": cluster})
		return
	}
	body := u.body
	if !time.Now().Before(u.until) { // clock: completion of the update
		body = u.final
	}
	writeJSON(w, http.StatusOK, map[string]any{"update": body})
}

// tagMap returns the tags the front keeps for an add-on, Pod Identity association, access entry or node group
// ARN, or nil. Call it with
// f.mu held.
func (f *Front) tagMap(arn string) *map[string]string {
	for _, ca := range f.addons {
		for _, a := range ca.addons {
			if a.arn == arn {
				return &a.tags
			}
		}
	}
	for _, ca := range f.addons {
		for _, p := range ca.associations {
			if p.arn == arn && p.ownerARN == "" {
				if p.tags == nil {
					p.tags = map[string]string{}
				}
				return &p.tags
			}
		}
	}
	for _, ca := range f.accessStore() {
		for _, a := range ca.entries {
			if a.arn == arn {
				return &a.tags
			}
		}
	}
	// arn:<partition>:eks:<region>:<account>:nodegroup/<cluster>/<name>/<uuid>
	if fields := strings.SplitN(arn, ":", 6); len(fields) == 6 {
		if parts := strings.Split(fields[5], "/"); len(parts) == 4 && parts[0] == "nodegroup" {
			if o := f.overlays[nodegroupOverlayKey(fields[3], parts[1], parts[2])]; o != nil && o.tags != nil {
				return &o.tags
			}
		}
	}
	return nil
}

// tagResource serves TagResource, UntagResource and ListTagsForResource for the add-ons, access entries and node
// groups the front keeps tags of.
func (f *Front) tagResource(w http.ResponseWriter, r *http.Request, arn string) {
	var req struct {
		Tags map[string]string `json:"tags"`
	}
	if r.Method == http.MethodPost && !readJSON(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	tags := f.tagMap(arn)
	if tags == nil {
		notFound(w, "Resource was not found: "+arn, nil)
		return
	}
	if *tags == nil {
		*tags = map[string]string{}
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"tags": *tags})
	case http.MethodPost:
		for k, v := range req.Tags {
			(*tags)[k] = v
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	case http.MethodDelete:
		for _, k := range r.URL.Query()["tagKeys"] {
			delete(*tags, k)
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	default:
		eksError(w, http.StatusMethodNotAllowed, "InvalidRequestException", "method not allowed", nil)
	}
}

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
