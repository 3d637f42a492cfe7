// Package config reads and validates the vpb-linkemu JSON configuration and
// converts each port's egress impairment into the netem model's units.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"vpnbench/linkemu/internal/netem"
)

// File is the JSON document passed with --config.
type File struct {
	Ports     []PortSpec `json:"ports"`
	Seed      *uint64    `json:"seed"`
	ReadyFile string     `json:"ready_file"`
	StatsFile string     `json:"stats_file"`
}

// PortSpec names one switch port and the impairment on its sender's egress.
type PortSpec struct {
	Interface string      `json:"interface"`
	Egress    *Impairment `json:"egress"`
	// Seed overrides the derived per-port seed (top-level seed + index).
	Seed *uint64 `json:"seed"`
}

// Impairment mirrors tc netem's options; absent fields impair nothing.
type Impairment struct {
	DelayUs          *float64  `json:"delay_us"`
	JitterUs         *float64  `json:"jitter_us"`
	DelayCorrelation *float64  `json:"delay_correlation"`
	Distribution     *string   `json:"distribution"`
	Loss             *Loss     `json:"loss"`
	Reorder          *Reorder  `json:"reorder"`
	Duplicate        *ProbCorr `json:"duplicate"`
	Corrupt          *ProbCorr `json:"corrupt"`
	RateBps          *float64  `json:"rate_bps"`
	LimitPackets     *float64  `json:"limit_packets"`
}

// Loss is one of three loss models, selected by Model.
type Loss struct {
	Model       string   `json:"model"`
	Probability *float64 `json:"probability"`
	Correlation *float64 `json:"correlation"`
	P13         *float64 `json:"p13"`
	P31         *float64 `json:"p31"`
	P32         *float64 `json:"p32"`
	P23         *float64 `json:"p23"`
	P14         *float64 `json:"p14"`
	P           *float64 `json:"p"`
	R           *float64 `json:"r"`
	OneMinusH   *float64 `json:"one_minus_h"`
	OneMinusK   *float64 `json:"one_minus_k"`
}

// Reorder is netem's "reorder P [corr] gap N".
type Reorder struct {
	Probability *float64 `json:"probability"`
	Correlation *float64 `json:"correlation"`
	Gap         *float64 `json:"gap"`
}

// ProbCorr is a probability with optional correlation.
type ProbCorr struct {
	Probability *float64 `json:"probability"`
	Correlation *float64 `json:"correlation"`
}

// Port is a validated port ready for the switch.
type Port struct {
	Interface string
	Seed      uint64
	Params    netem.Params
}

// Config is the validated configuration.
type Config struct {
	Ports     []Port
	Seed      uint64
	ReadyFile string
	StatsFile string
}

// LossModels lists the valid loss.model values.
var LossModels = []string{"random", "state", "gemodel"}

// maxInterfaceName is IFNAMSIZ minus the terminating NUL.
const maxInterfaceName = 15

// maxJitterUs keeps jitter within the int32 nanoseconds tabledist() takes.
const maxJitterUs = math.MaxInt32 / 1000

// Error collects every problem found, so one run reports them all.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

type checker struct{ problems []string }

func (c *checker) add(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// fraction checks an optional probability-like field.
func (c *checker) fraction(field string, v *float64) float64 {
	if v == nil {
		return 0
	}
	if math.IsNaN(*v) || *v < 0 || *v > 1 {
		c.add("%s = %v: must be a fraction from 0 to 1 (e.g. 0.025 for 2.5 %%)", field, *v)
		return 0
	}
	return *v
}

// Parse decodes and validates a configuration document. seedFallback is
// used when the document has no seed (the caller draws one at random).
func Parse(data []byte, seedFallback uint64) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, &Error{Problems: []string{"not a valid configuration document: " + describeJSONError(err)}}
	}
	if dec.More() {
		return nil, &Error{Problems: []string{"trailing data after the JSON object"}}
	}
	c := &checker{}
	cfg := &Config{ReadyFile: f.ReadyFile, StatsFile: f.StatsFile, Seed: seedFallback}
	if f.Seed != nil {
		cfg.Seed = *f.Seed
	}
	if len(f.Ports) < 2 {
		c.add("ports: %d given, a switch needs at least 2", len(f.Ports))
	}
	if len(f.Ports) > 64 {
		c.add("ports: %d given, at most 64 are supported", len(f.Ports))
	}
	seen := map[string]bool{}
	for i, ps := range f.Ports {
		prefix := fmt.Sprintf("ports[%d]", i)
		name := ps.Interface
		switch {
		case name == "":
			c.add("%s.interface: missing (the LAN-side interface name, e.g. \"l-lom\")", prefix)
		case len(name) > maxInterfaceName || strings.ContainsAny(name, "/ \t\n"):
			c.add("%s.interface = %q: not a valid interface name (at most 15 characters, no '/' or spaces)", prefix, name)
		case seen[name]:
			c.add("%s.interface = %q: listed twice", prefix, name)
		}
		seen[name] = true
		params := netem.Params{}
		if ps.Egress != nil {
			params = impairment(c, prefix+".egress", ps.Egress)
		}
		if params.Limit == 0 {
			params.Limit = netem.DefaultLimit
		}
		seed := cfg.Seed + uint64(i)
		if ps.Seed != nil {
			seed = *ps.Seed
		}
		cfg.Ports = append(cfg.Ports, Port{Interface: name, Seed: seed, Params: params})
	}
	if len(c.problems) > 0 {
		return nil, &Error{Problems: c.problems}
	}
	return cfg, nil
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("field %q has a %s where a %s is expected", typeErr.Field, typeErr.Value, typeErr.Type)
	}
	return err.Error()
}

// impairment validates one egress block and converts it to model units.
func impairment(c *checker, prefix string, im *Impairment) netem.Params {
	var p netem.Params
	delay, jitter := 0.0, 0.0
	if im.DelayUs != nil {
		delay = *im.DelayUs
		if math.IsNaN(delay) || delay < 0 || delay > 3.6e9 {
			c.add("%s.delay_us = %v: must be from 0 to 3.6e9 microseconds", prefix, delay)
			delay = 0
		}
	}
	if im.JitterUs != nil {
		jitter = *im.JitterUs
		if math.IsNaN(jitter) || jitter < 0 || jitter > maxJitterUs {
			c.add("%s.jitter_us = %v: must be from 0 to %d microseconds", prefix, jitter, maxJitterUs)
			jitter = 0
		}
		if jitter > 0 && delay == 0 {
			c.add("%s.jitter_us = %v: jitter needs a delay_us above 0", prefix, jitter)
		}
	}
	p.LatencyNs = int64(math.Round(delay * 1000))
	p.JitterNs = int32(math.Round(jitter * 1000))
	p.DelayCorr = netem.Scale(c.fraction(prefix+".delay_correlation", im.DelayCorrelation))

	if im.Distribution != nil {
		name := *im.Distribution
		table, err := netem.BuildTable(name)
		switch {
		case err != nil:
			c.add("%s.distribution = %q: must be one of %s", prefix, name, strings.Join(netem.Distributions, ", "))
		case table != nil && (delay == 0 || jitter == 0):
			c.add("%s.distribution = %q: a distribution needs both delay_us and jitter_us (as in tc)", prefix, name)
		}
		p.Table = table
	}

	if im.Loss != nil {
		p.Loss = loss(c, prefix+".loss", im.Loss)
	}

	if r := im.Reorder; r != nil {
		if r.Probability == nil {
			c.add("%s.reorder.probability: missing (a fraction from 0 to 1)", prefix)
		}
		if delay == 0 {
			c.add("%s.reorder: reordering needs a delay_us above 0 (as in tc: \"reordering not possible without specifying some delay\")", prefix)
		}
		p.Reorder = netem.Scale(c.fraction(prefix+".reorder.probability", r.Probability))
		p.ReorderCorr = netem.Scale(c.fraction(prefix+".reorder.correlation", r.Correlation))
		p.Gap = 1
		if r.Gap != nil {
			g := *r.Gap
			if g != math.Trunc(g) || g < 1 || g > math.MaxUint32 {
				c.add("%s.reorder.gap = %v: must be a whole number from 1 to %d", prefix, g, uint32(math.MaxUint32))
			} else {
				p.Gap = uint32(g)
			}
		}
	}

	if d := im.Duplicate; d != nil {
		p.Duplicate = netem.Scale(c.fraction(prefix+".duplicate.probability", d.Probability))
		p.DuplicateCorr = netem.Scale(c.fraction(prefix+".duplicate.correlation", d.Correlation))
	}
	if d := im.Corrupt; d != nil {
		p.Corrupt = netem.Scale(c.fraction(prefix+".corrupt.probability", d.Probability))
		p.CorruptCorr = netem.Scale(c.fraction(prefix+".corrupt.correlation", d.Correlation))
	}

	if im.RateBps != nil {
		r := *im.RateBps
		if math.IsNaN(r) || r != math.Trunc(r) || r < 8 || r > 1e15 {
			c.add("%s.rate_bps = %v: must be a whole number of bits per second from 8 to 1e15", prefix, r)
		} else {
			// tc hands the kernel bytes per second.
			p.RateBytesPS = uint64(r) / 8
		}
	}
	if im.LimitPackets != nil {
		l := *im.LimitPackets
		if math.IsNaN(l) || l != math.Trunc(l) || l < 1 || l > math.MaxUint32 {
			c.add("%s.limit_packets = %v: must be a whole number from 1 to %d", prefix, l, uint32(math.MaxUint32))
		} else {
			p.Limit = uint32(l)
		}
	}
	return p
}

// loss validates a loss block; fields of another model are rejected so a
// typo in the model name cannot silently drop parameters.
func loss(c *checker, prefix string, l *Loss) netem.LossParams {
	byModel := map[string][]lossField{
		"random":  {{"probability", l.Probability}, {"correlation", l.Correlation}},
		"state":   {{"p13", l.P13}, {"p31", l.P31}, {"p32", l.P32}, {"p23", l.P23}, {"p14", l.P14}},
		"gemodel": {{"p", l.P}, {"r", l.R}, {"one_minus_h", l.OneMinusH}, {"one_minus_k", l.OneMinusK}},
	}
	own, ok := byModel[l.Model]
	if !ok {
		c.add("%s.model = %q: must be one of %s", prefix, l.Model, strings.Join(LossModels, ", "))
		return netem.LossParams{}
	}
	for _, model := range LossModels {
		fields := byModel[model]
		if model == l.Model {
			continue
		}
		for _, f := range fields {
			if f.v != nil {
				c.add("%s.%s: belongs to loss model %q, not %q (allowed here: %s)", prefix, f.name, model, l.Model, names(own))
			}
		}
	}
	if own[0].v == nil {
		c.add("%s.%s: missing (required for loss model %q)", prefix, own[0].name, l.Model)
	}
	frac := func(name string, v *float64) float64 { return c.fraction(prefix+"."+name, v) }
	switch l.Model {
	case "state":
		p13 := frac("p13", l.P13)
		p31 := 1 - p13 // tc's defaults
		if l.P31 != nil {
			p31 = frac("p31", l.P31)
		}
		p32 := frac("p32", l.P32)
		p23 := 1.0
		if l.P23 != nil {
			p23 = frac("p23", l.P23)
		}
		p14 := frac("p14", l.P14)
		if p13+p14 > 1+1e-12 {
			c.add("%s: p13 + p14 = %v exceeds 1 (both leave the good state)", prefix, p13+p14)
		}
		if p31+p32 > 1+1e-12 {
			c.add("%s: p31 + p32 = %v exceeds 1 (both leave the burst-loss state)", prefix, p31+p32)
		}
		return netem.LossParams{Model: netem.LossState, P13: netem.Scale(p13), P31: netem.Scale(p31),
			P32: netem.Scale(p32), P23: netem.Scale(p23), P14: netem.Scale(p14)}
	case "gemodel":
		p := frac("p", l.P)
		r := 1 - p
		if l.R != nil {
			r = frac("r", l.R)
		}
		oneMinusH := 1.0
		if l.OneMinusH != nil {
			oneMinusH = frac("one_minus_h", l.OneMinusH)
		}
		oneMinusK := frac("one_minus_k", l.OneMinusK)
		return netem.LossParams{Model: netem.LossGemodel, P: netem.Scale(p), R: netem.Scale(r),
			H: math.MaxUint32 - netem.Scale(oneMinusH), K1: netem.Scale(oneMinusK)}
	default:
		return netem.LossParams{Model: netem.LossRandom, Probability: netem.Scale(frac("probability", l.Probability)),
			Correlation: netem.Scale(frac("correlation", l.Correlation))}
	}
}

// lossField is one optional parameter of a loss model.
type lossField struct {
	name string
	v    *float64
}

func names(fields []lossField) string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return strings.Join(out, ", ")
}
