// Package legacyrepo reads the image repositories of the original pcocc
// (0.7, the Python tool) and records the squashfs that 'pcocc image
// rebuild' builds for their container images, so that users of the
// original can move over as the documentation describes (docs/migration.md).
//
// The format (the original's ObjectStore.py and Image.py):
//
//	REPO/.config           YAML {version: 2} (or 1)
//	REPO/data/XX/HEX       content-addressed blobs (sha256), mode 0444
//	REPO/meta/NAME@REV     version 2: one JSON record per image revision
//	REPO/meta/XX/HASH      version 1: YAML records, HASH = sha256("NAME\nREV")
//	REPO/.tmp/             work area (the original's 'repo gc' empties it)
//
// A record holds exactly name, revision, kind (ctr or vm), owner,
// timestamp, data_blobs, custom_meta and, optionally, description. A
// container image's custom_meta.oci_index is its OCI index.json, and
// data_blobs list every blob of its OCI layout; a VM image's data_blobs are
// a qcow2 chain, bottom first.
//
// pcocc changes such a repository in one way only: a rebuild stores the
// squashfs as one more blob, adds it to the record's data_blobs (so that the
// original's 'repo gc' keeps it and its 'image copy' copies it) and
// describes it under custom_meta.pcocc_squashfs, which the original ignores.
// The record keeps its keys, so the original tool still reads it.
//
// The package registers itself with internal/repo (repo.ForeignFormats):
// importing it is what makes pcocc read these repositories.
package legacyrepo
