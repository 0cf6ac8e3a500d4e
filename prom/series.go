package prom

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// A seriesOf[N] is a row seen as its series number len(N) (N is
// [i]struct{}): a prometheus.Metric whose pointer is the row's, so that
// sending a breaker's 17 series allocates nothing beyond its row (144
// bytes; a pointer and an index per series would take 408). The type
// carries the series number because an interface value can carry nothing
// else besides the pointer.
type seriesOf[N seriesNumber] row

// seriesNumber are the types that number a breaker's series: [i]struct{}
// for i in [0, numSeries).
type seriesNumber interface {
	[0]struct{} | [1]struct{} | [2]struct{} | [3]struct{} | [4]struct{} | [5]struct{} |
		[6]struct{} | [7]struct{} | [8]struct{} | [9]struct{} | [10]struct{} | [11]struct{} |
		[12]struct{} | [13]struct{} | [14]struct{} | [15]struct{} | [16]struct{}
}

// seriesMetric[i] returns row r as a prometheus.Metric of its series i.
var seriesMetric = [numSeries]func(r *row) prometheus.Metric{
	asSeries[[0]struct{}], asSeries[[1]struct{}], asSeries[[2]struct{}], asSeries[[3]struct{}],
	asSeries[[4]struct{}], asSeries[[5]struct{}], asSeries[[6]struct{}], asSeries[[7]struct{}],
	asSeries[[8]struct{}], asSeries[[9]struct{}], asSeries[[10]struct{}], asSeries[[11]struct{}],
	asSeries[[12]struct{}], asSeries[[13]struct{}], asSeries[[14]struct{}], asSeries[[15]struct{}],
	asSeries[[16]struct{}],
}

func asSeries[N seriesNumber](r *row) prometheus.Metric { return (*seriesOf[N])(r) }

// index returns the series number.
func (s *seriesOf[N]) index() int {
	var n N
	return len(n)
}

// Desc returns the descriptor of the series' family.
func (s *seriesOf[N]) Desc() *prometheus.Desc { return s.e.c.descs[seriesSpecs[s.index()].fam] }

// Write fills out with the series (row.write). Safe for concurrent use.
func (s *seriesOf[N]) Write(out *dto.Metric) error { return (*row)(s).write(s.index(), out) }
