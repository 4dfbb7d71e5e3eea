package live

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/tapstack/tapstack/pkg/stack"
)

// ReadRunning asks EKS what an existing cluster runs, for stack.Existing.Overlay: DescribeCluster, and
// DescribeNodegroup and DescribeAddon for each node group and add-on named (stack.Existing.LiveNames), all at
// once. These few calls stand in for a refresh-only plan, which loads the AWS provider and reads every resource.
//
// A cluster EKS does not have gives Running{ClusterGone: true} and no error, so the caller can say the state is
// stale; a node group or add-on it does not have is listed in NodeGroupsGone or AddonsGone. Any other failure
// is an error naming the API (and, for a missing permission, the IAM action: eks:DescribeCluster,
// eks:DescribeNodegroup, eks:DescribeAddon).
func ReadRunning(ctx context.Context, c EKSAPI, cluster string, nodeGroups, addons []string) (*stack.Running, error) {
	if cluster == "" {
		return nil, errors.New("live: no cluster name to read")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &stack.Running{NodeGroupVersions: map[string]string{}, Addons: map[string]stack.RunningAddon{}}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	// done records one call's outcome: a missing object through gone, anything else as the first error.
	done := func(api string, err error, gone func()) bool {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			return true
		case hasCode(err, "ResourceNotFoundException"):
			gone()
		case firstErr == nil:
			firstErr = wrap(api, err)
			cancel()
		}
		return false
	}
	wg.Go(func() {
		out, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(cluster)})
		if !done("eks:DescribeCluster", err, func() { r.ClusterGone = true }) || out.Cluster == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		cl := out.Cluster
		r.KubernetesVersion = aws.ToString(cl.Version)
		if cl.UpgradePolicy != nil {
			r.UpgradeSupportType = string(cl.UpgradePolicy.SupportType)
		}
		if cl.AccessConfig != nil {
			r.AuthenticationMode = string(cl.AccessConfig.AuthenticationMode)
		}
	})
	for _, name := range nodeGroups {
		wg.Go(func() {
			out, err := c.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(name)})
			if !done("eks:DescribeNodegroup", err, func() { r.NodeGroupsGone = append(r.NodeGroupsGone, name) }) || out.Nodegroup == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			r.NodeGroupVersions[name] = aws.ToString(out.Nodegroup.Version)
		})
	}
	for _, name := range addons {
		wg.Go(func() {
			out, err := c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String(cluster), AddonName: aws.String(name)})
			if !done("eks:DescribeAddon", err, func() { r.AddonsGone = append(r.AddonsGone, name) }) || out.Addon == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			r.Addons[name] = stack.RunningAddon{Version: aws.ToString(out.Addon.AddonVersion),
				ServiceAccountRoleARN: aws.ToString(out.Addon.ServiceAccountRoleArn)}
		})
	}
	wg.Wait()
	if r.ClusterGone {
		// Its node groups and add-ons are gone with it, and their calls may have failed in any way.
		return &stack.Running{ClusterGone: true}, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	slices.Sort(r.NodeGroupsGone)
	slices.Sort(r.AddonsGone)
	return r, nil
}
