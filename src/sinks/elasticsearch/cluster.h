#pragma once
// The cluster side of `spate index`, before any document: GET / (reachable, credentials,
// distribution and version), the cluster's health, and spate's index template (composable,
// _index_template): the mapping of every field spate writes, and where the server has it,
// OpenSearch's bloom filter on _id.

#include <string>
#include <string_view>

#include "core/status.h"
#include "sinks/elasticsearch/client.h"
#include "sinks/elasticsearch/config.h"

namespace spate::es {

// The index name for a topic (the pattern with {topic} replaced), and the template's pattern.
std::string IndexFor(const std::string& pattern, const std::string& topic);
std::string IndexPattern(const std::string& pattern);
// The index template's body (composable, `_index_template`): keyword keys, epoch-millisecond
// dates, exact amounts (see the .cc for the mapping and why). id_bloom_filter adds OpenSearch's
// bloom filter on _id (2.13 and later; other servers refuse the setting).
std::string IndexTemplateBody(const std::string& index_pattern, bool id_bloom_filter = false);
// Whether a server (GET /'s version.distribution and version.number) takes the _id bloom
// filter setting: OpenSearch 2.13 and later (2.12 had it behind a feature flag).
bool HasIdBloomFilter(bool opensearch, std::string_view version);
// The name spate installs that template under for an --index pattern: "spate-" + the pattern
// with {topic} replaced by "all".
std::string IndexTemplateName(const std::string& pattern);

// Checks the cluster (reachable, credentials, version, health) and installs the template.
// Returns "Elasticsearch 8.x.y" / "OpenSearch 2.x.y", or a clear error.
Result<std::string> PrepareCluster(HttpClient& http, const SinkConfig& c);

}  // namespace spate::es
