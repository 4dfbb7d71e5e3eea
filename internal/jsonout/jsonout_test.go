package jsonout

import (
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	v := map[string]any{"required_version": ">= 1.11", "b": []int{1, 2}, "a": "x && <y>"}
	want := "{\n  \"a\": \"x && <y>\",\n  \"b\": [\n    1,\n    2\n  ],\n  \"required_version\": \">= 1.11\"\n}\n"
	var b strings.Builder
	if err := Write(&b, v); err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Errorf("Write:\n%s\nwant\n%s", b.String(), want)
	}
	got, err := Marshal(v)
	if err != nil || string(got) != want {
		t.Errorf("Marshal: %v\n%s", err, got)
	}
}

func TestUnencodable(t *testing.T) {
	var b strings.Builder
	if err := Write(&b, map[string]any{"c": make(chan int)}); err == nil || b.Len() != 0 {
		t.Errorf("err %v, wrote %q", err, b.String())
	}
	if got, err := Marshal(func() {}); err == nil || got != nil {
		t.Errorf("Marshal of a func: %q, %v", got, err)
	}
}
