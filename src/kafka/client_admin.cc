// Client's metadata and topic administration (kafka/client.h).

#include <chrono>
#include <memory>
#include <thread>

#include "kafka/client.h"

namespace spate::kafka {
namespace {

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct NewTopicDeleter {
  void operator()(rd_kafka_NewTopic_t* t) const { rd_kafka_NewTopic_destroy(t); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct ConfigResourceDeleter {
  void operator()(rd_kafka_ConfigResource_t* r) const { rd_kafka_ConfigResource_destroy(r); }
};
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

// One admin request on a queue of its own: `send(options, queue)` issues it; returns its result
// event, or why there is none ("<what>: <name> timed out", or the request's error).
template <typename Send>
Result<EventPtr> AdminRequest(rd_kafka_t* rk, rd_kafka_admin_op_t op, const char* name,
                              int timeout_ms, const std::string& what, Send&& send) {
  char err[512];
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> q(rd_kafka_queue_new(rk));
  std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> opts(rd_kafka_AdminOptions_new(rk, op));
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS) {  // how long the controller may take to create
    rd_kafka_AdminOptions_set_operation_timeout(opts.get(), timeout_ms, err, sizeof(err));
  } else {
    rd_kafka_AdminOptions_set_request_timeout(opts.get(), timeout_ms, err, sizeof(err));
  }
  send(opts.get(), q.get());
  EventPtr ev(rd_kafka_queue_poll(q.get(), timeout_ms + 5000));
  if (!ev) return Status::Error(what + ": " + name + " timed out");
  if (rd_kafka_event_error(ev.get())) {
    return Status::Error(what + ": " + rd_kafka_event_error_string(ev.get()));
  }
  return ev;
}

}  // namespace

Status Client::EnsureTopic(const TopicSpec& spec, int timeout_ms) const {
  rd_kafka_t* rk = rk_.get();
  char err[512];
  std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter> nt(rd_kafka_NewTopic_new(
      spec.name.c_str(), spec.partitions, spec.replication_factor, err, sizeof(err)));
  if (!nt) return Status::Error("topic " + spec.name + ": " + err);
  for (const auto& [k, v] : spec.configs) {
    if (rd_kafka_NewTopic_set_config(nt.get(), k.c_str(), v.c_str())) {
      return Status::Error("topic " + spec.name + ": bad config " + k);
    }
  }
  rd_kafka_NewTopic_t* topics[] = {nt.get()};
  auto ev =
      AdminRequest(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, "CreateTopics", timeout_ms,
                   "topic " + spec.name, [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                     rd_kafka_CreateTopics(rk, topics, 1, o, q);
                   });
  if (!ev.ok()) return ev.status();
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev.value().get());
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
  for (size_t i = 0; i < n; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      return Status::Error("topic " + spec.name + ": " + ErrorText(e) +
                           (msg ? std::string(": ") + msg : ""));
    }
  }
  return Status::Ok();
}

Result<int> Client::PartitionCount(const std::string& topic, int timeout_ms) const {
  rd_kafka_t* rk = rk_.get();
  TopicPtr t(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  // A topic created moments ago may not have reached every broker's metadata yet: retry
  // "unknown" and "no leader" until the deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t.get(), &md, timeout_ms);
    if (err) return Status::Error("cannot read metadata of " + topic + ": " + ErrorText(err));
    rd_kafka_resp_err_t topic_err =
        md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    int n = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
    rd_kafka_metadata_destroy(md);
    if (!topic_err) return n;
    const bool transient = topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                           topic_err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
    if (!transient || std::chrono::steady_clock::now() > deadline) {
      return Status::Error("topic " + topic + ": " + ErrorText(topic_err));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Result<int> Client::BrokerCount(int timeout_ms) const {
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_resp_err_t e = rd_kafka_metadata(rk_.get(), 0, nullptr, &md, timeout_ms)) {
    return Status::Error("cannot reach the Kafka cluster: " + ErrorText(e));
  }
  const int n = md->broker_cnt;
  rd_kafka_metadata_destroy(md);
  return n;
}

Result<std::string> Client::TopicConfig(const std::string& topic, const std::string& name,
                                        int timeout_ms) const {
  // A topic created moments ago may not be known to the broker asked yet: retry "unknown" until
  // the deadline, as PartitionCount does.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    rd_kafka_resp_err_t transient = RD_KAFKA_RESP_ERR_NO_ERROR;
    auto r = DescribeTopicConfig(topic, name, timeout_ms, &transient);
    if (!transient || std::chrono::steady_clock::now() > deadline) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Result<std::string> Client::DescribeTopicConfig(const std::string& topic, const std::string& name,
                                                int timeout_ms,
                                                rd_kafka_resp_err_t* transient) const {
  rd_kafka_t* rk = rk_.get();
  std::unique_ptr<rd_kafka_ConfigResource_t, ConfigResourceDeleter> res(
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  rd_kafka_ConfigResource_t* list[] = {res.get()};
  const std::string what = "cannot read the configuration of topic " + topic;
  auto ev = AdminRequest(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, "DescribeConfigs", timeout_ms, what,
                         [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                           rd_kafka_DescribeConfigs(rk, list, 1, o, q);
                         });
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_ConfigResource_t** got = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(ev.value().get()), &n);
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_resp_err_t e = rd_kafka_ConfigResource_error(got[i])) {
      if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) {
        *transient = e;
      }
      return Status::Error(what + ": " + ErrorText(e));
    }
    size_t k = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(got[i], &k);
    for (size_t j = 0; j < k; ++j) {
      if (name == rd_kafka_ConfigEntry_name(entries[j])) {
        const char* v = rd_kafka_ConfigEntry_value(entries[j]);
        return std::string(v ? v : "");
      }
    }
  }
  return Status::Error(what + ": the brokers did not report " + name);
}

Status Client::Ping(int timeout_ms) const {
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_resp_err_t e = rd_kafka_metadata(rk_.get(), 0, nullptr, &md, timeout_ms)) {
    return Status::Error("cannot reach the Kafka cluster: " + ErrorText(e));
  }
  rd_kafka_metadata_destroy(md);
  return Status::Ok();
}

std::string Client::Explain(rd_kafka_resp_err_t err) const {
  std::string fatal = err == RD_KAFKA_RESP_ERR__FATAL ? FatalError() : "";
  return fatal.empty() ? ErrorText(err) : "fatal error: " + fatal;
}

Result<Watermarks> Client::QueryWatermarks(const std::string& topic, int32_t partition,
                                           int timeout_ms) const {
  Watermarks w;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    err = rd_kafka_query_watermark_offsets(rk_.get(), topic.c_str(), partition, &w.low, &w.high,
                                           timeout_ms);
    // The broker asked may not know a just-created topic yet (UNKNOWN_TOPIC_OR_PART: seen in
    // kafka_registry on a loaded machine) or its leader.
    const bool transient = err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
                           err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                           err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                           err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
    if (!transient || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (err) return Status::Error("cannot read the end of " + topic + ": " + ErrorText(err));
  return w;
}

}  // namespace spate::kafka
