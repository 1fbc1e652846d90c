package cli

import "strings"

// Messages and hints throughout pcocc are written with the name "pcocc"
// ("see 'pcocc image list'", "(pcocc run IMAGE CMD)"). A user who called the
// program by another name (pcocc-rs, as the user documentation does) must be
// shown commands that work under that name: CalledAs rewrites the quoted
// commands of a message for the name the program was called by, where it
// is printed (error line, warnings, check's fixes), so that no domain
// package needs to know it.
func CalledAs(name, msg string) string {
	if name == "pcocc" || name == "" {
		return msg
	}
	for _, open := range []string{"'", "(", "`", "\""} {
		msg = strings.ReplaceAll(msg, open+"pcocc ", open+name+" ")
	}
	return msg
}
