package rootfs

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestDecompress(t *testing.T) {
	layer := mkLayer(t, file("a", strings.Repeat("data", 10000)))
	tests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"plain", layer, ""},
		{"gzip", gz(t, layer), ""},
		{"zstd", zst(t, layer), ""},
		{"empty", nil, ""},
		{"truncated gzip", gz(t, layer)[:len(gz(t, layer))-10], "unexpected EOF"},
		{"truncated zstd", zst(t, layer)[:len(zst(t, layer))/2], "EOF"},
		{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2}, "xz compression is not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := Decompress(bytes.NewReader(tc.in))
			var got []byte
			if err == nil {
				got, err = io.ReadAll(rc)
				rc.Close()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := layer
			if tc.in == nil {
				want = nil
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got %d bytes, want %d", len(got), len(want))
			}
		})
	}
}
