/**
 * NOVA/DISCOVER compatibility: annotation, SSI stream and trainer files, the framing of the DISCOVER
 * {@code xlm_roberta} module, and path confinement for the server.
 *
 * <pre>{@code
 * DataRoot root = new DataRoot(Path.of("/srv/discover/data"));
 * FreeAnnotation transcript = Annotations.readFree(root.resolve("session\\transcript.annotation"));
 * SsiStream embeddings = XlmRobertaModule.process(transcript, FramingOptions.of(40, 960), model);
 * embeddings.write(root.resolve("session/xlm_roberta_embeddings.stream"), FileType.BINARY);
 * }</pre>
 */
package dev.xlmr.nova;
