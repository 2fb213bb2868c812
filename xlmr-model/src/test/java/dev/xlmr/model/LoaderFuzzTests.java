package dev.xlmr.model;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * Coverage-guided fuzz targets for the checkpoint parsers (issue 17). Their promise: for any bytes, a
 * result or a {@link CheckpointException}; any other throwable (StackOverflowError, OutOfMemoryError,
 * IndexOutOfBoundsException, ...) is a finding. Without {@code JAZZER_FUZZ} they run once over the
 * seeds in {@code LoaderFuzzTestsInputs/<method>/} (made from the fixtures by
 * {@code src/test/make_fuzz_seeds.py}); with {@code JAZZER_FUZZ=1} Jazzer mutates from there:
 *
 * <pre>{@code
 * JAZZER_FUZZ=1 ./mvnw -pl xlmr-model test -Dtest=LoaderFuzzTests#pickle -Djazzer.max_duration=10m
 * }</pre>
 */
class LoaderFuzzTests {
    @FuzzTest(maxDuration = "30s")
    void safetensorsFile(byte[] data) {
        try {
            Map<String, StoredTensor> tensors = SafetensorsFile.parse(MemorySegment.ofArray(data), "fuzz.safetensors");
            for (StoredTensor t : tensors.values()) {
                if (t.dtype().isFloat() && t.bytes().byteSize() <= 1 << 20) {
                    t.toFloat(); // conversion of a parsed tensor must hold too
                }
            }
        } catch (CheckpointException expected) {
            // the domain's own error
        }
    }

    @FuzzTest(maxDuration = "30s")
    void torchZip(byte[] data) {
        try {
            TorchCheckpoint.parse(MemorySegment.ofArray(data), "fuzz.bin");
        } catch (CheckpointException expected) {
            // the domain's own error
        }
    }

    @FuzzTest(maxDuration = "30s")
    void pickle(byte[] data) {
        try {
            TorchPickle.load(MemorySegment.ofArray(data), "fuzz.pkl");
        } catch (CheckpointException expected) {
            // the domain's own error
        }
    }

    @FuzzTest(maxDuration = "30s")
    void configJson(byte[] data) {
        try {
            ModelConfig.parse(JsonTree.utf8(data, "config.json"), "config.json");
        } catch (CheckpointException expected) {
            // the domain's own error
        }
    }
}
