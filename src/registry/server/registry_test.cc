// The REST API end to end in one process: a Registry behind a RegistryServer on an ephemeral
// port, driven by a raw HTTP client (status codes and bodies) and by RegistryClient.

#include "registry/server/registry.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/avro_schema_testing.h"
#include "registry/client/client.h"
#include "registry/server/registry_testing.h"
#include "registry/server/routes.h"
#include "registry/server/server.h"
#include "registry/server/store.h"

namespace spate::registry {
namespace {

TEST_F(RegistryTest, RegisterAndReadBack) {
  auto [st, reg] = Do("POST", "/subjects/tx-value/versions", Body(kV1));
  ASSERT_EQ(st, 200) << reg.dump();
  const int id = reg["id"].get<int>();
  // The same schema, spelled differently, is the same schema: same id, no new version.
  std::string spaced =
      "{ \"type\": \"record\", \"name\": \"Tx\",\n \"fields\": [ {\"name\": "
      "\"id\", \"type\": {\"type\": \"string\"}} ] }";
  EXPECT_EQ(Do("POST", "/subjects/tx-value/versions", Body(spaced)).second["id"], id);
  EXPECT_EQ(Do("GET", "/subjects/tx-value/versions").second, Json::array({1}));
  EXPECT_EQ(Do("GET", "/subjects").second, Json::array({"tx-value"}));

  auto [st2, v] = Do("GET", "/subjects/tx-value/versions/latest");
  EXPECT_EQ(st2, 200);
  EXPECT_EQ(v["subject"], "tx-value");
  EXPECT_EQ(v["version"], 1);
  EXPECT_EQ(v["id"], id);
  EXPECT_EQ(Json::parse(v["schema"].get<std::string>()), Json::parse(kV1));
  EXPECT_EQ(Do("GET", "/subjects/tx-value/versions/1/schema").second, Json::parse(kV1));
  EXPECT_EQ(Do("GET", "/schemas/ids/" + std::to_string(id)).second["schema"], v["schema"]);
  EXPECT_EQ(Do("GET", "/schemas/ids/" + std::to_string(id) + "/versions").second,
            Json::parse(R"([{"subject":"tx-value","version":1}])"));

  // A compatible evolution becomes version 2 with a new id; the same schema in another
  // subject keeps its id.
  const int id2 = Do("POST", "/subjects/tx-value/versions", Body(kV2)).second["id"].get<int>();
  EXPECT_NE(id2, id);
  EXPECT_EQ(Do("GET", "/subjects/tx-value/versions").second, Json::array({1, 2}));
  EXPECT_EQ(Do("POST", "/subjects/other-value/versions", Body(kV2)).second["id"], id2);

  auto [st3, found] = Do("POST", "/subjects/tx-value", Body(kV1));
  EXPECT_EQ(st3, 200);
  EXPECT_EQ(found["version"], 1);
  EXPECT_EQ(found["id"], id);
}

// Targets that are not a path (an asterisk, an absolute URL), or empty, match no route: 404.
// (The routes dropped a first character assumed to be '/', which an empty target lacks.)
TEST_F(RegistryTest, TargetsThatAreNoPathAre404) {
  for (const char* target : {"", "*", "http://127.0.0.1/subjects", "subjects"}) {
    ApiRequest q;
    q.method = "GET";
    q.path = target;
    EXPECT_EQ(RouteRequest(registry_.get(), q).status, 404) << target;
  }
}

TEST_F(RegistryTest, ErrorCodes) {
  Do("POST", "/subjects/tx-value/versions", Body(kV1));
  auto expect = [&](const std::string& m, const std::string& p, const std::string& b, int status,
                    int code) {
    auto [st, j] = Do(m, p, b);
    EXPECT_EQ(st, status) << m << " " << p << ": " << j.dump();
    EXPECT_EQ(Code(j), code) << m << " " << p << ": " << j.dump();
    EXPECT_TRUE(j.is_object() && j["message"].is_string()) << j.dump();
  };
  expect("GET", "/subjects/nope/versions", "", 404, 40401);
  expect("GET", "/subjects/nope/versions/1", "", 404, 40401);
  expect("GET", "/subjects/tx-value/versions/7", "", 404, 40402);
  expect("GET", "/subjects/tx-value/versions/abc", "", 422, 42202);
  expect("GET", "/subjects/tx-value/versions/0", "", 422, 42202);
  expect("GET", "/schemas/ids/999", "", 404, 40403);
  expect("POST", "/subjects/tx-value", Body(kV2), 404, 40403);
  expect("POST", "/subjects/nope", Body(kV1), 404, 40401);
  expect("POST", "/subjects/tx-value/versions", Body(kV3NoDefault), 409, 409);
  expect("POST", "/subjects/tx-value/versions", Body(R"({"type":"record","name":"X"})"), 422,
         42201);
  expect("POST", "/subjects/tx-value/versions", Body("not json"), 422, 42201);
  expect("POST", "/subjects/tx-value/versions", "{}", 422, 42201);
  expect("PUT", "/config", R"({"compatibility":"SOMETIMES"})", 422, 42203);
  expect("GET", "/config/tx-value", "", 404, 40408);
  expect("DELETE", "/subjects/nope", "", 404, 40401);
  expect("POST", "/compatibility/subjects/nope/versions/latest", Body(kV1), 404, 40401);
  expect("GET", "/no/such/route", "", 404, 404);
  // %00 is a byte of the subject, not its end ("/subjects/tx-value" has no GET route: 404).
  expect("GET", "/subjects/tx-value%00/versions", "", 404, 40401);
}

// Issue 17: a schema nested 50,000 deep (100 KB) killed the server with SIGSEGV.
TEST_F(RegistryTest, TooDeepSchemasAre422AndTheServerLivesOn) {
  for (const std::string& deep : {std::string(50'000, '[') + R"("int")" + std::string(50'000, ']'),
                                  test::ReferenceChain(1'000)}) {
    for (const std::string path : {"/subjects/deep-value/versions", "/subjects/deep-value",
                                   "/compatibility/subjects/deep-value/versions/latest"}) {
      auto [st, j] = Do("POST", path, Body(deep));
      EXPECT_EQ(st, 422) << path << ": " << j.dump();
      EXPECT_EQ(Code(j), 42201) << path;
      EXPECT_NE(j.value("message", "").find("nested deeper than"), std::string::npos) << j.dump();
    }
  }
  EXPECT_EQ(Do("POST", "/subjects/tx-value/versions", Body(kV1)).first, 200);
  EXPECT_EQ(Do("GET", "/subjects").second, Json::array({"tx-value"}));
}

// A schema that avro-c's JSON reader refuses by quoting a cut UTF-8 character: 422 with a
// JSON message (U+FFFD in place of the cut bytes), not 500 (found by fuzz/registry_fuzz.cc).
TEST_F(RegistryTest, RefusalsQuotingCutCharactersAre422) {
  for (const std::string path : {"/subjects/s-value/versions", "/subjects/s-value",
                                 "/compatibility/subjects/s-value/versions"}) {
    auto [st, j] = Do("POST", path, Body("\xea\xa3\xa3"));  // U+A8E3 alone
    EXPECT_EQ(st, 422) << path << ": " << j.dump();
    EXPECT_EQ(Code(j), 42201) << path;
  }
}

// Issue 17: a `_schemas` topic shared with Confluent's registry holds PROTOBUF and JSON
// schemas; folding one in left a null entry under its id, and GET /schemas/ids/{id} crashed.
// They are kept opaque and served as Confluent serves them.
TEST_F(RegistryTest, SchemasOfOtherTypesFromTheLogAreServedAsStored) {
  auto memory = NewMemoryLog();
  SchemaLog* log = memory.get();  // owned by the registry; appends apply synchronously
  StartWith(std::move(memory));
  auto record = [&](const std::string& subject, int version, int id, const Json& extra) {
    Json v{{"subject", subject}, {"version", version}, {"id", id}, {"deleted", false}};
    v.update(extra);
    Json k{{"keytype", "SCHEMA"}, {"subject", subject}, {"version", version}, {"magic", 1}};
    ASSERT_TRUE(log->Append(k.dump(), v.dump()).ok());
  };
  const std::string proto = "syntax = \"proto3\";\nmessage M { string a = 1; }\n";
  const Json refs = Json::parse(R"([{"name":"a.json","subject":"a","version":1}])");
  record("proto-value", 1, 7, {{"schemaType", "PROTOBUF"}, {"schema", proto}});
  record("json-value", 1, 8,
         {{"schemaType", "JSON"}, {"schema", R"({"type":"object"})"}, {"references", refs}});
  record("avro-refs-value", 1, 9, {{"schema", R"("a.Other")"}, {"references", refs}});
  record("broken-value", 1, 10, {{"schema", "not a schema"}});

  auto [st, by_id] = Do("GET", "/schemas/ids/7");
  EXPECT_EQ(st, 200) << by_id.dump();
  EXPECT_EQ(by_id, (Json{{"schema", proto}, {"schemaType", "PROTOBUF"}}));
  EXPECT_EQ(
      Do("GET", "/schemas/ids/8").second,
      (Json{{"schema", R"({"type":"object"})"}, {"schemaType", "JSON"}, {"references", refs}}));
  EXPECT_EQ(Do("GET", "/schemas/ids/9").second,
            (Json{{"schema", R"("a.Other")"}, {"references", refs}}));
  EXPECT_EQ(Do("GET", "/schemas/ids/10").second["schema"], "not a schema");
  EXPECT_EQ(Do("GET", "/schemas/ids/7/versions").second,
            Json::parse(R"([{"subject":"proto-value","version":1}])"));
  auto [st2, latest] = Do("GET", "/subjects/proto-value/versions/latest");
  EXPECT_EQ(st2, 200);
  EXPECT_EQ(latest["id"], 7);
  EXPECT_EQ(latest["schemaType"], "PROTOBUF");
  EXPECT_EQ(latest["schema"], proto);
  auto raw = http_->Get("/subjects/proto-value/versions/1/schema");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->body, proto);
  EXPECT_EQ((std::map<std::string, int>{{"AVRO", 2}, {"JSON", 1}, {"PROTOBUF", 1}}),
            registry_->OpaqueSchemas());
  // Records this registry did not write, of the wrong types or out of range, are skipped
  // (found by fuzz/registry_fuzz.cc: a float id was undefined behaviour, and a string id or
  // a numeric schemaType threw on the Kafka log's thread).
  const Json k{{"keytype", "SCHEMA"}, {"subject", "odd-value"}, {"version", 1}, {"magic", 1}};
  for (const Json& v :
       {Json{{"id", 3.3e56}, {"schema", "\"int\""}}, Json{{"id", "11"}, {"schema", "\"int\""}},
        Json{{"id", int64_t{1} << 40}, {"schema", "\"int\""}},
        Json{{"id", 11}, {"schema", "\"int\""}, {"schemaType", 1}},
        Json{{"id", 11}, {"schema", "\"int\""}, {"deleted", "no"}}}) {
    ASSERT_TRUE(log->Append(k.dump(), v.dump()).ok()) << v.dump();
  }
  Json bad_version = k;
  bad_version["version"] = -1;
  ASSERT_TRUE(log->Append(bad_version.dump(), R"({"id":11,"schema":"\"int\""})").ok());
  ASSERT_TRUE(log->Append(R"({"keytype":"CONFIG","subject":5,"magic":0})",
                          R"({"compatibilityLevel":"NONE"})")
                  .ok());
  EXPECT_EQ(Do("GET", "/subjects/odd-value/versions").first, 404);
  EXPECT_EQ(Do("GET", "/schemas/ids/11").first, 404);

  // An Avro schema is never one of them, and not compatible with them (different types).
  EXPECT_EQ(Code(Do("POST", "/subjects/proto-value", Body(kV1)).second), 40403);
  EXPECT_EQ(Do("POST", "/subjects/proto-value/versions", Body(kV1)).first, 409);
  EXPECT_EQ(Do("POST", "/compatibility/subjects/proto-value/versions/latest", Body(kV1))
                .second["is_compatible"],
            false);
  // With NONE it is registered after them: a new id and version, none of theirs reused.
  Do("PUT", "/config/proto-value", R"({"compatibility":"NONE"})");
  EXPECT_EQ(Do("POST", "/subjects/proto-value/versions", Body(kV1)).second["id"], 11);
  EXPECT_EQ(Do("GET", "/subjects/proto-value/versions").second, Json::array({1, 2}));
  // A soft delete rewrites the record with its type and references, as Confluent reads it.
  EXPECT_EQ(Do("DELETE", "/subjects/json-value/versions/1").first, 200);
  EXPECT_EQ(Do("GET", "/schemas/ids/8").second["schemaType"], "JSON");
  EXPECT_EQ(Do("GET", "/schemas/ids/8").second["references"], refs);
}

TEST_F(RegistryTest, ConfigAndCompatibility) {
  EXPECT_EQ(Do("GET", "/config").second["compatibilityLevel"], "BACKWARD");
  Do("POST", "/subjects/tx-value/versions", Body(kV1));
  auto compat = [&](const std::string& schema) {
    return Do("POST", "/compatibility/subjects/tx-value/versions/latest", Body(schema))
        .second["is_compatible"];
  };
  EXPECT_EQ(compat(kV2), true);
  EXPECT_EQ(compat(kV3NoDefault), false);
  // NONE for the subject: anything goes; the global level is unchanged.
  EXPECT_EQ(Do("PUT", "/config/tx-value", R"({"compatibility":"NONE"})").second["compatibility"],
            "NONE");
  EXPECT_EQ(Do("GET", "/config/tx-value").second["compatibilityLevel"], "NONE");
  EXPECT_EQ(Do("GET", "/config").second["compatibilityLevel"], "BACKWARD");
  EXPECT_EQ(compat(kV3NoDefault), true);
  EXPECT_EQ(Do("POST", "/subjects/tx-value/versions", Body(kV3NoDefault)).first, 200);
  // Back to the global level once the subject's is deleted.
  EXPECT_EQ(Do("DELETE", "/config/tx-value").first, 200);
  EXPECT_EQ(Do("GET", "/config/tx-value?defaultToGlobal=true").second["compatibilityLevel"],
            "BACKWARD");
  EXPECT_EQ(Do("PUT", "/config", R"({"compatibility":"FULL_TRANSITIVE"})").first, 200);
  EXPECT_EQ(Do("GET", "/config").second["compatibilityLevel"], "FULL_TRANSITIVE");
  auto verbose = Do("POST", "/compatibility/subjects/tx-value/versions/1?verbose=true",
                    Body(R"({"type":"record","name":"Tx","fields":[{"name":"id","type":"int"}]})"));
  EXPECT_EQ(verbose.second["is_compatible"], false);
  EXPECT_EQ(verbose.second["messages"].size(), 1u);
}

TEST_F(RegistryTest, SoftDelete) {
  Do("POST", "/subjects/tx-value/versions", Body(kV1));
  const int id2 = Do("POST", "/subjects/tx-value/versions", Body(kV2)).second["id"].get<int>();
  EXPECT_EQ(Do("DELETE", "/subjects/tx-value/versions/2").second, 2);
  EXPECT_EQ(Do("GET", "/subjects/tx-value/versions").second, Json::array({1}));
  EXPECT_EQ(Do("GET", "/subjects/tx-value/versions/2").first, 404);
  // Ids are never reused and still resolve (data written with them must stay readable).
  EXPECT_EQ(Do("GET", "/schemas/ids/" + std::to_string(id2)).first, 200);
  EXPECT_EQ(Do("DELETE", "/subjects/tx-value").second, Json::array({1}));
  EXPECT_EQ(Do("GET", "/subjects").second, Json::array());
  EXPECT_EQ(Do("GET", "/subjects?deleted=true").second, Json::array({"tx-value"}));
  EXPECT_EQ(Do("GET", "/subjects/tx-value/versions").first, 404);
  // Registering again continues the version numbers.
  EXPECT_EQ(Do("POST", "/subjects/tx-value/versions", Body(kV1)).first, 200);
  EXPECT_EQ(Do("GET", "/subjects/tx-value/versions").second, Json::array({3}));
}

TEST_F(RegistryTest, Client) {
  auto c = RegistryClient::Create(Options(Url()));
  ASSERT_TRUE(c.ok()) << c.status().message();
  RegistryClient& client = *c.value();
  const std::string subject = TopicNameStrategy("financial_transactions");
  EXPECT_EQ(subject, "financial_transactions-value");
  auto id = client.Register(subject, kV1);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(client.Register(subject, kV1).value(), id.value());

  // A second client: the first lookup asks the server, the second is answered from the cache.
  auto c2 = RegistryClient::Create(Options(Url())).value();
  auto s = c2->GetSchema(id.value());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(Json::parse(s.value()), Json::parse(kV1));
  const uint64_t before = c2->requests();
  EXPECT_EQ(c2->GetSchema(id.value()).value(), s.value());
  EXPECT_EQ(c2->requests(), before);

  EXPECT_TRUE(client.CheckCompatibility(subject, kV2).value());
  EXPECT_FALSE(client.CheckCompatibility(subject, kV3NoDefault).value());
  auto incompatible = client.Register(subject, kV3NoDefault);
  ASSERT_FALSE(incompatible.ok());
  EXPECT_NE(incompatible.status().message().find("error_code 409"), std::string::npos);
  auto missing = client.GetSchema(12345);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("40403"), std::string::npos);
  auto invalid = client.Register(subject, "{\"type\":\"nope\"}");
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.status().message().find("42201"), std::string::npos);
}

TEST_F(RegistryTest, ClientBasicAuth) {
  StartWith(NewMemoryLog(), "alice:s3cret");
  EXPECT_EQ(Do("GET", "/subjects").first, 401);
  const std::string host = "127.0.0.1:" + std::to_string(server_->port());
  auto in_url = RegistryClient::Create(Options("http://alice:s3cret@" + host)).value();
  EXPECT_TRUE(in_url->Register("a-value", kV1).ok());
  auto by_option = RegistryClient::Create(Options("http://" + host, "alice:s3cret")).value();
  EXPECT_TRUE(by_option->Register("a-value", kV1).ok());
  auto wrong = RegistryClient::Create(Options("http://alice:wrong@" + host)).value();
  auto r = wrong->Register("a-value", kV1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("401"), std::string::npos);
  EXPECT_FALSE(RegistryClient::Create(Options("ftp://x")).ok());
}

TEST_F(RegistryTest, ClientReportsUnreachableServer) {
  const int port = server_->port();
  server_->Stop();
  auto c = RegistryClient::Create(Options("http://127.0.0.1:" + std::to_string(port))).value();
  auto r = c->Register("a-value", kV1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("schema registry"), std::string::npos);
}

TEST_F(RegistryTest, FileStoreSurvivesARestart) {
  const std::string path =
      ::testing::TempDir() + "/spate-registry-" + std::to_string(::getpid()) + ".jsonl";
  std::filesystem::remove(path);
  StartWith(NewFileLog(path));
  const int id1 = Do("POST", "/subjects/tx-value/versions", Body(kV1)).second["id"].get<int>();
  const int id2 = Do("POST", "/subjects/tx-value/versions", Body(kV2)).second["id"].get<int>();
  Do("PUT", "/config/tx-value", R"({"compatibility":"FULL"})");
  Do("DELETE", "/subjects/tx-value/versions/1");
  // A torn last line, as a crash in the middle of a write leaves it, is ignored.
  std::FILE* f = std::fopen(path.c_str(), "a");
  std::fputs("{\"key\":\"{\\\"keyty", f);
  std::fclose(f);

  StartWith(NewFileLog(path));  // a new process, as far as the registry can tell
  EXPECT_EQ(Do("GET", "/subjects/tx-value/versions").second, Json::array({2}));
  EXPECT_EQ(Do("GET", "/subjects/tx-value/versions/latest").second["id"], id2);
  EXPECT_EQ(Do("GET", "/schemas/ids/" + std::to_string(id1)).first, 200);
  EXPECT_EQ(Do("GET", "/config/tx-value").second["compatibilityLevel"], "FULL");
  // New ids continue after the largest one stored.
  const std::string v4 =
      R"({"type":"record","name":"Tx","fields":[{"name":"id","type":"string"},)"
      R"({"name":"amount","type":"long","default":0},{"name":"n","type":"int","default":1}]})";
  EXPECT_EQ(Do("POST", "/subjects/tx-value/versions", Body(v4)).second["id"], id2 + 1);
  server_.reset();
  registry_.reset();
  std::filesystem::remove(path);
}

TEST(RegistryServerTest, PortInUseIsAClearError) {
  auto r = Registry::Open(NewMemoryLog());
  ASSERT_TRUE(r.ok());
  auto first = RegistryServer::Start(r.value().get(), "127.0.0.1:0");
  ASSERT_TRUE(first.ok());
  auto second =
      RegistryServer::Start(r.value().get(), "127.0.0.1:" + std::to_string(first.value()->port()));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("cannot listen"), std::string::npos);
  EXPECT_FALSE(RegistryServer::Start(r.value().get(), "nocolon").ok());
}

}  // namespace
}  // namespace spate::registry
