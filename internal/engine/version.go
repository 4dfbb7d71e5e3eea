package engine

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-version"
)

// minVersions are the oldest engines with S3-native state locking (use_lockfile): Terraform 1.11.0 and
// OpenTofu 1.10.0.
var minVersions = map[Kind]*version.Version{
	Terraform: version.Must(version.NewVersion("1.11.0")),
	OpenTofu:  version.Must(version.NewVersion("1.10.0")),
}

// MinVersion is the oldest supported version of an engine, as "1.11".
func MinVersion(k Kind) string {
	s := minVersions[k].Segments()
	return fmt.Sprintf("%d.%d", s[0], s[1])
}

// CheckVersion returns a *VersionError when v is older than the engine's minimum. A pre-release counts as the
// release it leads to (1.11.0-rc1 is 1.11.0).
func CheckVersion(k Kind, path string, v *version.Version) error {
	if v == nil {
		return &VersionError{Kind: k, Path: path, Have: "(unknown)", Need: MinVersion(k)}
	}
	if v.Core().LessThan(minVersions[k]) {
		return &VersionError{Kind: k, Path: path, Have: v.String(), Need: MinVersion(k)}
	}
	return nil
}

// ParseVersion parses a version as an engine prints it, with or without a leading v.
func ParseVersion(s string) (*version.Version, error) {
	return version.NewVersion(s)
}

// checkVersion asks the executable for its version (`version -json`) and checks it.
func (e *Engine) checkVersion(ctx context.Context) error {
	v, _, err := e.tf.Version(ctx, true)
	if err != nil {
		return &NotFoundError{Kind: e.kind, Path: e.path, Err: fmt.Errorf("%s version: %v", e.kind.Binary(), firstLine(err))}
	}
	e.version = v
	return CheckVersion(e.kind, e.path, v)
}
