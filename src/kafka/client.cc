#include "kafka/client.h"

namespace spate::kafka {

Result<HandlePtr> NewHandle(rd_kafka_type_t type, ConfPtr conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof(err));
  if (!rk) return Status::Error(std::string("cannot create Kafka client: ") + err);
  conf.release();  // now owned by rk
  return HandlePtr(rk);
}

std::string ErrorText(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err);
}

}  // namespace spate::kafka
