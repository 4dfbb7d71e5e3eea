package tfdoc

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func sample() *Document {
	d := New()
	d.RequiredVersion = ">= 1.11"
	d.RequiredProviders["aws"] = ProviderRequirement{Source: "hashicorp/aws", Version: "~> 5.100"}
	d.Backend = &Backend{Type: "s3", Config: Body{"bucket": "b", "encrypt": true}}
	d.Providers["aws"] = []Body{{"region": "us-east-1"}}
	vpc := d.Resource("aws_vpc", "vpc", Body{"cidr_block": "10.0.0.0/16"})
	azs := d.Data("aws_availability_zones", "azs", Body{"state": "available"})
	sn := d.Resource("aws_subnet", "a", Body{"vpc_id": vpc.Ref("id"), "availability_zone": azs.Ref("names[0]")})
	sn.DependOn(vpc)
	d.Output("vpc_id", "the VPC", vpc.Ref("id"))
	d.Moved = []Moved{{From: "aws_vpc.old", To: "aws_vpc.vpc"}}
	d.Imports = []Import{{To: "aws_vpc.vpc", ID: "vpc-1"}}
	d.Removed = []Removed{{From: "aws_subnet.gone"}}
	return d
}

func TestMarshalShapeAndDeterminism(t *testing.T) {
	a, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sample().Marshal()
	if !bytes.Equal(a, b) {
		t.Fatal("same document, different bytes")
	}
	s := string(a)
	for _, want := range []string{
		`"required_version": ">= 1.11"`, // not \u003e
		`"vpc_id": "${aws_vpc.vpc.id}"`,
		`"availability_zone": "${data.aws_availability_zones.azs.names[0]}"`,
		`"depends_on": [` + "\n" + `          "aws_vpc.vpc"`,
		`"backend": {` + "\n" + `      "s3": {`,
		`"lifecycle": {` + "\n" + `        "destroy": false`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s\n%s", want, s)
		}
	}
	if !strings.HasSuffix(s, "}\n") {
		t.Error("output must end with a newline")
	}
}

func TestDuplicateAddressIsAnError(t *testing.T) {
	d := New()
	d.Resource("aws_vpc", "vpc", nil)
	d.Resource("aws_vpc", "vpc", nil)
	if _, err := d.Marshal(); err == nil || !strings.Contains(err.Error(), "aws_vpc.vpc is declared twice") {
		t.Fatalf("err = %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	first, _ := sample().Marshal()
	d, err := Parse(first)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := d.Marshal()
	if !bytes.Equal(first, second) {
		t.Fatalf("round trip changed the document:\n%s\n---\n%s", first, second)
	}
}

// The CDKTF-synthesized original parses, and re-encoding it keeps its meaning.
func TestRoundTripCDKTFDocument(t *testing.T) {
	in, err := os.ReadFile("testdata/cdktf-original-dev.tf.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(d.Resources()); got != 22 {
		t.Errorf("resources+data = %d, want 21 resources and 1 data source", got)
	}
	out, _ := d.Marshal()
	var a, b any
	_ = json.Unmarshal(in, &a)
	_ = json.Unmarshal(out, &b)
	if !reflect.DeepEqual(a, b) {
		t.Error("re-encoded CDKTF document differs in meaning")
	}
	if r, ok := d.Lookup("aws_eks_addon.vpc_cni_addon"); !ok || len(r.DependsOn) != 2 {
		t.Errorf("add-on dependencies lost: %+v", r)
	}
}

func TestReferences(t *testing.T) {
	got := References(Body{
		"a": "${aws_vpc.vpc.id}",
		"b": []any{"${data.aws_availability_zones.azs.names[1]}", "x-${aws_vpc.vpc.arn}"},
		"c": "${var.x} ${local.y} ${jsonencode({})}",
		"d": Body{"e": "aws eks --name ${aws_eks_cluster.c.name}"},
	})
	want := []string{"aws_eks_cluster.c", "aws_vpc.vpc", "data.aws_availability_zones.azs"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("References = %v, want %v", got, want)
	}
}
