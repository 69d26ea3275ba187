package dev.spate.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The reference design's Java producer as a baseline: T threads share one KafkaProducer (it is
 * thread-safe; Kafka's documentation recommends sharing it), each generating and sending its
 * share of N records keyed by userId. The record is spate's (docs/semantics.md): the same
 * fields, domains and sizes as `spate gen` with its defaults (100,000 users, 1,000 merchants,
 * 200 locations, amounts 50,000.00 .. 150,000.00, 10% refunds, 10% international, epoch-ms
 * times at 10,000 records per event-time second), drawn from a different random stream.
 *
 * <p>Every record's delivery latency (send() to its callback, which runs on the producer's I/O
 * thread) is kept; the end prints one JSON object on stdout.
 *
 * <p>Options: --brokers --topic --records --threads --acks --linger-ms --batch-size
 * --compression --seed, and -X key=value for any other producer property.
 */
public final class JavaProducer {
  private static final String[] TYPES = {"purchase", "refund"};
  private static final String[] METHODS = {"credit_card", "paypal", "bank_transfer"};
  private static final String[] CURRENCIES = {"USD", "EU", "GBP"};
  private static final long START_MS = 1767225600000L;
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  public static void main(String[] args) throws Exception {
    Map<String, String> opt = new HashMap<>();
    Properties props = new Properties();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (args[i].equals("-X")) {
        String[] kv = args[i + 1].split("=", 2);
        props.put(kv[0], kv[1]);
      } else {
        opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
      }
    }
    final int records = Integer.parseInt(opt.getOrDefault("records", "1000000"));
    final int threads = Integer.parseInt(opt.getOrDefault("threads", "2"));
    final String topic = opt.getOrDefault("topic", "financial_transactions");
    final long seed = Long.parseLong(opt.getOrDefault("seed", "42"));
    String acks = opt.getOrDefault("acks", "all");
    props.putIfAbsent(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
        opt.getOrDefault("brokers", "127.0.0.1:29092,127.0.0.1:39092,127.0.0.1:49092"));
    props.putIfAbsent(ProducerConfig.ACKS_CONFIG, acks);
    props.putIfAbsent(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, String.valueOf(acks.equals("all")));
    props.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, opt.getOrDefault("linger-ms", "5"));
    props.putIfAbsent(ProducerConfig.BATCH_SIZE_CONFIG, opt.getOrDefault("batch-size", "1000000"));
    props.putIfAbsent(ProducerConfig.COMPRESSION_TYPE_CONFIG, opt.getOrDefault("compression", "lz4"));
    props.putIfAbsent(ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(256L << 20));

    final int[] latencyMicros = new int[records];
    Arrays.fill(latencyMicros, -1);
    final AtomicLong failed = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();
    final long t0 = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      Thread[] workers = new Thread[threads];
      for (int t = 0; t < threads; ++t) {
        final int first = t;
        workers[t] = new Thread(() -> {
          SplittableRandom r = new SplittableRandom(seed * 1_000_003L + first);
          StringBuilder sb = new StringBuilder(320);
          long sum = 0;
          for (int i = first; i < records; i += threads) {
            String user = "user_" + (1 + r.nextInt(100_000));
            sb.setLength(0);
            appendRecord(sb, r, user, i);
            byte[] value = sb.toString().getBytes(StandardCharsets.UTF_8);
            sum += value.length;
            final int seq = i;
            final long sent = System.nanoTime();
            producer.send(new ProducerRecord<>(topic, user.getBytes(StandardCharsets.UTF_8), value),
                (md, e) -> {
                  if (e != null) {
                    failed.incrementAndGet();
                  } else {
                    latencyMicros[seq] = (int) ((System.nanoTime() - sent) / 1000);
                  }
                });
          }
          bytes.addAndGet(sum);
        }, "sender-" + t);
        workers[t].start();
      }
      for (Thread w : workers) {
        w.join();
      }
      producer.flush();
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    int[] ok = Arrays.stream(latencyMicros).filter(v -> v >= 0).sorted().toArray();
    double avg = Arrays.stream(ok).average().orElse(0) / 1000.0;
    System.out.printf(
        "{\"sent\":%d,\"acknowledged\":%d,\"failed\":%d,\"bytes\":%d,\"threads\":%d,"
            + "\"elapsedSeconds\":%.6f,\"recordsPerSecond\":%.1f,\"megabytesPerSecond\":%.3f,"
            + "\"latencyMs\":{\"avg\":%.3f,\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}}%n",
        records, ok.length, failed.get(), bytes.get(), threads, secs, records / secs,
        bytes.get() / secs / 1e6, avg, quantile(ok, 0.5), quantile(ok, 0.99),
        ok.length == 0 ? 0.0 : ok[ok.length - 1] / 1000.0);
    System.exit(failed.get() == 0 && ok.length == records ? 0 : 1);
  }

  private static double quantile(int[] sorted, double q) {
    if (sorted.length == 0) {
      return 0;
    }
    return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1000.0;
  }

  /** One record as `spate gen` writes it (field order, two-decimal amount, epoch ms). */
  private static void appendRecord(StringBuilder sb, SplittableRandom r, String user, int i) {
    sb.append("{\"transactionId\":\"");
    appendUuid(sb, r.nextLong(), r.nextLong());
    long cents = 5_000_000L + r.nextLong(10_000_001L);
    sb.append("\",\"userId\":\"").append(user)
        .append("\",\"amount\":").append(cents / 100).append('.');
    long frac = cents % 100;
    if (frac < 10) {
      sb.append('0');
    }
    sb.append(frac)
        .append(",\"transactionTime\":").append(START_MS + i / 10)
        .append(",\"merchantId\":\"merchant").append(1 + r.nextInt(1000))
        .append("\",\"transactionType\":\"").append(TYPES[r.nextInt(10) == 0 ? 1 : 0])
        .append("\",\"location\":\"location ").append(1 + r.nextInt(200))
        .append("\",\"paymentMethod\":\"").append(METHODS[r.nextInt(3)])
        .append("\",\"isInternational\":\"").append(r.nextInt(10) == 0 ? "True" : "False")
        .append("\",\"currency\":\"").append(CURRENCIES[r.nextInt(3)]).append("\"}");
  }

  /** A version 4 UUID in canonical lowercase form. */
  private static void appendUuid(StringBuilder sb, long hi, long lo) {
    hi = (hi & 0xffffffffffff0fffL) | 0x0000000000004000L;
    lo = (lo & 0x3fffffffffffffffL) | 0x8000000000000000L;
    appendHex(sb, hi >>> 32, 8);
    sb.append('-');
    appendHex(sb, (hi >>> 16) & 0xffff, 4);
    sb.append('-');
    appendHex(sb, hi & 0xffff, 4);
    sb.append('-');
    appendHex(sb, lo >>> 48, 4);
    sb.append('-');
    appendHex(sb, lo & 0xffffffffffffL, 12);
  }

  private static void appendHex(StringBuilder sb, long v, int digits) {
    for (int k = digits - 1; k >= 0; --k) {
      sb.append(HEX[(int) ((v >>> (4 * k)) & 0xf)]);
    }
  }
}
