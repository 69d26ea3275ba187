#pragma once
// Not compiled: the layering test (tests/CMakeLists.txt) checks this file as if it were part
// of src/stream, and expects the check to refuse it, since the engine does not depend on Kafka.

#include "kafka/consumer.h"
#include "stream/window.h"
