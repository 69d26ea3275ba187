#pragma once
// HTTP to Elasticsearch / OpenSearch over libcurl: blocking calls for start-up (health check,
// index template) and several `_bulk` requests in flight at once.
//
// One libcurl multi handle, driven from the sink's thread: Poll() advances every transfer and
// returns the finished ones. That gives N requests in flight without worker threads, so the
// requests, their results, the Kafka consumer and the offsets it commits all live on one
// thread with no locks; connections are kept alive and reused by the multi handle. Not
// thread-safe: call every method from one thread.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace spate::es {

struct HttpOptions {
  std::string url;             // http(s)://host:port[/prefix], no trailing slash needed
  std::string user, password;  // basic auth (also taken from the URL's userinfo)
  std::string api_key;         // "Authorization: ApiKey <base64 id:key>" (as Kibana gives it)
  std::string ca_file;         // PEM bundle to verify the server with
  std::string client_cert, client_key;  // PEM, for mutual TLS
  bool insecure = false;                // do not verify the server's certificate (tests only)
  int64_t timeout_ms = 60'000;          // a request that takes longer counts as failed (retried)
  int64_t connect_timeout_ms = 5'000;
};

struct HttpResponse {
  uint64_t tag = 0;
  long status = 0;         // 0 when the transfer failed (see error)
  std::string error;       // libcurl's words when status is 0
  bool timed_out = false;  // the transfer failed by timeout
  std::string body;
  double seconds = 0;  // total time of the transfer
  // The request's body, handed back: a request retried as a whole is sent again as it was.
  std::string request_body;
};

class HttpClient {
 public:
  static Result<std::unique_ptr<HttpClient>> Create(const HttpOptions& o);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // A blocking request; method "GET", "PUT", "POST", "HEAD". path starts with '/'.
  HttpResponse Request(const std::string& method, const std::string& path,
                       const std::string& body = "");

  // Starts an asynchronous POST of an NDJSON body (a `_bulk` request); its response comes back
  // from Poll() with the same tag. The body is owned by the client until then.
  void StartBulk(uint64_t tag, const std::string& path, std::string body);
  // Runs the transfers for up to timeout_ms (returns earlier when one finishes) and appends
  // the finished ones to done. With none running it just waits timeout_ms.
  void Poll(int timeout_ms, std::vector<HttpResponse>* done);
  size_t inflight() const;

  const std::string& base_url() const;

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace spate::es
