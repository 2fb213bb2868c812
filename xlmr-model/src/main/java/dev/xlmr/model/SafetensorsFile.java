package dev.xlmr.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reader of the safetensors format: an 8-byte little-endian header length, a JSON header
 * {@code {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}}, then
 * the data. Every field is checked against the file before anything is sliced, because the file
 * may come from anywhere.
 */
final class SafetensorsFile {
    /** The safetensors library refuses headers over 100 MB too. */
    static final long MAX_HEADER = 100L << 20;

    private SafetensorsFile() {}

    /** Maps {@code file} into {@code arena} and returns its tensors by name, in header order. */
    static Map<String, StoredTensor> read(Path file, Arena arena) {
        MemorySegment all = MappedFiles.map(file, arena);
        return parse(all, file.getFileName().toString());
    }

    static Map<String, StoredTensor> parse(MemorySegment all, String fileName) {
        long size = all.byteSize();
        if (size < 8) {
            throw new CheckpointException(fileName + ": truncated safetensors file (" + size
                    + " bytes, the header length alone takes 8)");
        }
        long headerLen = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen < 2 || headerLen > MAX_HEADER || headerLen > size - 8) {
            throw new CheckpointException(fileName + ": safetensors header length " + Long.toUnsignedString(headerLen)
                    + " does not fit the file (" + size + " bytes)");
        }
        byte[] headerBytes = all.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = JsonTree.parse(JsonTree.utf8(headerBytes, fileName + ": safetensors header"));
        } catch (JsonProcessingException e) {
            throw new CheckpointException(fileName + ": safetensors header is not valid JSON: "
                    + e.getOriginalMessage());
        }
        if (header == null || !header.isObject()) {
            throw new CheckpointException(fileName + ": safetensors header is not a JSON object");
        }
        MemorySegment data = all.asSlice(8 + headerLen);
        long dataSize = data.byteSize();
        Map<String, StoredTensor> tensors = new LinkedHashMap<>();
        List<long[]> ranges = new ArrayList<>();
        List<String> rangeNames = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : header.properties()) {
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                continue;
            }
            JsonNode info = e.getValue();
            String where = fileName + ": tensor '" + name + "'";
            if (!info.isObject()) {
                throw new CheckpointException(where + " is not described by a JSON object");
            }
            JsonNode dtypeNode = info.get("dtype");
            DType dtype = dtypeNode == null ? null : DType.ofSafetensors(dtypeNode.asText());
            if (dtype == null) {
                throw new CheckpointException(where + " has unknown dtype "
                        + (dtypeNode == null ? "(none)" : dtypeNode.toString()));
            }
            JsonNode shapeNode = info.get("shape");
            if (shapeNode == null || !shapeNode.isArray()) {
                throw new CheckpointException(where + " has no shape array");
            }
            int[] shape = new int[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = shapeNode.get(i);
                if (!d.canConvertToInt() || !d.isIntegralNumber() || d.intValue() < 0) {
                    throw new CheckpointException(where + " has a bad dimension " + d);
                }
                shape[i] = d.intValue();
            }
            JsonNode offs = info.get("data_offsets");
            if (offs == null || !offs.isArray() || offs.size() != 2 || !offs.get(0).isIntegralNumber()
                    || !offs.get(1).isIntegralNumber() || !offs.get(0).canConvertToLong()
                    || !offs.get(1).canConvertToLong()) {
                throw new CheckpointException(where + " has no valid data_offsets [begin, end]");
            }
            long begin = offs.get(0).longValue();
            long end = offs.get(1).longValue();
            if (begin < 0 || end < begin) {
                throw new CheckpointException(where + " has bad data_offsets [" + begin + ", " + end + "]");
            }
            if (end > dataSize) {
                throw new CheckpointException(where + " ends at byte " + end + ", past the data ("
                        + dataSize + " bytes); the file is truncated or corrupt");
            }
            long bytes;
            try {
                bytes = Math.multiplyExact(Tensor.numel(shape), dtype.size);
            } catch (ArithmeticException ex) {
                throw new CheckpointException(where + " has a shape too large to address");
            }
            if (bytes != end - begin) {
                throw new CheckpointException(where + ": shape " + java.util.Arrays.toString(shape) + " x "
                        + dtype + " needs " + bytes + " bytes but data_offsets span " + (end - begin));
            }
            tensors.put(name, new StoredTensor(name, dtype, shape, data.asSlice(begin, end - begin), fileName));
            ranges.add(new long[] {begin, end, rangeNames.size()});
            rangeNames.add(name);
        }
        // Overlapping tensors would alias each other's bytes: the file was built by hand or damaged.
        ranges.sort(Comparator.comparingLong((long[] r) -> r[0]));
        long furthestEnd = 0;
        int furthest = -1;
        for (long[] r : ranges) {
            if (r[0] == r[1]) {
                continue; // empty tensors take no bytes
            }
            if (furthest >= 0 && r[0] < furthestEnd) {
                throw new CheckpointException(fileName + ": tensors '" + rangeNames.get(furthest) + "' and '"
                        + rangeNames.get((int) r[2]) + "' overlap in the data");
            }
            furthestEnd = r[1];
            furthest = (int) r[2];
        }
        return tensors;
    }
}
