package labreport

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Percentile is the nearest-rank percentile p (0 to 100) of values; 0 for no values.
func Percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// Median is the middle value, or the mean of the two middle values for an even count; 0 for
// no values.
func Median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Num prints at most two decimals (the lab's clocks are not finer than that anyway).
func Num(v float64) string { return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) }

// Seconds is d in seconds, rounded to two decimals, as the records hold durations.
func Seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*100) / 100
}

// MedianRange is "median (min–max)", the median alone for one value, or "–" without values.
func MedianRange(values []float64) string {
	switch len(values) {
	case 0:
		return "–"
	case 1:
		return Num(values[0])
	}
	return fmt.Sprintf("%s (%s–%s)", Num(Median(values)), Num(slices.Min(values)), Num(slices.Max(values)))
}

// Stats are one agent's values for one row of the bench table, and how many of its records
// needed a human step instead of giving a value.
type Stats struct {
	Values []float64
	Manual int
}

// String is "median (min–max, n=N)", the single value, "manual" when there are only manual
// records, or "–" when there is nothing.
func (s Stats) String() string {
	switch {
	case len(s.Values) == 0 && s.Manual > 0:
		return "manual"
	case len(s.Values) == 0:
		return "–"
	case len(s.Values) == 1:
		return Num(s.Values[0])
	}
	return fmt.Sprintf("%s (%s–%s, n=%d)", Num(Median(s.Values)), Num(slices.Min(s.Values)), Num(slices.Max(s.Values)), len(s.Values))
}

// Ratio is the ratio of the medians a/b with two decimals, or "–" when either has no values
// or b's median is 0.
func Ratio(a, b Stats) string {
	if len(a.Values) == 0 || len(b.Values) == 0 || Median(b.Values) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", Median(a.Values)/Median(b.Values))
}
