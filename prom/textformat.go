package prom

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// contentType is the media type of the text exposition format 0.0.4.
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// An affix is the labels of one series in the text format around the
// name label's value: pre is `{` and the labels before it up to `name="`,
// post the closing `"` and the labels after it, without the closing `}`
// (a histogram's bucket adds le before it).
type affix struct{ pre, post string }

// A textFormat is everything of a Handler's output that does not depend
// on the breakers, rendered once from the families table and the options:
// the metric names, the HELP and TYPE lines, and every series' labels but
// the name label's value. Never modified once made.
type textFormat struct {
	order  []int                           // families sorted by name, as the registry sorts them
	name   [numFamilies]string             // metric names, escaped
	header [numFamilies]string             // "# HELP …\n# TYPE …\n"
	series [numSeries]affix                // by series number
	hist   [len(kinds)]affix               // by kind index
	trans  [len(states)][len(states)]affix // [from][to] by State
	le     []string                        // `,le="<bound>"} ` by bucket, then +Inf

	bucketName, sumName, countName string // the histogram's _bucket, _sum and _count
}

// newTextFormat renders the text format of the series set under o.
func newTextFormat(o options) *textFormat {
	t := &textFormat{}
	for f, fam := range families {
		t.order = append(t.order, f)
		t.name[f] = escapeName(fqName(o.namespace, f))
		typ := "gauge"
		switch fam.typ {
		case dto.MetricType_COUNTER:
			typ = "counter"
		case dto.MetricType_HISTOGRAM:
			typ = "histogram"
		}
		t.header[f] = "# HELP " + t.name[f] + " " + escapeHelp(fam.help) + "\n# TYPE " + t.name[f] + " " + typ + "\n"
	}
	h := t.name[famCallsSeconds]
	t.bucketName, t.sumName, t.countName = h+"_bucket", h+"_sum", h+"_count"
	slices.SortFunc(t.order, func(a, b int) int { return strings.Compare(fqName(o.namespace, a), fqName(o.namespace, b)) })

	consts := make([][2]string, 0, len(o.constLabels))
	for _, k := range slices.Sorted(maps.Keys(o.constLabels)) {
		consts = append(consts, [2]string{k, o.constLabels[k]})
	}
	for i, sp := range seriesSpecs {
		if sp.set == setName {
			t.series[i] = labelsAffix(consts)
		} else {
			t.series[i] = labelsAffix(consts, [2]string{families[sp.fam].labels[0], setValue(sp.set)})
		}
	}
	for k := range kinds {
		t.hist[k] = labelsAffix(consts, [2]string{labelKind, kinds[k]})
	}
	for from := range states {
		for to := range states {
			t.trans[from][to] = labelsAffix(consts,
				[2]string{labelFrom, states[from].String()}, [2]string{labelTo, states[to].String()})
		}
	}
	for _, b := range append(slices.Clone(bounds), math.Inf(1)) {
		t.le = append(t.le, `,le="`+string(appendFloat(nil, b))+`"} `)
	}
	return t
}

// labelsAffix returns the affix of the label set made of name, vars and
// consts (name–value pairs; consts sorted by name), sorted by label name
// as the registry sorts a series' labels, with names and values escaped.
func labelsAffix(consts [][2]string, vars ...[2]string) affix {
	ls := append(slices.Clone(consts), vars...)
	ls = append(ls, [2]string{labelName, ""})
	slices.SortFunc(ls, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	var (
		a   affix
		b   strings.Builder
		sep = "{"
	)
	for _, l := range ls {
		b.WriteString(sep)
		b.WriteString(escapeName(l[0]))
		b.WriteString(`="`)
		if l[0] == labelName {
			a.pre = b.String()
			b.Reset()
		} else {
			b.WriteString(escapeLabelValue(l[1]))
		}
		b.WriteByte('"')
		sep = ","
	}
	a.post = b.String()
	return a
}

// escapeLabelValue escapes a label value as the text format requires:
// backslash, double quote and line feed become \\, \" and \n. It returns
// v itself if there is nothing to escape.
func escapeLabelValue(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

// escapeHelp escapes a HELP text as the text format requires: backslash
// and line feed become \\ and \n.
func escapeHelp(v string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(v)
}

// escapeName returns a metric or label name that the text format 0.0.4
// can carry: the name itself if it is a legacy one ([a-zA-Z_:][a-zA-Z0-9_:]*),
// else the name with every other character replaced by an underscore.
// This is what client_golang's promhttp sends a scraper that has not
// asked for UTF-8 names (model.UnderscoreEscaping): a registry accepts
// UTF-8 names, e.g. a namespace with a dash.
func escapeName(n string) string {
	var b strings.Builder
	for i, r := range n {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == ':' || r >= '0' && r <= '9' && i > 0 {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// appendFloat appends v as the text format writes a value, exactly as
// client_golang's expfmt does: 1, 0, -1, NaN, +Inf, -Inf, else the
// shortest 'g' representation.
func appendFloat(dst []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(dst, '1')
	case v == 0:
		return append(dst, '0')
	case v == -1:
		return append(dst, "-1"...)
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, +1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}
