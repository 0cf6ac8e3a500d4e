package breaker

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// configsEqual compares two Configs field by field (Config holds a func,
// so == does not apply); IsFailure is compared by nil-ness.
func configsEqual(a, b Config) bool {
	a.IsFailure, b.IsFailure = nil, nil
	return reflect.DeepEqual(a, b)
}

func TestParseConfigSetInheritance(t *testing.T) {
	with := func(c Config, f func(*Config)) Config { f(&c); return c }
	cases := []struct {
		name     string
		json     string
		defaults Config
		breakers map[string]Config
	}{
		{
			name:     "empty object: DefaultConfig, no breakers",
			json:     `{}`,
			defaults: DefaultConfig(),
			breakers: map[string]Config{},
		},
		{
			name:     "null sections",
			json:     `{"defaults": null, "breakers": null}`,
			defaults: DefaultConfig(),
			breakers: map[string]Config{},
		},
		{
			name:     "a breaker with one field inherits the rest from DefaultConfig",
			json:     `{"breakers": {"payments": {"openTimeout": "5s"}}}`,
			defaults: DefaultConfig(),
			breakers: map[string]Config{"payments": with(DefaultConfig(), func(c *Config) { c.OpenTimeout = 5 * time.Second })},
		},
		{
			name: "defaults' own fields over their preset, inherited by breakers",
			json: `{"defaults": {"preset": "aggressive", "openTimeout": "20s"},
			        "breakers": {"a": {}, "b": {"failureRate": 0.3}}}`,
			defaults: with(AggressiveConfig(), func(c *Config) { c.OpenTimeout = 20 * time.Second }),
			breakers: map[string]Config{
				"a": with(AggressiveConfig(), func(c *Config) { c.OpenTimeout = 20 * time.Second }),
				"b": with(AggressiveConfig(), func(c *Config) { c.OpenTimeout = 20 * time.Second; c.FailureRate = 0.3 }),
			},
		},
		{
			name: "a breaker naming a preset starts from it, not from the defaults",
			json: `{"defaults": {"openTimeout": "1m"},
			        "breakers": {"search": {"preset": "lenient", "maxOpenTimeout": "3m"}}}`,
			defaults: with(DefaultConfig(), func(c *Config) { c.OpenTimeout = time.Minute }),
			breakers: map[string]Config{"search": with(LenientConfig(), func(c *Config) { c.MaxOpenTimeout = 3 * time.Minute })},
		},
		{
			name:     "preset default is DefaultConfig",
			json:     `{"defaults": {"preset": "lenient"}, "breakers": {"x": {"preset": "default"}}}`,
			defaults: LenientConfig(),
			breakers: map[string]Config{"x": DefaultConfig()},
		},
		{
			name:     "nested objects merge per field",
			json:     `{"breakers": {"p": {"window": {"size": 40}, "halfOpen": {"maxProbes": 1, "maxWait": "10s"}}}}`,
			defaults: DefaultConfig(),
			breakers: map[string]Config{"p": with(DefaultConfig(), func(c *Config) {
				c.Window.Size = 40
				c.HalfOpen.MaxProbes = 1
				c.HalfOpen.MaxWait = 10 * time.Second
			})},
		},
		{
			name:     "an explicit zero overrides",
			json:     `{"defaults": {"consecutiveFailures": 0, "halfOpen": {"maxWait": "0s"}}}`,
			defaults: with(DefaultConfig(), func(c *Config) { c.ConsecutiveFailures = 0; c.HalfOpen.MaxWait = 0 }),
			breakers: map[string]Config{},
		},
		{
			name:     "null inherits",
			json:     `{"defaults": {"failureRate": 0.4}, "breakers": {"p": {"failureRate": null, "window": null}}}`,
			defaults: with(DefaultConfig(), func(c *Config) { c.FailureRate = 0.4 }),
			breakers: map[string]Config{"p": with(DefaultConfig(), func(c *Config) { c.FailureRate = 0.4 })},
		},
		{
			name: "switching kinds and modes",
			json: `{"breakers": {"t": {"window": {"kind": "time", "duration": "1m", "buckets": 60},
			                           "halfOpen": {"mode": "by-rate", "minimumProbes": 4, "successRate": 0.75}}}}`,
			defaults: DefaultConfig(),
			breakers: map[string]Config{"t": with(DefaultConfig(), func(c *Config) {
				c.Window = Window{Kind: TimeBased, Size: 100, Duration: time.Minute, Buckets: 60}
				c.HalfOpen.Mode, c.HalfOpen.MinimumProbes, c.HalfOpen.SuccessRate = ByRate, 4, 0.75
			})},
		},
		{
			name:     "hostnames as names",
			json:     `{"breakers": {"api.example.com:443": {"callTimeout": "2s"}}}`,
			defaults: DefaultConfig(),
			breakers: map[string]Config{"api.example.com:443": with(DefaultConfig(), func(c *Config) { c.CallTimeout = 2 * time.Second })},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := ParseConfigSet([]byte(tc.json))
			if err != nil {
				t.Fatalf("ParseConfigSet: %v", err)
			}
			if !configsEqual(cs.Defaults, tc.defaults) {
				t.Errorf("Defaults = %+v\nwant       %+v", cs.Defaults, tc.defaults)
			}
			if len(cs.Breakers) != len(tc.breakers) {
				t.Errorf("Breakers has %d entries, want %d: %v", len(cs.Breakers), len(tc.breakers), cs.Breakers)
			}
			for name, want := range tc.breakers {
				if got, ok := cs.Breakers[name]; !ok || !configsEqual(got, want) {
					t.Errorf("Breakers[%q] = %+v (present %v)\nwant %+v", name, got, ok, want)
				}
				if got := cs.Config(name); !configsEqual(got, want) {
					t.Errorf("Config(%q) = %+v, want %+v", name, got, want)
				}
			}
			if got := cs.Config("not-named-anywhere"); !configsEqual(got, tc.defaults) {
				t.Errorf("Config of an unnamed breaker = %+v, want the defaults %+v", got, tc.defaults)
			}
		})
	}
}

// Each parsed configuration is a fresh value: changing one entry changes
// no other, and not the presets.
func TestParseConfigSetEntriesIndependent(t *testing.T) {
	cs, err := ParseConfigSet([]byte(`{"breakers": {"a": {}, "b": {}}}`))
	if err != nil {
		t.Fatal(err)
	}
	a := cs.Breakers["a"]
	a.FailureRate = 0.9
	if cs.Breakers["b"].FailureRate != DefaultConfig().FailureRate || cs.Defaults.FailureRate != DefaultConfig().FailureRate {
		t.Fatal("entries share state")
	}
}

func TestParseConfigSetErrors(t *testing.T) {
	cases := []struct {
		name string
		json string
		want []string // each must be one problem line, in this order
	}{
		{"not JSON", `{"defaults": `, []string{"(top level): not valid JSON"}},
		{"not an object", `[1, 2]`, []string{"(top level): must be a JSON object, got [1,2]"}},
		{"trailing data", `{} {}`, []string{"(top level): not valid JSON: invalid character '{' after top-level value"}},
		{"unknown top-level key", `{"default": {}}`, []string{`default: unknown key; did you mean "defaults"?`}},
		{"unknown key far from any", `{"zzz": 1}`, []string{"zzz: unknown key (known keys: defaults, breakers)"}},
		{
			"rate out of range",
			`{"breakers": {"payments": {"failureRate": 1.5}}}`,
			[]string{"breakers.payments.failureRate: must be in (0,1], got 1.5"},
		},
		{
			"misspelt nested key",
			`{"breakers": {"payments": {"halfOpen": {"maxProbe": 2}}}}`,
			[]string{`breakers.payments.halfOpen.maxProbe: unknown key; did you mean "maxProbes"?`},
		},
		{
			"nested key at the wrong level",
			`{"defaults": {"maxProbes": 2}}`,
			[]string{`defaults.maxProbes: unknown key; did you mean "halfOpen.maxProbes"?`},
		},
		{
			"case",
			`{"defaults": {"FailureRate": 0.5}}`,
			[]string{`defaults.FailureRate: unknown key; did you mean "failureRate"?`},
		},
		{
			"snake case",
			`{"defaults": {"open_timeout": "1s"}}`,
			[]string{`defaults.open_timeout: unknown key; did you mean "openTimeout"?`},
		},
		{
			"bad types",
			`{"defaults": {"minimumCalls": 2.5, "failureRate": "half", "openTimeout": 30,
			               "window": {"kind": "sliding"}, "halfOpen": {"mode": "lax"}}}`,
			[]string{
				"defaults.minimumCalls: must be an integer, got 2.5",
				`defaults.failureRate: must be a number, got "half"`,
				`defaults.openTimeout: must be a Go duration string such as "30s", got 30`,
				`defaults.window.kind: must be "count" or "time", got "sliding"`,
				`defaults.halfOpen.mode: must be "strict" or "by-rate", got "lax"`,
			},
		},
		{
			"bad duration string",
			`{"defaults": {"callTimeout": "5 seconds"}}`,
			[]string{`defaults.callTimeout: must be a Go duration string such as "30s", got "5 seconds" (time: unknown unit`},
		},
		{
			"bad preset",
			`{"breakers": {"p": {"preset": "strict"}}}`,
			[]string{`breakers.p.preset: must be "default", "aggressive" or "lenient", got "strict"`},
		},
		{
			"preset inside a nested object",
			`{"defaults": {"window": {"preset": "default"}}}`,
			[]string{"defaults.window.preset: unknown key"},
		},
		{
			"duplicate key",
			`{"breakers": {"p": {"failureRate": 0.5, "failureRate": 0.6}}}`,
			[]string{"breakers.p.failureRate: duplicate key"},
		},
		{
			"an entry that is not an object",
			`{"breakers": {"p": 3, "q": null}, "defaults": "aggressive"}`,
			[]string{"defaults: must be a JSON object, got \"aggressive\"", "breakers.p: must be a JSON object, got 3", "breakers.q: must be a JSON object, got null"},
		},
		{"empty name", `{"breakers": {"": {}}}`, []string{`breakers[""]: a breaker name must not be empty`}},
		{
			"a quoted name in the path",
			`{"breakers": {"api.example.com": {"callTimeout": "-1s"}}}`,
			[]string{`breakers["api.example.com"].callTimeout: must be ≥ 0 (0 means none), got -1s`},
		},
		{
			"a rule naming another field speaks JSON",
			`{"breakers": {"p": {"window": {"size": 10}, "minimumCalls": 20}}}`,
			[]string{"breakers.p.minimumCalls: must be ≤ window.size (10) for a count window"},
		},
		{
			"no trip condition",
			`{"defaults": {"consecutiveFailures": 0, "failureRate": 0}}`,
			[]string{"defaults: must enable at least one trip condition (consecutiveFailures > 0, failureRate > 0 or slowCallRate > 0), got none"},
		},
		{
			"a problem in the defaults is reported once, not per inheriting breaker",
			`{"defaults": {"backoffMultiplier": 0.5}, "breakers": {"a": {}, "b": {"backoffMultiplier": 0.25}, "c": {"preset": "lenient"}}}`,
			[]string{
				"defaults.backoffMultiplier: must be ≥ 1 and finite (1 means a constant open timeout), got 0.5",
				"breakers.b.backoffMultiplier: must be ≥ 1 and finite (1 means a constant open timeout), got 0.25",
			},
		},
		{
			"every problem at once, breakers in name order",
			`{"breakers": {"z": {"failureRate": 2}, "a": {"halfOpen": {"maxProbes": 0}}}, "defaults": {"bogus": 1}}`,
			[]string{
				"defaults.bogus: unknown key",
				"breakers.a.halfOpen.maxProbes: must be ≥ 1, got 0",
				"breakers.z.failureRate: must be in (0,1], got 2",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := ParseConfigSet([]byte(tc.json))
			if err == nil {
				t.Fatalf("ParseConfigSet succeeded: %+v", cs)
			}
			if cs.Breakers != nil || !configsEqual(cs.Defaults, Config{}) {
				t.Errorf("on error the ConfigSet is not the zero ConfigSet: %+v", cs)
			}
			var cse *ConfigSetError
			if !errors.As(err, &cse) {
				t.Fatalf("error %T is not a *ConfigSetError: %v", err, err)
			}
			if len(cse.Problems) != len(tc.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(cse.Problems), len(tc.want), err)
			}
			for i, w := range tc.want {
				if got := cse.Problems[i].Error(); !strings.HasPrefix(got, w) {
					t.Errorf("problem %d = %q\nwant prefix %q", i, got, w)
				}
				if !strings.Contains(err.Error(), "\n\t"+cse.Problems[i].Error()) {
					t.Errorf("Error() does not list problem %d on its own line:\n%v", i, err)
				}
			}
			if !strings.HasPrefix(err.Error(), "breaker: invalid config set: ") {
				t.Errorf("Error() = %q, want the breaker: prefix", err)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"maxProbes", "mode", "successThreshold", "minimumProbes", "successRate", "maxWait"}
	for key, want := range map[string]string{
		"maxProbe":        "maxProbes",
		"maxprobes":       "maxProbes",
		"successTreshold": "successThreshold",
		"sucessRate":      "successRate",
		"mod":             "mode",
		"maxwait":         "maxWait",
		"timeout":         "",
		"x":               "",
	} {
		if got := suggest(key, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}

// The README's example file parses to what it says.
func ExampleParseConfigSet() {
	cs, err := ParseConfigSet([]byte(`{
	  "defaults": {"preset": "default", "openTimeout": "10s"},
	  "breakers": {
	    "payments": {"preset": "aggressive", "halfOpen": {"maxProbes": 2}},
	    "search":   {"failureRate": 0.75}
	  }
	}`))
	if err != nil {
		panic(err)
	}
	p := cs.Config("payments")
	fmt.Println(p.OpenTimeout, p.FailureRate, p.HalfOpen.MaxProbes)
	s := cs.Config("search")
	fmt.Println(s.OpenTimeout, s.FailureRate)
	o := cs.Config("orders") // not named: the defaults
	fmt.Println(o.OpenTimeout, o.FailureRate)

	_, err = ParseConfigSet([]byte(`{"breakers": {"payments": {"failureRate": 1.5, "halfOpen": {"maxProbe": 1}}}}`))
	fmt.Println(err)
	// Output:
	// 1m0s 0.25 2
	// 10s 0.75
	// 10s 0.5
	// breaker: invalid config set: 2 problems:
	// 	breakers.payments.halfOpen.maxProbe: unknown key; did you mean "maxProbes"?
	// 	breakers.payments.failureRate: must be in (0,1], got 1.5
}
