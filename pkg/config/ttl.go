package config

import (
	"fmt"
	"time"
)

// MaxTTL is the longest ttl accepted: a year. Longer lives are better left without an expiry.
const MaxTTL = 365 * 24 * time.Hour

// ParseTTL reads a ttl: a positive Go duration (72h, 90m) of at most MaxTTL. The error says what is wrong with
// the value; the caller names the field.
func ParseTTL(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration", s)
	case d <= 0:
		return 0, fmt.Errorf("%s is not positive", s)
	case d > MaxTTL:
		return 0, fmt.Errorf("%s is longer than a year (%s)", s, formatHours(MaxTTL))
	}
	return d, nil
}

func formatHours(d time.Duration) string { return fmt.Sprintf("%dh", int64(d/time.Hour)) }
