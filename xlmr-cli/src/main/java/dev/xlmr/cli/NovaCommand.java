package dev.xlmr.cli;

import dev.xlmr.hub.ModelLocator;
import dev.xlmr.nova.Annotations;
import dev.xlmr.nova.FileType;
import dev.xlmr.nova.FramingOptions;
import dev.xlmr.nova.FreeAnnotation;
import dev.xlmr.nova.NovaEmbedding;
import dev.xlmr.nova.SsiStream;
import dev.xlmr.pipelines.EmbeddingPipeline;
import dev.xlmr.pipelines.ModelSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code ./xlmr nova ...}: the NOVA/DISCOVER modules from the shell. */
@Command(name = "nova", mixinStandardHelpOptions = true,
        description = "NOVA/DISCOVER modules from the shell (the same as the server's /process).",
        subcommands = NovaCommand.Process.class)
final class NovaCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: process");
    }

    /**
     * {@code ./xlmr nova process}: the xlm_roberta module on a transcript annotation, writing an SSI stream.
     *
     * <pre>{@code
     * ./xlmr nova process --model testdata/xlmr-base --annotation s/transcript.annotation \
     *     --out s/xlm_roberta.stream --frame-size 40ms --left-context 960ms
     * }</pre>
     */
    @Command(name = "process", mixinStandardHelpOptions = true,
            description = {"Embed each frame of a FREE transcript annotation with the xlm_roberta module and write",
                    "an N x hidden float SSI stream (X.stream + X.stream~) at 1000 / stride Hz.",
                    "Times: 40ms, 2s, 0.5 (seconds), 40 (ms).",
                    "",
                    "Example:",
                    "  ./xlmr nova process --model testdata/xlmr-base --annotation t.annotation --out e.stream \\",
                    "      --frame-size 40ms --left-context 960ms"})
    static final class Process implements Callable<Integer> {
        @Option(names = "--model", required = true, paramLabel = "M", description = "Model folder or hub id.")
        String model;

        @Option(names = "--revision", paramLabel = "R", description = "Hub revision (default: main).")
        String revision;

        @Option(names = "--annotation", required = true, paramLabel = "A", description = "FREE annotation (X.annotation).")
        Path annotation;

        @Option(names = "--out", required = true, paramLabel = "S", description = "Output stream (X.stream).")
        Path out;

        @Option(names = "--frame-size", required = true, paramLabel = "T", description = "Frame size F.")
        String frameSize;

        @Option(names = "--stride", paramLabel = "T", description = "Stride S (default: the frame size).")
        String stride;

        @Option(names = "--left-context", defaultValue = "0", paramLabel = "T", description = "Left context L. Default: ${DEFAULT-VALUE}.")
        String leftContext;

        @Option(names = "--right-context", defaultValue = "0", paramLabel = "T", description = "Right context R. Default: ${DEFAULT-VALUE}.")
        String rightContext;

        @Option(names = "--end", paramLabel = "T", description = "Stop framing here (default: the end of the annotation).")
        String end;

        @Option(names = "--pooling", defaultValue = "default", paramLabel = "P",
                description = "default (pooler output), mean, or compat (the original module's output, batch quirk included). "
                        + "Default: ${DEFAULT-VALUE}.")
        String pooling;

        @Option(names = "--prompt-name", paramLabel = "NAME",
                description = "A prompt of the model's config_sentence_transformers.json for default and mean pooling "
                        + "(default: the folder's default prompt, if any; compat takes none).")
        String promptName;

        @Option(names = "--batch-size", defaultValue = "16", description = "Texts per model call (B of compat). Default: ${DEFAULT-VALUE}.")
        int batchSize;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            FramingOptions framing;
            NovaEmbedding.Mode mode;
            try {
                framing = FramingOptions.fromRequest(Map.of("frame_size", frameSize, "stride", stride == null ? "" : stride,
                        "left_context", leftContext, "right_context", rightContext, "end", end == null ? "" : end));
                mode = NovaEmbedding.Mode.parse(pooling);
                if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1");
                if (promptName != null && mode == NovaEmbedding.Mode.COMPAT) {
                    throw new IllegalArgumentException("--pooling compat is the original module's output: it takes no --prompt-name");
                }
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
            FreeAnnotation transcript = Annotations.readFree(annotation);
            try (ModelSession session = ModelSession.open(ModelLocator.resolve(model, revision), true)) {
                EmbeddingPipeline embed = session.embeddings();
                embed.warnings(w -> { });
                long t0 = System.nanoTime();
                SsiStream stream = NovaEmbedding.process(transcript, framing, mode, batchSize,
                        (texts, vectors) -> embed(embed, texts, vectors, mode), session.config().hiddenSize(), () -> false, (a, b) -> { });
                Path target = out.toString().toLowerCase(Locale.ROOT).endsWith(".stream") ? out : Path.of(out + ".stream");
                if (target.toAbsolutePath().getParent() != null) Files.createDirectories(target.toAbsolutePath().getParent());
                stream.write(target, FileType.BINARY);
                spec.commandLine().getOut().printf(Locale.ROOT, "wrote %d frames x %d at %.3f Hz to %s in %.2f s%n",
                        stream.numSamples(), stream.dim(), stream.sampleRate(), target, (System.nanoTime() - t0) / 1e9);
                spec.commandLine().getOut().flush();
            }
            return 0;
        }

        /**
         * NOVA's vectors with the pipeline, as the server's /process computes them: prompts for pooler and mean,
         * none in compat (the original module), its pooler outputs included.
         */
        private float[][] embed(EmbeddingPipeline embed, List<String> texts, NovaEmbedding.Vectors vectors,
                                NovaEmbedding.Mode mode) {
            EmbeddingPipeline.Options o = EmbeddingPipeline.Options.defaults();
            if (vectors == NovaEmbedding.Vectors.PADDED_BATCH_MEAN) {
                return embed.paddedBatchMean(embed.prepare(texts, o.prefix(""), true)).toArray(float[][]::new);
            }
            o = o.pooling(vectors == NovaEmbedding.Vectors.MEAN ? EmbeddingPipeline.Pooling.MEAN : EmbeddingPipeline.Pooling.POOLER);
            o = mode == NovaEmbedding.Mode.COMPAT ? o.prefix("") : o.promptName(promptName);
            return embed.embedPrepared(embed.prepare(texts, o, true), o).toArray(float[][]::new);
        }
    }
}
