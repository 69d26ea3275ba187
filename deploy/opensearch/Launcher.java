// Starts one OpenSearch node inside this JVM from the jars that pom.xml resolves: the server
// with the netty4 transport (HTTP), common analysis and mapper-extras (scaled_float) plugins on
// the classpath; no distribution, no plugin directory, no security manager. deploy/opensearch/opensearch.sh
// compiles and runs it; the settings arrive as -EKEY=VALUE arguments, like bin/opensearch.
//
// Node's constructor that takes classpath plugins is protected (OpenSearch's own test
// framework subclasses it the same way), hence the small subclass.
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public final class Launcher {
  private static final class ClasspathNode extends Node {
    ClasspathNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
      super(env, plugins, true);
    }
  }

  public static void main(String[] args) throws Exception {
    Settings.Builder b = Settings.builder();
    for (String a : args) {
      if (!a.startsWith("-E") || a.indexOf('=') < 0) {
        System.err.println("usage: Launcher -Ekey=value ...   (got '" + a + "')");
        System.exit(2);
      }
      int eq = a.indexOf('=');
      b.put(a.substring(2, eq), a.substring(eq + 1));
    }
    Settings settings = b.build();
    Path config = Paths.get(settings.get("path.home")).resolve("config");
    Environment env =
        InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), config, () -> settings.get("node.name"));
    LogConfigurator.setNodeName(settings.get("node.name"));
    LogConfigurator.configure(env);
    Node node = new ClasspathNode(env, List.of(Netty4Plugin.class, CommonAnalysisPlugin.class, MapperExtrasPlugin.class));
    CountDownLatch stopped = new CountDownLatch(1);
    // SIGTERM (opensearch.sh down) closes the node cleanly: shards flushed, ports released.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
        node.awaitClose(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        e.printStackTrace();
      }
      stopped.countDown();
    }));
    node.start();
    stopped.await();
  }
}
