package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/tapstack/tapstack/internal/lifecycle"
	"github.com/tapstack/tapstack/test/e2e/harness"
)

// BenchmarkEnvs200 lists and reads the 200 states (and the foreign ones) of writeManyStates from moto, as envs
// does: the paginated listing, 16 reads at a time, the decoding and the estimates. docs/performance.md has the
// figure; the issue asks for under two seconds.
//
//	go test -run '^$' -bench Envs200 ./test/e2e/
func BenchmarkEnvs200(b *testing.B) {
	moto := harness.StartMoto(b)
	harness.CreateBucket(b, moto.URL, fleetManyBucket, harness.Region)
	writeManyStates(b, moto.URL, fleetManyBucket)
	o := lifecycle.FleetOptions{Bucket: fleetManyBucket, BucketRegion: harness.Region, S3: harness.S3Client(moto.URL, harness.Region),
		Now: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)}
	for b.Loop() {
		f, err := lifecycle.Envs(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		if n := f.Count(lifecycle.Ours); n != manyStates {
			b.Fatalf("%d environments of ours listed, want %d", n, manyStates)
		}
	}
}
