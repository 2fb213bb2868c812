package dev.xlmr.server;

import java.io.IOException;
import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The HTTP server: text-embeddings-inference's API and OpenAI's {@code /v1/embeddings} over an
 * {@link InferenceService}, and with a NOVA data folder the NOVA/DISCOVER processing API, on Jetty 12 with
 * request handlers on virtual threads. Model work from all requests goes through one
 * {@link DynamicBatcher}.
 *
 * <p>{@link #close()} (also run on SIGTERM by {@code ./xlmr serve}) stops accepting connections, lets the
 * requests in flight finish (up to {@link ServerOptions#shutdownTimeoutMs()}), cancels NOVA jobs, drains
 * the batcher and returns. The service stays open: its owner closes it.
 *
 * <pre>{@code
 * try (InferenceService model = LocalInferenceService.load(Path.of("testdata/xlmr-base"), "xlmr-base", 0);
 *      XlmrServer server = XlmrServer.start(model, ServerOptions.defaults().port(0))) {
 *     URI base = server.uri();   // http://127.0.0.1:PORT/
 *     server.join();
 * }
 * }</pre>
 */
public final class XlmrServer implements AutoCloseable {

    /** A route's handler; it answers through the exchange or throws {@link ApiException}. */
    interface Route {
        void handle(Exchange ex) throws Exception;
    }

    private final Server jetty;
    private final ServerConnector connector;
    private final DynamicBatcher batcher;
    private final ServerMetrics metrics;
    private final NovaRoutes nova;
    private final Map<String, Route> routes = new HashMap<>();
    private final long payloadLimit;
    private final ServerOptions options;
    private final byte[] bearer;
    private volatile boolean closed;

    /** Routes open without the API key, as TEI's public routes (health, metrics) and its documentation. */
    private static final java.util.Set<String> PUBLIC = java.util.Set.of("GET /health", "GET /", "GET /ping", "GET /metrics",
            "GET /docs", "GET /api-doc/openapi.json");

    private XlmrServer(InferenceService service, ServerOptions options, NovaOptions novaOptions) throws IOException {
        DynamicBatcher[] holder = new DynamicBatcher[1];
        this.metrics = new ServerMetrics(() -> holder[0] == null ? 0 : holder[0].queueDepth(), service.info().maxInputLength());
        this.batcher = holder[0] = new DynamicBatcher(options.maxBatchTokens(), options.maxWaitMs(), options.maxQueue(), metrics);
        this.payloadLimit = options.payloadLimit();
        this.options = options;
        this.bearer = options.apiKey() == null ? null
                : ("Bearer " + options.apiKey()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        new TeiRoutes(service, batcher, metrics, options).register(routes);
        ApiDoc.register(routes);
        this.nova = options.novaRoot() == null ? null : new NovaRoutes(service, batcher, options, novaOptions);
        if (nova != null) nova.register(routes);

        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("xlmr-http");
        threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        jetty = new Server(threads);
        connector = options.tlsCert() == null ? new ServerConnector(jetty)
                : Tls.connector(jetty, Tls.server(options.tlsCert(), options.tlsKey()));
        connector.setHost(options.host());
        connector.setPort(options.port());
        // the idle timeout restarts on every byte: slow senders are closed by the guard
        connector.addEventListener(new SlowClientGuard());
        jetty.addConnector(connector);
        jetty.setHandler(new GracefulHandler(new Router()));
        jetty.setStopTimeout(options.shutdownTimeoutMs());
        jetty.setStopAtShutdown(false); // ./xlmr serve stops it in order on SIGTERM
    }

    /**
     * Starts a server; returns once it listens.
     *
     * @throws IOException when the port cannot be bound or the NOVA folder is unusable
     */
    public static XlmrServer start(InferenceService service, ServerOptions options) throws IOException {
        return start(service, options, NovaOptions.defaults());
    }

    /** {@link #start(InferenceService, ServerOptions)} with the NOVA routes' modules folder and job memory limit. */
    public static XlmrServer start(InferenceService service, ServerOptions options, NovaOptions nova) throws IOException {
        XlmrServer s = new XlmrServer(service, options, nova);
        try {
            s.jetty.start();
        } catch (Exception e) {
            s.close();
            throw e instanceof IOException io ? io : new IOException("cannot start the server: " + e.getMessage(), e);
        }
        return s;
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return connector.getLocalPort();
    }

    /** {@code http://host:port/} ({@code https://} with TLS). */
    public URI uri() {
        String host = connector.getHost() == null ? "127.0.0.1" : connector.getHost();
        return URI.create((options.tlsCert() == null ? "http://" : "https://") + (host.contains(":") ? "[" + host + "]" : host) + ":" + port() + "/");
    }

    /** Waits until the server has stopped. */
    public void join() throws InterruptedException {
        jetty.join();
    }

    /** Stops gracefully: no new connections, requests in flight finish, jobs are cancelled, the batcher drains. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            jetty.stop();
        } catch (Exception e) {
            System.err.println("xlmr: stopping the HTTP server: " + e.getMessage());
        }
        if (nova != null) nova.close();
        batcher.close();
    }

    private final class Router extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            long start = System.nanoTime();
            Exchange ex = new Exchange(request, response, callback, payloadLimit);
            String path = ex.path();
            String method = request.getMethod();
            // OpenAI's clients read OpenAI's error shape; everything else gets TEI's
            boolean openAi = path.startsWith("/v1/") || path.equals("/embeddings");
            Route route = routes.get(method + " " + path);
            String label = path;
            if (route == null && nova != null && method.equals("GET") && path.startsWith("/log/")) {
                route = nova::logText;
                label = "/log/{jobID}";
            }
            if (options.tlsCert() != null && !request.isSecure()) {
                // plain HTTP on the HTTPS port: DISCOVER's answer (its before_request hook with --use_tls)
                label = "plain_http";
                ex.drain(1 << 20);
                ex.header("Connection", "close");
                ex.sendText(426, Tls.PLAIN_HTTP_ANSWER, "text/html; charset=utf-8");
                metrics.request(label, ex.status(), (System.nanoTime() - start) / 1e9);
                return true;
            }
            try {
                boolean preflight = cors(ex, method);
                if (preflight) {
                    label = "preflight";
                    ex.send(200, null, new byte[0]);
                } else {
                    if (route == null) {
                        label = "other";
                        boolean otherMethod = routes.keySet().stream().anyMatch(k -> k.endsWith(" " + path));
                        throw otherMethod ? new ApiException(405, "validation", method + " is not allowed on " + path)
                                : new ApiException(404, "not_found", "no route " + path);
                    }
                    if (bearer != null && !PUBLIC.contains(method + " " + path) && !authorized(ex)) {
                        throw new ApiException(401, "unauthorized", "missing or wrong API key: send the header "
                                + "\"Authorization: Bearer <key>\"");
                    }
                    route.handle(ex);
                }
            } catch (ApiException e) {
                answer(ex, e, openAi);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                answer(ex, new ApiException(503, "unhealthy", "interrupted"), openAi);
            } catch (Exception | Error e) {
                answer(ex, failure(e), openAi);
            }
            metrics.request(label, ex.status(), (System.nanoTime() - start) / 1e9);
            return true;
        }

        private boolean authorized(Exchange ex) {
            String h = ex.requestHeader("Authorization");
            return h != null && java.security.MessageDigest.isEqual(bearer, h.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        /**
         * CORS as TEI's layer: GET and POST from any origin, or from the {@code --cors-allow-origin} list; a
         * preflight ({@code OPTIONS} with {@code Access-Control-Request-Method}) is answered here. Returns
         * whether the request was a preflight.
         */
        private boolean cors(Exchange ex, String method) {
            String origin = ex.requestHeader("Origin");
            boolean preflight = method.equals("OPTIONS") && ex.requestHeader("Access-Control-Request-Method") != null;
            if (origin != null) {
                List<String> allowed = options.corsAllowOrigins();
                if (allowed == null || allowed.contains("*")) {
                    ex.header("Access-Control-Allow-Origin", "*");
                } else {
                    ex.header("Vary", "Origin");
                    if (allowed.contains(origin)) ex.header("Access-Control-Allow-Origin", origin);
                }
                if (preflight) {
                    ex.header("Access-Control-Allow-Methods", "GET,POST");
                    ex.header("Access-Control-Allow-Headers", "content-type,authorization");
                    ex.header("Access-Control-Max-Age", "3600");
                }
            }
            return preflight;
        }

        private void answer(Exchange ex, ApiException e, boolean openAi) {
            if (ex.teiMethod() != null) metrics.teiCount("te_request_failure", "err", teiFailure(e));
            if (ex.status() == 0) {
                if (!ex.drain(Math.max(16L << 20, 4 * payloadLimit))) ex.header("Connection", "close");
                if (e.status() == 401) ex.header("WWW-Authenticate", "Bearer");
                if (openAi) ex.sendOpenAiError(e);
                else ex.sendError(e);
            } else {
                System.err.println("xlmr: error after the answer was sent: " + e.getMessage());
            }
        }
    }

    /** TEI's {@code err} label of {@code te_request_failure} for an error answer. */
    static String teiFailure(ApiException e) {
        if (e.getMessage() != null && e.getMessage().startsWith("batch size ")) return "batch_size";
        if (e.errorType().equals("tokenizer")) return "tokenization";
        if (e.errorType().equals("overloaded")) return "overloaded";
        if (e.status() == 424) return "model_type";
        if (e.status() >= 500) return "inference";
        return "validation";
    }

    private static final java.util.regex.Pattern DIRECTORIES = java.util.regex.Pattern.compile("(?<![\\w.])/(?:[^/\\s:'\"]+/)+");

    /**
     * The answer to an unexpected failure: a tokenizer that cannot encode the input (a regex over its
     * step budget) is the input's problem (400); a damaged model (NaN in an output) is 500 "backend"
     * with its own one-line message; anything else is 500 without its internal text (logged on
     * stderr for the operator). Messages never show the server's folders, only file names.
     */
    static ApiException failure(Throwable e) {
        Throwable c = e instanceof IllegalStateException && e.getCause() instanceof Error err ? err : e;
        if (c instanceof dev.xlmr.tokenizer.TokenizerException) {
            return new ApiException(400, "validation", "the input cannot be tokenized: " + clean(c.getMessage()));
        }
        if (c instanceof dev.xlmr.model.CheckpointException) {
            return new ApiException(500, "backend", clean(c.getMessage()));
        }
        System.err.println("xlmr: internal error: " + c);
        return new ApiException(500, "backend", "internal error (" + c.getClass().getSimpleName() + ")");
    }

    /** First line, absolute folders cut to the file name, at most 300 chars. */
    static String clean(String message) {
        String m = message == null ? "" : message.lines().findFirst().orElse("");
        m = DIRECTORIES.matcher(m).replaceAll("");
        return m.length() <= 300 ? m : m.substring(0, 300) + "...";
    }
}
