package engine

import (
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
)

// A deposed object shares its instance's address. show -json lists it after the current object (since
// Terraform 1.5), but Attribute reads the current object whatever the order, and Resources counts both.
func TestAttributeSkipsDeposedObjects(t *testing.T) {
	st := &tfjson.State{Values: &tfjson.StateValues{RootModule: &tfjson.StateModule{Resources: []*tfjson.StateResource{
		{Address: "aws_subnet.a", Mode: tfjson.ManagedResourceMode, DeposedKey: "0a0b0c0d", AttributeValues: map[string]any{"id": "subnet-old"}},
		{Address: "aws_subnet.a", Mode: tfjson.ManagedResourceMode, AttributeValues: map[string]any{"id": "subnet-new"}},
		{Address: "data.aws_vpc.v", Mode: tfjson.DataResourceMode, AttributeValues: map[string]any{"id": "vpc-1"}},
	}}}}
	if got := Attribute(st, "aws_subnet.a", "id"); got != "subnet-new" {
		t.Errorf("Attribute = %v, want the current object's subnet-new", got)
	}
	if got := Attribute(st, "data.aws_vpc.v", "id"); got != nil {
		t.Errorf("a data source's attribute: %v", got)
	}
	if n := len(Resources(st)); n != 2 {
		t.Errorf("Resources: %d, want 2 (the deposed object is still in the account)", n)
	}
}
