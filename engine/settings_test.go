package engine_test

import (
	"math"
	"testing"
	"time"

	"github.com/breakerlabs/breaker/engine"
)

func TestOpenDuration(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name     string
		open     time.Duration
		mult     float64
		max      time.Duration
		attempts []int
		want     []time.Duration
	}{
		{"constant", s, 1, 10 * s, []int{0, 1, 5, 1000}, []time.Duration{s, s, s, s}},
		{"doubling grows then caps", s, 2, 10 * s,
			[]int{0, 1, 2, 3, 4, 5, 100, math.MaxInt32},
			[]time.Duration{s, 2 * s, 4 * s, 8 * s, 10 * s, 10 * s, 10 * s, 10 * s}},
		{"cap reached exactly", s, 2, 8 * s, []int{2, 3, 4}, []time.Duration{4 * s, 8 * s, 8 * s}},
		{"fractional multiplier", s, 1.5, time.Minute,
			[]int{0, 1, 2, 3},
			[]time.Duration{s, 1500 * time.Millisecond, 2250 * time.Millisecond, 3375 * time.Millisecond}},
		{"multiplier below 1 is constant", s, 0.5, 10 * s, []int{0, 1, 3}, []time.Duration{s, s, s}},
		{"cap below OpenTimeout is OpenTimeout", 5 * s, 2, s, []int{0, 1, 9}, []time.Duration{5 * s, 5 * s, 5 * s}},
		{"no cap set means no growth", 5 * s, 2, 0, []int{0, 3}, []time.Duration{5 * s, 5 * s}},
		{"cap at the largest Duration", s, 2, math.MaxInt64,
			[]int{33, 34, 64, 1 << 20},
			[]time.Duration{(1 << 33) * s, math.MaxInt64, math.MaxInt64, math.MaxInt64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := engine.Settings{OpenTimeout: tt.open, BackoffMultiplier: tt.mult, MaxOpenTimeout: tt.max}
			for i, a := range tt.attempts {
				if got := st.OpenDuration(a); got != tt.want[i] {
					t.Errorf("OpenDuration(%d) = %v, want %v", a, got, tt.want[i])
				}
			}
		})
	}
}

func TestBucketWidth(t *testing.T) {
	tests := []struct {
		name string
		w    engine.Window
		want time.Duration
	}{
		{"even split", engine.Window{Kind: engine.TimeBased, Duration: 10 * time.Second, Buckets: 5}, 2 * time.Second},
		{"rounds down", engine.Window{Kind: engine.TimeBased, Duration: 10 * time.Second, Buckets: 3}, 3333333333},
		{"one bucket", engine.Window{Kind: engine.TimeBased, Duration: time.Minute, Buckets: 1}, time.Minute},
		{"narrower than 1ns is 1ns", engine.Window{Kind: engine.TimeBased, Duration: 5, Buckets: 10}, 1},
		{"no buckets is one bucket", engine.Window{Kind: engine.TimeBased, Duration: time.Minute}, time.Minute},
		{"zero window is 1ns", engine.Window{Kind: engine.TimeBased}, 1},
		{"negative duration is 1ns", engine.Window{Kind: engine.TimeBased, Duration: -time.Second, Buckets: 4}, 1},
		{"negative duration, no buckets, is 1ns", engine.Window{Kind: engine.TimeBased, Duration: -time.Second}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.BucketWidth(); got != tt.want {
				t.Errorf("%+v.BucketWidth() = %d, want %d", tt.w, got, tt.want)
			}
		})
	}
}

func TestSlowAndTracksDuration(t *testing.T) {
	const limit = 100 * time.Millisecond
	tests := []struct {
		name   string
		s      engine.Settings
		d      time.Duration
		slow   bool
		tracks bool
	}{
		{"slow tracking off", engine.Settings{}, time.Hour, false, false},
		{"just under", engine.Settings{SlowCallDuration: limit}, limit - 1, false, true},
		{"exactly the limit is slow", engine.Settings{SlowCallDuration: limit}, limit, true, true},
		{"over", engine.Settings{SlowCallDuration: limit}, time.Hour, true, true},
		{"time window tracks durations", engine.Settings{Window: engine.Window{Kind: engine.TimeBased}}, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Slow(tt.d); got != tt.slow {
				t.Errorf("Slow(%v) = %v, want %v", tt.d, got, tt.slow)
			}
			if got := tt.s.TracksDuration(); got != tt.tracks {
				t.Errorf("TracksDuration() = %v, want %v", got, tt.tracks)
			}
		})
	}
}
