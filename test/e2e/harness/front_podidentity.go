package harness

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// EKS Pod Identity associations, which moto 5.2.1 lacks, as add-ons make them (the API's own calls are in
// front_podidentity_assoc.go): CreateAddon and UpdateAddon
// with podIdentityAssociations (EKS API reference, CreateAddon), DescribeAddonConfiguration's
// podIdentityConfiguration, and DescribePodIdentityAssociation and ListPodIdentityAssociations, which the provider
// reads them back with. N6: an add-on takes Pod Identity only for the service account its configuration names and
// only from a version that supports it (terraform-aws-eks #3520, containers-roadmap #2712).

type podIdentityRequest struct {
	RoleArn        string `json:"roleArn"`
	ServiceAccount string `json:"serviceAccount"`
}

type podIdentityAssociation struct {
	id, arn, cluster, namespace, serviceAccount, roleARN, ownerARN string
	created, modified                                              time.Time
	// Set through CreatePodIdentityAssociation (front_podidentity_assoc.go).
	tags                      map[string]string
	disableSessionTags        bool
	targetRoleARN, externalID string
}

func (p *podIdentityAssociation) json() map[string]any {
	tags := p.tags
	if tags == nil {
		tags = map[string]string{}
	}
	m := map[string]any{
		"clusterName": p.cluster, "namespace": p.namespace, "serviceAccount": p.serviceAccount, "roleArn": p.roleARN,
		"associationArn": p.arn, "associationId": p.id, "tags": tags,
		"createdAt": epoch(p.created), "modifiedAt": epoch(p.modified), "disableSessionTags": p.disableSessionTags,
	}
	for k, v := range map[string]string{"ownerArn": p.ownerARN, "targetRoleArn": p.targetRoleARN, "externalId": p.externalID} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func (a *addon) associationARNs() []string {
	out := []string{}
	for _, p := range a.podIdentity {
		out = append(out, p.arn)
	}
	return out
}

// podIdentitySupported reports whether an add-on version takes Pod Identity, and its configuration.
func podIdentitySupported(name, version string) (*podIdentityConfig, bool) {
	a := addonCatalog[name]
	if a.podIdentity == nil || compareBuilds(version, a.podIdentitySince) < 0 {
		return nil, false
	}
	return a.podIdentity, true
}

// compareBuilds orders the fixture's add-on builds (vMAJOR.MINOR.PATCH-eksbuild.N).
func compareBuilds(a, b string) int {
	pa, pb := buildParts(a), buildParts(b)
	for i := range pa {
		if pa[i] != pb[i] {
			if pa[i] < pb[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func buildParts(v string) [4]int {
	var out [4]int
	core, build, _ := strings.Cut(strings.TrimPrefix(v, "v"), "-eksbuild.")
	for i, p := range append(strings.SplitN(core, ".", 3), build) {
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		if i < 4 {
			out[i] = n
		}
	}
	return out
}

// checkPodIdentity refuses, as EKS does, Pod Identity for an add-on version without it or for another service
// account; it writes the error and returns false then.
func checkPodIdentity(w http.ResponseWriter, cluster, name, version string, reqs []podIdentityRequest) bool {
	ids := map[string]any{"clusterName": cluster, "addonName": name}
	if len(reqs) == 0 {
		return true
	}
	cfg, ok := podIdentitySupported(name, version)
	if !ok {
		invalidParameter(w, "Pod Identity feature is not supported for addon version: "+version, ids)
		return false
	}
	for _, p := range reqs {
		if p.ServiceAccount != cfg.serviceAccount {
			invalidParameter(w, "Service account "+p.ServiceAccount+" in pod identity configuration is not supported for addon "+name, ids)
			return false
		}
		if !strings.HasPrefix(p.RoleArn, "arn:") || !strings.Contains(p.RoleArn, ":role/") {
			invalidParameter(w, "roleArn "+p.RoleArn+" is not a valid IAM role ARN", ids) // invented
			return false
		}
	}
	return true
}

// checkPodIdentityRoles refuses, as EKS does, an association whose role does not trust EKS Pod Identity:
// pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession (EKS user guide, pod-id-role; update-addon-role:
// "The role must have the required trust policy for EKS Pod Identity"). EKS's answer to a role with another trust
// policy is InvalidParameterException "Trust policy of the role provided is invalid" (terraform-provider-aws
// #41483). It writes the error and returns false then.
func (f *Front) checkPodIdentityRoles(w http.ResponseWriter, r *http.Request, cluster, name string, reqs []podIdentityRequest) bool {
	ids := map[string]any{"clusterName": cluster, "addonName": name}
	for _, p := range reqs {
		ri, err := f.role(r, p.RoleArn)
		if err != nil {
			eksError(w, http.StatusInternalServerError, "ServerException", "front: "+err.Error(), nil)
			return false
		}
		if !ri.exists {
			invalidParameter(w, "Role "+p.RoleArn+" does not exist", ids) // invented: no source quotes this case
			return false
		}
		if !ri.trustsService("pods.eks.amazonaws.com", "sts:AssumeRole", "sts:TagSession") {
			invalidParameter(w, "Trust policy of the role provided is invalid", ids)
			return false
		}
	}
	return true
}

// associate creates the add-on's associations in the namespace the add-on runs in (kube-system unless its
// configuration names another: amazon-cloudwatch for the CloudWatch add-on); call it with f.mu held.
func (ca *clusterAddons) associate(a *addon, reqs []podIdentityRequest) []*podIdentityAssociation {
	var out []*podIdentityAssociation
	namespace := "kube-system"
	if c := addonCatalog[a.name].podIdentity; c != nil && c.namespace != "" {
		namespace = c.namespace
	}
	prefix, cluster, _ := strings.Cut(ca.arn, ":cluster/")
	now := time.Now().UTC() // clock: a resource timestamp, not a date-based decision
	for _, r := range reqs {
		id := "a-" + strings.ReplaceAll(uuid(), "-", "")[:17]
		p := &podIdentityAssociation{
			id: id, arn: prefix + ":podidentityassociation/" + cluster + "/" + id, cluster: cluster,
			namespace: namespace, serviceAccount: r.ServiceAccount, roleARN: r.RoleArn, ownerARN: a.arn,
			created: now, modified: now,
		}
		ca.associations[id] = p
		out = append(out, p)
	}
	return out
}

// dissociate deletes the add-on's associations; call it with f.mu held.
func (ca *clusterAddons) dissociate(a *addon) {
	for _, p := range a.podIdentity {
		delete(ca.associations, p.id)
	}
	a.podIdentity = nil
}

// describeAddonConfiguration serves GET /addons/configuration-schemas?addonName=&addonVersion=.
func (f *Front) describeAddonConfiguration(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, version := q.Get("addonName"), q.Get("addonVersion")
	if !addonVersionSupported(name, version, "") {
		invalidParameter(w, "Addon version specified is not supported", map[string]any{"addonName": name})
		return
	}
	out := map[string]any{"addonName": name, "addonVersion": version, "configurationSchema": "{}", "podIdentityConfiguration": []any{}}
	if cfg, ok := podIdentitySupported(name, version); ok {
		out["podIdentityConfiguration"] = []map[string]any{{"serviceAccount": cfg.serviceAccount, "recommendedManagedPolicies": cfg.policies}}
	}
	writeJSON(w, http.StatusOK, out)
}

// servePodIdentity serves /clusters/{name}/pod-identity-associations[/{id}]: GET here, the rest in
// front_podidentity_assoc.go.
func (f *Front) servePodIdentity(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string, rest []string) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodPost:
		f.createPodIdentityAssociation(w, r, e, cluster)
		return
	case len(rest) == 1 && r.Method == http.MethodPost:
		f.updatePodIdentityAssociation(w, r, e, cluster, rest[0])
		return
	case len(rest) == 1 && r.Method == http.MethodDelete:
		f.deletePodIdentityAssociation(w, r, e, cluster, rest[0])
		return
	}
	ca := f.cluster(w, r, e, cluster)
	if ca == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		var list []map[string]any
		ids := make([]string, 0, len(ca.associations))
		for id := range ca.associations {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		q := r.URL.Query() // EKS API reference, ListPodIdentityAssociations: filters by namespace and service account
		for _, id := range ids {
			p := ca.associations[id]
			if (q.Get("namespace") != "" && q.Get("namespace") != p.namespace) ||
				(q.Get("serviceAccount") != "" && q.Get("serviceAccount") != p.serviceAccount) {
				continue
			}
			list = append(list, map[string]any{"clusterName": p.cluster, "namespace": p.namespace, "serviceAccount": p.serviceAccount,
				"associationArn": p.arn, "associationId": p.id, "ownerArn": p.ownerARN})
		}
		writeJSON(w, http.StatusOK, map[string]any{"associations": list})
	case len(rest) == 1 && r.Method == http.MethodGet:
		p := ca.associations[rest[0]]
		if p == nil {
			notFound(w, "No Pod Identity Association found for id: "+rest[0], map[string]any{"clusterName": cluster})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"association": p.json()})
	default:
		eksError(w, http.StatusMethodNotAllowed, "InvalidRequestException", "method not allowed", nil)
	}
}
