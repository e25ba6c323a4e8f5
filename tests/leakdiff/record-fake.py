#!/usr/bin/env python3
"""record-fake.py [STATUS] — a stand-in for a program under the preload
library: it writes recproto.h chunks to MEMKIT_RECORD_FD itself, out of
sequence order and with the realloc window of two threads, so the
recorder's reordering is tested without the preload. Thread A: 1 hello,
2 alloc X 100, 5 realloc X -> Y 200 (recorded late); thread B: 3 alloc X 50
(handed X once the realloc freed it), 4 snapshot "mid", 6 free X; then 7
alloc Z 7 and 8 exit. Exact figures: current 207 bytes in 2 blocks, peak
250 bytes. Prints a line and exits with STATUS."""
import os, struct, sys
fd = int(os.environ['MEMKIT_RECORD_FD']); pid = os.getpid()
HELLO, ALLOC, FREE, REALLOC, SNAP, FORK, EXIT = 1, 2, 3, 4, 5, 6, 7
def rec(kind, seq, a=0, b=0, c=0, frames=(), label=b''):
    aux = len(label)
    r = struct.pack('<BBHIQQQQQ', kind, len(frames), aux, 1, seq, seq * 1000, a, b, c)
    r += b''.join(struct.pack('<Q', f) for f in frames)
    r += label + b'\0' * ((-aux) % 8)
    return r
def chunk(*recs):
    body = b''.join(recs)
    os.write(fd, struct.pack('<II', 8 + len(body), pid) + body)
# thread A: seq 1 hello, 2 alloc X 100, 5 realloc X->Y 200 (logged late)
# thread B: seq 3 alloc X 50 (got X after realloc freed it), 4 snapshot, 6 free Y? no: 6 free X
chunk(rec(ALLOC, 3, 0x1000, 50, frames=(0x400001,)), rec(SNAP, 4, label=b'mid'), rec(FREE, 6, 0x1000))
chunk(rec(HELLO, 1, a=1), rec(ALLOC, 2, 0x1000, 100, frames=(0x400002, 0x400003)), rec(REALLOC, 5, 0x1000, 200, 0x2000, frames=(0x400002,)))
chunk(rec(ALLOC, 7, 0x3000, 7, frames=(0x400001,)), rec(EXIT, 8))
print("fake says hi")
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
