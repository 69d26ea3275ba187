// SchemaResolver and the registry decoder against a real RegistryServer on an ephemeral port:
// every verdict, the caches, and a registry that goes away (no verdict, no dead letter).

#include "registry/client/schema_resolver.h"

#include <gtest/gtest.h>

#include "core/codec_testing.h"
#include "registry/server/registry.h"
#include "registry/server/server.h"
#include "registry/server/store.h"

namespace spate::registry {
namespace {

const std::string kOther =
    R"({"type":"record","name":"Other","namespace":"test","fields":[{"name":"x","type":"long"}]})";

class SchemaResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::move(Registry::Open(NewMemoryLog())).value();
    server_ = std::move(RegistryServer::Start(registry_.get(), "127.0.0.1:0")).value();
  }
  ResolverOptions Options(const std::string& subject, bool reg) {
    ResolverOptions o;
    o.client.url = "http://127.0.0.1:" + std::to_string(server_->port());
    o.subject = subject;
    o.register_schema = reg;
    o.attempts = 2;
    o.request_timeout_ms = 1000;
    return o;
  }
  int Register(const std::string& subject, const std::string& schema) {
    auto c = RegistryClient::Create(Options("", false).client).value();
    return c->Register(subject, schema).value();
  }
  static std::string Frame(uint32_t id, const Transaction& tx) {
    std::string out;
    EncodeAvro(tx, id, &out);
    return out;
  }

  std::unique_ptr<Registry> registry_;
  std::unique_ptr<RegistryServer> server_;
};

TEST_F(SchemaResolverTest, RegistersTheTransactionSchemaOrFindsIt) {
  auto none = SchemaResolver::Create(Options("tx-value", false));
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ(none.value()->transaction_id(), 0u);  // not registered, not allowed to
  auto r = SchemaResolver::Create(Options("tx-value", true));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const uint32_t id = r.value()->transaction_id();
  EXPECT_GT(id, 0u);
  auto again = SchemaResolver::Create(Options("tx-value", false)).value();
  EXPECT_EQ(again->transaction_id(), id);  // looked up, not registered again
}

TEST_F(SchemaResolverTest, EveryVerdict) {
  auto resolver = SchemaResolver::Create(Options("tx-value", true)).value();
  const uint32_t tx_id = resolver->transaction_id();
  // The same schema reformatted and with other docs, under another subject: another text,
  // the same encoding.
  std::string same(TransactionAvsc());
  same.replace(same.find("One financial"), 3, "A");
  const int same_id = Register("elsewhere-value", same);
  ASSERT_NE(static_cast<uint32_t>(same_id), tx_id);
  // A new version of the record: a field added with a default. Not the pipeline's record.
  std::string v2(TransactionAvsc());
  v2.replace(v2.rfind("]"), 1, R"(,{"name":"note","type":"string","default":""}])");
  const int v2_id = Register("v2-value", v2);
  const int other_id = Register("other-value", kOther);

  auto decoder = NewRegistryDecoder(resolver);
  const TransactionData data = spate::test::SampleTransaction();
  const Transaction tx = data.View();
  Transaction got;
  std::string reason;
  // A decoded record's strings point into its frame: each frame is kept while it is compared.
  const std::string tx_frame = Frame(tx_id, tx),
                    same_frame = Frame(static_cast<uint32_t>(same_id), tx);
  EXPECT_EQ(decoder->Decode(tx_frame, 0, &got, &reason), DecodeError::kNone) << reason;
  EXPECT_EQ(got, tx);
  EXPECT_EQ(decoder->Decode(same_frame, 0, &got, &reason), DecodeError::kNone) << reason;
  EXPECT_EQ(got, tx);
  EXPECT_EQ(decoder->Decode(Frame(static_cast<uint32_t>(v2_id), tx), 0, &got, &reason),
            DecodeError::kSchemaMismatch);
  EXPECT_NE(reason.find("a different version of dev.spate.Transaction"), std::string::npos)
      << reason;
  EXPECT_EQ(decoder->Decode(Frame(static_cast<uint32_t>(other_id), tx), 0, &got, &reason),
            DecodeError::kSchemaMismatch);
  EXPECT_NE(reason.find("test.Other, not dev.spate.Transaction"), std::string::npos) << reason;
  EXPECT_EQ(decoder->Decode(Frame(4242, tx), 0, &got, &reason), DecodeError::kUnknownSchema);
  EXPECT_NE(reason.find("schema id 4242 is not registered"), std::string::npos) << reason;
  std::string garbage = Frame(tx_id, tx).substr(0, 5) + "\xff\xff";
  EXPECT_EQ(decoder->Decode(garbage, 0, &got, &reason), DecodeError::kBadAvro);
  EXPECT_EQ(decoder->Decode(R"({"a":1})", 0, &got, &reason), DecodeError::kBadAvro);

  // The first version of the schema: its frames decode too, into the same record.
  const int v1_id = Register("v1-value", std::string(TransactionV1Avsc()));
  const std::string v1_frame = spate::test::AvroV1Frame(static_cast<uint32_t>(v1_id), data);
  EXPECT_EQ(decoder->Decode(v1_frame, 0, &got, &reason), DecodeError::kNone) << reason;
  EXPECT_EQ(got, tx);

  // Every answer is cached (the unknown id for the negative TTL): no further requests.
  const uint64_t before = resolver->requests();
  for (uint32_t id : {tx_id, static_cast<uint32_t>(same_id), static_cast<uint32_t>(v2_id),
                      static_cast<uint32_t>(other_id), 4242u}) {
    decoder->Decode(Frame(id, tx), 0, &got, &reason);
  }
  EXPECT_EQ(resolver->requests(), before);
}

TEST_F(SchemaResolverTest, UnknownIdsAreForgottenAfterTheTtl) {
  ResolverOptions o = Options("", false);
  o.negative_ttl_ms = 0;
  auto resolver = SchemaResolver::Create(o).value();
  EXPECT_EQ(resolver->Resolve(1).kind, SchemaResolver::Kind::kUnknown);
  const int id = Register("tx-value", std::string(TransactionAvsc()));
  EXPECT_EQ(resolver->Resolve(static_cast<uint32_t>(id)).kind, SchemaResolver::Kind::kTransaction);
}

TEST_F(SchemaResolverTest, AnUnreachableRegistryIsNoVerdict) {
  auto resolver = SchemaResolver::Create(Options("tx-value", true)).value();
  const int other_id = Register("other-value", kOther);
  server_->Stop();
  auto decoder = NewRegistryDecoder(resolver);
  Transaction got;
  std::string reason;
  // The expected id needs no request; a new one cannot be answered: no dead letter.
  const TransactionData data = spate::test::SampleTransaction();
  EXPECT_EQ(decoder->Decode(Frame(resolver->transaction_id(), data.View()), 0, &got, &reason),
            DecodeError::kNone);
  EXPECT_EQ(decoder->Decode(Frame(static_cast<uint32_t>(other_id), data.View()), 0, &got, &reason),
            DecodeError::kSchemaUnavailable);
  EXPECT_NE(reason.find("after 2 attempts"), std::string::npos) << reason;
  EXPECT_FALSE(IsDeadLetter(DecodeError::kSchemaUnavailable));
  // And a registry that is not there at start-up is a start-up error.
  EXPECT_FALSE(SchemaResolver::Create(Options("tx-value", true)).ok());
}

}  // namespace
}  // namespace spate::registry
