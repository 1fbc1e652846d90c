package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/pcocc/pcocc/internal/legacyrepo"
	"github.com/pcocc/pcocc/internal/legacyrepo/legacytest"
)

// legacyCmds write and inspect repositories in the original pcocc's format
// (internal/legacyrepo), from the format alone: no copy of the original is
// needed. DIR is the repository, VERSION its format (1 or 2).
//
//	legacy-repo DIR VERSION            create an empty repository
//	legacy-ctr DIR VERSION NAME LAYOUT TAG
//	                                   store image TAG of the OCI layout as NAME@0
//	legacy-vm DIR VERSION NAME REVS    a VM image with REVS revisions (a qcow2 chain)
//	legacy-check DIR VERSION           every record passes the original's schema
//	                                   and its blobs exist; the original's repo gc
//	                                   would remove nothing
//	legacy-squashfs DIR VERSION NAME REV
//	                                   print the squashfs file a rebuild recorded
var legacyCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"legacy-repo": legacyCmd(2, func(ts *testscript.TestScript, r *legacytest.Repo, _ []string) {
		_, err := legacytest.Create(r.Dir, r.Version)
		ts.Check(err)
	}),
	"legacy-ctr": legacyCmd(5, func(ts *testscript.TestScript, r *legacytest.Repo, a []string) {
		ts.Check(r.AddOCIImage(a[2], ts.MkAbs(a[3]), a[4]))
	}),
	"legacy-vm": legacyCmd(4, func(ts *testscript.TestScript, r *legacytest.Repo, a []string) {
		n, err := strconv.Atoi(a[3])
		ts.Check(err)
		ts.Check(r.AddVM(a[2], n))
	}),
	"legacy-check": legacyCmd(2, legacyCheck),
	"legacy-squashfs": legacyCmd(4, func(ts *testscript.TestScript, r *legacytest.Repo, a []string) {
		rev, err := strconv.Atoi(a[3])
		ts.Check(err)
		raw, err := legacyrepo.ReadRaw(r.RecordPath(a[2], rev), r.Version)
		ts.Check(err)
		var cm struct {
			Squashfs struct{ Digest string } `json:"pcocc_squashfs"`
		}
		ts.Check(json.Unmarshal(raw["custom_meta"], &cm))
		h := strings.TrimPrefix(cm.Squashfs.Digest, "sha256:")
		if len(h) < 2 {
			ts.Fatalf("%s@%d: no squashfs recorded", a[2], rev)
		}
		ts.Stdout().Write([]byte(filepath.Join(r.Dir, "data", h[:2], h) + "\n"))
	}),
}

func legacyCmd(nargs int, f func(*testscript.TestScript, *legacytest.Repo, []string)) func(*testscript.TestScript, bool, []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg {
			ts.Fatalf("unsupported: ! legacy-*")
		}
		if len(args) != nargs {
			ts.Fatalf("usage: want %d arguments, got %d", nargs, len(args))
		}
		v, err := strconv.Atoi(args[1])
		ts.Check(err)
		f(ts, &legacytest.Repo{Dir: ts.MkAbs(args[0]), Version: v}, args)
	}
}

func legacyCheck(ts *testscript.TestScript, r *legacytest.Repo, _ []string) {
	cfg, err := os.ReadFile(filepath.Join(r.Dir, ".config"))
	ts.Check(err)
	if strings.TrimSpace(string(cfg)) != "version: "+strconv.Itoa(r.Version) {
		ts.Fatalf(".config changed: %q", cfg)
	}
	pattern := filepath.Join(r.Dir, "meta", "*")
	if r.Version < 2 {
		pattern = filepath.Join(r.Dir, "meta", "*", "*")
	}
	records, err := filepath.Glob(pattern)
	ts.Check(err)
	for _, p := range records {
		raw, err := legacyrepo.ReadRaw(p, r.Version)
		ts.Check(err)
		if err := legacyrepo.ValidateSchema(raw); err != nil {
			ts.Fatalf("%s: %v", p, err)
		}
		if err := originalSchema(raw); err != nil {
			ts.Fatalf("%s: %v", p, err)
		}
	}
	// A copy of the repository, so that the gc check changes nothing.
	cp := filepath.Join(ts.MkAbs("."), "gc-"+filepath.Base(r.Dir))
	os.RemoveAll(cp)
	ts.Check(os.CopyFS(cp, os.DirFS(r.Dir)))
	defer os.RemoveAll(cp)
	removed, err := (&legacytest.Repo{Dir: cp, Version: r.Version}).GC()
	ts.Check(err)
	if removed != 0 {
		ts.Fatalf("the original's repo gc would remove %d blobs", removed)
	}
	ts.Logf("%d records pass the original's schema", len(records))
}

// originalSchema checks a record against the original pcocc's
// metadata_schema (ObjectStore.py) written out again here, independently of
// the product's check: these keys and types, the first six required,
// additionalProperties false.
func originalSchema(raw map[string]json.RawMessage) error {
	isString := func(v any) bool { _, ok := v.(string); return ok }
	types := map[string]func(any) bool{
		"name": isString, "kind": isString, "owner": isString, "description": isString,
		"revision":    func(v any) bool { f, ok := v.(float64); return ok && f == float64(int64(f)) },
		"timestamp":   func(v any) bool { _, ok := v.(float64); return ok },
		"custom_meta": func(v any) bool { _, ok := v.(map[string]any); return ok },
		"data_blobs": func(v any) bool {
			l, ok := v.([]any)
			for _, x := range l {
				ok = ok && isString(x)
			}
			return ok
		},
	}
	for _, k := range []string{"name", "revision", "data_blobs", "kind", "owner", "timestamp"} {
		if _, ok := raw[k]; !ok {
			return fmt.Errorf("required key %q is missing", k)
		}
	}
	for k, v := range raw {
		check, ok := types[k]
		if !ok {
			return fmt.Errorf("key %q is not allowed (additionalProperties: false)", k)
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil || !check(x) {
			return fmt.Errorf("key %q has the wrong type: %s", k, v)
		}
	}
	return nil
}
