package limits

import (
	"sync"
	"unsafe"
)

// entry is the state of one client of one service. The zero value is an
// unused slot. Its size is part of the documented memory cap: keep it at 56
// bytes (TestEntrySize).
type entry struct {
	addr       [16]byte // client address, cut to its prefix, IPv4 as ::ffff:a.b.c.d
	svc        uint32   // Service.id
	hash       uint32   // low 32 bits of the key's hash: its home slot in the index
	prev, next int32    // LRU links (entry indices, -1 = none); unused while pinned
	children   int32    // live children from this client; > 0 pins the entry
	winCount   uint32   // admitted connections in the window opened at winStart
	winStart   int64    // tick of the window's first connection
	tat        int64    // source-rate bucket: theoretical arrival time (GCRA)
}

// indexBytes is the index's share of each entry: the index has twice as many
// 8-byte slots as the shard has entries, so linear probing stays short.
const indexBytes = 16

// EntryBytes is the memory one per-client entry costs, index included.
const EntryBytes = int(unsafe.Sizeof(entry{})) + indexBytes

// shard is one lock's worth of the client table: a fixed array of entries, an
// open-addressing index over them, and an LRU list of the unpinned ones.
type shard struct {
	mu       sync.Mutex
	capacity int
	entries  []entry  // len = entries in use; allocated with cap = capacity on first insert
	index    []uint64 // 0 = empty; else high 32 bits of the hash << 32 | entry index+1
	mask     uint32
	head     int32 // most recently seen unpinned entry, -1 if none
	tail     int32 // least recently seen unpinned entry, -1 if none
	pinned   int
	_        [40]byte // keep neighbouring shards' locks off this cache line
}

func (sh *shard) init(capacity int) {
	sh.capacity = capacity
	sh.head, sh.tail = -1, -1
}

// alloc sizes the shard on first use: a limiter with many idle shards (tests,
// small configurations) does not pay for them.
func (sh *shard) alloc() {
	sh.entries = make([]entry, 0, sh.capacity)
	n := 1
	for n < 2*sh.capacity {
		n <<= 1
	}
	sh.index = make([]uint64, n)
	sh.mask = uint32(n - 1)
}

// find - the entry index of (svc, addr), or -1.
func (sh *shard) find(svc uint32, addr *[16]byte, h uint64) int32 {
	if sh.index == nil {
		return -1
	}
	frag := uint32(h >> 32)
	pos := uint32(h) & sh.mask
	for range len(sh.index) {
		v := sh.index[pos]
		if v == 0 {
			return -1
		}
		if uint32(v>>32) == frag {
			i := int32(uint32(v) - 1)
			e := &sh.entries[i]
			if e.svc == svc && e.addr == *addr {
				return i
			}
		}
		pos = (pos + 1) & sh.mask
	}
	return -1
}

// canInsert says whether insert would find room.
func (sh *shard) canInsert() bool {
	return len(sh.entries) < sh.capacity || sh.tail >= 0
}

// insert adds (svc, addr), which must not be present, evicting the least
// recently seen unpinned entry when the shard is full. The caller has checked
// canInsert. The new entry is unpinned and at the head of the LRU list.
func (sh *shard) insert(svc uint32, addr *[16]byte, h uint64, now int64) int32 {
	if sh.entries == nil {
		sh.alloc()
	}
	var i int32
	if len(sh.entries) < sh.capacity {
		i = int32(len(sh.entries))
		sh.entries = sh.entries[:i+1]
	} else {
		i = sh.tail
		sh.unlink(i)
		sh.unindex(i)
	}
	sh.entries[i] = entry{
		addr:     *addr,
		svc:      svc,
		hash:     uint32(h),
		prev:     -1,
		next:     -1,
		winStart: now,
		tat:      minTick,
	}
	pos := uint32(h) & sh.mask
	for sh.index[pos] != 0 {
		pos = (pos + 1) & sh.mask
	}
	sh.index[pos] = uint64(uint32(h>>32))<<32 | uint64(i+1)
	sh.pushFront(i)
	return i
}

// unindex removes entry i from the index by backward-shift deletion, so the
// index never fills up with tombstones under churn.
func (sh *shard) unindex(i int32) {
	want := uint64(i + 1)
	pos := sh.entries[i].hash & sh.mask
	for uint32(sh.index[pos]) != uint32(want) {
		pos = (pos + 1) & sh.mask
	}
	hole := pos
	j := hole
	for {
		j = (j + 1) & sh.mask
		v := sh.index[j]
		if v == 0 {
			break
		}
		home := sh.entries[uint32(v)-1].hash & sh.mask
		// The slot at j may move back into the hole unless its home lies
		// cyclically in (hole, j]: then a lookup would start past the hole.
		var stays bool
		if hole <= j {
			stays = hole < home && home <= j
		} else {
			stays = hole < home || home <= j
		}
		if !stays {
			sh.index[hole] = v
			hole = j
		}
	}
	sh.index[hole] = 0
}

// touch marks an unpinned entry as just seen.
func (sh *shard) touch(i int32) {
	if sh.entries[i].children == 0 && sh.head != i {
		sh.unlink(i)
		sh.pushFront(i)
	}
}

// pin takes one more live child on entry i.
func (sh *shard) pin(i int32) {
	e := &sh.entries[i]
	if e.children == 0 {
		sh.unlink(i)
		sh.pinned++
	}
	e.children++
}

// unpin drops one live child from entry i; the last one puts the entry back
// on the LRU list as the most recently seen.
func (sh *shard) unpin(i int32) {
	sh.mu.Lock()
	e := &sh.entries[i]
	e.children--
	if e.children == 0 {
		sh.pinned--
		sh.pushFront(i)
	}
	sh.mu.Unlock()
}

func (sh *shard) unlink(i int32) {
	e := &sh.entries[i]
	if e.prev >= 0 {
		sh.entries[e.prev].next = e.next
	} else {
		sh.head = e.next
	}
	if e.next >= 0 {
		sh.entries[e.next].prev = e.prev
	} else {
		sh.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (sh *shard) pushFront(i int32) {
	e := &sh.entries[i]
	e.prev = -1
	e.next = sh.head
	if sh.head >= 0 {
		sh.entries[sh.head].prev = i
	} else {
		sh.tail = i
	}
	sh.head = i
}
