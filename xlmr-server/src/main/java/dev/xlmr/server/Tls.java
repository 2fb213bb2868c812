package dev.xlmr.server;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.server.DetectorConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * HTTPS from PEM files, as TEI's users have them: a certificate chain and its private key (PKCS#8
 * {@code BEGIN PRIVATE KEY}, or PKCS#1 {@code BEGIN RSA PRIVATE KEY}), made into an in-memory key store for
 * Jetty's {@link SslContextFactory.Server}, and a connector that also recognizes plain HTTP on the HTTPS
 * port, so the server can answer it with DISCOVER's 426 ({@link #PLAIN_HTTP_ANSWER}).
 *
 * <pre>{@code
 * SslContextFactory.Server ssl = Tls.server(Path.of("cert.pem"), Path.of("key.pem"));
 * ServerConnector https = Tls.connector(jetty, ssl);
 * }</pre>
 */
final class Tls {
    private static final Pattern BLOCK = Pattern.compile("-----BEGIN ([A-Z ]+)-----([^-]+)-----END \\1-----");

    /** DISCOVER's body for a plain HTTP request when it runs with {@code --use_tls} (status 426 Upgrade Required). */
    static final String PLAIN_HTTP_ANSWER = "HTTPS required - plain HTTP connections are not allowed";

    private Tls() {}

    /**
     * A connector that speaks HTTPS and also recognizes plain HTTP on the same port: TLS is detected from
     * the first bytes, anything else goes to plain HTTP/1.1 with insecure requests, which the server answers
     * with 426 as DISCOVER does, instead of a TLS alert the HTTP client cannot read.
     */
    static ServerConnector connector(Server jetty, SslContextFactory.Server ssl) {
        HttpConfiguration config = new HttpConfiguration();
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        // the certificate names the operator's host; clients reach the server by whatever address they have
        secure.setSniHostCheck(false);
        config.addCustomizer(secure);
        HttpConnectionFactory http = new HttpConnectionFactory(config);
        SslConnectionFactory tls = new SslConnectionFactory(ssl, http.getProtocol());
        return new ServerConnector(jetty, new DetectorConnectionFactory(tls), http);
    }

    static SslContextFactory.Server server(Path certFile, Path keyFile) throws IOException {
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            Certificate[] chain = cf.generateCertificates(new ByteArrayInputStream(Files.readAllBytes(certFile)))
                    .toArray(Certificate[]::new);
            if (chain.length == 0) throw new IOException(certFile + ": no certificate in it");
            PrivateKey key = privateKey(keyFile, chain[0].getPublicKey().getAlgorithm());
            char[] password = new char[0];
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("server", key, password, chain);
            SslContextFactory.Server ssl = new SslContextFactory.Server();
            ssl.setKeyStore(ks);
            ssl.setKeyStorePassword("");
            ssl.setKeyManagerPassword("");
            return ssl;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot use " + certFile + " and " + keyFile + " for HTTPS: " + e.getMessage(), e);
        }
    }

    private static PrivateKey privateKey(Path file, String algorithm) throws IOException, GeneralSecurityException {
        Matcher m = BLOCK.matcher(Files.readString(file, StandardCharsets.US_ASCII));
        while (m.find()) {
            String type = m.group(1);
            byte[] der = Base64.getMimeDecoder().decode(m.group(2));
            if (type.equals("PRIVATE KEY")) {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            }
            if (type.equals("RSA PRIVATE KEY")) {
                return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pkcs1ToPkcs8(der)));
            }
            if (type.endsWith("PRIVATE KEY")) {
                throw new IOException(file + ": a " + type + " is not supported; convert it with "
                        + "'openssl pkcs8 -topk8 -nocrypt -in " + file + "'");
            }
        }
        throw new IOException(file + ": no PEM private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY) in it");
    }

    /** Wraps a PKCS#1 RSAPrivateKey in PKCS#8's PrivateKeyInfo (version 0, rsaEncryption, the key as an octet string). */
    static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
        byte[] version = {0x02, 0x01, 0x00};
        byte[] octets = der(0x04, pkcs1);
        byte[] body = new byte[version.length + algorithm.length + octets.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(algorithm, 0, body, version.length, algorithm.length);
        System.arraycopy(octets, 0, body, version.length + algorithm.length, octets.length);
        return der(0x30, body);
    }

    private static byte[] der(int tag, byte[] content) {
        int n = content.length;
        byte[] len;
        if (n < 0x80) len = new byte[] {(byte) n};
        else if (n < 0x100) len = new byte[] {(byte) 0x81, (byte) n};
        else if (n < 0x10000) len = new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n};
        else len = new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        byte[] out = new byte[1 + len.length + n];
        out[0] = (byte) tag;
        System.arraycopy(len, 0, out, 1, len.length);
        System.arraycopy(content, 0, out, 1 + len.length, n);
        return out;
    }
}
