// Package versions holds the stale-prone facts tapstack depends on (the EKS Kubernetes calendar, vpc-cni
// compatibility, prices, zones EKS avoids) as embedded, dated data with their sources, and queries over them.
// Update data/eks.json, not Go code, when AWS publishes something new.
package versions

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
)

//go:embed data/eks.json
var raw []byte

// Date is a calendar day (UTC) in YYYY-MM-DD form.
type Date struct{ time.Time }

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

func (d Date) String() string { return d.Format(time.DateOnly) }

func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := ParseDate(s)
	*d = p
	return err
}

func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// Kubernetes is one row of the EKS release calendar.
type Kubernetes struct {
	Version       string `json:"version"`
	Released      Date   `json:"released"`
	EndOfStandard Date   `json:"endOfStandard"`
	EndOfExtended Date   `json:"endOfExtended"`
	Source        string `json:"source"`
}

// Price is a sourced, dated figure.
type Price struct {
	Value  float64 `json:"value"`
	Date   string  `json:"date"`
	Source string  `json:"source"`
}

// InstancePrice is an on-demand hourly price of one instance type in one region.
type InstancePrice struct {
	Region       string `json:"region"`
	InstanceType string `json:"instanceType"`
	Price
}

// RegionPrice is an hourly price in one region.
type RegionPrice struct {
	Region string `json:"region"`
	Price
}

// CNIMinimum is the oldest vpc-cni version upstream recommends for a Kubernetes version.
type CNIMinimum struct {
	Kubernetes string `json:"kubernetes"`
	Version    string `json:"version"`
	Source     string `json:"source"`
}

// CNIBuild records the Kubernetes versions a vpc-cni release was published for.
type CNIBuild struct {
	Version       string `json:"version"`
	KubernetesMin string `json:"kubernetesMin"`
	KubernetesMax string `json:"kubernetesMax"`
	Source        string `json:"source"`
}

// AutoscalerRelease is the newest Cluster Autoscaler release of one Kubernetes minor version.
type AutoscalerRelease struct {
	Kubernetes string `json:"kubernetes"`
	Version    string `json:"version"`
	Released   Date   `json:"released"`
	Source     string `json:"source"`
}

// AvoidedZone is a zone ID where EKS cannot place a control plane.
type AvoidedZone struct {
	Region string `json:"region"`
	ZoneID string `json:"zoneID"`
	Source string `json:"source"`
}

// Data is the whole embedded data file.
type Data struct {
	Checked                   Date              `json:"checked"`
	Sources                   map[string]string `json:"sources"`
	DefaultKubernetesVersion  string            `json:"defaultKubernetesVersion"`
	Kubernetes                []Kubernetes      `json:"kubernetes"`
	AutoModeMinimum           string            `json:"autoModeMinimum"`
	AutoModeMinimumSource     string            `json:"autoModeMinimumSource"`
	ComputeConfigProviderNote string            `json:"computeConfigProviderNote"`
	VPCCNI                    struct {
		LatestUpstream     string       `json:"latestUpstream"`
		LatestUpstreamSeen string       `json:"latestUpstreamSeen"`
		RecommendedMinimum []CNIMinimum `json:"recommendedMinimum"`
		KnownBuilds        []CNIBuild   `json:"knownBuilds"`
	} `json:"vpcCni"`
	// ClusterAutoscaler is the Cluster Autoscaler's image and, as seen on Seen, its newest release for each
	// Kubernetes minor (it is released per minor and meant for that minor only).
	ClusterAutoscaler struct {
		Image    string              `json:"image"`
		Seen     Date                `json:"seen"`
		Releases []AutoscalerRelease `json:"releases"`
	} `json:"clusterAutoscaler"`
	Prices struct {
		Currency                   string          `json:"currency"`
		HoursPerMonth              float64         `json:"hoursPerMonth"`
		ControlPlaneStandardHourly Price           `json:"controlPlaneStandardHourly"`
		ControlPlaneExtendedHourly Price           `json:"controlPlaneExtendedHourly"`
		NATGatewayHourly           []RegionPrice   `json:"natGatewayHourly"`
		KMSKeyMonthly              Price           `json:"kmsKeyMonthly"`
		OnDemandHourly             []InstancePrice `json:"onDemandHourly"`
	} `json:"prices"`
	AvoidedZoneIDs []AvoidedZone `json:"avoidedZoneIDs"`
	Regions        []string      `json:"regions"`
}

var data = mustLoad(raw)

func mustLoad(b []byte) *Data {
	var d Data
	if err := json.Unmarshal(b, &d); err != nil {
		panic("versions: embedded data/eks.json is invalid: " + err.Error())
	}
	return &d
}

// Get returns the embedded data. Callers must not modify it.
func Get() *Data { return data }

// Status is where a Kubernetes version stands on a given day.
type Status string

const (
	StatusUnknown    Status = "unknown"
	StatusUnreleased Status = "unreleased"
	StatusStandard   Status = "standard"
	StatusExtended   Status = "extended"
	StatusEnded      Status = "end-of-life"
)

// Lookup returns the calendar row of a version ("1.31").
func (d *Data) Lookup(version string) (Kubernetes, bool) {
	for _, k := range d.Kubernetes {
		if k.Version == version {
			return k, true
		}
	}
	return Kubernetes{}, false
}

// StatusOn reports a version's support status on day.
func (d *Data) StatusOn(version string, day Date) Status {
	k, ok := d.Lookup(version)
	switch {
	case !ok:
		return StatusUnknown
	case day.Before(k.Released.Time):
		return StatusUnreleased
	case day.Before(k.EndOfStandard.Time):
		return StatusStandard
	case day.Before(k.EndOfExtended.Time):
		return StatusExtended
	default:
		return StatusEnded
	}
}

// IsRegion reports whether name is a region in the data.
func (d *Data) IsRegion(name string) bool {
	for _, r := range d.Regions {
		if r == name {
			return true
		}
	}
	return false
}

// AvoidedZones returns the zone IDs EKS avoids in a region.
func (d *Data) AvoidedZones(region string) []string {
	var ids []string
	for _, z := range d.AvoidedZoneIDs {
		if z.Region == region {
			ids = append(ids, z.ZoneID)
		}
	}
	return ids
}

// OnDemandPrice returns the sourced on-demand price of an instance type in a region, if the data has one.
func (d *Data) OnDemandPrice(region, instanceType string) (InstancePrice, bool) {
	for _, p := range d.Prices.OnDemandHourly {
		if p.Region == region && p.InstanceType == instanceType {
			return p, true
		}
	}
	return InstancePrice{}, false
}

// NATGatewayPrice returns the sourced hourly price of a NAT gateway in a region, if the data has one.
func (d *Data) NATGatewayPrice(region string) (RegionPrice, bool) {
	for _, p := range d.Prices.NATGatewayHourly {
		if p.Region == region {
			return p, true
		}
	}
	return RegionPrice{}, false
}

// CNIRecommendedMinimum returns the recommended minimum vpc-cni version for a Kubernetes version: the entry for
// that version, or the entry of the newest version below it (the floor only rises). ok is false when the data has
// no entry at or below it.
func (d *Data) CNIRecommendedMinimum(k8s string) (CNIMinimum, bool) {
	var best CNIMinimum
	found := false
	for _, m := range d.VPCCNI.RecommendedMinimum {
		if CompareMinor(m.Kubernetes, k8s) <= 0 && (!found || CompareMinor(m.Kubernetes, best.Kubernetes) > 0) {
			best, found = m, true
		}
	}
	return best, found
}

// CNIBuildFor returns what the data knows of the release a pin ("v1.18.1-eksbuild.3") belongs to.
func (d *Data) CNIBuildFor(pin string) (CNIBuild, bool) {
	base := strings.SplitN(pin, "-", 2)[0]
	for _, b := range d.VPCCNI.KnownBuilds {
		if b.Version == base {
			return b, true
		}
	}
	return CNIBuild{}, false
}

// ClusterAutoscalerImage is the Cluster Autoscaler image for a cluster on Kubernetes k8s ("1.36"): the newest
// release of that minor in the data. ok is false when the data has none: an older release may not know the
// minor's API and a newer one is untested against it (kubernetes/autoscaler cluster-autoscaler/README.md,
// Releases), so there is no fallback.
func (d *Data) ClusterAutoscalerImage(k8s string) (image string, release AutoscalerRelease, ok bool) {
	for _, r := range d.ClusterAutoscaler.Releases {
		if r.Kubernetes == k8s {
			return d.ClusterAutoscaler.Image + ":" + r.Version, r, true
		}
	}
	return "", AutoscalerRelease{}, false
}

// ParseMinor splits "1.31" into (1, 31).
func ParseMinor(v string) (major, minor int, ok bool) {
	a, b, found := strings.Cut(v, ".")
	if !found {
		return 0, 0, false
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || x < 0 || y < 0 || strings.HasPrefix(b, "+") || strings.HasPrefix(a, "+") {
		return 0, 0, false
	}
	return x, y, true
}

// CompareMinor compares two "major.minor" versions; malformed versions sort first.
func CompareMinor(a, b string) int {
	am, an, _ := ParseMinor(a)
	bm, bn, _ := ParseMinor(b)
	if am != bm {
		return cmpInt(am, bm)
	}
	return cmpInt(an, bn)
}

// NextMinor returns the version one minor step after v ("1.30" -> "1.31").
func NextMinor(v string) string {
	m, n, _ := ParseMinor(v)
	return fmt.Sprintf("%d.%d", m, n+1)
}

// CompareSemver orders EKS add-on builds "vX.Y.Z-eksbuild.N": by the version core X.Y.Z, then by the build
// number N as a number (eksbuild.10 is after eksbuild.9), so two builds of one version are never equal. A version
// without a build ("v1.17.1", an upstream release) is before every build of it. Other pre-release suffixes
// follow semantic versioning after the core. A version that does not parse is before every one that does; two
// that do not parse compare as text.
func CompareSemver(a, b string) int {
	va, erra := version.NewVersion(a)
	vb, errb := version.NewVersion(b)
	switch {
	case erra != nil && errb != nil:
		return strings.Compare(a, b)
	case erra != nil:
		return -1
	case errb != nil:
		return 1
	}
	if c := va.Core().Compare(vb.Core()); c != 0 {
		return c
	}
	ba, oka := eksBuild(va.Prerelease())
	bb, okb := eksBuild(vb.Prerelease())
	if !oka || !okb {
		return va.Compare(vb)
	}
	return cmpInt(ba, bb)
}

// eksBuild is N of the pre-release "eksbuild.N", 0 for no pre-release; ok is false for any other pre-release.
func eksBuild(pre string) (int, bool) {
	if pre == "" {
		return 0, true
	}
	n, found := strings.CutPrefix(pre, "eksbuild.")
	if !found {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil && i >= 0
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
