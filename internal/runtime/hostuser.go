package runtime

import (
	"fmt"
	"os"
	"os/user"
	"strconv"

	"github.com/pcocc/pcocc/internal/container"
)

// CurrentUser describes the calling user for the launch plan. A user that
// the host's files do not list (a directory service pcocc cannot query
// without cgo) still runs: the name then comes from $USER, else "uid<N>",
// and the home from $HOME, else "/".
func CurrentUser() container.User {
	uid, gid := os.Getuid(), os.Getgid()
	u := container.User{UID: uid, GID: gid}
	u.Groups, _ = os.Getgroups()
	if pw, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		u.Name, u.Home = pw.Username, pw.HomeDir
	}
	if u.Name == "" {
		u.Name = firstNonEmpty(os.Getenv("USER"), fmt.Sprintf("uid%d", uid))
	}
	if u.Home == "" {
		u.Home = firstNonEmpty(os.Getenv("HOME"), "/")
	}
	u.Group = u.Name
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		u.Group = g.Name
	}
	return u
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
