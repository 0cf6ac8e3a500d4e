package prom

import (
	"bytes"
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestTextEscapingMatchesExpfmt: HELP texts, label values, names and
// values come out of the text format's pieces exactly as expfmt writes
// them for promhttp (names escaped as for a 0.0.4 scrape).
func TestTextEscapingMatchesExpfmt(t *testing.T) {
	for _, tc := range []struct {
		name, help, label string
		v                 float64
	}{
		{"plain", "help", "value", 0.5},
		{"my-app_x", `back\slash "quoted"` + "\nnew line", `back\slash "quoted"` + "\nnew line", 1e-5},
		{"9lives.ü", "\\n is not a newline", `\n`, 1e21},
		{"a:b", "", "\xff\uFFFD", math.Inf(-1)},
		{"x", "x", "", math.NaN()},
		{"x", "x", "", -1},
		{"x", "x", "", math.Copysign(0, -1)},
		{"x", "x", "", 123456789},
	} {
		mf := &dto.MetricFamily{
			Name: &tc.name, Help: &tc.help, Type: dto.MetricType_GAUGE.Enum(),
			Metric: []*dto.Metric{{
				Label: []*dto.LabelPair{{Name: new("k"), Value: &tc.label}},
				Gauge: &dto.Gauge{Value: &tc.v},
			}},
		}
		var want bytes.Buffer
		if _, err := expfmt.MetricFamilyToText(&want, model.EscapeMetricFamily(mf, model.UnderscoreEscaping)); err != nil {
			t.Fatal(err)
		}
		name := escapeName(tc.name)
		got := "# HELP " + name + " " + escapeHelp(tc.help) + "\n# TYPE " + name + " gauge\n" +
			name + `{k="` + escapeLabelValue(tc.label) + `"} ` + string(appendFloat(nil, tc.v)) + "\n"
		if got != want.String() {
			t.Errorf("%q:\n got %q\nwant %q", tc.name, got, want.String())
		}
	}
}
