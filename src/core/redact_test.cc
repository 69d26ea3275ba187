#include "core/redact.h"

#include <gtest/gtest.h>

namespace spate {
namespace {

TEST(RedactUrl, HidesThePasswordKeepsTheRest) {
  EXPECT_EQ(RedactUrl("http://alice:s3cret@registry:8081/prefix"),
            "http://alice:***@registry:8081/prefix");
  EXPECT_EQ(RedactUrl("https://elastic:s3cret@127.0.0.1:9200"),
            "https://elastic:***@127.0.0.1:9200");
  EXPECT_EQ(RedactUrl("http://alice:@host"), "http://alice:***@host");
  // A user alone may be a token.
  EXPECT_EQ(RedactUrl("https://t0ken@host"), "https://***@host");
  // Without userinfo: unchanged.
  EXPECT_EQ(RedactUrl("http://registry:8081"), "http://registry:8081");
  EXPECT_EQ(RedactUrl(""), "");
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
}

TEST(RedactUrl, HidesPasswordsInTextThatIsNoURL) {
  // What a failed parse echoes: no scheme, a mistyped one, unescaped '@' '/' '#' in the
  // password. The sentinel must not survive any of them.
  for (const char* text :
       {"alice:s3cret@host:9200", "htp//alice:s3cret@host", "http:/alice:s3cret@host",
        "ftp://alice:s3cret@host", "http://alice:s3@cret@host", "http://alice:s3/cret@host/x",
        "http://alice:s3#cret@host", "http://alice:s3?cret@host", "http://s3cret@host"}) {
    const std::string r = RedactUrl(text);
    EXPECT_EQ(r.find("s3"), std::string::npos) << text << " -> " << r;
    EXPECT_EQ(r.find("cret"), std::string::npos) << text << " -> " << r;
    EXPECT_NE(r.find("***@"), std::string::npos) << text << " -> " << r;
  }
  EXPECT_EQ(RedactUrl("alice:s3cret@host:9200"), "alice:***@host:9200");
  // An '@' after the host hides more than the password, never less.
  EXPECT_EQ(RedactUrl("http://host/search?who=a@b"), "http://***@b");
}

}  // namespace
}  // namespace spate
