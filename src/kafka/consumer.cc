#include "kafka/consumer.h"

#include <fmt/format.h>

namespace spate::kafka {

Result<std::unique_ptr<Consumer>> Consumer::Create(const ClientConfig& conf, StatsExporter* stats) {
  std::unique_ptr<Consumer> c(new Consumer());
  c->exporter_ = stats;
  auto built = conf.Build();
  if (!built.ok()) return built.status();
  ConfPtr cf = std::move(built).value();
  rd_kafka_conf_set_opaque(cf.get(), c.get());
  char err[512];
  if (stats) {
    if (conf.Get("statistics.interval.ms").empty()) {
      rd_kafka_conf_set(cf.get(), "statistics.interval.ms", "1000", err, sizeof(err));
    }
    rd_kafka_conf_set_stats_cb(cf.get(), &Consumer::OnStats);
  }
  if (!conf.Get("group.id").empty()) {
    rd_kafka_conf_set_rebalance_cb(cf.get(), &Consumer::OnRebalance);
  } else if (rd_kafka_conf_set(cf.get(), "group.id", "spate-assign", err, sizeof(err)) !=
             RD_KAFKA_CONF_OK) {
    return Status::Error(err);
  }
  auto rk = NewHandle(RD_KAFKA_CONSUMER, std::move(cf));
  if (!rk.ok()) return rk.status();
  c->rk_ = std::move(rk).value();
  rd_kafka_poll_set_consumer(c->rk_.get());
  return c;
}

Consumer::~Consumer() { Close(); }

void Consumer::Close() {
  if (rk_ && !closed_) rd_kafka_consumer_close(rk_.get());
  closed_ = true;
}

Status Consumer::AssignAll(const std::string& topic, int64_t offset, int timeout_ms) {
  auto n = PartitionCount(topic, timeout_ms);  // retries a just-created topic
  if (!n.ok()) return n.status();
  PartitionListPtr list(rd_kafka_topic_partition_list_new(n.value()));
  for (int i = 0; i < n.value(); ++i) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), i)->offset = offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(rk_.get(), list.get());
  if (err) return Status::Error("cannot assign " + topic + ": " + ErrorText(err));
  assigned_ = static_cast<size_t>(list->cnt);
  return Status::Ok();
}

Status Consumer::Assign(const std::string& topic, const std::vector<int32_t>& partitions,
                        int64_t offset) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (int32_t p : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(rk_.get(), list.get());
  if (err) return Status::Error("cannot assign " + topic + ": " + ErrorText(err));
  assigned_ = partitions.size();
  return Status::Ok();
}

Status Consumer::Subscribe(const std::vector<std::string>& topics) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_.get(), list.get());
  if (err) return Status::Error("cannot subscribe: " + ErrorText(err));
  return Status::Ok();
}

Status Consumer::SeekToCommitted(int timeout_ms) {
  auto mine = Assignment();
  if (!mine.ok()) return mine.status();
  if (mine.value().empty()) return Status::Ok();
  auto committed = Committed(mine.value(), timeout_ms);
  if (!committed.ok()) return committed.status();
  std::vector<TopicPartition> at = std::move(committed).value();
  for (TopicPartition& tp : at) {
    if (tp.offset < 0) tp.offset = RD_KAFKA_OFFSET_BEGINNING;  // nothing committed yet
  }
  PartitionListPtr list = ToList(at);
  if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_.get(), list.get(), timeout_ms)) {
    std::string msg = std::string("seek: ") + rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    return Status::Error(msg);
  }
  for (int i = 0; i < list->cnt; ++i) {
    const auto& tp = list->elems[i];
    if (tp.err) {
      return Status::Error(
          fmt::format("seek {} [{}]: {}", tp.topic, tp.partition, ErrorText(tp.err)));
    }
  }
  return Status::Ok();
}

Result<std::vector<TopicPartition>> Consumer::Committed(const std::vector<TopicPartition>& parts,
                                                        int timeout_ms) const {
  PartitionListPtr list = ToList(parts);
  if (rd_kafka_resp_err_t err = rd_kafka_committed(rk_.get(), list.get(), timeout_ms)) {
    return Status::Error("committed offsets: " + ErrorText(err));
  }
  for (int i = 0; i < list->cnt; ++i) {
    const auto& tp = list->elems[i];
    if (tp.err) {
      return Status::Error(fmt::format("committed offset of {} [{}]: {}", tp.topic, tp.partition,
                                       ErrorText(tp.err)));
    }
  }
  return FromList(*list);
}

Result<std::vector<TopicPartition>> Consumer::Assignment() const {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_resp_err_t err = rd_kafka_assignment(rk_.get(), &raw)) {
    return Status::Error("assignment: " + ErrorText(err));
  }
  PartitionListPtr list(raw);
  return FromList(*list);
}

Status Consumer::Commit(const std::vector<TopicPartition>& offsets) {
  if (offsets.empty()) return Status::Ok();
  PartitionListPtr list = ToList(offsets);
  if (rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), list.get(), 0)) {
    return Status::Error(ErrorText(err));
  }
  return Status::Ok();
}

void Consumer::PauseAll(bool pause) {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(rk_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  PartitionListPtr list(raw);
  if (pause) {
    rd_kafka_pause_partitions(rk_.get(), list.get());
  } else {
    rd_kafka_resume_partitions(rk_.get(), list.get());
  }
}

std::optional<Watermarks> Consumer::CachedWatermarks(const std::string& topic,
                                                     int32_t partition) const {
  Watermarks w;
  if (rd_kafka_get_watermark_offsets(rk_.get(), topic.c_str(), partition, &w.low, &w.high) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  return w;
}

bool Consumer::AtCachedEnd(const std::string& topic, int32_t partition) const {
  const auto marks = CachedWatermarks(topic, partition);
  if (!marks || marks->high < 0) return false;  // no fetch response yet
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  if (rd_kafka_position(rk_.get(), list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  const int64_t position = list->elems[0].offset;
  return position >= 0 && position >= marks->high;
}

int Consumer::OnStats(rd_kafka_t*, char* json, size_t len, void* opaque) {
  static_cast<Consumer*>(opaque)->exporter_->Update(std::string_view(json, len));
  return 0;  // librdkafka frees json
}

// Cooperative (incremental) and eager protocols both handled, as librdkafka's examples do.
void Consumer::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* c = static_cast<Consumer*>(opaque);
  // NULL once the consumer has left the group (a revocation while closing).
  const char* protocol = rd_kafka_rebalance_protocol(rk);
  const bool cooperative = protocol && std::string_view(protocol) == "COOPERATIVE";
  if (c->on_rebalance_) {
    c->on_rebalance_(err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, rd_kafka_assignment_lost(rk) != 0,
                     FromList(*parts));
  }
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts);
      if (e) rd_kafka_error_destroy(e);
      c->assigned_ += static_cast<size_t>(parts->cnt);
    } else {
      rd_kafka_assign(rk, parts);
      c->assigned_ = static_cast<size_t>(parts->cnt);
    }
  } else {
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts);
      if (e) rd_kafka_error_destroy(e);
      c->assigned_ -= std::min(c->assigned_, static_cast<size_t>(parts->cnt));
    } else {
      rd_kafka_assign(rk, nullptr);
      c->assigned_ = 0;
    }
  }
}

}  // namespace spate::kafka
