// Starts one OpenSearch or Elasticsearch 7 node inside this JVM from the jars that a pom.xml
// resolves (deploy/opensearch/ or deploy/elasticsearch/): the server with the netty4 transport
// (HTTP), mapper-extras (scaled_float) and, where published, common analysis plugins on the
// classpath; no distribution, no plugin directory, no security manager.
// deploy/opensearch/opensearch.sh compiles and runs it; the settings arrive as -EKEY=VALUE
// arguments, like bin/opensearch.
//
// OpenSearch is Elasticsearch 7.10 under the package org.opensearch: the classes and
// signatures used here are the same in both (OpenSearch 1-2, Elasticsearch 7), so the engine is
// found by its package and called through reflection, one launcher for both. Node's
// constructor that takes classpath plugins is protected (the engines' own test frameworks
// subclass it); reflection reaches it the same way.
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

public final class Launcher {
  private static String pkg;  // "org.opensearch" or "org.elasticsearch"

  private static Class<?> type(String name) throws ClassNotFoundException {
    return Class.forName(pkg + "." + name);
  }

  private static Object call(Class<?> c, Object target, String method, Class<?>[] types,
      Object... args) throws Exception {
    try {
      return c.getMethod(method, types).invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
    }
  }

  public static void main(String[] args) throws Exception {
    for (String p : new String[] {"org.opensearch", "org.elasticsearch"}) {
      try {
        Class.forName(p + ".node.Node");
        pkg = p;
        break;
      } catch (ClassNotFoundException e) {
        // the other engine
      }
    }
    if (pkg == null) {
      System.err.println("Launcher: neither OpenSearch nor Elasticsearch is on the classpath");
      System.exit(2);
    }
    Class<?> settingsType = type("common.settings.Settings");
    Object builder = call(settingsType, null, "builder", new Class<?>[0]);
    for (String a : args) {
      if (!a.startsWith("-E") || a.indexOf('=') < 0) {
        System.err.println("usage: Launcher -Ekey=value ...   (got '" + a + "')");
        System.exit(2);
      }
      int eq = a.indexOf('=');
      call(builder.getClass(), builder, "put", new Class<?>[] {String.class, String.class},
          a.substring(2, eq), a.substring(eq + 1));
    }
    Object settings = call(builder.getClass(), builder, "build", new Class<?>[0]);
    Class<?>[] getKey = {String.class};
    String home = (String) call(settingsType, settings, "get", getKey, "path.home");
    String nodeName = (String) call(settingsType, settings, "get", getKey, "node.name");
    Path config = Paths.get(home).resolve("config");
    Supplier<String> name = () -> nodeName;
    Class<?> envType = type("env.Environment");
    Object env = call(type("node.InternalSettingsPreparer"), null, "prepareEnvironment",
        new Class<?>[] {settingsType, Map.class, Path.class, Supplier.class}, settings, Map.of(),
        config, name);
    Class<?> logs = type("common.logging.LogConfigurator");
    call(logs, null, "setNodeName", new Class<?>[] {String.class}, nodeName);
    call(logs, null, "configure", new Class<?>[] {envType}, env);

    List<Class<?>> plugins = new ArrayList<>();
    plugins.add(type("transport.Netty4Plugin"));
    plugins.add(type("index.mapper.MapperExtrasPlugin"));
    try {  // Elasticsearch does not publish analysis-common; nothing here needs it
      plugins.add(type("analysis.common.CommonAnalysisPlugin"));
    } catch (ClassNotFoundException e) {
      // not on the classpath
    }
    Class<?> nodeType = type("node.Node");
    Constructor<?> ctor = nodeType.getDeclaredConstructor(envType, Collection.class, boolean.class);
    ctor.setAccessible(true);
    Object node = ctor.newInstance(env, plugins, true);
    CountDownLatch stopped = new CountDownLatch(1);
    // SIGTERM (opensearch.sh down) closes the node cleanly: shards flushed, ports released.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        call(nodeType, node, "close", new Class<?>[0]);
        call(nodeType, node, "awaitClose", new Class<?>[] {long.class, TimeUnit.class}, 30L,
            TimeUnit.SECONDS);
      } catch (Exception e) {
        e.printStackTrace();
      }
      stopped.countDown();
    }));
    call(nodeType, node, "start", new Class<?>[0]);
    stopped.await();
  }
}
