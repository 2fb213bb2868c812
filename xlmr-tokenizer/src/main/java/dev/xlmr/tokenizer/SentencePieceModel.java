package dev.xlmr.tokenizer;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a SentencePiece {@code ModelProto} the tokenizer uses, read from the protobuf wire
 * format (field numbers of sentencepiece_model.proto).
 */
final class SentencePieceModel {
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final int UNUSED = 5;
    static final int BYTE = 6;

    private static final long MAX_FILE = 1L << 30;
    /** XLM-R has 250,002 pieces; the cap bounds what a file of empty pieces (2 bytes each) makes us allocate. */
    static final int MAX_PIECES = 4_000_000;

    final List<String> pieces = new ArrayList<>();
    final List<Float> scores = new ArrayList<>();
    final List<Integer> types = new ArrayList<>();
    int modelType = 1; // UNIGRAM
    int unkId = 0;
    boolean byteFallback;
    boolean treatWhitespaceAsSuffix;
    byte[] charsMap;
    boolean addDummyPrefix = true;
    boolean removeExtraWhitespaces = true;
    boolean escapeWhitespaces = true;

    static SentencePieceModel read(Path file) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE) {
                throw new TokenizerException(file + ": " + size + " bytes is too large for a SentencePiece model");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TokenizerException(file + ": no such file");
        } catch (java.nio.file.AccessDeniedException e) {
            throw new TokenizerException(file + ": permission denied", e);
        } catch (IOException e) {
            throw new TokenizerException(file + ": cannot read it (" + e.getClass().getSimpleName() + ")", e);
        }
        return read(bytes, file);
    }

    /** Parses and checks a model's bytes; {@code file} names it in errors. */
    static SentencePieceModel read(byte[] bytes, Path file) {
        try {
            SentencePieceModel m = parse(bytes, file);
            m.validate(file);
            return m;
        } catch (IOException e) { // InvalidProtocolBufferException: its text is protobuf's, not about this file
            throw new TokenizerException(file + ": not a valid SentencePiece model (truncated or corrupt protobuf"
                    + (e.getMessage() != null && e.getMessage().contains("UTF-8") ? ": a piece is not UTF-8" : "")
                    + ")", e);
        }
    }

    private static SentencePieceModel parse(byte[] bytes, Path file) throws IOException {
        SentencePieceModel m = new SentencePieceModel();
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        for (int tag; (tag = in.readTag()) != 0; ) {
            int field = WireFormat.getTagFieldNumber(tag);
            boolean delimited = WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
            if (field == 1 && delimited) {
                if (m.pieces.size() >= MAX_PIECES) {
                    throw new TokenizerException(file + ": more than " + MAX_PIECES + " pieces");
                }
                int limit = in.pushLimit(in.readRawVarint32());
                m.readPiece(in);
                in.popLimit(limit);
            } else if (field == 2 && delimited) {
                int limit = in.pushLimit(in.readRawVarint32());
                m.readTrainerSpec(in);
                in.popLimit(limit);
            } else if (field == 3 && delimited) {
                int limit = in.pushLimit(in.readRawVarint32());
                m.readNormalizerSpec(in);
                in.popLimit(limit);
            } else {
                in.skipField(tag);
            }
        }
        return m;
    }

    private void readPiece(CodedInputStream in) throws IOException {
        String piece = "";
        float score = 0f;
        int type = NORMAL;
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag) {
                case (1 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED -> piece = in.readStringRequireUtf8();
                case (2 << 3) | WireFormat.WIRETYPE_FIXED32 -> score = in.readFloat();
                case (3 << 3) | WireFormat.WIRETYPE_VARINT -> type = in.readEnum();
                default -> in.skipField(tag);
            }
        }
        pieces.add(piece);
        scores.add(score);
        types.add(type);
    }

    private void readTrainerSpec(CodedInputStream in) throws IOException {
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag) {
                case (3 << 3) | WireFormat.WIRETYPE_VARINT -> modelType = in.readEnum();
                case (24 << 3) | WireFormat.WIRETYPE_VARINT -> treatWhitespaceAsSuffix = in.readBool();
                case (35 << 3) | WireFormat.WIRETYPE_VARINT -> byteFallback = in.readBool();
                case (40 << 3) | WireFormat.WIRETYPE_VARINT -> unkId = in.readInt32();
                default -> in.skipField(tag);
            }
        }
    }

    private void readNormalizerSpec(CodedInputStream in) throws IOException {
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag) {
                case (2 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED -> charsMap = in.readByteArray();
                case (3 << 3) | WireFormat.WIRETYPE_VARINT -> addDummyPrefix = in.readBool();
                case (4 << 3) | WireFormat.WIRETYPE_VARINT -> removeExtraWhitespaces = in.readBool();
                case (5 << 3) | WireFormat.WIRETYPE_VARINT -> escapeWhitespaces = in.readBool();
                default -> in.skipField(tag);
            }
        }
    }

    private void validate(Path file) {
        if (pieces.isEmpty()) {
            throw new TokenizerException(file + ": not a SentencePiece model (no pieces)");
        }
        if (modelType != 1) {
            throw new TokenizerException(file + ": SentencePiece model type " + modelType
                    + " is not supported (XLM-R uses the unigram model, type 1)");
        }
        if (unkId < 0 || unkId >= pieces.size() || types.get(unkId) != UNKNOWN) {
            throw new TokenizerException(file + ": unk_id " + unkId + " is not an UNKNOWN piece");
        }
        if (byteFallback) {
            throw new TokenizerException(file + ": byte_fallback models are not supported");
        }
        if (charsMap != null && charsMap.length > 0) {
            CharsMap.parse(charsMap, file.toString());
        }
    }
}
