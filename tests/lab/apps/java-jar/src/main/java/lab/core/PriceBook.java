package lab.core;

import java.util.Map;
import java.util.TreeMap;

/** The domain part of the app: a tiny price book with integer cents. */
public final class PriceBook {
    private final Map<String, Long> cents = new TreeMap<>();

    public PriceBook put(String sku, long priceCents) {
        cents.put(sku, priceCents);
        return this;
    }

    public long total(Map<String, Integer> basket) {
        long sum = 0;
        for (var e : basket.entrySet()) {
            sum += cents.getOrDefault(e.getKey(), 0L) * e.getValue();
        }
        return sum;
    }
}
