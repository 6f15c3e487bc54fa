package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSpoolOrder: records keep their order across memory, the spill file,
// and records put back for resending; beyond both caps they are counted
// as dropped.
func TestSpoolOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spill")
	s, err := newSpool(path, 100, 4*(spillHeader+10))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range 20 {
		s.push(fmt.Appendf(nil, "record-%03d", i), now) // 10 bytes each
	}
	// 10 fit in memory, 4 in the file, 6 are dropped.
	if s.spilled != 4 || s.dropped != 6 || s.len() != 14 {
		t.Fatalf("spilled %d dropped %d queued %d", s.spilled, s.dropped, s.len())
	}
	got := s.take(nil, 35) // at most 35 bytes: 3 records
	if len(got) != 3 || string(got[0].b) != "record-000" {
		t.Fatalf("take: %d records", len(got))
	}
	s.unget(got[1:]) // 001 and 002 go back to the head
	var all []string
	for s.len() > 0 {
		for _, r := range s.take(nil, 1<<20) {
			all = append(all, string(r.b))
		}
	}
	want := []string{"record-001", "record-002"}
	for i := 3; i < 14; i++ {
		want = append(want, fmt.Sprintf("record-%03d", i))
	}
	if fmt.Sprint(all) != fmt.Sprint(want) {
		t.Fatalf("order:\n got %v\nwant %v", all, want)
	}
	if n, _, _ := s.takeDrops(); n != 6 {
		t.Fatalf("pending drops %d, want 6", n)
	}
	// Drained: the file is empty again and takes new records.
	if st, _ := os.Stat(path); st.Size() != 0 {
		t.Fatalf("spill file not emptied: %d bytes", st.Size())
	}
	s.closeFile()
}

// TestSpoolTornTail: a spill file cut in the middle of a record (a crash)
// is read up to the last whole record.
func TestSpoolTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spill")
	s, err := newSpool(path, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		s.push(fmt.Appendf(nil, "r%d", i), time.Now())
	}
	if _, err := s.persist(nil); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0, 0, 0, 9, 'x'}) // a header for 9 bytes, then 1
	f.Close()
	s2, err := newSpool(path, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.closeFile()
	got := s2.take(nil, 1<<20)
	if len(got) != 3 || string(got[2].b) != "r2" || s2.len() != 0 {
		t.Fatalf("%d records, %d left", len(got), s2.len())
	}
}

// TestSpoolWakesPerBatch: pushes alone do not wake the sender; flush
// does, once for the batch, and the sender then takes it whole.
func TestSpoolWakesPerBatch(t *testing.T) {
	s, err := newSpool("", 1<<20, -1)
	if err != nil {
		t.Fatal(err)
	}
	woke := make(chan bool)
	go func() { woke <- s.wait() }()
	for blocked := false; !blocked; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		blocked = s.waiting == 1
		s.mu.Unlock()
	}
	for i := range 50 {
		s.push(fmt.Appendf(nil, "r%02d", i), time.Now())
	}
	select {
	case <-woke:
		t.Fatal("the sender woke before the batch was flushed")
	case <-time.After(100 * time.Millisecond):
	}
	s.flush()
	select {
	case ok := <-woke:
		if !ok {
			t.Fatal("wait reported nothing to send")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("flush did not wake the sender")
	}
	if got := s.take(nil, 1<<20); len(got) != 50 || string(got[49].b) != "r49" {
		t.Fatalf("took %d records", len(got))
	}
	// The array is kept for the next batch, from its start.
	s.push([]byte("next"), time.Now())
	if got := s.take(nil, 1<<20); len(got) != 1 || string(got[0].b) != "next" || s.memBytes != 0 {
		t.Fatalf("after reuse: %d records, %d bytes left", len(got), s.memBytes)
	}
}
