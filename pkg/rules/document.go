package rules

import (
	"fmt"
	"strings"

	"github.com/tapstack/tapstack/pkg/tfdoc"
)

func refsOf(v any) []string { return tfdoc.References(v) }

// isPublic reports whether a subnet's route table sends 0.0.0.0/0 to an internet gateway.
func isPublic(in *Input, subnet string) bool {
	for _, a := range in.Doc.OfType("aws_route_table_association") {
		if !contains(refsOf(a.Body["subnet_id"]), subnet) {
			continue
		}
		for _, rt := range refsOf(a.Body["route_table_id"]) {
			for _, r := range in.Doc.OfType("aws_route") {
				gw := refsOf(r.Body["gateway_id"])
				if contains(refsOf(r.Body["route_table_id"]), rt) && len(gw) > 0 && strings.HasPrefix(gw[0], "aws_internet_gateway.") {
					return true
				}
			}
		}
	}
	return false
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func init() {
	register(Rule{ID: "TS112", Kind: Invalid, Summary: "every reference in the document names a declared resource",
		Check: func(in *Input) []Finding {
			var fs []Finding
			check := func(where string, v any) {
				for _, a := range refsOf(v) {
					if _, ok := in.Doc.Lookup(a); !ok {
						fs = append(fs, Finding{Path: where,
							Message: fmt.Sprintf("%s refers to %s, which the document does not declare", where, a),
							Fix:     "reference an attribute of a declared resource (for the OIDC issuer: aws_eks_cluster.<name>.identity[0].oidc[0].issuer)"})
					}
				}
			}
			for _, r := range in.Doc.Resources() {
				check(r.Address(), r.Body)
				for _, dep := range r.DependsOn {
					if _, ok := in.Doc.Lookup(dep); !ok {
						fs = append(fs, Finding{Path: r.Address(), Message: fmt.Sprintf("%s depends on %s, which the document does not declare", r.Address(), dep),
							Fix: "depend on a declared resource"})
					}
				}
			}
			for name, o := range in.Doc.Outputs {
				check("output."+name, o.Value)
			}
			return fs
		}})

	register(Rule{ID: "TS113", Kind: Invalid, Summary: "routes are separate resources with a destination",
		Check: func(in *Input) []Finding {
			var fs []Finding
			for _, rt := range in.Doc.OfType("aws_route_table") {
				if _, inline := rt.Body["route"]; inline {
					fs = append(fs, Finding{Path: rt.Address(), Message: "inline routes in a route table conflict with aws_route resources",
						Fix: "declare each route as its own aws_route"})
				}
			}
			for _, r := range in.Doc.OfType("aws_route") {
				has := false
				for _, k := range []string{"destination_cidr_block", "destination_ipv6_cidr_block", "destination_prefix_list_id"} {
					if s, _ := r.Body[k].(string); s != "" {
						has = true
					}
				}
				if !has {
					fs = append(fs, Finding{Path: r.Address(),
						Message: "route has no destination: AWS fails with \"one of cidr_block, ipv6_cidr_block, destination_prefix_list_id must be specified\"",
						Fix:     "set destination_cidr_block (not cidr_block) on the aws_route"})
				}
			}
			return fs
		}})
}
