#pragma once
// librdkafka's mock cluster for the unit tests of src/kafka/ (unit-level only; the real
// broker is exercised by the kafka-labelled tests), held by a bare librdkafka handle.

#include <memory>
#include <string>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace spate::kafka {

class MockCluster {
 public:
  explicit MockCluster(int brokers = 1) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "test.mock.num.brokers", std::to_string(brokers).c_str(), err,
                      sizeof(err));
    rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)));
    mc_ = rd_kafka_handle_mock_cluster(rk_.get());
  }
  rd_kafka_mock_cluster_t* get() const { return mc_; }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(mc_); }

 private:
  struct Destroy {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  };
  std::unique_ptr<rd_kafka_t, Destroy> rk_;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
};

}  // namespace spate::kafka
