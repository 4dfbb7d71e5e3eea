package rules

import (
	"fmt"

	"github.com/tapstack/tapstack/pkg/config"
)

func init() {
	register(Rule{ID: "TS122", Kind: Invalid, Summary: "ttl is a positive duration of at most a year",
		Check: func(in *Input) []Finding {
			ttl := in.Config.TTL
			if ttl == "" {
				return nil
			}
			if _, err := config.ParseTTL(ttl); err != nil {
				return []Finding{{Path: "ttl", Message: fmt.Sprintf("ttl %v", err),
					Fix: "give a Go duration such as 72h or 90m, at most 8760h (TAPSTACK_TTL, --ttl), or leave it empty for no expiry"}}
			}
			return nil
		}})
}
