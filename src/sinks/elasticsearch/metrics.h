#pragma once
// The series `spate index` reports, in Vector's component spec (component="sink"): records
// received, documents acknowledged, records dropped to the dead letters by reason, errors by
// type; and its own: retries, request durations, requests in flight, documents per request.

#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace spate::es {

// The metrics every sink reports (Vector's component spec, component="sink").
struct SinkMetrics {
  explicit SinkMetrics(prometheus::Registry& reg);
  prometheus::Counter& Dropped(const std::string& reason) {
    return dropped->Add({{"component", "sink"}, {"reason", reason}});
  }
  prometheus::Counter& Error(const std::string& type) {
    return errors->Add({{"component", "sink"}, {"type", type}});
  }
  prometheus::Counter* received;
  prometheus::Counter* sent;
  prometheus::Family<prometheus::Counter>* dropped;
  prometheus::Family<prometheus::Counter>* errors;
  prometheus::Counter* retries;
  prometheus::Counter* dead_letters_cut;
  prometheus::Histogram* duration;
  prometheus::Gauge* inflight;
  prometheus::Histogram* batch;
};

}  // namespace spate::es
