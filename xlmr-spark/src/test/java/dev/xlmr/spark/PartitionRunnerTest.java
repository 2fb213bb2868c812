package dev.xlmr.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;

/** The executor loop on its own: order, groups per thread, nulls, failures. */
class PartitionRunnerTest {

    /** Results are "text|pair" strings; records the groups of texts and the threads that ran them. */
    static final class EchoTask extends Task {
        static final List<List<String>> GROUPS = Collections.synchronizedList(new ArrayList<>());
        static final Set<String> THREADS = ConcurrentHashMap.newKeySet();
        static volatile boolean fail;

        EchoTask(int batchSize) {
            super("echo", null, batchSize, 0);
        }

        @Override
        Batcher open() {
            return (texts, pairs) -> {
                if (fail) {
                    throw new IllegalStateException("boom");
                }
                List<String> joined = new ArrayList<>();
                for (int i = 0; i < texts.size(); i++) {
                    joined.add(texts.get(i) + (pairs == null || pairs.get(i) == null ? "" : pairs.get(i)));
                }
                GROUPS.add(joined);
                THREADS.add(Thread.currentThread().getName());
                Object[] out = new Object[texts.size()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = texts.get(i) + "|" + (pairs == null ? "-" : pairs.get(i));
                }
                return out;
            };
        }

        @Override
        Object emptyResult() {
            return "empty";
        }
    }

    private static List<Row> run(PartitionRunner runner, List<Row> rows) throws Exception {
        List<Row> out = new ArrayList<>();
        Iterator<Row> it = runner.call(rows.iterator());
        while (it.hasNext()) {
            out.add(it.next());
        }
        return out;
    }

    @Test
    void keepsTheOrderBatchesByLengthAndUsesTheThreads() throws Exception {
        EchoTask.GROUPS.clear();
        EchoTask.THREADS.clear();
        Random r = new Random(7);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            String text = i % 97 == 0 ? null : i % 89 == 0 ? " " : "x".repeat(1 + r.nextInt(60)) + i;
            rows.add(RowFactory.create(i, text, i % 3 == 0 ? null : "p" + i));
        }
        List<Row> out = run(new PartitionRunner(new EchoTask(8), 1, 2, 2), rows);
        assertEquals(rows.size(), out.size());
        for (int i = 0; i < rows.size(); i++) {
            Row in = rows.get(i);
            assertEquals(4, out.get(i).size());
            assertEquals(in.get(0), out.get(i).get(0));
            assertEquals(in.get(1), out.get(i).get(1));
            String text = in.getString(1);
            Object want = text == null ? null : text.isBlank() ? "empty" : text + "|" + in.get(2);
            assertEquals(want, out.get(i).get(3), "row " + i);
        }
        // chunks of 32 batches per thread, dealt out in length order into one group per thread
        assertEquals(2000 - 21 - 22, EchoTask.GROUPS.stream().mapToInt(List::size).sum());
        assertEquals(4 * 2, EchoTask.GROUPS.size(), "4 chunks of 512 rows, 2 groups each");
        for (List<String> g : EchoTask.GROUPS) {
            for (int k = 1; k < g.size(); k++) {
                assertTrue(g.get(k - 1).length() <= g.get(k).length(), "dealt in length order: " + g);
            }
        }
        assertEquals(2, EchoTask.THREADS.size(), EchoTask.THREADS.toString());
    }

    @Test
    void anEmptyPartitionOrOnlyNullsNeverOpenTheModel() throws Exception {
        EchoTask.fail = true;   // open() would fail on use
        try {
            assertEquals(0, run(new PartitionRunner(new EchoTask(4), 0, -1), List.of()).size());
            List<Row> out = run(new PartitionRunner(new EchoTask(4), 0, -1),
                    List.of(RowFactory.create((Object) null), RowFactory.create("")));
            assertNull(out.get(0).get(1));
            assertEquals("empty", out.get(1).get(1));
        } finally {
            EchoTask.fail = false;
        }
    }

    @Test
    void aFailureInAHelperThreadReachesTheTask() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            rows.add(RowFactory.create("text " + i));
        }
        EchoTask.fail = true;
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> run(new PartitionRunner(new EchoTask(4), 0, -1, 3), rows));
            assertEquals("boom", e.getMessage());
        } finally {
            EchoTask.fail = false;
        }
    }
}
