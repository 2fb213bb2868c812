package dev.xlmr.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * The oneDNN kernels' per-thread native buffers: a buffer that grows frees the one it replaces at once, so a
 * server whose batch sizes vary holds only the current buffers, not every size it went through (issue 15: native
 * memory left to the GC stayed resident, 1 GB over a 10-minute load).
 */
class DnnlScratchTest {
    @Test
    void growingFreesTheReplacedBuffer() {
        DnnlKernels.Scratch s = new DnnlKernels.Scratch();
        MemorySegment a = s.grow(MemorySegment.NULL, 1000);
        assertEquals(1000, a.byteSize());
        assertSame(a, s.grow(a, 1000), "large enough: kept");
        MemorySegment b = s.grow(a, 1001);
        assertEquals(1500, b.byteSize(), "grows by at least half");
        assertFalse(a.scope().isAlive(), "the replaced buffer is freed");
        assertTrue(b.scope().isAlive());
        MemorySegment other = s.grow(MemorySegment.NULL, 64);
        long held = 0;
        MemorySegment cur = b;
        for (long need = 2000; need < 40_000_000; need = need * 5 / 4 + 1) { // a batch size rising step by step
            MemorySegment prev = cur;
            cur = s.grow(cur, need);
            if (cur != prev) assertFalse(prev.scope().isAlive());
            held = s.bytes();
            assertEquals(cur.byteSize() + other.byteSize(), held, "only the current buffers are held");
        }
        assertTrue(cur.scope().isAlive() && other.scope().isAlive());
        cur.fill((byte) 1); // still usable
    }

    @Test
    void buffersOfACollectedScratchAreFreed() throws InterruptedException {
        MemorySegment m = new DnnlKernels.Scratch().grow(MemorySegment.NULL, 1 << 20); // its Scratch unreachable
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (m.scope().isAlive() && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        assertFalse(m.scope().isAlive(), "the cleaner closes what a collected Scratch held");
    }
}
