#pragma once
// What to do about a librdkafka error code.

#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>

namespace spate::kafka {

enum class ErrorClass {
  kNone,       // not an error
  kRetriable,  // transient: the client retries, or we back off and try again
  kBadRecord,  // this record can never succeed: dead-letter it with the reason
  kFatal,      // configuration, authorisation, fencing: stop with a clear error
};

ErrorClass Classify(rd_kafka_resp_err_t err);
std::string_view ErrorClassName(ErrorClass c);

}  // namespace spate::kafka
