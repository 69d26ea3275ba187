#pragma once
// librdkafka configuration as kcat takes it: defaults set by spate, then `-F file` (key=value
// lines, # comments), then `-X key=value` in order; later settings win. Every property is
// checked by librdkafka itself when the handle is built, so a typo is a clear error.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "core/status.h"

namespace spate::kafka {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

using Settings = std::vector<std::pair<std::string, std::string>>;

class ClientConfig {
 public:
  void Set(std::string key, std::string value);
  void SetAll(const Settings& settings);
  // Defaults: sets each key that has no value yet, so that -X and -F keep theirs.
  void SetDefaults(const Settings& settings);
  // "key=value" from -X.
  Status SetFromArg(const std::string& kv);
  // A properties file from -F.
  Status LoadFile(const std::string& path);
  // Builds an rd_kafka_conf_t; names the offending property on error.
  Result<ConfPtr> Build() const;
  // The value set for key, or "" (the last one wins).
  std::string Get(const std::string& key) const;

  // A copy without the properties librdkafka documents as the other role's only (its C/P
  // column), for commands that build a producer and a consumer from one -X list: librdkafka
  // would otherwise warn that each is ignored. Unknown names are kept (Build() reports them).
  enum class Role { kProducer, kConsumer };
  ClientConfig For(Role role) const;

  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// How every spate consumer reads: committed records only (isolation.level=read_committed),
// the end of each partition reported (enable.partition.eof, unless !partition_eof), from the
// beginning where nothing is committed (auto.offset.reset=earliest), and offsets committed by
// spate itself once the work is done (enable.auto.commit=false) unless auto_commit.
Settings ReaderSettings(bool auto_commit = false, bool partition_eof = true);
// A member of consumer group `group`, with cooperative rebalancing (cooperative-sticky).
Settings GroupSettings(const std::string& group);
// How much a reader that keeps up with its fetches holds prefetched: up to 1,000,000 messages
// or 96 MiB (librdkafka's defaults: 100,000 and 64 MiB). librdkafka 2.0.2 stops fetching for
// a whole second once its queue is over either bound, so a reader that drains the queue in
// less waits out the rest of that second (docs/produce-consume.md#prefetch).
Settings PrefetchSettings();

// For an idempotent producer (enable.idempotence=true) whose configuration does not set
// max.in.flight.requests.per.connection: one request in flight per broker connection.
// librdkafka 2.0.2 (and later, to date) sends a partition's next batch only once its last one
// is answered (it sets the count of messages in flight against the limit of 5 requests), and
// while a batch is ready it has the broker thread poll its socket without waiting, until
// that answer comes. With one request in flight per connection, the next partition's
// request waits in the connection's output queue instead, and the thread sleeps until an
// answer comes (docs/produce-consume.md#in-flight).
void LimitIdempotentInFlight(ClientConfig* conf);

// Prints every librdkafka property with its default and description (-X list).
void PrintProperties();

// librdkafka's version as a string, and whether it is at least the given hex version.
std::string LibraryVersion();

}  // namespace spate::kafka
