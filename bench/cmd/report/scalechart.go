package main

import (
	"bufio"
	"encoding/json"
	"image/color"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// scaleRow is the part of a bench/cmd/scale result line the chart reads.
type scaleRow struct {
	Impl            string  `json:"impl"`
	N               int     `json:"n"`
	BytesPerBreaker float64 `json:"bytesPerBreaker"`
}

// drawScaleChart plots the memory that N breakers take (MB, their
// container included) against N for each implementation in jsonl
// (results/scale.jsonl), log–log, with the 1.5 GB a million may take
// (ARCHITECTURE §7) as a dashed line. It reports false, writing nothing,
// if jsonl holds no results.
func drawScaleChart(jsonl, path string) (bool, error) {
	f, err := os.Open(jsonl)
	if err != nil {
		if os.IsNotExist(err) {
			return false, nil
		}
		return false, err
	}
	defer f.Close()
	series := map[string]plotter.XYs{}
	var order []string
	var maxN float64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r scaleRow
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.N <= 0 || r.BytesPerBreaker <= 0 {
			continue
		}
		if _, ok := series[r.Impl]; !ok {
			order = append(order, r.Impl)
		}
		series[r.Impl] = append(series[r.Impl], plotter.XY{X: float64(r.N), Y: r.BytesPerBreaker * float64(r.N) / 1e6})
		maxN = math.Max(maxN, float64(r.N))
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	if len(order) == 0 {
		return false, nil
	}
	p := plot.New()
	p.Title.Text = "Memory of N idle Closed breakers (container included)"
	p.X.Label.Text = "breakers"
	p.Y.Label.Text = "MB (lower is better)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = yTicks{}, yTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	for i, im := range order {
		line, points, err := plotter.NewLinePoints(series[im])
		if err != nil {
			return false, err
		}
		c := implColors[im]
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		if im == "actor" {
			line.Width = vg.Points(2.5)
		}
		points.Shape = plotutil.Shape(i)
		points.Radius = vg.Points(3)
		p.Add(line, points)
		p.Legend.Add(im, line, points)
	}
	target, err := plotter.NewLine(plotter.XYs{{X: 1e3, Y: 1500}, {X: math.Max(maxN, 1e6), Y: 1500}})
	if err != nil {
		return false, err
	}
	target.Color = color.Gray{Y: 120}
	target.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(target)
	p.Legend.Add("what 1,000,000 may take: 1500 MB", target)
	p.Y.Max = 1500 * 6 // room for the legend above the target
	return true, p.Save(9*vg.Inch, 5.5*vg.Inch, path)
}
