package versions

import (
	"strings"
	"testing"
)

func day(t *testing.T, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEmbeddedDataIsComplete(t *testing.T) {
	d := Get()
	if d.Checked.IsZero() {
		t.Fatal("data has no checked date")
	}
	if _, ok := d.Lookup(d.DefaultKubernetesVersion); !ok {
		t.Fatalf("default version %s is not in the calendar", d.DefaultKubernetesVersion)
	}
	for _, k := range d.Kubernetes {
		if _, ok := d.Sources[k.Source]; !ok {
			t.Errorf("%s: source %q is not listed in sources", k.Version, k.Source)
		}
		if !k.Released.Before(k.EndOfStandard.Time) || !k.EndOfStandard.Before(k.EndOfExtended.Time) {
			t.Errorf("%s: dates out of order", k.Version)
		}
	}
	for _, p := range d.Prices.OnDemandHourly {
		if _, ok := d.Sources[p.Source]; !ok || p.Date == "" {
			t.Errorf("price %s/%s lacks a source or date", p.Region, p.InstanceType)
		}
	}
}

func TestStatusOn(t *testing.T) {
	d := Get()
	cases := []struct {
		v, day string
		want   Status
	}{
		{"1.29", "2026-11-25", StatusEnded},
		{"1.29", "2026-03-22", StatusExtended},
		{"1.29", "2026-03-23", StatusEnded},
		{"1.31", "2026-11-25", StatusExtended},
		{"1.34", "2026-11-25", StatusStandard},
		{"1.36", "2026-06-01", StatusUnreleased},
		{"1.36", "2026-11-25", StatusStandard},
		{"1.99", "2026-11-25", StatusUnknown},
	}
	for _, c := range cases {
		if got := d.StatusOn(c.v, day(t, c.day)); got != c.want {
			t.Errorf("StatusOn(%s, %s) = %s, want %s", c.v, c.day, got, c.want)
		}
	}
}

func TestCNIRecommendedMinimum(t *testing.T) {
	d := Get()
	for k8s, want := range map[string]string{"1.29": "v1.14.1", "1.30": "v1.14.1", "1.31": "v1.16.4", "1.36": "v1.17.1"} {
		m, ok := d.CNIRecommendedMinimum(k8s)
		if !ok || m.Version != want {
			t.Errorf("minimum for %s = %v %v, want %s", k8s, m.Version, ok, want)
		}
	}
	if _, ok := d.CNIRecommendedMinimum("1.20"); ok {
		t.Error("1.20 has no sourced minimum")
	}
}

func TestCompare(t *testing.T) {
	if CompareMinor("1.9", "1.10") >= 0 || CompareMinor("1.30", "1.30") != 0 || CompareMinor("2.0", "1.99") <= 0 {
		t.Error("CompareMinor orders by number, not text")
	}
	for _, tc := range []struct {
		a, b string
		want int
	}{
		// two builds of one version
		{"v1.19.0-eksbuild.1", "v1.19.0-eksbuild.3", -1},
		{"v1.19.0-eksbuild.3", "v1.19.0-eksbuild.1", 1},
		{"v1.19.0-eksbuild.3", "v1.19.0-eksbuild.3", 0},
		{"v1.19.0-eksbuild.10", "v1.19.0-eksbuild.9", 1},
		// versions differing in the core: the build number does not matter
		{"v1.18.1-eksbuild.3", "v1.17.1", 1},
		{"v1.9.0", "v1.10.0", -1},
		{"v1.19.0-eksbuild.1", "v1.18.5-eksbuild.9", 1},
		{"v1.18.5-eksbuild.9", "v1.19.0-eksbuild.1", -1},
		{"v1.19.1-eksbuild.1", "v1.19.0-eksbuild.12", 1},
		{"v2.0.0-eksbuild.1", "v1.99.99-eksbuild.99", 1},
		// an upstream release without a build is before every build of it
		{"v1.17.1-eksbuild.1", "v1.17.1", 1},
		{"v1.17.1", "v1.17.1", 0},
		// unparsable versions sort first
		{"latest", "v1.0.0-eksbuild.1", -1},
		{"v1.0.0-eksbuild.1", "latest", 1},
	} {
		if got := CompareSemver(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareSemver(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	if NextMinor("1.30") != "1.31" {
		t.Error("NextMinor")
	}
	if _, _, ok := ParseMinor("1.x"); ok {
		t.Error("ParseMinor accepted 1.x")
	}
}

// Every version of the calendar has a Cluster Autoscaler release of its own minor, so no cluster tapstack builds
// lacks one; each is sourced and dated.
func TestClusterAutoscalerReleases(t *testing.T) {
	d := Get()
	if d.ClusterAutoscaler.Image != "registry.k8s.io/autoscaling/cluster-autoscaler" || d.ClusterAutoscaler.Seen.IsZero() {
		t.Fatalf("image %q, seen %v", d.ClusterAutoscaler.Image, d.ClusterAutoscaler.Seen)
	}
	for _, k := range d.Kubernetes {
		image, r, ok := d.ClusterAutoscalerImage(k.Version)
		if !ok {
			t.Errorf("Kubernetes %s has no Cluster Autoscaler release in the data", k.Version)
			continue
		}
		if !strings.HasPrefix(r.Version, "v"+k.Version+".") {
			t.Errorf("Kubernetes %s: release %s is of another minor", k.Version, r.Version)
		}
		if image != d.ClusterAutoscaler.Image+":"+r.Version {
			t.Errorf("Kubernetes %s: image %s", k.Version, image)
		}
		if _, listed := d.Sources[r.Source]; !listed || r.Released.IsZero() || r.Released.After(d.ClusterAutoscaler.Seen.Time) {
			t.Errorf("Kubernetes %s: release %s lacks a listed source or a release date before %s", k.Version, r.Version, d.ClusterAutoscaler.Seen)
		}
	}
	if image, _, _ := d.ClusterAutoscalerImage("1.36"); image != "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1" {
		t.Errorf("1.36: %s", image)
	}
	if image, _, ok := d.ClusterAutoscalerImage("1.99"); ok {
		t.Errorf("1.99 has no release, got %s", image)
	}
}
