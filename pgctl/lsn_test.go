package pgctl

import (
	"testing"
)

// The shell agent's attribute form: each half left-padded to 8 hex digits, concatenated, upper case.
func TestLSNAttribute(t *testing.T) {
	for _, tc := range []struct {
		name, in, attr, str string
	}{
		{"small LSN from the reference", "0/3000060", "0000000003000060", "0/3000060"},
		{"both halves used", "16/B374D848", "00000016B374D848", "16/B374D848"},
		{"lower-case input comes out upper case", "16/b374d848", "00000016B374D848", "16/B374D848"},
		{"zero", "0/0", "0000000000000000", "0/0"},
		{"largest", "FFFFFFFF/FFFFFFFF", "FFFFFFFFFFFFFFFF", "FFFFFFFF/FFFFFFFF"},
		{"zero-padded input halves", "00000001/00000002", "0000000100000002", "1/2"},
		{"surrounding blanks from psql output", " 1/A \n", "000000010000000A", "1/A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseLSN(tc.in)
			if err != nil {
				t.Fatalf("ParseLSN(%q): %v", tc.in, err)
			}
			if got := l.Attribute(); got != tc.attr {
				t.Errorf("Attribute() = %q, want %q", got, tc.attr)
			}
			if got := l.String(); got != tc.str {
				t.Errorf("String() = %q, want %q", got, tc.str)
			}
			back, err := ParseAttributeLSN(l.Attribute())
			if err != nil || back != l {
				t.Errorf("ParseAttributeLSN(%q) = %v, %v; want %v", l.Attribute(), back, err, l)
			}
			again, err := ParseLSN(l.String())
			if err != nil || again != l {
				t.Errorf("ParseLSN(String()) = %v, %v; want %v", again, err, l)
			}
		})
	}
}

func TestParseLSNRejects(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty (NULL from SQL)", ""},
		{"no slash", "3000060"},
		{"missing low half", "0/"},
		{"missing high half", "/3000060"},
		{"not hex", "G/1"},
		{"high half wider than 32 bits", "100000000/0"},
		{"low half wider than 32 bits", "0/100000000"},
		{"two slashes", "0/1/2"},
		{"negative", "-1/0"},
		{"hex prefix", "0x1/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if l, err := ParseLSN(tc.in); err == nil {
				t.Errorf("ParseLSN(%q) = %v, want an error", tc.in, l)
			}
		})
	}
}

func TestParseAttributeLSNRejects(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"X/Y notation", "0/3000060"},
		{"too short", "3000060"},
		{"fifteen digits", "000000003000060"},
		{"seventeen digits", "00000000003000060"},
		{"not hex", "000000000300006G"},
		{"sign", "+000000003000060"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if l, err := ParseAttributeLSN(tc.in); err == nil {
				t.Errorf("ParseAttributeLSN(%q) = %v, want an error", tc.in, l)
			}
		})
	}
}

func TestParseAttributeLSNAcceptsLowerCaseAndBlanks(t *testing.T) {
	got, err := ParseAttributeLSN(" 00000016b374d848\n")
	if err != nil || got != LSN(0x16B374D848) {
		t.Errorf("ParseAttributeLSN = %v, %v; want 16/B374D848", got, err)
	}
}

// The agent compares xlog-loc attributes as strings (like the old agent's shell code), so
// string order of Attribute() must be numeric order, including where the plain X/Y strings
// would sort the wrong way.
func TestAttributeStringOrderIsLSNOrder(t *testing.T) {
	for _, tc := range []struct {
		name          string
		lower, higher string
	}{
		{"longer low half", "0/FFFFFF", "0/1000000"},
		{"high half decides", "9/FFFFFFFF", "A/0"},
		{"high half with more digits", "F/0", "10/0"},
		{"same high half", "16/B374D848", "16/B374D849"},
		{"zero versus anything", "0/0", "0/1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, err1 := ParseLSN(tc.lower)
			hi, err2 := ParseLSN(tc.higher)
			if err1 != nil || err2 != nil {
				t.Fatalf("parse: %v %v", err1, err2)
			}
			if !(lo < hi) {
				t.Fatalf("test data: %s is not below %s numerically", tc.lower, tc.higher)
			}
			if !(lo.Attribute() < hi.Attribute()) {
				t.Errorf("Attribute %q is not below %q as a string", lo.Attribute(), hi.Attribute())
			}
		})
	}
}
