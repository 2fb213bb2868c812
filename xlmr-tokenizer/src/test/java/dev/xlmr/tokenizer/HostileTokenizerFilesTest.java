package dev.xlmr.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crafted tokenizer files from the hostile run of issue 17, built from the xlmr-base fixture: each
 * gives a TokenizerException naming the file and the field, never another throwable.
 */
class HostileTokenizerFilesTest {
    @TempDir
    Path dir;

    private static final ObjectMapper OM = new ObjectMapper();

    /** The fixture's tokenizer.json with an edit. */
    private Path json(Consumer<ObjectNode> edit) throws IOException {
        ObjectNode root = (ObjectNode) OM.readTree(TestData.model("xlmr-base").resolve("tokenizer.json").toFile());
        edit.accept(root);
        Path f = dir.resolve("tokenizer" + System.nanoTime() + ".json");
        OM.writeValue(f.toFile(), root);
        return f;
    }

    private static String loadError(Path f) {
        TokenizerException e = assertThrows(TokenizerException.class, () -> XlmRobertaTokenizer.fromTokenizerJson(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        return e.getMessage();
    }

    private static void assertHas(String message, String part) {
        assertTrue(message.contains(part), "expected '" + part + "' in: " + message);
    }

    /** The fixture's normalizer followed by a Replace of {@code regex}. */
    private Path withReplace(String regex) throws IOException {
        return json(r -> {
            ArrayNode seq = (ArrayNode) r.get("normalizer").get("normalizers");
            ObjectNode rep = seq.addObject().put("type", "Replace").put("content", "x");
            rep.putObject("pattern").put("Regex", regex);
        });
    }

    @Test
    void replaceRegexWithNestedRepetitionIsStoppedNotHungOrOverflowed() throws IOException {
        // java.util.regex memoizes (a+)+$, not this one: 26 a's take 25 s
        Path f = withReplace("((a+)+)+b");
        XlmRobertaTokenizer t = XlmRobertaTokenizer.fromTokenizerJson(f);
        TokenizerException e = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> assertThrows(TokenizerException.class, () -> t.encode("a".repeat(40) + "!")));
        assertHas(e.getMessage(), f + ": normalizer Replace pattern '((a+)+)+b' backtracks too much on a text of");
        // a repeated alternation recurses per char in java.util.regex: a long line overflowed the stack
        Path g = withReplace("(?:a|b)*c");
        XlmRobertaTokenizer u = XlmRobertaTokenizer.fromTokenizerJson(g);
        TokenizerException e2 = assertThrows(TokenizerException.class, () -> u.encode("ab".repeat(200_000)));
        assertHas(e2.getMessage(), g + ": normalizer Replace pattern '(?:a|b)*c'");
        // the tokenizer stays usable for ordinary lines afterwards
        assertEquals(u.encode("hello").length(), XlmRobertaTokenizer.fromTokenizerJson(
                TestData.model("xlmr-base").resolve("tokenizer.json")).encode("hello").length());
    }

    @Test
    void plainReplaceStillWorksOnALongLine() throws IOException {
        XlmRobertaTokenizer base = XlmRobertaTokenizer.fromTokenizerJson(TestData.model("xlmr-base").resolve("tokenizer.json"));
        String line = "word  other   ".repeat(20_000); // 280k chars through the fixture's " {2,}" Replace
        String single = "word other ".repeat(20_000);
        assertArrayEquals(base.encode(single.strip()).ids(), base.encode(line.strip()).ids());
    }

    @Test
    void regexThatCannotCompile() throws IOException {
        assertHas(loadError(withReplace("(".repeat(100_000) + ")".repeat(100_000))), "does not compile: Stack overflow during pattern compilation");
        assertHas(loadError(withReplace("a{2")), "normalizer Replace regex 'a{2' does not compile: Unclosed counted closure");
    }

    @Test
    void metaspaceReplacementMustBeOneCharacter() throws IOException {
        assertHas(loadError(json(r -> ((ObjectNode) r.get("pre_tokenizer")).put("replacement", ""))),
                "pre_tokenizer Metaspace replacement must be one character, got \"\"");
        assertHas(loadError(json(r -> ((ObjectNode) r.get("decoder")).put("replacement", ""))),
                "decoder Metaspace replacement must be one character, got \"\"");
        assertHas(loadError(json(r -> ((ObjectNode) r.get("decoder")).put("replacement", "ab"))),
                "got \"ab\"");
        // one code point outside the BMP is one character
        XlmRobertaTokenizer.fromTokenizerJson(json(r -> ((ObjectNode) r.get("pre_tokenizer")).put("replacement", "\uD83D\uDE00")));
    }

    @Test
    void robertaProcessingWithMalformedSpecialTokens() throws IOException {
        Consumer<ObjectNode> roberta = r -> {
            ObjectNode p = r.putObject("post_processor").put("type", "RobertaProcessing");
            p.putArray("sep").add("</s>").add(2);
            p.putArray("cls").add("<s>").add(0);
        };
        XlmRobertaTokenizer ok = XlmRobertaTokenizer.fromTokenizerJson(json(roberta));
        assertEquals(0, ok.encode("hi").ids()[0]);
        assertHas(loadError(json(roberta.andThen(r -> ((ObjectNode) r.get("post_processor")).put("sep", "x")))),
                "post_processor RobertaProcessing sep must be [token, id], got \"x\"");
        assertHas(loadError(json(roberta.andThen(r -> ((ObjectNode) r.get("post_processor")).putArray("cls").add("<s>")))),
                "RobertaProcessing cls must be [token, id], got [\"<s>\"]");
        assertHas(loadError(json(roberta.andThen(r -> ((ObjectNode) r.get("post_processor")).putArray("cls").add(0).add("<s>")))),
                "cls must be [token, id]");
        assertHas(loadError(json(roberta.andThen(r -> ((ObjectNode) r.get("post_processor")).putArray("cls").add("<s>").add(-3)))),
                "post_processor special token '<s>' has id -3, outside the vocabulary (0..8001)");
    }

    @Test
    void templateIdsOutsideTheVocabularyAreRefusedAtLoad() throws IOException {
        for (int bad : new int[] {-5, 8002, 1_000_000}) {
            Path f = json(r -> ((ArrayNode) r.get("post_processor").get("special_tokens").get("</s>").get("ids")).set(0, bad));
            assertHas(loadError(f), "post_processor special token '</s>' has id " + bad + ", outside the vocabulary (0..8001)");
        }
        // found by the fuzzer: an id below the highest added token, but no token's (the vocabulary has a gap there)
        Path gap = json(r -> {
            ((ArrayNode) r.get("model").get("vocab")).removeAll();
            for (int i = 0; i < 36; i++) {
                ((ArrayNode) r.get("model").get("vocab")).addArray().add("p" + i).add(-i);
            }
            ((ObjectNode) r.get("added_tokens").get(4)).put("id", 200);
            ((ArrayNode) r.get("post_processor").get("special_tokens").get("</s>").get("ids")).set(0, 42);
        });
        assertHas(loadError(gap), "post_processor special token '</s>' has id 42, which no token of the vocabulary has");
        Path seq = json(r -> ((ObjectNode) r.get("post_processor").get("pair").get(4).get("Sequence")).put("id", "/B"));
        assertHas(loadError(seq), "template Sequence id '/B' is neither A nor B");
        Path f = json(r -> ((ArrayNode) r.get("post_processor").get("special_tokens").get("<s>").get("ids")).set(0, "zero"));
        assertHas(loadError(f), "post_processor special_tokens['<s>'].ids[0] is not an integer: \"zero\"");
    }

    @Test
    void addedTokensNeedAnIntegerIdAndStringContent() throws IOException {
        assertHas(loadError(json(r -> ((ObjectNode) r.get("added_tokens").get(4)).put("id", "8001"))),
                "needs an integer id and a string content");
        assertHas(loadError(json(r -> ((ObjectNode) r.get("added_tokens").get(4)).put("content", 5))),
                "needs an integer id and a string content");
    }

    @Test
    void trailingDataAfterTheJson() throws IOException {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, Files.readString(TestData.model("xlmr-base").resolve("tokenizer.json")) + "\n{}");
        assertHas(loadError(f), "not valid JSON (trailing data after the JSON value, line ");
    }

    /** A ModelProto with the given pieces (field 1: piece, score, type). */
    private static byte[] spm(String[] pieces, int[] types) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        for (int i = 0; i < pieces.length; i++) {
            ByteArrayOutputStream pb = new ByteArrayOutputStream();
            CodedOutputStream p = CodedOutputStream.newInstance(pb);
            p.writeString(1, pieces[i]);
            p.writeFloat(2, -i);
            p.writeEnum(3, types[i]);
            p.flush();
            out.writeByteArray(1, pb.toByteArray());
        }
        out.flush();
        return bytes.toByteArray();
    }

    @Test
    void sentencePieceModelsThatWouldAllocateWithoutBoundOrHoldBadUtf8() throws IOException {
        Path f = dir.resolve("sentencepiece.bpe.model");
        byte[] empties = new byte[2 * (SentencePieceModel.MAX_PIECES + 1)];
        for (int i = 0; i < empties.length; i += 2) {
            empties[i] = 0x0A; // field 1, length-delimited, length 0: an empty piece in 2 bytes
        }
        Files.write(f, empties);
        assertEquals(f + ": more than " + SentencePieceModel.MAX_PIECES + " pieces",
                assertThrows(TokenizerException.class, () -> XlmRobertaTokenizer.fromSentencePiece(f)).getMessage());
        byte[] ok = spm(new String[] {"<unk>", "<s>", "</s>", "\u2581ab"},
                new int[] {SentencePieceModel.UNKNOWN, SentencePieceModel.CONTROL, SentencePieceModel.CONTROL,
                    SentencePieceModel.NORMAL});
        int at = new String(ok, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf("ab");
        ok[at] = (byte) 0xFF;
        Files.write(f, ok);
        assertEquals(f + ": not a valid SentencePiece model (truncated or corrupt protobuf: a piece is not UTF-8)",
                assertThrows(TokenizerException.class, () -> XlmRobertaTokenizer.fromSentencePiece(f)).getMessage());
    }

    @Test
    void sentencePieceModelWithTooFewPieces() throws IOException {
        Path f = dir.resolve("sentencepiece.bpe.model");
        Files.write(f, spm(new String[] {"<unk>"}, new int[] {SentencePieceModel.UNKNOWN}));
        TokenizerException e = assertThrows(TokenizerException.class, () -> XlmRobertaTokenizer.fromSentencePiece(f));
        assertEquals(f + ": holds 1 piece; an XLM-R SentencePiece model starts with <unk>, <s> and </s>, then its"
                + " vocabulary", e.getMessage());
        Files.write(f, spm(new String[] {"<unk>", "<s>"}, new int[] {SentencePieceModel.UNKNOWN, SentencePieceModel.CONTROL}));
        assertHas(assertThrows(TokenizerException.class, () -> XlmRobertaTokenizer.fromSentencePiece(f)).getMessage(),
                "holds 2 pieces");
        Files.write(f, spm(new String[] {"<unk>", "<s>", "</s>", "\u2581a"},
                new int[] {SentencePieceModel.UNKNOWN, SentencePieceModel.CONTROL, SentencePieceModel.CONTROL,
                    SentencePieceModel.NORMAL}));
        XlmRobertaTokenizer t = XlmRobertaTokenizer.fromSentencePiece(f);
        assertArrayEquals(new int[] {0, 4, 2}, t.encode("a").ids());
    }
}
