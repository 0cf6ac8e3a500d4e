package breaker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// This file holds Config's JSON encoding and decoding.

// configJSON is the JSON shape of a Config. Durations are raw JSON so that
// a malformed one can be reported with its field's name.
type configJSON struct {
	Window              windowJSON      `json:"window"`
	MinimumCalls        int             `json:"minimumCalls"`
	ConsecutiveFailures int             `json:"consecutiveFailures"`
	FailureRate         float64         `json:"failureRate"`
	SlowCallDuration    json.RawMessage `json:"slowCallDuration"`
	SlowCallRate        float64         `json:"slowCallRate"`
	OpenTimeout         json.RawMessage `json:"openTimeout"`
	BackoffMultiplier   float64         `json:"backoffMultiplier"`
	MaxOpenTimeout      json.RawMessage `json:"maxOpenTimeout"`
	HalfOpen            halfOpenJSON    `json:"halfOpen"`
	CallTimeout         json.RawMessage `json:"callTimeout"`
}

type windowJSON struct {
	Kind     WindowKind      `json:"kind"`
	Size     int             `json:"size"`
	Duration json.RawMessage `json:"duration"`
	Buckets  int             `json:"buckets"`
}

type halfOpenJSON struct {
	MaxProbes        int             `json:"maxProbes"`
	Mode             HalfOpenMode    `json:"mode"`
	SuccessThreshold int             `json:"successThreshold"`
	MinimumProbes    int             `json:"minimumProbes"`
	SuccessRate      float64         `json:"successRate"`
	MaxWait          json.RawMessage `json:"maxWait"`
}

// durationJSON encodes d as a JSON string such as "30s".
func durationJSON(d time.Duration) json.RawMessage {
	return json.RawMessage(strconv.Quote(d.String()))
}

// MarshalJSON encodes c as a JSON object with lowerCamelCase keys, every
// field present, durations (including Window.Duration and HalfOpen.MaxWait)
// as Go duration strings such as "30s", the window kind as "count" or
// "time" and the half-open mode as "strict" or "by-rate". IsFailure is not
// encoded. It fails if a rate or multiplier is NaN or infinite.
func (c Config) MarshalJSON() ([]byte, error) {
	j := configJSON{
		Window: windowJSON{
			Kind:     c.Window.Kind,
			Size:     c.Window.Size,
			Duration: durationJSON(c.Window.Duration),
			Buckets:  c.Window.Buckets,
		},
		MinimumCalls:        c.MinimumCalls,
		ConsecutiveFailures: c.ConsecutiveFailures,
		FailureRate:         c.FailureRate,
		SlowCallDuration:    durationJSON(c.SlowCallDuration),
		SlowCallRate:        c.SlowCallRate,
		OpenTimeout:         durationJSON(c.OpenTimeout),
		BackoffMultiplier:   c.BackoffMultiplier,
		MaxOpenTimeout:      durationJSON(c.MaxOpenTimeout),
		HalfOpen: halfOpenJSON{
			MaxProbes:        c.HalfOpen.MaxProbes,
			Mode:             c.HalfOpen.Mode,
			SuccessThreshold: c.HalfOpen.SuccessThreshold,
			MinimumProbes:    c.HalfOpen.MinimumProbes,
			SuccessRate:      c.HalfOpen.SuccessRate,
			MaxWait:          durationJSON(c.HalfOpen.MaxWait),
		},
		CallTimeout: durationJSON(c.CallTimeout),
	}
	b, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("breaker: encoding Config: %w", err)
	}
	return b, nil
}

// UnmarshalJSON decodes a Config encoded as MarshalJSON describes. As with
// any JSON decoding in Go, fields absent from the input (or null) keep
// their current value, so decoding into DefaultConfig() overrides only the
// fields given. Unknown fields, at any depth, are an error, and so is a
// duration that is not a Go duration string (a number, say): the error
// names the field. UnmarshalJSON does not validate; call Validate.
func (c *Config) UnmarshalJSON(b []byte) error {
	j := configJSON{
		Window: windowJSON{
			Kind:    c.Window.Kind,
			Size:    c.Window.Size,
			Buckets: c.Window.Buckets,
		},
		MinimumCalls:        c.MinimumCalls,
		ConsecutiveFailures: c.ConsecutiveFailures,
		FailureRate:         c.FailureRate,
		SlowCallRate:        c.SlowCallRate,
		BackoffMultiplier:   c.BackoffMultiplier,
		HalfOpen: halfOpenJSON{
			MaxProbes:        c.HalfOpen.MaxProbes,
			Mode:             c.HalfOpen.Mode,
			SuccessThreshold: c.HalfOpen.SuccessThreshold,
			MinimumProbes:    c.HalfOpen.MinimumProbes,
			SuccessRate:      c.HalfOpen.SuccessRate,
		},
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &decodeError{fmt.Sprintf("JSON field %q must be %s, got a JSON %s", te.Field, jsonWant(te.Type), te.Value), err}
		}
		// Errors of WindowKind and HalfOpenMode already say "breaker: ".
		return &decodeError{strings.TrimPrefix(err.Error(), "breaker: "), err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("breaker: decoding Config: unexpected data after the JSON object")
	}

	// Parse every duration before assigning any, so that a failed decode
	// leaves c unchanged.
	durations := []struct {
		raw   json.RawMessage
		field string // Go field path
		key   string // JSON key path
		dst   *time.Duration
	}{
		{j.Window.Duration, "Window.Duration", "window.duration", &c.Window.Duration},
		{j.SlowCallDuration, "SlowCallDuration", "slowCallDuration", &c.SlowCallDuration},
		{j.OpenTimeout, "OpenTimeout", "openTimeout", &c.OpenTimeout},
		{j.MaxOpenTimeout, "MaxOpenTimeout", "maxOpenTimeout", &c.MaxOpenTimeout},
		{j.HalfOpen.MaxWait, "HalfOpen.MaxWait", "halfOpen.maxWait", &c.HalfOpen.MaxWait},
		{j.CallTimeout, "CallTimeout", "callTimeout", &c.CallTimeout},
	}
	parsed := make([]time.Duration, len(durations))
	var errs []error
	for i, d := range durations {
		parsed[i] = *d.dst
		if len(d.raw) == 0 || string(d.raw) == "null" {
			continue
		}
		v, err := parseDurationJSON(d.raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("breaker: decoding Config: Config.%s (JSON %q) must be a Go duration string such as \"30s\", got %s%s",
				d.field, d.key, d.raw, err))
			continue
		}
		parsed[i] = v
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	c.Window.Kind, c.Window.Size, c.Window.Buckets = j.Window.Kind, j.Window.Size, j.Window.Buckets
	c.MinimumCalls = j.MinimumCalls
	c.ConsecutiveFailures = j.ConsecutiveFailures
	c.FailureRate = j.FailureRate
	c.SlowCallRate = j.SlowCallRate
	c.BackoffMultiplier = j.BackoffMultiplier
	c.HalfOpen.MaxProbes = j.HalfOpen.MaxProbes
	c.HalfOpen.Mode = j.HalfOpen.Mode
	c.HalfOpen.SuccessThreshold = j.HalfOpen.SuccessThreshold
	c.HalfOpen.MinimumProbes = j.HalfOpen.MinimumProbes
	c.HalfOpen.SuccessRate = j.HalfOpen.SuccessRate
	for i, d := range durations {
		*d.dst = parsed[i]
	}
	return nil
}

// decodeError is a failure to decode a Config: its message, prefixed
// with "breaker: decoding Config: ", wrapping the decoder's error.
type decodeError struct {
	msg string
	err error
}

func (e *decodeError) Error() string { return "breaker: decoding Config: " + e.msg }
func (e *decodeError) Unwrap() error { return e.err }

// jsonWant describes the JSON a field of type t takes.
func jsonWant(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[WindowKind]():
		return `"count" or "time"`
	case reflect.TypeFor[HalfOpenMode]():
		return `"strict" or "by-rate"`
	}
	switch t.Kind() {
	case reflect.Int:
		return "an integer"
	case reflect.Float64:
		return "a number"
	}
	return "a " + t.String()
}

// durationError explains why a JSON value is not a duration; its message
// is a suffix for the caller's "got <value>".
type durationError string

func (e durationError) Error() string { return string(e) }

// parseDurationJSON parses a JSON string holding a Go duration.
func parseDurationJSON(raw json.RawMessage) (time.Duration, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, durationError(" (not a string)")
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, durationError(" (" + err.Error() + ")")
	}
	return d, nil
}
