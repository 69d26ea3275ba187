#include <gtest/gtest.h>
#include <simdjson.h>

#include "sinks/elasticsearch/cluster.h"

namespace spate::es {
namespace {

TEST(IndexTemplate, IdBloomFilterOnlyOnOpenSearch213AndLater) {
  EXPECT_TRUE(HasIdBloomFilter(true, "2.13.0"));
  EXPECT_TRUE(HasIdBloomFilter(true, "2.19.6"));
  EXPECT_TRUE(HasIdBloomFilter(true, "3.0.0"));
  EXPECT_FALSE(HasIdBloomFilter(true, "2.12.0"));  // behind a feature flag there
  EXPECT_FALSE(HasIdBloomFilter(true, "1.3.17"));
  EXPECT_FALSE(HasIdBloomFilter(false, "8.8.2"));  // Elasticsearch has no such setting
  EXPECT_FALSE(HasIdBloomFilter(false, "7.17.29"));
  EXPECT_FALSE(HasIdBloomFilter(true, "garbage"));
}

TEST(IndexTemplate, SettingsOnlyWithTheBloomFilterAndTransactionIdWithoutDocValues) {
  simdjson::dom::parser parser;
  for (bool bloom : {false, true}) {
    std::string body = IndexTemplateBody("spate-*", bloom);
    simdjson::dom::element root;
    ASSERT_FALSE(parser.parse(body).get(root)) << body;
    simdjson::dom::element settings;
    bool has_settings = !root["template"]["settings"].get(settings);
    EXPECT_EQ(has_settings, bloom) << body;
    if (bloom) {
      EXPECT_TRUE(settings["index.optimize_doc_id_lookup.fuzzy_set.enabled"].get_bool().value());
    }
    auto tid = root["template"]["mappings"]["properties"]["transactionId"];
    EXPECT_EQ(std::string_view(tid["type"].get_string().value()), "keyword");
    EXPECT_FALSE(tid["doc_values"].get_bool().value());
    // Keys that dashboards aggregate by keep their doc values.
    EXPECT_TRUE(root["template"]["mappings"]["properties"]["merchantId"]["doc_values"].error());
  }
}

}  // namespace
}  // namespace spate::es
