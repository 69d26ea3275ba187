#pragma once
// A librdkafka producer for one topic that counts every delivery report: sent, acknowledged,
// failed (by error), and the delivery latency distribution. Follows librdkafka's
// examples/producer.cpp: Poll() regularly, poll-and-retry on QUEUE_FULL, Flush(deadline) at
// the end and report what is still queued. Send copies each record; SendAll lends librdkafka
// a buffer of records (a Lease) until they are delivered. Single-threaded: call every method
// from one thread; delivery reports run inside Poll()/Send()/SendAll()/Flush() on that thread.

#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/functional/function_ref.h>

#include "core/status.h"
#include "kafka/client.h"
#include "kafka/config.h"
#include "kafka/errors.h"
#include "kafka/stats_exporter.h"
#include "obs/latency_histogram.h"

namespace spate::kafka {

struct ProducerStats {
  uint64_t sent = 0;    // enqueued
  uint64_t acked = 0;   // delivery report without error
  uint64_t failed = 0;  // delivery report with an error, or refused at enqueue
  uint64_t bytes = 0;   // value bytes enqueued
  std::map<rd_kafka_resp_err_t, uint64_t> failures;
  LatencyHistogram latency;           // enqueue -> delivery report, microseconds, whole run
  LatencyHistogram interval_latency;  // the same since the last ResetInterval()
};

// What keeps the values of SendAll's records alive while librdkafka reads them in place.
class Lease {
 public:
  virtual ~Lease() = default;
};

class Producer : public Client {
 public:
  ~Producer() override;

  // conf must hold bootstrap.servers. Fails with a clear message on a bad property, or when
  // the topic does not exist: at once, or, with wait_for_topic_ms, once a topic created a
  // moment ago has not reached the brokers' metadata in that time.
  // With stats, librdkafka's statistics are exported every second (it must outlive the producer).
  static Result<std::unique_ptr<Producer>> Create(const ClientConfig& conf,
                                                  const std::string& topic,
                                                  StatsExporter* stats = nullptr,
                                                  int wait_for_topic_ms = 0);

  // Enqueues one record, partitioned by key (librdkafka's partitioner, murmur2_random by
  // spate's default: Java-compatible). Blocks in Poll() while the local queue is full, unless
  // the stop function (SetStop) says to stop: then the record is not sent and Send returns
  // kStopped. Returns an error once the producer hit a fatal error.
  Status Send(std::string_view key, std::string_view value);
  static constexpr std::string_view kStopped = "stopped while the local queue was full";
  // Enqueues n records as Send does, without copying their values: record(i) gives the key
  // and value of record i, whose bytes `lease` owns. The producer keeps the lease until the
  // last of them is delivered or has failed (or the producer is destroyed). Stops at the
  // first record Send would not send, with Send's status.
  using KeyValue = std::pair<std::string_view, std::string_view>;
  Status SendAll(std::unique_ptr<Lease> lease, size_t n,
                 absl::FunctionRef<KeyValue(size_t)> record);
  // Polled while Send waits for room (from the caller's thread).
  void SetStop(std::function<bool()> stop) { stop_ = std::move(stop); }
  // Sends one record and waits until it is acknowledged, serving delivery reports: its offset,
  // or why it failed. An empty value is sent as null (a tombstone). For writers that must know
  // where each record landed, one at a time (the schema registry's log); not counted in
  // stats(). On timeout the record is purged, so it is not written later behind the caller.
  Result<int64_t> SendAndWait(std::string_view key, std::string_view value, int timeout_ms);
  // Serves delivery reports for up to timeout_ms.
  void Poll(int timeout_ms) { Serve(timeout_ms); }
  // Waits for outstanding deliveries, until the deadline or give_up() (asked every 100 ms);
  // returns how many are still queued.
  int Flush(int timeout_ms, const std::function<bool()>& give_up = {});
  // Error that stopped the producer (fatal), or empty.
  const std::string& fatal_error() const { return fatal_; }
  const ProducerStats& stats() const { return stats_; }
  // Starts a new progress interval (interval_latency).
  void ResetInterval() { stats_.interval_latency = LatencyHistogram(); }

 private:
  Producer() = default;
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static int OnStats(rd_kafka_t* rk, char* json, size_t len, void* opaque);

  // One enqueue attempt with flags (RD_KAFKA_MSG_F_COPY or 0) and opaque, polling while the
  // queue is full; counts what it sends or fails.
  Status Enqueue(std::string_view key, std::string_view value, int flags, void* opaque);

  // SendAll's records in flight: each record's opaque is its Slot (8-byte aligned, so its
  // low bit is 0; Send's opaque is its enqueue time shifted left, with the low bit 1).
  struct Loan;
  struct Slot {
    Loan* loan;
    uint64_t sent_at;  // microseconds, steady clock
  };
  struct Loan {
    std::unique_ptr<Lease> lease;
    std::deque<Slot> slots;  // one per enqueue attempt: its records share it
    size_t pending = 0;      // enqueued records not yet reported, +1 while SendAll enqueues
    std::list<Loan>::iterator self;
  };
  void Release(Loan* loan);
  // Serves delivery reports for up to timeout_ms; NewReports() first.
  void Serve(int timeout_ms) {
    NewReports();
    rd_kafka_poll(rk_.get(), timeout_ms);
  }
  // OnDelivery reads the clock again at the next report: called before each serving call,
  // so that the reports of one produce response share a reading only within one call.
  void NewReports() { report_partition_ = kNoPartition; }
  static constexpr int32_t kNoPartition = INT32_MIN;
  int32_t report_partition_ = kNoPartition;
  int64_t report_offset_ = -1;
  uint64_t report_now_ = 0;
  // A record librdkafka refused at enqueue (not for want of room): counted as failed; an
  // error once the producer cannot go on.
  Status Refused(rd_kafka_resp_err_t err);
  std::vector<rd_kafka_message_t> batch_;  // SendAll's records, as librdkafka takes them
  std::list<Loan> loans_;

  // SendAndWait's record: its delivery report lands here (one at a time).
  struct Awaited {
    bool done = false;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    int64_t offset = -1;
  };

  TopicPtr topic_;
  std::function<bool()> stop_;
  Awaited awaited_;
  ProducerStats stats_;
  std::string fatal_;
  StatsExporter* exporter_ = nullptr;
};

}  // namespace spate::kafka
