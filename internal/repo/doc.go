// Package repo keeps images on disk: one directory per repository, laid out as
//
//	REPO/
//	  pcocc-repo.json        marker: {"format": 1}
//	  .lock                  flock: shared while a command changes the repository,
//	                         exclusive while it is cleaned (gc)
//	  blobs/sha256/HEX       layer and config blobs, content-addressed, shared by images;
//	                         also the qcow2 layers of VM images, each backed by its
//	                         parent's bare HEX (see internal/vmimage)
//	  store/ID/              one immutable directory per imported image version:
//	    meta.json              config, origin, layers (imagemeta.Meta)
//	    rootfs.sqfs            the flattened root filesystem (container images;
//	                           a VM image lists its revisions in meta.json's "vm")
//	  images/NAME -> ../store/ID   the name of an image is a symlink
//	  locks/NAME.lock        flock serialising new revisions of a VM image
//	  tmp/ID/                work in progress of one command; tmp/ID/.lock is held
//	                         (flock) by its owner while it lives
//
// Publishing an image is a rename of its finished store directory and the
// atomic creation (or replacement, with rename(2)) of its name symlink, so a
// reader sees either the old image or the new one, never half of one. A
// command killed at any point leaves only a tmp/ID whose lock nobody holds,
// or an unreferenced store directory or blob: Clean removes those, and every
// command that changes a repository calls it when it can get the exclusive
// lock without waiting.
//
// A directory in another tool's format (the original pcocc's, see
// internal/legacyrepo) is opened through a Foreign, which Get, List,
// BlobPath and rebuild transactions defer to; that format's knowledge stays
// in its own package.
package repo
