package dev.xlmr.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code xlmr serve} in its own JVM: it serves, and SIGTERM stops it gracefully. */
class ServeCommandTest {
    @TempDir
    Path dir;

    @Test
    void servesUntilSigterm() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "dev.xlmr.cli.Main", "serve",
                "--model", CliRun.testdata("xlmr-base").toString(), "--port", "0", "--nova-root", dir.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
            Pattern serving = Pattern.compile("xlmr: serving .* on (http://\\S+/) with NOVA data folder .*");
            URI base = null;
            List<String> seen = new ArrayList<>();
            for (String line; base == null && (line = err.readLine()) != null; ) {
                seen.add(line);
                Matcher m = serving.matcher(line);
                if (m.matches()) base = URI.create(m.group(1));
            }
            assertTrue(base != null, "no serving line in " + seen);
            // the fixture's inputs are at most 128 tokens: 128 of them fill the default 16,384-token batch
            assertTrue(seen.stream().anyMatch(l -> l.startsWith("xlmr: warmed up: one batch of 16384 tokens in ")), seen.toString());
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve("/embed"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\": \"Hello world\"}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().startsWith("[["), r.body());
            p.toHandle().destroy(); // SIGTERM (Process.destroy would also close our end of stderr)
            String rest = String.join("\n", err.lines().toList());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertTrue(rest.contains("xlmr: stopped"), rest);
            assertEquals(143, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void badOptionsAreUsageErrors() {
        String model = CliRun.testdata("xlmr-base").toString();
        CliRun r = CliRun.run("", "serve", "--model", model, "--port", "70000");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("port"), r.err());
        assertEquals(2, CliRun.run("", "serve", "--model", model, "--max-queue", "0").code());
        CliRun tooLong = CliRun.run("", "serve", "--model", model, "--port", "0", "--max-input-length", "100000");
        assertEquals(1, tooLong.code());
        assertTrue(tooLong.err().contains("max input length"), tooLong.err());
        CliRun pooling = CliRun.run("", "serve", "--model", model, "--port", "0", "--pooling", "median");
        assertEquals(2, pooling.code());
        assertTrue(pooling.err().contains("unknown pooling"), pooling.err());
        CliRun halfTls = CliRun.run("", "serve", "--model", model, "--port", "0", "--tls-cert", "cert.pem");
        assertEquals(2, halfTls.code());
        assertTrue(halfTls.err().contains("--tls-key"), halfTls.err());
        assertEquals(2, CliRun.run("", "serve", "--model", model, "--default-prompt", "q: ", "--default-prompt-name", "q").code());
        CliRun noPrompt = CliRun.run("", "serve", "--model", model, "--port", "0", "--default-prompt-name", "query");
        assertEquals(1, noPrompt.code());
        assertTrue(noPrompt.err().contains("default prompt name"), noPrompt.err());
    }
}
