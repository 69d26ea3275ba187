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
#include "registry/server/connections_testing.h"
#include "registry/server/routes.h"
#include "registry/server/server.h"
#include "registry/server/store.h"

namespace spate::registry {
namespace {

using Json = nlohmann::json;

const std::string kV1 = R"({"type":"record","name":"Tx","fields":[{"name":"id","type":"string"}]})";
const std::string kV2 =  // adds a field with a default: backward compatible
    R"({"type":"record","name":"Tx","fields":[{"name":"id","type":"string"},)"
    R"({"name":"amount","type":"long","default":0}]})";
const std::string kV3NoDefault =  // adds a field without a default: not backward compatible
    R"({"type":"record","name":"Tx","fields":[{"name":"id","type":"string"},)"
    R"({"name":"amount","type":"long","default":0},{"name":"cur","type":"string"}]})";

std::string Body(const std::string& schema) { return Json{{"schema", schema}}.dump(); }

ClientOptions Options(const std::string& url, const std::string& basic_auth = "") {
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

// Issue 17: the server ran with none of its HTTP library's limits.
TEST_F(RegistryTest, HttpLimits) {
  const char* ct = "application/vnd.schemaregistry.v1+json";
  // A body over 16 MiB: 413 in Confluent's error shape, read and dropped, never stored.
  auto big = http_->Post("/subjects/big-value/versions", std::string((16 << 20) + 1, ' '), ct);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(Code(Json::parse(big->body, nullptr, false)), 413) << big->body;
  EXPECT_EQ(Do("POST", "/subjects/tx-value/versions", Body(kV1)).first, 200);
  // A chunked body is held up to the same limit: one that fits is served, the rest of a larger
  // one is dropped as it comes (413).
  auto chunked = [&](size_t size) {
    const std::string body = size == 0 ? Body(kV2) : std::string(size, ' ');
    return http_->Post(
        "/subjects/tx-value/versions",
        [&body](size_t offset, httplib::DataSink& sink) {
          const size_t n = std::min<size_t>(body.size() - offset, 1 << 20);
          if (n > 0) return sink.write(body.data() + offset, n);
          sink.done();
          return true;
        },
        ct);
  };
  auto small = chunked(0);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200) << small->body;
  auto large = chunked((16 << 20) + (1 << 20));
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 413);
  EXPECT_EQ(Do("GET", "/subjects/tx-value/versions").second, Json::array({1, 2}));
  // Methods with bodies but no routes: 405, before their bodies.
  auto patch = http_->Patch("/config", R"({"compatibility":"NONE"})", ct);
  ASSERT_TRUE(patch);
  EXPECT_EQ(patch->status, 405);
  EXPECT_EQ(Code(Json::parse(patch->body, nullptr, false)), 405) << patch->body;
  // A route that does not exist reads (and drops) its body within the limit too.
  EXPECT_EQ(Code(Do("POST", "/no/such/route", Body(kV1)).second), 404);
  // A kept connection is told how long it may idle.
  httplib::Client kept("127.0.0.1", server_->port());
  kept.set_keep_alive(true);
  auto r = kept.Get("/subjects");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Keep-Alive"), "timeout=5");
  // Many more clients at once than the server has threads: each is answered.
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 120; ++i) {
    clients.emplace_back([&] {
      httplib::Client c("127.0.0.1", server_->port());
      auto res = c.Get("/subjects");
      if (res && res->status == 200) ++answered;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), 120);
}

// Issue 17: clients that send nothing cost the server no thread. Under cpp-httplib (a thread
// per connection, 32 of them) 32 such clients held every worker for 5 s each, and 2,000 held
// the registry for minutes.
TEST_F(RegistryTest, IdleConnectionsDoNotStopRequests) {
  using namespace std::chrono_literals;
  constexpr int kIdle = 2000;
  // Each connection is two descriptors here: the client's end and the server's, one process.
  const rlim_t files = test::RaiseOpenFileLimit();
  if (files < 2 * kIdle + 256) {
    GTEST_SKIP() << "needs " << 2 * kIdle + 256 << " open files (ulimit -Hn), has " << files;
  }
  // 200 of them stop in the middle of their request line.
  auto idle = test::OpenIdleConnections(server_->port(), kIdle, 200, "GET /subj", 5s);
  EXPECT_EQ(idle.size(), size_t{kIdle}) << "connections made within 5 s";
  const auto start = std::chrono::steady_clock::now();
  const int status = test::GetWithin(server_->port(), "/subjects", 1s);
  EXPECT_EQ(status, 200) << "GET /subjects on a fresh connection, beside " << idle.size()
                         << " idle ones: no answer within 1 s ("
                         << std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count()
                         << " ms)";
  test::CloseAll(&idle);
  // Once they are gone, the server answers again.
  int again = -1;
  for (auto until = std::chrono::steady_clock::now() + 10s;
       again != 200 && std::chrono::steady_clock::now() < until;) {
    again = test::GetWithin(server_->port(), "/subjects", 1s);
  }
  EXPECT_EQ(again, 200) << "after the idle connections closed";
}

// Connections beyond the bound wait in the kernel's listen backlog, unanswered, and are served
// once others close; the server lives on.
TEST_F(RegistryTest, ConnectionsBeyondTheLimitWait) {
  using namespace std::chrono_literals;
  constexpr int kLimit = RegistryServer::kMaxConnections;
  const rlim_t files = test::RaiseOpenFileLimit();
  if (files < 2 * kLimit + 256) {
    GTEST_SKIP() << "needs " << 2 * kLimit + 256 << " open files (ulimit -Hn), has " << files;
  }
  const auto start = std::chrono::steady_clock::now();
  auto held = test::OpenIdleConnections(server_->port(), kLimit, 0, "", 5s);
  ASSERT_EQ(held.size(), size_t{kLimit});
  // The server closes idle connections after 5 s: the check must end before.
  if (std::chrono::steady_clock::now() - start > 3s) GTEST_SKIP() << "too slow to check here";
  EXPECT_EQ(test::GetWithin(server_->port(), "/subjects", 1s), -1) << "served beyond the limit";
  for (int i = 0; i < 10; ++i) {
    test::CloseNow(held.back());
    held.pop_back();
  }
  EXPECT_EQ(test::GetWithin(server_->port(), "/subjects", 2s), 200) << "once others closed";
  test::CloseAll(&held);
  EXPECT_EQ(test::GetWithin(server_->port(), "/subjects", 2s), 200);
}

// Request bodies held at once are bounded (256 MiB) since connections hold no thread: past it a
// request is answered 503, and the room comes back as requests end. A body over 16 MiB from a
// client that waits for "100 Continue" is refused before it is sent.
TEST_F(RegistryTest, BodiesHeldAtOnceAreBounded) {
  using namespace std::chrono_literals;
  const std::string post = "POST /subjects/big-value/versions HTTP/1.1\r\nHost: x\r\n";
  EXPECT_EQ(
      test::StatusWithin(server_->port(),
                         post + "Content-Length: 17000000\r\nExpect: 100-continue\r\n\r\n", 2s),
      413);
  // Sixteen requests of 16 MiB, each one byte short of its end, fill the room.
  const size_t size = size_t{16} << 20;
  const std::string almost =
      post + "Content-Length: " + std::to_string(size) + "\r\n\r\n" + std::string(size - 1, ' ');
  std::vector<int> filling;
  for (int i = 0; i < 16; ++i) {
    const int fd = test::Sent(server_->port(), almost);
    ASSERT_GE(fd, 0);
    filling.push_back(fd);
  }
  const std::string small =
      post + "Content-Length: " + std::to_string(Body(kV1).size()) + "\r\n\r\n" + Body(kV1);
  int status = 0;
  // The last bytes sent may still be on their way to the server: a few tries.
  for (int i = 0; i < 20 && status != 503; ++i, std::this_thread::sleep_for(50ms)) {
    status = test::StatusWithin(server_->port(), small, 2s);
  }
  EXPECT_EQ(status, 503);
  test::CloseAll(&filling);
  status = 0;
  for (int i = 0; i < 20 && status != 200; ++i, std::this_thread::sleep_for(50ms)) {
    status = test::StatusWithin(server_->port(), small, 2s);
  }
  EXPECT_EQ(status, 200) << "once the others ended";
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
