package runtime

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/pcocc/pcocc/internal/container"
)

// CurrentUser describes the calling user for the launch plan. pcocc is
// built without cgo (a static binary starts a millisecond sooner), so Go
// reads /etc/passwd and /etc/group itself; a user or group they do not list
// (LDAP, sssd) is asked of the name service through getent(1). A user that
// neither knows still runs: the name then comes from $USER, else "uid<N>",
// and the home from $HOME, else "/".
func CurrentUser() container.User {
	uid, gid := os.Getuid(), os.Getgid()
	u := container.User{UID: uid, GID: gid}
	u.Groups, _ = os.Getgroups()
	if pw, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		u.Name, u.Home = pw.Username, pw.HomeDir
	} else if f := getent("passwd", uid); len(f) >= 6 {
		u.Name, u.Home = f[0], f[5]
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
	} else if f := getent("group", gid); len(f) >= 1 && f[0] != "" {
		u.Group = f[0]
	}
	return u
}

// getent returns the fields of the name service's entry for id in db
// (passwd, group), or nil.
func getent(db string, id int) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "getent", db, strconv.Itoa(id)).Output()
	if err != nil {
		return nil
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.Split(line, ":")
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
