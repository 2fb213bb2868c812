package dev.xlmr.cli;

import dev.xlmr.hub.ModelLocator;
import dev.xlmr.pipelines.EmbeddingPipeline.Pooling;
import dev.xlmr.server.InferenceService;
import dev.xlmr.server.LocalInferenceService;
import dev.xlmr.server.ServerOptions;
import dev.xlmr.server.XlmrServer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code ./xlmr serve --model M}: the HTTP server (text-embeddings-inference API, OpenAI embeddings, and
 * with {@code --nova-root} the NOVA/DISCOVER API) until SIGTERM or Ctrl-C, which stop it gracefully.
 *
 * <pre>{@code
 * ./xlmr serve --model testdata/xlmr-base --port 8080 --nova-root /srv/nova &
 * curl -s localhost:8080/embed -H 'Content-Type: application/json' -d '{"inputs": "Hello"}'
 * }</pre>
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a model over HTTP: text-embeddings-inference routes (/embed, /embed_all, /similarity, /predict,",
                "/rerank, /tokenize, /decode, /info, /health, /metrics, POST /), OpenAI /v1/embeddings, the pipelines'",
                "/fill-mask, /ner, /qa, /zero-shot, the OpenAPI document at /api-doc/openapi.json (/docs), and with",
                "--nova-root the NOVA/DISCOVER routes (/process, /job_status, ...). SIGTERM or Ctrl-C stop it gracefully.",
                "",
                "Example:",
                "  ./xlmr serve --model testdata/xlmr-base --port 8080"})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "M", description = "Model folder or hub id (org/name).")
    String model;

    @Option(names = "--revision", paramLabel = "R", description = "Hub revision (default: main).")
    String revision;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (0: any free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--nova-root", paramLabel = "DIR",
            description = "Data folder of the NOVA/DISCOVER routes: uris, uploads and modules/ are confined to it.")
    Path novaRoot;

    @Option(names = "--nova-modules", paramLabel = "DIR",
            description = "Trainers of the NOVA routes (DISCOVER's CML_DIR; trainerFilePath is relative to it). Default: the data folder.")
    Path novaModules;

    @Option(names = "--max-batch-tokens", defaultValue = "16384", description = "Tokens per model batch. Default: ${DEFAULT-VALUE}.")
    int maxBatchTokens;

    @Option(names = "--max-wait-ms", defaultValue = "5",
            description = "How long a request waits for others to share its batch. Default: ${DEFAULT-VALUE}.")
    long maxWaitMs;

    @Option(names = "--max-queue", defaultValue = "512",
            description = "Requests waiting for the model; more get 429. Default: ${DEFAULT-VALUE}.")
    int maxQueue;

    @Option(names = "--max-input-length", defaultValue = "0",
            description = "Longest input in tokens (0: the model's limit). Longer inputs get 422 unless truncated.")
    int maxInputLength;

    @Option(names = "--request-timeout-ms", defaultValue = "60000",
            description = "Requests unanswered after this get 503. Default: ${DEFAULT-VALUE}.")
    long requestTimeoutMs;

    @Option(names = "--payload-limit", defaultValue = "2000000",
            description = "Largest JSON or form body in bytes; more gets 413. Default: ${DEFAULT-VALUE}.")
    int payloadLimit;

    @Option(names = "--max-client-batch-size", defaultValue = "32",
            description = "Most inputs in one request on TEI's routes; more get 422 (OpenAI's route takes up to 2048 and "
                    + "splits them). Default: ${DEFAULT-VALUE}.")
    int maxClientBatchSize;

    @Option(names = "--auto-truncate", defaultValue = "true", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = "Cut over-long inputs when a request does not say \"truncate\" (as TEI >= 1.9.2). Default: ${DEFAULT-VALUE}.")
    boolean autoTruncate;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "Require \"Authorization: Bearer KEY\" on every route but /, /health, /ping, /metrics and the docs.")
    String apiKey;

    @Option(names = "--cors-allow-origin", paramLabel = "ORIGIN", split = ",",
            description = "Origins allowed by CORS (comma-separated or repeated; default: any).")
    List<String> corsAllowOrigins;

    @Option(names = "--served-model-name", paramLabel = "NAME",
            description = "The model name in OpenAI's answers and /info (default: --model).")
    String servedModelName;

    @Option(names = "--pooling", paramLabel = "P",
            description = "Pooling instead of the folder's: mean, cls, max, mean_sqrt_len, weighted_mean, last_token, pooler.")
    String pooling;

    @Option(names = "--default-prompt-name", paramLabel = "NAME",
            description = "A prompt of config_sentence_transformers.json for requests that name none.")
    String defaultPromptName;

    @Option(names = "--default-prompt", paramLabel = "TEXT",
            description = "A text put before the inputs of requests that name no prompt.")
    String defaultPrompt;

    @Option(names = "--with-head",
            description = "Keep the checkpoint's task head (masked LM, token classification, question answering) so that "
                    + "/fill-mask, /ner and /qa answer; embeddings then also pay for the head.")
    boolean withHead;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Certificate chain (PEM) for HTTPS; needs --tls-key.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "Private key (PEM, PKCS#8 or PKCS#1 RSA) for HTTPS.")
    Path tlsKey;

    @Option(names = "--no-warmup",
            description = "Listen at once, without first running one batch of --max-batch-tokens tokens (which sizes "
                    + "the model's buffers, so that memory stays flat under load).")
    boolean noWarmup;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ServerOptions options;
        try {
            options = ServerOptions.defaults().host(host).port(port).maxBatchTokens(maxBatchTokens).maxWaitMs(maxWaitMs)
                    .maxQueue(maxQueue).requestTimeoutMs(requestTimeoutMs).payloadLimit(payloadLimit)
                    .maxClientBatchSize(maxClientBatchSize).novaRoot(novaRoot).autoTruncate(autoTruncate).apiKey(apiKey)
                    .corsAllowOrigins(corsAllowOrigins).servedModelName(servedModelName);
            if (tlsCert != null || tlsKey != null) options = options.tls(tlsCert, tlsKey);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (maxInputLength < 0) throw new ParameterException(spec.commandLine(), "--max-input-length must be >= 0");
        LocalInferenceService.Settings settings;
        try {
            settings = LocalInferenceService.Settings.defaults().maxInputLength(maxInputLength)
                    .pooling(pooling == null ? null : Pooling.parse(pooling)).defaultPromptName(defaultPromptName)
                    .defaultPrompt(defaultPrompt).withHead(withHead);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter err = spec.commandLine().getErr();
        Path dir = ModelLocator.resolve(model, revision);
        LocalInferenceService service = LocalInferenceService.load(dir, model, settings);
        if (!noWarmup) {
            long t0 = System.nanoTime();
            int tokens;
            try {
                tokens = service.warmUp(maxBatchTokens);
            } catch (RuntimeException e) {
                service.close();
                throw e;
            }
            err.printf(Locale.ROOT, "xlmr: warmed up: one batch of %d tokens in %.1f s%n", tokens, (System.nanoTime() - t0) / 1e9);
            err.flush();
        }
        XlmrServer server;
        try {
            server = XlmrServer.start(service, options, dev.xlmr.server.NovaOptions.defaults().modulesDir(novaModules));
        } catch (Exception e) {
            service.close();
            throw e;
        }
        Thread hook = new Thread(() -> {
            server.close();
            service.close();
            err.println("xlmr: stopped");
            err.flush();
        }, "xlmr-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        InferenceService.ModelInfo info = service.info();
        err.printf(Locale.ROOT, "xlmr: serving %s (%s, %s) on %s%s%n", model, info.kind().name().toLowerCase(Locale.ROOT),
                info.kind() == InferenceService.ModelKind.EMBEDDING ? "pooling " + info.pooling() : info.id2label().size() + " labels",
                server.uri(), novaRoot == null ? "" : " with NOVA data folder " + novaRoot.toAbsolutePath());
        err.flush();
        server.join();
        return 0;
    }
}
