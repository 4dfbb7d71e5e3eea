package harness

import (
	"net/http"
	"strings"
	"time"
)

// EKS Pod Identity associations made through the API (aws_eks_pod_identity_association), which moto 5.2.1 lacks:
// CreatePodIdentityAssociation, UpdatePodIdentityAssociation and DeletePodIdentityAssociation (EKS API reference),
// beside the Describe and List calls and the add-ons' associations of front_podidentity.go. EKS's refusals:
//
//   - P1: one association per namespace and service account, whoever made the first (an add-on included):
//     ResourceInUseException (HTTP 409) "Association already exists: <id>" (eksctl #7753, aws/eks-hybrid #679,
//     awslabs/crossplane-on-eks #168).
//   - P2: the role must exist, "Role provided in the request does not exist" (the message hashicorp/aws retries on
//     while IAM propagates, internal/service/eks/pod_identity_association.go), and let pods.eks.amazonaws.com
//     AssumeRole and TagSession (EKS user guide, pod-id-role), "Trust policy of the role provided is invalid"
//     (terraform-provider-aws #41483); both InvalidParameterException.

type podIdentityCreate struct {
	Namespace          string            `json:"namespace"`
	ServiceAccount     string            `json:"serviceAccount"`
	RoleArn            string            `json:"roleArn"`
	Tags               map[string]string `json:"tags"`
	DisableSessionTags *bool             `json:"disableSessionTags"`
	TargetRoleArn      *string           `json:"targetRoleArn"`
}

// podIdentityRole checks, as EKS does, that pods.eks.amazonaws.com can assume the role; it writes the refusal and
// returns false otherwise. Call it without f.mu: it asks moto's IAM.
func (f *Front) podIdentityRole(w http.ResponseWriter, r *http.Request, cluster, arn string) bool {
	ids := map[string]any{"clusterName": cluster}
	ri, err := f.role(r, arn)
	switch {
	case err != nil:
		eksError(w, http.StatusInternalServerError, "ServerException", "front: "+err.Error(), nil)
		return false
	case !ri.exists:
		invalidParameter(w, "Role provided in the request does not exist", ids)
		return false
	case !ri.trustsService("pods.eks.amazonaws.com", "sts:AssumeRole", "sts:TagSession"):
		invalidParameter(w, "Trust policy of the role provided is invalid", ids)
		return false
	}
	return true
}

// createPodIdentityAssociation serves POST /clusters/{name}/pod-identity-associations.
func (f *Front) createPodIdentityAssociation(w http.ResponseWriter, r *http.Request, e eksRequest, cluster string) {
	var req podIdentityCreate
	if !readJSON(w, r, &req) {
		return
	}
	if req.Namespace == "" || req.ServiceAccount == "" || req.RoleArn == "" {
		invalidParameter(w, "namespace, serviceAccount and roleArn are required", map[string]any{"clusterName": cluster}) // invented: the SDK refuses first
		return
	}
	ca := f.cluster(w, r, e, cluster)
	if ca == nil || !f.podIdentityRole(w, r, cluster, req.RoleArn) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range ca.associations {
		if p.namespace == req.Namespace && p.serviceAccount == req.ServiceAccount {
			eksError(w, http.StatusConflict, "ResourceInUseException", "Association already exists: "+p.id, map[string]any{"clusterName": cluster})
			return
		}
	}
	prefix, _, _ := strings.Cut(ca.arn, ":cluster/")
	now := time.Now().UTC() // clock: a resource timestamp, not a date-based decision
	id := "a-" + strings.ReplaceAll(uuid(), "-", "")[:17]
	p := &podIdentityAssociation{
		id: id, arn: prefix + ":podidentityassociation/" + cluster + "/" + id, cluster: cluster,
		namespace: req.Namespace, serviceAccount: req.ServiceAccount, roleARN: req.RoleArn, tags: req.Tags,
		created: now, modified: now,
	}
	p.set(req.DisableSessionTags, req.TargetRoleArn)
	ca.associations[id] = p
	writeJSON(w, http.StatusOK, map[string]any{"association": p.json()})
}

// set applies the optional members of a create or update.
func (p *podIdentityAssociation) set(disableSessionTags *bool, targetRole *string) {
	if disableSessionTags != nil {
		p.disableSessionTags = *disableSessionTags
	}
	if targetRole != nil {
		p.targetRoleARN = *targetRole
		p.externalID = ""
		if p.targetRoleARN != "" {
			p.externalID = uuid() // EKS API reference, PodIdentityAssociation: externalId goes with a target role
		}
	}
}

// updatePodIdentityAssociation serves POST /clusters/{name}/pod-identity-associations/{id}: only the role and the
// session settings change (EKS API reference, UpdatePodIdentityAssociation).
func (f *Front) updatePodIdentityAssociation(w http.ResponseWriter, r *http.Request, e eksRequest, cluster, id string) {
	var req struct {
		RoleArn            *string `json:"roleArn"`
		DisableSessionTags *bool   `json:"disableSessionTags"`
		TargetRoleArn      *string `json:"targetRoleArn"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	ca := f.cluster(w, r, e, cluster)
	if ca == nil || (req.RoleArn != nil && !f.podIdentityRole(w, r, cluster, *req.RoleArn)) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := ca.associations[id]
	if p == nil {
		notFound(w, "No Pod Identity Association found for id: "+id, map[string]any{"clusterName": cluster})
		return
	}
	if req.RoleArn != nil {
		p.roleARN = *req.RoleArn
	}
	p.set(req.DisableSessionTags, req.TargetRoleArn)
	p.modified = time.Now().UTC() // clock: a resource timestamp, not a date-based decision
	writeJSON(w, http.StatusOK, map[string]any{"association": p.json()})
}

// deletePodIdentityAssociation serves DELETE /clusters/{name}/pod-identity-associations/{id}.
func (f *Front) deletePodIdentityAssociation(w http.ResponseWriter, r *http.Request, e eksRequest, cluster, id string) {
	ca := f.cluster(w, r, e, cluster)
	if ca == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := ca.associations[id]
	if p == nil {
		notFound(w, "No Pod Identity Association found for id: "+id, map[string]any{"clusterName": cluster})
		return
	}
	if p.ownerARN != "" { // an add-on's go with UpdateAddon or DeleteAddon
		eksError(w, http.StatusBadRequest, "InvalidRequestException", "front: the association belongs to "+p.ownerARN, nil) // invented: no source quotes this case
		return
	}
	delete(ca.associations, id)
	writeJSON(w, http.StatusOK, map[string]any{"association": p.json()})
}
