"""Process measurement and cluster helpers for bench/run (standard library only)."""
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


@dataclass
class Proc:
    """One finished child: exit code, output, and its own accounting from wait4."""
    rc: int
    stdout: str
    stderr: str
    wall: float
    cpu: float          # user + sys seconds of the child and the children it waited for
    maxrss: int         # bytes (ru_maxrss is KiB on Linux)
    timed_out: bool = False

    def last_json(self) -> dict | None:
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    continue
        return None


# GNU time (Debian's `time`), the parent the measured command is forked from. Linux carries
# ru_maxrss across exec: a command forked from this harness, a Python process of 15 MiB or
# more, would report at least the harness's RSS at that moment. Forked from GNU time, a small
# process, the command's peak is its own, and time writes it (%M, KiB) to a file.
GNU_TIME = "/usr/bin/time"


def measure(cmd: list[str], workdir: Path, name: str, timeout: float, env=None) -> Proc:
    """Runs cmd to the end (killing it after timeout seconds): CPU from os.wait4, peak RSS from
    GNU time (wait4's, a floor of the harness's own RSS, if time wrote none)."""
    workdir.mkdir(parents=True, exist_ok=True)
    out, err = workdir / f"{name}.out", workdir / f"{name}.err"
    rss_file = workdir / f"{name}.rss"
    rss_file.unlink(missing_ok=True)
    with open(out, "wb") as fo, open(err, "wb") as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen([GNU_TIME, "-f", "%M", "-o", str(rss_file), "--", *cmd],
                             stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, env=env,
                             start_new_session=True)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(p.pid, 9)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        timer.cancel()
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return Proc(p.returncode, out.read_text(errors="replace"), err.read_text(errors="replace"),
                wall, ru.ru_utime + ru.ru_stime, _peak_rss(rss_file, ru.ru_maxrss),
                timed_out.is_set())


def _peak_rss(rss_file: Path, wait4_kib: int) -> int:
    """Bytes: the last line of GNU time's output (after "Command exited with non-zero status"
    or "Command terminated by signal" when so), else wait4's figure."""
    try:
        return int(rss_file.read_text().split()[-1]) * 1024
    except (OSError, ValueError, IndexError):
        return wait4_kib * 1024


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """A setup step: output to our stderr, failure raises."""
    return subprocess.run(cmd, check=True, stdout=sys.stderr, **kw)


class Cluster:
    """The local cluster of deploy/kafka/cluster.sh, with the environment it honours."""

    def __init__(self):
        off = int(os.environ.get("SPATE_KAFKA_PORT_OFFSET", "0"))
        default = ",".join(f"127.0.0.1:{p + off}" for p in (29092, 39092, 49092))
        self.brokers = os.environ.get("SPATE_BROKERS", default)
        self.dir = Path(os.environ.get("SPATE_KAFKA_DIR", "/tmp/spate-kafka"))
        self.script = ROOT / "deploy/kafka/cluster.sh"
        self.started = False

    def is_up(self) -> bool:
        r = subprocess.run(["kcat", "-b", self.brokers, "-L", "-m", "5"], capture_output=True,
                           text=True)
        return r.returncode == 0 and len(re.findall(r"^  broker \d+ at", r.stdout, re.M)) == 3

    def up(self) -> None:
        if self.is_up():
            log(f"using the running cluster at {self.brokers}")
            return
        log(f"starting the local cluster ({self.brokers})")
        run([str(self.script), "up"])
        self.started = True

    def down(self) -> None:
        if self.started:
            log("stopping the cluster this run started")
            run([str(self.script), "down"])

    def cpu_seconds(self) -> float | None:
        """User + system CPU seconds the nodes have used so far (/proc/PID/stat), or None when
        a node's pid is unknown (a cluster this machine does not run)."""
        total, hz = 0.0, os.sysconf("SC_CLK_TCK")
        for pid_file in sorted(self.dir.glob("node*/pid")):
            try:
                stat = Path(f"/proc/{pid_file.read_text().strip()}/stat").read_text()
            except (OSError, ValueError):
                return None
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / hz  # utime, stime
        return total or None

    def topic(self, name: str, partitions: int = 6) -> None:
        self.topics([name], partitions)

    def topics(self, names: list[str], partitions: int = 6) -> None:
        """Creates the topics together: each creation is a JVM start of a few seconds."""
        procs = [subprocess.Popen([str(self.script), "topic", n, str(partitions)], stdout=sys.stderr)
                 for n in names]
        for n, p in zip(names, procs):
            if p.wait() != 0:
                raise subprocess.CalledProcessError(p.returncode, f"cluster.sh topic {n}")

    def log_bytes(self, topic: str) -> tuple[int, int]:
        """(bytes of one replica's .log segments, replicas found) for every partition of topic,
        from the brokers' data directories (node*/data/<topic>-<p>/*.log)."""
        total, dirs, parts = 0, 0, set()
        for d in self.dir.glob(f"node*/data/{topic}-*"):
            if not re.fullmatch(re.escape(topic) + r"-\d+", d.name):
                continue
            dirs += 1
            parts.add(d.name)
            total += sum(f.stat().st_size for f in d.glob("*.log"))
        replicas = dirs // len(parts) if parts else 0
        return (total // replicas if replicas else 0), replicas


@dataclass
class Venv:
    """The benchmark virtualenv (SPATE_BENCH_VENV, default bench/.venv), shared with Spark."""
    path: Path
    requirements: Path
    python: Path = field(init=False)

    def __post_init__(self):
        self.python = self.path / "bin/python"

    def ensure(self) -> None:
        stamp = self.path / ".spate-requirements"
        want = self.requirements.read_text()
        if self.python.exists() and stamp.exists() and stamp.read_text() == want:
            return
        if not self.python.exists():
            log(f"creating the virtualenv {self.path}")
            run([sys.executable, "-m", "venv", str(self.path)])
        log(f"pip install -r {self.requirements.relative_to(ROOT)}")
        run([str(self.python), "-m", "pip", "install", "-q", "-r", str(self.requirements)])
        stamp.write_text(want)

    def list_topics(self, brokers: str) -> set[str]:
        """The cluster's topics (empty if the admin client could not tell)."""
        code = ("import sys\nfrom confluent_kafka.admin import AdminClient\n"
                "a = AdminClient({'bootstrap.servers': sys.argv[1]})\n"
                "print('\\n'.join(a.list_topics(timeout=30).topics))\n")
        r = subprocess.run([str(self.python), "-c", code, brokers], capture_output=True, text=True)
        return set(r.stdout.split()) if r.returncode == 0 else set()

    def delete_topics(self, brokers: str, topics: list[str]) -> None:
        """Deletes benchmark topics (disk space) through confluent-kafka's admin client."""
        if not topics:
            return
        code = ("import sys\nfrom confluent_kafka.admin import AdminClient\n"
                "a = AdminClient({'bootstrap.servers': sys.argv[1]})\n"
                "for f in a.delete_topics(sys.argv[2:], operation_timeout=30).values():\n"
                "    try: f.result()\n    except Exception as e: print(e, file=sys.stderr)\n")
        subprocess.run([str(self.python), "-c", code, brokers, *topics], stdout=sys.stderr)
