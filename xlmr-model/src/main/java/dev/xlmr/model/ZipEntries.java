package dev.xlmr.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The stored (uncompressed) entries of a zip file, as slices of its mapping. torch.save writes its
 * archive without compression, so each storage can be used in place; ZIP64 is read for files over
 * 4 GB. Every offset is checked against the file size.
 */
final class ZipEntries {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ZipEntries() {}

    /** Entry name to its data; throws when the zip is damaged or an entry is compressed. */
    static Map<String, MemorySegment> read(MemorySegment zip, String fileName) {
        long size = zip.byteSize();
        long eocd = -1;
        for (long p = size - 22; p >= Math.max(0, size - 22 - 65535); p--) {
            if (zip.get(U32, p) == 0x06054b50) {
                eocd = p;
                break;
            }
        }
        if (eocd < 0) {
            throw new CheckpointException(fileName + ": not a zip archive (no end of central directory);"
                    + " truncated, or a legacy torch file (re-save it with torch >= 1.6 or as safetensors)");
        }
        long count = u16(zip, eocd + 10);
        long cdSize = u32(zip, eocd + 12);
        long cdOffset = u32(zip, eocd + 16);
        if (count == 0xFFFF || cdSize == 0xFFFFFFFFL || cdOffset == 0xFFFFFFFFL) {
            long loc = eocd - 20;
            if (loc < 0 || zip.get(U32, loc) != 0x07064b50) {
                throw new CheckpointException(fileName + ": zip64 end record locator missing");
            }
            long rec = zip.get(U64, loc + 8);
            if (rec < 0 || rec > size - 56 || zip.get(U32, rec) != 0x06064b50) {
                throw new CheckpointException(fileName + ": zip64 end record out of range");
            }
            count = zip.get(U64, rec + 32);
            cdSize = zip.get(U64, rec + 40);
            cdOffset = zip.get(U64, rec + 48);
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > size || cdSize > size - cdOffset || count < 0
                || count > cdSize / 46) {
            throw new CheckpointException(fileName + ": zip central directory out of range");
        }
        Map<String, MemorySegment> entries = new LinkedHashMap<>();
        long p = cdOffset;
        long cdEnd = cdOffset + cdSize;
        for (long i = 0; i < count; i++) {
            if (p + 46 > cdEnd || zip.get(U32, p) != 0x02014b50) {
                throw new CheckpointException(fileName + ": damaged zip central directory entry " + i);
            }
            int method = u16(zip, p + 10);
            long compSize = u32(zip, p + 20);
            long uncompSize = u32(zip, p + 24);
            int nameLen = u16(zip, p + 28);
            int extraLen = u16(zip, p + 30);
            int commentLen = u16(zip, p + 32);
            long localOffset = u32(zip, p + 42);
            if (p + 46 + nameLen + extraLen + commentLen > cdEnd) {
                throw new CheckpointException(fileName + ": damaged zip central directory entry " + i);
            }
            String name = new String(zip.asSlice(p + 46, nameLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            // ZIP64 extra field: 64-bit values for the fields saturated above, in this order.
            long e = p + 46 + nameLen;
            long eEnd = e + extraLen;
            while (e + 4 <= eEnd) {
                int id = u16(zip, e);
                int len = u16(zip, e + 2);
                long q = e + 4;
                if (q + len > eEnd) {
                    break;
                }
                if (id == 0x0001) {
                    if (uncompSize == 0xFFFFFFFFL && q + 8 <= e + 4 + len) {
                        uncompSize = zip.get(U64, q);
                        q += 8;
                    }
                    if (compSize == 0xFFFFFFFFL && q + 8 <= e + 4 + len) {
                        compSize = zip.get(U64, q);
                        q += 8;
                    }
                    if (localOffset == 0xFFFFFFFFL && q + 8 <= e + 4 + len) {
                        localOffset = zip.get(U64, q);
                    }
                }
                e += 4 + len;
            }
            p += 46 + nameLen + extraLen + commentLen;
            if (localOffset < 0 || localOffset > size - 30 || zip.get(U32, localOffset) != 0x04034b50) {
                throw new CheckpointException(fileName + ": zip entry '" + name + "' has a bad local header offset");
            }
            long dataStart = localOffset + 30 + u16(zip, localOffset + 26) + u16(zip, localOffset + 28);
            if (compSize < 0 || dataStart > size || compSize > size - dataStart) {
                throw new CheckpointException(fileName + ": zip entry '" + name + "' runs past the end of the file");
            }
            if (method != 0 || compSize != uncompSize) {
                throw new CheckpointException(fileName + ": zip entry '" + name + "' is compressed;"
                        + " torch checkpoints store their entries uncompressed");
            }
            entries.put(name, zip.asSlice(dataStart, compSize));
        }
        return entries;
    }

    private static int u16(MemorySegment s, long at) {
        return s.get(U16, at) & 0xFFFF;
    }

    private static long u32(MemorySegment s, long at) {
        return s.get(U32, at) & 0xFFFFFFFFL;
    }
}
