#!/usr/bin/env python3
"""deploy/compose.yaml without a Docker daemon (ctest monitoring_compose, label `monitoring`).

`docker-compose config` (Debian's docker-compose, which validates against the Compose schema
and resolves anchors and variables offline) must accept the file; then its resolved form must
agree with the local scripts, which are the source of truth:

  - Kafka: the image version and the JMX exporter version are cluster.sh's; every broker
    property cluster.sh writes has the same value in the brokers' and controllers' environment;
    node ids 1-3 controllers and 4-6 brokers as `cluster.sh up --split`; host listeners, quorum
    ports and exporter ports (listener port + 2) as cluster.sh computes them; the topics of
    `cluster.sh up` with its partitions, replication factor and min.insync.replicas.
  - Prometheus: the Debian package's version; the config mounted is prometheus-compose.yml
    (equal to render.py's output, checked by monitoring_promtool) and its targets are the
    services and ports of this file; alerts.yml mounted beside it.
  - Grafana: provisioning and dashboards mounted where the provider looks; the data source URL
    names the prometheus service.
  - spate: produce/aggregate/index/registry from the repository's Dockerfile, on the broker
    listeners; metrics ports those of prometheus.yml. The Dockerfile's runtime packages are
    exactly those that provide the shared libraries the built spate needs (readelf + dpkg).
  - OpenSearch: when deploy/opensearch/ exists, its scripts name the same version.
"""
import argparse
import glob
import os
import re
import subprocess
import sys

from debian_yaml import yaml  # noqa: E402
from checks import FAILURES, check  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEPLOY = os.path.join(ROOT, "deploy")
COMPOSE = os.path.join(DEPLOY, "compose.yaml")
CLUSTER = os.path.join(DEPLOY, "kafka", "cluster.sh")


def read(path):
    with open(path) as f:
        return f.read()


def cluster_settings():
    """What deploy/kafka/cluster.sh uses by default: versions, ports, properties, topics."""
    sh = read(CLUSTER)
    var = lambda name: re.search(rf"^{name}=\$\{{\w+:-([^}}]+)\}}|^{name}=(\S+)", sh, re.M)
    def value(name):
        m = var(name)
        return m.group(1) or m.group(2)
    props = {}
    block = re.search(r"cat > \"\$DIR/node\$id/server.properties\" <<PROPS\n(.*?)\nPROPS", sh, re.S).group(1)
    for line in block.splitlines():
        m = re.fullmatch(r"([a-z.]+)=(.*)", line)
        if m:
            props[m.group(1)] = m.group(2)
    props["num.partitions"] = value("PARTITIONS")
    topics = ["financial_transactions"] + re.search(r"^TOPICS=\(([^)]*)\)", sh, re.M).group(1).split()
    return {
        "kafka": value("KAFKA_VERSION"), "jmx": value("JMX_EXPORTER_VERSION"), "heap": value("HEAP"),
        "broker_ports": [int(p) for p in re.findall(r"\$\(\((\d+) \+ OFF\)\)", re.search(r"^BROKER_PORTS=.*$", sh, re.M).group(0))],
        "controller_ports": [int(p) for p in re.findall(r"\$\(\((\d+) \+ OFF\)\)", re.search(r"^CONTROLLER_PORTS=.*$", sh, re.M).group(0))],
        "props": props, "topics": topics, "partitions": value("PARTITIONS"),
    }


def env_key(prop):
    return "KAFKA_" + prop.upper().replace(".", "_")


def test_kafka(services, c):
    controllers = [services[f"controller-{i}"] for i in (1, 2, 3)]
    brokers = [services[f"broker-{i}"] for i in (1, 2, 3)]
    # Properties that name this host's listeners or paths differ by design; the rest must match.
    per_node = {"process.roles", "node.id", "controller.quorum.voters", "listeners",
                "advertised.listeners", "log.dirs"}
    voters = ",".join(f"{i + 1}@controller-{i + 1}:{p}" for i, p in enumerate(c["controller_ports"]))
    for i, s in enumerate(controllers + brokers):
        name = f"{'controller' if i < 3 else 'broker'}-{i % 3 + 1}"
        env = s.get("environment", {})
        check(s["image"] == f"apache/kafka:{c['kafka']}", f"{name}: image {s['image']}, cluster.sh runs Kafka {c['kafka']}")
        for prop, val in c["props"].items():
            if prop in per_node or (i < 3 and prop in ("inter.broker.listener.name",)):
                continue
            got = str(env.get(env_key(prop)))
            if prop == "listener.security.protocol.map":
                # Compose adds the host listener (PLAINTEXT_HOST) beside cluster.sh's two.
                extra = set(got.split(",")) - set(val.split(","))
                check(set(val.split(",")) <= set(got.split(",")) and extra <= {"PLAINTEXT_HOST:PLAINTEXT"},
                      f"{name}: {env_key(prop)}={got}, cluster.sh: {prop}={val} (+ PLAINTEXT_HOST)")
                continue
            check(got == val, f"{name}: {env_key(prop)}={got}, cluster.sh: {prop}={val}")
        check(env.get("KAFKA_CONTROLLER_QUORUM_VOTERS") == voters, f"{name}: quorum voters {env.get('KAFKA_CONTROLLER_QUORUM_VOTERS')}, want {voters}")
        check(env.get("KAFKA_HEAP_OPTS") == f"-Xms{c['heap']} -Xmx{c['heap']}", f"{name}: heap {env.get('KAFKA_HEAP_OPTS')}, cluster.sh {c['heap']}")
        want_id, want_role = (str(i + 1), "controller") if i < 3 else (str(i + 1), "broker")
        check(str(env.get("KAFKA_NODE_ID")) == want_id and env.get("KAFKA_PROCESS_ROLES") == want_role,
              f"{name}: node {env.get('KAFKA_NODE_ID')} {env.get('KAFKA_PROCESS_ROLES')}, cluster.sh --split: {want_id} {want_role}")
        port = c["controller_ports"][i] if i < 3 else c["broker_ports"][i - 3]
        agent = f"-javaagent:/agent/jmx_prometheus_javaagent-{c['jmx']}.jar={port + 2}:/etc/spate/jmx-exporter.yml"
        check(env.get("KAFKA_OPTS") == agent, f"{name}: KAFKA_OPTS {env.get('KAFKA_OPTS')}, want {agent}")
        mounts = " ".join(str(v) for v in s.get("volumes", []))
        check("deploy/kafka/jmx-exporter.yml" in mounts and "/etc/spate/jmx-exporter.yml" in mounts,
              f"{name}: deploy/kafka/jmx-exporter.yml not mounted: {mounts}")
        if i < 3:
            check(env.get("KAFKA_LISTENERS") == f"CONTROLLER://:{port}", f"{name}: listeners {env.get('KAFKA_LISTENERS')}")
            continue
        check(env.get("KAFKA_LISTENERS") == f"PLAINTEXT://:19092,PLAINTEXT_HOST://:{port}", f"{name}: listeners {env.get('KAFKA_LISTENERS')}")
        check(env.get("KAFKA_ADVERTISED_LISTENERS") == f"PLAINTEXT://{name}:19092,PLAINTEXT_HOST://localhost:{port}",
              f"{name}: advertised listeners {env.get('KAFKA_ADVERTISED_LISTENERS')}")
        check([(p["published"], p["target"]) for p in s.get("ports", [])] == [(port, port)], f"{name}: ports {s.get('ports')}, want {port}")
    check(f"jmx_prometheus_javaagent:{c['jmx']}" in " ".join(services["jmx-agent"]["command"]),
          f"jmx-agent: fetches {services['jmx-agent']['command']}, cluster.sh uses {c['jmx']}")
    t = services["topics"]
    script = " ".join(t.get("command", []))
    check(t["image"] == f"apache/kafka:{c['kafka']}", f"topics: image {t['image']}")
    loop = re.search(r"for t in ([^;]+);", script)
    check(loop and loop.group(1).split() == c["topics"], f"topics: creates {loop and loop.group(1)}, cluster.sh {c['topics']}")
    for want in (f"--partitions {c['partitions']}", "--replication-factor 3", "--config min.insync.replicas=2"):
        check(want in script, f"topics: no '{want}'")


def mounted(service, source_suffix):
    """Container path where a file/dir ending in source_suffix is mounted, or None."""
    for v in service.get("volumes", []):
        if isinstance(v, dict):
            src, dst = v.get("source", ""), v.get("target")
        else:
            src, dst = str(v).split(":")[0], str(v).split(":")[1]
        if src.rstrip("/").endswith(source_suffix):
            return dst
    return None


def test_monitoring(services):
    with open(os.path.join(DEPLOY, "prometheus", "prometheus-compose.yml")) as f:
        prom_cfg = yaml.safe_load(f)
    version = re.search(r"version (\d+\.\d+\.\d+)", subprocess.run(
        ["promtool", "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()).group(1)
    p = services["prometheus"]
    check(p["image"] == f"prom/prometheus:v{version}", f"prometheus: image {p['image']}, the Debian package is {version}")
    check(mounted(p, "deploy/prometheus/prometheus-compose.yml") == "/etc/prometheus/prometheus.yml",
          "prometheus: prometheus-compose.yml not mounted as /etc/prometheus/prometheus.yml")
    for rule in prom_cfg["rule_files"]:
        check(mounted(p, f"deploy/prometheus/{rule}") == f"/etc/prometheus/{rule}", f"prometheus: {rule} not mounted beside the config")
    # Every scrape target is a service of this file and a port it listens on.
    for job in prom_cfg["scrape_configs"]:
        for sc in job.get("static_configs", []):
            for target in sc["targets"]:
                host, port = target.rsplit(":", 1)
                if host == "localhost":
                    check(job["job_name"] == "prometheus", f"{target}: localhost outside the prometheus job")
                    continue
                check(host in services, f"prometheus target {target}: no service {host}")
                s = services.get(host, {})
                said = " ".join(str(x) for x in s.get("command", []) or []) + " " + str(s.get("environment", {}))
                check(re.search(rf"[:=]{port}\b", said), f"prometheus target {target}: {host} does not listen on {port}")

    g = services["grafana"]
    with open(os.path.join(DEPLOY, "grafana", "provisioning", "dashboards", "spate.yml")) as f:
        provider_path = yaml.safe_load(f)["providers"][0]["options"]["path"]
    check(mounted(g, "deploy/grafana/provisioning") == "/etc/grafana/provisioning", "grafana: provisioning not mounted")
    check(mounted(g, "deploy/grafana/dashboards") == provider_path, f"grafana: dashboards not mounted at {provider_path}")
    check(g.get("environment", {}).get("SPATE_PROMETHEUS_URL") == "http://prometheus:9090",
          f"grafana: SPATE_PROMETHEUS_URL {g.get('environment', {}).get('SPATE_PROMETHEUS_URL')}")

    d = services["dashboards-import"]
    check(mounted(d, "deploy/opensearch-dashboards") == "/import", "dashboards-import: saved objects not mounted at /import")


def test_spate(services, spate):
    brokers = ",".join(f"broker-{i}:19092" for i in (1, 2, 3))
    ports = {"produce": 9465, "aggregate": 9466, "index": 9467}
    for name in ("produce", "aggregate", "index", "schema-registry"):
        s = services[name]
        cmd = s["command"]
        check(s.get("build", {}).get("dockerfile") == "Dockerfile" and os.path.samefile(s["build"]["context"], ROOT),
              f"{name}: not built from the repository's Dockerfile")
        check(cmd[cmd.index("--brokers") + 1] == brokers if "--brokers" in cmd else False, f"{name}: --brokers not {brokers}")
        if name in ports:
            check(cmd[cmd.index("--metrics-addr") + 1] == f"0.0.0.0:{ports[name]}" if "--metrics-addr" in cmd else False,
                  f"{name}: --metrics-addr not 0.0.0.0:{ports[name]}")
    # The subcommands and options compose runs exist in this spate (index: once it has it).
    for name in ("produce", "aggregate", "schema-registry"):
        cmd = services[name]["command"]
        r = subprocess.run([spate, cmd[0], "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        help_text = r.stdout.decode()
        for opt in [a for a in cmd if a.startswith("--")]:
            check(opt in help_text, f"{name}: spate {cmd[0]} has no option {opt}")

    dockerfile = read(os.path.join(ROOT, "Dockerfile"))
    runtime = dockerfile[dockerfile.rindex("FROM "):]
    install = re.search(r"apt-get install[^&]*", runtime).group(0)
    listed = set(re.findall(r"(?<![\w-])((?:lib|zlib)[a-z0-9.+-]+)", install))
    needed = set()
    out = subprocess.run(["readelf", "-d", spate], check=True, stdout=subprocess.PIPE).stdout.decode()
    # The copy the loader picks (ldd), when another architecture's has the same name (libc6-i386's
    # /lib32/libm.so.6 beside libc6's).
    ldd = subprocess.run(["ldd", spate], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
    loaded = {name: os.path.realpath(path) for name, path in re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M)}
    for lib in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out):
        owner = subprocess.run(["dpkg", "-S", f"*/{lib}"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
        owners = [line.split(": ", 1) for line in owner.splitlines() if ": " in line]
        loads = [p for p, path in owners if lib in loaded and os.path.realpath(path) == loaded[lib]]
        pkg = (loads or [p for p, _ in owners] or [f"(no package for {lib})"])[0].split(":")[0]
        needed.add(pkg)
    needed -= {"libc6", "libstdc++6", "libgcc-s1"}  # in every Debian image
    check(listed == needed, f"Dockerfile runtime packages {sorted(listed)}, spate needs {sorted(needed)}")


def test_opensearch(services):
    image = services["opensearch"]["image"]
    version = image.rsplit(":", 1)[1]
    check(services["opensearch-dashboards"]["image"].endswith(":" + version),
          f"OpenSearch {version} and Dashboards {services['opensearch-dashboards']['image']} differ")
    local = [p for p in glob.glob(os.path.join(DEPLOY, "opensearch", "*")) if os.path.isfile(p)]
    if local:
        check(any(version in read(p) for p in local), f"compose runs OpenSearch {version}; deploy/opensearch/ names another version")
    else:
        print("(no deploy/opensearch/ yet: the OpenSearch version is not compared)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spate", default="build/spate")
    a = ap.parse_args()
    r = subprocess.run(["docker-compose", "-f", COMPOSE, "config"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not check(r.returncode == 0, f"docker-compose config rejects deploy/compose.yaml:\n{r.stderr.decode()}"):
        return 1
    services = yaml.safe_load(r.stdout)["services"]
    want = {f"controller-{i}" for i in (1, 2, 3)} | {f"broker-{i}" for i in (1, 2, 3)} | {
        "schema-registry", "opensearch", "opensearch-dashboards", "prometheus", "grafana",
        "produce", "aggregate", "index"}
    check(want <= set(services), f"services missing: {sorted(want - set(services))}")
    if not FAILURES:
        test_kafka(services, cluster_settings())
        test_monitoring(services)
        test_spate(services, os.path.abspath(a.spate))
        test_opensearch(services)
    if FAILURES:
        print(f"{len(FAILURES)} FAILED")
        return 1
    print(f"compose: docker-compose config accepts {len(services)} services; Kafka, Prometheus, "
          "Grafana, spate and the Dockerfile agree with the local scripts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
