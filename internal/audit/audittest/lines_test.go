package audittest

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestLinesComplete: a record rsyslog has only half written is not
// returned; it is once its newline is there.
func TestLinesComplete(t *testing.T) {
	r := &Rsyslog{Out: filepath.Join(t.TempDir(), "out.log")}
	if got := r.Lines(); got != nil {
		t.Fatalf("no file: %q", got)
	}
	for _, tt := range []struct {
		file string
		want []string
	}{
		{"<28>1 half", nil},
		{"one\n<28>1 2026 [hinetd@32473 k=\"v\"][met", []string{"one"}},
		{"one\ntwo\n", []string{"one", "two"}},
	} {
		if err := os.WriteFile(r.Out, []byte(tt.file), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := r.Lines(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.file, got, tt.want)
		}
	}
}
