#include "sinks/elasticsearch/metrics.h"

namespace spate::es {

SinkMetrics::SinkMetrics(prometheus::Registry& reg) {
  using prometheus::BuildCounter;
  received = &BuildCounter()
                  .Name("spate_records_received_total")
                  .Help("Records a component received")
                  .Register(reg)
                  .Add({{"component", "sink"}});
  sent = &BuildCounter()
              .Name("spate_records_sent_total")
              .Help("Records a component passed on (sink: documents acknowledged)")
              .Register(reg)
              .Add({{"component", "sink"}});
  dropped = &BuildCounter()
                 .Name("spate_records_dropped_total")
                 .Help("Records a component took out of the main flow, by reason")
                 .Register(reg);
  errors =
      &BuildCounter().Name("spate_errors_total").Help("Errors by component and type").Register(reg);
  dead_letters_cut = &BuildCounter()
                          .Name("spate_dead_letters_truncated_total")
                          .Help(
                              "Dead letters whose record was cut to the size bound "
                              "(the first 64 KiB kept, with the size and SHA-256 of the whole)")
                          .Register(reg)
                          .Add({{"component", "sink"}});
  retries = &BuildCounter()
                 .Name("spate_sink_retries_total")
                 .Help("Documents sent to the cluster again after a retriable failure")
                 .Register(reg)
                 .Add({});
  duration = &prometheus::BuildHistogram()
                  .Name("spate_sink_request_duration_seconds")
                  .Help("Duration of _bulk requests")
                  .Register(reg)
                  .Add({}, prometheus::Histogram::BucketBoundaries{
                               0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
  inflight = &prometheus::BuildGauge()
                  .Name("spate_sink_inflight_requests")
                  .Help("_bulk requests running")
                  .Register(reg)
                  .Add({});
  batch = &prometheus::BuildHistogram()
               .Name("spate_sink_batch_documents")
               .Help("Documents per _bulk request")
               .Register(reg)
               .Add({}, prometheus::Histogram::BucketBoundaries{1, 10, 50, 100, 250, 500, 1000,
                                                                2000, 5000, 10000});
}

}  // namespace spate::es
