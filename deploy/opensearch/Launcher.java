// Starts one OpenSearch or Elasticsearch 7/8 node inside this JVM from the jars that a pom.xml
// resolves (deploy/opensearch/ or deploy/elasticsearch/): the server with the netty4 transport
// (HTTP), mapper-extras (scaled_float) and common analysis plugins on the classpath where they
// are published; no distribution, no plugin directory, no security manager.
// deploy/opensearch/opensearch.sh compiles and runs it; the settings arrive as -EKEY=VALUE
// arguments, like bin/opensearch.
//
// OpenSearch is Elasticsearch 7.10 under the package org.opensearch: the classes and
// signatures used here are the same in both (OpenSearch 1-2, Elasticsearch 7), so the engine is
// found by its package and called through reflection, one launcher for all. Node's
// constructor that takes classpath plugins is protected (the engines' own test frameworks
// subclass it); reflection reaches it the same way. Elasticsearch 8 differs in three places,
// each found by what is on the classpath: Netty4Plugin's package (firstOf), LogConfigurator's
// configure (configureLogging) and Node's constructor (startNode).
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
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
    configureLogging(env, envType, nodeName);

    List<Class<?>> plugins = new ArrayList<>();
    // HTTP and transport: the package moved in Elasticsearch 8.
    Class<?> netty = firstOf("transport.Netty4Plugin", "transport.netty4.Netty4Plugin");
    if (netty == null) {
      System.err.println("Launcher: the netty4 transport plugin is not on the classpath");
      System.exit(2);
    }
    plugins.add(netty);
    // scaled_float: Elasticsearch publishes mapper-extras for no 8.x, so such a node has none
    // (spate's template then cannot be installed; README).
    Class<?> mapperExtras = firstOf("index.mapper.MapperExtrasPlugin");
    if (mapperExtras != null) {
      plugins.add(mapperExtras);
    } else {
      System.err.println("Launcher: mapper-extras is not on the classpath: no scaled_float");
    }
    // Elasticsearch does not publish analysis-common; nothing here needs it.
    Class<?> analysis = firstOf("analysis.common.CommonAnalysisPlugin");
    if (analysis != null) plugins.add(analysis);
    Class<?> nodeType = type("node.Node");
    Object node = startNode(nodeType, envType, settingsType, env, plugins);
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

  // The first of the classes that is on the classpath, or null (an engine's other name for it).
  private static Class<?> firstOf(String... names) {
    for (String n : names) {
      try {
        return type(n);
      } catch (ClassNotFoundException e) {
        // try the next name
      }
    }
    return null;
  }

  // LogConfigurator.configure(Environment) in OpenSearch and Elasticsearch 7;
  // configure(Environment, boolean useConsole) in Elasticsearch 8, which keeps the console
  // appender (the node's log is its console: opensearch.sh writes it to node.log) with true.
  private static void configureLogging(Object env, Class<?> envType, String nodeName)
      throws Exception {
    Class<?> logs = type("common.logging.LogConfigurator");
    call(logs, null, "setNodeName", new Class<?>[] {String.class}, nodeName);
    try {
      logs.getMethod("configure", envType, boolean.class);
      call(logs, null, "configure", new Class<?>[] {envType, boolean.class}, env, true);
    } catch (NoSuchMethodException e) {
      call(logs, null, "configure", new Class<?>[] {envType}, env);
    }
  }

  // A node with `plugins` loaded from the classpath, not from a plugins directory.
  // OpenSearch, Elasticsearch 7: Node(Environment, Collection<Class<? extends Plugin>>,
  // boolean forbidPrivateIndexSettings).
  // Elasticsearch 8: Node(Environment, Function<Settings, PluginsService>, boolean): the
  // PluginsService is built as the node would (from its modules and plugins directories, both
  // empty here), then its list of loaded plugins (the private final field that plugins()
  // returns, which every lookup goes through) is replaced by the classpath plugins, each
  // instantiated by PluginsService.loadPlugin and described as a plugin of this version.
  private static Object startNode(Class<?> nodeType, Class<?> envType, Class<?> settingsType,
      Object env, List<Class<?>> plugins) throws Exception {
    try {
      Constructor<?> ctor =
          nodeType.getDeclaredConstructor(envType, Collection.class, boolean.class);
      return construct(ctor, env, plugins, true);
    } catch (NoSuchMethodException e) {
      // Elasticsearch 8
    }
    Path configDir = (Path) call(envType, env, "configFile", new Class<?>[0]);
    Path modulesDir = (Path) call(envType, env, "modulesFile", new Class<?>[0]);
    Path pluginsDir = (Path) call(envType, env, "pluginsFile", new Class<?>[0]);
    Files.createDirectories(modulesDir);  // PluginsService lists it; it must exist
    Files.createDirectories(pluginsDir);
    Class<?> serviceType = type("plugins.PluginsService");
    Class<?> pluginType = type("plugins.Plugin");
    Class<?> descriptorType = type("plugins.PluginDescriptor");
    Class<?> loadedType = type("plugins.PluginsService$LoadedPlugin");
    Class<?> versionType = type("Version");
    Constructor<?> service =
        serviceType.getConstructor(settingsType, Path.class, Path.class, Path.class);
    Method load = serviceType.getDeclaredMethod("loadPlugin", Class.class, settingsType, Path.class);
    load.setAccessible(true);
    // name, description, version, elasticsearch version, java version, class name, module
    // name, extended plugins, native controller, licensed, modular, stable.
    Constructor<?> descriptor = descriptorType.getConstructor(String.class, String.class,
        String.class, versionType, String.class, String.class, String.class, List.class,
        boolean.class, boolean.class, boolean.class, boolean.class);
    Constructor<?> loaded = loadedType.getDeclaredConstructor(descriptorType, pluginType);
    loaded.setAccessible(true);
    Field loadedList = serviceType.getDeclaredField("plugins");
    loadedList.setAccessible(true);
    Object current = versionType.getField("CURRENT").get(null);
    String java = Integer.toString(Runtime.version().feature());
    Function<Object, Object> pluginsService = settings -> {
      try {
        Object s = service.newInstance(settings, configDir, modulesDir, pluginsDir);
        List<Object> list = new ArrayList<>();
        for (Class<?> p : plugins) {
          Object d = descriptor.newInstance(p.getName(), "classpath plugin", "NA", current, java,
              p.getName(), null, List.of(), false, false, false, false);
          list.add(loaded.newInstance(d, load.invoke(null, p, settings, configDir)));
        }
        loadedList.set(s, List.copyOf(list));
        return s;
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("Launcher: cannot load the classpath plugins", e);
      }
    };
    return construct(nodeType.getDeclaredConstructor(envType, Function.class, boolean.class), env,
        pluginsService, true);
  }

  private static Object construct(Constructor<?> ctor, Object... args) throws Exception {
    ctor.setAccessible(true);
    try {
      return ctor.newInstance(args);
    } catch (InvocationTargetException e) {
      throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
    }
  }
}
