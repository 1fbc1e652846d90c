//go:build !pcocc_launcher

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/pcocc/pcocc/internal/sqfsformat"
	"github.com/pcocc/pcocc/internal/sqfuse"
)

func init() {
	internalEntries[serveArg] = serveSentMain
	internalEntries[extractArg] = extractMain
}

func serveSentMain(args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(os.Stderr, "usage: %s NAME (fds 3, 4, 5: image, socket, log)\n", serveArg)
		return 2
	}
	image, sock, setupLog := os.NewFile(3, "image"), os.NewFile(4, "socket"), os.NewFile(5, "log")
	if err := (sqfuse.InProcess{}).ServeSent(image, args[0], sock, setupLog, os.Stderr); err != nil {
		return 1
	}
	return 0
}

func extractMain(args []string) int {
	var limit int64 = -1
	if len(args) == 1 {
		limit, _ = strconv.ParseInt(args[0], 10, 64)
	}
	if limit < 0 {
		fmt.Fprintf(os.Stderr, "usage: %s LIMIT (fds 3, 4: image, directory)\n", extractArg)
		return 2
	}
	// The launcher kills this process when its run is interrupted; a
	// signal sent to the whole group stops the unpack as well.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	err := sqfuse.InProcess{}.Extract(ctx, os.NewFile(3, "image"), 4, limit)
	if err == nil {
		return 0
	}
	fmt.Fprint(os.Stderr, err.Error())
	switch {
	case errors.Is(err, sqfsformat.ErrFormat):
		return extractFormat
	case errors.Is(err, sqfsformat.ErrLimit):
		return extractLimit
	}
	return 1
}
