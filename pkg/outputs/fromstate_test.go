package outputs

import (
	"encoding/json"
	"reflect"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
)

func TestFromStateLeavesSensitiveOutputsOut(t *testing.T) {
	var st tfjson.State
	st.UseJSONNumber(true)
	if err := json.Unmarshal([]byte(`{"format_version":"1.0","values":{"outputs":{
		"vpc_id":{"sensitive":false,"type":"string","value":"vpc-1"},
		"ids":{"sensitive":false,"type":["list","string"],"value":["a","b"]},
		"n":{"sensitive":false,"type":"number","value":3},
		"token":{"sensitive":true,"type":"string","value":"s"}},"root_module":{}}}`), &st); err != nil {
		t.Fatal(err)
	}
	v, err := FromState(&st)
	want := Values{"vpc_id": "vpc-1", "ids": []any{"a", "b"}, "n": float64(3)}
	if err != nil || !reflect.DeepEqual(v, want) {
		t.Errorf("FromState = %#v, %v; want %#v", v, err, want)
	}
	for _, none := range []*tfjson.State{nil, {FormatVersion: "1.0"}} {
		if v, err := FromState(none); err != nil || len(v) != 0 {
			t.Errorf("FromState(%v) = %v, %v; want no values", none, v, err)
		}
	}
}
