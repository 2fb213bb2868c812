package dev.xlmr.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reader of {@code pytorch_model.bin} as written by torch.save (torch >= 1.6): a zip holding
 * {@code <name>/data.pkl} and one raw little-endian storage per tensor under {@code <name>/data/}.
 * The pickle goes through {@link TorchPickle}; each tensor becomes a slice of the mapped file.
 */
final class TorchCheckpoint {
    private TorchCheckpoint() {}

    static Map<String, StoredTensor> read(Path file, Arena arena) {
        return parse(MappedFiles.map(file, arena), file.getFileName().toString());
    }

    static Map<String, StoredTensor> parse(MemorySegment all, String fileName) {
        Map<String, MemorySegment> entries = ZipEntries.read(all, fileName);
        String pklName = null;
        for (String name : entries.keySet()) {
            if (name.endsWith("/data.pkl") && name.indexOf('/') == name.length() - "/data.pkl".length()) {
                pklName = name;
                break;
            }
        }
        if (pklName == null) {
            throw new CheckpointException(fileName + ": a zip without data.pkl is not a torch checkpoint");
        }
        String root = pklName.substring(0, pklName.length() - "data.pkl".length());
        MemorySegment byteorder = entries.get(root + "byteorder");
        if (byteorder != null) {
            String order = new String(byteorder.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).trim();
            if (!order.equals("little")) {
                throw new CheckpointException(fileName + ": storages are " + order + "-endian; only little-endian is supported");
            }
        }
        String where = fileName + " (" + pklName + ")";
        Map<String, TorchPickle.TensorRef> refs = TorchPickle.load(entries.get(pklName), where);
        Map<String, StoredTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, TorchPickle.TensorRef> e : refs.entrySet()) {
            String name = e.getKey();
            TorchPickle.TensorRef t = e.getValue();
            String what = fileName + ": tensor '" + name + "'";
            MemorySegment storage = entries.get(root + "data/" + t.storage().key());
            if (storage == null) {
                throw new CheckpointException(what + " refers to storage " + t.storage().key() + ", absent from the archive");
            }
            int es = t.storage().dtype().size;
            long storageBytes;
            long numel;
            try {
                storageBytes = Math.multiplyExact(t.storage().numel(), es);
                numel = Tensor.numel(t.shape());
            } catch (ArithmeticException | IllegalArgumentException ex) {
                throw new CheckpointException(what + " has a shape too large to address");
            }
            // torch.save writes each storage as exactly numel x element size bytes: any other size means the
            // declared dtype is not the data's (a FloatStorage relabelled HalfStorage would read as garbage).
            if (storageBytes != storage.byteSize()) {
                throw new CheckpointException(what + ": storage " + t.storage().key() + " is declared as "
                        + t.storage().numel() + " x " + t.storage().dtype() + " (" + storageBytes
                        + " bytes), the archive has " + storage.byteSize() + " bytes; its dtype or size is wrong");
            }
            // Weights saved by save_pretrained are contiguous; a strided view would need a copy.
            long expect = 1;
            for (int i = t.shape().length - 1; i >= 0; i--) {
                if (t.shape()[i] != 1 && t.stride()[i] != expect) {
                    throw new CheckpointException(what + " is not contiguous (stride "
                            + java.util.Arrays.toString(t.stride()) + "); save it with .contiguous()");
                }
                expect *= t.shape()[i];
            }
            if (t.offset() < 0 || t.offset() > t.storage().numel() || numel > t.storage().numel() - t.offset()) {
                throw new CheckpointException(what + " reaches past the end of its storage");
            }
            MemorySegment bytes = storage.asSlice(t.offset() * es, numel * es);
            out.put(name, new StoredTensor(name, t.storage().dtype(), t.shape(), bytes, fileName));
        }
        return out;
    }
}
