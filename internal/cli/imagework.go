package cli

// The launcher (launcher.go) links no squashfs reader: when a launch must
// serve its image with FUSE, or unpack it into the node's cache (its first
// run on the node), it starts the full program for that work with one of
// these hidden entries (images_child.go starts them, imagework_full.go
// runs them).
const (
	// serveArg NAME: serve the image (fd 3) on the /dev/fuse descriptor
	// that arrives on the socket (fd 4), reporting an image it cannot read
	// on fd 5 (sqfuse.ServeSent); NAME names the image in messages.
	serveArg = "__pcocc_serve_sent"
	// extractArg LIMIT: unpack the image (fd 3) into the empty directory
	// (fd 4), at most LIMIT bytes (unpack.Extractor); the exit status says
	// which error, the standard error what it is.
	extractArg = "__pcocc_extract"
)

// Exit statuses of extractArg for the errors unpack tells apart.
const (
	extractFormat = 3 // sqfsformat.ErrFormat
	extractLimit  = 4 // sqfsformat.ErrLimit
)
