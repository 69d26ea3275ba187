// The registry's log in a compacted Kafka topic (`_schemas`, one partition), shared by every
// instance pointed at the same cluster. Each instance reads the topic from the beginning to its
// end before serving, then tails it on a thread of its own. A write is produced with acks=all
// (idempotent producer) and acknowledged to the caller only once this instance has read it
// back, so the state it answers from includes the write, in the topic's order.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "kafka/admin.h"
#include "kafka/client.h"
#include "kafka/consumer.h"
#include "registry/store.h"

namespace spate::registry {
namespace {

constexpr int kTimeoutMs = 15'000;

struct Delivery {
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  int64_t offset = -1;
};

class KafkaLog : public SchemaLog {
 public:
  KafkaLog(kafka::ClientConfig conf, std::string topic)
      : conf_(std::move(conf)), topic_(std::move(topic)) {}

  ~KafkaLog() override {
    stop_ = true;
    if (tail_.joinable()) tail_.join();
    if (producer_) rd_kafka_flush(producer_.get(), 5'000);
  }

  Status Open(Apply apply) override {
    apply_ = std::move(apply);
    const std::string where = " (Kafka at " + conf_.Get("bootstrap.servers") + ")";
    kafka::ClientConfig pc = conf_;
    pc.Set("acks", "all");
    pc.Set("enable.idempotence", "true");
    pc.Set("linger.ms", "0");
    auto built = pc.Build();
    if (!built.ok()) return built.status();
    kafka::ConfPtr c = std::move(built).value();
    rd_kafka_conf_set_dr_msg_cb(c.get(), &KafkaLog::OnDelivery);
    auto rk = kafka::NewHandle(RD_KAFKA_PRODUCER, std::move(c));
    if (!rk.ok()) return rk.status();
    producer_ = std::move(rk).value();
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_resp_err_t e = rd_kafka_metadata(producer_.get(), 0, nullptr, &md, 10'000)) {
      return Status::Error("cannot reach the Kafka cluster: " + kafka::ErrorText(e) + where);
    }
    rd_kafka_metadata_destroy(md);
    Status s = kafka::EnsureTopic(producer_.get(), {topic_, 1, -1, {{"cleanup.policy", "compact"}}},
                                  kTimeoutMs);
    if (!s.ok()) return Status::Error("cannot create or find " + s.message() + where);

    kafka::ClientConfig cc = conf_;
    cc.Set("enable.auto.commit", "false");
    cc.Set("enable.partition.eof", "false");
    cc.Set("auto.offset.reset", "earliest");
    auto consumer = kafka::Consumer::Create(cc);
    if (!consumer.ok()) return consumer.status();
    consumer_ = std::move(consumer).value();
    s = consumer_->Assign(topic_, {0}, RD_KAFKA_OFFSET_BEGINNING);
    if (!s.ok()) return s;
    // A topic created a moment ago may not have reached every broker's metadata yet.
    auto n = kafka::PartitionCount(consumer_->handle(), topic_, kTimeoutMs);
    if (!n.ok()) return Status::Error(n.status().message() + where);
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 50; ++attempt) {
      err = rd_kafka_query_watermark_offsets(consumer_->handle(), topic_.c_str(), 0, &low, &high,
                                             kTimeoutMs);
      // The broker asked may not know a just-created topic yet (UNKNOWN_TOPIC_OR_PART: seen in
      // kafka_registry on a loaded machine) or its leader.
      if (err != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION &&
          err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
          err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
          err != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (err) {
      return Status::Error("cannot read the end of " + topic_ + ": " + kafka::ErrorText(err) +
                           where);
    }
    // Read to the end before serving: the state must include every earlier write.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (Next() < high) {
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
    Delivery d;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(0),
        RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(value.empty() ? nullptr : const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END);
    if (err) return Status::Error("cannot produce to " + topic_ + ": " + kafka::ErrorText(err));
    rd_kafka_flush(producer_.get(), kTimeoutMs);  // serves the delivery report
    if (!d.done) {
      // The report may still come after we return: keep `d` alive by purging it first.
      rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_flush(producer_.get(), 1'000);
      return Status::Error("no acknowledgement from Kafka for a write to " + topic_);
    }
    if (d.err) return Status::Error("write to " + topic_ + " failed: " + kafka::ErrorText(d.err));
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::milliseconds(kTimeoutMs),
                      [&] { return next_ > d.offset; })) {
      return Status::Error("a write to " + topic_ + " was acknowledged but not read back");
    }
    return Status::Ok();
  }

  std::string Describe() const override {
    return "Kafka topic " + topic_ + " at " + conf_.Get("bootstrap.servers");
  }

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    auto* d = static_cast<Delivery*>(m->_private);
    d->err = m->err;
    d->offset = m->offset;
    d->done = true;
  }

  int64_t Next() {
    std::lock_guard<std::mutex> lock(mu_);
    return next_;
  }

  // One consumer poll; a record is applied, then its offset published to Append's waiters.
  // Runs on the opening thread, then only on the tail thread.
  void PollOnce(int timeout_ms) {
    kafka::MessagePtr m = consumer_->Poll(timeout_ms);
    if (!m || m->err) return;  // transient errors: librdkafka retries the fetch
    if (m->key != nullptr) {
      std::string key(static_cast<const char*>(m->key), m->key_len);
      std::string value =
          m->payload ? std::string(static_cast<const char*>(m->payload), m->len) : "";
      apply_(key, value);
    }
    std::lock_guard<std::mutex> lock(mu_);
    next_ = m->offset + 1;
    cv_.notify_all();
  }

  kafka::ClientConfig conf_;
  std::string topic_;
  Apply apply_;
  kafka::HandlePtr producer_;
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
