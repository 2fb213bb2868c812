package dev.xlmr.model;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fuzz targets' promise checked on every test run over the whole fixtures: a few hundred seeded
 * mutations each (byte flips, extreme integers, cuts, repeats) of a real safetensors file, torch zip
 * and config.json give a result or a CheckpointException, never another throwable (the test fails
 * with it, and the seed and round reproduce it).
 */
class MutatedFixturesTest {
    /** Bytes that carry JSON structure and numbers. */
    static final String PUNCT = "0123456789-.e\"{}[],:";

    static final int ROUNDS = 300;

    /** One mutation of {@code b}, mostly within {@code [0, hot)} where the structure is. */
    static byte[] mutate(byte[] b, int hot, Random r) {
        int at = r.nextInt(10) < 9 ? r.nextInt(Math.max(1, hot)) : r.nextInt(Math.max(1, b.length));
        byte[] out = b.clone();
        switch (r.nextInt(7)) {
            case 0 -> out[at] ^= (byte) (1 << r.nextInt(8));
            case 1 -> out[at] = (byte) (r.nextBoolean() ? 0 : 0xFF);
            case 2 -> { // an extreme little-endian integer
                long[] extreme = {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, Long.MAX_VALUE, 0xFFFFFFFFL, 1L << 40};
                byte[] v = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(extreme[r.nextInt(extreme.length)]).array();
                System.arraycopy(v, 0, out, at, Math.min(r.nextBoolean() ? 4 : 8, out.length - at));
            }
            case 3 -> out = Arrays.copyOf(out, at); // truncated
            case 4 -> { // a slice repeated in place
                int len = 1 + r.nextInt(Math.min(64, out.length - at));
                byte[] grown = new byte[out.length + len];
                System.arraycopy(out, 0, grown, 0, at + len);
                System.arraycopy(out, at, grown, at + len, out.length - at);
                out = grown;
            }
            case 5 -> { // a digit where the structure has one: sizes and offsets grow or break
                out[at] = (byte) PUNCT.charAt(r.nextInt(PUNCT.length()));
            }
            default -> { // several flips
                for (int i = 0; i < 8; i++) {
                    out[r.nextInt(Math.max(1, hot))] ^= (byte) r.nextInt(256);
                }
            }
        }
        return out;
    }

    @Test
    void mutatedSafetensorsFiles() throws IOException {
        byte[] real = Files.readAllBytes(Fixtures.dir("xlmr-base").resolve("model.safetensors"));
        int header = (int) ByteBuffer.wrap(real).order(ByteOrder.LITTLE_ENDIAN).getLong() + 8;
        Random r = new Random(17);
        for (int i = 0; i < ROUNDS; i++) {
            byte[] m = mutate(real, header, r);
            try {
                for (StoredTensor t : SafetensorsFile.parse(MemorySegment.ofArray(m), "m.safetensors").values()) {
                    if (t.dtype().isFloat()) {
                        t.toFloat();
                    }
                }
            } catch (CheckpointException expected) {
                // the domain's own error
            }
        }
    }

    @Test
    void mutatedTorchZips() throws IOException {
        byte[] real = Files.readAllBytes(Fixtures.dir("xlmr-base").resolve("pytorch_model.bin"));
        Random r = new Random(19);
        for (int i = 0; i < ROUNDS; i++) {
            // the pickle comes first and the central directory last: mutate around both
            byte[] m = mutate(real, real.length, r);
            try {
                TorchCheckpoint.parse(MemorySegment.ofArray(m), "m.bin");
            } catch (CheckpointException expected) {
                // the domain's own error
            }
            byte[] pkl = mutate(Arrays.copyOfRange(real, 0, 4400), 4400, r);
            try {
                TorchPickle.load(MemorySegment.ofArray(pkl), "m.pkl");
            } catch (CheckpointException expected) {
                // the domain's own error
            }
        }
    }

    @Test
    void mutatedConfigsAgainstTheRealWeights() throws IOException {
        byte[] real = Files.readAllBytes(Fixtures.dir("xlmr-seqcls").resolve("config.json"));
        Random r = new Random(23);
        int parsed = 0;
        for (int i = 0; i < ROUNDS; i++) {
            byte[] m = mutate(real, real.length, r);
            ModelConfig c;
            try {
                c = ModelConfig.parse(JsonTree.utf8(m, "config.json"), "config.json");
            } catch (CheckpointException expected) {
                continue;
            }
            parsed++;
            try (XlmRobertaModel model = new XlmRobertaModel(c, Weights.open(Fixtures.dir("xlmr-seqcls")))) {
                model.forward(new int[][] {{0, 581, 2}}, null, null);
            } catch (CheckpointException | IllegalArgumentException expected) {
                // a config that does not fit the weights, or ids it puts outside the vocabulary
            }
        }
        System.out.println("mutated configs that parsed: " + parsed + " of " + ROUNDS + " ("
                + new String(real, StandardCharsets.UTF_8).length() + " chars)");
    }
}
