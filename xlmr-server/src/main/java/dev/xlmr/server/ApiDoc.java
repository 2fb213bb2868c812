package dev.xlmr.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * {@code GET /api-doc/openapi.json}: an OpenAPI 3 document of the server's routes (a resource written for
 * them, checked against the routes by the tests), and {@code GET /docs}: a page that lists them from it. The
 * page is self-contained (no Swagger UI from a CDN), so it works where the server has no network.
 */
final class ApiDoc {
    private static final byte[] OPENAPI = resource("openapi.json");

    private static final String DOCS = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>xlmr serve: API</title>
            <style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code{background:#eee;padding:0 .3em}
            h2{border-bottom:1px solid #ccc}pre{background:#f6f6f6;padding:.5em;overflow:auto}</style></head>
            <body><h1>xlmr serve</h1><p>The OpenAPI document: <a href="/api-doc/openapi.json">/api-doc/openapi.json</a></p>
            <div id="routes">Loading…</div>
            <script>
            fetch('/api-doc/openapi.json').then(r => r.json()).then(doc => {
              const out = document.getElementById('routes');
              out.innerHTML = '<p>' + doc.info.description + '</p>';
              for (const [path, ops] of Object.entries(doc.paths)) {
                for (const [method, op] of Object.entries(ops)) {
                  const h = document.createElement('h2');
                  h.innerHTML = '<code>' + method.toUpperCase() + ' ' + path + '</code> ' + op.summary;
                  out.appendChild(h);
                  const body = op.requestBody && op.requestBody.content['application/json'].schema.$ref;
                  if (body) {
                    const name = body.split('/').pop();
                    const pre = document.createElement('pre');
                    pre.textContent = name + ': ' + JSON.stringify(doc.components.schemas[name], null, 1);
                    out.appendChild(pre);
                  }
                }
              }
            });
            </script></body></html>
            """;

    private ApiDoc() {}

    static void register(Map<String, XlmrServer.Route> routes) {
        routes.put("GET /api-doc/openapi.json", ex -> ex.send(200, "application/json", OPENAPI));
        routes.put("GET /docs", ex -> ex.sendText(200, DOCS, "text/html; charset=utf-8"));
    }

    private static byte[] resource(String name) {
        try (InputStream in = ApiDoc.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing resource " + name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String openApi() {
        return new String(OPENAPI, StandardCharsets.UTF_8);
    }
}
