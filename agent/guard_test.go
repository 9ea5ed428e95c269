package agent

import (
	"strings"
	"testing"
	"time"
)

func TestMayFollow(t *testing.T) {
	pos := func(tli uint32, lsn uint64) Position { return Position{tli, lsn} }
	cases := []struct {
		name           string
		own, promotee  Position
		want           bool
		reasonMentions string
	}{
		{"potential standby ahead of the sync one it would follow",
			pos(3, 0x5000100), pos(3, 0x5000000), false, "0/5000100"},
		{"equal positions after the primary's power cut", pos(3, 0x5000000), pos(3, 0x5000000), true, "not ahead"},
		{"behind the promotee: catches up by streaming", pos(3, 0x4FFFF00), pos(3, 0x5000000), true, "not ahead"},
		{"on a newer timeline than the promotee", pos(4, 0x100), pos(3, 0x5000000), false, "tli 4"},
		{"#10 simulator: older (restartpoint) timeline but more WAL than the promotee",
			pos(2, 0x9000000), pos(3, 0x5000000), false, "0/9000000"},
		{"older timeline and behind: PostgreSQL follows the history", pos(2, 0x4000000), pos(3, 0x5000000), true, "not ahead"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, why := MayFollow(tc.own, tc.promotee)
			if got != tc.want || !strings.Contains(why, tc.reasonMentions) {
				t.Errorf("MayFollow(%v, %v) = %v, %q; want %v mentioning %q", tc.own, tc.promotee, got, why, tc.want, tc.reasonMentions)
			}
		})
	}
}

func TestPrePromotePositionRoundTrip(t *testing.T) {
	at := time.Unix(1795000000, 0)
	p := Position{Timeline: 7, LSN: 0x1_0000_00A8}
	text := formatPrePromote(p, at)
	if text != "7:00000001000000A8:1795000000" {
		t.Errorf("formatted as %q", text)
	}
	got, gotAt, err := parsePrePromote(text)
	if err != nil || got != p || !gotAt.Equal(at) {
		t.Errorf("parsed %q as %v at %v (%v)", text, got, gotAt, err)
	}
	for _, bad := range []string{"", "7:00000001000000A8", "x:00000001000000A8:1", "7:zz:1", "7:00000001000000A8:soon"} {
		if _, _, err := parsePrePromote(bad); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}
