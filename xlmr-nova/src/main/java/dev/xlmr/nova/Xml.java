package dev.xlmr.nova;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/** Minimal element tree for the small SSI/NOVA XML headers (StAX keeps attribute order, DOM does not). */
record Xml(String name, Map<String, String> attrs, List<Xml> children, int line) {

    /** Headers are a few hundred bytes; anything far larger is not a header. */
    static final long MAX_HEADER_BYTES = 16L << 20;

    static Xml parse(Path file) throws IOException {
        String text = Texts.decode(Texts.readBounded(file, MAX_HEADER_BYTES));
        XMLInputFactory f = XMLInputFactory.newFactory();
        // untrusted input: no DTDs, no external entities
        f.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        f.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        try {
            XMLStreamReader r = f.createXMLStreamReader(new StringReader(text));
            try {
                List<Xml> stack = new ArrayList<>();
                Xml root = null;
                while (r.hasNext()) {
                    int ev = r.next();
                    if (ev == XMLStreamConstants.START_ELEMENT) {
                        Map<String, String> a = new LinkedHashMap<>();
                        for (int i = 0; i < r.getAttributeCount(); i++) {
                            a.put(r.getAttributeLocalName(i), r.getAttributeValue(i));
                        }
                        Xml e = new Xml(r.getLocalName(), a, new ArrayList<>(), r.getLocation().getLineNumber());
                        if (stack.isEmpty()) root = e; else stack.getLast().children.add(e);
                        stack.add(e);
                    } else if (ev == XMLStreamConstants.END_ELEMENT) {
                        stack.removeLast();
                    }
                }
                if (root == null) throw new NovaFormatException(file, "no root element");
                return root;
            } finally {
                r.close();
            }
        } catch (XMLStreamException e) {
            int line = e.getLocation() == null ? -1 : e.getLocation().getLineNumber();
            String msg = "malformed XML: " + e.getMessage();
            throw line > 0 ? NovaFormatException.atLine(file, line, msg) : new NovaFormatException(file, msg, e);
        }
    }

    Xml child(String n) {
        for (Xml c : children) if (c.name.equals(n)) return c;
        return null;
    }

    List<Xml> all(String n) {
        return children.stream().filter(c -> c.name.equals(n)).toList();
    }

    String attr(String n) {
        return attrs.get(n);
    }

    String required(Path file, String n) throws NovaFormatException {
        String v = attrs.get(n);
        if (v == null) throw NovaFormatException.atLine(file, line, "<" + name + "> lacks attribute " + n);
        return v;
    }

    long requiredLong(Path file, String n) throws NovaFormatException {
        String v = required(file, n).trim();
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw NovaFormatException.atLine(file, line, "<" + name + " " + n + "=\"" + v + "\"> is not an integer");
        }
    }

    double requiredDouble(Path file, String n) throws NovaFormatException {
        String v = required(file, n);
        try {
            return Texts.parseNumber(v);
        } catch (NumberFormatException e) {
            throw NovaFormatException.atLine(file, line, "<" + name + " " + n + "=\"" + v + "\"> is not a number");
        }
    }

    /** {@code ssi-v} of a root element, checked against the minimum version. */
    int version(Path file, String rootName, int min) throws NovaFormatException {
        if (!name.equals(rootName)) {
            throw NovaFormatException.atLine(file, line, "root element is <" + name + ">, expected <" + rootName + ">");
        }
        long v = requiredLong(file, "ssi-v");
        if (v < min) throw NovaFormatException.atLine(file, line, "ssi-v=" + v + " is not supported (need >= " + min + ")");
        return (int) Math.min(v, Integer.MAX_VALUE);
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\n' -> b.append("&#10;");
                case '\r' -> b.append("&#13;");
                case '\t' -> b.append("&#9;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** {@code  k="v"} for each attribute, in order. */
    static String attrs(Map<String, String> a) {
        StringBuilder b = new StringBuilder();
        a.forEach((k, v) -> b.append(' ').append(k).append("=\"").append(escape(v)).append('"'));
        return b.toString();
    }
}
