package rules

import (
	"fmt"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/versions"
)

// CostItem is one line of the estimate. Low and High differ for spot capacity, which is shown as a range up to
// the on-demand price: no sourced spot figure exists.
type CostItem struct {
	Item        string  `json:"item"`
	Quantity    int     `json:"quantity"`
	HourlyPrice float64 `json:"hourlyPrice,omitempty"` // 0 for monthly-priced items
	MonthlyLow  float64 `json:"monthlyLow"`
	MonthlyHigh float64 `json:"monthlyHigh"`
	Priced      bool    `json:"priced"`
	// Source is a key of the version data's sources (tapstack versions lists them).
	Source    string `json:"source,omitempty"`
	PriceDate string `json:"priceDate,omitempty"`
	Note      string `json:"note,omitempty"`
}

// Cost is the monthly estimate of an environment.
type Cost struct {
	Currency      string     `json:"currency"`
	HoursPerMonth float64    `json:"hoursPerMonth"`
	Items         []CostItem `json:"items"`
	MonthlyLow    float64    `json:"monthlyLow"`
	MonthlyHigh   float64    `json:"monthlyHigh"`
	// Unpriced lists items left out of the totals because the data has no sourced price for them.
	Unpriced []string `json:"unpriced,omitempty"`
}

// Holding is what an environment holds, as far as its monthly cost goes: what a configuration asks for
// (HoldingOf) or what a state records (the fleet commands read it from the state objects).
type Holding struct {
	Region string
	// Cluster: there is a control plane, on KubernetesVersion.
	Cluster           bool
	KubernetesVersion string
	// AutoMode: EKS Auto Mode runs the nodes, sized by the workload.
	AutoMode    bool
	NodeGroups  []HeldNodeGroup
	NATGateways int
	KMSKeys     int
	// CloudWatchObservability: the amazon-cloudwatch-observability add-on runs (billed by use, so unpriced).
	CloudWatchObservability bool
}

// HeldNodeGroup is a managed node group, priced at its desired size as its first instance type.
type HeldNodeGroup struct {
	Name          string
	InstanceTypes []string
	DesiredSize   int
	Spot          bool
}

// HoldingOf is what a configuration asks an environment to hold.
func HoldingOf(c *config.Config) Holding {
	h := Holding{Region: c.Region, Cluster: true, KubernetesVersion: c.Cluster.KubernetesVersion,
		AutoMode: c.Cluster.Compute == config.ComputeAuto}
	if !h.AutoMode {
		h.NodeGroups = []HeldNodeGroup{
			{c.OnDemandGroupName(), c.NodeGroups.OnDemand.InstanceTypes, c.NodeGroups.OnDemand.DesiredSize, false},
			{c.SpotGroupName(), c.NodeGroups.Spot.InstanceTypes, c.NodeGroups.Spot.DesiredSize, true},
		}
	}
	if c.Network.Topology == config.TopologyPrivate {
		h.NATGateways = natCount(c)
	}
	if c.Cluster.SecretsEncryption || c.Cluster.LogEncryption {
		h.KMSKeys = 1
	}
	h.CloudWatchObservability = c.Addons.CloudWatchObservability && !h.AutoMode
	return h
}

// Estimate prices the environment at the node groups' desired sizes, on the given day's support status.
func Estimate(c *config.Config, d *versions.Data, day versions.Date) Cost {
	return EstimateHolding(HoldingOf(c), d, day)
}

// EstimateHolding prices what an environment holds from the dated, sourced prices of the version data; what has
// no sourced price is named in Unpriced and left out of the totals, never invented.
func EstimateHolding(h Holding, d *versions.Data, day versions.Date) Cost {
	p := d.Prices
	out := Cost{Currency: p.Currency, HoursPerMonth: p.HoursPerMonth}
	if h.Cluster {
		cp, label := p.ControlPlaneStandardHourly, "EKS control plane (standard support)"
		if d.StatusOn(h.KubernetesVersion, day) == versions.StatusExtended {
			cp, label = p.ControlPlaneExtendedHourly, "EKS control plane (extended support)"
		}
		out.add(CostItem{Item: label, Quantity: 1, HourlyPrice: cp.Value, MonthlyLow: cp.Value * p.HoursPerMonth,
			MonthlyHigh: cp.Value * p.HoursPerMonth, Priced: true, Source: cp.Source, PriceDate: cp.Date})
	}
	if h.AutoMode {
		// Auto Mode creates no node groups: its instances follow the workload, and it adds a management fee
		// per instance on top of EC2. Neither has a sourced figure here, so both are named, not invented.
		it := CostItem{Item: "EKS Auto Mode instances and management fee", Note: "sized by the workload; no sourced price"}
		out.Unpriced = append(out.Unpriced, it.Item)
		out.Items = append(out.Items, it)
	}
	for _, g := range h.NodeGroups {
		typ := ""
		if len(g.InstanceTypes) > 0 {
			typ = g.InstanceTypes[0]
		}
		capacity := "on-demand"
		if g.Spot {
			capacity = "spot"
		}
		it := CostItem{Item: fmt.Sprintf("%s: %d x %s %s", g.Name, g.DesiredSize, typ, capacity), Quantity: g.DesiredSize}
		price, ok := d.OnDemandPrice(h.Region, typ)
		if !ok {
			it.Note = fmt.Sprintf("no sourced price for %s in %s", typ, h.Region)
			out.Unpriced = append(out.Unpriced, it.Item)
			out.Items = append(out.Items, it)
			continue
		}
		it.Priced, it.HourlyPrice, it.Source, it.PriceDate = true, price.Value, price.Source, price.Date
		month := price.Value * p.HoursPerMonth * float64(g.DesiredSize)
		it.MonthlyLow, it.MonthlyHigh = month, month
		if g.Spot {
			it.MonthlyLow = 0
			it.Note = "spot: no sourced spot price; shown as a range up to the on-demand price"
		}
		if len(g.InstanceTypes) > 1 {
			it.Note += fmt.Sprintf("; priced as %s, the first listed type", typ)
		}
		out.add(it)
	}
	if n := h.NATGateways; n > 0 {
		it := CostItem{Item: fmt.Sprintf("%d NAT gateway(s), hourly charge", n), Quantity: n, Note: "data processing is billed per GB on top"}
		if price, ok := d.NATGatewayPrice(h.Region); ok {
			month := price.Value * p.HoursPerMonth * float64(n)
			it.Priced, it.HourlyPrice, it.Source, it.PriceDate, it.MonthlyLow, it.MonthlyHigh = true, price.Value, price.Source, price.Date, month, month
			out.add(it)
		} else {
			it.Note = fmt.Sprintf("no sourced NAT gateway price in %s", h.Region)
			out.Unpriced = append(out.Unpriced, it.Item)
			out.Items = append(out.Items, it)
		}
	}
	if h.CloudWatchObservability {
		// Billed by use (CloudWatch user guide, install-CloudWatch-Observability-EKS-addon): no figure follows from
		// the configuration, so it is named, never guessed.
		it := CostItem{Item: "amazon-cloudwatch-observability add-on", Source: "cloudwatch-observability-billing",
			Note: "Container Insights and Application Signals, billed by use: per observation, per GB of logs ingested and stored, per Application Signals request and SLO; it grows with pods and log volume"}
		out.Unpriced = append(out.Unpriced, it.Item)
		out.Items = append(out.Items, it)
	}
	if n := h.KMSKeys; n > 0 {
		k := p.KMSKeyMonthly
		item := "KMS key (secrets and log encryption)"
		if n > 1 {
			item = fmt.Sprintf("%d KMS keys", n)
		}
		out.add(CostItem{Item: item, Quantity: n, MonthlyLow: k.Value * float64(n), MonthlyHigh: k.Value * float64(n),
			Priced: true, Source: k.Source, PriceDate: k.Date, Note: "each yearly rotation adds $1 a month; requests beyond the free tier are extra"})
	}
	return out
}

func (c *Cost) add(it CostItem) {
	c.Items = append(c.Items, it)
	c.MonthlyLow += it.MonthlyLow
	c.MonthlyHigh += it.MonthlyHigh
}
