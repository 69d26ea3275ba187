package dev.spate.bench.streams;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.Currency;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.TimestampExtractor;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The job a Kafka user would write for spate aggregate's windows: tumbling event-time windows
 * (--window-ms) with a grace period (--grace-ms, spate's --lateness) per (merchantId, currency),
 * with count, sum, min and max of the amount and the purchase and refund counts; exactly-once
 * v2; final results only (suppress until the window closes). Like spate it has two stages: the
 * input is keyed by userId, so grouping by merchant repartitions through an internal topic.
 *
 * <p>Amounts are exact: each is read as a decimal and kept in the currency's minor units (the
 * JDK's ISO 4217 digits; the reference's "EU" is EUR), and written back as a decimal. A record
 * that does not parse is counted and skipped.
 *
 * <p>Runs until it has aggregated --records input records, then closes (a last commit) and
 * prints one JSON line: records, elapsed seconds from the first record read to the close, and
 * records/s. Options: --brokers --input --output --records --window-ms --grace-ms --app-id
 * --state-dir --threads --timeout-s.
 */
public final class StreamsAggregate {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] TIME_FIELD = "\"transactionTime\":".getBytes(StandardCharsets.UTF_8);

  /** The aggregate of one (window, merchant, currency): 48 bytes in the state store. */
  static final class Agg {
    long count, sum, min = Long.MAX_VALUE, max = Long.MIN_VALUE, purchases, refunds;

    Agg add(long minor, byte kind) {
      ++count;
      sum = Math.addExact(sum, minor);
      min = Math.min(min, minor);
      max = Math.max(max, minor);
      purchases += kind == 1 ? 1 : 0;
      refunds += kind == 2 ? 1 : 0;
      return this;
    }
  }

  static final Serde<Agg> AGG =
      Serdes.serdeFrom(
          (topic, a) ->
              ByteBuffer.allocate(48).putLong(a.count).putLong(a.sum).putLong(a.min)
                  .putLong(a.max).putLong(a.purchases).putLong(a.refunds).array(),
          (topic, b) -> {
            ByteBuffer in = ByteBuffer.wrap(b);
            Agg a = new Agg();
            a.count = in.getLong();
            a.sum = in.getLong();
            a.min = in.getLong();
            a.max = in.getLong();
            a.purchases = in.getLong();
            a.refunds = in.getLong();
            return a;
          });

  /** One record's contribution, through the repartition topic: minor units and kind. */
  static final Serde<byte[]> BYTES = Serdes.ByteArray();

  /** Event time: the record's transactionTime (epoch ms), read without parsing the record. */
  public static final class TransactionTime implements TimestampExtractor {
    public TransactionTime() {}

    @Override
    public long extract(ConsumerRecord<Object, Object> r, long partitionTime) {
      byte[] v = (byte[]) r.value();
      if (v == null) return partitionTime;
      int i = indexOf(v, TIME_FIELD);
      if (i < 0) return partitionTime;
      long t = 0;
      int j = i + TIME_FIELD.length;
      for (; j < v.length && v[j] >= '0' && v[j] <= '9'; ++j) t = t * 10 + (v[j] - '0');
      return j == i + TIME_FIELD.length ? partitionTime : t;
    }
  }

  static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; ++i) {
      for (int k = 0; k < needle.length; ++k) {
        if (hay[i + k] != needle[k]) continue outer;
      }
      return i;
    }
    return -1;
  }

  static String iso(String code) {
    return "EU".equals(code) ? "EUR" : code;
  }

  static int digits(String iso) {
    int d = Currency.getInstance(iso).getDefaultFractionDigits();
    return Math.max(d, 0);
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> opt = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) opt.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
    final String brokers = opt.get("brokers"), input = opt.get("input"), output = opt.get("output");
    final long records = Long.parseLong(opt.get("records"));
    final long windowMs = Long.parseLong(opt.getOrDefault("window-ms", "60000"));
    final long graceMs = Long.parseLong(opt.getOrDefault("grace-ms", "5000"));
    final long timeoutS = Long.parseLong(opt.getOrDefault("timeout-s", "1800"));

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, opt.get("app-id"));
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 3);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(opt.getOrDefault("threads", "2")));
    p.put(StreamsConfig.STATE_DIR_CONFIG, opt.get("state-dir"));
    p.put(StreamsConfig.DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG, TransactionTime.class);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    // spate aggregate's producer settings for its outputs and internal topics.
    p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), "lz4");
    p.put(StreamsConfig.topicPrefix("min.insync.replicas"), "2");

    final AtomicLong firstRead = new AtomicLong(0), aggregated = new AtomicLong(0),
        invalid = new AtomicLong(0);
    StreamsBuilder b = new StreamsBuilder();
    b.stream(input, Consumed.with(BYTES, BYTES))
        .peek((k, v) -> firstRead.compareAndSet(0, System.nanoTime()))
        .flatMap(
            (k, v) -> {
              try {
                JsonNode n = JSON.readTree(v);
                String cur = iso(n.get("currency").asText());
                long minor =
                    new BigDecimal(n.get("amount").asText()).movePointRight(digits(cur))
                        .longValueExact();
                String type = n.get("transactionType").asText();
                byte kind = (byte) ("purchase".equals(type) ? 1 : "refund".equals(type) ? 2 : 0);
                String key = n.get("merchantId").asText() + '\u0000' + cur;
                byte[] value = ByteBuffer.allocate(9).putLong(minor).put(kind).array();
                return List.of(KeyValue.pair(key, value));
              } catch (Exception e) {
                invalid.incrementAndGet();
                return Collections.<KeyValue<String, byte[]>>emptyList();
              }
            })
        .groupByKey(Grouped.with(Serdes.String(), BYTES))
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(windowMs), Duration.ofMillis(graceMs)))
        .aggregate(
            Agg::new,
            (key, v, agg) -> {
              aggregated.incrementAndGet();
              ByteBuffer in = ByteBuffer.wrap(v);
              return agg.add(in.getLong(), in.get());
            },
            Materialized.<String, Agg, WindowStore<Bytes, byte[]>>with(Serdes.String(), AGG))
        .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
        .toStream()
        .map((Windowed<String> wk, Agg a) -> KeyValue.pair(wk.key(), result(wk, a)))
        .to(output, Produced.with(Serdes.String(), Serdes.String()));

    // The output topic, as the input's partitions, replicated as spate's internal topics.
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      int partitions =
          admin.describeTopics(List.of(input)).allTopicNames().get().get(input).partitions().size();
      admin.createTopics(List.of(new NewTopic(output, partitions, (short) 3)
              .configs(Map.of("min.insync.replicas", "2"))))
          .all().get();
    } catch (java.util.concurrent.ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) throw e;
    }

    KafkaStreams streams = new KafkaStreams(b.build(), p);
    streams.setUncaughtExceptionHandler(
        e -> {
          System.err.println("kafka-streams: " + e);
          e.printStackTrace();
          return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    final long t0 = System.nanoTime();
    streams.start();
    final long deadline = t0 + timeoutS * 1_000_000_000L;
    long lastLog = t0;
    while (aggregated.get() + invalid.get() + dropped(streams) < records
        && System.nanoTime() < deadline && streams.state().isRunningOrRebalancing()) {
      Thread.sleep(20);
      if (System.nanoTime() - lastLog > 5_000_000_000L) {
        lastLog = System.nanoTime();
        System.err.printf("kafka-streams: %d aggregated, %d dropped as late, %d invalid%n",
            aggregated.get(), dropped(streams), invalid.get());
      }
    }
    final long late = dropped(streams);
    final boolean done = aggregated.get() + invalid.get() + late >= records;
    if (!done) System.err.println("kafka-streams: stopped in state " + streams.state());
    streams.close(Duration.ofSeconds(60));
    final long t1 = System.nanoTime();
    final long first = firstRead.get() == 0 ? t0 : firstRead.get();
    final double secs = (t1 - first) / 1e9;
    // The JVM's own CPU time and peak RSS (the harness's wait4 figures would add run.sh's check).
    final double cpu =
        ((com.sun.management.OperatingSystemMXBean)
                    java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime()
            / 1e9;
    long hwm = 0;
    for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) hwm = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
    }
    System.out.printf(
        "{\"engine\":\"kafka-streams\",\"mode\":\"windowed\",\"records\":%d,"
            + "\"aggregated\":%d,\"late\":%d,\"invalid\":%d,\"complete\":%b,"
            + "\"elapsedSeconds\":%.3f,"
            + "\"startupSeconds\":%.3f,\"recordsPerSecond\":%.1f,\"cpuSeconds\":%.2f,"
            + "\"peakRssBytes\":%d,\"outputTopic\":%s,\"kafkaStreamsVersion\":%s}%n",
        records, aggregated.get(), late, invalid.get(), done, secs, (first - t0) / 1e9,
        done ? records / secs : 0.0, cpu, hwm, JSON.writeValueAsString(output),
        JSON.writeValueAsString(AppInfoParser.getVersion()));
    System.exit(done ? 0 : 1);
  }

  /** Records the windowed aggregation dropped: their window had closed (task metric). */
  static long dropped(KafkaStreams streams) {
    double n = 0;
    for (var e : streams.metrics().entrySet()) {
      if (e.getKey().name().equals("dropped-records-total")
          && e.getValue().metricValue() instanceof Double d) {
        n += d;
      }
    }
    return (long) n;
  }

  /** One window's result as JSON: its bounds, key, and the amounts as exact decimals. */
  static String result(Windowed<String> wk, Agg a) {
    String[] key = wk.key().split("\u0000", 2);
    int d = digits(key[1]);
    try {
      return "{\"windowStart\":" + wk.window().start() + ",\"windowEnd\":" + wk.window().end()
          + ",\"merchantId\":" + JSON.writeValueAsString(key[0]) + ",\"currency\":\"" + key[1]
          + "\",\"transactionCount\":" + a.count
          + ",\"totalAmount\":" + BigDecimal.valueOf(a.sum, d).toPlainString()
          + ",\"minAmount\":" + BigDecimal.valueOf(a.min, d).toPlainString()
          + ",\"maxAmount\":" + BigDecimal.valueOf(a.max, d).toPlainString()
          + ",\"purchaseCount\":" + a.purchases + ",\"refundCount\":" + a.refunds + "}";
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
