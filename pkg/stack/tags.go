package stack

import (
	"fmt"
	"strconv"
	"time"

	"github.com/tapstack/tapstack/pkg/config"
)

// The default tags tapstack writes on every taggable resource, and that the fleet commands read back from a
// state (on the cluster's tags_all). The keys are kept here only.
const (
	TagEnvironment = "Environment"
	TagRepository  = "Repository"
	TagAuthor      = "Author"
	TagPRNumber    = "PRNumber"
	TagTeam        = "Team"
	// TagManagedBy with ManagedByTapstack marks an environment as tapstack's own (config tags.managedBy).
	TagManagedBy      = "ManagedBy"
	ManagedByTapstack = "tapstack"
	// TagProfile records the profile an environment was deployed with (written with ManagedBy).
	TagProfile = "tapstack:profile"
	// TagExpiresAt records the expiry, RFC 3339 in UTC: the first deploy with a ttl sets it, later ones keep it.
	TagExpiresAt = "tapstack:expires-at"
	// TagEphemeral = "true" marks an environment meant to go away (written with a ttl); gc --older-than reaps only
	// those and environments with an expiry.
	TagEphemeral = "tapstack:ephemeral"
	// TagProtect = "true" keeps an environment from gc (config protect).
	TagProtect = "tapstack:protect"
)

// TagTrue is the value of the boolean tags.
const TagTrue = "true"

func defaultTags(cfg *config.Config, expiresAt string) map[string]string {
	t := map[string]string{
		TagEnvironment: cfg.EnvironmentSuffix,
		TagRepository:  cfg.Tags.Repository,
		TagAuthor:      cfg.Tags.CommitAuthor,
		TagPRNumber:    cfg.Tags.PRNumber,
		TagTeam:        cfg.Tags.Team,
	}
	if cfg.Tags.ManagedBy != "" {
		t[TagManagedBy] = cfg.Tags.ManagedBy
		t[TagProfile] = cfg.Profile
	}
	if expiresAt != "" {
		t[TagExpiresAt] = expiresAt
		t[TagEphemeral] = TagTrue
	}
	if cfg.Protect {
		t[TagProtect] = TagTrue
	}
	for k, v := range cfg.Tags.Default {
		t[k] = v
	}
	return t
}

// expiry decides the expiry tag's value: none without a ttl; the one the state records when there is one (it is
// recorded once, so that no plan changes it); else opts.Now plus the ttl, to the second, in UTC. Without a Now
// (the caller gave no clock) or with a ttl the rules refuse, none. The note says a recorded expiry was kept.
func expiry(cfg *config.Config, opts Options) (value, note string) {
	if cfg.TTL == "" {
		return "", ""
	}
	if opts.Existing != nil && opts.Existing.ExpiresAt != "" {
		return opts.Existing.ExpiresAt, fmt.Sprintf("kept expiry %s, which the state records: the ttl (%s) counts from the first deploy; "+
			"remove the ttl to drop the expiry", opts.Existing.ExpiresAt, cfg.TTL)
	}
	d, err := config.ParseTTL(cfg.TTL)
	if err != nil || opts.Now.IsZero() {
		return "", ""
	}
	return opts.Now.UTC().Truncate(time.Second).Add(d).Format(time.RFC3339), ""
}

// ParseTagBool reads a boolean tag: only what strconv.ParseBool reads as true is true.
func ParseTagBool(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}
