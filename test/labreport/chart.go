package labreport

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// FailoverChart draws the failover timelines with gnuplot (if installed) next to the raw
// records: one bar per power cut, grey from the cut to Pacemaker's promote decision (corosync
// notices the loss, the scheduler decides: the same for every agent), coloured from the
// decision to the first write through the VIP (the agent's share). It returns the PNG's path,
// or "" when there is nothing to draw or no gnuplot.
func FailoverChart(records []map[string]any, agents []string, raw string) (string, error) {
	gnuplot, err := exec.LookPath("gnuplot")
	if err != nil {
		return "", nil
	}
	var data strings.Builder
	var ytics []string
	row := 0
	for i, agent := range agents {
		if i > 0 {
			data.WriteString("\n\n") // a new gnuplot data block (index) per agent
		}
		cut := 0
		for _, r := range records {
			total, ok1 := r["failover_s"].(float64)
			share, ok2 := r["agent_share_s"].(float64)
			if r["agent"] != agent || r["scenario"] != "failover" || !ok1 || !ok2 || share > total {
				continue
			}
			row++
			cut++
			fmt.Fprintf(&data, "%d %.2f %.2f\n", row, total-share, total)
			ytics = append(ytics, fmt.Sprintf("\"%s %d\" %d", agent, cut, row))
		}
		if cut == 0 {
			data.WriteString("0 0 0\n") // keep the block so index numbers match the agents
		}
	}
	if row == 0 {
		return "", nil
	}
	base := strings.TrimSuffix(raw, ".jsonl")
	png := base + "-failover.png"
	dataPath := base + "-failover.dat"
	if err := os.WriteFile(dataPath, []byte(data.String()), 0o644); err != nil {
		return "", err
	}
	defer os.Remove(dataPath)
	colours := []string{"#d95f02", "#7570b3", "#1b9e77"}
	var plots []string
	plots = append(plots, fmt.Sprintf("'%s' using 2:1:(0):2:($1-0.35):($1+0.35) with boxxyerror lc rgb '#bbbbbb' title 'cut -> promote decision (corosync, Pacemaker)'", dataPath))
	for i, agent := range agents {
		plots = append(plots, fmt.Sprintf("'%s' index %d using 3:1:2:3:($1-0.35):($1+0.35) with boxxyerror lc rgb '%s' title '%s: decision -> write through the VIP'",
			dataPath, i, colours[i%len(colours)], agent))
	}
	script := fmt.Sprintf(`set terminal pngcairo size 900,%d font "sans,9"
set output '%s'
set title "Power cut of the primary -> first write accepted through the VIP (%s)"
set xlabel "seconds after the power cut"
set yrange [0:%d] reverse
set ytics (%s)
set grid xtics
set key outside bottom center horizontal
set style fill solid 0.9 border -1
plot %s
`, 160+row*18, png, filepath.Base(base), row+1, strings.Join(ytics, ", "), strings.Join(plots, ", \\\n  "))
	cmd := exec.Command(gnuplot)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("gnuplot: %v: %s", err, out)
	}
	return png, nil
}
