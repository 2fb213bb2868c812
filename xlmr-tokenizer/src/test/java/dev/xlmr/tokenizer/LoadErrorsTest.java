package dev.xlmr.tokenizer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Missing and corrupt tokenizer files give a clear error naming the file and the problem. */
class LoadErrorsTest {
    @TempDir
    Path dir;

    static void expect(String fragment, Runnable r) {
        TokenizerException e = assertThrows(TokenizerException.class, r::run);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    @Test
    void missingFolderAndFiles() {
        expect("not a model folder", () -> XlmRobertaTokenizer.load(dir.resolve("nope")));
        expect("no tokenizer.json or sentencepiece.bpe.model", () -> XlmRobertaTokenizer.load(dir));
        expect("sentencepiece.bpe.model: no such file",
                () -> XlmRobertaTokenizer.load(dir, XlmRobertaTokenizer.Format.SENTENCEPIECE));
    }

    @Test
    void truncatedAndCorruptSentencePieceModels() throws Exception {
        byte[] real = Files.readAllBytes(TestData.model("xlmr-base").resolve("sentencepiece.bpe.model"));
        Path f = dir.resolve("sentencepiece.bpe.model");
        Files.write(f, Arrays.copyOf(real, real.length / 2));
        expect("truncated or corrupt protobuf", () -> XlmRobertaTokenizer.fromSentencePiece(f));
        Files.write(f, new byte[0]);
        expect("no pieces", () -> XlmRobertaTokenizer.fromSentencePiece(f));
        byte[] junk = new byte[1000];
        new java.util.Random(7).nextBytes(junk);
        Files.write(f, junk);
        TokenizerException e = assertThrows(TokenizerException.class, () -> XlmRobertaTokenizer.fromSentencePiece(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    }

    private Path jsonWith(String pointer, String field, String type) throws Exception {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = (ObjectNode) om.readTree(TestData.model("xlmr-base").resolve("tokenizer.json").toFile());
        ObjectNode target = pointer.isEmpty() ? root : (ObjectNode) root.at(pointer);
        ObjectNode comp = om.createObjectNode().put("type", type);
        target.set(field, comp);
        Path f = dir.resolve("tokenizer.json");
        om.writeValue(f.toFile(), root);
        return f;
    }

    @Test
    void unknownTokenizerJsonComponentsAreNamed() throws Exception {
        Path f = jsonWith("", "normalizer", "BertNormalizer");
        expect("normalizer type 'BertNormalizer' is not supported", () -> XlmRobertaTokenizer.fromTokenizerJson(f));
        Path g = jsonWith("", "pre_tokenizer", "ByteLevel");
        expect("pre_tokenizer type 'ByteLevel' is not supported", () -> XlmRobertaTokenizer.fromTokenizerJson(g));
        Path h = jsonWith("", "post_processor", "BertProcessing");
        expect("post_processor type 'BertProcessing'", () -> XlmRobertaTokenizer.fromTokenizerJson(h));
        Path i = jsonWith("", "decoder", "WordPiece");
        expect("decoder type 'WordPiece'", () -> XlmRobertaTokenizer.fromTokenizerJson(i));
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = (ObjectNode) om.readTree(TestData.model("xlmr-base").resolve("tokenizer.json").toFile());
        ((ObjectNode) root.get("model")).put("type", "BPE");
        Path j = dir.resolve("bpe.json");
        om.writeValue(j.toFile(), root);
        expect("model type 'BPE' is not supported (supported: Unigram)", () -> XlmRobertaTokenizer.fromTokenizerJson(j));
    }

    @Test
    void invalidJson() throws Exception {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, "{\"model\": ");
        expect("not valid JSON", () -> XlmRobertaTokenizer.fromTokenizerJson(f));
        Files.writeString(f, "[]");
        expect("not a tokenizer.json object", () -> XlmRobertaTokenizer.fromTokenizerJson(f));
        Files.writeString(f, "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\"]], \"unk_id\": 0}}");
        expect("model.vocab[0] is not a [piece, score] pair", () -> XlmRobertaTokenizer.fromTokenizerJson(f));
    }
}
