package breaker

// Config: presets, window constructors, Validate (every problem reported,
// no side effect, windows and probe limits no breaker can allocate
// refused), New and NewMutex refusing bad input with a clear error,
// IsFailure, and the JSON form. TestRegressionValidateBoundsAllocation
// guards against a configuration (a JSON file was enough) that made New
// panic or exhaust memory.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
)

func presets() map[string]func() Config {
	return map[string]func() Config{
		"Default":    DefaultConfig,
		"Aggressive": AggressiveConfig,
		"Lenient":    LenientConfig,
	}
}

func TestPresetsValidate(t *testing.T) {
	for name, preset := range presets() {
		if err := preset().Validate(); err != nil {
			t.Errorf("%sConfig().Validate() = %v", name, err)
		}
	}
}

func TestPresetsOrdering(t *testing.T) {
	d, a, l := DefaultConfig(), AggressiveConfig(), LenientConfig()
	// Aggressive trips earlier and stays open longer than Default.
	if !(a.FailureRate < d.FailureRate && a.MinimumCalls < d.MinimumCalls &&
		a.ConsecutiveFailures < d.ConsecutiveFailures && a.OpenTimeout > d.OpenTimeout &&
		a.MaxOpenTimeout > d.MaxOpenTimeout) {
		t.Errorf("AggressiveConfig is not more aggressive than DefaultConfig:\n%+v\n%+v", a, d)
	}
	// Lenient tolerates more and recovers sooner than Default.
	if !(l.FailureRate > d.FailureRate && l.MinimumCalls > d.MinimumCalls &&
		l.OpenTimeout < d.OpenTimeout && l.MaxOpenTimeout < d.MaxOpenTimeout) {
		t.Errorf("LenientConfig is not more lenient than DefaultConfig:\n%+v\n%+v", l, d)
	}
}

func TestPresetsAreFresh(t *testing.T) {
	a := DefaultConfig()
	a.FailureRate = 0.9
	a.HalfOpen.MaxProbes = 99
	if b := DefaultConfig(); b.FailureRate != 0.5 || b.HalfOpen.MaxProbes != 3 {
		t.Fatalf("DefaultConfig shares state between calls: %+v", b)
	}
}

func TestWindowConstructors(t *testing.T) {
	if got, want := CountWindow(7), (Window{Kind: CountBased, Size: 7}); got != want {
		t.Errorf("CountWindow(7) = %+v, want %+v", got, want)
	}
	if got, want := TimeWindow(time.Minute, 6), (Window{Kind: TimeBased, Duration: time.Minute, Buckets: 6}); got != want {
		t.Errorf("TimeWindow(1m, 6) = %+v, want %+v", got, want)
	}
}

func TestValidateInvalid(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name  string
		mod   func(*Config)
		want  string // substring: the field path, at least
		lines int    // number of joined errors; 0 means 1
	}{
		{"failure rate above 1", func(c *Config) { c.FailureRate = 1.5 }, "breaker: Config.FailureRate must be in (0,1], got 1.5", 0},
		{"failure rate negative", func(c *Config) { c.FailureRate = -0.1 }, "Config.FailureRate must be in (0,1], got -0.1", 0},
		{"failure rate NaN", func(c *Config) { c.FailureRate = nan }, "Config.FailureRate must be in (0,1], got NaN", 0},
		{"slow-call rate above 1", func(c *Config) { c.SlowCallDuration = time.Second; c.SlowCallRate = 2 }, "Config.SlowCallRate must be in (0,1], got 2", 0},
		{"slow-call rate without duration", func(c *Config) { c.SlowCallRate = 0.5 }, "Config.SlowCallDuration must be > 0 when Config.SlowCallRate is enabled, got 0s", 0},
		{"slow-call duration negative", func(c *Config) { c.SlowCallDuration = -time.Second }, "Config.SlowCallDuration must be ≥ 0", 0},
		{"consecutive failures negative", func(c *Config) { c.ConsecutiveFailures = -1 }, "Config.ConsecutiveFailures must be ≥ 0", 0},
		{"no trip condition", func(c *Config) { c.ConsecutiveFailures, c.FailureRate = 0, 0 }, "at least one trip condition", 0},
		{"count window size 0", func(c *Config) { c.Window = CountWindow(0) }, "breaker: Config.Window.Size must be ≥ 1, got 0", 0},
		{"count window size negative", func(c *Config) { c.Window = CountWindow(-5) }, "Config.Window.Size must be ≥ 1, got -5", 0},
		{"unknown window kind", func(c *Config) { c.Window.Kind = 7 }, "Config.Window.Kind must be CountBased or TimeBased, got WindowKind(7)", 0},
		{"time window duration 0", func(c *Config) { c.Window = TimeWindow(0, 10) }, "Config.Window.Duration must be > 0, got 0s", 0},
		{"time window duration negative", func(c *Config) { c.Window = TimeWindow(-time.Second, 10) }, "Config.Window.Duration must be > 0, got -1s", 0},
		{"time window buckets 0", func(c *Config) { c.Window = TimeWindow(time.Minute, 0) }, "Config.Window.Buckets must be ≥ 1, got 0", 0},
		{"time window buckets under 1ns", func(c *Config) { c.Window = TimeWindow(5, 10) }, "Config.Window.Buckets must be ≤ Config.Window.Duration in nanoseconds (5)", 0},
		{"minimum calls 0 with a rate", func(c *Config) { c.MinimumCalls = 0 }, "Config.MinimumCalls must be ≥ 1 when a rate condition", 0},
		{"minimum calls negative", func(c *Config) { c.FailureRate = 0; c.MinimumCalls = -1 }, "Config.MinimumCalls must be ≥ 0, got -1", 0},
		{"minimum calls over window size", func(c *Config) { c.MinimumCalls = 101 }, "Config.MinimumCalls must be ≤ Config.Window.Size (100) for a count window, or the window never holds enough calls", 0},
		{"open timeout 0", func(c *Config) { c.OpenTimeout = 0 }, "Config.OpenTimeout must be > 0, got 0s", 0},
		{"open timeout negative", func(c *Config) { c.OpenTimeout = -time.Second }, "Config.OpenTimeout must be > 0, got -1s", 0},
		{"backoff under 1", func(c *Config) { c.BackoffMultiplier = 0.5 }, "Config.BackoffMultiplier must be ≥ 1", 0},
		{"backoff NaN", func(c *Config) { c.BackoffMultiplier = nan }, "Config.BackoffMultiplier must be ≥ 1 and finite (1 means a constant open timeout), got NaN", 0},
		{"backoff infinite", func(c *Config) { c.BackoffMultiplier = inf }, "Config.BackoffMultiplier must be ≥ 1 and finite (1 means a constant open timeout), got +Inf", 0},
		{"max open timeout below open timeout", func(c *Config) { c.MaxOpenTimeout = 10 * time.Second }, "Config.MaxOpenTimeout must be ≥ Config.OpenTimeout (30s), got 10s", 0},
		{"max probes 0", func(c *Config) { c.HalfOpen.MaxProbes = 0 }, "Config.HalfOpen.MaxProbes must be ≥ 1, got 0", 0},
		{"unknown half-open mode", func(c *Config) { c.HalfOpen.Mode = 9 }, "Config.HalfOpen.Mode must be Strict or ByRate, got HalfOpenMode(9)", 0},
		{"strict success threshold 0", func(c *Config) { c.HalfOpen.SuccessThreshold = 0 }, "Config.HalfOpen.SuccessThreshold must be ≥ 1 in Strict mode, got 0", 0},
		{"by-rate minimum probes 0", func(c *Config) { c.HalfOpen = byRate(); c.HalfOpen.MinimumProbes = 0 }, "Config.HalfOpen.MinimumProbes must be ≥ 1 in ByRate mode, got 0", 0},
		{"by-rate success rate 0", func(c *Config) { c.HalfOpen = byRate(); c.HalfOpen.SuccessRate = 0 }, "Config.HalfOpen.SuccessRate must be in (0,1] in ByRate mode, got 0", 0},
		{"by-rate success rate above 1", func(c *Config) { c.HalfOpen = byRate(); c.HalfOpen.SuccessRate = 1.1 }, "Config.HalfOpen.SuccessRate must be in (0,1] in ByRate mode, got 1.1", 0},
		{"by-rate success rate NaN", func(c *Config) { c.HalfOpen = byRate(); c.HalfOpen.SuccessRate = nan }, "Config.HalfOpen.SuccessRate", 0},
		{"max wait negative", func(c *Config) { c.HalfOpen.MaxWait = -time.Millisecond }, "Config.HalfOpen.MaxWait must be ≥ 0 (0 means no limit), got -1ms", 0},
		{"call timeout negative", func(c *Config) { c.CallTimeout = -time.Second }, "Config.CallTimeout must be ≥ 0 (0 means none), got -1s", 0},
		// A negative count is reported, and so is the absence of any
		// enabled trip condition it leaves.
		{"only a negative trip condition", func(c *Config) { c.FailureRate, c.ConsecutiveFailures = 0, -3 }, "Config.ConsecutiveFailures must be ≥ 0 (0 disables it), got -3", 2},
	}
	if len(tests) < 20 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want an error mentioning %q", tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("Validate() = %q\nwant it to contain %q", msg, tt.want)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() returned %T, want a *ConfigError", err)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("Validate() = %q: want one line", msg)
			}
			var lines []string
			for _, p := range ce.Problems {
				lines = append(lines, p.Error())
			}
			want := max(tt.lines, 1)
			if len(lines) != want {
				t.Errorf("Validate() reported %d problems, want %d:\n%s", len(lines), want, msg)
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, "breaker: Config") || !strings.Contains(l, ", got ") {
					t.Errorf("malformed message %q: want \"breaker: Config.<Field> must be ..., got <value>\"", l)
				}
			}
		})
	}
}

func byRate() HalfOpenPolicy {
	return HalfOpenPolicy{MaxProbes: 4, Mode: ByRate, MinimumProbes: 4, SuccessRate: 0.5}
}

func TestValidateValid(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"consecutive failures only, no minimum calls", func(c *Config) { c.FailureRate, c.MinimumCalls = 0, 0 }},
		{"slow-call rate only", func(c *Config) {
			c.ConsecutiveFailures, c.FailureRate = 0, 0
			c.SlowCallDuration, c.SlowCallRate = time.Second, 1
		}},
		{"slow-call tracking without a rate", func(c *Config) { c.SlowCallDuration = time.Second }},
		{"rates of exactly 1", func(c *Config) { c.FailureRate = 1; c.SlowCallDuration, c.SlowCallRate = time.Second, 1 }},
		{"minimum calls equal to window size", func(c *Config) { c.MinimumCalls = c.Window.Size }},
		{"minimum calls over a time window's anything", func(c *Config) { c.Window = TimeWindow(time.Minute, 60); c.MinimumCalls = 1000 }},
		{"time window of 1ns buckets", func(c *Config) { c.Window = TimeWindow(10, 10) }},
		{"count window ignores time fields", func(c *Config) { c.Window.Duration, c.Window.Buckets = -1, -1 }},
		{"time window ignores size", func(c *Config) { c.Window = TimeWindow(time.Second, 4); c.Window.Size = -1 }},
		{"constant open timeout", func(c *Config) { c.BackoffMultiplier = 1; c.MaxOpenTimeout = c.OpenTimeout }},
		{"strict ignores by-rate fields", func(c *Config) { c.HalfOpen.MinimumProbes, c.HalfOpen.SuccessRate = -1, 7 }},
		{"by-rate ignores strict fields", func(c *Config) { c.HalfOpen = byRate(); c.HalfOpen.SuccessThreshold = -1 }},
		{"no max wait", func(c *Config) { c.HalfOpen.MaxWait = 0 }},
		{"call timeout", func(c *Config) { c.CallTimeout = time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{
		Window:            TimeWindow(0, 0),
		FailureRate:       2,
		SlowCallRate:      0.5,
		OpenTimeout:       -time.Second,
		BackoffMultiplier: 0,
		HalfOpen:          HalfOpenPolicy{Mode: ByRate, SuccessRate: 0},
		CallTimeout:       -1,
	}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Validate() returned %T, want an errors.Join error", err)
	}
	fields := []string{
		"Config.FailureRate", "Config.SlowCallDuration", "Config.Window.Duration",
		"Config.Window.Buckets", "Config.MinimumCalls", "Config.OpenTimeout",
		"Config.BackoffMultiplier", "Config.HalfOpen.MaxProbes",
		"Config.HalfOpen.MinimumProbes", "Config.HalfOpen.SuccessRate", "Config.CallTimeout",
	}
	if got := len(joined.Unwrap()); got != len(fields) {
		t.Errorf("Validate() reported %d problems, want %d:\n%v", got, len(fields), err)
	}
	for _, f := range fields {
		if !strings.Contains(err.Error(), f+" must be") {
			t.Errorf("Validate() does not mention %s:\n%v", f, err)
		}
	}

	// The zero Config is invalid in many ways at once, too.
	var ce *ConfigError
	if err := (Config{}).Validate(); !errors.As(err, &ce) || len(ce.Problems) < 3 {
		t.Errorf("Config{}.Validate() = %v, want several problems", err)
	}
}

func TestValidateIsPure(t *testing.T) {
	c := DefaultConfig()
	c.FailureRate = 3
	before := c
	_ = c.Validate()
	_ = c.Validate()
	if !reflect.DeepEqual(c, before) {
		t.Errorf("Validate changed its receiver")
	}
}

func TestConfigSettings(t *testing.T) {
	c := AggressiveConfig()
	c.HalfOpen = byRate()
	c.Window = TimeWindow(time.Minute, 12)
	s := c.settings()
	sv, cv := reflect.ValueOf(s), reflect.ValueOf(c)
	for i := range sv.NumField() {
		name := sv.Type().Field(i).Name
		f := cv.FieldByName(name)
		if !f.IsValid() {
			t.Errorf("Config has no field %s of engine.Settings", name)
			continue
		}
		if !reflect.DeepEqual(f.Interface(), sv.Field(i).Interface()) {
			t.Errorf("settings().%s = %v, want %v", name, sv.Field(i), f)
		}
	}
}

func TestConfigIsFailure(t *testing.T) {
	boom := errors.New("boom")
	var c Config
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{boom, true},
		{context.DeadlineExceeded, true},
		{context.Canceled, false},
		{fmt.Errorf("call: %w", context.Canceled), false},
	} {
		if got := c.isFailure(tt.err); got != tt.want {
			t.Errorf("default isFailure(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}

	called := 0
	c.IsFailure = func(err error) bool { called++; return errors.Is(err, context.Canceled) }
	if c.isFailure(nil) {
		t.Error("isFailure(nil) = true with a custom IsFailure")
	}
	if called != 0 {
		t.Error("custom IsFailure called for a nil error")
	}
	if c.isFailure(boom) || !c.isFailure(context.Canceled) {
		t.Error("custom IsFailure not consulted")
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	cases := map[string]Config{}
	for name, preset := range presets() {
		cases[name] = preset()
	}
	timed := DefaultConfig()
	timed.Window = TimeWindow(90*time.Second, 9)
	timed.CallTimeout = 1500 * time.Millisecond
	timed.SlowCallDuration = 250 * time.Microsecond
	cases["time window"] = timed

	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			want.IsFailure = func(error) bool { return true } // never encoded
			b, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			s := string(b)
			for _, key := range []string{`"window":{"kind":"`, `"openTimeout":"` + want.OpenTimeout.String() + `"`,
				`"maxOpenTimeout":"`, `"maxWait":"` + want.HalfOpen.MaxWait.String() + `"`,
				`"duration":"` + want.Window.Duration.String() + `"`, `"callTimeout":"`, `"mode":"`} {
				if !strings.Contains(s, key) {
					t.Errorf("JSON lacks %s:\n%s", key, s)
				}
			}
			if strings.Contains(s, "IsFailure") || strings.Contains(s, "isFailure") {
				t.Errorf("JSON encodes IsFailure:\n%s", s)
			}

			var got Config
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", s, err)
			}
			want.IsFailure = nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}

			// Every field is encoded, so decoding over another Config
			// yields the same result.
			other := LenientConfig()
			if name == "Lenient" {
				other = AggressiveConfig()
			}
			if err := json.Unmarshal(b, &other); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(other, want) {
				t.Errorf("decoding over another config:\n got %+v\nwant %+v", other, want)
			}
		})
	}
}

func TestConfigJSONDurationStrings(t *testing.T) {
	b, err := json.Marshal(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"openTimeout":"30s"`, `"maxOpenTimeout":"5m0s"`, `"maxWait":"30s"`, `"callTimeout":"0s"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	// A pointer encodes the same way.
	pb, err := json.Marshal(new(DefaultConfig()))
	if err != nil || string(pb) != string(b) {
		t.Errorf("json.Marshal(*Config) = %s, %v; want %s", pb, err, b)
	}
}

func TestConfigJSONPartial(t *testing.T) {
	c := DefaultConfig()
	c.IsFailure = func(error) bool { return false }
	in := `{"failureRate":0.3,"openTimeout":"1m","window":{"size":40},"halfOpen":{"maxWait":null}}`
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.FailureRate = 0.3
	want.OpenTimeout = time.Minute
	want.Window.Size = 40
	if c.IsFailure == nil {
		t.Error("decoding cleared IsFailure")
	}
	c.IsFailure = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

func TestConfigJSONErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"unknown top-level field", `{"failureRate":0.5,"bogus":1}`, []string{"breaker: decoding Config", `"bogus"`}},
		{"unknown window field", `{"window":{"kind":"count","sise":10}}`, []string{`"sise"`}},
		{"unknown half-open field", `{"halfOpen":{"maxProbes":1,"probes":2}}`, []string{`"probes"`}},
		{"isFailure", `{"isFailure":true}`, []string{`"isFailure"`}},
		{"duration as number", `{"openTimeout":30000000000}`, []string{"Config.OpenTimeout", `"openTimeout"`, `Go duration string such as "30s", got 30000000000`}},
		{"nested duration as number", `{"window":{"kind":"time","duration":60,"buckets":6}}`, []string{"Config.Window.Duration", `"window.duration"`, "got 60"}},
		{"max wait as number", `{"halfOpen":{"maxWait":1}}`, []string{"Config.HalfOpen.MaxWait", `"halfOpen.maxWait"`}},
		{"bad duration string", `{"callTimeout":"30 parsecs"}`, []string{"Config.CallTimeout", `got "30 parsecs"`}},
		{"two bad durations", `{"callTimeout":true,"slowCallDuration":"x"}`, []string{"Config.CallTimeout", "Config.SlowCallDuration"}},
		{"wrong type", `{"minimumCalls":"many"}`, []string{"breaker: decoding Config", "minimumCalls"}},
		{"nested wrong type", `{"halfOpen":{"maxProbes":1.5}}`, []string{"halfOpen.maxProbes"}},
		{"unknown window kind", `{"window":{"kind":"sliding"}}`, []string{"WindowKind", "sliding"}},
		{"unknown half-open mode", `{"halfOpen":{"mode":"lax"}}`, []string{"breaker: decoding Config: unknown HalfOpenMode", "lax"}},
		{"window kind as number", `{"window":{"kind":1}}`, []string{`JSON field "window.kind" must be "count" or "time", got a JSON number`}},
		{"rate as string", `{"failureRate":"half"}`, []string{`JSON field "failureRate" must be a number, got a JSON string`}},
		{"not an object", `[1,2]`, []string{"breaker: decoding Config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			err := json.Unmarshal([]byte(tt.in), &c)
			if err == nil {
				t.Fatalf("Unmarshal(%s) = nil, want an error", tt.in)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Unmarshal(%s) = %q\nwant it to contain %q", tt.in, err, w)
				}
			}
			if !reflect.DeepEqual(c, DefaultConfig()) {
				t.Errorf("a failed Unmarshal changed the Config: %+v", c)
			}
		})
	}

	// The decoder's own error stays reachable.
	var te *json.UnmarshalTypeError
	if err := json.Unmarshal([]byte(`{"minimumCalls":"x"}`), new(Config)); !errors.As(err, &te) {
		t.Errorf("type error %v does not wrap *json.UnmarshalTypeError", err)
	}

	// Trailing data handed straight to UnmarshalJSON.
	var c Config
	if err := c.UnmarshalJSON([]byte(`{} {}`)); err == nil {
		t.Error("UnmarshalJSON accepted trailing data")
	}
	// NaN cannot be encoded.
	c = DefaultConfig()
	c.FailureRate = math.NaN()
	if _, err := json.Marshal(c); err == nil {
		t.Error("Marshal accepted a NaN rate")
	}
}

func ExampleConfig_Validate() {
	cfg := DefaultConfig()
	cfg.FailureRate = 1.5
	cfg.Window = CountWindow(0)
	cfg.HalfOpen.MaxWait = -time.Second
	err := cfg.Validate()
	fmt.Println(err) // one line, fit for a log

	var ce *ConfigError // each problem on its own
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			fmt.Println("-", p)
		}
	}
	// Output:
	// breaker: Config.FailureRate must be in (0,1], got 1.5; Config.Window.Size must be ≥ 1, got 0; Config.HalfOpen.MaxWait must be ≥ 0 (0 means no limit), got -1s
	// - breaker: Config.FailureRate must be in (0,1], got 1.5
	// - breaker: Config.Window.Size must be ≥ 1, got 0
	// - breaker: Config.HalfOpen.MaxWait must be ≥ 0 (0 means no limit), got -1s
}

func ExampleDefaultConfig() {
	b, err := json.MarshalIndent(DefaultConfig(), "", "  ")
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))

	// Decoding over a preset overrides only the fields given.
	cfg := DefaultConfig()
	if err := json.Unmarshal([]byte(`{"failureRate": 0.25, "openTimeout": "1m"}`), &cfg); err != nil {
		panic(err)
	}
	fmt.Println(cfg.FailureRate, cfg.OpenTimeout, cfg.MaxOpenTimeout, cfg.Validate())
	// Output:
	// {
	//   "window": {
	//     "kind": "count",
	//     "size": 100,
	//     "duration": "0s",
	//     "buckets": 0
	//   },
	//   "minimumCalls": 20,
	//   "consecutiveFailures": 10,
	//   "failureRate": 0.5,
	//   "slowCallDuration": "0s",
	//   "slowCallRate": 0,
	//   "openTimeout": "30s",
	//   "backoffMultiplier": 2,
	//   "maxOpenTimeout": "5m0s",
	//   "halfOpen": {
	//     "maxProbes": 3,
	//     "mode": "strict",
	//     "successThreshold": 3,
	//     "minimumProbes": 0,
	//     "successRate": 0,
	//     "maxWait": "30s"
	//   },
	//   "callTimeout": "0s"
	// }
	// 0.25 1m0s 5m0s <nil>
}

func TestConformanceNewRejectsBadInput(t *testing.T) {
	bad := testConfig()
	bad.FailureRate = 1.5
	tests := []struct {
		name, breaker string
		cfg           Config
		want          string
	}{
		{"empty name", "", testConfig(), "name"},
		{"invalid config", "x", bad, "FailureRate"},
		{"no trip condition", "x", testConfig(func(c *Config) { c.ConsecutiveFailures = 0 }), "trip condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, err := im.new(tt.breaker, tt.cfg, WithClock(clock.NewMock()))
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error %v, want one mentioning %q", err, tt.want)
				}
				if c != nil {
					switch v := c.(type) {
					case *Breaker:
						if v != nil {
							t.Errorf("returned a breaker beside the error")
							v.Close()
						}
					case *MutexBreaker:
						if v != nil {
							t.Errorf("returned a breaker beside the error")
						}
					}
				}
			})
		})
	}
}

// TestRegressionValidateBoundsAllocation: Validate used to pass windows and
// probe limits no breaker can allocate, and New then panicked (makeslice)
// or the process died of out-of-memory; a JSON file was enough. Validate
// must refuse them, naming the field, and New must return that error.
func TestRegressionValidateBoundsAllocation(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"count window MaxInt", func(c *Config) { c.Window = CountWindow(math.MaxInt) }, "Config.Window.Size"},
		{"count window one past the bound", func(c *Config) { c.Window = CountWindow(maxWindowSize + 1) }, "Config.Window.Size"},
		{"time window 1<<45 buckets", func(c *Config) { c.Window = TimeWindow(1<<46, 1<<45) }, "Config.Window.Buckets"},
		{"MaxProbes MaxInt", func(c *Config) { c.HalfOpen.MaxProbes = math.MaxInt }, "Config.HalfOpen.MaxProbes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mod(&cfg)
			err := cfg.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate() = %v; want a *ConfigError naming %s", err, tt.field)
			}
			forEachImpl(t, func(t *testing.T, im impl) {
				if r := panicValue(func() { _, err = im.new("huge", cfg, WithClock(clock.NewMock())) }); r != nil {
					t.Fatalf("New panicked: %v", r)
				}
				if !errors.As(err, &ce) {
					t.Fatalf("New returned %v; want the *ConfigError", err)
				}
			})
		})
	}

	// The largest allowed values are usable.
	cfg := DefaultConfig()
	cfg.Window, cfg.HalfOpen.MaxProbes = CountWindow(maxWindowSize), maxProbes
	forEachImpl(t, func(t *testing.T, im impl) {
		c, _ := newMocked(t, im, cfg)
		p, err := c.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.Success()
	})

	// A JSON file naming a terabyte window decodes, and is refused.
	dec := DefaultConfig()
	if err := json.Unmarshal([]byte(`{"window": {"kind": "count", "size": 1099511627776}}`), &dec); err != nil {
		t.Fatal(err)
	}
	if err := dec.Validate(); err == nil || !strings.Contains(err.Error(), "Config.Window.Size must be ≤ 1048576") {
		t.Fatalf("Validate() of a 1<<40 window = %v; want Config.Window.Size refused", err)
	}
}
