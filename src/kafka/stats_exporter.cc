#include "kafka/stats_exporter.h"

#include <simdjson.h>

namespace spate::kafka {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

StatsExporter::StatsExporter(prometheus::Registry& reg, std::string client)
    : client_(std::move(client)),
      tx_msgs_(&BuildCounter()
                    .Name("spate_kafka_messages_sent_total")
                    .Help("Messages librdkafka sent to brokers")
                    .Register(reg)),
      rx_msgs_(&BuildCounter()
                    .Name("spate_kafka_messages_received_total")
                    .Help("Messages librdkafka received from brokers")
                    .Register(reg)),
      tx_bytes_(&BuildCounter()
                     .Name("spate_kafka_sent_bytes_total")
                     .Help("Bytes librdkafka sent to brokers")
                     .Register(reg)),
      rx_bytes_(&BuildCounter()
                     .Name("spate_kafka_received_bytes_total")
                     .Help("Bytes librdkafka received from brokers")
                     .Register(reg)),
      queue_msgs_(&BuildGauge()
                       .Name("spate_kafka_queue_messages")
                       .Help("Messages waiting in librdkafka's local queues")
                       .Register(reg)),
      rtt_(&BuildGauge()
                .Name("spate_kafka_broker_rtt_seconds")
                .Help("Average broker round-trip time")
                .Register(reg)),
      lag_(&BuildGauge()
                .Name("spate_kafka_consumer_lag")
                .Help("Messages between the consumer's position and the partition's end")
                .Register(reg)) {}

void StatsExporter::AddTo(prometheus::Counter* c, double now, double* last) {
  if (now > *last) c->Increment(now - *last);
  *last = now;
}

void StatsExporter::Update(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc)) return;
  const prometheus::Labels base{{"client", client_}};
  auto num = [](simdjson::dom::element e, const char* k) -> double {
    double d = 0;
    int64_t i = 0;
    if (!e[k].get(i)) return static_cast<double>(i);
    if (!e[k].get(d)) return d;
    return 0;
  };
  AddTo(&tx_msgs_->Add(base), num(doc, "txmsgs"), &last_["txmsgs"]);
  AddTo(&rx_msgs_->Add(base), num(doc, "rxmsgs"), &last_["rxmsgs"]);
  AddTo(&tx_bytes_->Add(base), num(doc, "txmsg_bytes"), &last_["txmsg_bytes"]);
  AddTo(&rx_bytes_->Add(base), num(doc, "rxmsg_bytes"), &last_["rxmsg_bytes"]);
  queue_msgs_->Add(base).Set(num(doc, "msg_cnt"));
  simdjson::dom::object brokers;
  if (!doc["brokers"].get(brokers)) {
    for (auto [name, b] : brokers) {
      int64_t nodeid = -1;
      if (b["nodeid"].get(nodeid) || nodeid < 0) continue;  // skip bootstrap pseudo-brokers
      simdjson::dom::element rtt;
      if (b["rtt"].get(rtt)) continue;
      double avg_us = num(rtt, "avg");
      rtt_->Add({{"client", client_}, {"broker", std::to_string(nodeid)}}).Set(avg_us / 1e6);
    }
  }
  simdjson::dom::object topics;
  if (!doc["topics"].get(topics)) {
    for (auto [tname, t] : topics) {
      simdjson::dom::object parts;
      if (t["partitions"].get(parts)) continue;
      for (auto [pname, p] : parts) {
        int64_t partition = -1, lag = -1;
        if (p["partition"].get(partition) || partition < 0) continue;  // -1: internal UA
        // consumer_lag counts from the consumer's own committed offset, unknown (-1) when the
        // offsets are committed by a transactional producer (spate aggregate): then count from
        // the position the application has consumed (consumer_lag_stored).
        if (p["consumer_lag"].get(lag) || lag < 0) {
          if (p["consumer_lag_stored"].get(lag) || lag < 0) continue;  // not consumed here
        }
        lag_->Add({{"client", client_},
                   {"topic", std::string(tname)},
                   {"partition", std::to_string(partition)}})
            .Set(static_cast<double>(lag));
      }
    }
  }
}

}  // namespace spate::kafka
