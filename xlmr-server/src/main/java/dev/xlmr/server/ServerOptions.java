package dev.xlmr.server;

import java.nio.file.Path;

/**
 * How the server listens and how much it takes on.
 *
 * <pre>{@code
 * ServerOptions o = ServerOptions.defaults().port(0).maxQueue(64).novaRoot(Path.of("/srv/nova"));
 * }</pre>
 *
 * @param host               address to bind (loopback by default)
 * @param port               TCP port; 0 picks a free one
 * @param maxBatchTokens     token budget of one model batch
 * @param maxWaitMs          how long a request may wait for others to share its batch
 * @param maxQueue           requests waiting for the model; more get 429
 * @param requestTimeoutMs   a request still unanswered after this gets 503
 * @param payloadLimit       largest JSON or form body in bytes; more gets 413
 * @param maxClientBatchSize most inputs in one request; more gets 413
 * @param maxUploadBytes     largest NOVA upload in bytes
 * @param novaRoot           data folder of the NOVA/DISCOVER routes (uris, uploads, modules/), or null
 *                           to serve them from no folder (they then answer 404)
 * @param shutdownTimeoutMs  how long a graceful stop waits for requests in flight
 */
public record ServerOptions(String host, int port, int maxBatchTokens, long maxWaitMs, int maxQueue,
                            long requestTimeoutMs, int payloadLimit, int maxClientBatchSize, long maxUploadBytes,
                            Path novaRoot, long shutdownTimeoutMs) {

    public ServerOptions {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port + " is not 0..65535");
        if (maxBatchTokens < 1 || maxQueue < 1 || requestTimeoutMs < 1 || payloadLimit < 1 || maxClientBatchSize < 1
                || maxUploadBytes < 1 || maxWaitMs < 0 || shutdownTimeoutMs < 0) {
            throw new IllegalArgumentException("server limits must be positive (max wait and shutdown timeout >= 0)");
        }
    }

    /** 127.0.0.1:8080, 16384 tokens a batch, 5 ms wait, 512 queued, 60 s timeout, 2 MB bodies, 32 inputs. */
    public static ServerOptions defaults() {
        return new ServerOptions("127.0.0.1", 8080, 16_384, 5, 512, 60_000, 2_000_000, 32, 1L << 30, null, 30_000);
    }

    public ServerOptions host(String v) {
        return new ServerOptions(v, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs);
    }

    public ServerOptions port(int v) {
        return new ServerOptions(host, v, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs);
    }

    public ServerOptions maxBatchTokens(int v) {
        return new ServerOptions(host, port, v, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs);
    }

    public ServerOptions maxWaitMs(long v) {
        return new ServerOptions(host, port, maxBatchTokens, v, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs);
    }

    public ServerOptions maxQueue(int v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, v, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs);
    }

    public ServerOptions requestTimeoutMs(long v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, v, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs);
    }

    public ServerOptions payloadLimit(int v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, v, maxClientBatchSize, maxUploadBytes, novaRoot, shutdownTimeoutMs);
    }

    public ServerOptions maxClientBatchSize(int v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, v, maxUploadBytes, novaRoot, shutdownTimeoutMs);
    }

    public ServerOptions maxUploadBytes(long v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, v, novaRoot, shutdownTimeoutMs);
    }

    public ServerOptions novaRoot(Path v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, v, shutdownTimeoutMs);
    }

    public ServerOptions shutdownTimeoutMs(long v) {
        return new ServerOptions(host, port, maxBatchTokens, maxWaitMs, maxQueue, requestTimeoutMs, payloadLimit, maxClientBatchSize, maxUploadBytes, novaRoot, v);
    }
}
