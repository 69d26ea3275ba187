#include "kafka/txn_producer.h"

#include <chrono>
#include <thread>

namespace spate::kafka {

Result<std::unique_ptr<TxnProducer>> TxnProducer::Create(const ClientConfig& conf, int timeout_ms,
                                                         std::function<bool()> stop) {
  if (conf.Get("transactional.id").empty()) {
    return Status::Error("a transactional producer needs transactional.id");
  }
  std::unique_ptr<TxnProducer> p(new TxnProducer());
  auto built = conf.Build();
  if (!built.ok()) return built.status();
  ConfPtr c = std::move(built).value();
  rd_kafka_conf_set_opaque(c.get(), p.get());
  rd_kafka_conf_set_dr_msg_cb(c.get(), &TxnProducer::OnDelivery);
  auto rk = NewHandle(RD_KAFKA_PRODUCER, std::move(c));
  if (!rk.ok()) return rk.status();
  p->rk_ = std::move(rk).value();
  p->stop_ = std::move(stop);
  if (rd_kafka_error_t* e = rd_kafka_init_transactions(p->rk_.get(), timeout_ms)) {
    std::string msg = std::string("init_transactions: ") + rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    return Status::Error(msg);
  }
  return p;
}

TxnProducer::~TxnProducer() {
  if (!rk_ || FatalError().empty()) return;
  rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (rd_kafka_outq_len(rk_.get()) > 0 && std::chrono::steady_clock::now() < until) {
    rd_kafka_poll(rk_.get(), 50);
  }
}

Status TxnProducer::Begin() {
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(rk_.get())) {
    std::string msg = std::string("begin_transaction: ") + rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    return Status::Error(msg);
  }
  in_txn_ = true;
  return Status::Ok();
}

Status TxnProducer::Send(const std::string& topic, int32_t partition, std::string_view key,
                         std::string_view value) {
  return Produce(topic, partition, key, &value);
}

Status TxnProducer::SendTombstone(const std::string& topic, int32_t partition,
                                  std::string_view key) {
  return Produce(topic, partition, key, nullptr);
}

Status TxnProducer::Produce(const std::string& topic, int32_t partition, std::string_view key,
                            const std::string_view* value) {
  const auto give_up = std::chrono::steady_clock::now() + kUnknownTopicWait;
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(value ? const_cast<char*>(value->data()) : nullptr,
                         value ? value->size() : 0),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !Stopping()) {
      rd_kafka_poll(rk_.get(), 10);
      continue;
    }
    if (err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC && !Stopping() &&
        std::chrono::steady_clock::now() < give_up) {
      // A topic created moments ago (the aggregator's own) can be reported missing by a broker
      // that has not learnt of it yet; librdkafka then refuses it at once (its
      // topic.metadata.propagation.max.ms spares only a topic it has never seen). Asking for
      // its metadata until a broker knows it puts it back in librdkafka's cache.
      (void)PartitionCount(topic, 1000);  // until a broker knows it, for at most 1 s a call
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    // A fatal error says what it was, e.g. fenced by a newer producer with this
    // transactional.id.
    return Status::Error("produce to " + topic + ": " + Explain(err));
  }
}

TxnOutcome TxnProducer::SendOffsets(const Consumer& c, int timeout_ms, std::string* error) {
  rd_kafka_t* consumer = c.handle();
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_resp_err_t err = rd_kafka_assignment(consumer, &raw)) {
    *error = "assignment: " + ErrorText(err);
    return TxnOutcome::kFatal;
  }
  PartitionListPtr offsets(raw);
  if (offsets->cnt == 0) return TxnOutcome::kCommitted;
  rd_kafka_position(consumer, offsets.get());
  std::unique_ptr<rd_kafka_consumer_group_metadata_t, void (*)(rd_kafka_consumer_group_metadata_t*)>
      meta(rd_kafka_consumer_group_metadata(consumer), rd_kafka_consumer_group_metadata_destroy);
  rd_kafka_error_t* e =
      rd_kafka_send_offsets_to_transaction(rk_.get(), offsets.get(), meta.get(), timeout_ms);
  return Handle(e, "send_offsets_to_transaction", timeout_ms, error);
}

TxnOutcome TxnProducer::Commit(int timeout_ms, std::string* error) {
  // A message that failed delivery makes the commit fail with an abortable error, so a
  // committed transaction never lacks one of its records.
  rd_kafka_error_t* e = rd_kafka_commit_transaction(rk_.get(), 5 * timeout_ms);
  TxnOutcome o = Handle(e, "commit_transaction", timeout_ms, error);
  if (o != TxnOutcome::kFatal) in_txn_ = false;
  return o;
}

TxnOutcome TxnProducer::Abort(int timeout_ms, std::string* error) {
  // Any error, even a retriable one (e.g. a timeout while the epoch is bumped after
  // OUT_OF_ORDER_SEQUENCE_NUMBER), is left to a new producer (kFatal): calls are never resumed
  // (txn_producer.h).
  rd_kafka_error_t* e = rd_kafka_abort_transaction(rk_.get(), 5 * timeout_ms);
  in_txn_ = false;
  if (!e) return TxnOutcome::kAborted;
  *error = std::string("abort_transaction: ") + rd_kafka_error_string(e);
  rd_kafka_error_destroy(e);
  return TxnOutcome::kFatal;
}

TxnOutcome TxnProducer::Handle(rd_kafka_error_t* e, const char* what, int timeout_ms,
                               std::string* error) {
  if (!e) return TxnOutcome::kCommitted;
  *error = std::string(what) + ": " + rd_kafka_error_string(e);
  const bool fatal = rd_kafka_error_is_fatal(e), abort = rd_kafka_error_txn_requires_abort(e);
  rd_kafka_error_destroy(e);
  if (fatal) return TxnOutcome::kFatal;
  if (abort) {
    std::string ignored;
    return Abort(timeout_ms, &ignored) == TxnOutcome::kFatal ? TxnOutcome::kFatal
                                                             : TxnOutcome::kAborted;
  }
  return TxnOutcome::kFatal;  // neither retriable nor abortable: nothing safe to do
}

void TxnProducer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err) ++static_cast<TxnProducer*>(opaque)->delivery_failures_;
}

}  // namespace spate::kafka
