package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Sources are where a configuration comes from. Precedence: flags, then the file, then the environment, then the
// profile's defaults. A checked-in file is explicit; CI runners export AWS_REGION whether or not it is meant for
// this stack, so the file wins over the environment.
type Sources struct {
	// LookupEnv reads the environment (os.LookupEnv). Empty values count as unset.
	LookupEnv func(string) (string, bool)
	// File is a YAML configuration file; empty means none.
	File string
	// Flags maps a flag name (see Settings) to its value, for the flags the user set.
	Flags map[string]string
}

// Setting is a knob that a flag and/or an environment variable can set.
type Setting struct {
	Flag  string // without the dashes; empty: no flag
	Env   string // empty: no environment variable
	Path  string // the field path in the file
	Usage string
	set   func(*Config, string)
	get   func(*Config) string
}

// Settings lists every knob reachable from a flag or the environment. Everything else is set in the file.
var Settings = []Setting{
	{"profile", "TAPSTACK_PROFILE", "profile", "configuration profile: original, default or hardened",
		func(c *Config, v string) { c.Profile = v }, func(c *Config) string { return c.Profile }},
	{"environment-suffix", "ENVIRONMENT_SUFFIX", "environmentSuffix", "suffix of every name (dev, pr42, ...)",
		func(c *Config, v string) { c.EnvironmentSuffix = v }, func(c *Config) string { return c.EnvironmentSuffix }},
	{"region", "AWS_REGION", "region", "AWS region of the stack",
		func(c *Config, v string) { c.Region = v }, func(c *Config) string { return c.Region }},
	{"state-bucket", "TERRAFORM_STATE_BUCKET", "state.bucket", "S3 bucket of the Terraform state",
		func(c *Config, v string) { c.State.Bucket = v }, func(c *Config) string { return c.State.Bucket }},
	{"state-bucket-region", "TERRAFORM_STATE_BUCKET_REGION", "state.region", "region of the state bucket",
		func(c *Config, v string) { c.State.Region = v }, func(c *Config) string { return c.State.Region }},
	{"kubernetes-version", "", "cluster.kubernetesVersion", "Kubernetes version of the cluster (1.36)",
		func(c *Config, v string) { c.Cluster.KubernetesVersion = v }, func(c *Config) string { return c.Cluster.KubernetesVersion }},
	{"availability-zones", "", "network.availabilityZones", "comma-separated zone names; empty picks them at plan time",
		func(c *Config, v string) { c.Network.AvailabilityZones = splitList(v) },
		func(c *Config) string { return strings.Join(c.Network.AvailabilityZones, ",") }},
	{"vpc-cni-version", "", "addons.vpcCni.version", "vpc-cni add-on build to pin; empty lets EKS choose",
		func(c *Config, v string) { c.Addons.VPCCNI.Version = v }, func(c *Config) string { return c.Addons.VPCCNI.Version }},
	{"ttl", "TAPSTACK_TTL", "ttl", "how long the environment lives (72h); the first deploy records its expiry",
		func(c *Config, v string) { c.TTL = v }, func(c *Config) string { return c.TTL }},
	{"protect", "TAPSTACK_PROTECT", "protect", "record a tag under which tapstack gc never destroys the environment",
		func(c *Config, v string) { c.Protect, _ = strconv.ParseBool(v) }, func(c *Config) string { return strconv.FormatBool(c.Protect) }},
	{"cloudwatch-observability", "TAPSTACK_CLOUDWATCH_OBSERVABILITY", "addons.cloudWatchObservability",
		"amazon-cloudwatch-observability add-on (Container Insights): true or false",
		func(c *Config, v string) { c.Addons.CloudWatchObservability, _ = strconv.ParseBool(v) },
		func(c *Config) string { return strconv.FormatBool(c.Addons.CloudWatchObservability) }},
	{"", "REPOSITORY", "tags.repository", "", func(c *Config, v string) { c.Tags.Repository = v },
		func(c *Config) string { return c.Tags.Repository }},
	{"", "COMMIT_AUTHOR", "tags.commitAuthor", "", func(c *Config, v string) { c.Tags.CommitAuthor = v },
		func(c *Config) string { return c.Tags.CommitAuthor }},
	{"", "PR_NUMBER", "tags.prNumber", "", func(c *Config, v string) { c.Tags.PRNumber = v },
		func(c *Config) string { return c.Tags.PRNumber }},
	{"", "TEAM", "tags.team", "", func(c *Config, v string) { c.Tags.Team = v },
		func(c *Config) string { return c.Tags.Team }},
}

// boolSettings take true or false (strconv.ParseBool); given alone, their flag means true.
var boolSettings = map[string]bool{"protect": true, "addons.cloudWatchObservability": true}

// IsBool reports whether the setting takes true or false.
func (s Setting) IsBool() bool { return boolSettings[s.Path] }

// checkValue refuses a value a setting cannot take; from names where it came from (--flag, VARIABLE).
func (s Setting) checkValue(from, v string) string {
	if s.IsBool() {
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Sprintf("%s: %q is not true or false", from, v)
		}
	}
	return ""
}

// Notice is something the user should know about how the configuration was resolved.
type Notice string

// LoadError lists every problem found while reading the sources (not the rules' findings).
type LoadError struct{ Problems []string }

func (e *LoadError) Error() string {
	return "configuration could not be read:\n  " + strings.Join(e.Problems, "\n  ")
}

// Load resolves a configuration from its sources.
func Load(src Sources) (*Config, []Notice, error) {
	if src.LookupEnv == nil {
		src.LookupEnv = os.LookupEnv
	}
	env := func(name string) (string, bool) {
		v, ok := src.LookupEnv(name)
		return v, ok && v != ""
	}
	var (
		problems []string
		fileRoot *yaml.Node
		fileData []byte
	)
	if src.File != "" {
		b, err := os.ReadFile(src.File)
		if err != nil {
			return nil, nil, &LoadError{[]string{fmt.Sprintf("--config: %v", err)}}
		}
		fileData = b
		var root yaml.Node
		if err := yaml.Unmarshal(b, &root); err != nil {
			return nil, nil, &LoadError{[]string{fmt.Sprintf("%s: %v", src.File, err)}}
		}
		fileRoot = &root
	}

	// The profile decides the defaults, so resolve it first, with the same precedence as every knob.
	profile := "default"
	if v, ok := env("TAPSTACK_PROFILE"); ok {
		profile = v
	}
	if v, ok := fileString(fileRoot, "profile"); ok {
		profile = v
	}
	if v, ok := src.Flags["profile"]; ok {
		profile = v
	}
	cfg, known := Defaults(profile)
	if !known {
		problems = append(problems, fmt.Sprintf("profile: unknown profile %q; use one of %s", profile, strings.Join(Profiles, ", ")))
	}
	cfg.Profile = profile

	envValues := map[string]string{}
	for _, s := range Settings {
		if s.Env == "" || s.Path == "profile" {
			continue
		}
		if v, ok := env(s.Env); ok {
			if p := s.checkValue(s.Env, v); p != "" {
				problems = append(problems, p)
				continue
			}
			s.set(&cfg, v)
			envValues[s.Path] = s.get(&cfg) // as the file's value reads (a bool's 1 is true)
		}
	}

	var notices []Notice
	if fileRoot != nil {
		dec := yaml.NewDecoder(bytes.NewReader(fileData))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				for _, m := range te.Errors {
					problems = append(problems, fmt.Sprintf("%s: %s", src.File, m))
				}
			} else {
				problems = append(problems, fmt.Sprintf("%s: %v", src.File, err))
			}
		}
		for _, s := range Settings {
			ev, fromEnv := envValues[s.Path]
			if !fromEnv || !filePresent(fileRoot, s.Path) {
				continue
			}
			if fv := s.get(&cfg); fv != ev {
				notices = append(notices, Notice(fmt.Sprintf("%s=%s in the environment is overridden by %s: %s in %s",
					s.Env, ev, s.Path, fv, src.File)))
			}
		}
	}

	flagNames := make([]string, 0, len(src.Flags))
	for f := range src.Flags {
		flagNames = append(flagNames, f)
	}
	sort.Strings(flagNames)
	for _, f := range flagNames {
		s, ok := settingByFlag(f)
		if !ok {
			problems = append(problems, fmt.Sprintf("--%s: not a configuration flag", f))
			continue
		}
		if p := s.checkValue("--"+f, src.Flags[f]); p != "" {
			problems = append(problems, p)
			continue
		}
		s.set(&cfg, src.Flags[f])
	}
	cfg.Profile = profile
	if len(problems) > 0 {
		return nil, notices, &LoadError{problems}
	}
	return &cfg, notices, nil
}

func settingByFlag(flag string) (Setting, bool) {
	for _, s := range Settings {
		if s.Flag == flag && flag != "" {
			return s, true
		}
	}
	return Setting{}, false
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// fileNode finds the node at a dotted path in a YAML document.
func fileNode(root *yaml.Node, path string) *yaml.Node {
	if root == nil || len(root.Content) == 0 {
		return nil
	}
	n := root.Content[0]
	for _, key := range strings.Split(path, ".") {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

func filePresent(root *yaml.Node, path string) bool { return fileNode(root, path) != nil }

func fileString(root *yaml.Node, path string) (string, bool) {
	n := fileNode(root, path)
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", false
	}
	return n.Value, true
}
