package live

import (
	"context"
	"errors"
	"github.com/tapstack/tapstack/pkg/config"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/tapstack/tapstack/pkg/rules"
)

// With one item a page, every listing a check reads spans several pages: a check that stopped after the first
// would report types unknown, offerings missing, or no default vpc-cni build.
func TestListingsFollowPages(t *testing.T) {
	f := cleanAccount()
	f.pageSize = 1
	onlyFor136 := func(v string, def bool) ekstypes.AddonVersionInfo {
		return ekstypes.AddonVersionInfo{AddonVersion: aws.String(v), Compatibilities: compat("1.36", def)}
	}
	f.addonVersions = []ekstypes.AddonVersionInfo{onlyFor136("v1.21.0-eksbuild.1", false),
		onlyFor136("v1.20.5-eksbuild.1", false), onlyFor136("v1.20.4-eksbuild.2", true)}

	res, fs := one(t, f, Input{}, "TS810")
	wantClean(t, res, fs)
	if !strings.Contains(res.Note, "EKS would install v1.20.4-eksbuild.2") || f.count("eks:DescribeAddonVersions") != 3 {
		t.Errorf("TS810 note %q after %d calls", res.Note, f.count("eks:DescribeAddonVersions"))
	}

	for _, id := range []string{"TS811", "TS816", "TS817"} {
		res, fs := one(t, f, Input{}, id)
		wantClean(t, res, fs)
	}
	for _, api := range []string{"ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes"} {
		if f.count(api) < 3 {
			t.Errorf("%s: %d calls; the listing was not paged", api, f.count(api))
		}
	}

	// The exact name sorts first among those it prefixes: found on the first page, the rest is not asked for.
	cfg := defaults(t, "default")
	f.logGroups = map[string]*int32{cfg.LogGroupName(): nil, cfg.LogGroupName() + "-a": nil, cfg.LogGroupName() + "-b": nil}
	_, fs = one(t, f, Input{}, "TS805")
	wantFinding(t, fs, rules.Error, rules.WouldFail, LogGroupAddress, cfg.LogGroupName())
	groups := 0 // one call for each group the stack names: none of them takes a second page
	for _, n := range cfg.Names() {
		if n.Kind == config.KindLogGroup {
			groups++
		}
	}
	if n := f.count("logs:DescribeLogGroups"); n != groups {
		t.Errorf("DescribeLogGroups called %d times for %d groups, each on the first page", n, groups)
	}
}

// fixedPages serves one page a call and fails the test when a call does not send the token the previous page
// ended with, or asks past the last page.
type fixedPages[T any] struct {
	t      *testing.T
	pages  [][]T
	tokens []string // the token each page ends with; "" for none
	calls  int
}

func (p *fixedPages[T]) next(token *string) ([]T, *string, error) {
	i := p.calls
	p.calls++
	if i >= len(p.pages) {
		p.t.Errorf("call %d asks past the last page", i+1)
		return nil, nil, errors.New("no such page")
	}
	want := ""
	if i > 0 {
		want = p.tokens[i-1]
	}
	if aws.ToString(token) != want {
		p.t.Errorf("call %d sent token %q, want %q", i+1, aws.ToString(token), want)
	}
	var next *string
	if p.tokens[i] != "" {
		next = aws.String(p.tokens[i])
	}
	return p.pages[i], next, nil
}

type clusterVersionPages struct {
	EKSAPI
	fixedPages[ekstypes.ClusterVersionInformation]
}

func (p *clusterVersionPages) DescribeClusterVersions(_ context.Context, in *eks.DescribeClusterVersionsInput, _ ...func(*eks.Options)) (*eks.DescribeClusterVersionsOutput, error) {
	vs, next, err := p.next(in.NextToken)
	return &eks.DescribeClusterVersionsOutput{ClusterVersions: vs, NextToken: next}, err
}

func TestKubernetesVersionPages(t *testing.T) {
	v136 := cleanAccount().clusterVersions[0]
	for _, c := range []struct {
		name  string
		pages [][]ekstypes.ClusterVersionInformation
		calls int
	}{
		{"an empty first page", [][]ekstypes.ClusterVersionInformation{nil, {v136}}, 2},
		{"found on the first page: no second call", [][]ekstypes.ClusterVersionInformation{{v136}, nil}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &clusterVersionPages{fixedPages: fixedPages[ekstypes.ClusterVersionInformation]{t: t, pages: c.pages,
				tokens: []string{"t1", ""}}}
			r := Run(context.Background(), &Clients{EKS: p}, Input{Config: defaults(t, "default"), Date: checkDay},
				Options{Only: []string{"TS809"}})
			res := result(t, r, "TS809")
			wantClean(t, res, findingsOf(r, "TS809"))
			if !strings.Contains(res.Note, "standard-support") || p.calls != c.calls {
				t.Errorf("note %q after %d calls, want %d", res.Note, p.calls, c.calls)
			}
		})
	}
}

type logGroupPages struct {
	LogsAPI
	fixedPages[logstypes.LogGroup]
}

func (p *logGroupPages) DescribeLogGroups(_ context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	gs, next, err := p.next(in.NextToken)
	return &cloudwatchlogs.DescribeLogGroupsOutput{LogGroups: gs, NextToken: next}, err
}

func TestFindLogGroupPages(t *testing.T) {
	const name = "/aws/eks/c/cluster"
	group := logstypes.LogGroup{LogGroupName: aws.String(name), Arn: aws.String("arn:aws:logs:us-east-1:1:log-group:" + name)}
	p := &logGroupPages{fixedPages: fixedPages[logstypes.LogGroup]{t: t, pages: [][]logstypes.LogGroup{nil, {group}},
		tokens: []string{"t1", ""}}}
	lg, err := findLogGroup(context.Background(), p, name)
	if err != nil || lg == nil || aws.ToString(lg.Arn) != aws.ToString(group.Arn) || p.calls != 2 {
		t.Errorf("group on the second page: %+v, %v after %d calls", lg, err, p.calls)
	}

	// An emulator that answers the token it was sent again: the search ends there, without a group.
	p = &logGroupPages{fixedPages: fixedPages[logstypes.LogGroup]{t: t, pages: make([][]logstypes.LogGroup, 4),
		tokens: []string{"same", "same", "same", "same"}}}
	lg, err = findLogGroup(context.Background(), p, name)
	if err != nil || lg != nil || p.calls != 2 {
		t.Errorf("a repeated token: %+v, %v after %d calls, want none after 2", lg, err, p.calls)
	}
}
