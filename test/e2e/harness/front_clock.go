package harness

import (
	"time"
)

// Time in the front. Two clocks, kept apart on purpose:
//
//   - The day, for every date-based answer (which Kubernetes versions EKS offers, which are in extended support).
//     It is set by the test (SetDay; TestDay by default) and never read from the wall clock, so a test gives the
//     same answers on any day it runs.
//   - The wall clock, only for how long a change takes. EKS changes clusters, node groups and add-ons
//     asynchronously: the resource is CREATING or UPDATING, an update is InProgress and then Successful or
//     Failed (EKS API reference, DescribeUpdate, DescribeCluster, DescribeNodegroup, DescribeAddon), and a second
//     change meanwhile is refused with ResourceInUseException (cloud-custodian #9250, ACK community #1192,
//     cdk-eks-blueprints #447). The front holds every change for Delay, so a product that does not wait fails.

// TestDay is the day the front answers for unless a test sets another: on 2026-12-01, per the AWS EKS user
// guide's calendar, 1.32 and 1.33 are in extended support and 1.34 to 1.36 in standard support.
const TestDay = "2026-12-01"

// DefaultDelay is how long a change takes in the front: above zero, so that nothing passes only because
// everything is instant, and about two seconds, so that a whole deploy stays quick.
const DefaultDelay = 2 * time.Second

// change is one asynchronous change EKS is making to a resource.
type change struct {
	status   string    // the resource's status meanwhile: CREATING or UPDATING
	updateID string    // the update that reports it ("" for a creation)
	typ      string    // the update's type, for the refusal's message (VersionUpdate, LoggingUpdate, ...)
	until    time.Time // when it completes
	done     func()    // applied with f.mu held when it completes; may be nil
}

// SetDay sets the day of the front's date-based answers (YYYY-MM-DD).
func (f *Front) SetDay(d string) {
	t := day(d)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.today = t
}

// Day is the day the front answers for.
func (f *Front) Day() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dayLocked()
}

func (f *Front) dayLocked() time.Time {
	if f.today.IsZero() {
		return day(TestDay)
	}
	return f.today
}

// SetDelay sets how long each change takes; it must be above zero.
func (f *Front) SetDelay(d time.Duration) {
	if d <= 0 {
		panic("harness: a change must take time: SetDelay needs a positive duration")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

func (f *Front) delayLocked() time.Duration {
	if f.delay <= 0 {
		return DefaultDelay
	}
	return f.delay
}

// begin starts a change of the resource key, with f.mu held. It returns the change in progress, and false, when
// the resource is still changing: the caller then refuses with ResourceInUseException.
func (f *Front) begin(key string, c *change) (*change, bool) {
	f.settleLocked()
	if cur := f.busy[key]; cur != nil {
		return cur, false
	}
	c.until = time.Now().Add(f.delayLocked()) // clock: how long EKS takes, not a date
	if f.busy == nil {
		f.busy = map[string]*change{}
	}
	f.busy[key] = c
	return c, true
}

// changing returns the change in progress on key, or nil; call it with f.mu held.
func (f *Front) changing(key string) *change {
	f.settleLocked()
	return f.busy[key]
}

// settleLocked completes the changes whose time has come; call it with f.mu held.
func (f *Front) settleLocked() {
	now := time.Now() // clock: completion of changes
	for k, c := range f.busy {
		if now.Before(c.until) {
			continue
		}
		delete(f.busy, k)
		if c.done != nil {
			c.done()
		}
	}
}

// settle completes the changes whose time has come.
func (f *Front) settle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settleLocked()
}

// Delay is how long each change takes.
func (f *Front) Delay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delayLocked()
}
