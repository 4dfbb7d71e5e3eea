package harness

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EKS access entries and their access policies, which moto 5.2.1 lacks: kept in memory per cluster, tied to the
// cluster's incarnation in moto like the add-ons, in the REST shapes of the EKS API.

// clusterAccess holds the access entries of one cluster.
type clusterAccess struct {
	arn, createdAt string // of the cluster in moto: when they change, the cluster was re-created
	entries        map[string]*accessEntry
}

type accessEntry struct {
	cluster, principal, arn, typ, username string
	groups                                 []string
	tags                                   map[string]string
	created, modified                      time.Time
	policies                               map[string]*associatedPolicy // by policy ARN
}

type associatedPolicy struct {
	arn, scope           string
	namespaces           []string
	associated, modified time.Time
}

// accessStore is the front's access entries by clusterKey; call it with f.mu held.
func (f *Front) accessStore() map[string]*clusterAccess {
	if f.access == nil {
		f.access = map[string]*clusterAccess{}
	}
	return f.access
}

func (a *accessEntry) json() map[string]any {
	tags := a.tags
	if tags == nil {
		tags = map[string]string{}
	}
	groups := a.groups
	if groups == nil {
		groups = []string{}
	}
	return map[string]any{
		"clusterName": a.cluster, "principalArn": a.principal, "kubernetesGroups": groups,
		"accessEntryArn": a.arn, "createdAt": epoch(a.created), "modifiedAt": epoch(a.modified),
		"tags": tags, "username": a.username, "type": a.typ,
	}
}

func (p *associatedPolicy) json() map[string]any {
	ns := p.namespaces
	if ns == nil {
		ns = []string{}
	}
	return map[string]any{
		"policyArn": p.arn, "accessScope": map[string]any{"type": p.scope, "namespaces": ns},
		"associatedAt": epoch(p.associated), "modifiedAt": epoch(p.modified),
	}
}

// accessEntryTypes are the types EKS accepts; only STANDARD entries take groups, a username and access policies.
var accessEntryTypes = []string{"STANDARD", "FARGATE_LINUX", "EC2_LINUX", "EC2_WINDOWS", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX"}

// reservedUsernamePrefixes may not begin a username given to EKS.
var reservedUsernamePrefixes = []string{"system:", "eks:", "aws:", "amazon:", "iam:"}

var (
	principalARN = regexp.MustCompile(`^arn:(aws[a-z-]*):iam::(\d{12}):(role|user)/(.+)$`)
	accessPolicy = regexp.MustCompile(`^arn:aws[a-z-]*:eks::aws:cluster-access-policy/[A-Za-z0-9]+$`)
)

const (
	entryNotFound = "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'."
	badPrincipal  = "The specified principalArn is invalid: invalid principal"
	needsAPIMode  = "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation."
)

// serveAccessEntries serves /clusters/{name}/access-entries[/{principalArn}[/access-policies[/{policyArn}]]]. An
// ARN arrives as one escaped segment from the SDKs; a client that leaves its '/' unescaped spreads it over several,
// so the path is cut at "access-policies" rather than by position.
func (f *Front) serveAccessEntries(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string, rest []string) {
	principal, policy, policies := strings.Join(rest, "/"), "", false
	if k := slices.Index(rest, "access-policies"); k >= 1 {
		principal, policy, policies = strings.Join(rest[:k], "/"), strings.Join(rest[k+1:], "/"), true
	}
	switch m := r.Method; {
	case principal == "" && m == http.MethodPost:
		f.createAccessEntry(w, r, e, cluster)
	case principal == "" && m == http.MethodGet:
		f.listAccessEntries(w, r, e, cluster)
	case !policies && m == http.MethodGet:
		f.withEntry(w, r, e, cluster, principal, func(_ *clusterAccess, a *accessEntry) {
			writeJSON(w, http.StatusOK, map[string]any{"accessEntry": a.json()})
		})
	case !policies && m == http.MethodPost:
		f.updateAccessEntry(w, r, e, cluster, principal)
	case !policies && m == http.MethodDelete:
		f.withEntry(w, r, e, cluster, principal, func(ca *clusterAccess, a *accessEntry) {
			delete(ca.entries, a.principal)
			writeJSON(w, http.StatusOK, map[string]any{})
		})
	case policies && policy == "" && m == http.MethodPost:
		f.associateAccessPolicy(w, r, e, cluster, principal)
	case policies && policy == "" && m == http.MethodGet:
		f.withEntry(w, r, e, cluster, principal, func(_ *clusterAccess, a *accessEntry) {
			arns := make([]string, 0, len(a.policies))
			for arn := range a.policies {
				arns = append(arns, arn)
			}
			sort.Strings(arns)
			list := make([]map[string]any, 0, len(arns))
			for _, arn := range arns {
				list = append(list, a.policies[arn].json())
			}
			writeJSON(w, http.StatusOK, map[string]any{
				"clusterName": cluster, "principalArn": a.principal, "associatedAccessPolicies": list,
			})
		})
	case policies && policy != "" && m == http.MethodDelete:
		f.withEntry(w, r, e, cluster, principal, func(_ *clusterAccess, a *accessEntry) {
			if a.policies[policy] == nil {
				notFound(w, "The specified policy "+policy+" is not associated with the access entry.", map[string]any{"clusterName": cluster})
				return
			}
			delete(a.policies, policy)
			writeJSON(w, http.StatusOK, map[string]any{})
		})
	default:
		eksError(w, http.StatusMethodNotAllowed, "InvalidRequestException", "front: "+m+" "+r.URL.Path+" is not an EKS access entry call", nil)
	}
}

// accessCluster asks moto for the cluster, drops the entries of an earlier cluster of that name and refuses a
// cluster whose authentication mode does not include API. It writes the error and returns nil when it refuses.
// The caller holds no lock; on success f.mu is held and the caller must unlock it.
func (f *Front) accessCluster(w http.ResponseWriter, r *http.Request, e eksRequest, name string) *clusterAccess {
	key := clusterKey(e.region, name)
	mc, ok := f.motoClusterOrError(w, r, name, func() { delete(f.accessStore(), key) })
	if !ok {
		return nil
	}
	f.mu.Lock()
	mode := "CONFIG_MAP" // EKS's default when a cluster is created without accessConfig
	if o := f.overlays[clusterOverlayKey(e.region, name)]; o != nil {
		if ac, _ := o.echo["accessConfig"].(map[string]any); str(ac["authenticationMode"]) != "" {
			mode = str(ac["authenticationMode"])
		}
	}
	if mode != "API" && mode != "API_AND_CONFIG_MAP" {
		f.mu.Unlock()
		eksError(w, http.StatusBadRequest, "InvalidRequestException", needsAPIMode, map[string]any{"clusterName": name})
		return nil
	}
	return f.accessEntriesLocked(key, mc.Arn, string(mc.CreatedAt))
}

// accessEntriesLocked returns the access entries of the cluster key in its incarnation arn/createdAt, dropping
// those of an earlier cluster of that name; call it with f.mu held.
func (f *Front) accessEntriesLocked(key, arn, createdAt string) *clusterAccess {
	store := f.accessStore()
	ca := store[key]
	if ca == nil || ca.arn != arn || ca.createdAt != createdAt {
		ca = &clusterAccess{arn: arn, createdAt: createdAt, entries: map[string]*accessEntry{}}
		store[key] = ca
	}
	return ca
}

// addEntryLocked adds an access entry; call it with f.mu held.
func (f *Front) addEntryLocked(ca *clusterAccess, cluster, principal, typ, username string) *accessEntry {
	now := time.Now().UTC() // clock: a resource timestamp, not a date-based decision
	a := &accessEntry{
		cluster: cluster, principal: principal, typ: typ, username: username, created: now, modified: now,
		policies: map[string]*associatedPolicy{},
	}
	pm := principalARN.FindStringSubmatch(principal)
	// arn:<partition>:eks:<region>:<account>:access-entry/<cluster>/<role|user>/<account>/<name>/<uuid>
	prefix, _, _ := strings.Cut(ca.arn, ":cluster/")
	if pm != nil {
		a.arn = prefix + ":access-entry/" + cluster + "/" + pm[3] + "/" + pm[2] + "/" + pm[4][strings.LastIndex(pm[4], "/")+1:] + "/" + uuid()
	}
	ca.entries[principal] = a
	return a
}

// withEntry runs fn with f.mu held on an existing entry, or writes ResourceNotFoundException.
func (f *Front) withEntry(w http.ResponseWriter, r *http.Request, e eksRequest, cluster, principal string, fn func(*clusterAccess, *accessEntry)) {
	ca := f.accessCluster(w, r, e, cluster)
	if ca == nil {
		return
	}
	defer f.mu.Unlock()
	a := ca.entries[principal]
	if a == nil {
		notFound(w, entryNotFound, map[string]any{"clusterName": cluster})
		return
	}
	fn(ca, a)
}

type accessEntryRequest struct {
	PrincipalArn     string            `json:"principalArn"`
	KubernetesGroups []string          `json:"kubernetesGroups"`
	Tags             map[string]string `json:"tags"`
	Username         *string           `json:"username"`
	Type             string            `json:"type"`
}

// checkUsernameAndGroups validates what CreateAccessEntry and UpdateAccessEntry set; it writes the error and
// returns false when the request is refused.
func checkUsernameAndGroups(w http.ResponseWriter, cluster, typ string, groups []string, username *string) bool {
	ids := map[string]any{"clusterName": cluster}
	if typ != "STANDARD" && (len(groups) > 0 || (username != nil && *username != "")) {
		invalidParameter(w, "kubernetesGroups and username can be set only on access entries of type STANDARD, not "+typ, ids)
		return false
	}
	if username != nil {
		for _, p := range reservedUsernamePrefixes {
			if strings.HasPrefix(*username, p) {
				invalidParameter(w, "The username can't start with "+strings.Join(reservedUsernamePrefixes, ", "), ids)
				return false
			}
		}
	}
	return true
}

// defaultUsername is the username EKS gives an entry created without one: a user's ARN, the STS session ARN of a
// role (without the role's path), and the node identity for the node types.
func defaultUsername(principal, typ string) string {
	switch typ {
	case "STANDARD":
	case "EC2", "EC2_LINUX", "EC2_WINDOWS":
		return "system:node:{{EC2PrivateDNSName}}"
	default:
		return "system:node:{{SessionName}}"
	}
	m := principalARN.FindStringSubmatch(principal)
	if m == nil || m[3] == "user" {
		return principal
	}
	name := m[4][strings.LastIndex(m[4], "/")+1:]
	return "arn:" + m[1] + ":sts::" + m[2] + ":assumed-role/" + name + "/{{SessionName}}"
}

func (f *Front) createAccessEntry(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string) {
	var req accessEntryRequest
	if !readJSON(w, r, &req) {
		return
	}
	ids := map[string]any{"clusterName": cluster}
	if req.Type == "" {
		req.Type = "STANDARD"
	}
	if !slices.Contains(accessEntryTypes, req.Type) {
		invalidParameter(w, "1 validation error detected: Value '"+req.Type+"' at 'type' failed to satisfy constraint: "+
			"Member must satisfy enum value set: ["+strings.Join(accessEntryTypes, ", ")+"]", ids)
		return
	}
	pm := principalARN.FindStringSubmatch(req.PrincipalArn)
	if pm == nil || (req.Type != "STANDARD" && pm[3] != "role") {
		invalidParameter(w, badPrincipal, ids)
		return
	}
	if !checkUsernameAndGroups(w, cluster, req.Type, req.KubernetesGroups, req.Username) {
		return
	}
	// EKS resolves the principal; the harness has only moto's account to look in.
	exists := true
	if pm[2] == motoAccount {
		var err error
		if exists, err = f.principalExists(r, req.PrincipalArn, pm[3], pm[4]); err != nil {
			eksError(w, http.StatusInternalServerError, "ServerException", "front: ask moto for the principal: "+err.Error(), nil)
			return
		}
	}
	ca := f.accessCluster(w, r, e, cluster)
	if ca == nil {
		return
	}
	defer f.mu.Unlock()
	if !exists {
		invalidParameter(w, badPrincipal, ids)
		return
	}
	if ca.entries[req.PrincipalArn] != nil {
		eksError(w, http.StatusConflict, "ResourceInUseException", "The specified access entry resource is already in use on this cluster.", ids)
		return
	}
	username := defaultUsername(req.PrincipalArn, req.Type)
	if req.Username != nil && *req.Username != "" {
		username = *req.Username
	}
	a := f.addEntryLocked(ca, cluster, req.PrincipalArn, req.Type, username)
	a.groups, a.tags = req.KubernetesGroups, req.Tags
	writeJSON(w, http.StatusOK, map[string]any{"accessEntry": a.json()})
}

func (f *Front) updateAccessEntry(w http.ResponseWriter, r *http.Request, e eksRequest, cluster, principal string) {
	var req accessEntryRequest
	if !readJSON(w, r, &req) {
		return
	}
	f.withEntry(w, r, e, cluster, principal, func(_ *clusterAccess, a *accessEntry) {
		if !checkUsernameAndGroups(w, cluster, a.typ, req.KubernetesGroups, req.Username) {
			return
		}
		if req.KubernetesGroups != nil {
			a.groups = req.KubernetesGroups
		}
		if req.Username != nil && *req.Username != "" {
			a.username = *req.Username
		}
		a.modified = time.Now().UTC() // clock: a resource timestamp, not a date-based decision
		writeJSON(w, http.StatusOK, map[string]any{"accessEntry": a.json()})
	})
}

func (f *Front) listAccessEntries(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			invalidParameter(w, "maxResults must be between 1 and 100", map[string]any{"clusterName": cluster})
			return
		}
		limit = n
	}
	start := 0
	if v := q.Get("nextToken"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			invalidParameter(w, "The nextToken is invalid", map[string]any{"clusterName": cluster})
			return
		}
		start = n
	}
	ca := f.accessCluster(w, r, e, cluster)
	if ca == nil {
		return
	}
	defer f.mu.Unlock()
	policy := q.Get("associatedPolicyArn")
	var arns []string
	for p, a := range ca.entries {
		if policy == "" || a.policies[policy] != nil {
			arns = append(arns, p)
		}
	}
	sort.Strings(arns)
	out := map[string]any{"accessEntries": []string{}}
	if start < len(arns) {
		end := min(start+limit, len(arns))
		out["accessEntries"] = arns[start:end]
		if end < len(arns) {
			out["nextToken"] = strconv.Itoa(end)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *Front) associateAccessPolicy(w http.ResponseWriter, r *http.Request, e eksRequest, cluster, principal string) {
	var req struct {
		PolicyArn   string `json:"policyArn"`
		AccessScope struct {
			Type       string   `json:"type"`
			Namespaces []string `json:"namespaces"`
		} `json:"accessScope"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	ids := map[string]any{"clusterName": cluster}
	s := req.AccessScope
	switch {
	case !accessPolicy.MatchString(req.PolicyArn):
		invalidParameter(w, "The specified policyArn is invalid: "+req.PolicyArn, ids)
		return
	case s.Type != "cluster" && s.Type != "namespace":
		invalidParameter(w, "1 validation error detected: Value '"+s.Type+"' at 'accessScope.type' failed to satisfy constraint: "+
			"Member must satisfy enum value set: [cluster, namespace]", ids)
		return
	case s.Type == "namespace" && len(s.Namespaces) == 0:
		invalidParameter(w, "An access scope of type namespace needs at least one namespace", ids)
		return
	case s.Type == "cluster" && len(s.Namespaces) > 0:
		invalidParameter(w, "An access scope of type cluster takes no namespaces", ids)
		return
	}
	f.withEntry(w, r, e, cluster, principal, func(_ *clusterAccess, a *accessEntry) {
		if a.typ != "STANDARD" {
			invalidParameter(w, "Access policies can be associated only with access entries of type STANDARD", ids)
			return
		}
		now := time.Now().UTC() // clock: a resource timestamp, not a date-based decision
		p := a.policies[req.PolicyArn]
		if p == nil { // associating again changes the scope of the association
			p = &associatedPolicy{arn: req.PolicyArn, associated: now}
			a.policies[p.arn] = p
		}
		p.scope, p.namespaces, p.modified = s.Type, s.Namespaces, now
		writeJSON(w, http.StatusOK, map[string]any{
			"clusterName": cluster, "principalArn": a.principal, "associatedAccessPolicy": p.json(),
		})
	})
}

// principalExists asks moto's IAM whether the role or user of a principal ARN exists, with the caller's
// credentials scoped to IAM (moto checks no signature).
func (f *Front) principalExists(r *http.Request, arn, kind, pathName string) (bool, error) {
	name := pathName[strings.LastIndex(pathName, "/")+1:]
	form := url.Values{"Version": {"2010-05-08"}}
	if kind == "role" {
		form.Set("Action", "GetRole")
		form.Set("RoleName", name)
	} else {
		form.Set("Action", "GetUser")
		form.Set("UserName", name)
	}
	// Scoped to IAM in the harness's region.
	status, raw, err := f.askMoto(r, http.MethodPost, "/", []byte(form.Encode()),
		map[string]string{"Authorization": scopedAuth(r, Region, "iam"), "Content-Type": "application/x-www-form-urlencoded"})
	if err != nil {
		return false, err
	}
	switch {
	case status == http.StatusOK:
		return strings.Contains(string(raw), "<Arn>"+arn+"</Arn>"), nil // the same name on another path is not it
	case strings.Contains(string(raw), "NoSuchEntity"):
		return false, nil
	}
	return false, fmt.Errorf("moto answered %s with HTTP %d: %s", form.Get("Action"), status, raw)
}

// statusWriter remembers the status of an answer it passes on.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// deleteCluster refuses DeleteCluster while Fargate profiles are attached (refuseClusterInUse), forwards it to
// moto otherwise, and drops the cluster's access entries when moto deleted it.
func (f *Front) deleteCluster(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string) {
	if f.refuseClusterInUse(w, r, cluster) {
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	f.proxy.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), rewriteKey{}, f.prepareRewrite(r, e))))
	if sw.status/100 == 2 {
		f.mu.Lock()
		delete(f.accessStore(), clusterKey(e.region, cluster))
		f.mu.Unlock()
	}
}
