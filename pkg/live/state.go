package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// State is what a stack's Terraform state manages, as far as the live checks need it: every identifying value of
// every managed resource (id, name, arn, url, node_group_name, ...) and how many resources of each type.
type State struct {
	Names map[string]bool
	Types map[string]int
}

// NewState returns a state that holds names, typed by nothing; for tests and callers that know only names.
func NewState(names ...string) *State {
	s := &State{Names: map[string]bool{}, Types: map[string]int{}}
	for _, n := range names {
		s.Names[n] = true
	}
	return s
}

// Has reports whether the state manages an object identified by name. A nil state has nothing.
func (s *State) Has(name string) bool { return s != nil && s.Names[name] }

// Count is how many managed resources of a type the state holds.
func (s *State) Count(typ string) int {
	if s == nil {
		return 0
	}
	return s.Types[typ]
}

// identifying are the attributes whose values identify an object in AWS.
var identifying = []string{"id", "name", "arn", "url", "node_group_name", "cluster_name", "addon_name"}

func (s *State) add(typ string, attrs map[string]any) {
	s.Types[typ]++
	for _, k := range identifying {
		if v, ok := attrs[k].(string); ok && v != "" {
			s.Names[v] = true
			if k == "url" { // an OIDC provider's url is stored without its scheme by IAM
				s.Names["https://"+v] = true
			}
		}
	}
}

// ParseState reads a Terraform state: the state file itself (format version 4, as the S3 backend stores it) or
// the output of `terraform show -json`. Only managed resources count.
func ParseState(b []byte) (*State, error) {
	var doc struct {
		Version   int `json:"version"`
		Resources []struct {
			Mode      string `json:"mode"`
			Type      string `json:"type"`
			Instances []struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
		FormatVersion string          `json:"format_version"`
		Values        *showValuesJSON `json:"values"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	s := NewState()
	for _, r := range doc.Resources {
		if r.Mode != "managed" {
			continue
		}
		for _, in := range r.Instances {
			s.add(r.Type, in.Attributes)
		}
	}
	if doc.Values != nil {
		doc.Values.RootModule.walk(s)
	}
	return s, nil
}

type showValuesJSON struct {
	RootModule showModuleJSON `json:"root_module"`
}

type showModuleJSON struct {
	Resources []struct {
		Mode   string         `json:"mode"`
		Type   string         `json:"type"`
		Values map[string]any `json:"values"`
	} `json:"resources"`
	ChildModules []showModuleJSON `json:"child_modules"`
}

func (m showModuleJSON) walk(s *State) {
	for _, r := range m.Resources {
		if r.Mode == "managed" {
			s.add(r.Type, r.Values)
		}
	}
	for _, c := range m.ChildModules {
		c.walk(s)
	}
}

// ReadStateObject returns the stack's state object from its S3 backend as stored (a format-4 state file, which
// tfstate.Decode reads). It returns (nil, nil) when there is no state yet: no such key (NoSuchKey, or NotFound
// for a 404 without a body) or no such bucket. Any other failure is an error tagged with s3:GetObject.
func ReadStateObject(ctx context.Context, c S3API, bucket, key string) ([]byte, error) {
	return getObject(ctx, c, bucket, key, "NoSuchKey", "NotFound", "NoSuchBucket")
}

// getObject returns an object's bytes; (nil, nil) when the error's code is one of missing.
func getObject(ctx context.Context, c interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}, bucket, key string, missing ...string) ([]byte, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if hasCode(err, missing...) {
			return nil, nil
		}
		return nil, wrap("s3:GetObject", err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, wrap("s3:GetObject", err)
	}
	return b, nil
}

// ReadState reads the stack's state object from its S3 backend (ReadStateObject) for the live checks. It returns
// (nil, nil) when there is no state yet.
func ReadState(ctx context.Context, c S3API, bucket, key string) (*State, error) {
	b, err := ReadStateObject(ctx, c, bucket, key)
	if err != nil || b == nil {
		return nil, err
	}
	return ParseState(b)
}

// StateProblem describes, for Input.StateUnknown, why a state could not be read; "" for a nil error.
func StateProblem(err error) string {
	if err == nil {
		return ""
	}
	var ae *apiError
	if errors.As(err, &ae) && classify(context.Background(), err) == classDenied {
		return "the state could not be read (access denied: needs " + ae.Action + ")"
	}
	return "the state could not be read (" + short(err) + ")"
}
