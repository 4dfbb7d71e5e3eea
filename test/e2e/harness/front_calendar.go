package harness

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"sort"
	"time"
)

// The Kubernetes calendar the front serves. testdata/describe-cluster-versions.json is an answer of
// DescribeClusterVersions (includeAll=true) in the shape of the EKS API reference, its dates those of the AWS EKS
// user guide, "kubernetes-versions" (standard support 14 months from release, then 12 months of extended
// support), as checked in November 2026. It is the front's own fixture, never read from the product's version
// data, so that a wrong date there shows up as a disagreement. The front keeps the fixture's dates and works out
// each version's status, and which versions it offers, for the day the test sets (SetDay).

//go:embed testdata/describe-cluster-versions.json
var clusterVersionsFixture []byte

// calendarVersion is one version of the fixture.
type calendarVersion struct {
	ClusterVersion           string  `json:"clusterVersion"`
	ClusterType              string  `json:"clusterType"`
	DefaultPlatformVersion   string  `json:"defaultPlatformVersion"`
	ReleaseDate              float64 `json:"releaseDate"`
	EndOfStandardSupportDate float64 `json:"endOfStandardSupportDate"`
	EndOfExtendedSupportDate float64 `json:"endOfExtendedSupportDate"`
	KubernetesPatchVersion   string  `json:"kubernetesPatchVersion"`
}

var calendar = func() []calendarVersion {
	var out struct {
		ClusterVersions []calendarVersion `json:"clusterVersions"`
	}
	if err := json.Unmarshal(clusterVersionsFixture, &out); err != nil {
		panic("harness: testdata/describe-cluster-versions.json: " + err.Error())
	}
	sort.Slice(out.ClusterVersions, func(i, j int) bool { // newest first, as EKS lists them
		return minor(out.ClusterVersions[i].ClusterVersion) > minor(out.ClusterVersions[j].ClusterVersion)
	})
	return out.ClusterVersions
}()

// day parses a YYYY-MM-DD day, UTC.
func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func unix(s float64) time.Time { return time.Unix(int64(s), 0).UTC() }

// versionStatus is EKS's status of a version on a day: "standard-support", "extended-support", "unsupported", or
// "" when the version is unknown or not released yet.
func versionStatus(v string, on time.Time) string {
	for _, c := range calendar {
		if c.ClusterVersion != v {
			continue
		}
		switch {
		case on.Before(unix(c.ReleaseDate)):
			return ""
		case on.Before(unix(c.EndOfStandardSupportDate)):
			return "standard-support"
		case on.Before(unix(c.EndOfExtendedSupportDate)):
			return "extended-support"
		}
		return "unsupported"
	}
	return ""
}

// offered: EKS creates clusters on, and upgrades them to, a version in standard or extended support (AWS EKS user
// guide, kubernetes-versions: after the end of extended support a version can no longer be used).
func offered(v string, on time.Time) bool {
	s := versionStatus(v, on)
	return s == "standard-support" || s == "extended-support"
}

var versionStatusEnum = map[string]string{
	"standard-support": "STANDARD_SUPPORT", "extended-support": "EXTENDED_SUPPORT", "unsupported": "UNSUPPORTED",
}

// describeClusterVersions serves GET /cluster-versions for the front's day: newest first, unsupported versions
// only with includeAll=true or when asked for by name, and the clusterVersions, defaultOnly, status and
// versionStatus filters. The default version is the second newest in standard support: an invented rule (EKS
// documents no rule for its default), kept stable so tests can rely on it.
func (f *Front) describeClusterVersions(w http.ResponseWriter, r *http.Request) {
	on := f.Day()
	q := r.URL.Query()
	var standard []string
	for _, c := range calendar {
		if versionStatus(c.ClusterVersion, on) == "standard-support" {
			standard = append(standard, c.ClusterVersion)
		}
	}
	def := ""
	switch {
	case len(standard) >= 2:
		def = standard[1]
	case len(standard) == 1:
		def = standard[0]
	}
	out := []map[string]any{}
	for _, c := range calendar {
		status := versionStatus(c.ClusterVersion, on)
		switch {
		case status == "":
			continue
		case status == "unsupported" && q.Get("includeAll") != "true" && len(q["clusterVersions"]) == 0:
			continue
		case !allowed(q["clusterVersions"], c.ClusterVersion),
			q.Get("defaultOnly") == "true" && c.ClusterVersion != def,
			!allowed(q["status"], status), !allowed(q["versionStatus"], versionStatusEnum[status]):
			continue
		}
		out = append(out, map[string]any{
			"clusterVersion":           c.ClusterVersion,
			"clusterType":              c.ClusterType,
			"defaultPlatformVersion":   c.DefaultPlatformVersion,
			"defaultVersion":           c.ClusterVersion == def,
			"releaseDate":              c.ReleaseDate,
			"endOfStandardSupportDate": c.EndOfStandardSupportDate,
			"endOfExtendedSupportDate": c.EndOfExtendedSupportDate,
			"kubernetesPatchVersion":   c.KubernetesPatchVersion,
			"status":                   status,
			"versionStatus":            versionStatusEnum[status],
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"clusterVersions": out})
}
