package dev.xlmr.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A restricted unpickler for the {@code data.pkl} of a torch checkpoint. Like torch's weights-only
 * loader it knows a fixed set of opcodes and globals and builds plain data from them: it never
 * resolves or calls anything else, so a pickle asking for {@code os.system} is refused by name
 * instead of run. Tensors come out as {@link TensorRef}s to be resolved against the archive.
 */
final class TorchPickle {
    /** A {@code torch.*Storage} named by a persistent id: its dtype, archive key and element count. */
    record StorageRef(DType dtype, String key, long numel) {}

    /** A tensor made by {@code _rebuild_tensor_v2}: a view of a storage. */
    record TensorRef(StorageRef storage, long offset, int[] shape, long[] stride) {}

    private record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    private record Tuple(List<Object> items) {}

    private static final Object MARK = new Object();
    private static final Object NONE = new Object();

    /**
     * At most this many opcodes (each builds at most one value): a state dict of 100k tensors needs
     * under 2M, and the cap bounds the heap a hostile pickle can take (tens of bytes per value).
     */
    static final long MAX_OPCODES = 8_000_000;

    /** Callables that REDUCE may apply; the storage classes are allowed as persistent-id tags only. */
    static final Set<String> ALLOWED_CALLABLES = Set.of(
            "collections.OrderedDict",
            "torch._utils._rebuild_tensor",
            "torch._utils._rebuild_tensor_v2",
            "torch._utils._rebuild_parameter",
            "torch._utils._rebuild_parameter_with_state");

    private final MemorySegment pkl;
    private final String where;
    private long pos;
    private final List<Object> stack = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private long built;

    private TorchPickle(MemorySegment pkl, String where) {
        this.pkl = pkl;
        this.where = where;
    }

    /** Unpickles a state dict; returns its tensors by name (other values are dropped). */
    static Map<String, TensorRef> load(MemorySegment pkl, String where) {
        Object root = new TorchPickle(pkl, where).run();
        if (!(root instanceof Map<?, ?> map)) {
            throw new CheckpointException(where + ": the pickle holds no state dict (a dict of tensors)");
        }
        Map<String, TensorRef> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (e.getKey() instanceof String k && e.getValue() instanceof TensorRef t) {
                out.put(k, t);
            }
        }
        return out;
    }

    private CheckpointException error(String message) {
        return new CheckpointException(where + ": " + message);
    }

    private int u8() {
        if (pos >= pkl.byteSize()) {
            throw error("truncated pickle");
        }
        return pkl.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF;
    }

    private long le(int n) {
        need(n);
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (long) (pkl.get(ValueLayout.JAVA_BYTE, pos + i) & 0xFF) << (8 * i);
        }
        pos += n;
        return v;
    }

    private void need(long n) {
        if (n < 0 || n > pkl.byteSize() - pos) {
            throw error("truncated pickle (" + n + " bytes wanted at offset " + pos + ")");
        }
    }

    private String utf8(long n) {
        need(n);
        String s = new String(pkl.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        pos += n;
        return s;
    }

    private String line() {
        long start = pos;
        while (u8() != '\n') {
            // scan
        }
        return new String(pkl.asSlice(start, pos - 1 - start).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    private Object pop() {
        if (stack.isEmpty()) {
            throw error("pickle stack underflow at offset " + pos);
        }
        Object o = stack.remove(stack.size() - 1);
        if (o == MARK) {
            throw error("unexpected mark at offset " + pos);
        }
        return o;
    }

    private Object top() {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) {
            throw error("pickle stack underflow at offset " + pos);
        }
        return stack.get(stack.size() - 1);
    }

    /** Pops everything above the topmost mark, and the mark. */
    private List<Object> popMark() {
        int m = stack.lastIndexOf(MARK);
        if (m < 0) {
            throw error("pickle mark missing at offset " + pos);
        }
        List<Object> items = new ArrayList<>(stack.subList(m + 1, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private Object run() {
        while (true) {
            long at = pos;
            int op = u8();
            if (++built > MAX_OPCODES) {
                throw error("the pickle has more than " + MAX_OPCODES + " opcodes; a state dict needs far fewer");
            }
            switch (op) {
                case 0x80 -> u8(); // PROTO
                case 0x95 -> le(8); // FRAME: only a read-ahead hint
                case '.' -> { // STOP
                    Object result = pop();
                    return result == NONE ? null : result;
                }
                case '(' -> stack.add(MARK);
                case '}' -> stack.add(new LinkedHashMap<Object, Object>());
                case ']' -> stack.add(new ArrayList<Object>());
                case ')' -> stack.add(new Tuple(List.of()));
                case 't' -> stack.add(new Tuple(popMark()));
                case 0x85 -> stack.add(new Tuple(List.of(pop())));
                case 0x86 -> {
                    Object b = pop();
                    Object a = pop();
                    stack.add(new Tuple(List.of(a, b)));
                }
                case 0x87 -> {
                    Object c = pop();
                    Object b = pop();
                    Object a = pop();
                    stack.add(new Tuple(List.of(a, b, c)));
                }
                case 'q' -> memo.put((long) u8(), top()); // BINPUT
                case 'r' -> memo.put(le(4), top()); // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), top()); // MEMOIZE
                case 'h', 'j' -> { // BINGET, LONG_BINGET
                    long key = op == 'h' ? u8() : le(4);
                    Object v = memo.get(key);
                    if (v == null) {
                        throw error("pickle refers to memo " + key + " that was never stored");
                    }
                    stack.add(v);
                }
                case 'J' -> stack.add((long) (int) le(4)); // BININT (signed)
                case 'K' -> stack.add((long) u8()); // BININT1
                case 'M' -> stack.add(le(2)); // BININT2
                case 0x8a -> { // LONG1
                    int n = u8();
                    if (n > 8) {
                        throw error("integer of " + n + " bytes is too large");
                    }
                    long v = le(n);
                    if (n > 0 && n < 8 && (v >>> (8 * n - 1) & 1) == 1) {
                        v |= -1L << (8 * n); // sign-extend
                    }
                    stack.add(v);
                }
                case 'G' -> { // BINFLOAT, big-endian
                    need(8);
                    stack.add(pkl.get(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), pos));
                    pos += 8;
                }
                case 'X' -> stack.add(utf8(le(4))); // BINUNICODE
                case 0x8c -> stack.add(utf8(u8())); // SHORT_BINUNICODE
                case 0x8d -> stack.add(utf8(le(8))); // BINUNICODE8
                case 'N' -> stack.add(NONE);
                case 0x88 -> stack.add(Boolean.TRUE);
                case 0x89 -> stack.add(Boolean.FALSE);
                case 's' -> { // SETITEM
                    Object v = pop();
                    Object k = key(pop(), at);
                    dict(top()).put(k, v);
                }
                case 'u' -> { // SETITEMS
                    List<Object> kv = popMark();
                    Map<Object, Object> d = dict(top());
                    if (kv.size() % 2 != 0) {
                        throw error("odd number of items for SETITEMS at offset " + at);
                    }
                    for (int i = 0; i < kv.size(); i += 2) {
                        d.put(key(kv.get(i), at), kv.get(i + 1));
                    }
                }
                case 'a' -> { // APPEND
                    Object v = pop();
                    list(top()).add(v);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    list(top()).addAll(items);
                }
                case 'c' -> stack.add(global(line(), line())); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw error("STACK_GLOBAL needs two strings at offset " + at);
                    }
                    stack.add(global(m, n));
                }
                case 'Q' -> stack.add(persistentLoad(pop())); // BINPERSID
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object fn = pop();
                    stack.add(reduce(fn, args));
                }
                case 'b' -> { // BUILD: only an OrderedDict's state (its _metadata), which is dropped
                    pop();
                    if (!(top() instanceof Map<?, ?>)) {
                        throw error("BUILD on " + describe(top()) + " is not allowed");
                    }
                }
                default -> throw error(String.format(
                        "unsupported pickle opcode 0x%02x at offset %d (only the opcodes of a torch state dict are accepted)",
                        op, at));
            }
        }
    }

    /**
     * A dict key: only strings, numbers, booleans and None. Containers are refused: Python cannot hash a
     * dict or list either, and hashing a container that holds itself (or one nested a million deep, or a
     * tuple DAG built through the memo) would recurse without bound or take exponential time.
     */
    private Object key(Object k, long at) {
        if (k instanceof String || k instanceof Long || k instanceof Double || k instanceof Boolean || k == NONE) {
            return k;
        }
        throw error("a dict key at offset " + at + " is a " + describe(k)
                + "; a weights file keys its dicts by strings or numbers");
    }

    private Object global(String module, String name) {
        String q = module + "." + name;
        boolean storage = module.equals("torch") && DType.ofTorchStorage(name) != null;
        if (!storage && !ALLOWED_CALLABLES.contains(q)) {
            throw error("the pickle asks for the global '" + q + "', which is not allowed in a weights file"
                    + " (only torch tensor, storage and OrderedDict types are); refusing to load it");
        }
        return new Global(module, name);
    }

    private Object persistentLoad(Object pid) {
        // ('storage', torch.FloatStorage, key, location, numel)
        if (pid instanceof Tuple(List<Object> t) && t.size() == 5 && "storage".equals(t.get(0))
                && t.get(1) instanceof Global g && t.get(2) instanceof String key && t.get(4) instanceof Long n) {
            DType dtype = DType.ofTorchStorage(g.name());
            if (dtype == null || n < 0) {
                throw error("bad storage reference " + g.qualified());
            }
            return new StorageRef(dtype, key, n);
        }
        throw error("unknown persistent id " + describe(pid));
    }

    private Object reduce(Object fn, Object args) {
        if (!(fn instanceof Global g) || !ALLOWED_CALLABLES.contains(g.qualified())) {
            throw error("REDUCE of " + describe(fn) + " is not allowed");
        }
        if (!(args instanceof Tuple(List<Object> a))) {
            throw error("REDUCE of " + g.qualified() + " without an argument tuple");
        }
        return switch (g.name()) {
            case "OrderedDict" -> new LinkedHashMap<Object, Object>();
            case "_rebuild_tensor", "_rebuild_tensor_v2" -> {
                if (a.size() < 4 || !(a.get(0) instanceof StorageRef s) || !(a.get(1) instanceof Long off)) {
                    throw error(g.name() + " with unexpected arguments");
                }
                long[] size = longs(a.get(2));
                long[] stride = longs(a.get(3));
                if (size.length != stride.length) {
                    throw error(g.name() + ": size and stride differ in rank");
                }
                int[] shape = new int[size.length];
                for (int i = 0; i < size.length; i++) {
                    if (size[i] < 0 || size[i] > Integer.MAX_VALUE) {
                        throw error("tensor dimension " + size[i] + " out of range");
                    }
                    shape[i] = (int) size[i];
                }
                yield new TensorRef(s, off, shape, stride);
            }
            case "_rebuild_parameter", "_rebuild_parameter_with_state" -> {
                if (a.isEmpty() || !(a.get(0) instanceof TensorRef t)) {
                    throw error(g.name() + " without a tensor");
                }
                yield t;
            }
            default -> throw error("REDUCE of " + g.qualified() + " is not allowed");
        };
    }

    private long[] longs(Object o) {
        if (!(o instanceof Tuple(List<Object> items))) {
            throw error("expected a tuple of integers, got " + describe(o));
        }
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(items.get(i) instanceof Long v)) {
                throw error("expected a tuple of integers, got " + describe(o));
            }
            out[i] = v;
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o) {
        if (o instanceof Map<?, ?> m) {
            return (Map<Object, Object>) m;
        }
        throw error("expected a dict, got " + describe(o));
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) {
        if (o instanceof ArrayList<?> l) {
            return (List<Object>) l;
        }
        throw error("expected a list, got " + describe(o));
    }

    private static String describe(Object o) {
        if (o instanceof Global g) {
            return "'" + g.qualified() + "'";
        }
        return switch (o) {
            case null -> "None";
            case Map<?, ?> m -> "dict";
            case ArrayList<?> l -> "list";
            case Tuple t -> "tuple";
            case String str -> "str";
            case Long l -> "int";
            case Double d -> "float";
            case Boolean b -> "bool";
            case TensorRef t -> "tensor";
            case StorageRef st -> "storage";
            default -> o == NONE ? "None" : o.getClass().getSimpleName();
        };
    }
}
