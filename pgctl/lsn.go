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
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%q is not an LSN", s)
	}
	return LSN(h<<32 | l), nil
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
