// The registry's log in a compacted Kafka topic (`_schemas`, one partition), shared by every
// instance pointed at the same cluster. Each instance reads the topic from the beginning to its
// end before serving, then tails it on a thread of its own. A write is produced with acks=all
// (idempotent producer) and acknowledged to the caller only once this instance has read it
// back, so the state it answers from includes the write, in the topic's order.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "kafka/broker_version.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "registry/server/store.h"

namespace spate::registry {
namespace {

constexpr int kTimeoutMs = 15'000;

class KafkaLog : public SchemaLog {
 public:
  KafkaLog(kafka::ClientConfig conf, std::string topic)
      : conf_(std::move(conf)), topic_(std::move(topic)) {}

  ~KafkaLog() override {
    stop_ = true;
    if (tail_.joinable()) tail_.join();
    if (producer_) producer_->Flush(5'000);
  }

  Status Open(Apply apply) override {
    apply_ = std::move(apply);
    const std::string where = " (Kafka at " + conf_.Get("bootstrap.servers") + ")";
    if (Status s = kafka::CheckCluster(conf_); !s.ok()) return Status::Error(s.message() + where);
    kafka::ClientConfig cc = conf_;
    cc.SetAll(kafka::ReaderSettings(/*auto_commit=*/false, /*partition_eof=*/false));
    auto consumer = kafka::Consumer::Create(cc);
    if (!consumer.ok()) return consumer.status();
    consumer_ = std::move(consumer).value();
    if (Status s = consumer_->Ping(10'000); !s.ok()) return Status::Error(s.message() + where);
    Status s = consumer_->EnsureTopic({topic_, 1, -1, {{"cleanup.policy", "compact"}}}, kTimeoutMs);
    if (!s.ok()) return Status::Error("cannot create or find " + s.message() + where);

    // A topic created a moment ago may not have reached every broker's metadata yet.
    auto n = consumer_->PartitionCount(topic_, kTimeoutMs);
    if (!n.ok()) return Status::Error(n.status().message() + where);

    kafka::ClientConfig pc = conf_;
    pc.Set("acks", "all");
    pc.Set("enable.idempotence", "true");
    pc.Set("linger.ms", "0");
    auto producer = kafka::Producer::Create(pc, topic_, nullptr, kTimeoutMs);
    if (!producer.ok()) return Status::Error(producer.status().message() + where);
    producer_ = std::move(producer).value();

    s = consumer_->Assign(topic_, {0}, kafka::kOffsetBeginning);
    if (!s.ok()) return s;
    auto marks = consumer_->QueryWatermarks(topic_, 0, kTimeoutMs);
    if (!marks.ok()) return Status::Error(marks.status().message() + where);
    // Read to the end before serving: the state must include every earlier write.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (Next() < marks.value().high) {
      if (std::chrono::steady_clock::now() > deadline) {
        return Status::Error("timed out reading " + topic_ + " to its end" + where);
      }
      PollOnce(200);
    }
    tail_ = std::thread([this] {
      while (!stop_) PollOnce(200);
    });
    return Status::Ok();
  }

  Status Append(const std::string& key, const std::string& value) override {
    std::lock_guard<std::mutex> append(append_mu_);
    auto offset = producer_->SendAndWait(key, value, kTimeoutMs);
    if (!offset.ok()) return offset.status();
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::milliseconds(kTimeoutMs),
                      [&] { return next_ > offset.value(); })) {
      return Status::Error("a write to " + topic_ + " was acknowledged but not read back");
    }
    return Status::Ok();
  }

  std::string Describe() const override {
    return "Kafka topic " + topic_ + " at " + conf_.Get("bootstrap.servers");
  }

 private:
  int64_t Next() {
    std::lock_guard<std::mutex> lock(mu_);
    return next_;
  }

  // One consumer poll; a record is applied, then its offset published to Append's waiters.
  // Runs on the opening thread, then only on the tail thread.
  void PollOnce(int timeout_ms) {
    kafka::Message m = consumer_->Poll(timeout_ms);
    if (!m || m.err()) return;  // transient errors: librdkafka retries the fetch
    if (m.has_key()) apply_(std::string(m.key()), std::string(m.payload()));
    std::lock_guard<std::mutex> lock(mu_);
    next_ = m.offset() + 1;
    cv_.notify_all();
  }

  kafka::ClientConfig conf_;
  std::string topic_;
  Apply apply_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::thread tail_;
  std::atomic<bool> stop_{false};
  std::mutex append_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t next_ = 0;  // the offset after the last record applied
};

}  // namespace

std::unique_ptr<SchemaLog> NewKafkaLog(kafka::ClientConfig conf, std::string topic) {
  return std::make_unique<KafkaLog>(std::move(conf), std::move(topic));
}

}  // namespace spate::registry
