package engine

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// EnvEnginePath, the one environment variable the engine reads, names the engine's executable, bypassing PATH.
const EnvEnginePath = "TAPSTACK_ENGINE_PATH"

// Kind is an engine: Terraform or OpenTofu.
type Kind string

const (
	Terraform Kind = "terraform"
	OpenTofu  Kind = "tofu"
)

// ParseKind accepts terraform, tofu or opentofu; empty means Terraform.
func ParseKind(s string) (Kind, error) {
	switch s {
	case "", "terraform":
		return Terraform, nil
	case "tofu", "opentofu":
		return OpenTofu, nil
	}
	return "", fmt.Errorf("engine %q is not terraform or tofu", s)
}

// Binary is the executable's name on PATH.
func (k Kind) Binary() string {
	if k == OpenTofu {
		return "tofu"
	}
	return "terraform"
}

// Product is the engine's name as its makers write it.
func (k Kind) Product() string {
	if k == OpenTofu {
		return "OpenTofu"
	}
	return "Terraform"
}

// InstallHint says what to install.
func (k Kind) InstallHint() string {
	if k == OpenTofu {
		return "install OpenTofu " + MinVersion(k) + " or newer (https://opentofu.org/docs/intro/install/)"
	}
	return "install Terraform " + MinVersion(k) + " or newer (https://developer.hashicorp.com/terraform/install)"
}

// Locate returns the engine's executable: $TAPSTACK_ENGINE_PATH when set, else the engine's name looked up on
// PATH. getenv is os.Getenv when nil.
func Locate(k Kind, getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv(EnvEnginePath); p != "" {
		st, err := os.Stat(p)
		if err != nil {
			return "", &NotFoundError{Kind: k, Path: p, Err: err}
		}
		if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return "", &NotFoundError{Kind: k, Path: p, Err: errors.New("not an executable file")}
		}
		return p, nil
	}
	p, err := exec.LookPath(k.Binary())
	if err != nil {
		return "", &NotFoundError{Kind: k, Err: err}
	}
	return p, nil
}
