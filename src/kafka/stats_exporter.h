#pragma once
// librdkafka's statistics (statistics.interval.ms, JSON) as Prometheus metrics: messages and
// bytes sent and received, the local queue, broker round-trip times and, for consumers, the
// lag of every assigned partition. The client that owns the exporter forwards each statistics
// document from its stats callback (on the thread that polls the client) to Update().

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <librdkafka/rdkafka.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace spate::kafka {

class StatsExporter {
 public:
  // client: a label value naming this client ("producer", "aggregate-consumer", ...).
  StatsExporter(prometheus::Registry& registry, std::string client);

  // Parses one statistics document and updates the metrics.
  void Update(std::string_view json);

 private:
  void AddTo(prometheus::Counter* c, double now, double* last);

  std::string client_;
  prometheus::Family<prometheus::Counter>* tx_msgs_;
  prometheus::Family<prometheus::Counter>* rx_msgs_;
  prometheus::Family<prometheus::Counter>* tx_bytes_;
  prometheus::Family<prometheus::Counter>* rx_bytes_;
  prometheus::Family<prometheus::Gauge>* queue_msgs_;
  prometheus::Family<prometheus::Gauge>* rtt_;
  prometheus::Family<prometheus::Gauge>* lag_;
  std::map<std::string, double> last_;  // previous cumulative values, to add deltas
};

}  // namespace spate::kafka
