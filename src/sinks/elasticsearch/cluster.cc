#include "sinks/elasticsearch/cluster.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <simdjson.h>

#include "core/redact.h"
#include "obs/log.h"
#include "stream/output_format.h"

namespace spate::es {

std::string IndexFor(const std::string& pattern, const std::string& topic) {
  std::string out = pattern;
  for (size_t at; (at = out.find("{topic}")) != std::string::npos;) out.replace(at, 7, topic);
  return out;
}

std::string IndexPattern(const std::string& pattern) { return IndexFor(pattern, "*"); }

std::string IndexTemplateName(const std::string& pattern) {
  return "spate-" + IndexFor(pattern, "all");
}

// Mapping decisions:
// - keys and ids are keyword (exact match, terms aggregations), never analysed text;
// - windowStart, windowEnd and transactionTime are dates in epoch milliseconds, as written;
// - each decimal amount is a scaled_float with factor 100: stored as the long round(x * 100),
//   which is the exact number of cents for every amount below 2^53 cents (the JSON value has
//   two decimals, so x * 100 is within 0.5 of an integer). Its twin "...Cents" is a long
//   computed by spate from the number's text, so exact sums do not depend on that argument:
//   sum aggregations over longs are exact below 2^53 (90 trillion in money);
// - "dynamic": "strict": a field the mapping does not know is a mapping error, so a record of
//   an unexpected shape goes to the dead letters instead of growing the mapping;
// - evidence (anomalies) is kept in _source, not indexed;
// - transactionId is unique per document, so it is indexed for lookups but has no doc values
//   (nobody sorts or aggregates by it; a sorted set with one term per document is the most
//   expensive doc values there are to build and merge);
// - on OpenSearch 2.13+, a bloom filter on _id: every spate document has an _id of its own
//   (that is what makes replays idempotent), so the node looks each one up before it writes
//   it, in every segment; the filter answers "not here" for most of them without a terms
//   lookup. bench/index_bench.py measures the node's CPU per document with and without it.
std::string IndexTemplateBody(const std::string& index_pattern, bool id_bloom_filter) {
  std::string p;
  auto field = [&](std::string_view name, std::string_view def) {
    if (!p.empty()) p += ',';
    fmt::format_to(std::back_inserter(p), R"("{}":{})", name, def);
  };
  const char* kw = R"({"type":"keyword"})";
  const char* date = R"({"type":"date","format":"epoch_millis"})";
  const char* lng = R"({"type":"long"})";
  const char* money = R"({"type":"scaled_float","scaling_factor":100})";
  for (const char* f : {"merchantId", "userId", "location", "currency", "paymentMethod", "rule",
                        "transactionType", "isInternational", "emit"}) {
    field(f, kw);
  }
  field("transactionId", R"({"type":"keyword","doc_values":false})");
  for (const char* f : {"windowStart", "windowEnd", "transactionTime"}) field(f, date);
  for (const char* f : {"transactionCount", "purchaseCount", "refundCount", "sequence",
                        "totalAmountCents", "minAmountCents", "maxAmountCents", "amountCents"}) {
    field(f, lng);
  }
  for (const char* f : {"totalAmount", "minAmount", "maxAmount", "amount"}) field(f, money);
  field("evidence", R"({"type":"object","enabled":false})");
  std::string body = R"({"index_patterns":[)";
  AppendJsonString(index_pattern, &body);
  // Composable templates whose patterns overlap must differ in priority: the more specific
  // pattern (more literal characters) wins, so `spate-{topic}` and `spate-test-1` can coexist.
  size_t literal =
      index_pattern.size() - std::count(index_pattern.begin(), index_pattern.end(), '*');
  fmt::format_to(std::back_inserter(body), R"(],"priority":{},)", 100 + literal);
  body += R"("template":{)";
  if (id_bloom_filter)
    body += R"("settings":{"index.optimize_doc_id_lookup.fuzzy_set.enabled":true},)";
  body += R"("mappings":{"dynamic":"strict","properties":{)";
  body += p;
  body += "}}}}";
  return body;
}

bool HasIdBloomFilter(bool opensearch, std::string_view version) {
  int major = 0, minor = 0;
  std::sscanf(std::string(version).c_str(), "%d.%d", &major, &minor);
  return opensearch && (major > 2 || (major == 2 && minor >= 13));
}

Result<std::string> PrepareCluster(HttpClient& http, const SinkConfig& c) {
  const std::string url = RedactUrl(http.base_url());  // for messages only
  HttpResponse r = http.Request("GET", "/");
  if (r.status == 0) {
    const bool tls = url.rfind("https://", 0) == 0;
    return Status::Error(
        "cannot reach Elasticsearch/OpenSearch at " + url + ": " + r.error +
        (tls ? " (TLS: --ca-file names the CA that signed the server's certificate, --insecure "
               "skips the check, --client-cert/--client-key answer a server that asks for one; "
               "or is it not running?)"
             : " (is it running? deploy/opensearch/opensearch.sh up starts a local node; --es "
               "names another)"));
  }
  if (r.status == 401 || r.status == 403) {
    return Status::Error(
        fmt::format("{} refused the credentials (HTTP {}): check --user and "
                    "--password, or --api-key",
                    url, r.status));
  }
  if (r.status != 200) {
    return Status::Error(
        fmt::format("{} answered HTTP {} to GET /: {}", url, r.status, r.body.substr(0, 300)));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view number, distribution = "elasticsearch";
  if (parser.parse(r.body).get(root) || root["version"]["number"].get(number)) {
    return Status::Error(
        url + " does not look like Elasticsearch or OpenSearch: " + r.body.substr(0, 200));
  }
  if (root["version"]["distribution"].get(distribution))
    distribution = "elasticsearch";  // ES: none
  bool opensearch = distribution == "opensearch";
  int major = std::atoi(std::string(number).c_str());
  std::string server = fmt::format("{} {}", opensearch ? "OpenSearch" : "Elasticsearch", number);
  bool tested = opensearch ? (major == 1 || major == 2) : (major == 7 || major == 8);
  if (!tested) {
    Logger("sinks/elasticsearch")
        .warn(
            "{} is not a version spate is tested against (Elasticsearch 7.17 and 8.8, "
            "OpenSearch 1.3 and 2.19); it needs _bulk with external versions, _index_template and "
            "scaled_float, as OpenSearch 3 and Elasticsearch 9 have them",
            server);
  }
  HttpResponse h = http.Request("GET", "/_cluster/health");
  if (h.status == 200 && h.body.find(R"("status":"red")") != std::string::npos) {
    return Status::Error(url + ": cluster health is red: " + h.body.substr(0, 300));
  }
  if (c.install_template) {
    std::string name = IndexTemplateName(c.index);
    HttpResponse t =
        http.Request("PUT", "/_index_template/" + name,
                     IndexTemplateBody(IndexPattern(c.index),
                                       c.id_bloom_filter && HasIdBloomFilter(opensearch, number)));
    if (t.status != 200) {
      // A node without the mapper-extras module (e.g. Elasticsearch 8 assembled from Maven
      // Central jars) refuses scaled_float; the way out is a template of one's own.
      const bool no_scaled_float = t.body.find("scaled_float") != std::string::npos;
      return Status::Error(fmt::format(
          "{}: installing the index template {} failed (HTTP {}{}): {}{}", url, name, t.status,
          t.status == 0 ? ", " + t.error : "", t.body.substr(0, 500),
          no_scaled_float ? " (the node has no scaled_float: install a template of your own, "
                            "e.g. spate index --print-template with another type for the "
                            "amounts, and run with --no-template)"
                          : ""));
    }
  }
  return server;
}

}  // namespace spate::es
