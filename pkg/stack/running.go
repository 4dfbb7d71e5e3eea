package stack

import (
	"fmt"
	"maps"
	"slices"
	"sort"
)

// Running is what EKS reports an existing cluster runs, for the facts of Existing that EKS changes by itself:
// it upgrades a cluster at the end of support, and add-ons and node groups can change or go outside Terraform.
// A stale state would turn such a change into a downgrade, so Overlay puts these over what the state says.
// live.ReadRunning fills it from DescribeCluster, DescribeNodegroup and DescribeAddon.
type Running struct {
	// ClusterGone: EKS has no cluster of the state's name. The state is stale; nothing else is set.
	ClusterGone bool
	// KubernetesVersion, UpgradeSupportType and AuthenticationMode are the cluster's; "" where EKS did not say.
	KubernetesVersion  string
	UpgradeSupportType string
	AuthenticationMode string
	// NodeGroupVersions are the Kubernetes versions of the node groups asked for that exist, by EKS name;
	// NodeGroupsGone are those EKS does not have.
	NodeGroupVersions map[string]string
	NodeGroupsGone    []string
	// Addons are the add-ons asked for that are installed, by name; AddonsGone are those that are not.
	Addons     map[string]RunningAddon
	AddonsGone []string
}

// RunningAddon is one installed EKS add-on.
type RunningAddon struct {
	Version string
	// ServiceAccountRoleARN is the IAM role of its service account; "" for none (the node role's permissions).
	ServiceAccountRoleARN string
}

// LiveNames are what to ask EKS for to fill a Running for this state: the cluster's name ("" when the state
// has no cluster, or records none: then there is nothing to ask) and the EKS names of its node groups and
// add-ons, sorted.
func (e *Existing) LiveNames() (cluster string, nodeGroups, addons []string) {
	if e == nil || !e.Addresses[ClusterAddress] {
		return "", nil, nil
	}
	for _, n := range e.NodeGroupNames {
		nodeGroups = append(nodeGroups, n)
	}
	for n := range e.AddonAddresses {
		addons = append(addons, n)
	}
	sort.Strings(nodeGroups)
	sort.Strings(addons)
	return e.ClusterName, nodeGroups, addons
}

// Overlay changes e to what EKS reports, as a refresh would have changed the state: newer facts replace the
// recorded ones, and what EKS no longer has leaves Existing (the cluster with its node groups and add-ons when
// the cluster is gone). A fact EKS did not report ("") keeps what the state says. It returns one sentence per
// difference, for notes.
func (e *Existing) Overlay(r Running) []string {
	if e == nil {
		return nil
	}
	var diffs []string
	if r.ClusterGone {
		if e.Addresses[ClusterAddress] {
			diffs = append(diffs, fmt.Sprintf("EKS has no cluster %s, which the state records: the state is stale", e.ClusterName))
		}
		delete(e.Addresses, ClusterAddress)
		e.KubernetesVersion, e.UpgradeSupportType, e.AuthenticationMode = "", "", ""
		for addr := range e.NodeGroupNames {
			e.dropNodeGroup(addr)
		}
		for name := range e.AddonAddresses {
			e.dropAddon(name)
		}
		return diffs
	}
	set := func(what string, field *string, running string) {
		if running == "" || running == *field {
			return
		}
		diffs = append(diffs, fmt.Sprintf("cluster %s runs %s %s, where the state records %s", e.ClusterName, what, running, orNone(*field)))
		*field = running
	}
	set("Kubernetes", &e.KubernetesVersion, r.KubernetesVersion)
	set("upgrade policy", &e.UpgradeSupportType, r.UpgradeSupportType)
	set("authentication mode", &e.AuthenticationMode, r.AuthenticationMode)

	byName := map[string]string{}
	for addr, n := range e.NodeGroupNames {
		byName[n] = addr
	}
	for _, n := range slices.Sorted(maps.Keys(r.NodeGroupVersions)) {
		addr, ok := byName[n]
		if v := r.NodeGroupVersions[n]; ok && v != "" && v != e.NodeGroupVersions[addr] {
			diffs = append(diffs, fmt.Sprintf("node group %s runs Kubernetes %s, where the state records %s", n, v, orNone(e.NodeGroupVersions[addr])))
			e.NodeGroupVersions[addr] = v
		}
	}
	for _, n := range r.NodeGroupsGone {
		if addr, ok := byName[n]; ok {
			diffs = append(diffs, fmt.Sprintf("EKS has no node group %s, which the state records", n))
			e.dropNodeGroup(addr)
		}
	}

	for _, n := range slices.Sorted(maps.Keys(r.Addons)) {
		a := r.Addons[n]
		if _, ok := e.AddonAddresses[n]; !ok {
			continue
		}
		if a.Version != "" && a.Version != e.AddonVersions[n] {
			diffs = append(diffs, fmt.Sprintf("add-on %s runs %s, where the state records %s", n, a.Version, orNone(e.AddonVersions[n])))
			e.AddonVersions[n] = a.Version
		}
		if n == "vpc-cni" && e.CNIRoleInUse != (a.ServiceAccountRoleARN != "") {
			e.CNIRoleInUse = a.ServiceAccountRoleARN != ""
			if e.CNIRoleInUse {
				diffs = append(diffs, "add-on vpc-cni runs with service account role "+a.ServiceAccountRoleARN+", where the state records none")
			} else {
				diffs = append(diffs, "add-on vpc-cni runs without a service account role, where the state records one")
			}
		}
	}
	for _, n := range r.AddonsGone {
		if _, ok := e.AddonAddresses[n]; ok {
			diffs = append(diffs, fmt.Sprintf("EKS has no add-on %s, which the state records", n))
			e.dropAddon(n)
		}
	}
	return diffs
}

func (e *Existing) dropNodeGroup(addr string) {
	delete(e.Addresses, addr)
	delete(e.NodeGroupVersions, addr)
	delete(e.NodeGroupNames, addr)
}

func (e *Existing) dropAddon(name string) {
	delete(e.Addresses, e.AddonAddresses[name])
	delete(e.AddonVersions, name)
	delete(e.AddonAddresses, name)
	if name == "vpc-cni" {
		e.CNIRoleInUse = false
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
