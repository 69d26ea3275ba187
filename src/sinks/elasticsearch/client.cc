#include "sinks/elasticsearch/client.h"

#include <map>
#include <mutex>

#include <curl/curl.h>

#include "core/redact.h"

namespace spate::es {
namespace {

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using ListPtr = std::unique_ptr<curl_slist, ListDeleter>;

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One request: the easy handle and what it points to, alive until the transfer ends.
struct Transfer {
  uint64_t tag = 0;
  EasyPtr easy;
  ListPtr headers;
  std::string body;
  HttpResponse response;
};

}  // namespace

struct HttpClient::Impl {
  HttpOptions o;
  std::string base;  // url without a trailing slash
  CURLM* multi = nullptr;
  std::map<CURL*, std::unique_ptr<Transfer>> running;

  ~Impl() {
    for (auto& [easy, t] : running) curl_multi_remove_handle(multi, easy);
    running.clear();
    if (multi) curl_multi_cleanup(multi);
  }

  std::unique_ptr<Transfer> Prepare(uint64_t tag, const std::string& method,
                                    const std::string& path, std::string body,
                                    const char* content_type) {
    auto t = std::make_unique<Transfer>();
    t->tag = tag;
    t->body = std::move(body);
    t->easy.reset(curl_easy_init());
    CURL* c = t->easy.get();
    std::string url = base + path;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_ms));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout_ms));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t->response.body);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    if (!o.user.empty()) {
      curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(c, CURLOPT_USERNAME, o.user.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, o.password.c_str());
    }
    if (!o.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
    if (!o.client_cert.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, o.client_cert.c_str());
    if (!o.client_key.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, o.client_key.c_str());
    if (o.insecure) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_slist* h = nullptr;
    h = curl_slist_append(h, (std::string("Content-Type: ") + content_type).c_str());
    h = curl_slist_append(h, "Expect:");  // no 100-continue round trip before large bodies
    if (!o.api_key.empty())
      h = curl_slist_append(h, ("Authorization: ApiKey " + o.api_key).c_str());
    t->headers.reset(h);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (method != "GET" || !t->body.empty()) {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
    }
    return t;
  }

  static void Finish(Transfer* t, CURLcode rc) {
    CURL* c = t->easy.get();
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &t->response.seconds);
    t->response.tag = t->tag;
    if (rc != CURLE_OK) {
      t->response.status = 0;
      t->response.error = curl_easy_strerror(rc);
      t->response.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    } else {
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t->response.status);
    }
  }
};

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const HttpOptions& o) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto impl = std::make_unique<Impl>();
  impl->o = o;
  // userinfo in the URL (http://user:password@host:9200) becomes basic auth.
  std::string url = o.url;
  size_t scheme = url.find("://");
  if (scheme == std::string::npos ||
      (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)) {
    return Status::Error("--es: expected http://host:port or https://host:port (got '" +
                         RedactUrl(o.url) + "')");
  }
  size_t host = scheme + 3;
  size_t at = url.find('@', host);
  size_t slash = url.find('/', host);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    std::string info = url.substr(host, at - host);
    size_t colon = info.find(':');
    if (impl->o.user.empty()) {
      impl->o.user = info.substr(0, colon);
      impl->o.password = colon == std::string::npos ? "" : info.substr(colon + 1);
    }
    url.erase(host, at - host + 1);
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  impl->base = url;
  impl->multi = curl_multi_init();
  // Keep-alive connections for every in-flight request, each used by one request at a time
  // (no HTTP/1.1 pipelining, which Elasticsearch does not promise to support).
  curl_multi_setopt(impl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

const std::string& HttpClient::base_url() const { return impl_->base; }

HttpResponse HttpClient::Request(const std::string& method, const std::string& path,
                                 const std::string& body) {
  auto t = impl_->Prepare(0, method, path, body, "application/json");
  CURLcode rc = curl_easy_perform(t->easy.get());
  Impl::Finish(t.get(), rc);
  return std::move(t->response);
}

void HttpClient::StartBulk(uint64_t tag, const std::string& path, std::string body) {
  auto t = impl_->Prepare(tag, "POST", path, std::move(body), "application/x-ndjson");
  CURL* easy = t->easy.get();
  curl_multi_add_handle(impl_->multi, easy);
  impl_->running.emplace(easy, std::move(t));
}

void HttpClient::Poll(int timeout_ms, std::vector<HttpResponse>* done) {
  int still = 0;
  curl_multi_perform(impl_->multi, &still);
  if (timeout_ms > 0) {
    // curl_multi_poll, unlike curl_multi_wait, waits the timeout even without transfers.
    curl_multi_poll(impl_->multi, nullptr, 0, timeout_ms, nullptr);
    curl_multi_perform(impl_->multi, &still);
  }
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(impl_->multi, &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    auto it = impl_->running.find(m->easy_handle);
    if (it == impl_->running.end()) continue;
    Impl::Finish(it->second.get(), m->data.result);
    curl_multi_remove_handle(impl_->multi, m->easy_handle);
    done->push_back(std::move(it->second->response));
    done->back().request_body = std::move(it->second->body);
    impl_->running.erase(it);
  }
}

size_t HttpClient::inflight() const { return impl_->running.size(); }

}  // namespace spate::es
