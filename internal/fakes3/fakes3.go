// Package fakes3 is an S3 bucket in memory for unit tests: the calls the fleet commands make on a state bucket
// (ListObjectsV2 a page at a time, GetObject, DeleteObject), answered as S3 answers them, with every call
// counted. It reaches no network.
package fakes3

import (
	"bytes"
	"context"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Bucket is one bucket's objects. The zero value is empty and usable; PageSize 0 means S3's 1000.
type Bucket struct {
	Name     string
	PageSize int

	mu      sync.Mutex
	objects map[string]object
	calls   map[string]int
	// Fail answers a call with this error, by operation name (GetObject) or by operation and key
	// (GetObject TapStackx/x/terraform.tfstate).
	Fail map[string]error
	// MaxInFlight is the most GetObject calls that ran at once.
	inFlight, MaxInFlight int
	// Delay holds every GetObject this long, so that parallel reads overlap.
	Delay time.Duration
}

type object struct {
	body     []byte
	modified time.Time
}

// Put stores an object.
func (b *Bucket) Put(key string, body []byte, modified time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.objects == nil {
		b.objects = map[string]object{}
	}
	b.objects[key] = object{body: body, modified: modified}
}

// Has reports whether the bucket holds key.
func (b *Bucket) Has(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.objects[key]
	return ok
}

// Keys lists the keys, sorted.
func (b *Bucket) Keys() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for k := range b.objects {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Calls is how many times an operation was called.
func (b *Bucket) Calls(op string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[op]
}

func (b *Bucket) call(op, bucket, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.calls == nil {
		b.calls = map[string]int{}
	}
	b.calls[op]++
	if bucket != b.Name {
		return &smithy.GenericAPIError{Code: "NoSuchBucket", Message: "The specified bucket does not exist"}
	}
	if err := b.Fail[op+" "+key]; err != nil {
		return err
	}
	return b.Fail[op]
}

// ListObjectsV2 lists the keys after the continuation token (the last key of the previous page, as handed out),
// in UTF-8 binary order, PageSize at a time.
func (b *Bucket) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if err := b.call("ListObjectsV2", aws.ToString(in.Bucket), ""); err != nil {
		return nil, err
	}
	size := b.PageSize
	if size <= 0 {
		size = 1000
	}
	if in.MaxKeys != nil && int(*in.MaxKeys) < size {
		size = int(*in.MaxKeys)
	}
	after := ""
	if t := aws.ToString(in.ContinuationToken); t != "" {
		k, ok := strings.CutPrefix(t, "after:")
		if !ok {
			return nil, &smithy.GenericAPIError{Code: "InvalidArgument", Message: "The continuation token provided is incorrect"}
		}
		after = k
	}
	keys := b.Keys()
	b.mu.Lock()
	defer b.mu.Unlock()
	out := &s3.ListObjectsV2Output{Name: in.Bucket, Prefix: in.Prefix}
	for _, k := range keys {
		if !strings.HasPrefix(k, aws.ToString(in.Prefix)) || (after != "" && k <= after) {
			continue
		}
		if len(out.Contents) == size {
			out.IsTruncated = aws.Bool(true)
			out.NextContinuationToken = aws.String("after:" + aws.ToString(out.Contents[size-1].Key))
			break
		}
		o := b.objects[k]
		out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k), LastModified: aws.Time(o.modified),
			Size: aws.Int64(int64(len(o.body)))})
	}
	out.KeyCount = aws.Int32(int32(len(out.Contents)))
	return out, nil
}

// GetObject returns an object, or NoSuchKey.
func (b *Bucket) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	key := aws.ToString(in.Key)
	if err := b.call("GetObject", aws.ToString(in.Bucket), key); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.inFlight++
	b.MaxInFlight = max(b.MaxInFlight, b.inFlight)
	o, ok := b.objects[key]
	delay := b.Delay
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.inFlight--
		b.mu.Unlock()
	}()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if !ok {
		return nil, &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.body)), LastModified: aws.Time(o.modified),
		ContentLength: aws.Int64(int64(len(o.body)))}, nil
}

// DeleteObject removes an object; deleting a key that is not there succeeds, as in S3.
func (b *Bucket) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	key := aws.ToString(in.Key)
	if err := b.call("DeleteObject", aws.ToString(in.Bucket), key); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.objects, key)
	return &s3.DeleteObjectOutput{}, nil
}
