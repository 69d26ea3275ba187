#pragma once
// What the registry's end-to-end tests share (registry_test.cc, registry_limits_test.cc): a
// Registry behind a RegistryServer on an ephemeral port, and a raw HTTP client for it.

#include <memory>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "registry/client/client.h"
#include "registry/server/registry.h"
#include "registry/server/server.h"
#include "registry/server/store.h"

namespace spate::registry {

using Json = nlohmann::json;

inline const std::string kV1 =
    R"({"type":"record","name":"Tx","fields":[{"name":"id","type":"string"}]})";
inline const std::string kV2 =  // adds a field with a default: backward compatible
    R"({"type":"record","name":"Tx","fields":[{"name":"id","type":"string"},)"
    R"({"name":"amount","type":"long","default":0}]})";
inline const std::string kV3NoDefault =  // adds a field without a default: not backward compatible
    R"({"type":"record","name":"Tx","fields":[{"name":"id","type":"string"},)"
    R"({"name":"amount","type":"long","default":0},{"name":"cur","type":"string"}]})";

inline std::string Body(const std::string& schema) { return Json{{"schema", schema}}.dump(); }

inline ClientOptions Options(const std::string& url, const std::string& basic_auth = "") {
  ClientOptions o;
  o.url = url;
  o.basic_auth = basic_auth;
  return o;
}

class RegistryTest : public ::testing::Test {
 protected:
  void StartWith(std::unique_ptr<SchemaLog> log, const std::string& auth = "") {
    server_.reset();
    auto r = Registry::Open(std::move(log));
    ASSERT_TRUE(r.ok()) << r.status().message();
    registry_ = std::move(r).value();
    auto s = RegistryServer::Start(registry_.get(), "127.0.0.1:0", auth);
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(s).value();
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }
  void SetUp() override { StartWith(NewMemoryLog()); }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  // (status, body as JSON) of one request.
  std::pair<int, Json> Do(const std::string& method, const std::string& path,
                          const std::string& body = "") {
    const char* ct = "application/vnd.schemaregistry.v1+json";
    httplib::Result r = method == "GET"    ? http_->Get(path.c_str())
                        : method == "POST" ? http_->Post(path.c_str(), body, ct)
                        : method == "PUT"  ? http_->Put(path.c_str(), body, ct)
                                           : http_->Delete(path.c_str());
    EXPECT_TRUE(r) << method << " " << path;
    if (!r) return {0, Json()};
    return {r->status, Json::parse(r->body, nullptr, false)};
  }

  static int Code(const Json& j) { return j.is_object() ? j.value("error_code", 0) : 0; }

  std::unique_ptr<Registry> registry_;
  std::unique_ptr<RegistryServer> server_;
  std::unique_ptr<httplib::Client> http_;
};

}  // namespace spate::registry
