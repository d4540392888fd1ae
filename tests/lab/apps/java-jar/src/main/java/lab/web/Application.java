package lab.web;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;
import lab.core.PriceBook;

/** Boot-style entry point: reads application.properties from the jar, serves HTTP. */
public final class Application {
    public static void main(String[] args) throws IOException {
        Properties props = new Properties();
        try (InputStream in = Application.class.getResourceAsStream("/application.properties")) {
            props.load(in);
        }
        int port = Integer.parseInt(props.getProperty("server.port", "8080"));
        String name = props.getProperty("app.name", "app");
        PriceBook book = new PriceBook().put("tea", 350).put("cake", 425);

        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
        server.createContext("/basket", exchange -> {
            long total = book.total(Map.of("tea", 2, "cake", 1));
            byte[] body = String.format("{\"app\":\"%s\",\"total_cents\":%d,\"java\":%d}%n",
                    name, total, Runtime.version().feature()).getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        System.out.println(name + " started on port " + port);
    }
}
