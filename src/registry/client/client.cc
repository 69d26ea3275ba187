#include "registry/client/client.h"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "core/redact.h"

namespace spate::registry {

using Json = nlohmann::json;

namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

size_t OnBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string Unescape(const std::string& s) {
  int n = 0;
  char* raw = curl_easy_unescape(nullptr, s.c_str(), static_cast<int>(s.size()), &n);
  std::string out = raw ? std::string(raw, static_cast<size_t>(n)) : s;
  curl_free(raw);
  return out;
}

std::string Escape(const std::string& s) {
  char* raw = curl_easy_escape(nullptr, s.c_str(), static_cast<int>(s.size()));
  std::string out = raw ? raw : s;
  curl_free(raw);
  return out;
}

// "HTTP 404 (error_code 40401): Subject 'x' not found."
Status RegistryError(long status, const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  std::string msg = "schema registry: HTTP " + std::to_string(status);
  if (j.is_object() && j.contains("error_code")) {
    msg += " (error_code " + j["error_code"].dump() + ")";
  }
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    msg += ": " + j["message"].get<std::string>();
  }
  return Status::Error(msg);
}

// The registry's error_code in a reply body, 0 when there is none.
int ErrorCode(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("error_code") || !j["error_code"].is_number_integer()) return 0;
  return j["error_code"].get<int>();
}

std::string SchemaBody(const std::string& schema) { return Json{{"schema", schema}}.dump(); }

}  // namespace

std::string TopicNameStrategy(std::string_view topic, bool key) {
  return std::string(topic) + (key ? "-key" : "-value");
}

Result<std::unique_ptr<RegistryClient>> RegistryClient::Create(const ClientOptions& options) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<RegistryClient> c(new RegistryClient());
  const std::string& url = options.url;
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos ||
      (url.compare(0, scheme, "http") != 0 && url.compare(0, scheme, "https") != 0)) {
    return Status::Error("schema registry URL: expected http://host:port (got '" + RedactUrl(url) +
                         "')");
  }
  const size_t host_start = scheme + 3;
  size_t host_end = url.find('/', host_start);
  if (host_end == std::string::npos) host_end = url.size();
  std::string authority = url.substr(host_start, host_end - host_start);
  const size_t at = authority.rfind('@');
  if (at != std::string::npos) {  // userinfo: user[:password]
    const std::string info = authority.substr(0, at);
    const size_t colon = info.find(':');
    c->user_ = Unescape(info.substr(0, colon));
    if (colon != std::string::npos) c->password_ = Unescape(info.substr(colon + 1));
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) {
    return Status::Error("schema registry URL: no host (got '" + RedactUrl(url) + "')");
  }
  if (!options.basic_auth.empty()) {
    const size_t colon = options.basic_auth.find(':');
    c->user_ = options.basic_auth.substr(0, colon);
    c->password_ = colon == std::string::npos ? "" : options.basic_auth.substr(colon + 1);
  }
  c->base_ = url.substr(0, host_start) + authority + url.substr(host_end);
  while (!c->base_.empty() && c->base_.back() == '/') c->base_.pop_back();
  c->timeout_ms_ = options.timeout_ms;
  return c;
}

Result<RegistryClient::Response> RegistryClient::Call(const char* method, const std::string& path,
                                                      const std::string& body) {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Status::Error("schema registry: cannot create a curl handle");
  std::unique_ptr<curl_slist, SlistDeleter> headers(
      curl_slist_append(nullptr, "Content-Type: application/vnd.schemaregistry.v1+json"));
  headers.reset(curl_slist_append(
      headers.release(),
      "Accept: application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, "
      "application/json"));
  const std::string url = base_ + path;
  Response r;
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  if (std::string_view(method) != "GET") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (!user_.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, user_.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, password_.c_str());
  }
  ++requests_;
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    return Status::Error("schema registry " + RedactUrl(base_) + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

Result<int> RegistryClient::Register(const std::string& subject, const std::string& schema) {
  auto r = Call("POST", "/subjects/" + Escape(subject) + "/versions", SchemaBody(schema));
  if (!r.ok()) return r.status();
  return IdOf(r.value(), "register", schema);
}

// The "id" of a 200 reply to a register or lookup; the schema is then known by that id.
Result<int> RegistryClient::IdOf(const Response& r, const char* what, const std::string& schema) {
  if (r.status != 200) return RegistryError(r.status, r.body);
  Json j = Json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_number_integer()) {
    return Status::Error(std::string("schema registry: ") + what + ": no id in the reply");
  }
  const int id = j["id"].get<int>();
  std::lock_guard<std::mutex> lock(mu_);
  cache_.emplace(id, schema);
  return id;
}

Result<std::optional<int>> RegistryClient::Lookup(const std::string& subject,
                                                  const std::string& schema) {
  auto r = Call("POST", "/subjects/" + Escape(subject), SchemaBody(schema));
  if (!r.ok()) return r.status();
  // 40401 no such subject, 40403 not registered under it. A 404 without those codes is no
  // registry's answer (a wrong URL path): an error, not a verdict.
  if (r.value().status == 404 &&
      (ErrorCode(r.value().body) == 40401 || ErrorCode(r.value().body) == 40403)) {
    return std::optional<int>();
  }
  auto id = IdOf(r.value(), "lookup", schema);
  if (!id.ok()) return id.status();
  return std::optional<int>(id.value());
}

Result<std::string> RegistryClient::GetSchema(int id) {
  auto r = FindSchema(id);
  if (!r.ok()) return r.status();
  if (!r.value()) {
    return Status::Error("schema registry: HTTP 404 (error_code 40403): schema " +
                         std::to_string(id) + " not found");
  }
  return *r.value();
}

Result<std::optional<std::string>> RegistryClient::FindSchema(int id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(id);
    if (it != cache_.end()) return std::optional<std::string>(it->second);
  }
  auto r = Call("GET", "/schemas/ids/" + std::to_string(id), "");
  if (!r.ok()) return r.status();
  if (r.value().status == 404 && ErrorCode(r.value().body) == 40403) {
    return std::optional<std::string>();
  }
  if (r.value().status != 200) return RegistryError(r.value().status, r.value().body);
  Json j = Json::parse(r.value().body, nullptr, false);
  if (!j.is_object() || !j.contains("schema") || !j["schema"].is_string()) {
    return Status::Error("schema registry: schema " + std::to_string(id) + ": no schema in reply");
  }
  std::string schema = j["schema"].get<std::string>();
  std::lock_guard<std::mutex> lock(mu_);
  cache_[id] = schema;
  return std::optional<std::string>(std::move(schema));
}

Result<bool> RegistryClient::CheckCompatibility(const std::string& subject,
                                                const std::string& schema,
                                                const std::string& version) {
  auto r =
      Call("POST", "/compatibility/subjects/" + Escape(subject) + "/versions/" + Escape(version),
           SchemaBody(schema));
  if (!r.ok()) return r.status();
  if (r.value().status != 200) return RegistryError(r.value().status, r.value().body);
  Json j = Json::parse(r.value().body, nullptr, false);
  if (!j.is_object() || !j.contains("is_compatible") || !j["is_compatible"].is_boolean()) {
    return Status::Error("schema registry: compatibility: no is_compatible in the reply");
  }
  return j["is_compatible"].get<bool>();
}

}  // namespace spate::registry
