package labreport

import (
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	for _, c := range []struct {
		values []float64
		p      float64
		want   float64
	}{
		{nil, 50, 0},
		{[]float64{}, 95, 0},
		{[]float64{7}, 0, 7},
		{[]float64{7}, 50, 7},
		{[]float64{7}, 100, 7},
		{[]float64{5, 1, 9, 2}, 0, 1},   // rank 0 is the smallest, not out of range
		{[]float64{5, 1, 9, 2}, 25, 1},  // nearest rank: ceil(0.25*4) = 1st
		{[]float64{5, 1, 9, 2}, 50, 2},  // 2nd of 4: no interpolation
		{[]float64{5, 1, 9, 2}, 51, 5},  // ceil(2.04) = 3rd
		{[]float64{5, 1, 9, 2}, 95, 9},  // ceil(3.8) = 4th
		{[]float64{5, 1, 9, 2}, 100, 9}, // the largest
		{[]float64{3, 1, 2}, 50, 2},
	} {
		if got := Percentile(c.values, c.p); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.values, c.p, got, c.want)
		}
	}
	values := []float64{5, 1, 9, 2}
	Percentile(values, 50)
	if !slices.Equal(values, []float64{5, 1, 9, 2}) {
		t.Errorf("Percentile sorted its argument: %v", values)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		values []float64
		want   float64
	}{
		{nil, 0},
		{[]float64{4.2}, 4.2},
		{[]float64{3, 1, 2}, 2},
		{[]float64{5, 1, 9, 2}, 3.5}, // even count: the mean of the two middle values
		{[]float64{1, 1}, 1},
	} {
		if got := Median(c.values); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.values, got, c.want)
		}
	}
	values := []float64{3, 1, 2}
	Median(values)
	if !slices.Equal(values, []float64{3, 1, 2}) {
		t.Errorf("Median sorted its argument: %v", values)
	}
}

func TestMedianRange(t *testing.T) {
	for _, c := range []struct {
		values []float64
		want   string
	}{
		{nil, "–"},
		{[]float64{7.126}, "7.13"},
		{[]float64{3, 1, 2}, "2 (1–3)"},
		{[]float64{5, 1, 9, 2}, "3.5 (1–9)"},
		{[]float64{0.1, 0, 0.1}, "0.1 (0–0.1)"},
	} {
		if got := MedianRange(c.values); got != c.want {
			t.Errorf("MedianRange(%v) = %q, want %q", c.values, got, c.want)
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{2: "2", 1.5: "1.5", 1.0 / 3: "0.33", 1234.5678: "1234.57", 0.004: "0", -0.256: "-0.26"} {
		if got := Num(v); got != want {
			t.Errorf("Num(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestSeconds(t *testing.T) {
	if got := Seconds(1234567 * time.Microsecond); got != 1.23 {
		t.Errorf("Seconds(1.234567 s) = %v, want 1.23", got)
	}
	if got := Seconds(0); got != 0 {
		t.Errorf("Seconds(0) = %v", got)
	}
}

func TestStatsString(t *testing.T) {
	for _, c := range []struct {
		s    Stats
		want string
	}{
		{Stats{}, "–"},
		{Stats{Manual: 2}, "manual"},
		{Stats{Values: []float64{4.5}}, "4.5"},
		{Stats{Values: []float64{4.5}, Manual: 1}, "4.5"}, // values win over manual records
		{Stats{Values: []float64{3, 1, 2}}, "2 (1–3, n=3)"},
		{Stats{Values: []float64{0.5, 0.25, 1, 0.75}}, "0.63 (0.25–1, n=4)"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%+v = %q, want %q", c.s, got, c.want)
		}
	}
}

func TestRatio(t *testing.T) {
	one, two := Stats{Values: []float64{1}}, Stats{Values: []float64{2, 1, 3}}
	for _, c := range []struct {
		a, b Stats
		want string
	}{
		{one, two, "0.50"},
		{two, one, "2.00"},
		{Stats{}, two, "–"},                           // a missing
		{one, Stats{}, "–"},                           // b missing
		{one, Stats{Manual: 3}, "–"},                  // manual only: no value
		{one, Stats{Values: []float64{0, 0, 5}}, "–"}, // b's median 0
		{Stats{Values: []float64{0}}, one, "0.00"},    // a's median 0 is a ratio
	} {
		if got := Ratio(c.a, c.b); got != c.want {
			t.Errorf("Ratio(%v, %v) = %q, want %q", c.a.Values, c.b.Values, got, c.want)
		}
	}
}
