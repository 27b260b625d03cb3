package io.camelops.trace;

import java.lang.management.ManagementFactory;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.ContextServicePlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers {@link TraceDrain} for each Camel context, found by Camel through
 * META-INF/services: nothing in the integration's configuration names it, so a runtime image
 * without this jar starts the same configuration unchanged (the sidecar then reads the tracer
 * itself). {@code -Dcamelops.trace.drain=false} leaves it out.
 */
public final class TraceDrainPlugin implements ContextServicePlugin {

    static final String DOMAIN = "io.camelops";
    private static final Logger LOG = LoggerFactory.getLogger(TraceDrainPlugin.class);

    private ObjectName registered;

    @Override
    public void load(CamelContext context) {
        if ("false".equals(System.getProperty("camelops.trace.drain"))) {
            LOG.info("camelops trace drain disabled by -Dcamelops.trace.drain=false");
            return;
        }
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        try {
            ObjectName name = new ObjectName(
                    DOMAIN + ":type=TraceDrain,context=" + ObjectName.quote(context.getName()));
            server.registerMBean(new TraceDrain(context), name);
            registered = name;
        } catch (JMException e) {
            LOG.warn("camelops trace drain not registered: {}", e.getMessage());
        }
    }

    @Override
    public void unload(CamelContext context) {
        if (registered == null) {
            return;
        }
        try {
            ManagementFactory.getPlatformMBeanServer().unregisterMBean(registered);
        } catch (JMException e) {
            LOG.debug("camelops trace drain already unregistered: {}", e.getMessage());
        }
        registered = null;
    }
}
