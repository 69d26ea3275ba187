#pragma once
// A transactional producer for exactly-once read-process-write (KIP-447): outputs to any
// topic and the consumer's input positions are committed in one transaction, so a crash
// anywhere leaves either all of a transaction's effects or none. Single-threaded.
//
// Protocol, as librdkafka's examples/transactions.c: Begin(); Send()...; SendOffsets();
// Commit(). A Commit() or SendOffsets() that fails with an abortable error aborts the
// transaction: the caller must then rewind its input to the last committed positions and
// rebuild state from there (kAborted). kFatal means this producer is fenced or broken.
//
// Every call that waits on the brokers (init, send_offsets, commit, abort) is made once, with
// its whole timeout, and a timeout is kFatal. librdkafka lets a timed-out call be made again to
// resume it, but in 2.0.2 the resumed call can take the result its timed-out call left behind,
// one step out of line: a commit then "succeeds" before its last step ran, and the next
// begin_transaction fails ("Operation not valid in state CommitNotAcked") or returns before it
// ran (the next produce: "Local: Erroneous state"). A new producer recovers instead: its
// init_transactions completes or aborts what the old one left.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "kafka/client.h"
#include "kafka/config.h"
#include "kafka/consumer.h"

namespace spate::kafka {

enum class TxnOutcome { kCommitted, kAborted, kFatal };

class TxnProducer : public Client {
 public:
  // conf must hold bootstrap.servers and transactional.id; runs init_transactions (which also
  // fences an older instance with the same transactional.id and aborts what it left open).
  // stop, when given, is asked while a full queue is waited on: true gives up, as an error.
  // The calls above are not cut short by it; the commands bound a shutdown themselves
  // (ExitWithinAfterStop).
  static Result<std::unique_ptr<TxnProducer>> Create(const ClientConfig& conf, int timeout_ms,
                                                     std::function<bool()> stop = {});
  // A producer that raised a fatal error (e.g. fenced by a newer instance) is purged of what it
  // still queues or has in flight, and those reports are served, for at most 5 s, before it
  // is destroyed: librdkafka 2.0.2 destroyed with them still arriving corrupted its heap (an
  // abort as its main thread exited, about one run in ten of tests/aggregate_faults_test.py
  // twin).
  ~TxnProducer() override;

  Status Begin();
  // Enqueues value (key may be empty) to topic; partition -1 lets the partitioner choose.
  // Blocks in poll while the local queue is full.
  Status Send(const std::string& topic, int32_t partition, std::string_view key,
              std::string_view value);
  // Enqueues a tombstone (null value) for key: compaction then drops the key.
  Status SendTombstone(const std::string& topic, int32_t partition, std::string_view key);
  // Adds the consumer's current positions (for its assignment) to the transaction.
  TxnOutcome SendOffsets(const Consumer& consumer, int timeout_ms, std::string* error);
  // Commits, waiting up to 5 * timeout_ms; aborts on abortable errors.
  TxnOutcome Commit(int timeout_ms, std::string* error);
  // Aborts the open transaction (after a processing failure).
  TxnOutcome Abort(int timeout_ms, std::string* error);

  bool in_transaction() const { return in_txn_; }
  uint64_t delivery_failures() const { return delivery_failures_; }

 private:
  TxnProducer() = default;
  // Send and SendTombstone (value null). A topic that librdkafka calls unknown is asked for
  // again for up to kUnknownTopicWait before that is an error.
  Status Produce(const std::string& topic, int32_t partition, std::string_view key,
                 const std::string_view* value);
  static constexpr std::chrono::seconds kUnknownTopicWait{10};
  bool Stopping() const { return stop_ && stop_(); }
  // Classifies e (and destroys it): committed/aborted/fatal, with the text in *error.
  TxnOutcome Handle(rd_kafka_error_t* e, const char* what, int timeout_ms, std::string* error);
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);

  bool in_txn_ = false;
  uint64_t delivery_failures_ = 0;
  std::function<bool()> stop_;
};

}  // namespace spate::kafka
