package dev.xlmr.server;

import java.nio.file.Path;
import java.util.List;

/**
 * How the server listens and how much it takes on, with text-embeddings-inference's options.
 *
 * <pre>{@code
 * ServerOptions o = ServerOptions.defaults().port(0).maxQueue(64).apiKey("secret").novaRoot(Path.of("/srv/nova"));
 * }</pre>
 *
 * @param host               address to bind (loopback by default)
 * @param port               TCP port; 0 picks a free one
 * @param maxBatchTokens     token budget of one model batch
 * @param maxWaitMs          how long a request may wait for others to share its batch
 * @param maxQueue           requests waiting for the model; more get 429
 * @param requestTimeoutMs   a request still unanswered after this gets 503
 * @param payloadLimit       largest JSON or form body in bytes; more gets 413
 * @param maxClientBatchSize most inputs in one request on TEI's routes; more get 422 (TEI's answer). OpenAI's
 *                           route takes up to {@link #OPENAI_MAX_INPUTS} and splits them into batches of this size
 * @param maxUploadBytes     largest NOVA upload in bytes
 * @param novaRoot           data folder of the NOVA/DISCOVER routes (uris, uploads, modules/), or null
 *                           to serve them from no folder (they then answer 404)
 * @param shutdownTimeoutMs  how long a graceful stop waits for requests in flight
 * @param autoTruncate       cut over-long inputs when a request does not say {@code truncate} (TEI's
 *                           {@code --auto-truncate}, true by default since TEI 1.9.2)
 * @param apiKey             when set, every route but the health, metrics and documentation routes needs
 *                           {@code Authorization: Bearer <key>} (else 401), or null
 * @param corsAllowOrigins   origins allowed by CORS ({@code *} or null: any, as TEI)
 * @param servedModelName    the model name of OpenAI's answers and {@code /info}, or null for the model id
 * @param tlsCert            PEM certificate chain for HTTPS, or null for plain HTTP
 * @param tlsKey             PEM private key (PKCS#8, or PKCS#1 RSA) of {@code tlsCert}, or null
 */
public record ServerOptions(String host, int port, int maxBatchTokens, long maxWaitMs, int maxQueue, long requestTimeoutMs, int payloadLimit, int maxClientBatchSize, long maxUploadBytes, Path novaRoot, long shutdownTimeoutMs, boolean autoTruncate, String apiKey, List<String> corsAllowOrigins, String servedModelName, Path tlsCert, Path tlsKey) {

    /** Most inputs in one OpenAI embeddings request (OpenAI's own limit). */
    public static final int OPENAI_MAX_INPUTS = 2048;

    public ServerOptions {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port + " is not 0..65535");
        if (maxBatchTokens < 1 || maxQueue < 1 || requestTimeoutMs < 1 || payloadLimit < 1 || maxClientBatchSize < 1
                || maxUploadBytes < 1 || maxWaitMs < 0 || shutdownTimeoutMs < 0) {
            throw new IllegalArgumentException("server limits must be positive (max wait and shutdown timeout >= 0)");
        }
        if (apiKey != null && apiKey.isBlank()) throw new IllegalArgumentException("the API key must not be blank");
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new IllegalArgumentException("HTTPS needs both a certificate (--tls-cert) and a key (--tls-key)");
        }
        corsAllowOrigins = corsAllowOrigins == null ? null : List.copyOf(corsAllowOrigins);
    }

    /**
     * 127.0.0.1:8080, 16384 tokens a batch, 5 ms wait, 512 queued, 60 s timeout, 2 MB bodies, 32 inputs,
     * auto-truncate on, no API key, CORS for any origin, plain HTTP.
     */
    public static ServerOptions defaults() {
        return new ServerOptions("127.0.0.1", 8080, 16_384, 5, 512, 60_000, 2_000_000, 32, 1L << 30, null, 30_000,
                true, null, null, null, null, null);
    }

    public ServerOptions host(String v) {
        return new ServerOptions(v, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs, autoTruncate, apiKey, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions port(int v) {
        return new ServerOptions(host, v, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs, autoTruncate, apiKey, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions maxBatchTokens(int v) {
        return new ServerOptions(host, port, v, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs, autoTruncate, apiKey, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions maxWaitMs(long v) {
        return new ServerOptions(host, port, maxBatchTokens, v, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs, autoTruncate, apiKey, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions maxQueue(int v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, v, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs, autoTruncate, apiKey, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions requestTimeoutMs(long v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, v, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs, autoTruncate, apiKey, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions payloadLimit(int v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, v, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs, autoTruncate, apiKey, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions maxClientBatchSize(int v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, v, maxUploadBytes, novaRoot, shutdownTimeoutMs, autoTruncate, apiKey, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions maxUploadBytes(long v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, v, novaRoot, shutdownTimeoutMs, autoTruncate, apiKey, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions novaRoot(Path v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, v, shutdownTimeoutMs, autoTruncate, apiKey, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions shutdownTimeoutMs(long v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, v, autoTruncate, apiKey, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions autoTruncate(boolean v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs, v, apiKey, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions apiKey(String v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs, autoTruncate, v, corsAllowOrigins, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions corsAllowOrigins(List<String> v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs, autoTruncate, apiKey, v, servedModelName, tlsCert, tlsKey);
    }

    public ServerOptions servedModelName(String v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs, autoTruncate, apiKey, corsAllowOrigins, v, tlsCert, tlsKey);
    }

    /** HTTPS with a PEM certificate chain and private key. */
    public ServerOptions tls(Path cert, Path key) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit,
                maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs, autoTruncate, apiKey, corsAllowOrigins,
                servedModelName, cert, key);
    }
}
