package lifecycle

import (
	"fmt"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/versions"
)

// controlPlaneCost prices the control plane at the version an existing cluster keeps, when that differs from the
// configured one: a kept version past standard support is billed at the extended rate until upgrade moves it.
func controlPlaneCost(cfg *config.Config, kept string, day versions.Date) string {
	if kept == cfg.Cluster.KubernetesVersion {
		return ""
	}
	running := *cfg
	running.Cluster.KubernetesVersion = kept
	cost := rules.Estimate(&running, versions.Get(), day)
	if len(cost.Items) == 0 || !cost.Items[0].Priced {
		return ""
	}
	cp := cost.Items[0]
	return fmt.Sprintf("estimate: %s on Kubernetes %s, $%g/h, $%.2f a month (%s, source %s)",
		cp.Item, kept, cp.HourlyPrice, cp.MonthlyHigh, cp.PriceDate, cp.Source)
}
