package dev.xlmr.server;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.MongoCommandException;
import com.mongodb.MongoCredential;
import com.mongodb.MongoException;
import com.mongodb.MongoSecurityException;
import com.mongodb.ServerAddress;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import dev.xlmr.nova.FreeAnnotation;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.bson.types.ObjectId;

/**
 * The NOVA MongoDB as DISCOVER's {@code nova_db_handler} uses it: one database per dataset with the
 * collections {@code Sessions}, {@code Schemes}, {@code Annotators}, {@code Roles}, {@code Annotations}
 * (ids of those four and {@code data_id}), {@code AnnotationData} ({@code labels}) and {@code Streams}.
 *
 * <p>FREE labels are {@code {from, to, name, conf}} in seconds; they become integer ms by truncation as
 * in discover-utils. A session's {@code duration} (seconds; 0 or missing = unknown) is DISCOVER's D.
 * A server that knows no authentication at all (it answers {@code saslStart} with CommandNotFound) is
 * used without the credentials, which it could not check anyway.
 *
 * <pre>{@code
 * try (NovaDb db = NovaDb.connect("127.0.0.1", 27017, "user", "secret")) {
 *     FreeAnnotation t = db.readFree("dataset", "session1", "transcript", "gold", "speaker");
 *     db.saveStream("dataset", "xlmr", 25.0, "stream");
 * }
 * }</pre>
 */
final class NovaDb implements AutoCloseable {
    static final String SESSIONS = "Sessions", SCHEMES = "Schemes", ANNOTATORS = "Annotators", ROLES = "Roles",
            ANNOTATIONS = "Annotations", ANNOTATION_DATA = "AnnotationData", STREAMS = "Streams";

    /** A session of the dataset: its name and D in ms (-1 when the database does not know it). */
    record Session(String name, long durationMs) {}

    private final MongoClient client;
    private final String where;

    private NovaDb(MongoClient client, String where) {
        this.client = client;
        this.where = where;
    }

    /**
     * Connects (and pings, within 3 s as DISCOVER) to {@code host:port}, or to {@code host} when it is a
     * {@code mongodb://} connection string. Empty user means no credentials.
     *
     * @throws IOException with a one-line reason when the server cannot be reached or refuses the user
     */
    static NovaDb connect(String host, int port, String user, String password) throws IOException {
        String where = host + ":" + port;
        MongoCredential credential = user == null || user.isEmpty() ? null
                : MongoCredential.createCredential(user, "admin", (password == null ? "" : password).toCharArray());
        try {
            return open(host, port, credential, where);
        } catch (MongoSecurityException e) {
            if (credential != null && e.getCause() instanceof MongoCommandException c && c.getErrorCode() == 59) {
                return open(host, port, null, where); // no authentication on that server
            }
            throw new IOException("MongoDB at " + where + " refused user " + user + ": " + message(e), e);
        } catch (MongoException e) {
            throw new IOException("cannot reach MongoDB at " + where + ": " + message(e), e);
        }
    }

    private static NovaDb open(String host, int port, MongoCredential credential, String where) {
        MongoClientSettings.Builder b = MongoClientSettings.builder();
        String h = host.strip();
        if (h.startsWith("mongodb://") || h.startsWith("mongodb+srv://")) {
            b.applyConnectionString(new ConnectionString(h));
        } else {
            b.applyToClusterSettings(c -> c.hosts(List.of(new ServerAddress(h, port))));
        }
        b.applyToClusterSettings(c -> c.serverSelectionTimeout(3, TimeUnit.SECONDS))
                .applyToSocketSettings(s -> s.connectTimeout(3, TimeUnit.SECONDS));
        if (credential != null) b.credential(credential);
        MongoClient client = MongoClients.create(b.build());
        try {
            client.getDatabase("admin").runCommand(new Document("ping", 1));
            return new NovaDb(client, where);
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    private static String message(Throwable e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    private MongoDatabase db(String dataset) {
        return client.getDatabase(dataset);
    }

    /** The named sessions in the order asked; names the dataset lacks are left out. */
    List<Session> sessions(String dataset, List<String> names) {
        Map<String, Session> found = new java.util.HashMap<>();
        for (Document d : db(dataset).getCollection(SESSIONS).find(Filters.in("name", names))) {
            Object dur = d.get("duration");
            long ms = dur instanceof Number n && n.doubleValue() > 0 ? (long) Math.floor(n.doubleValue() * 1000.0) : -1;
            found.put(d.getString("name"), new Session(d.getString("name"), ms));
        }
        List<Session> out = new ArrayList<>();
        for (String n : names) if (found.containsKey(n)) out.add(found.get(n));
        return out;
    }

    private ObjectId id(MongoDatabase db, String collection, String name, String what, String dataset) throws IOException {
        Document d = db.getCollection(collection).find(Filters.eq("name", name)).first();
        if (d == null) throw new IOException("dataset " + dataset + " has no " + what + " \"" + name + "\"");
        return d.getObjectId("_id");
    }

    /**
     * The FREE annotation of a session for scheme, annotator and role.
     *
     * @throws IOException naming what is missing, or when the scheme is not FREE
     */
    FreeAnnotation readFree(String dataset, String session, String scheme, String annotator, String role) throws IOException {
        MongoDatabase db = db(dataset);
        ObjectId schemeId = id(db, SCHEMES, scheme, "scheme", dataset);
        ObjectId sessionId = id(db, SESSIONS, session, "session", dataset);
        ObjectId roleId = id(db, ROLES, role, "role", dataset);
        ObjectId annotatorId = id(db, ANNOTATORS, annotator, "annotator", dataset);
        Document schemeDoc = db.getCollection(SCHEMES).find(Filters.eq("_id", schemeId)).first();
        String type = schemeDoc == null ? "" : String.valueOf(schemeDoc.get("type")).toUpperCase(Locale.ROOT);
        if (!type.equals("FREE")) throw new IOException("scheme " + scheme + " is " + type + ", the module reads a FREE transcript");
        String what = "dataset: " + dataset + " session: " + session + " annotator: " + annotator + " role: " + role
                + " scheme: " + scheme;
        Document anno = db.getCollection(ANNOTATIONS).find(Filters.and(Filters.eq("session_id", sessionId),
                Filters.eq("annotator_id", annotatorId), Filters.eq("role_id", roleId), Filters.eq("scheme_id", schemeId))).first();
        if (anno == null || anno.get("data_id") == null) throw new IOException("Annotation not found " + what);
        Document data = db.getCollection(ANNOTATION_DATA).find(Filters.eq("_id", anno.get("data_id"))).first();
        if (data == null) throw new IOException("Annotation not found " + what + " (no AnnotationData)");
        List<FreeAnnotation.Label> labels = new ArrayList<>();
        List<?> raw = data.getList("labels", Object.class, List.of());
        for (int i = 0; i < raw.size(); i++) {
            if (!(raw.get(i) instanceof Document l) || !(l.get("from") instanceof Number from)
                    || !(l.get("to") instanceof Number to)) {
                throw new IOException("label " + (i + 1) + " of " + what + " lacks numeric from/to");
            }
            Object name = l.get("name");
            float conf = l.get("conf") instanceof Number c ? c.floatValue() : 1f;
            labels.add(new FreeAnnotation.Label(from.doubleValue(), to.doubleValue(), name == null ? "" : name.toString(), conf));
        }
        return FreeAnnotation.of(scheme, labels);
    }

    /**
     * Inserts or updates (matched by name) the dataset's {@code Streams} document as discover-utils'
     * StreamHandler.save: {@code {fileExt, name, sr, type, dimlabels, isValid}}.
     */
    void saveStream(String dataset, String name, double sr, String fileExt) {
        MongoCollection<Document> streams = db(dataset).getCollection(STREAMS);
        Document doc = new Document("fileExt", fileExt).append("name", name).append("sr", sr)
                // the xlm_roberta module's SSIStream has no media type and no dim labels
                .append("type", "").append("dimlabels", List.of()).append("isValid", true);
        Document existing = streams.find(Filters.eq("name", name)).first();
        if (existing != null) streams.updateOne(Filters.eq("_id", existing.get("_id")), new Document("$set", doc));
        else streams.insertOne(doc);
    }

    @Override
    public void close() {
        client.close();
    }

    @Override
    public String toString() {
        return "MongoDB at " + where;
    }
}
