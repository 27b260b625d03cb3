package io.camelops.oracle;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.RouteConfigurationDefinition;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.spi.Resource;
import org.apache.camel.spi.RoutesLoader;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;

/**
 * Camel's verdict on route files, without running them.
 *
 * <p>Reads groups of file paths from stdin, one path a line, a blank line ending a group (the route
 * files of one integration). Each group is loaded with Camel's own YAML DSL loader into a fresh
 * CamelContext that is never started, so no endpoint is created and no component is needed. Prints
 * one line per file: {@code OK<TAB>path} or {@code ERR<TAB>path<TAB>message}. After a group it
 * applies the two checks Camel makes when the context starts and that need no component: unique
 * route ids and existing route configuration ids ({@code ERR} on the file holding the offender).
 * Those two checks are the harness's own (the context is never started), written to match what
 * Camel refuses at start-up. One JVM serves every group, so hundreds of files cost one start-up.
 */
public final class Oracle {

    private Oracle() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        List<String> group = new ArrayList<>();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                judge(group, out);
                group.clear();
            } else {
                group.add(line);
            }
        }
        judge(group, out);
        out.flush();
    }

    private static void judge(List<String> files, PrintStream out) {
        if (files.isEmpty()) {
            return;
        }
        Map<String, String> verdicts = new LinkedHashMap<>();
        Map<String, String> routeOwner = new HashMap<>();
        Map<String, String> configOwner = new HashMap<>();
        List<String[]> configRefs = new ArrayList<>();
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            context.build();
            ModelCamelContext model = context;
            RoutesLoader loader = PluginHelper.getRoutesLoader(context);
            for (String file : files) {
                // by identity: Camel's model may replace a definition that has the same id
                Set<Object> before = identities(model.getRouteDefinitions());
                Set<Object> configsBefore = identities(model.getRouteConfigurationDefinitions());
                try {
                    String text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
                    Resource resource = ResourceHelper.fromString("file:" + file, text);
                    loader.loadRoutes(resource);
                    verdicts.put(file, "OK");
                } catch (Throwable e) {
                    verdicts.put(file, "ERR\t" + describe(e));
                    continue;
                }
                for (RouteDefinition route : model.getRouteDefinitions()) {
                    String id = route.getRouteId();
                    if (id == null || before.contains(route)) {
                        continue;
                    }
                    if (routeOwner.containsKey(id)) {
                        fail(verdicts, file, "duplicate route id detected: " + id + " (also in "
                                + routeOwner.get(id) + ")");
                    } else {
                        routeOwner.put(id, file);
                    }
                    String ref = route.getRouteConfigurationId();
                    if (ref != null) {
                        configRefs.add(new String[] {file, ref});
                    }
                }
                for (RouteConfigurationDefinition config : model.getRouteConfigurationDefinitions()) {
                    String id = config.getId();
                    if (id == null || configsBefore.contains(config)) {
                        continue;
                    }
                    if (configOwner.containsKey(id)) {
                        fail(verdicts, file, "duplicate route configuration id detected: " + id
                                + " (also in " + configOwner.get(id) + ")");
                    } else {
                        configOwner.put(id, file);
                    }
                }
            }
            for (String[] ref : configRefs) {
                for (String wanted : ref[1].split(",")) {
                    String name = wanted.trim();
                    if (!name.isEmpty() && !name.contains("*") && !configOwner.containsKey(name)) {
                        fail(verdicts, ref[0], "route configuration with id " + name + " not found");
                    }
                }
            }
        } catch (Throwable e) {
            for (String file : files) {
                verdicts.putIfAbsent(file, "ERR\t" + describe(e));
            }
        }
        for (Map.Entry<String, String> verdict : verdicts.entrySet()) {
            String value = verdict.getValue();
            if (value.equals("OK")) {
                out.println("OK\t" + verdict.getKey());
            } else {
                out.println("ERR\t" + verdict.getKey() + value.substring(3));
            }
        }
    }

    private static void fail(Map<String, String> verdicts, String file, String message) {
        if ("OK".equals(verdicts.get(file))) {
            verdicts.put(file, "ERR\t" + message);
        }
    }

    private static Set<Object> identities(List<?> definitions) {
        Set<Object> found = Collections.newSetFromMap(new IdentityHashMap<>());
        found.addAll(definitions);
        return found;
    }

    /** The exception and its causes (at most five deep), on one line. */
    private static String describe(Throwable error) {
        StringBuilder text = new StringBuilder(error.getClass().getSimpleName() + ": " + error.getMessage());
        Throwable cause = error.getCause();
        int depth = 0;
        while (cause != null && cause != error && depth++ < 5) {
            text.append(" | caused by ").append(cause.getClass().getSimpleName()).append(": ")
                    .append(cause.getMessage());
            error = cause;
            cause = cause.getCause();
        }
        return text.toString().replace('\n', ' ').replace('\r', ' ').replace('\t', ' ');
    }
}
