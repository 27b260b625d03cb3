package io.camelops.trace;

/** The JMX face of {@link TraceDrain}, reached by the sidecar through the Jolokia agent. */
public interface TraceDrainMBean {

    /**
     * Take every event the BacklogTracer holds and return, as {@code {"traces": [...]}} in the
     * tracer's own event shape, only the exchanges worth shipping; see {@link TraceDrain}.
     *
     * @param sampleRate share of successful exchanges kept, decided per exchange id (0..1)
     * @param keepHeader an exchange whose input carries this header is kept ("" for none)
     * @param staleAfterMillis an exchange with no new event for this long is decided as it is
     */
    String drain(double sampleRate, String keepHeader, long staleAfterMillis);

    int getPendingExchanges();
}
