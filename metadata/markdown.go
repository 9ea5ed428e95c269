package metadata

import (
	"fmt"
	"strings"
)

// MarkdownTable renders the parameter table for README.md: name, type, default, meaning.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| parameter | type | default | meaning |\n|---|---|---|---|\n")
	for _, p := range Params {
		def := "(empty)"
		if p.Default != "" {
			def = "`" + p.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", p.Name, p.Type, def, strings.ReplaceAll(p.Long, "|", `\|`))
	}
	return b.String()
}
