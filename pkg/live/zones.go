package live

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/rules"
)

func init() {
	register(Check{ID: "TS807", Name: "zone IDs EKS can use", Actions: []string{"ec2:DescribeAvailabilityZones"}, run: checkAvoidedZones})
	register(Check{ID: "TS808", Name: "zones exist and are available", Actions: []string{"ec2:DescribeAvailabilityZones"}, run: checkZonesAvailable})
	register(Check{ID: "TS811", Name: "instance types offered in every zone",
		Actions: []string{"ec2:DescribeAvailabilityZones", "ec2:DescribeInstanceTypeOfferings"}, run: checkOfferings})
}

// zone is what the checks need of an availability zone.
type zone struct {
	Name, ID, State, OptIn, Type string
}

func (z zone) usable() bool {
	return z.State == string(ec2types.AvailabilityZoneStateAvailable) && z.OptIn != string(ec2types.AvailabilityZoneOptInStatusNotOptedIn)
}

// describeZones returns every zone of the region by name, opted in or not.
func describeZones(ctx context.Context, c EC2API) (map[string]zone, error) {
	out, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{AllAvailabilityZones: aws.Bool(true)})
	if err != nil {
		return nil, wrap("ec2:DescribeAvailabilityZones", err)
	}
	zs := map[string]zone{}
	for _, z := range out.AvailabilityZones {
		zs[aws.ToString(z.ZoneName)] = zone{
			Name: aws.ToString(z.ZoneName), ID: aws.ToString(z.ZoneId), State: string(z.State),
			OptIn: string(z.OptInStatus), Type: aws.ToString(z.ZoneType),
		}
	}
	return zs, nil
}

// subnetZones is how many distinct zones the stack's subnets need.
func subnetZones(cfg *config.Config) int {
	n := len(cfg.Network.PublicSubnetCIDRs)
	if cfg.Network.Topology == config.TopologyPrivate && len(cfg.Network.PrivateSubnetCIDRs) > n {
		n = len(cfg.Network.PrivateSubnetCIDRs)
	}
	return n
}

// plannedZones are the zones the subnets will be in: the configured names, or the ones the stack's
// aws_availability_zones data source will pick at plan time (available zones, sorted by name, without opt-in
// zones and the zone IDs EKS avoids when network.excludeAvoidedZones is on, the first one per subnet).
func plannedZones(cfg *config.Config, avoided []string, zs map[string]zone) (names []string, picked bool) {
	if c := cfg.Network.AvailabilityZones; len(c) > 0 {
		var out []string
		for i := 0; i < subnetZones(cfg); i++ {
			if n := c[i%len(c)]; !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		return out, false
	}
	var cands []string
	for _, z := range zs {
		if z.State != string(ec2types.AvailabilityZoneStateAvailable) || z.OptIn == string(ec2types.AvailabilityZoneOptInStatusNotOptedIn) {
			continue
		}
		if z.Type != "" && z.Type != "availability-zone" {
			continue // local and Wavelength zones appear only when opted in; the data source lists them too, but
			// they cannot host a control plane, so count them out here
		}
		if cfg.Network.ExcludeAvoidedZones && (slices.Contains(avoided, z.ID) || (z.OptIn != "" && z.OptIn != string(ec2types.AvailabilityZoneOptInStatusOptInNotRequired))) {
			continue
		}
		cands = append(cands, z.Name)
	}
	sort.Strings(cands)
	if n := subnetZones(cfg); len(cands) > n {
		cands = cands[:n]
	}
	return cands, true
}

func zoneLabel(z zone) string { return z.Name + " (" + z.ID + ")" }

func checkAvoidedZones(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	avoided := e.data.AvoidedZones(e.cfg.Region)
	zs, err := describeZones(ctx, e.c.EC2)
	if err != nil {
		return nil, "", err
	}
	names, picked := plannedZones(e.cfg, avoided, zs)
	var mapping []string
	for _, n := range sortedKeys(zs) {
		mapping = append(mapping, n+"="+zs[n].ID)
	}
	note := "zones in this account: " + strings.Join(mapping, ", ")
	if len(avoided) == 0 {
		return nil, note + "; EKS avoids no zone ID in " + e.cfg.Region, nil
	}
	var avoidedHere []string
	for _, n := range sortedKeys(zs) {
		if slices.Contains(avoided, zs[n].ID) {
			avoidedHere = append(avoidedHere, zs[n].ID+" ("+n+" here)")
		}
	}
	note += "; EKS avoids " + list(avoidedHere)
	var fs []rules.Finding
	for i, n := range names {
		z, ok := zs[n]
		if !ok || !slices.Contains(avoided, z.ID) {
			continue
		}
		path := fmt.Sprintf("network.availabilityZones[%d]", i)
		fix := "choose other zones: zone names map to IDs differently in each account; in this one " +
			strings.Join(usableOther(zs, avoided), ", ") + " can be used"
		if picked {
			path = "network.excludeAvoidedZones"
			fix = "set network.excludeAvoidedZones to true (the data source then skips " + strings.Join(avoided, ", ") +
				"), or pin network.availabilityZones"
		}
		fs = append(fs, rules.Finding{Path: path, Message: fmt.Sprintf(
			"zone %s is %s in this account, a zone ID where EKS cannot place a control plane: cluster creation fails "+
				"with UnsupportedAvailabilityZoneException", n, z.ID), Fix: fix})
	}
	if len(fs) == 0 {
		note += ", which the stack's zones (" + list(names) + ") are not"
	}
	return fs, note, nil
}

// usableOther lists the usable zones whose IDs EKS does not avoid.
func usableOther(zs map[string]zone, avoided []string) []string {
	var out []string
	for _, n := range sortedKeys(zs) {
		if z := zs[n]; z.usable() && !slices.Contains(avoided, z.ID) && (z.Type == "" || z.Type == "availability-zone") {
			out = append(out, zoneLabel(z))
		}
	}
	return out
}

func checkZonesAvailable(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	zs, err := describeZones(ctx, e.c.EC2)
	if err != nil {
		return nil, "", err
	}
	avoided := e.data.AvoidedZones(e.cfg.Region)
	names, picked := plannedZones(e.cfg, avoided, zs)
	need := subnetZones(e.cfg)
	if picked {
		note := "the data source will pick " + list(names)
		if len(names) < need {
			return []rules.Finding{{Path: "network.availabilityZones", Message: fmt.Sprintf(
				"the stack needs %d zones and region %s has %s it can use (%s)", need, e.cfg.Region,
				plural(len(names), "zone", "zones"), list(names)),
				Fix: "use a region with more zones, or fewer subnets"}}, note, nil
		}
		return nil, note, nil
	}
	var fs []rules.Finding
	for _, n := range names {
		path := fmt.Sprintf("network.availabilityZones[%d]", slices.Index(e.cfg.Network.AvailabilityZones, n))
		z, ok := zs[n]
		switch {
		case !ok:
			fs = append(fs, rules.Finding{Path: path, Message: fmt.Sprintf("zone %s does not exist in region %s", n, e.cfg.Region),
				Fix: "use zones of " + e.cfg.Region + ": " + strings.Join(usableOther(zs, avoided), ", ")})
		case z.OptIn == string(ec2types.AvailabilityZoneOptInStatusNotOptedIn):
			fs = append(fs, rules.Finding{Path: path, Message: fmt.Sprintf("zone %s is an opt-in zone this account has not opted in to", zoneLabel(z)),
				Fix: "opt in to its zone group (aws ec2 modify-availability-zone-group), or choose another zone"})
		case z.State != string(ec2types.AvailabilityZoneStateAvailable):
			fs = append(fs, rules.Finding{Path: path, Message: fmt.Sprintf("zone %s is %s, not available", zoneLabel(z), z.State),
				Fix: "choose an available zone"})
		}
	}
	return fs, "zones " + list(names), nil
}

func checkOfferings(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	ngs := nodeGroups(e.cfg)
	if len(ngs) == 0 {
		return nil, "no managed node groups (EKS Auto Mode)", nil
	}
	zs, err := describeZones(ctx, e.c.EC2)
	if err != nil {
		return nil, "", err
	}
	names, _ := plannedZones(e.cfg, e.data.AvoidedZones(e.cfg.Region), zs)
	var zones []string
	for _, n := range names {
		if _, ok := zs[n]; ok { // TS808 reports zones that do not exist
			zones = append(zones, n)
		}
	}
	types := map[string]bool{}
	for _, ng := range ngs {
		for _, t := range ng.Group.InstanceTypes {
			types[t] = true
		}
	}
	if len(zones) == 0 || len(types) == 0 {
		return nil, "no zones or instance types to look at", nil
	}
	offered := map[string]bool{} // type + "@" + zone
	p := ec2.NewDescribeInstanceTypeOfferingsPaginator(e.c.EC2, &ec2.DescribeInstanceTypeOfferingsInput{
		LocationType: ec2types.LocationTypeAvailabilityZone,
		Filters: []ec2types.Filter{
			{Name: aws.String("instance-type"), Values: sortedKeys(types)},
			{Name: aws.String("location"), Values: zones},
		},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, "", wrap("ec2:DescribeInstanceTypeOfferings", err)
		}
		for _, o := range out.InstanceTypeOfferings {
			offered[string(o.InstanceType)+"@"+aws.ToString(o.Location)] = true
		}
	}
	var fs []rules.Finding
	for _, ng := range ngs {
		for i, t := range ng.Group.InstanceTypes {
			var missing []string
			for _, z := range zones {
				if !offered[t+"@"+z] {
					missing = append(missing, z)
				}
			}
			if len(missing) == 0 {
				continue
			}
			fs = append(fs, rules.Finding{Path: fmt.Sprintf("%s.instanceTypes[%d]", ng.Path, i), Message: fmt.Sprintf(
				"node group %s: instance type %s is not offered in %s (the stack's zones are %s)",
				ng.Name, t, list(missing), list(zones)),
				Fix: "choose instance types offered in every zone, or other zones (aws ec2 describe-instance-type-offerings " +
					"--location-type availability-zone --filters Name=instance-type,Values=" + t + ")"})
		}
	}
	return fs, fmt.Sprintf("%s in %s", list(sortedKeys(types)), list(zones)), nil
}
