// Package vmimage keeps VM images in pcocc's image repositories (package
// repo): qcow2 chains with revisions NAME@REV, as the original pcocc did.
//
// Every layer of a chain is a content-addressed blob of the repository
// (blobs/sha256/HEX). A layer's backing file is its parent's blob, named by
// the parent's bare HEX: a path relative to the layer, which resolves
// because all blobs sit in one directory. So a chain stays valid wherever
// the repository is mounted, and a copy to another repository (hard links,
// or copies of the same bytes) shares layers without rewriting them.
//
// A revision lists its whole chain (imagemeta.VMRevision.Layers). Deleting
// a revision drops only that entry: layers other revisions list stay, and
// the others go with the next clean (repo.Clean, 'pcocc image repo gc').
// Changes that read an image before writing it (a new revision, a
// deletion of one revision) hold the image's name lock (repo.LockName), so
// that concurrent saves each get their own revision.
//
// qemu-img does the format work (probe, conversion, overlays, rebase,
// export); it is run as the user, with the format always given so that
// it never probes a file pcocc has already classified.
package vmimage
