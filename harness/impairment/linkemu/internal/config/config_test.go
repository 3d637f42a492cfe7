package config

import (
	"errors"
	"math"
	"strings"
	"testing"

	"vpnbench/linkemu/internal/netem"
)

func TestHighProfileConverts(t *testing.T) {
	doc := `{"ports": [
	  {"interface": "l-lom", "egress": {"delay_us": 6000, "jitter_us": 15000,
	    "loss": {"model": "random", "probability": 0.025},
	    "reorder": {"probability": 0.05, "correlation": 0.5}, "limit_packets": 100000}},
	  {"interface": "l-yuki"}],
	 "seed": 42, "ready_file": "/tmp/r", "stats_file": "/tmp/s"}`
	cfg, err := Parse([]byte(doc), 7)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Ports[0].Params
	if p.LatencyNs != 6_000_000 || p.JitterNs != 15_000_000 {
		t.Errorf("delay %d jitter %d ns", p.LatencyNs, p.JitterNs)
	}
	if p.Loss.Model != netem.LossRandom || p.Loss.Probability != netem.Scale(0.025) {
		t.Errorf("loss %+v", p.Loss)
	}
	if p.Reorder != netem.Scale(0.05) || p.ReorderCorr != netem.Scale(0.5) || p.Gap != 1 {
		t.Errorf("reorder %d corr %d gap %d; reorder without gap must mean gap 1", p.Reorder, p.ReorderCorr, p.Gap)
	}
	if p.Limit != 100000 || p.Table != nil || !p.Impairs() {
		t.Errorf("limit %d table %v impairs %v", p.Limit, p.Table != nil, p.Impairs())
	}
	q := cfg.Ports[1]
	if q.Params.Impairs() || q.Params.Limit != 1000 {
		t.Errorf("port without egress must not impair and keep tc's limit 1000: %+v", q.Params)
	}
	if cfg.Ports[0].Seed != 42 || q.Seed != 43 || cfg.Seed != 42 {
		t.Errorf("seeds %d %d, want 42 43", cfg.Ports[0].Seed, q.Seed)
	}
}

func TestSeedFallbackAndPortOverride(t *testing.T) {
	cfg, err := Parse([]byte(`{"ports":[{"interface":"a"},{"interface":"b","seed":5}]}`), 100)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Seed != 100 || cfg.Ports[0].Seed != 100 || cfg.Ports[1].Seed != 5 {
		t.Fatalf("seeds %d/%d/%d", cfg.Seed, cfg.Ports[0].Seed, cfg.Ports[1].Seed)
	}
}

func TestLossModelDefaultsFollowTc(t *testing.T) {
	doc := `{"ports":[{"interface":"a","egress":{"loss":{"model":"state","p13":0.01}}},
	  {"interface":"b","egress":{"loss":{"model":"gemodel","p":0.01}}},
	  {"interface":"c","egress":{"loss":{"model":"gemodel","p":0.02,"r":0.5,"one_minus_h":0.8,"one_minus_k":0.001}}}]}`
	cfg, err := Parse([]byte(doc), 1)
	if err != nil {
		t.Fatal(err)
	}
	st := cfg.Ports[0].Params.Loss
	if st.Model != netem.LossState || st.P13 != netem.Scale(0.01) || st.P31 != netem.Scale(0.99) ||
		st.P32 != 0 || st.P23 != math.MaxUint32 || st.P14 != 0 {
		t.Errorf("state defaults %+v", st)
	}
	ge := cfg.Ports[1].Params.Loss
	if ge.Model != netem.LossGemodel || ge.R != netem.Scale(0.99) || ge.H != 0 || ge.K1 != 0 {
		t.Errorf("gemodel defaults %+v (1-h=100%% means h=0)", ge)
	}
	ge2 := cfg.Ports[2].Params.Loss
	if ge2.H != math.MaxUint32-netem.Scale(0.8) || ge2.K1 != netem.Scale(0.001) || ge2.R != netem.Scale(0.5) {
		t.Errorf("gemodel explicit %+v", ge2)
	}
	if !cfg.Ports[0].Params.Impairs() {
		t.Error("state loss must count as impairment")
	}
}

func TestDistributionAndRate(t *testing.T) {
	doc := `{"ports":[{"interface":"a","egress":{"delay_us":1000,"jitter_us":500,"distribution":"normal",
	  "rate_bps":100000000,"duplicate":{"probability":0.01},"corrupt":{"probability":0.02,"correlation":0.1}}},
	  {"interface":"b"}]}`
	cfg, err := Parse([]byte(doc), 1)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Ports[0].Params
	if len(p.Table) != netem.TableSize || p.RateBytesPS != 12_500_000 ||
		p.Duplicate != netem.Scale(0.01) || p.CorruptCorr != netem.Scale(0.1) {
		t.Fatalf("converted %+v", p)
	}
}

func TestBadInputNamesFieldAndChoices(t *testing.T) {
	cases := map[string]string{
		`{"ports":[{"interface":"a","egress":{"delay_us":-1}},{"interface":"b"}]}`:                                      "ports[0].egress.delay_us = -1",
		`{"ports":[{"interface":"a","egress":{"loss":{"model":"random","probability":1.5}}},{"interface":"b"}]}`:        "fraction from 0 to 1",
		`{"ports":[{"interface":"a","egress":{"delay_us":5,"jitter_us":1,"distribution":"cauchy"}},{"interface":"b"}]}`: "uniform, normal, pareto, paretonormal",
		`{"ports":[{"interface":"a","egress":{"jitter_us":1000}},{"interface":"b"}]}`:                                   "jitter needs a delay_us",
		`{"ports":[{"interface":"a","egress":{"reorder":{"probability":0.1}}},{"interface":"b"}]}`:                      "reordering needs a delay_us",
		`{"ports":[{"interface":"a","egress":{"loss":{"model":"bursty"}}},{"interface":"b"}]}`:                          "random, state, gemodel",
		`{"ports":[{"interface":"a","egress":{"loss":{"model":"random","p13":0.1}}},{"interface":"b"}]}`:                "belongs to loss model \"state\"",
		`{"ports":[{"interface":"a","egress":{"delays_us":5}},{"interface":"b"}]}`:                                      "unknown field \"delays_us\"",
		`{"ports":[{"interface":"a"}]}`:                   "at least 2",
		`{"ports":[{"interface":"a"},{"interface":"a"}]}`: "listed twice",
		`{"ports":[{"interface":"a","egress":{"delay_us":5,"reorder":{"probability":0.1,"gap":0}}},{"interface":"b"}]}`: "reorder.gap = 0",
		`{"ports":[{"interface":"a","egress":{"loss":{"model":"state","p13":0.6,"p14":0.6}}},{"interface":"b"}]}`:       "p13 + p14",
		`{"ports":[{"interface":"a","egress":{"delay_us":"5ms"}},{"interface":"b"}]}`:                                   "has a string where a float64",
	}
	for doc, want := range cases {
		_, err := Parse([]byte(doc), 1)
		var cerr *Error
		if !errors.As(err, &cerr) {
			t.Errorf("%s: error %v, want a configuration error", doc, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %q\nwant it to mention %q", doc, err.Error(), want)
		}
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	doc := `{"ports":[{"interface":"a","egress":{"delay_us":-1,"loss":{"model":"random","probability":2}}},{"interface":""}]}`
	_, err := Parse([]byte(doc), 1)
	var cerr *Error
	if !errors.As(err, &cerr) || len(cerr.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
}
