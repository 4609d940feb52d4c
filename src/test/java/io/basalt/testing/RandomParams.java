package io.basalt.testing;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Random RPC params for property tests: per key, absent some of the time, else a value of its
 * type that fits (most often) or one that does not. Values are JSON texts.
 */
public final class RandomParams {
    /** A key no SPDK version defines: present rarely, always refused. */
    public static final String BOGUS = "bogus";

    private RandomParams() {
    }

    /**
     * @param types per key: (values that fit, values that do not)
     * @param absentPercent how often a key is left out (the bogus key: 90%)
     */
    public static Arbitrary<Map<String, String>> of(List<String> keys, Map<String, List<List<String>>> types,
                                                    int absentPercent) {
        List<Arbitrary<String>> values = new ArrayList<>();
        for (String k : keys) {
            int absent = k.equals(BOGUS) ? 90 : absentPercent;
            int present = 100 - absent;
            values.add(Arbitraries.frequencyOf(Tuple.of(absent, Arbitraries.just("")),
                    Tuple.of(present * 6 / 10, Arbitraries.of(types.get(k).get(0))),
                    Tuple.of(present * 4 / 10, Arbitraries.of(types.get(k).get(1)))));
        }
        return Combinators.combine(values).as(vs -> {
            Map<String, String> p = new LinkedHashMap<>();
            for (int i = 0; i < vs.size(); i++) {
                if (!vs.get(i).isEmpty()) {
                    p.put(keys.get(i), vs.get(i));
                }
            }
            return p;
        });
    }
}
