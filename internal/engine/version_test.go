package engine

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckVersion(t *testing.T) {
	for _, c := range []struct {
		kind Kind
		v    string
		ok   bool
	}{
		{Terraform, "1.11.0", true},
		{Terraform, "1.11.4", true},
		{Terraform, "v1.12.1", true},
		{Terraform, "2.0.0", true},
		{Terraform, "1.11.0-rc1", true}, // a pre-release counts as its release
		{Terraform, "1.10.5", false},
		{Terraform, "0.15.5", false},
		{OpenTofu, "1.10.0", true},
		{OpenTofu, "1.10.0-beta2", true},
		{OpenTofu, "1.11.1", true},
		{OpenTofu, "1.9.1", false},
	} {
		v, err := ParseVersion(c.v)
		if err != nil {
			t.Fatalf("ParseVersion(%q): %v", c.v, err)
		}
		err = CheckVersion(c.kind, "/bin/x", v)
		if (err == nil) != c.ok {
			t.Errorf("CheckVersion(%s, %s) = %v, want ok=%v", c.kind, c.v, err, c.ok)
		}
		var ve *VersionError
		if err != nil && !errors.As(err, &ve) {
			t.Errorf("CheckVersion(%s, %s) returned %T", c.kind, c.v, err)
		}
	}
	if err := CheckVersion(Terraform, "/bin/x", nil); err == nil {
		t.Error("CheckVersion(nil) passed")
	}
}

func TestVersionErrorSaysWhatToInstall(t *testing.T) {
	v, _ := ParseVersion("1.10.5")
	msg := CheckVersion(Terraform, "/usr/bin/terraform", v).Error()
	for _, w := range []string{"terraform 1.10.5", "/usr/bin/terraform", "too old", "Terraform >= 1.11", "install Terraform 1.11 or newer"} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q does not say %q", msg, w)
		}
	}
	v, _ = ParseVersion("1.9.0")
	msg = CheckVersion(OpenTofu, "/usr/bin/tofu", v).Error()
	for _, w := range []string{"tofu 1.9.0", "OpenTofu >= 1.10", "install OpenTofu 1.10 or newer"} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q does not say %q", msg, w)
		}
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"": Terraform, "terraform": Terraform, "tofu": OpenTofu, "opentofu": OpenTofu} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseKind("pulumi"); err == nil {
		t.Error("ParseKind(pulumi) passed")
	}
	if OpenTofu.Binary() != "tofu" || Terraform.Binary() != "terraform" || MinVersion(OpenTofu) != "1.10" || MinVersion(Terraform) != "1.11" {
		t.Error("binaries or minimum versions")
	}
}
