package legacyrepo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// Record is one image revision's metadata as the original pcocc writes it.
// Raw keeps every key as read, so that a rewrite changes only what it means to.
type Record struct {
	Name       string
	Revision   int
	Kind       string // "ctr" or "vm"
	Owner      string
	Timestamp  float64
	DataBlobs  []string
	CustomMeta map[string]json.RawMessage
	Raw        map[string]json.RawMessage
}

// Kinds of image.
const (
	KindContainer = "ctr"
	KindVM        = "vm"
)

// schema is the original's metadata_schema: the keys and their JSON types.
var schema = map[string]string{
	"name": "a string", "revision": "an integer", "data_blobs": "an array of strings",
	"description": "a string", "kind": "a string", "owner": "a string",
	"timestamp": "a number", "custom_meta": "an object",
}

var required = []string{"name", "revision", "data_blobs", "kind", "owner", "timestamp"}

// ValidateSchema checks a record against the original's schema: the
// required keys, the type of each, and no other key (additionalProperties
// false). The original refuses a record that fails it.
func ValidateSchema(raw map[string]json.RawMessage) error {
	for _, k := range required {
		if _, ok := raw[k]; !ok {
			return fmt.Errorf("missing key %q", k)
		}
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		want, ok := schema[k]
		if !ok {
			return fmt.Errorf("unknown key %q", k)
		}
		if !hasType(raw[k], want) {
			return fmt.Errorf("key %q is not %s", k, want)
		}
	}
	return nil
}

func hasType(v json.RawMessage, want string) bool {
	v = bytes.TrimSpace(v)
	switch want {
	case "a string":
		var s string
		return json.Unmarshal(v, &s) == nil && v[0] == '"'
	case "an integer":
		var n json.Number
		if json.Unmarshal(v, &n) != nil {
			return false
		}
		f, err := n.Float64()
		return err == nil && f == float64(int64(f))
	case "a number":
		var n json.Number
		return json.Unmarshal(v, &n) == nil
	case "an object":
		return len(v) > 0 && v[0] == '{'
	case "an array of strings":
		var l []any // not []string, which would take null for ""
		if json.Unmarshal(v, &l) != nil || len(v) == 0 || v[0] != '[' {
			return false
		}
		for _, x := range l {
			if _, ok := x.(string); !ok {
				return false
			}
		}
		return true
	}
	return false
}

// ReadRaw reads the record at p (JSON for version 2, YAML for 1) as its
// keys and their JSON values.
func ReadRaw(p string, version int) (map[string]json.RawMessage, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return decodeRaw(data, version)
}

func decodeRaw(data []byte, version int) (map[string]json.RawMessage, error) {
	if version < 2 {
		var y any
		if err := yaml.Unmarshal(data, &y); err != nil {
			return nil, fmt.Errorf("bad YAML: %s", firstLine(err.Error()))
		}
		var err error
		if data, err = json.Marshal(y); err != nil {
			return nil, err
		}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("bad JSON: %v", err)
	}
	return raw, nil
}

// parseRecord decodes and checks a record.
func parseRecord(data []byte, version int) (*Record, error) {
	raw, err := decodeRaw(data, version)
	if err != nil {
		return nil, err
	}
	if err := ValidateSchema(raw); err != nil {
		return nil, err
	}
	rec := &Record{Raw: raw}
	var f float64
	for k, dst := range map[string]any{"name": &rec.Name, "revision": &f, "kind": &rec.Kind,
		"owner": &rec.Owner, "timestamp": &rec.Timestamp, "data_blobs": &rec.DataBlobs} {
		if err := json.Unmarshal(raw[k], dst); err != nil {
			return nil, fmt.Errorf("key %q: %v", k, err)
		}
	}
	rec.Revision = int(f)
	if cm, ok := raw["custom_meta"]; ok {
		if err := json.Unmarshal(cm, &rec.CustomMeta); err != nil {
			return nil, fmt.Errorf("key \"custom_meta\": %v", err)
		}
	}
	if rec.Kind != KindContainer && rec.Kind != KindVM {
		return nil, fmt.Errorf("unknown kind %q (not %s or %s)", rec.Kind, KindContainer, KindVM)
	}
	return rec, nil
}

// marshal encodes the record's keys in the repository's format.
func (r *Record) marshal(version int) ([]byte, error) {
	data, err := json.Marshal(r.Raw)
	if err != nil || version >= 2 {
		return data, err
	}
	var v any
	if err := yaml.UnmarshalWithOptions(data, &v, yaml.UseOrderedMap()); err != nil {
		return nil, err
	}
	return yaml.Marshal(v)
}

// recordPath is where a revision's record lives.
func (s *store) recordPath(name string, rev int) string {
	if s.version >= 2 {
		return filepath.Join(s.path, "meta", name+"@"+strconv.Itoa(rev))
	}
	h := sha256.Sum256([]byte(name + "\n" + strconv.Itoa(rev)))
	x := hex.EncodeToString(h[:])
	return filepath.Join(s.path, "meta", x[:2], x)
}

// readRecord reads and checks the record at p; errors name the file.
func (s *store) readRecord(p string) (*Record, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	rec, err := parseRecord(data, s.version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	s.read[p] = data
	return rec, nil
}

// revisions returns the revisions of every image, by name, without reading
// the records of version 2 (their names say it).
func (s *store) revisions() (map[string][]int, error) {
	out := map[string][]int{}
	if s.version < 2 {
		recs, err := s.allRecordsV1()
		for _, r := range recs {
			out[r.Name] = append(out[r.Name], r.Revision)
		}
		return out, err
	}
	entries, err := os.ReadDir(filepath.Join(s.path, "meta"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name, rev, ok := strings.Cut(e.Name(), "@")
		n, err := strconv.Atoi(rev)
		if !ok || err != nil || n < 0 || strings.HasPrefix(name, ".") {
			continue // not a record: the original would not read it either
		}
		out[name] = append(out[name], n)
	}
	return out, nil
}

// allRecordsV1 reads every record of a version 1 repository, where only
// the records say which image they describe.
func (s *store) allRecordsV1() ([]*Record, error) {
	paths, err := filepath.Glob(filepath.Join(s.path, "meta", "*", "*"))
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, p := range paths {
		rec, err := s.readRecord(p)
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
	return out, nil
}

func newest(revs []int) int {
	m := revs[0]
	for _, r := range revs[1:] {
		m = max(m, r)
	}
	return m
}

var errNoImage = errors.New("no such image")

// find returns the record of an image revision (rev < 0: the newest).
func (s *store) find(name string, rev int) (string, *Record, error) {
	if rev < 0 {
		all, err := s.revisions()
		if err != nil {
			return "", nil, err
		}
		if len(all[name]) == 0 {
			return "", nil, errNoImage
		}
		rev = newest(all[name])
	}
	p := s.recordPath(name, rev)
	rec, err := s.readRecord(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, errNoImage
	}
	if err == nil && (rec.Name != name || rec.Revision != rev) {
		err = fmt.Errorf("%s: the record describes %s@%d", p, rec.Name, rec.Revision)
	}
	return p, rec, err
}
