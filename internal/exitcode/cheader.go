package exitcode

import (
	"fmt"
	"strings"
)

// CHeaderPath is the C header, relative to the repository root, that gives
// the SPANK plugin this table.
const CHeaderPath = "spank/pcocc_exit.h"

// CHeader is the text of CHeaderPath: one PCOCC_EXIT_NAME macro per code.
func CHeader() string {
	var b strings.Builder
	b.WriteString("/* Generated from internal/exitcode (go test ./internal/exitcode -update): do not edit. */\n")
	b.WriteString("#ifndef PCOCC_EXIT_H\n#define PCOCC_EXIT_H\n\n")
	for _, e := range Table {
		fmt.Fprintf(&b, "#define PCOCC_EXIT_%-9s %3d /* %s */\n", e.Name, e.Code, e.Doc)
	}
	b.WriteString("\n#endif\n")
	return b.String()
}
