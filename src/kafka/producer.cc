#include "kafka/producer.h"

#include <chrono>

namespace spate::kafka {
namespace {

uint64_t NowMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// The opaque of SendAndWait's record, where Send's carry their enqueue time: never a time.
void* const kAwaitedMarker = reinterpret_cast<void*>(~uintptr_t{0});

}  // namespace

Result<std::unique_ptr<Producer>> Producer::Create(const ClientConfig& conf,
                                                   const std::string& topic, StatsExporter* stats,
                                                   int wait_for_topic_ms) {
  std::unique_ptr<Producer> p(new Producer());
  p->exporter_ = stats;
  auto built = conf.Build();
  if (!built.ok()) return built.status();
  ConfPtr c = std::move(built).value();
  rd_kafka_conf_set_opaque(c.get(), p.get());
  rd_kafka_conf_set_dr_msg_cb(c.get(), &Producer::OnDelivery);
  rd_kafka_conf_set_error_cb(c.get(), &Producer::OnError);
  if (stats) {
    char err[256];
    if (conf.Get("statistics.interval.ms").empty()) {
      rd_kafka_conf_set(c.get(), "statistics.interval.ms", "1000", err, sizeof(err));
    }
    rd_kafka_conf_set_stats_cb(c.get(), &Producer::OnStats);
  }
  auto rk = NewHandle(RD_KAFKA_PRODUCER, std::move(c));
  if (!rk.ok()) return rk.status();
  p->rk_ = std::move(rk).value();
  p->topic_.reset(rd_kafka_topic_new(p->rk_.get(), topic.c_str(), nullptr));
  if (!p->topic_) {
    return Status::Error("cannot create topic handle " + topic + ": " +
                         ErrorText(rd_kafka_last_error()));
  }
  if (wait_for_topic_ms > 0) {  // retries "unknown topic" until the deadline
    auto n = p->PartitionCount(topic, wait_for_topic_ms);
    if (!n.ok()) return n.status();
    return p;
  }
  // Fail at start, clearly, rather than after message.timeout.ms of silent retries.
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(p->rk_.get(), 0, p->topic_.get(), &md, 10'000);
  if (err) return Status::Error("cannot reach the cluster for metadata: " + ErrorText(err));
  rd_kafka_resp_err_t topic_err =
      md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  rd_kafka_metadata_destroy(md);
  if (topic_err) {
    return Status::Error("topic " + topic + ": " + ErrorText(topic_err) +
                         " (create it first, e.g. deploy/kafka/cluster.sh topic " + topic + " 6)");
  }
  return p;
}

Producer::~Producer() {
  // librdkafka's threads may still read a borrowed value: stop them before the leases go.
  topic_.reset();
  rk_.reset();
}

Status Producer::Send(std::string_view key, std::string_view value) {
  void* opaque = reinterpret_cast<void*>(static_cast<uintptr_t>(NowMicros() << 1 | 1));
  return Enqueue(key, value, RD_KAFKA_MSG_F_COPY, opaque);
}

Status Producer::SendAll(std::unique_ptr<Lease> lease, size_t n,
                         absl::FunctionRef<KeyValue(size_t)> record) {
  // The copy of every value into librdkafka's own message (RD_KAFKA_MSG_F_COPY) is what this
  // saves: librdkafka reads the values from the lease, once, into the batch it compresses.
  Loan& loan = loans_.emplace_back();
  loan.self = std::prev(loans_.end());
  loan.lease = std::move(lease);
  loan.pending = 1;  // SendAll's own hold, so that a delivery report cannot free it now
  // rd_kafka_produce_batch enqueues the records under one lock of the topic and reads the
  // clocks once; rd_kafka_produce reads two clocks and takes the lock for every record.
  batch_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const auto [key, value] = record(i);
    rd_kafka_message_t& m = batch_[i];
    m = rd_kafka_message_t{};
    m.partition = RD_KAFKA_PARTITION_UA;  // librdkafka's partitioner, as Send
    m.payload = const_cast<char*>(value.data());
    m.len = value.size();
    m.key = const_cast<char*>(key.data());
    m.key_len = key.size();
  }
  Status s;
  size_t first = 0;  // the first record not yet enqueued
  while (first < n && s.ok()) {
    if (!fatal_.empty()) {
      s = Status::Error(fatal_);
      break;
    }
    // The delivery latency counts from here, including any wait for room (as Java's does):
    // one slot for the records of this attempt.
    Slot* slot = &loan.slots.emplace_back(Slot{&loan, NowMicros()});
    for (size_t i = first; i < n; ++i) batch_[i]._private = slot;
    rd_kafka_produce_batch(topic_.get(), RD_KAFKA_PARTITION_UA, 0, &batch_[first],
                           static_cast<int>(n - first));
    size_t i = first;
    for (; i < n; ++i) {
      const rd_kafka_resp_err_t err = batch_[i].err;
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;  // and every record after it
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++stats_.sent;
        stats_.bytes += batch_[i].len;
        ++loan.pending;
      } else if (Status f = Refused(err); !f.ok()) {
        s = f;
        break;
      }
    }
    first = i;
    if (first < n && s.ok()) {
      if (stop_ && stop_()) {
        s = Status::Error(std::string(kStopped));
      } else {
        Serve(10);  // make room: serve delivery reports, then retry
      }
    }
  }
  Release(&loan);
  return s;
}

Status Producer::Refused(rd_kafka_resp_err_t err) {
  ++stats_.failed;
  ++stats_.failures[err];
  switch (Classify(err)) {
    case ErrorClass::kBadRecord:
    case ErrorClass::kRetriable:
    case ErrorClass::kNone:
      return Status::Ok();  // counted as failed; the caller reports it at the end
    case ErrorClass::kFatal:
      fatal_ = "produce failed: " + ErrorText(err);
      return Status::Error(fatal_);
  }
  return Status::Error("unreachable");
}

Status Producer::Enqueue(std::string_view key, std::string_view value, int flags, void* opaque) {
  for (;;) {
    if (!fatal_.empty()) return Status::Error(fatal_);
    int rc = rd_kafka_produce(topic_.get(), RD_KAFKA_PARTITION_UA, flags,
                              const_cast<char*>(value.data()), value.size(), key.data(), key.size(),
                              opaque);
    if (rc == 0) {
      ++stats_.sent;
      stats_.bytes += value.size();
      return Status::Ok();
    }
    rd_kafka_resp_err_t err = rd_kafka_last_error();
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      if (stop_ && stop_()) return Status::Error(std::string(kStopped));
      Serve(10);  // make room: serve delivery reports, then retry
      continue;
    }
    return Refused(err);
  }
}

void Producer::Release(Loan* loan) {
  if (--loan->pending == 0) loans_.erase(loan->self);
}

Result<int64_t> Producer::SendAndWait(std::string_view key, std::string_view value,
                                      int timeout_ms) {
  if (!fatal_.empty()) return Status::Error(fatal_);
  awaited_ = Awaited();
  const int rc = rd_kafka_produce(topic_.get(), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                  value.empty() ? nullptr : const_cast<char*>(value.data()),
                                  value.size(), key.data(), key.size(), kAwaitedMarker);
  const std::string topic = rd_kafka_topic_name(topic_.get());
  if (rc != 0)
    return Status::Error("cannot produce to " + topic + ": " + ErrorText(rd_kafka_last_error()));
  NewReports();
  rd_kafka_flush(rk_.get(), timeout_ms);  // serves the delivery report
  if (!awaited_.done) {
    // Its report could still come later and be taken for the next record's: purge it first.
    rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_.get(), 1'000);
    return Status::Error("no acknowledgement from Kafka for a write to " + topic);
  }
  if (awaited_.err) {
    return Status::Error("write to " + topic + " failed: " + ErrorText(awaited_.err));
  }
  return awaited_.offset;
}

int Producer::Flush(int timeout_ms, const std::function<bool()>& give_up) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (rd_kafka_outq_len(rk_.get()) > 0 && std::chrono::steady_clock::now() < end &&
         !(give_up && give_up())) {
    // Slices: give_up is asked between them. Within one, a report may reuse the clock
    // reading of the report before it (OnDelivery): a slice bounds how stale that can be.
    NewReports();
    rd_kafka_flush(rk_.get(), 10);
  }
  return rd_kafka_outq_len(rk_.get());
}

void Producer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* p = static_cast<Producer*>(opaque);
  if (m->_private == kAwaitedMarker) {
    p->awaited_ = {true, m->err, m->offset};
    return;
  }
  const auto tag = reinterpret_cast<uintptr_t>(m->_private);
  uint64_t sent_at = 0;
  if (tag & 1) {
    sent_at = static_cast<uint64_t>(tag >> 1);  // Send
  } else {
    auto* slot = static_cast<Slot*>(m->_private);  // SendAll
    sent_at = slot->sent_at;
    p->Release(slot->loan);
  }
  if (m->err) {
    ++p->stats_.failed;
    ++p->stats_.failures[m->err];
    return;
  }
  ++p->stats_.acked;
  // The reports of one produce response are served one after another, with consecutive
  // offsets of one partition: the clock is read once for them.
  if (m->partition != p->report_partition_ || m->offset != p->report_offset_ + 1) {
    p->report_now_ = NowMicros();
  }
  p->report_partition_ = m->partition;
  p->report_offset_ = m->offset;
  const uint64_t now = p->report_now_;
  const uint64_t micros = now > sent_at ? now - sent_at : 0;
  p->stats_.latency.Record(micros);
  p->stats_.interval_latency.Record(micros);
}

int Producer::OnStats(rd_kafka_t*, char* json, size_t len, void* opaque) {
  static_cast<Producer*>(opaque)->exporter_->Update(std::string_view(json, len));
  return 0;  // librdkafka frees json
}

void Producer::OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* p = static_cast<Producer*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    p->fatal_ = "fatal producer error: " + FatalErrorText(rk);
  } else if (Classify(static_cast<rd_kafka_resp_err_t>(err)) == ErrorClass::kFatal &&
             err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    p->fatal_ = std::string("producer error: ") + reason;
  }
}

}  // namespace spate::kafka
