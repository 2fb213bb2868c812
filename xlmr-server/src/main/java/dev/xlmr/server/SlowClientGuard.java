package dev.xlmr.server;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.internal.HttpConnection;

/**
 * Closes the connections of clients that send a request too slowly (slowloris). Jetty's idle timeout
 * restarts on every byte, so a client trickling one byte a second would hold its connection forever;
 * this guard looks at each HTTP/1 connection twice a second and closes it when a request's headers are
 * not complete {@link #HEADER_TIMEOUT_MS} after its first byte, or when its body, after
 * {@link #BODY_GRACE_MS}, arrives at less than {@link #MIN_BODY_RATE} bytes a second on average.
 * Connections idle between requests are left to the idle timeout.
 *
 * <pre>{@code
 * connector.addEventListener(new SlowClientGuard());
 * }</pre>
 */
final class SlowClientGuard implements Connection.Listener {
    static final long HEADER_TIMEOUT_MS = 10_000;
    static final long BODY_GRACE_MS = 10_000;
    static final long MIN_BODY_RATE = 1024;
    private static final long TICK_MS = 500;

    @Override
    public void onOpened(Connection connection) {
        if (connection instanceof HttpConnection http) new Watch(http).next();
    }

    /** One connection's request in progress: its number, when its first byte came, the bytes before it. */
    private static final class Watch implements Runnable {
        private final HttpConnection http;
        private long request = -1;
        private long startNanos;
        private long startBytes;
        private long lastBytes;

        Watch(HttpConnection http) {
            this.http = http;
        }

        void next() {
            http.getConnector().getScheduler().schedule(this, TICK_MS, TimeUnit.MILLISECONDS);
        }

        @Override
        public void run() {
            EndPoint endPoint = http.getEndPoint();
            if (!endPoint.isOpen()) return;
            HttpParser parser = http.getParser();
            long now = System.nanoTime(), bytes = http.getBytesIn();
            boolean headers = parser.inHeaderState() && !parser.isState(HttpParser.State.START);
            boolean body = parser.inContentState();
            if (headers || body) {
                // messagesIn moves on once per request, so this number tells a new request (or the step from
                // its headers to its body) from the one seen at the last look
                long number = 2 * http.getMessagesIn() + (headers ? 1 : 0);
                if (number != request) {
                    request = number;
                    startNanos = now;
                    startBytes = lastBytes;
                }
                long ms = (now - startNanos) / 1_000_000;
                if (headers && ms > HEADER_TIMEOUT_MS) {
                    endPoint.close(new TimeoutException("request headers not complete after " + ms + " ms"));
                    return;
                }
                if (body && ms > BODY_GRACE_MS && (bytes - startBytes) * 1000 / ms < MIN_BODY_RATE) {
                    endPoint.close(new TimeoutException("request body slower than " + MIN_BODY_RATE + " bytes/s"));
                    return;
                }
            } else {
                request = -1;
            }
            lastBytes = bytes;
            next();
        }
    }
}
