/**
 * The HTTP server: text-embeddings-inference's API, OpenAI's {@code /v1/embeddings} and the NOVA/DISCOVER
 * processing API over an {@link dev.xlmr.server.InferenceService}, with one model worker fed by a
 * {@link dev.xlmr.server.DynamicBatcher}.
 *
 * <pre>{@code
 * try (LocalInferenceService model = LocalInferenceService.load(Path.of("testdata/xlmr-base"), "xlmr-base", 0);
 *      XlmrServer server = XlmrServer.start(model, ServerOptions.defaults().port(8080).novaRoot(Path.of("/srv/nova")))) {
 *     server.join();   // until close() or SIGTERM
 * }
 * }</pre>
 */
package dev.xlmr.server;
