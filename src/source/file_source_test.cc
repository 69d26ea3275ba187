#include "source/file_source.h"

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "core/partitioner.h"

namespace spate {
namespace {

// A file under /tmp, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& bytes) {
    char name[] = "/tmp/spate-source-test-XXXXXX";
    const int fd = mkstemp(name);
    path_ = name;
    ::close(fd);
    std::ofstream(path_, std::ios::binary) << bytes;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3));
  return out;
}

Result<std::string> ReadAll(const std::string& path) {
  auto r = ByteReader::Open(path);
  if (!r.ok()) return r.status();
  std::string all;
  char buf[1000];  // small reads: many calls, across the decoder's internal boundaries
  for (;;) {
    auto n = r.value()->Read(buf, sizeof(buf));
    if (!n.ok()) return n.status();
    if (n.value() == 0) break;
    all.append(buf, n.value());
  }
  return all;
}

std::string Lines(int n) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += "line " + std::to_string(i) + " " + std::string(i % 50, 'x') + "\n";
  return s;
}

TEST(ByteReader, ReadsPlainGzipAndZstdAlike) {
  const std::string data = Lines(20'000);
  for (const std::string& bytes :
       {data, Gzip(data), Zstd(data), Gzip(data.substr(0, 1000)) + Gzip(data.substr(1000))}) {
    TempFile f(bytes);
    auto got = ReadAll(f.path());
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(got.value(), data);
  }
  TempFile z(Zstd(data.substr(0, 5000)) + Zstd(data.substr(5000)));  // two frames
  auto got = ReadAll(z.path());
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got.value(), data);
  TempFile empty("");
  got = ReadAll(empty.path());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.value(), "");
}

TEST(ByteReader, TruncatedOrCorruptStreamsAreErrorsNamingTheFile) {
  const std::string data = Lines(20'000);
  const std::string gz = Gzip(data), zs = Zstd(data);
  for (const std::string& bytes : {gz.substr(0, gz.size() / 2), zs.substr(0, zs.size() / 2),
                                   gz.substr(0, 10) + std::string(500, 'z')}) {
    TempFile f(bytes);
    auto got = ReadAll(f.path());
    ASSERT_FALSE(got.ok());
    EXPECT_NE(got.status().message().find(f.path()), std::string::npos) << got.status().message();
  }
  auto missing = ByteReader::Open("/nonexistent/x.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("No such file"), std::string::npos);
}

std::vector<std::unique_ptr<Chunk>> Drain(ChunkSource& s) {
  std::vector<std::unique_ptr<Chunk>> out;
  while (auto c = s.Next()) out.push_back(std::move(c));
  return out;
}

TEST(FileSource, JsonLinesKeyedByTheirUserInBatchesOfChunks) {
  std::string text;
  for (int i = 0; i < 2500; ++i) {
    text += R"({"userId":"u)" + std::to_string(i % 7) + R"(","n":)" + std::to_string(i) + "}\n";
    if (i % 100 == 0) text += "  \r\n";  // blank lines are skipped
  }
  text += R"({"userId":"last","n":2500})";  // no final newline
  TempFile f(Gzip(text));
  SourceOptions o;
  o.input = f.path();
  o.batch_size = 1000;
  o.chunk_size = 300;
  o.partitions = 4;
  auto s = FileSource::Open(o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto chunks = Drain(*s.value());
  ASSERT_TRUE(s.value()->status().ok());
  uint64_t seq = 0, batches_ended = 0;
  for (const auto& c : chunks) {
    EXPECT_EQ(c->first_seq, seq);
    EXPECT_EQ(c->batch, c->first_seq / 1000);
    EXPECT_EQ(c->first_seq / 1000, (c->first_seq + c->size() - 1) / 1000);
    EXPECT_LE(c->size(), 300u);
    for (size_t i = 0; i < c->size(); ++i, ++seq) {
      const std::string n = std::to_string(seq);
      EXPECT_NE(c->payload(i).find("\"n\":" + n + "}"), std::string::npos) << c->payload(i);
      const std::string user = seq == 2500 ? "last" : "u" + std::to_string(seq % 7);
      EXPECT_EQ(c->key(i), user);
      EXPECT_EQ(c->partition[i], PartitionForKey(user, 4));
    }
    batches_ended += c->last_in_batch;
  }
  EXPECT_EQ(seq, 2501u);
  EXPECT_EQ(batches_ended, 3u);
  EXPECT_TRUE(chunks.back()->last_in_batch);
  EXPECT_EQ(s.value()->blank_lines(), 25u);
  EXPECT_EQ(s.value()->released(), 2501u);
}

// A file cut short while it is read (log rotation by copytruncate) ends the input where it
// now ends: no crash, every record read before the cut is there. (A mapped file would end the
// process with SIGBUS here: why plain files are read, not mapped.)
TEST(FileSource, AFileTruncatedWhileReadEndsWhereItNowEnds) {
  std::string text;
  for (int i = 0; i < 200'000; ++i) text += R"({"userId":"u","n":)" + std::to_string(i) + "}\n";
  TempFile f(text);
  SourceOptions o;
  o.input = f.path();
  o.batch_size = 1000;
  o.chunk_size = 1000;
  auto s = FileSource::Open(o);
  ASSERT_TRUE(s.ok());
  auto first = s.value()->Next();  // the reader is under way, its queue bounded
  ASSERT_TRUE(first);
  ASSERT_EQ(truncate(f.path().c_str(), static_cast<off_t>(text.size() / 2)), 0);
  uint64_t seq = first->first_seq + first->size();
  for (auto c = s.value()->Next(); c; c = s.value()->Next()) {
    EXPECT_EQ(c->first_seq, seq);
    seq += c->size();
  }
  EXPECT_TRUE(s.value()->status().ok()) << s.value()->status().message();
  EXPECT_GT(seq, 1000u);
  EXPECT_LE(seq, 200'000u);
}

TEST(FileSource, RecordsWithoutAReadableKeyGoRoundRobin) {
  TempFile f("not json\n{\"userId\":7}\n{\"merchantId\":\"m\"}\n");
  SourceOptions o;
  o.input = f.path();
  o.partitions = 3;
  auto s = FileSource::Open(o);
  ASSERT_TRUE(s.ok());
  auto chunks = Drain(*s.value());
  ASSERT_EQ(chunks.size(), 1u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(chunks[0]->key(i), "");
    EXPECT_EQ(chunks[0]->partition[i], i % 3);
  }
}

TEST(FileSource, LengthPrefixedRecordsAndTheirErrors) {
  TransactionData t;
  t.transaction_id = "t1";
  t.user = "alice";
  t.merchant = "m";
  t.location = "l";
  t.type = "purchase";
  t.payment_method = "card";
  t.amount = 1234;
  t.time_ms = 1'767'225'600'000;
  t.currency = *ParseCurrency("USD");
  std::string rec;
  EncodeBinary(t.View(), &rec);
  auto frame = [](const std::string& r) {
    std::string f = {static_cast<char>(r.size() >> 24), static_cast<char>(r.size() >> 16),
                     static_cast<char>(r.size() >> 8), static_cast<char>(r.size())};
    return f + r;
  };
  SourceOptions o;
  o.wire = WireSpec(WireFormat::kBinary);
  o.partitions = 5;
  {
    TempFile f(Zstd(frame(rec) + frame(rec) + frame("junk")));
    o.input = f.path();
    auto s = FileSource::Open(o);
    ASSERT_TRUE(s.ok());
    auto chunks = Drain(*s.value());
    ASSERT_TRUE(s.value()->status().ok()) << s.value()->status().message();
    ASSERT_EQ(chunks.size(), 1u);
    ASSERT_EQ(chunks[0]->size(), 3u);
    EXPECT_EQ(chunks[0]->payload(1), rec);
    EXPECT_EQ(chunks[0]->key(1), "alice");
    EXPECT_EQ(chunks[0]->partition[1], PartitionForKey("alice", 5));
    EXPECT_EQ(chunks[0]->payload(2), "junk");  // a dead letter later, with no key
    EXPECT_EQ(chunks[0]->key(2), "");
  }
  {
    TempFile f(frame(rec) + frame(rec).substr(0, 10));  // the last record cut short
    o.input = f.path();
    auto s = FileSource::Open(o);
    ASSERT_TRUE(s.ok());
    auto chunks = Drain(*s.value());
    ASSERT_TRUE(s.value()->status().ok());
    ASSERT_EQ(chunks[0]->size(), 2u);  // what there is of it: a record, then a dead letter
    EXPECT_EQ(chunks[0]->payload(1), rec.substr(0, 6));
    Transaction tx;
    std::string reason;
    EXPECT_EQ(
        NewDecoder(o.wire)->Decode(chunks[0]->payload(1), chunks[0]->readable(1), &tx, &reason),
        DecodeError::kBadBinary);
  }
  {
    TempFile f(R"({"userId":"a"})"
               "\n");  // JSON read as binary: an absurd length
    o.input = f.path();
    auto s = FileSource::Open(o);
    ASSERT_TRUE(s.ok());
    Drain(*s.value());
    ASSERT_FALSE(s.value()->status().ok());
    EXPECT_NE(s.value()->status().message().find("--format binary"), std::string::npos)
        << s.value()->status().message();
  }
}

}  // namespace
}  // namespace spate
