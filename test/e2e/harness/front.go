// Package harness is test-only code: it starts moto (an AWS API emulator), puts a small API front before it, creates
// the Terraform state bucket and finds a usable Terraform CLI configuration, so that end-to-end tests can drive the
// real Terraform CLI and the real hashicorp/aws provider against an emulated account. It has no place in a binary.
//
// The front forwards every request to moto 5.2.1 unchanged, except the calls moto lacks, answers in a way that
// breaks hashicorp/aws 5.100.0 (an apply, a clean re-plan, an update or a destroy), or accepts where AWS refuses.
// What AWS refuses and how long it takes is EKS's contract, each behaviour with its source beside its code and a
// TestContract subtest: docs/test-front.md lists them (V1-V5, C1, U1-U6, A1-A2, N1-N9, P1-P2, L1-L2, D1-D2).
// Dates come from the day the test sets (SetDay, TestDay by default), never from the wall clock; every create and
// update takes Delay (about two seconds). The gaps it fills, one a line:
//
//   - EKS CreateAddon, DescribeAddon, ListAddons, UpdateAddon, DeleteAddon: missing; kept in memory, CREATING then
//     ACTIVE, DEGRADED as EKS reports it (front_health.go).
//   - EKS DescribeAddonConfiguration, and Pod Identity associations made by add-ons (Describe/ListPodIdentity-
//     Association): missing; from the fixture, in the add-on's namespace, refused for a role that does not trust
//     EKS Pod Identity (N7-N9).
//   - EKS add-ons: the fixture offers vpc-cni, coredns, kube-proxy, eks-pod-identity-agent, aws-ebs-csi-driver,
//     metrics-server, amazon-cloudwatch-observability and eks-node-monitoring-agent.
//   - EKS Create/Update/DeletePodIdentityAssociation: missing; kept with the add-ons' associations, one per service
//     account (P1), for a role pods.eks.amazonaws.com can assume (P2); tags as for add-ons.
//   - EKS CreateAddon without addonVersion: the fixture's default version for the cluster's Kubernetes version.
//   - EKS DescribeAddonVersions (GET /addons/supported-versions): missing; served from a small fixture.
//   - EKS DescribeClusterVersions (GET /cluster-versions): missing; the front's own calendar fixture, for its day.
//   - EKS DescribeUpdate (GET /clusters/{name}/updates/{id}): missing; the front's and moto's updates, InProgress,
//     then Successful (Failed for an upgrade FailClusterUpgradeTo names).
//   - EKS UpdateClusterVersion (POST /clusters/{name}/updates): missing; EKS's rules (V2, V3, U6).
//   - EKS AssociateEncryptionConfig: missing; EKS's rules (U4, U5).
//   - EKS CreateCluster, UpdateClusterConfig: moto accepts what EKS refuses (V1, V4, U1, U3, U5) and answers
//     UpdateClusterConfig with {}, which crashes the provider; the front refuses and answers an update.
//   - EKS clusters, node groups: moto makes them ACTIVE at once; CREATING or UPDATING for Delay (U2, N4).
//   - EKS CreateNodegroup: moto's nodes always join; CREATE_FAILED without the node role's policies (N3).
//   - EKS access entries: EKS creates the creator's (A1) and the node roles' (A2) itself; moto has none.
//   - EKS clusters: moto answers no upgradePolicy for a cluster created without one; EKS's default EXTENDED.
//   - EKS UpdateClusterConfig with resourcesVpcConfig: moto replaces the whole configuration; the front merges it.
//   - EKS clusters: moto drops accessConfig, upgradePolicy, zonalShiftConfig, computeConfig, storageConfig; echoed.
//   - EKS clusters: moto gives every cluster the same OIDC issuer; the front derives one from the cluster ARN.
//   - EKS clusters: moto's endpoint and CA are made up; ServeKubernetesAPI points them at a real API server.
//   - EKS clusters: moto answers no publicAccessCidrs for a public endpoint created without any; EKS's 0.0.0.0/0.
//   - EKS node groups: moto drops updateConfig and nodeRepairConfig on create; echoed.
//   - EKS node groups: moto adds remoteAccess {ec2SshKey: eksKeypair} when none was asked for; hidden.
//   - EKS node groups: moto gives one created without a version Kubernetes 1.19; the cluster's version, as EKS.
//   - EKS CreateNodegroup with a version other than the cluster's: moto accepts it; InvalidParameterException.
//   - EKS UpdateNodegroupVersion (POST /clusters/{name}/node-groups/{ng}/update-version): missing; EKS's rules.
//   - EKS TagResource, UntagResource, ListTagsForResource on add-on and node group ARNs: moto tags clusters only.
//   - EKS DeleteCluster: drops the cluster's add-ons (a moto reset or a re-created cluster is noticed lazily).
//   - EKS Create/Describe/List/Update/DeleteAccessEntry: missing; kept in memory, only on API authentication modes.
//   - EKS Associate/Disassociate/ListAssociatedAccessPolicies: missing; kept with the access entry.
//   - EKS TagResource, UntagResource, ListTagsForResource on access entry ARNs: as for add-ons.
//   - EKS DeleteCluster: also drops the cluster's access entries (re-created clusters are noticed lazily too).
//   - EKS DeleteCluster with Fargate profiles: moto deletes it (it refuses node groups itself); ResourceInUseException.
//   - Service Quotas GetServiceQuota: moto knows the vpc service only; the EC2 quotas pkg/live reads, test values.
//   - Service Quotas GetAWSDefaultServiceQuota: missing; EC2 from the same values, other services from moto's list.
//   - CloudWatch Logs AssociateKmsKey, DisassociateKmsKey: missing; kept in memory, shown in DescribeLogGroups.
//   - CloudWatch Logs AssociateKmsKey, CreateLogGroup with kmsKeyId: moto takes any key; the key policy read from
//     moto's KMS must let logs.<region>.amazonaws.com use it for the group, or AccessDeniedException.
//   - CloudWatch Logs DeleteLogGroup of /aws/eks/<cluster>/cluster: while the cluster exists with a log type
//     enabled, the group is created again at once (plain), as EKS does when it next writes.
//   - EC2 DeleteSubnet, DeleteSecurityGroup: moto deletes them under a network interface or an ELBv2 load balancer;
//     DependencyViolation. (DeleteVpc: moto refuses a VPC with subnets itself.)
//   - EC2 DetachInternetGateway: moto detaches while public addresses are mapped in the VPC; DependencyViolation.
//   - EC2 DeleteNatGateway: moto keeps the gateway's Elastic IP associated and its network interface; the front
//     disassociates the one and deletes the other, as EC2.
//   - EC2 DescribeLaunchTemplateVersions: moto copies the template's own tags into its data; removed.
//   - EC2 DescribeLaunchTemplates: moto reports a template's tags as created, ignoring CreateTags; current tags.
package harness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Front is the test-only API front: an HTTP server on a loopback port that fills moto's EKS gaps.
type Front struct {
	URL string // http://127.0.0.1:PORT

	backend *url.URL
	proxy   *httputil.ReverseProxy
	srv     *http.Server

	mu       sync.Mutex
	addons   map[string]*clusterAddons // by clusterKey
	updates  map[string]frontUpdate    // by update ID
	overlays map[string]*overlay       // by clusterOverlayKey or nodegroupOverlayKey
	logKeys  map[string]string         // region/log group -> KMS key the front associated ("" disassociated)
	access   map[string]*clusterAccess // access entries by clusterKey
	// failUpgradeTo is the version FailClusterUpgradeTo makes UpdateClusterVersion fail on ("" none).
	failUpgradeTo string

	quotaOnce sync.Once
	quotas    *quotaValues // applied quota values set by SetQuota

	today    time.Time          // the day of date-based answers (SetDay; TestDay when zero)
	delay    time.Duration      // how long a change takes (SetDelay; DefaultDelay when zero)
	busy     map[string]*change // changes in progress, by overlay key (cluster, node group) or addonKey
	creators map[string]string  // by clusterKey: the principal whose access entry CreateCluster bootstraps
	insights map[string]string  // by cluster name: an upgrade readiness issue BlockUpgrades set
	kubeAPIs map[string]kubeAPI // by cluster name: the API server ServeKubernetesAPI set
}

// StartFront starts a Front that forwards to backend (a Moto's URL) and stops it when the test ends.
func StartFront(t testing.TB, backend string) *Front {
	t.Helper()
	f, err := NewFront(backend)
	if err != nil {
		t.Fatalf("front: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("front: listen on loopback: %v", err)
	}
	f.URL = "http://" + l.Addr().String()
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = f.srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.srv.Shutdown(ctx)
	})
	return f
}

// NewFront returns a Front (an http.Handler) forwarding to backend, without starting a server: StartFront is the
// usual way in.
func NewFront(backend string) (*Front, error) {
	u, err := url.Parse(backend)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, errors.New("backend must be an absolute URL such as http://127.0.0.1:5000, got " + strconv.Quote(backend))
	}
	f := &Front{
		backend:  u,
		addons:   map[string]*clusterAddons{},
		updates:  map[string]frontUpdate{},
		overlays: map[string]*overlay{},
	}
	f.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host // moto signs nothing, but keep the host the client signed
			if rewriteOf(r.In.Context()) != nil {
				r.Out.Header.Del("Accept-Encoding") // the transport then decompresses for the rewrite
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if rw := rewriteOf(resp.Request.Context()); rw != nil {
				return f.rewriteResponse(resp, rw)
			}
			return nil
		},
	}
	return f, nil
}

// eksRequest holds what the front knows of one EKS call.
type eksRequest struct {
	region string
	parts  []string // the unescaped path segments
}

// clusterKey identifies a cluster by region and name (the harness uses one account).
func clusterKey(region, cluster string) string { return region + "/" + cluster }

var scopeService = regexp.MustCompile(`Credential=[^/,]+/\d{8}/([^/,]+)/([^/,]+)/aws4_request`)

// ServeHTTP sends EKS calls to the handlers of the gaps above and everything else to moto.
func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.settle()
	m := scopeService.FindStringSubmatch(r.Header.Get("Authorization"))
	if m != nil && m[2] == "ec2" && r.Method == http.MethodPost && f.serveEC2(w, r, m[1]) {
		return
	}
	if m != nil && m[2] == "servicequotas" && r.Method == http.MethodPost && f.serveQuotas(w, r, m[1]) {
		return
	}
	if m != nil && m[2] == "logs" && r.Method == http.MethodPost && f.serveLogs(w, r, m[1]) {
		return
	}
	if m == nil || m[2] != "eks" {
		f.proxy.ServeHTTP(w, r)
		return
	}
	var parts []string
	for _, p := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		s, err := url.PathUnescape(p)
		if err != nil {
			s = p
		}
		parts = append(parts, s)
	}
	e := eksRequest{region: m[1], parts: parts}
	if f.serveEKS(w, r, e) {
		return
	}
	// Forwarded to moto, with its answer patched where it breaks the provider.
	f.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), rewriteKey{}, f.prepareRewrite(r, e))))
}

// serveEKS answers the calls moto lacks; it returns false for those that go to moto.
func (f *Front) serveEKS(w http.ResponseWriter, r *http.Request, e eksRequest) bool {
	p, n := e.parts, len(e.parts)
	switch {
	case n == 2 && p[0] == "addons" && p[1] == "supported-versions" && r.Method == http.MethodGet:
		f.describeAddonVersions(w, r)
	case n == 2 && p[0] == "addons" && p[1] == "configuration-schemas" && r.Method == http.MethodGet:
		f.describeAddonConfiguration(w, r)
	case n >= 3 && p[0] == "clusters" && p[2] == "pod-identity-associations":
		f.servePodIdentity(w, r, e, p[1], p[3:])
	case n == 5 && p[0] == "clusters" && p[2] == "node-groups" && p[4] == "update-config" && r.Method == http.MethodPost &&
		f.refuseNodegroupBusy(w, e, p[1], p[3]):
	case n == 1 && p[0] == "cluster-versions" && r.Method == http.MethodGet:
		f.describeClusterVersions(w, r)
	case n == 1 && p[0] == "clusters" && r.Method == http.MethodPost && f.refuseCreateCluster(w, r, e):
	case n == 3 && p[0] == "clusters" && p[2] == "update-config" && r.Method == http.MethodPost:
		f.updateClusterConfig(w, r, e, p[1])
	case n == 3 && p[0] == "clusters" && p[2] == "addons" && r.Method == http.MethodPost:
		f.createAddon(w, r, e, p[1])
	case n == 3 && p[0] == "clusters" && p[2] == "addons" && r.Method == http.MethodGet:
		f.listAddons(w, r, e, p[1])
	case n == 4 && p[0] == "clusters" && p[2] == "addons" && r.Method == http.MethodGet:
		f.describeAddon(w, r, e, p[1], p[3])
	case n == 4 && p[0] == "clusters" && p[2] == "addons" && r.Method == http.MethodDelete:
		f.deleteAddon(w, r, e, p[1], p[3])
	case n == 5 && p[0] == "clusters" && p[2] == "addons" && p[4] == "update" && r.Method == http.MethodPost:
		f.updateAddon(w, r, e, p[1], p[3])
	case n == 4 && p[0] == "clusters" && p[2] == "encryption-config" && p[3] == "associate" && r.Method == http.MethodPost:
		f.associateEncryptionConfig(w, r, e, p[1])
	case n == 3 && p[0] == "clusters" && p[2] == "updates" && r.Method == http.MethodPost:
		f.upgradeCluster(w, r, e, p[1])
	case n == 4 && p[0] == "clusters" && p[2] == "updates" && r.Method == http.MethodGet:
		f.describeUpdate(w, r, e, p[1], p[3])
	case n == 5 && p[0] == "clusters" && p[2] == "node-groups" && p[4] == "update-version" && r.Method == http.MethodPost:
		f.updateNodegroupVersion(w, r, e, p[1], p[3])
	case n == 3 && p[0] == "clusters" && p[2] == "node-groups" && r.Method == http.MethodPost && f.refuseNodegroupVersion(w, r, e, p[1]):
	case n >= 2 && p[0] == "tags" && strings.Contains(strings.Join(p[1:], "/"), ":addon/"),
		n >= 2 && p[0] == "tags" && strings.Contains(strings.Join(p[1:], "/"), ":nodegroup/"),
		n >= 2 && p[0] == "tags" && strings.Contains(strings.Join(p[1:], "/"), ":access-entry/"),
		n >= 2 && p[0] == "tags" && strings.Contains(strings.Join(p[1:], "/"), ":podidentityassociation/"):
		f.tagResource(w, r, strings.Join(p[1:], "/"))
	case n >= 3 && p[0] == "clusters" && p[2] == "access-entries":
		f.serveAccessEntries(w, r, e, p[1], p[3:])
	case n == 2 && p[0] == "clusters" && r.Method == http.MethodDelete:
		f.deleteCluster(w, r, e, p[1])
	default:
		return false
	}
	return true
}

type rewriteKey struct{}

// rewrite says how to patch one answer of moto.
type rewrite struct {
	region, cluster string
	op              string            // createCluster, updateCluster, deleteCluster, createNodegroup, deleteNodegroup or ""
	nodegroup       string            // the node group created or deleted
	echo            map[string]any    // request fields moto drops, to answer with
	hide            []string          // answer fields moto adds that the request did not ask for
	tags            map[string]string // the tags a node group is created with
	joinFailure     string            // why a node group's nodes cannot join ("" they can)
	clusterDesc     map[string]any    // the cluster a node group is created in
}

// overlay is what the front adds to, or hides from, moto's description of one cluster or node group.
type overlay struct {
	echo map[string]any
	set  map[string]any // fields that replace moto's (a cluster's version after UpdateClusterVersion)
	hide []string
	tags map[string]string // a node group's tags: moto tags clusters only
}

// Request fields moto 5.2.1 accepts but never returns; the front returns them as they were asked for.
var (
	clusterEchoFields   = []string{"accessConfig", "upgradePolicy", "zonalShiftConfig", "computeConfig", "storageConfig"}
	nodegroupEchoFields = []string{"updateConfig", "nodeRepairConfig"}
)

func clusterOverlayKey(region, cluster string) string {
	return "cluster/" + clusterKey(region, cluster)
}
func nodegroupOverlayKey(region, cluster, ng string) string {
	return "nodegroup/" + clusterKey(region, cluster) + "/" + ng
}

func rewriteOf(ctx context.Context) *rewrite {
	rw, _ := ctx.Value(rewriteKey{}).(*rewrite)
	return rw
}

// prepareRewrite notes, before the call goes to moto, what its answer will need.
func (f *Front) prepareRewrite(r *http.Request, e eksRequest) *rewrite {
	rw := &rewrite{region: e.region}
	p, n := e.parts, len(e.parts)
	if n < 1 || p[0] != "clusters" {
		return rw
	}
	if n >= 2 {
		rw.cluster = p[1]
	}
	var body map[string]any
	if r.Method == http.MethodPost {
		_ = json.Unmarshal(peekBody(r), &body)
	}
	pick := func(fields []string) map[string]any {
		m := map[string]any{}
		for _, k := range fields {
			if v, ok := body[k]; ok && v != nil {
				m[k] = v
			}
		}
		return m
	}
	switch {
	case n == 1 && r.Method == http.MethodPost:
		rw.op, rw.cluster = "createCluster", str(body["name"])
		rw.echo = pick(clusterEchoFields)
	case n == 2 && r.Method == http.MethodDelete:
		rw.op = "deleteCluster"
	case n == 3 && p[2] == "node-groups" && r.Method == http.MethodPost:
		rw.op, rw.nodegroup = "createNodegroup", str(body["nodegroupName"])
		f.defaultNodegroupVersion(r, e.region, rw.cluster, body)
		rw.echo = pick(nodegroupEchoFields)
		rw.tags = map[string]string{}
		if tags, ok := body["tags"].(map[string]any); ok {
			for k, v := range tags {
				rw.tags[k] = str(v)
			}
		}
		if body["remoteAccess"] == nil {
			rw.hide = []string{"remoteAccess"}
		}
		if cur, status, err := f.currentCluster(r, e.region, rw.cluster); err == nil && status == http.StatusOK {
			rw.clusterDesc = cur
			rw.joinFailure, err = f.nodeJoinFailure(r, e.region, rw.cluster, str(body["nodeRole"]))
			if err != nil {
				rw.joinFailure = "front: " + err.Error()
			}
		}
	case n == 4 && p[2] == "node-groups" && r.Method == http.MethodDelete:
		rw.op, rw.nodegroup = "deleteNodegroup", p[3]
	}
	return rw
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// vpcConfigMembers are the members of UpdateClusterConfig's resourcesVpcConfig.
var vpcConfigMembers = []string{"subnetIds", "securityGroupIds", "endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs"}

// askMoto sends one call to moto with the caller's credentials (Authorization, X-Amz-Date) and header, which may
// replace them: HTTP status and body.
func (f *Front) askMoto(in *http.Request, method, path string, body []byte, header map[string]string) (int, []byte, error) {
	u := *f.backend
	u.Path = path
	req, err := http.NewRequestWithContext(in.Context(), method, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", in.Header.Get("Authorization"))
	req.Header.Set("X-Amz-Date", in.Header.Get("X-Amz-Date"))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// scopedAuth is the caller's Authorization header with its credential scope moved to region and service, so that
// moto (which checks no signature but routes by the scope's service) takes a call the front makes for another
// service than the caller's.
func scopedAuth(in *http.Request, region, service string) string {
	return scopeService.ReplaceAllStringFunc(in.Header.Get("Authorization"), func(s string) string {
		m := scopeService.FindStringSubmatch(s)
		return strings.Replace(s, "/"+m[1]+"/"+m[2]+"/", "/"+region+"/"+service+"/", 1)
	})
}

// setBody replaces the body of a request on its way to moto.
func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
}

// peekBody reads r's body and puts it back.
func peekBody(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

// record updates the front's state after moto accepted a call.
func (f *Front) record(rw *rewrite) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ck := clusterOverlayKey(rw.region, rw.cluster)
	switch rw.op {
	case "createCluster":
		f.overlays[ck] = &overlay{echo: rw.echo}
	case "updateCluster":
		o := f.overlays[ck]
		if o == nil {
			o = &overlay{echo: map[string]any{}}
			f.overlays[ck] = o
		}
		for k, v := range rw.echo { // a partial update of a structure keeps the members it does not name
			old, _ := o.echo[k].(map[string]any)
			upd, _ := v.(map[string]any)
			if old != nil && upd != nil {
				merged := map[string]any{}
				for mk, mv := range old {
					merged[mk] = mv
				}
				for mk, mv := range upd {
					merged[mk] = mv
				}
				v = merged
			}
			o.echo[k] = v
		}
	case "deleteCluster":
		delete(f.addons, clusterKey(rw.region, rw.cluster))
		delete(f.overlays, ck)
		prefix := nodegroupOverlayKey(rw.region, rw.cluster, "")
		for k := range f.overlays {
			if strings.HasPrefix(k, prefix) {
				delete(f.overlays, k)
			}
		}
	case "createNodegroup":
		f.overlays[nodegroupOverlayKey(rw.region, rw.cluster, rw.nodegroup)] = &overlay{echo: rw.echo, hide: rw.hide, tags: rw.tags}
	case "deleteNodegroup":
		delete(f.overlays, nodegroupOverlayKey(rw.region, rw.cluster, rw.nodegroup))
		delete(f.busy, nodegroupOverlayKey(rw.region, rw.cluster, rw.nodegroup))
	}
}

// apply adds the overlay's fields that moto's description lacks and hides those it should not have.
func (f *Front) apply(key string, desc map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.changing(key); c != nil && desc["status"] == "ACTIVE" {
		desc["status"] = c.status // moto's resources are ACTIVE at once; EKS's take time
	}
	f.kubeAPIFieldsLocked(key, desc)
	o := f.overlays[key]
	if o == nil {
		return
	}
	for k, v := range o.echo {
		if _, has := desc[k]; !has {
			desc[k] = v
		}
	}
	for k, v := range o.set {
		desc[k] = v
	}
	for _, k := range o.hide {
		delete(desc, k)
	}
	if o.tags != nil {
		desc["tags"] = o.tags
	}
}

// rewriteResponse patches moto's answer to an EKS call.
func (f *Front) rewriteResponse(resp *http.Response, rw *rewrite) error {
	if resp.StatusCode/100 != 2 {
		return nil
	}
	switch rw.op {
	case "DescribeLaunchTemplateVersions":
		return replaceBody(resp, dropLaunchTemplateTagSpecs)
	case "DescribeLaunchTemplates":
		return replaceBody(resp, func(b []byte) []byte { return f.currentLaunchTemplateTags(resp.Request, b) })
	case "DescribeLogGroups":
		return replaceBody(resp, func(b []byte) []byte { return f.logGroupKeys(rw.region, b) })
	}
	f.record(rw)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var body map[string]any
	if dec.Decode(&body) != nil {
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		return nil
	}
	if c, ok := body["cluster"].(map[string]any); ok {
		uniqueIssuer(c)
		defaultPublicAccessCIDRs(c)
		name, _ := c["name"].(string)
		if rw.op == "createCluster" {
			f.clusterCreated(rw.region, c)
		}
		f.apply(clusterOverlayKey(rw.region, name), c)
		defaultUpgradePolicy(c)
	}
	if ng, ok := body["nodegroup"].(map[string]any); ok {
		cluster, _ := ng["clusterName"].(string)
		name, _ := ng["nodegroupName"].(string)
		if rw.op == "createNodegroup" {
			f.nodegroupCreated(rw.region, cluster, name, rw.joinFailure)
			if rw.clusterDesc != nil && apiMode(authMode(rw.clusterDesc)) {
				f.nodeRoleEntry(rw.region, cluster, rw.clusterDesc, str(ng["nodeRole"]))
			}
		}
		f.apply(nodegroupOverlayKey(rw.region, cluster, name), ng)
	}
	if u, ok := body["update"].(map[string]any); ok { // moto's node group updates (UpdateNodegroupConfig)
		ng := nodegroupOfPath(resp.Request.URL.Path)
		u["status"] = "InProgress"
		f.mu.Lock()
		f.startUpdate(nodegroupOverlayKey(rw.region, rw.cluster, ng), frontUpdate{cluster: rw.cluster, nodegroup: ng, body: u}, nil, nil)
		f.mu.Unlock()
	}
	out, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	resp.Header.Del("Content-Encoding")
	return nil
}

// nodegroupOfPath returns the node group of /clusters/{c}/node-groups/{ng}/..., or "".
func nodegroupOfPath(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) >= 4 && parts[2] == "node-groups" {
		s, _ := url.PathUnescape(parts[3])
		return s
	}
	return ""
}

// uniqueIssuer replaces moto's shared OIDC issuer by one derived from the cluster's ARN, as EKS gives each
// cluster its own: https://oidc.eks.<region>.amazonaws.com/id/<32 upper-case hex digits>.
func uniqueIssuer(c map[string]any) {
	arn, _ := c["arn"].(string)
	id, _ := c["identity"].(map[string]any)
	oidc, _ := id["oidc"].(map[string]any)
	if arn == "" || oidc == nil {
		return
	}
	oidc["issuer"] = IssuerFor(arn)
}

// defaultPublicAccessCIDRs answers, as EKS does, 0.0.0.0/0 for a public endpoint created without a CIDR list;
// moto answers an empty list, which the provider then plans to change on every run.
func defaultPublicAccessCIDRs(c map[string]any) {
	vpc, _ := c["resourcesVpcConfig"].(map[string]any)
	if vpc == nil || vpc["endpointPublicAccess"] != true {
		return
	}
	if cidrs, _ := vpc["publicAccessCidrs"].([]any); len(cidrs) == 0 {
		vpc["publicAccessCidrs"] = []any{"0.0.0.0/0"}
	}
}

// defaultUpgradePolicy answers, as EKS does, EXTENDED for a cluster created without an upgrade policy (EKS user
// guide, view-upgrade-policy: extended support is on by default); moto answers none.
func defaultUpgradePolicy(c map[string]any) {
	if c["upgradePolicy"] == nil {
		c["upgradePolicy"] = map[string]any{"supportType": "EXTENDED"}
	}
}

// IssuerFor is the OIDC issuer the front reports for the cluster with this ARN.
func IssuerFor(clusterARN string) string {
	region := Region
	if f := strings.Split(clusterARN, ":"); len(f) > 3 && f[3] != "" {
		region = f[3]
	}
	sum := sha256.Sum256([]byte(clusterARN))
	return "https://oidc.eks." + region + ".amazonaws.com/id/" + strings.ToUpper(hex.EncodeToString(sum[:16]))
}

// writeJSON writes an EKS answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"front: `+err.Error()+`"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// eksError writes an EKS error the way the REST-JSON protocol carries it: the type in x-amzn-ErrorType, the
// message in the body.
func eksError(w http.ResponseWriter, status int, typ, msg string, extra map[string]any) {
	body := map[string]any{"message": msg}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set("x-amzn-ErrorType", typ)
	writeJSON(w, status, body)
}

func notFound(w http.ResponseWriter, msg string, extra map[string]any) {
	eksError(w, http.StatusNotFound, "ResourceNotFoundException", msg, extra)
}

func invalidParameter(w http.ResponseWriter, msg string, extra map[string]any) {
	eksError(w, http.StatusBadRequest, "InvalidParameterException", msg, extra)
}

// epoch is a timestamp as the EKS REST-JSON protocol writes it: seconds since 1970, with a fraction.
func epoch(t time.Time) json.Number {
	return json.Number(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64))
}
