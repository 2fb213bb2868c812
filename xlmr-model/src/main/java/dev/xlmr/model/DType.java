package dev.xlmr.model;

/** Element types of stored tensors, with their safetensors names and sizes in bytes. */
enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1),
    U16(2), U32(4), U64(8), F8_E4M3(1), F8_E5M2(1);

    final int size;

    DType(int size) {
        this.size = size;
    }

    /** Whether the model can read it as fp32 weights. */
    boolean isFloat() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** The safetensors dtype of that name, or null. */
    static DType ofSafetensors(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }

    /** The dtype of a torch storage class such as {@code FloatStorage}, or null. */
    static DType ofTorchStorage(String storageClass) {
        return switch (storageClass) {
            case "DoubleStorage" -> F64;
            case "FloatStorage" -> F32;
            case "HalfStorage" -> F16;
            case "BFloat16Storage" -> BF16;
            case "LongStorage" -> I64;
            case "IntStorage" -> I32;
            case "ShortStorage" -> I16;
            case "CharStorage" -> I8;
            case "ByteStorage" -> U8;
            case "BoolStorage" -> BOOL;
            default -> null;
        };
    }
}
