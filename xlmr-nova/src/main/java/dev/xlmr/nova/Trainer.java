package dev.xlmr.nova;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A DISCOVER/NOVA {@code .trainer} file: {@code <info>}, {@code <meta>} with its {@code <io>} children and
 * {@code <model>}. The server takes framing and options from the request; the trainer says which inputs
 * and outputs a module has and its default options.
 *
 * <pre>{@code
 * Trainer t = Trainer.read(root.resolve("modules\\xlm_roberta\\xlm_roberta.trainer"));
 * t.io("transcript").orElseThrow().data();          // "annotation:Free"
 * t.options().getFirst();                           // Option[name=batch_size, type=STRING, value=16]
 * }</pre>
 *
 * @param version ssi-v of the root
 * @param info    {@code <info>} attributes (trained, seed)
 * @param meta    {@code <meta>} attributes (backend, frameStep, leftContext, category, is_iterable...)
 * @param io      the {@code <io>} declarations in file order
 * @param model   {@code <model>} attributes (create, script, path, optstr)
 * @param options {@code optstr} parsed
 */
public record Trainer(int version, Map<String, String> info, Map<String, String> meta, List<Io> io,
                      Map<String, String> model, List<Option> options) {

    /**
     * An input or output of the module.
     *
     * @param type         {@code input} or {@code output}
     * @param id           its id, matched against the request's data entries
     * @param data         {@code annotation:Free}, {@code stream:SSIStream}, ...
     * @param defaultValue {@code default_value} or null
     */
    public record Io(String type, String id, String data, String defaultValue) {
        /** Whether this is an input. */
        public boolean isInput() {
            return "input".equalsIgnoreCase(type);
        }
    }

    /**
     * One option of {@code optstr="{batch_size:STRING:16}"}.
     *
     * @param name  option name
     * @param type  declared type (STRING, INT, FLOAT, BOOL...)
     * @param value default value as written
     */
    public record Option(String name, String type, String value) {}

    private static final Pattern BRACED = Pattern.compile("\\{([^:{}]*):([^:{}]*):([^{}]*)}");

    public Trainer {
        info = Collections.unmodifiableMap(new LinkedHashMap<>(info));
        meta = Collections.unmodifiableMap(new LinkedHashMap<>(meta));
        io = List.copyOf(io);
        model = Collections.unmodifiableMap(new LinkedHashMap<>(model));
        options = List.copyOf(options);
    }

    /** Reads a trainer file. */
    public static Trainer read(Path file) throws IOException {
        Xml root = Xml.parse(file);
        int version = root.version(file, "trainer", 1);
        Xml info = root.child("info");
        Xml meta = root.child("meta");
        Xml model = root.child("model");
        List<Io> io = new ArrayList<>();
        if (meta != null) {
            for (Xml e : meta.all("io")) {
                io.add(new Io(e.required(file, "type"), e.required(file, "id"), e.required(file, "data"),
                        e.attr("default_value")));
            }
        }
        List<Option> options;
        try {
            options = model == null ? List.of() : parseOptStr(model.attrs().getOrDefault("optstr", ""));
        } catch (IllegalArgumentException e) {
            throw NovaFormatException.atLine(file, model.line(), e.getMessage());
        }
        return new Trainer(version, info == null ? Map.of() : info.attrs(), meta == null ? Map.of() : meta.attrs(),
                io, model == null ? Map.of() : model.attrs(), options);
    }

    /**
     * Parses {@code {name:TYPE:value}} groups (optionally separated by {@code ;}); a plain {@code k=v;k=v}
     * string is accepted too, its values typed STRING.
     */
    public static List<Option> parseOptStr(String optstr) {
        String s = optstr == null ? "" : optstr.strip();
        List<Option> out = new ArrayList<>();
        if (s.isEmpty()) return out;
        if (s.startsWith("{")) {
            Matcher m = BRACED.matcher(s);
            int at = 0;
            while (m.find()) {
                if (!s.substring(at, m.start()).replace(";", "").isBlank()) break;
                out.add(new Option(m.group(1).strip(), m.group(2).strip(), m.group(3)));
                at = m.end();
            }
            if (!s.substring(at).replace(";", "").isBlank()) {
                throw new IllegalArgumentException("malformed optstr \"" + optstr + "\" at offset " + at);
            }
            return out;
        }
        for (String kv : s.split(";")) {
            if (kv.isBlank()) continue;
            int eq = kv.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("malformed optstr entry \"" + kv + "\"");
            out.add(new Option(kv.substring(0, eq).strip(), "STRING", kv.substring(eq + 1)));
        }
        return out;
    }

    /** The io declaration with this id. */
    public Optional<Io> io(String id) {
        return io.stream().filter(i -> i.id().equals(id)).findFirst();
    }

    /** The default options as a name -> value map. */
    public Map<String, String> defaultOptions() {
        Map<String, String> m = new LinkedHashMap<>();
        options.forEach(o -> m.put(o.name(), o.value()));
        return Collections.unmodifiableMap(m);
    }
}
