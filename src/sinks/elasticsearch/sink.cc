#include "sinks/elasticsearch/sink.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "kafka/consumer.h"
#include "kafka/group_end.h"
#include "kafka/producer.h"
#include "kafka/stats_exporter.h"
#include "obs/log.h"
#include "sinks/elasticsearch/backoff.h"
#include "sinks/elasticsearch/batch.h"
#include "sinks/elasticsearch/bulk_response.h"
#include "sinks/elasticsearch/client.h"
#include "sinks/elasticsearch/cluster.h"
#include "sinks/elasticsearch/document.h"
#include "sinks/elasticsearch/metrics.h"
#include "sinks/elasticsearch/offsets.h"
#include "stream/output_format.h"

namespace spate::es {
namespace {

spdlog::logger& Log() { return Logger("sinks/elasticsearch"); }

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

int64_t MsUntil(Clock::time_point t) { return -MsSince(t); }

class Sink {
 public:
  Sink(const SinkConfig& c, prometheus::Registry& reg)
      : c_(c),
        m_(reg),
        stats_(reg, "index-consumer"),
        backoff_(c.backoff_base_ms, c.backoff_cap_ms) {}

  // On every way out, an error with records in flight included, the consumer leaves its
  // group first, while consumer_ is set and everything its last revocation commits (what is
  // finished, dead letters flushed) is alive. The members then go in reverse order: the
  // batches, declared after consumer_, before it, as rd_kafka_destroy() waits for every
  // librdkafka message their items hold.
  ~Sink() {
    if (consumer_) consumer_->Close();
  }

  Result<SinkSummary> Run(const IndexHooks& hooks);

 private:
  Status OnMessage(kafka::Message m);
  void Add(Item it, const Document& doc);
  void Seal();
  Status Flush(bool force);
  Status Send(Batch b);
  Status OnResponse(HttpResponse& r);
  Status DeadLetter(Item& it, const std::string& error, const std::string& reason);
  Status Commit(const std::vector<int>& only = {});
  void Retry(Batch b);
  const std::string& IndexOf(int tp);
  size_t Buffered() const { return buffered_; }
  void Pause(bool pause);

  SinkConfig c_;
  SinkMetrics m_;
  kafka::StatsExporter stats_;
  Backoff backoff_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<kafka::Consumer> consumer_;  // before the batches (see ~Sink)
  std::unique_ptr<kafka::Producer> dlq_;
  OffsetTracker offsets_;
  std::vector<std::string> index_of_tp_;  // the index name per OffsetTracker partition
  Batch current_;                         // filling
  std::deque<Batch> ready_;    // full or lingered long enough, waiting for a request slot
  std::deque<Batch> retries_;  // ordered by the time they may be sent again
  std::map<uint64_t, Batch> running_;
  uint64_t next_tag_ = 1;
  size_t buffered_ = 0;  // items read and not finished
  bool paused_ = false;
  Clock::time_point last_warn_;
  SinkSummary sum_;
  std::string fatal_;
  std::string line_;
  std::string decoded_;  // the JSON line c_.decode made of the current record
  Document doc_;         // the current record's document (its buffers are reused)
};

const std::string& Sink::IndexOf(int tp) {
  if (static_cast<size_t>(tp) >= index_of_tp_.size()) index_of_tp_.resize(tp + 1);
  std::string& index = index_of_tp_[tp];
  if (index.empty()) index = IndexFor(c_.index, offsets_.parts()[tp].topic);
  return index;
}

void Sink::Add(Item it, const Document& doc) {
  const std::string& index = IndexOf(it.tp);
  // The action line is about 90 bytes besides the index and the _id.
  size_t bytes = doc.source.size() + doc.id.size() + index.size() + 100;
  if (!current_.items.empty() && current_.body.size() + bytes > c_.batch_bytes) Seal();
  if (current_.items.empty()) {
    current_.first = Clock::now();
    current_.body.reserve(std::min(c_.batch_bytes, bytes * c_.batch_docs));
  }
  it.begin = current_.body.size();
  AppendBulkIndex(index, doc, it.offset, &current_.body);
  it.size = current_.body.size() - it.begin;
  current_.items.push_back(std::move(it));
  if (current_.items.size() >= c_.batch_docs) Seal();
}

void Sink::Seal() {
  ready_.push_back(std::move(current_));
  current_ = Batch();
}

Status Sink::OnMessage(kafka::Message m) {
  ++sum_.received;
  m_.received->Increment();
  Item it;
  it.tp = offsets_.Find(m.topic(), m.partition());
  it.epoch = offsets_.parts()[it.tp].epoch;
  it.offset = m.offset();
  it.msg = std::move(m);
  offsets_.Read(it.tp, it.offset);
  ++buffered_;
  std::string_view line = it.value();
  if (c_.decode) {
    std::string dead_letter;
    if (Status s = c_.decode(line, &decoded_, &dead_letter); !s.ok()) {
      if (dead_letter.empty()) return s;
      return DeadLetter(it, dead_letter, s.message());
    }
    line = decoded_;
  }
  if (Status s = MakeDocument(line, &doc_); !s.ok()) {
    return DeadLetter(it, "bad_document", s.message());
  }
  Add(std::move(it), doc_);
  return Status::Ok();
}

Status Sink::Flush(bool force) {
  // Retries whose time has come go first, as their own requests.
  while (!retries_.empty() && static_cast<int>(running_.size()) < c_.max_inflight &&
         retries_.front().ready <= Clock::now()) {
    Batch b = std::move(retries_.front());
    retries_.pop_front();
    if (Status s = Send(std::move(b)); !s.ok()) return s;
  }
  if (!current_.items.empty() && (force || MsSince(current_.first) >= c_.linger_ms)) Seal();
  while (!ready_.empty() && static_cast<int>(running_.size()) < c_.max_inflight) {
    Batch b = std::move(ready_.front());
    ready_.pop_front();
    if (Status s = Send(std::move(b)); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Sink::Send(Batch b) {
  for (Item& it : b.items) {
    if (it.attempts++ > 0) {
      ++sum_.retries;
      m_.retries->Increment();
    }
  }
  uint64_t tag = next_tag_++;
  m_.batch->Observe(static_cast<double>(b.items.size()));
  // filter_path keeps the response to what is read: a fifth of its size.
  http_->StartBulk(tag, "/_bulk?filter_path=errors,items.*.status,items.*.error",
                   std::move(b.body));
  running_.emplace(tag, std::move(b));
  ++sum_.requests;
  m_.inflight->Set(static_cast<double>(running_.size()));
  return Status::Ok();
}

void Sink::Retry(Batch b) {
  if (b.items.empty()) return;
  int attempt = 0;
  for (const Item& it : b.items) attempt = std::max(attempt, it.attempts);
  b.ready = Clock::now() + std::chrono::milliseconds(backoff_.Delay(attempt - 1));
  // Keep the queue ordered by readiness, so Flush() can look at the front only.
  auto pos = retries_.end();
  while (pos != retries_.begin() && std::prev(pos)->ready > b.ready) --pos;
  retries_.insert(pos, std::move(b));
}

Status Sink::OnResponse(HttpResponse& r) {
  auto node = running_.extract(r.tag);
  m_.inflight->Set(static_cast<double>(running_.size()));
  m_.duration->Observe(r.seconds);
  Batch& b = node.mapped();
  b.body = std::move(r.request_body);
  switch (ClassifyRequest(r.status)) {
    case RequestAction::kRetry: {
      std::string type = r.status == 0     ? (r.timed_out ? "timeout" : "connection")
                         : r.status == 429 ? "http_429"
                         : r.status >= 500 ? "http_5xx"
                                           : "http_" + std::to_string(r.status);
      m_.Error(type).Increment();
      // One line per 10 s at most: an outage is a state, not a stream of events (each
      // failure is counted in spate_errors_total).
      if (last_warn_ == Clock::time_point() || MsSince(last_warn_) >= 10'000) {
        last_warn_ = Clock::now();
        Log().warn("_bulk of {} documents failed ({}), retrying: {}", b.items.size(),
                   r.status == 0 ? r.error : "HTTP " + std::to_string(r.status),
                   r.body.substr(0, 200));
      }
      Retry(std::move(b));
      return Status::Ok();
    }
    case RequestAction::kFatal:
      m_.Error("http_" + std::to_string(r.status)).Increment();
      return Status::Error(fmt::format("_bulk answered HTTP {}{}: {}", r.status,
                                       r.status == 413 ? " (request too large: lower --batch-bytes)"
                                       : r.status == 401 || r.status == 403
                                           ? " (check --user/--password or --api-key)"
                                           : "",
                                       r.body.substr(0, 500)));
    case RequestAction::kRead: break;
  }
  std::vector<ItemResult> results;
  if (Status s = ParseBulkResponse(r.body, b.items.size(), &results); !s.ok()) {
    m_.Error("bad_response").Increment();
    return s;
  }
  Batch again;
  uint64_t done = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    Item& it = b.items[i];
    const ItemResult& ir = results[i];
    switch (ClassifyItem(ir)) {
      case ItemAction::kDone:
        if (ir.status == 409) {
          ++sum_.superseded;
        } else {
          ++sum_.indexed;
        }
        ++done;
        if (offsets_.Finish(it)) --buffered_;
        break;
      case ItemAction::kRetry:
        m_.Error(ir.status == 429 ? "item_429" : "item_5xx").Increment();
        if (++it.refusals > c_.max_item_retries) {
          const std::string reason = fmt::format(
              "refused {} times (--max-retries {}), last with HTTP {}: {}: {}", it.refusals,
              c_.max_item_retries, ir.status, ir.error_type, ir.error_reason);
          if (Status s = DeadLetter(it, "retries_exhausted", reason); !s.ok()) return s;
          break;
        }
        again.Take(std::move(it), b.body);
        break;
      case ItemAction::kDeadLetter: {
        m_.Error("item_" + std::to_string(ir.status)).Increment();
        std::string reason = ir.error_type + ": " + ir.error_reason;
        if (Status s = DeadLetter(it, "mapping", reason); !s.ok()) return s;
        break;
      }
    }
  }
  m_.sent->Increment(static_cast<double>(done));
  Retry(std::move(again));
  return Status::Ok();
}

// The dead letter has the aggregator's format (stream/output_format.h: AppendDeadLetterLine):
// sequence and offset = the record's offset, error, reason (Elasticsearch's), the original key
// and value in base64, plus the source topic. It counts as finished once the producer has it;
// Commit() flushes the producer before it commits, so an offset is committed only after its
// dead letter is acknowledged.
Status Sink::DeadLetter(Item& it, const std::string& error, const std::string& reason) {
  line_.clear();
  SourcePosition pos;
  pos.sequence = static_cast<uint64_t>(it.offset);
  pos.partition = static_cast<uint32_t>(offsets_.parts()[it.tp].partition);
  pos.offset = static_cast<uint64_t>(it.offset);
  if (AppendSinkDeadLetterLine(pos, offsets_.parts()[it.tp].topic, error, reason, it.key(),
                               it.value(), &line_)) {
    m_.dead_letters_cut->Increment();
  }
  if (Status s = dlq_->Send(DeadLetterKey(it.key()), line_); !s.ok()) return s;
  ++sum_.dead_letters;
  m_.Dropped(error).Increment();
  if (offsets_.Finish(it)) --buffered_;
  return Status::Ok();
}

Status Sink::Commit(const std::vector<int>& only) {
  if (dlq_->Flush(30'000) > 0 || dlq_->stats().failed > 0) {
    return Status::Error("dead letters to " + c_.dlq_topic +
                         " were not acknowledged: offsets not committed (" +
                         (dlq_->fatal_error().empty() ? "see the log" : dlq_->fatal_error()) + ")");
  }
  std::vector<kafka::TopicPartition> list;
  std::vector<std::pair<int, int64_t>> commits;
  auto& parts = offsets_.parts();
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!only.empty() && std::find(only.begin(), only.end(), static_cast<int>(i)) == only.end()) {
      continue;
    }
    int64_t o = offsets_.Committable(static_cast<int>(i));
    if (o < 0) continue;
    list.push_back({parts[i].topic, parts[i].partition, o});
    commits.emplace_back(static_cast<int>(i), o);
  }
  if (commits.empty()) return Status::Ok();
  if (Status s = consumer_->Commit(list); !s.ok()) {
    // Not fatal: the documents are in the index; a later commit covers these offsets.
    m_.Error("commit").Increment();
    Log().warn("offset commit failed: {}", s.message());
    return Status::Ok();
  }
  for (auto [i, o] : commits) parts[i].committed = o;
  return Status::Ok();
}

void Sink::Pause(bool pause) {
  if (pause == paused_) return;
  consumer_->PauseAll(pause);
  paused_ = pause;
}

Result<SinkSummary> Sink::Run(const IndexHooks& hooks) {
  auto start = Clock::now();
  auto http = HttpClient::Create(c_.http);
  if (!http.ok()) return http.status();
  http_ = std::move(http).value();
  auto server = PrepareCluster(*http_, c_);
  if (!server.ok()) return server.status();
  sum_.server = server.value();

  auto dlq = kafka::Producer::Create(c_.producer, c_.dlq_topic);
  if (!dlq.ok()) return dlq.status();
  dlq_ = std::move(dlq).value();
  auto consumer = kafka::Consumer::Create(c_.consumer, &stats_);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(consumer).value();
  // Partitions taken away: commit what is finished while they are still ours; records read
  // and not yet acknowledged will be read again by the next owner (same _id: no duplicate).
  consumer_->OnRebalance([this](bool assign, bool, const std::vector<kafka::TopicPartition>& ps) {
    std::vector<int> tps;
    for (const kafka::TopicPartition& p : ps) tps.push_back(offsets_.Find(p.topic, p.partition));
    if (assign) {
      for (int tp : tps) offsets_.Assign(tp);
      paused_ = false;  // new partitions are not paused; Pause() re-checks on the next turn
      return;
    }
    if (Status s = Commit(tps); !s.ok()) fatal_ = s.message();
    for (int tp : tps) {
      buffered_ -= std::min(buffered_, offsets_.parts()[tp].open.size());
      offsets_.Revoke(tp);
    }
  });
  if (Status s = consumer_->Subscribe(c_.topics); !s.ok()) return s;

  // Backpressure. At most max_buffered records are read ahead of the acknowledgements (the
  // batches in flight and two more). Beyond that the sink stops polling the consumer, and
  // librdkafka's prefetch queue (queued.max.messages.kbytes) holds the next records, ready the
  // moment a request completes. Pausing the partitions there instead made the sink wait on
  // Kafka for half its time (18k documents/s against 50k on the same node): librdkafka drops
  // a paused partition's prefetched records and fetches them again on resume. The partitions
  // are paused only when nothing could be read for kPauseAfterMs (the cluster is down or
  // very slow), so that the consumer can be polled without reading, which keeps it in its
  // group (max.poll.interval.ms) and serves rebalances.
  constexpr int64_t kPauseAfterMs = 5000;
  const size_t max_buffered = c_.batch_docs * static_cast<size_t>(c_.max_inflight + 2);
  auto last_commit = Clock::now(), last_progress = Clock::now();
  Clock::time_point last_wait_log;
  kafka::GroupEnd group_end(consumer_.get(), c_.topics);
  Clock::time_point full_since;  // since when buffered_ >= max_buffered; epoch: not full
  std::vector<HttpResponse> done;
  bool input_over = false;
  while (true) {
    if (!fatal_.empty()) return Status::Error(fatal_);
    if (hooks.stop && hooks.stop()) input_over = true;
    const bool full = buffered_ >= max_buffered;
    if (!full) {
      full_since = Clock::time_point();
    } else if (full_since == Clock::time_point()) {
      full_since = Clock::now();
    }
    if (!input_over && (!full || MsSince(full_since) >= kPauseAfterMs)) {
      Pause(full);
      // Poll Kafka briefly when requests run, so their completions are seen promptly. With
      // none, wait for records, but only until the filling batch's linger is over: waiting
      // 0 ms there spun a core for the whole linger whenever records came slowly.
      int64_t wait = 50;
      if (http_->inflight() > 0 || !ready_.empty()) {
        wait = 0;
      } else if (!current_.items.empty()) {
        wait = std::clamp<int64_t>(c_.linger_ms - MsSince(current_.first), 0, 50);
      }
      for (size_t n = 0; n < c_.batch_docs; ++n) {
        auto m = consumer_->Poll(n == 0 ? static_cast<int>(wait) : 0);
        if (!m) break;
        if (m.partition_eof()) {
          offsets_.ReadToEnd(offsets_.Find(m.topic(), m.partition()), m.offset());
          continue;
        }
        if (m.err()) {
          if (m.err() == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
              m.err() == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
              m.err() == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
            return Status::Error("cannot consume: " + kafka::ErrorText(m.err()));
          }
          m_.Error("kafka").Increment();
          Log().warn("{}", kafka::ErrorText(m.err()));
          continue;
        }
        if (Status s = OnMessage(std::move(m)); !s.ok()) return s;
        if (buffered_ >= max_buffered) break;
      }
      if (c_.exit_at_end && consumer_->assigned_partitions() > 0 &&
          offsets_.AtEnd() >= consumer_->assigned_partitions()) {
        input_over = group_end.OthersDone();
        if (!input_over && !group_end.waiting().empty() && MsSince(last_wait_log) >= 30'000) {
          Log().info(
              "-e: this member's partitions are read to their end; waiting for the "
              "others: {}",
              group_end.waiting());
          last_wait_log = Clock::now();
        }
      }
    } else if (input_over) {
      consumer_->Poll(0);  // keeps the group membership and serves callbacks
    }
    bool draining = input_over;
    if (Status s = Flush(draining); !s.ok()) return s;
    // Wait for the requests in flight. With none, and nothing to read, wait until the first
    // retry or the filling batch is due rather than spin.
    int64_t idle_ms = 0;
    if (http_->inflight() > 0) {
      idle_ms = 10;
    } else if (ready_.empty() && (draining || full)) {
      idle_ms = 100;
      if (!retries_.empty()) idle_ms = std::min(idle_ms, MsUntil(retries_.front().ready));
      if (!current_.items.empty())
        idle_ms = std::min(idle_ms, c_.linger_ms - MsSince(current_.first));
      idle_ms = std::max<int64_t>(idle_ms, 0);
    }
    done.clear();
    http_->Poll(static_cast<int>(idle_ms), &done);
    for (HttpResponse& r : done) {
      if (Status s = OnResponse(r); !s.ok()) return s;
    }
    dlq_->Poll(0);
    if (MsSince(last_commit) >= c_.commit_interval_ms) {
      if (Status s = Commit(); !s.ok()) return s;
      last_commit = Clock::now();
    }
    if (hooks.progress && MsSince(last_progress) >= 1000) {
      sum_.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
      hooks.progress(sum_);
      last_progress = Clock::now();
    }
    if (draining && buffered_ == 0 && http_->inflight() == 0 && retries_.empty() &&
        ready_.empty() && current_.items.empty()) {
      break;
    }
  }
  if (Status s = Commit(); !s.ok()) return s;
  sum_.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return sum_;
}

}  // namespace

Result<SinkSummary> RunIndexSink(const SinkConfig& c, const IndexHooks& hooks) {
  prometheus::Registry unexposed;  // no hooks.metrics: the series are kept, not served
  Sink sink(c, hooks.metrics ? *hooks.metrics : unexposed);
  return sink.Run(hooks);
}

}  // namespace spate::es
