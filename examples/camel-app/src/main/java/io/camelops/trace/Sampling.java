package io.camelops.trace;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The sample decision by exchange id. It must match the sidecar's (telemetry.sidecar.buffers
 * sampled_in) bit for bit, so both compare the top 53 bits of SHA-256 with the rate: a double
 * holds them exactly, so no rounding can make the two sides disagree.
 */
final class Sampling {

    private Sampling() {}

    static boolean sampledIn(String exchangeId, double rate) {
        if (rate >= 1.0) {
            return true;
        }
        if (rate <= 0.0) {
            return false;
        }
        byte[] digest = sha256(exchangeId.getBytes(StandardCharsets.UTF_8));
        long top = 0;
        for (int i = 0; i < 8; i++) {
            top = (top << 8) | (digest[i] & 0xFF);
        }
        return (top >>> 11) * 0x1.0p-53 < rate;
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
