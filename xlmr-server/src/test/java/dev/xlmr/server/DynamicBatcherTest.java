package dev.xlmr.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class DynamicBatcherTest {
    /** Doubles numbers and records every batch it was called with; can block until released. */
    static final class Doubler implements Function<List<Integer>, List<Integer>> {
        final List<List<Integer>> calls = Collections.synchronizedList(new ArrayList<>());
        final CountDownLatch release;
        final CountDownLatch started = new CountDownLatch(1);

        Doubler(CountDownLatch release) {
            this.release = release;
        }

        @Override
        public List<Integer> apply(List<Integer> in) {
            calls.add(List.copyOf(in));
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            if (in.contains(-1)) throw new IllegalArgumentException("bad input -1");
            return in.stream().map(x -> 2 * x).toList();
        }
    }

    @Test
    void mergesWaitingRequestsOfOneKindWithinTheTokenBudget() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Doubler d = new Doubler(release);
        try (DynamicBatcher b = new DynamicBatcher(10, 200, 100, DynamicBatcher.Listener.NONE)) {
            CompletableFuture<List<Integer>> first = b.submit("k", List.of(1), 1, d);
            d.started.await(); // the worker is busy with the first: the next ones queue up
            CompletableFuture<List<Integer>> a = b.submit("k", List.of(2, 3), 4, d);
            CompletableFuture<List<Integer>> other = b.submit("other", List.of(4), 1, d);
            CompletableFuture<List<Integer>> c = b.submit("k", List.of(5), 4, d);
            CompletableFuture<List<Integer>> tooBig = b.submit("k", List.of(6), 4, d); // 4 + 4 + 4 > 10
            assertEquals(4, b.queueDepth());
            release.countDown();
            assertEquals(List.of(2), b.await(first, 5000));
            assertEquals(List.of(4, 6), b.await(a, 5000));
            assertEquals(List.of(10), b.await(c, 5000));
            assertEquals(List.of(8), b.await(other, 5000));
            assertEquals(List.of(12), b.await(tooBig, 5000));
            assertEquals(List.of(List.of(1), List.of(2, 3, 5), List.of(4), List.of(6)), d.calls);
        }
    }

    @Test
    void aFullQueueRejectsAndAFailingInputFailsOnlyItsCaller() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Doubler d = new Doubler(release);
        try (DynamicBatcher b = new DynamicBatcher(100, 200, 2, DynamicBatcher.Listener.NONE)) {
            CompletableFuture<List<Integer>> running = b.submit("k", List.of(1), 1, d);
            d.started.await();
            CompletableFuture<List<Integer>> bad = b.submit("k", List.of(-1), 1, d);
            CompletableFuture<List<Integer>> good = b.submit("k", List.of(7), 1, d);
            assertThrows(RejectedExecutionException.class, () -> b.submit("k", List.of(8), 1, d));
            release.countDown();
            assertEquals(List.of(2), b.await(running, 5000));
            assertThrows(IllegalArgumentException.class, () -> b.await(bad, 5000));
            assertEquals(List.of(14), b.await(good, 5000));
        }
    }

    @Test
    void aTimedOutRequestLeavesTheQueueAndCloseDrainsTheRest() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Doubler d = new Doubler(release);
        DynamicBatcher b = new DynamicBatcher(100, 0, 10, DynamicBatcher.Listener.NONE);
        CompletableFuture<List<Integer>> running = b.submit("k", List.of(1), 1, d);
        d.started.await();
        CompletableFuture<List<Integer>> late = b.submit("x", List.of(2), 1, d);
        CompletableFuture<List<Integer>> queued = b.submit("y", List.of(3), 1, d);
        assertThrows(TimeoutException.class, () -> b.await(late, 50));
        assertEquals(1, b.queueDepth());
        Thread closer = Thread.ofVirtual().start(b::close);
        release.countDown();
        closer.join(5000);
        assertTrue(queued.isDone());
        assertEquals(List.of(6), queued.get());
        assertEquals(List.of(2), running.get());
        assertThrows(RejectedExecutionException.class, () -> b.submit("k", List.of(1), 1, d));
        assertEquals(List.of(List.of(1), List.of(3)), d.calls);
    }
}
