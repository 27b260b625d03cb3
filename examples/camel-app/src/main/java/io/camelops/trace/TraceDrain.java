package io.camelops.trace;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.BacklogTracer;
import org.apache.camel.spi.BacklogTracerEventMessage;
import org.apache.camel.util.json.JsonArray;
import org.apache.camel.util.json.JsonObject;

/**
 * Drains Camel's BacklogTracer inside the JVM so the sidecar receives only the exchanges it
 * keeps. The tracer copies the message at every node, and serialising those copies and
 * shipping them over Jolokia for every exchange cost the sidecar more CPU than the integration
 * can spare, although it keeps about one exchange in a hundred.
 *
 * <p>An exchange's events wait here until its outer route records its last event, because only
 * then is it known whether any node failed (a trace filter decides before a node runs, so it
 * cannot keep failures). Then the exchange is kept when its id is sampled in, when any event
 * failed, or when its input carries the sidecar's replay header; kept exchanges are serialised
 * with each event's own {@code asJSon()}, the shape of {@code dumpAllTracedMessagesAsJSon()}.
 * The rest are only counted. Memory is bounded by {@link #MAX_PENDING} exchanges of at most
 * {@link #MAX_EVENTS} events each (the tracer already bounds each body).
 */
public final class TraceDrain implements TraceDrainMBean {

    static final int MAX_PENDING = 10_000;
    static final int MAX_EVENTS = 1_000;

    private final CamelContext context;
    private final Map<String, Pending> pending = new LinkedHashMap<>();
    private long cursor;

    public TraceDrain(CamelContext context) {
        this.context = context;
    }

    private static final class Pending {
        final List<BacklogTracerEventMessage> events = new ArrayList<>();
        String outerRoute;
        long seenAt;
    }

    private static final class Counts {
        long eventsSeen;
        long eventsLost;
        long sampledOut;
        long incomplete;
    }

    @Override
    public synchronized int getPendingExchanges() {
        return pending.size();
    }

    @Override
    public synchronized String drain(double sampleRate, String keepHeader, long staleAfterMillis) {
        JsonArray kept = new JsonArray();
        Counts counts = new Counts();
        BacklogTracer tracer = tracer();
        if (tracer != null) {
            List<BacklogTracerEventMessage> events = tracer.dumpAllTracedMessages();
            // threads add to the tracer's queue concurrently: uid order is creation order
            events.sort(Comparator.comparingLong(BacklogTracerEventMessage::getUid));
            long now = System.currentTimeMillis();
            for (BacklogTracerEventMessage event : events) {
                feed(event, now, sampleRate, keepHeader, kept, counts);
            }
            expire(now, staleAfterMillis, sampleRate, keepHeader, kept, counts);
        }
        JsonObject answer = new JsonObject();
        answer.put("traces", kept);
        answer.put("eventsSeen", counts.eventsSeen);
        answer.put("eventsLost", counts.eventsLost);
        answer.put("exchangesSampledOut", counts.sampledOut);
        answer.put("exchangesIncomplete", counts.incomplete);
        return answer.toJson();
    }

    private BacklogTracer tracer() {
        // Camel registers its tracer under the implementation class (DefaultChannel)
        Object tracer = context.getCamelContextExtension()
                .getContextPlugin(org.apache.camel.impl.debugger.BacklogTracer.class);
        return tracer instanceof BacklogTracer backlog ? backlog : null;
    }

    private void feed(
            BacklogTracerEventMessage event,
            long now,
            double sampleRate,
            String keepHeader,
            JsonArray kept,
            Counts counts) {
        long uid = event.getUid();
        if (uid <= cursor) {
            return; // the tracer keeps what it dumped when RemoveOnDump is off
        }
        if (cursor > 0 && uid > cursor + 1) {
            counts.eventsLost += uid - cursor - 1; // the tracer's bounded queue dropped them
        }
        cursor = uid;
        counts.eventsSeen++;
        String exchangeId = event.getExchangeId();
        Pending exchange = pending.computeIfAbsent(exchangeId, id -> new Pending());
        exchange.seenAt = now;
        if (event.isFirst() && exchange.outerRoute == null) {
            exchange.outerRoute = event.getRouteId();
        }
        boolean closing = event.isLast() && event.getRouteId().equals(exchange.outerRoute);
        if (exchange.events.size() < MAX_EVENTS || event.isFirst() || event.isLast()) {
            exchange.events.add(event);
        } else {
            counts.eventsLost++; // a looping route: keep its frame, drop the middle
        }
        if (closing) {
            pending.remove(exchangeId);
            decide(exchange, sampleRate, keepHeader, kept, counts);
        }
    }

    private void expire(
            long now,
            long staleAfterMillis,
            double sampleRate,
            String keepHeader,
            JsonArray kept,
            Counts counts) {
        Iterator<Pending> oldestFirst = pending.values().iterator();
        while (oldestFirst.hasNext()) {
            Pending exchange = oldestFirst.next();
            boolean stale = now - exchange.seenAt >= staleAfterMillis;
            if (stale || pending.size() > MAX_PENDING) {
                oldestFirst.remove();
                if (!decide(exchange, sampleRate, keepHeader, kept, counts)) {
                    counts.incomplete++; // a kept one is counted by the sidecar, which sees it end
                }
            }
        }
    }

    private static boolean decide(
            Pending exchange, double sampleRate, String keepHeader, JsonArray kept, Counts counts) {
        if (!keep(exchange.events, sampleRate, keepHeader)) {
            counts.sampledOut++;
            return false;
        }
        for (BacklogTracerEventMessage event : exchange.events) {
            kept.add(event.asJSon());
        }
        return true;
    }

    static boolean keep(List<BacklogTracerEventMessage> events, double sampleRate, String header) {
        if (events.isEmpty()) {
            return false;
        }
        if (Sampling.sampledIn(events.get(0).getExchangeId(), sampleRate)) {
            return true;
        }
        for (BacklogTracerEventMessage event : events) {
            if (event.isFailed()) {
                return true;
            }
        }
        if (header == null || header.isEmpty()) {
            return false;
        }
        for (BacklogTracerEventMessage event : events) {
            if (event.isFirst() && carriesHeader(event, header)) {
                return true; // the sidecar checks that it sent this one itself
            }
        }
        return false;
    }

    private static boolean carriesHeader(BacklogTracerEventMessage event, String header) {
        if (!(event.asJSon().get("message") instanceof Map<?, ?> message)) {
            return false;
        }
        if (!(message.get("headers") instanceof List<?> headers)) {
            return false;
        }
        for (Object item : headers) {
            if (item instanceof Map<?, ?> entry && header.equals(entry.get("key"))) {
                return true;
            }
        }
        return false;
    }
}
