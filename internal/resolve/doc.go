// Package resolve turns the names a user writes into what they name: an
// image of the configured repositories ([REPO:]NAME, searched in order, the
// user repository first), a template, or a transport reference that the
// caller resolves (the cache of sources). It holds the rules; cli wires its
// flags and messages to them.
//
// Its errors are classified with errors.Is and errors.As: an image that is
// not found is errors.Is(err, repo.ErrNotFound), a reference that cannot
// name an image is a *RefError (a usage error).
package resolve
