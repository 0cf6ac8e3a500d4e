package engine_test

import (
	"encoding"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/breakerlabs/breaker/engine"
)

// textCase is one named value of an enumeration and its text form.
type textCase struct {
	name string
	text string
	v    textValue
	bad  bool // the value is out of range: String still works, MarshalText fails
}

// textValue is what every enumeration of the package implements.
type textValue interface {
	String() string
	encoding.TextMarshaler
}

func TestEnumText(t *testing.T) {
	tests := []struct {
		kind  string
		cases []textCase
		fresh func() encoding.TextUnmarshaler // a zero value to decode into
		deref func(encoding.TextUnmarshaler) textValue
	}{
		{
			kind: "State",
			cases: []textCase{
				{"Closed", "closed", engine.Closed, false},
				{"Open", "open", engine.Open, false},
				{"HalfOpen", "half-open", engine.HalfOpen, false},
				{"ForcedOpen", "forced-open", engine.ForcedOpen, false},
				{"Disabled", "disabled", engine.Disabled, false},
				{"unknown", "State(5)", engine.State(5), true},
				{"max", "State(255)", engine.State(255), true},
			},
			fresh: func() encoding.TextUnmarshaler { return new(engine.State) },
			deref: func(u encoding.TextUnmarshaler) textValue { return *u.(*engine.State) },
		},
		{
			kind: "Reason",
			cases: []textCase{
				{"None", "none", engine.ReasonNone, false},
				{"ConsecutiveFailures", "consecutive-failures", engine.ReasonConsecutiveFailures, false},
				{"FailureRate", "failure-rate", engine.ReasonFailureRate, false},
				{"SlowCallRate", "slow-call-rate", engine.ReasonSlowCallRate, false},
				{"OpenTimeout", "open-timeout", engine.ReasonOpenTimeout, false},
				{"ProbesSucceeded", "probes-succeeded", engine.ReasonProbesSucceeded, false},
				{"ProbeFailed", "probe-failed", engine.ReasonProbeFailed, false},
				{"HalfOpenTimeout", "half-open-timeout", engine.ReasonHalfOpenTimeout, false},
				{"Manual", "manual", engine.ReasonManual, false},
				{"ProbeSlow", "probe-slow", engine.ReasonProbeSlow, false},
				{"Remote", "remote", engine.ReasonRemote, false},
				{"Reconfigured", "reconfigured", engine.ReasonReconfigured, false},
				{"unknown", "Reason(12)", engine.Reason(12), true},
			},
			fresh: func() encoding.TextUnmarshaler { return new(engine.Reason) },
			deref: func(u encoding.TextUnmarshaler) textValue { return *u.(*engine.Reason) },
		},
		{
			kind: "WindowKind",
			cases: []textCase{
				{"CountBased", "count", engine.CountBased, false},
				{"TimeBased", "time", engine.TimeBased, false},
				{"unknown", "WindowKind(2)", engine.WindowKind(2), true},
			},
			fresh: func() encoding.TextUnmarshaler { return new(engine.WindowKind) },
			deref: func(u encoding.TextUnmarshaler) textValue { return *u.(*engine.WindowKind) },
		},
		{
			kind: "HalfOpenMode",
			cases: []textCase{
				{"Strict", "strict", engine.Strict, false},
				{"ByRate", "by-rate", engine.ByRate, false},
				{"unknown", "HalfOpenMode(7)", engine.HalfOpenMode(7), true},
			},
			fresh: func() encoding.TextUnmarshaler { return new(engine.HalfOpenMode) },
			deref: func(u encoding.TextUnmarshaler) textValue { return *u.(*engine.HalfOpenMode) },
		},
	}
	for _, tt := range tests {
		for _, tc := range tt.cases {
			t.Run(tt.kind+"/"+tc.name, func(t *testing.T) {
				if got := tc.v.String(); got != tc.text {
					t.Errorf("String() = %q, want %q", got, tc.text)
				}
				b, err := tc.v.MarshalText()
				if tc.bad {
					if err == nil {
						t.Fatalf("MarshalText() = %q, want an error for an unknown value", b)
					}
					if !strings.Contains(err.Error(), tt.kind) {
						t.Errorf("MarshalText error %q does not name %s", err, tt.kind)
					}
					// Its String form is not a name: decoding it must fail.
					if err := tt.fresh().UnmarshalText([]byte(tc.text)); err == nil {
						t.Errorf("UnmarshalText(%q) succeeded, want an error", tc.text)
					}
					return
				}
				if err != nil {
					t.Fatalf("MarshalText() error: %v", err)
				}
				if string(b) != tc.text {
					t.Errorf("MarshalText() = %q, want %q", b, tc.text)
				}
				u := tt.fresh()
				if err := u.UnmarshalText(b); err != nil {
					t.Fatalf("UnmarshalText(%q) error: %v", b, err)
				}
				if got := tt.deref(u); got != tc.v {
					t.Errorf("UnmarshalText(%q) = %v, want %v", b, got, tc.v)
				}
			})
		}
		for _, in := range []string{"", "Closed ", "CLOSED", "bogus", "1"} {
			t.Run(tt.kind+"/reject "+strconv.Quote(in), func(t *testing.T) {
				err := tt.fresh().UnmarshalText([]byte(in))
				if err == nil {
					t.Fatalf("UnmarshalText(%q) succeeded, want an error", in)
				}
				if !strings.Contains(err.Error(), tt.kind) {
					t.Errorf("error %q does not name %s", err, tt.kind)
				}
			})
		}
	}
}

// TestEnumJSON checks that the enumerations travel through encoding/json
// as their names, as a configuration file or a metrics dump spells them.
func TestEnumJSON(t *testing.T) {
	type doc struct {
		State  engine.State        `json:"state"`
		Reason engine.Reason       `json:"reason"`
		Kind   engine.WindowKind   `json:"kind"`
		Mode   engine.HalfOpenMode `json:"mode"`
	}
	in := doc{
		State:  engine.HalfOpen,
		Reason: engine.ReasonSlowCallRate,
		Kind:   engine.TimeBased,
		Mode:   engine.ByRate,
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"state":"half-open","reason":"slow-call-rate","kind":"time","mode":"by-rate"}`
	if string(b) != want {
		t.Errorf("json.Marshal = %s\nwant            %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
	if err := json.Unmarshal([]byte(`{"state":"ajar"}`), &out); err == nil {
		t.Error(`json.Unmarshal of state "ajar" succeeded, want an error`)
	}
}

func TestStateAdmits(t *testing.T) {
	tests := []struct {
		s    engine.State
		want bool
	}{
		{engine.Closed, true},
		{engine.Open, false},
		{engine.HalfOpen, false},
		{engine.ForcedOpen, false},
		{engine.Disabled, true},
	}
	for _, tt := range tests {
		t.Run(tt.s.String(), func(t *testing.T) {
			if got := tt.s.Admits(); got != tt.want {
				t.Errorf("%v.Admits() = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}

func TestOutcomeString(t *testing.T) {
	tests := []struct {
		o    engine.Outcome
		want string
	}{
		{engine.Success, "success"},
		{engine.Failure, "failure"},
		{engine.Ignore, "ignore"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.o.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
