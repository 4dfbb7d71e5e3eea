package harness

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Deletions moto 5.2.1 lets through, or leaves unfinished, where AWS refuses or completes them (eks-behaviour.md
// D1 and D2; the verbatim messages are those /work/notes/eks-sources.md lists for D1 and D2):
//
//   - EC2 DeleteSubnet and DeleteSecurityGroup: moto deletes a subnet or a security group that a network interface
//     or an ELBv2 load balancer still uses (and leaves the interface pointing at it). EC2 refuses with
//     DependencyViolation.
//   - EC2 DeleteVpc: moto already refuses a VPC that still has subnets, with EC2's own message ("The vpc 'vpc-...'
//     has dependencies and cannot be deleted."); as interfaces and load balancers live in subnets, which the front
//     keeps while they do, the front adds nothing there.
//   - EC2 DetachInternetGateway: moto detaches a gateway while public addresses are mapped in the VPC. EC2 refuses
//     with DependencyViolation.
//   - EC2 DeleteNatGateway: moto marks the gateway deleted but keeps its Elastic IP associated and its network
//     interface; EC2 disassociates the one and deletes the other, which the front then does.
//   - EKS DeleteCluster: moto refuses a cluster with node groups itself ("Cluster has nodegroups attached", as EKS)
//     but deletes one with Fargate profiles. EKS refuses with ResourceInUseException.

// ec2Version is the API version of the EC2 query calls the front makes.
const ec2Version = "2016-11-15"

// askEC2 sends one EC2 query call to moto with the caller's credentials, scoped to EC2 in region.
func (f *Front) askEC2(in *http.Request, region string, form url.Values) (int, []byte, error) {
	form.Set("Version", ec2Version)
	return f.askMoto(in, http.MethodPost, "/", []byte(form.Encode()), map[string]string{
		"Authorization": scopedAuth(in, region, "ec2"), "Content-Type": "application/x-www-form-urlencoded"})
}

// ec2Error writes an EC2 error the way the EC2 query protocol carries it: HTTP status, and the code and message
// in <Response><Errors><Error>.
func ec2Error(w http.ResponseWriter, status int, code, msg string) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Response><Errors><Error><Code>`)
	_ = xml.EscapeText(&b, []byte(code))
	b.WriteString("</Code><Message>")
	_ = xml.EscapeText(&b, []byte(msg))
	b.WriteString("</Message></Error></Errors><RequestID>" + uuid() + "</RequestID></Response>")
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// dependencyViolation refuses an EC2 call as EC2 does while a dependency exists.
func dependencyViolation(w http.ResponseWriter, msg string) {
	ec2Error(w, http.StatusBadRequest, "DependencyViolation", msg)
}

// frontFailed answers a call the front could not check because moto could not be asked: a harness failure, not an
// AWS behaviour.
func frontFailed(w http.ResponseWriter, err error) {
	ec2Error(w, http.StatusInternalServerError, "InternalError", "front: "+err.Error())
}

// networkInterface is what the front needs of one network interface moto holds.
type networkInterface struct {
	ID       string `xml:"networkInterfaceId"`
	SubnetID string `xml:"subnetId"`
	VpcID    string `xml:"vpcId"`
	PublicIP string `xml:"association>publicIp"` // an Elastic IP, or a public IPv4 address assigned at launch
}

// networkInterfaces lists the network interfaces moto holds that match one DescribeNetworkInterfaces filter.
func (f *Front) networkInterfaces(in *http.Request, region, filter, value string) ([]networkInterface, error) {
	var all []networkInterface
	token := ""
	for {
		form := url.Values{"Action": {"DescribeNetworkInterfaces"}, "Filter.1.Name": {filter}, "Filter.1.Value.1": {value}}
		if token != "" {
			form.Set("NextToken", token)
		}
		status, raw, err := f.askEC2(in, region, form)
		if err != nil {
			return nil, err
		}
		var page struct {
			Items     []networkInterface `xml:"networkInterfaceSet>item"`
			NextToken string             `xml:"nextToken"`
		}
		if status != http.StatusOK || xml.Unmarshal(raw, &page) != nil {
			return nil, fmt.Errorf("moto answered DescribeNetworkInterfaces (%s=%s) with HTTP %d: %s", filter, value, status, raw)
		}
		all = append(all, page.Items...)
		if page.NextToken == "" || page.NextToken == token {
			return all, nil
		}
		token = page.NextToken
	}
}

// loadBalancer is what the front needs of one ELBv2 load balancer moto holds.
type loadBalancer struct {
	ARN            string   `xml:"LoadBalancerArn"`
	Subnets        []string `xml:"AvailabilityZones>member>SubnetId"`
	SecurityGroups []string `xml:"SecurityGroups>member"`
}

// loadBalancers lists the ELBv2 load balancers moto holds in region, asked with the caller's credentials scoped to
// Elastic Load Balancing.
func (f *Front) loadBalancers(in *http.Request, region string) ([]loadBalancer, error) {
	var all []loadBalancer
	marker := ""
	for {
		form := url.Values{"Action": {"DescribeLoadBalancers"}, "Version": {"2015-12-01"}}
		if marker != "" {
			form.Set("Marker", marker)
		}
		status, raw, err := f.askMoto(in, http.MethodPost, "/", []byte(form.Encode()), map[string]string{
			"Authorization": scopedAuth(in, region, "elasticloadbalancing"), "Content-Type": "application/x-www-form-urlencoded"})
		if err != nil {
			return nil, err
		}
		var page struct {
			LoadBalancers []loadBalancer `xml:"DescribeLoadBalancersResult>LoadBalancers>member"`
			NextMarker    string         `xml:"DescribeLoadBalancersResult>NextMarker"`
		}
		if status != http.StatusOK || xml.Unmarshal(raw, &page) != nil {
			return nil, fmt.Errorf("moto answered elbv2 DescribeLoadBalancers with HTTP %d: %s", status, raw)
		}
		all = append(all, page.LoadBalancers...)
		if page.NextMarker == "" || page.NextMarker == marker {
			return all, nil
		}
		marker = page.NextMarker
	}
}

// refuseSubnetInUse refuses DeleteSubnet while a network interface or a load balancer is in the subnet. EC2 API
// reference, DeleteSubnet: "You must terminate all running instances in the subnet before you can delete the
// subnet"; an instance holds the subnet through its network interfaces, and so do load balancers, NAT gateways and
// the VPC CNI's interfaces (learn-terraform-provision-eks-cluster #60, terraform-aws-eks #285: DependencyViolation,
// "The subnet 'subnet-...' has dependencies and cannot be deleted."). It returns false to let moto answer.
func (f *Front) refuseSubnetInUse(w http.ResponseWriter, r *http.Request, region, subnet string) bool {
	if subnet == "" {
		return false
	}
	used, err := f.heldBy(r, region, "subnet-id", subnet, func(lb loadBalancer) []string { return lb.Subnets })
	if err != nil {
		frontFailed(w, err)
		return true
	}
	if !used {
		return false
	}
	dependencyViolation(w, "The subnet '"+subnet+"' has dependencies and cannot be deleted.")
	return true
}

// refuseGroupInUse refuses DeleteSecurityGroup while a network interface or a load balancer uses the group. EC2
// API reference, DeleteSecurityGroup: "If you attempt to delete a security group that is associated with an
// instance or network interface, is referenced by another security group in the same VPC, or has a VPC
// association, the operation fails with DependencyViolation"; the message is terraform-aws-eks #285's
// ("resource sg-... has a dependent object"). References from other groups' rules are not checked. A group named
// rather than given by ID is one of the default VPC (GroupName: "[Default VPC] The name of the security group").
func (f *Front) refuseGroupInUse(w http.ResponseWriter, r *http.Request, region, group, name string) bool {
	if group == "" && name != "" {
		id, err := f.defaultVPCGroup(r, region, name)
		if err != nil {
			frontFailed(w, err)
			return true
		}
		group = id
	}
	if group == "" {
		return false // moto answers for a group that does not exist
	}
	used, err := f.heldBy(r, region, "group-id", group, func(lb loadBalancer) []string { return lb.SecurityGroups })
	if err != nil {
		frontFailed(w, err)
		return true
	}
	if !used {
		return false
	}
	dependencyViolation(w, "resource "+group+" has a dependent object")
	return true
}

// heldBy reports whether a network interface (found with the DescribeNetworkInterfaces filter of that name) or a
// load balancer (of picks its subnets or its security groups) uses the subnet or security group id.
func (f *Front) heldBy(r *http.Request, region, filter, id string, of func(loadBalancer) []string) (bool, error) {
	enis, err := f.networkInterfaces(r, region, filter, id)
	if err != nil || len(enis) > 0 {
		return len(enis) > 0, err
	}
	lbs, err := f.loadBalancers(r, region)
	if err != nil {
		return false, err
	}
	for _, lb := range lbs {
		if slices.Contains(of(lb), id) {
			return true, nil
		}
	}
	return false, nil
}

// defaultVPCGroup is the ID of the security group of that name in the region's default VPC, or "".
func (f *Front) defaultVPCGroup(r *http.Request, region, name string) (string, error) {
	status, raw, err := f.askEC2(r, region, url.Values{"Action": {"DescribeVpcs"},
		"Filter.1.Name": {"is-default"}, "Filter.1.Value.1": {"true"}})
	var vpcs struct {
		IDs []string `xml:"vpcSet>item>vpcId"`
	}
	if err != nil || status != http.StatusOK || xml.Unmarshal(raw, &vpcs) != nil {
		return "", fmt.Errorf("ask moto for the default VPC: HTTP %d, %v: %s", status, err, raw)
	}
	if len(vpcs.IDs) == 0 {
		return "", nil
	}
	status, raw, err = f.askEC2(r, region, url.Values{"Action": {"DescribeSecurityGroups"},
		"Filter.1.Name": {"group-name"}, "Filter.1.Value.1": {name},
		"Filter.2.Name": {"vpc-id"}, "Filter.2.Value.1": {vpcs.IDs[0]}})
	var groups struct {
		IDs []string `xml:"securityGroupInfo>item>groupId"`
	}
	if err != nil || status != http.StatusOK || xml.Unmarshal(raw, &groups) != nil {
		return "", fmt.Errorf("ask moto for security group %s: HTTP %d, %v: %s", name, status, err, raw)
	}
	if len(groups.IDs) == 0 {
		return "", nil
	}
	return groups.IDs[0], nil
}

// refuseDetachWithPublicAddresses refuses DetachInternetGateway while public addresses are mapped in the VPC. EC2
// API reference, DetachInternetGateway: "The VPC must not contain any running instances with Elastic IP addresses
// or public IPv4 addresses"; an address is mapped through a network interface of the VPC (an instance's, a NAT
// gateway's, or one an Elastic IP is associated with). The error is DependencyViolation, "Network vpc-... has some
// mapped public address(es). Please unmap those public address(es) before detaching the gateway."
// (learn-terraform-provision-eks-cluster #60). A gateway not attached to that VPC is left to moto's own answer.
func (f *Front) refuseDetachWithPublicAddresses(w http.ResponseWriter, r *http.Request, region, igw, vpc string) bool {
	if igw == "" || vpc == "" {
		return false
	}
	status, raw, err := f.askEC2(r, region, url.Values{"Action": {"DescribeInternetGateways"},
		"InternetGatewayId.1": {igw}, "Filter.1.Name": {"attachment.vpc-id"}, "Filter.1.Value.1": {vpc}})
	if err != nil {
		frontFailed(w, err)
		return true
	}
	var gws struct {
		IDs []string `xml:"internetGatewaySet>item>internetGatewayId"`
	}
	if status != http.StatusOK || xml.Unmarshal(raw, &gws) != nil || len(gws.IDs) == 0 {
		return false // not attached there, or no such gateway: moto says so
	}
	enis, err := f.networkInterfaces(r, region, "vpc-id", vpc)
	if err != nil {
		frontFailed(w, err)
		return true
	}
	for _, ni := range enis {
		if ni.PublicIP != "" {
			dependencyViolation(w, "Network "+vpc+" has some mapped public address(es). Please unmap those public "+
				"address(es) before detaching the gateway.")
			return true
		}
	}
	return false
}

// deleteNatGateway forwards DeleteNatGateway and, once moto has accepted it, does what EC2 does and moto 5.2.1
// does not: it disassociates the gateway's Elastic IP (EC2 API reference, DeleteNatGateway: "Deleting a public NAT
// gateway disassociates its Elastic IP address, but does not release the address from your account") and deletes
// the gateway's network interface (EC2 user guide, requester-managed-eni: "When you delete the resource associated
// with a requester-managed network interface, the AWS service detaches the network interface and deletes it").
// Without this, the interface would hold its subnet and the address the internet gateway forever.
func (f *Front) deleteNatGateway(w http.ResponseWriter, r *http.Request, region, id string) {
	rec := httptest.NewRecorder()
	f.proxy.ServeHTTP(rec, r)
	if rec.Code/100 == 2 && id != "" {
		if err := f.releaseNatGateway(r, region, id); err != nil {
			frontFailed(w, err)
			return
		}
	}
	relayRecorded(w, rec)
}

func (f *Front) releaseNatGateway(r *http.Request, region, id string) error {
	status, raw, err := f.askEC2(r, region, url.Values{"Action": {"DescribeNatGateways"}, "NatGatewayId.1": {id}})
	var out struct {
		Addresses []struct {
			NetworkInterfaceID string `xml:"networkInterfaceId"`
			AssociationID      string `xml:"associationId"`
		} `xml:"natGatewaySet>item>natGatewayAddressSet>item"`
	}
	if err != nil || status != http.StatusOK || xml.Unmarshal(raw, &out) != nil {
		return fmt.Errorf("ask moto for NAT gateway %s: HTTP %d, %v: %s", id, status, err, raw)
	}
	for _, a := range out.Addresses {
		if a.AssociationID != "" {
			status, raw, err := f.askEC2(r, region, url.Values{"Action": {"DisassociateAddress"}, "AssociationId": {a.AssociationID}})
			if err != nil || (status != http.StatusOK && !notFoundEC2(raw)) {
				return fmt.Errorf("disassociate %s from NAT gateway %s: HTTP %d, %v: %s", a.AssociationID, id, status, err, raw)
			}
		}
		if a.NetworkInterfaceID != "" {
			status, raw, err := f.askEC2(r, region, url.Values{"Action": {"DeleteNetworkInterface"}, "NetworkInterfaceId": {a.NetworkInterfaceID}})
			if err != nil || (status != http.StatusOK && !notFoundEC2(raw)) {
				return fmt.Errorf("delete network interface %s of NAT gateway %s: HTTP %d, %v: %s", a.NetworkInterfaceID, id, status, err, raw)
			}
		}
	}
	return nil
}

// notFoundEC2 reports an EC2 error saying the object is already gone (a second DeleteNatGateway).
func notFoundEC2(raw []byte) bool {
	var e struct {
		Code string `xml:"Errors>Error>Code"`
	}
	return xml.Unmarshal(raw, &e) == nil && strings.HasSuffix(e.Code, ".NotFound")
}

// relayRecorded writes a recorded answer.
func relayRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// refuseClusterInUse refuses DeleteCluster while Fargate profiles are attached. EKS API reference, DeleteCluster:
// "If you have managed node groups or Fargate profiles attached to the cluster, you must delete them first."; the
// error is ResourceInUseException, "Cluster has Fargate Profiles in ACTIVE/CREATING state"
// (kubernetes-sigs/cluster-api-provider-aws #4728). Node groups are moto's to refuse: it does, with EKS's message
// "Cluster has nodegroups attached" (CAPA #2176, cloud-nuke #148), so a cluster that has any is left to it.
func (f *Front) refuseClusterInUse(w http.ResponseWriter, r *http.Request, cluster string) bool {
	base := "/clusters/" + url.PathEscape(cluster)
	status, raw, err := f.askMoto(r, http.MethodGet, base+"/node-groups", nil, nil)
	var ngs struct {
		Nodegroups []string `json:"nodegroups"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(raw, &ngs) != nil || len(ngs.Nodegroups) > 0 {
		return false // no such cluster, or node groups: moto answers
	}
	status, raw, err = f.askMoto(r, http.MethodGet, base+"/fargate-profiles", nil, nil)
	var fps struct {
		Names []string `json:"fargateProfileNames"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(raw, &fps) != nil {
		eksError(w, http.StatusInternalServerError, "ServerException",
			fmt.Sprintf("front: ask moto for the Fargate profiles of %s: HTTP %d, %v: %s", cluster, status, err, raw), nil)
		return true
	}
	if len(fps.Names) == 0 {
		return false
	}
	eksError(w, http.StatusConflict, "ResourceInUseException", "Cluster has Fargate Profiles in ACTIVE/CREATING state",
		map[string]any{"clusterName": cluster})
	return true
}
