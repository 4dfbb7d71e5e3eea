package live

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/tapstack/tapstack/internal/fakes3"
)

// A listing follows every page: with three keys a page, 200 states and their locks come back whole, in order.
func TestListBucketFollowsPages(t *testing.T) {
	b := &fakes3.Bucket{Name: "states", PageSize: 3}
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	for i := range 200 {
		b.Put(fmt.Sprintf("TapStackp%03d/p%03d/terraform.tfstate", i, i), []byte("{}"), at.Add(time.Duration(i)*time.Minute))
	}
	b.Put("TapStackp007/p007/terraform.tfstate.tflock", []byte("{}"), at)
	objs, err := ListBucket(context.Background(), b, "states", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 201 || b.Calls("ListObjectsV2") != 67 {
		t.Fatalf("%d objects in %d calls, want 201 in 67 pages of 3", len(objs), b.Calls("ListObjectsV2"))
	}
	for i := 1; i < len(objs); i++ {
		if objs[i-1].Key >= objs[i].Key {
			t.Fatalf("out of order: %s before %s", objs[i-1].Key, objs[i].Key)
		}
	}
	if o := objs[0]; o.Key != "TapStackp000/p000/terraform.tfstate" || !o.LastModified.Equal(at) || o.Size != 2 {
		t.Errorf("first object %+v", o)
	}
	// A prefix lists a state and its lock only.
	objs, err = ListBucket(context.Background(), b, "states", "TapStackp007/p007/terraform.tfstate")
	if err != nil || len(objs) != 2 || !strings.HasSuffix(objs[1].Key, ".tflock") {
		t.Errorf("prefix listing: %v %+v", err, objs)
	}
}

// A failed page is an error naming the API and the IAM action it needs; a missing key reads as nothing.
func TestBucketErrors(t *testing.T) {
	b := &fakes3.Bucket{Name: "states", PageSize: 1, Fail: map[string]error{}}
	b.Put("a", []byte("1"), time.Time{})
	b.Put("b", []byte("2"), time.Time{})
	b.Fail["ListObjectsV2"] = &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}
	_, err := ListBucket(context.Background(), b, "states", "")
	if api, action := apiOf(err); api != "s3:ListObjectsV2" || action != "s3:ListBucket" {
		t.Errorf("error %v: api %q action %q", err, api, action)
	}
	if raw, err := ReadBucketObject(context.Background(), b, "states", "nope"); raw != nil || err != nil {
		t.Errorf("missing key: %q %v", raw, err)
	}
	if raw, err := ReadBucketObject(context.Background(), b, "states", "a"); string(raw) != "1" || err != nil {
		t.Errorf("key a: %q %v", raw, err)
	}
	if err := DeleteBucketObject(context.Background(), b, "states", "a"); err != nil || b.Has("a") {
		t.Errorf("delete: %v, still there %v", err, b.Has("a"))
	}
	delete(b.Fail, "ListObjectsV2")
	if objs, err := ListBucket(context.Background(), b, "states", ""); err != nil || len(objs) != 1 {
		t.Errorf("after the delete: %v %+v", err, objs)
	}
	if _, err := ListBucket(context.Background(), b, "other", ""); err == nil {
		t.Error("another bucket listed")
	}
}
