package dev.xlmr.nova;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    @TempDir
    Path dir;

    @Test
    void readsTheXlmRobertaTrainer() throws IOException {
        Trainer t = Trainer.read(Fixtures.copy(dir, "xlm_roberta.trainer"));
        assertEquals(5, t.version());
        assertEquals("1234", t.info().get("seed"));
        assertEquals("500ms", t.meta().get("frameStep"));
        assertEquals(4500, FramingOptions.parseTimeMs(t.meta().get("leftContext")));
        assertEquals(new Trainer.Io("input", "transcript", "annotation:Free", "transcript"), t.io("transcript").orElseThrow());
        Trainer.Io out = t.io("embeddings").orElseThrow();
        assertEquals("stream:SSIStream", out.data());
        assertFalse(out.isInput());
        assertEquals("XLMRoBERTa", t.model().get("create"));
        assertEquals(List.of(new Trainer.Option("batch_size", "STRING", "16")), t.options());
        assertEquals(Map.of("batch_size", "16"), t.defaultOptions());
    }

    @Test
    void parsesOptionStrings() {
        assertEquals(List.of(new Trainer.Option("a", "INT", "1"), new Trainer.Option("b", "STRING", "x:y")),
                Trainer.parseOptStr("{a:INT:1};{b:STRING:x:y}"));
        assertEquals(List.of(new Trainer.Option("k", "STRING", "v"), new Trainer.Option("n", "STRING", "2")),
                Trainer.parseOptStr("k=v;n=2"));
        assertTrue(Trainer.parseOptStr("").isEmpty());
        assertThrows(IllegalArgumentException.class, () -> Trainer.parseOptStr("{a:INT:1} junk"));
        assertThrows(IllegalArgumentException.class, () -> Trainer.parseOptStr("novalue"));
    }

    @Test
    void malformedTrainersAreErrors() throws IOException {
        Path p = dir.resolve("bad.trainer");
        Files.writeString(p, "<trainer ssi-v=\"5\"><model create=\"X\" optstr=\"{a:INT\"/></trainer>");
        assertEquals(1, assertThrows(NovaFormatException.class, () -> Trainer.read(p)).line());
        Files.writeString(p, "<stream ssi-v=\"5\"/>");
        assertThrows(NovaFormatException.class, () -> Trainer.read(p));
        Files.writeString(p, "<trainer ssi-v=\"5\"><meta><io type=\"input\"/></meta></trainer>");
        assertTrue(assertThrows(NovaFormatException.class, () -> Trainer.read(p)).getMessage().contains("id"));
    }
}
