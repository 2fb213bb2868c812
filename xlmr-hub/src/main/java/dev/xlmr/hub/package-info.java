/**
 * Hugging Face Hub downloads into the cache layout shared with Python's huggingface_hub.
 *
 * <pre>{@code
 * Path model = ModelLocator.resolve("intfloat/multilingual-e5-base", "main");
 * }</pre>
 *
 * {@link dev.xlmr.hub.ModelLocator} picks the files of a model; {@link dev.xlmr.hub.HubClient}
 * lists, downloads and caches files; errors are {@link dev.xlmr.hub.HubException}s.
 */
package dev.xlmr.hub;
