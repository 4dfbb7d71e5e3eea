package rules

import (
	"fmt"
	"net"
	"regexp"
	"strings"
)

var bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`)

func init() {
	register(Rule{ID: "TS102", Kind: Invalid, Summary: "the state bucket name is valid for S3 and the state key is set",
		Check: func(in *Input) []Finding {
			b := in.Config.State.Bucket
			var why []string
			if len(b) < 3 || len(b) > 63 {
				why = append(why, fmt.Sprintf("is %d characters (3 to 63)", len(b)))
			}
			if len(b) > 0 && !bucketPattern.MatchString(b) {
				why = append(why, "may hold only lowercase letters, digits, dots and hyphens, and must start and end with a letter or digit")
			}
			if strings.Contains(b, "..") {
				why = append(why, "has two adjacent dots")
			}
			if net.ParseIP(b) != nil {
				why = append(why, "is formatted as an IP address")
			}
			var fs []Finding
			for _, w := range why {
				fs = append(fs, Finding{Path: "state.bucket", Message: fmt.Sprintf("state bucket %q %s", b, w),
					Fix: "set TERRAFORM_STATE_BUCKET or --state-bucket to a valid S3 bucket name"})
			}
			if strings.TrimSpace(in.Config.StateKey()) == "" || strings.HasPrefix(in.Config.StateKey(), "/") {
				fs = append(fs, Finding{Path: "state.key", Message: "the state key is empty or starts with /",
					Fix: "leave state.key unset for TapStack<suffix>/<suffix>/terraform.tfstate"})
			}
			return fs
		}})
	register(Rule{ID: "TS207", Kind: WouldFail, Summary: "the state backend encrypts the state",
		Check: func(in *Input) []Finding {
			if in.Config.State.Encrypt {
				return nil
			}
			return []Finding{{Path: "state.encrypt", Message: "the Terraform state would be stored unencrypted; it holds every resource's attributes",
				Fix: "set state.encrypt: true (or --allow TS207 to accept it)"}}
		}})
	register(Rule{ID: "TS208", Kind: WouldFail, Summary: "the state backend locks the state (S3-native lockfile)",
		Check: func(in *Input) []Finding {
			if in.Config.State.UseLockfile {
				return nil
			}
			return []Finding{{Path: "state.useLockfile", Message: "the state would not be locked: two pipelines could write it at once and corrupt it",
				Fix: "set state.useLockfile: true (S3-native locking, Terraform >= 1.11, OpenTofu >= 1.10), or --allow TS208"}}
		}})
}
