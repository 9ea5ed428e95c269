package pgctl

import (
	"fmt"
	"strconv"
	"strings"
)

// LSN is a WAL position.
type LSN uint64

// ParseLSN reads PostgreSQL's "X/Y" notation (two hex numbers of up to 8 digits).
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(strings.TrimSpace(s), "/")
	h, okHi := parseLSNHalf(hi)
	l, okLo := parseLSNHalf(lo)
	if !ok || !okHi || !okLo {
		return 0, fmt.Errorf("%q is not an LSN", s)
	}
	return LSN(h<<32 | l), nil
}

// parseLSNHalf reads one half of "X/Y": 1 to 8 hex digits, as PostgreSQL's pg_lsn input
// accepts (more digits, even leading zeros, are an error there too; #11).
func parseLSNHalf(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 8 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 16, 32)
	return n, err == nil
}

func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

// Attribute is the LSN as the old agent published it in node attributes (xlog-loc,
// master-baseline): 16 upper-case hex digits, so string order is LSN order.
func (l LSN) Attribute() string { return fmt.Sprintf("%016X", uint64(l)) }

// ParseAttributeLSN reads the 16-hex-digit attribute form back.
func ParseAttributeLSN(s string) (LSN, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseUint(s, 16, 64)
	if err != nil || len(s) != 16 {
		return 0, fmt.Errorf("%q is not a 16-digit LSN attribute", s)
	}
	return LSN(n), nil
}
