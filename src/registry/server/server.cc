#include "registry/server/server.h"

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/transaction.h"
#include "registry/server/routes.h"

namespace spate::registry {
namespace {

constexpr const char* kContentType = "application/vnd.schemaregistry.v1+json";

// What one client can make the server hold (issue 17). A request body: a schema far beyond any
// real one still fits. A larger one is read and dropped as it comes, never held, and answered
// 413; so is the rest of a chunked one that grows past it.
constexpr size_t kMaxRequestBytes = size_t{16} << 20;
// What all of them together can: the request bodies held at once. Connections hold no thread,
// so thousands of clients could each send 16 MiB at the same time; past this sum a body is
// dropped as it comes and its request answered 503. Sixteen bodies of the largest size, or
// thousands of real ones.
constexpr size_t kMaxHeldBodyBytes = size_t{256} << 20;
// A connection's inactivity: waiting for a request (its first one too), for the next bytes of
// one, or for the client to take the reply. A slow client that keeps sending holds only its
// connection, one of RegistryServer::kMaxConnections.
constexpr unsigned kTimeoutSeconds = 5;
// Each connection's memory for its request line, headers and read buffer (libmicrohttpd's
// default, touched as used): a longer request head is refused by libmicrohttpd (414, 431).
// Bodies are handed over as they come and held apart (kMaxHeldBodyBytes).
constexpr size_t kConnectionMemoryBytes = size_t{32} << 10;
// Connections the kernel has taken and the server not yet: a burst, and those beyond
// kMaxConnections.
constexpr int kListenBacklog = 1024;
// The threads, each with an epoll loop over its share of the connections (at most
// kMaxConnections / kThreads). A request is handled on its connection's thread, and a handler
// may block: a write to a Kafka-backed store waits until the write comes back from Kafka, and
// writes queue behind one another (Registry::write_mu_). Meanwhile that thread's other
// connections wait, and kThreads writes at once would hold every connection; reads are
// answered from memory. Writes are rare (a producer registers its schema once).
constexpr unsigned kThreads = 8;
// How long Stop() waits for the requests in flight.
constexpr auto kStopGrace = std::chrono::seconds(10);

// Requests by method and status, their durations, and the schemas held: counted as each reply
// is queued (Queue), on its connection's thread.
class RequestMetrics {
 public:
  RequestMetrics(prometheus::Registry& metrics, Registry* registry)
      : registry_(registry),
        requests_(prometheus::BuildCounter()
                      .Name("spate_registry_requests_total")
                      .Help("Requests answered by spate registry, by method and status code")
                      .Register(metrics)),
        duration_(prometheus::BuildHistogram()
                      .Name("spate_registry_request_duration_seconds")
                      .Help("Time from a request's headers to its response")
                      .Register(metrics)
                      .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005,
                                                                       0.01, 0.025, 0.05, 0.1, 0.25,
                                                                       0.5, 1, 5})),
        schemas_(prometheus::BuildGauge()
                     .Name("spate_registry_schemas")
                     .Help("Schemas held (by id), whatever their subjects")
                     .Register(metrics)
                     .Add({})) {
    schemas_.Set(static_cast<double>(registry_->SchemaCount()));
  }

  void Count(const std::string& method, int status, double seconds) {
    requests_.Add({{"method", method}, {"code", std::to_string(status)}}).Increment();
    duration_.Observe(seconds);
    schemas_.Set(static_cast<double>(registry_->SchemaCount()));
  }

 private:
  Registry* registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Histogram& duration_;
  prometheus::Gauge& schemas_;
};

// One request, from its headers (the first call of OnRequest) to its completion (OnCompleted).
struct Request {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  ApiRequest api;
  size_t received = 0;  // body bytes, held or dropped
  int refused = 0;      // 413 or 503 once decided: the rest of the body is dropped
};

}  // namespace

// What the callbacks share; they run on the server's threads.
struct ServerState {
  Registry* registry = nullptr;
  std::optional<std::pair<std::string, std::string>> credentials;  // basic auth, if required
  std::unique_ptr<RequestMetrics> metrics;
  std::string tls_cert, tls_key;  // PEM, read from the files (libmicrohttpd reads them at start)
  std::atomic<size_t> held_body_bytes{0};  // all requests together (kMaxHeldBodyBytes)
  std::mutex mu;                           // the three below
  std::condition_variable idle;            // in_flight reached 0
  int in_flight = 0;                       // requests between their headers and completion
  bool stopping = false;
};

namespace {

// A reply. An early one (before the body is read) makes libmicrohttpd close the connection
// after it, since the body would otherwise be read as the next request: said in the header too.
MHD_Result Queue(ServerState* s, MHD_Connection* c, Request* q, int status, const std::string& body,
                 bool close,
                 std::initializer_list<std::pair<const char*, const char*>> headers = {}) {
  static const std::string keep_alive = "timeout=" + std::to_string(kTimeoutSeconds);
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                    MHD_RESPMEM_MUST_COPY);
  if (r == nullptr) return MHD_NO;  // out of memory: libmicrohttpd closes the connection
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, kContentType);
  if (close) {
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
  } else {
    MHD_add_response_header(r, "Keep-Alive", keep_alive.c_str());
  }
  for (const auto& [name, value] : headers) MHD_add_response_header(r, name, value);
  const MHD_Result queued = MHD_queue_response(c, static_cast<unsigned>(status), r);
  MHD_destroy_response(r);
  // Counted once queued rather than once sent: a client that reads the metrics right after its
  // reply finds its request there.
  if (queued == MHD_YES && s->metrics) {
    s->metrics->Count(
        q->api.method, status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - q->start).count());
  }
  return queued;
}

const char* Header(MHD_Connection* c, const char* name) {
  return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

bool Authorized(const ServerState& s, MHD_Connection* c) {
  if (!s.credentials) return true;
  char* password = nullptr;
  char* user = MHD_basic_auth_get_username_password(c, &password);
  const bool ok = user != nullptr && password != nullptr && s.credentials->first == user &&
                  s.credentials->second == password;
  MHD_free(user);
  MHD_free(password);
  return ok;
}

// The query, decoded here: libmicrohttpd is told to decode nothing (KeepEscaped).
MHD_Result AddQueryParameter(void* cls, MHD_ValueKind, const char* key, const char* value) {
  static_cast<ApiRequest*>(cls)->query.emplace(PercentDecode(key),
                                               value == nullptr ? "" : PercentDecode(value));
  return MHD_YES;
}

// libmicrohttpd would %-decode the path into the C string it hands over, where a %00 would cut
// it short ("/subjects/a%00b" read as "/subjects/a"): the path and query are decoded as byte
// strings instead (PercentDecode).
size_t KeepEscaped(void*, MHD_Connection*, char* s) { return std::strlen(s); }

void Release(ServerState* s, Request* q) {
  s->held_body_bytes -= q->api.body.size();
  std::string().swap(q->api.body);
}

// The headers are in: refusals that need no body, before it is read.
MHD_Result Begin(ServerState* s, MHD_Connection* c, Request* q) {
  const std::string& m = q->api.method;
  // Methods without routes (PATCH, PRI ...) and multipart forms, which no route takes.
  const bool known =
      m == "GET" || m == "HEAD" || m == "POST" || m == "PUT" || m == "DELETE" || m == "OPTIONS";
  if (!known) return Queue(s, c, q, 405, ErrorBody(405, "Method " + m + " not allowed"), true);
  const char* type = Header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (type != nullptr && std::string_view(type).starts_with("multipart/form-data")) {
    return Queue(s, c, q, 415, ErrorBody(415, "Multipart bodies are not accepted"), true);
  }
  if (!Authorized(*s, c)) {
    return Queue(s, c, q, 401, ErrorBody(401, "Unauthorized"), true,
                 {{MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"spate registry\""}});
  }
  // Subjects are JSON strings in the replies and the log: invalid UTF-8 is refused here, as
  // Confluent's registry does, instead of failing as a 500.
  if (!IsValidUtf8(q->api.path)) {
    return Queue(s, c, q, 422, ErrorBody(42208, "Invalid subject: the path is not valid UTF-8"),
                 true);
  }
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    stopping = s->stopping;
  }
  if (stopping) return Queue(s, c, q, 503, ErrorBody(503, "The registry is stopping"), true);
  // A stated length over the limit: nothing of the body will be held. A client that waits to be
  // told to send it ("Expect: 100-continue", as curl sends for large bodies) is told no at once;
  // others, which send it anyway, get the reply after it (a reply before the end of what they
  // send would reach them as a reset connection).
  uint64_t length = 0;
  if (const char* stated = Header(c, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
    std::from_chars(stated, stated + std::strlen(stated), length);
  }
  if (length > kMaxRequestBytes) {
    q->refused = 413;
    const char* expect = Header(c, MHD_HTTP_HEADER_EXPECT);
    if (expect != nullptr && strcasecmp(expect, "100-continue") == 0) {
      return Queue(s, c, q, 413,
                   ErrorBody(413, "HTTP 413 Payload Too Large: the request body is larger than " +
                                      std::to_string(kMaxRequestBytes) + " bytes"),
                   true);
    }
  }
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, &AddQueryParameter, &q->api);
  return MHD_YES;
}

// A part of the body.
void Take(ServerState* s, Request* q, const char* data, size_t n) {
  q->received += n;
  if (q->refused == 0 && q->received > kMaxRequestBytes) q->refused = 413;
  if (q->refused == 0 && s->held_body_bytes.fetch_add(n) + n > kMaxHeldBodyBytes) {
    s->held_body_bytes -= n;
    q->refused = 503;
  }
  if (q->refused != 0) return Release(s, q);
  q->api.body.append(data, n);
}

// The body is complete: the reply.
MHD_Result Finish(ServerState* s, MHD_Connection* c, Request* q) {
  if (q->refused == 413) {
    return Queue(s, c, q, 413,
                 ErrorBody(413, "HTTP 413 Payload Too Large: the request body is larger than " +
                                    std::to_string(kMaxRequestBytes) + " bytes"),
                 false);
  }
  if (q->refused == 503) {
    return Queue(s, c, q, 503,
                 ErrorBody(503, "Too many request bodies held at once; retry in a moment"), false,
                 {{MHD_HTTP_HEADER_RETRY_AFTER, "1"}});
  }
  Reply reply;
  try {
    reply = RouteRequest(s->registry, q->api);
  } catch (const std::exception& e) {
    reply = {500, ErrorBody(kStoreError, e.what())};
  } catch (...) {
    reply = {500, ErrorBody(kStoreError, "internal error")};
  }
  Release(s, q);
  return Queue(s, c, q, reply.status, reply.body, false);
}

// libmicrohttpd's access handler: called once with the headers, then with each part of the body
// (*size > 0, to be consumed), then once more at its end (*size == 0), on the connection's
// thread. A reply may be queued on the first call and the last only.
MHD_Result OnRequest(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                     const char* data, size_t* size, void** ctx) {
  auto* s = static_cast<ServerState*>(cls);
  auto* q = static_cast<Request*>(*ctx);
  if (q == nullptr) {
    q = new Request;  // deleted by OnCompleted, which libmicrohttpd calls for every request
    *ctx = q;
    q->api.method = method;
    q->api.path = PercentDecode(url);
    {
      std::lock_guard<std::mutex> lock(s->mu);
      ++s->in_flight;
    }
    return Begin(s, c, q);
  }
  if (*size > 0) {
    Take(s, q, data, *size);
    *size = 0;
    return MHD_YES;
  }
  return Finish(s, c, q);
}

void OnCompleted(void* cls, MHD_Connection*, void** ctx, MHD_RequestTerminationCode) {
  auto* s = static_cast<ServerState*>(cls);
  std::unique_ptr<Request> q(static_cast<Request*>(*ctx));
  *ctx = nullptr;
  if (q == nullptr) return;
  Release(s, q.get());
  std::lock_guard<std::mutex> lock(s->mu);
  if (--s->in_flight == 0) s->idle.notify_all();
}

// A listening socket on host:port (a name is resolved), or -1. SO_REUSEADDR, so that a restart
// binds at once past the last run's TIME_WAIT, but not SO_REUSEPORT, with which a second
// registry could bind a port that one already serves and "port in use" would go unnoticed. Made
// here rather than by libmicrohttpd, whose start fails alike (NULL) for a port in use and for a
// TLS key that is not one.
int Listen(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
  int fd = -1;
  for (const addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, kListenBacklog) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof(a);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return -1;
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return text;
}

}  // namespace

RegistryServer::RegistryServer() : state_(std::make_unique<ServerState>()) {}

Result<std::unique_ptr<RegistryServer>> RegistryServer::Start(
    Registry* registry, const std::string& listen, const std::string& basic_auth,
    prometheus::Registry* metrics, const std::string& tls_cert, const std::string& tls_key) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    auto [ptr, ec] =
        std::from_chars(listen.data() + colon + 1, listen.data() + listen.size(), port);
    if (ec != std::errc() || ptr != listen.data() + listen.size()) port = -1;
  }
  if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535) {
    return Status::Error("--listen: expected host:port, e.g. 127.0.0.1:18081 (got '" + listen +
                         "')");
  }
  std::unique_ptr<RegistryServer> s(new RegistryServer());
  s->host_ = listen.substr(0, colon);
  ServerState& state = *s->state_;
  state.registry = registry;
  if (tls_cert.empty() != tls_key.empty()) {
    return Status::Error("--tls-cert and --tls-key go together");
  }
  const std::string tls_error = "cannot serve TLS with --tls-cert " + tls_cert + " and --tls-key " +
                                tls_key + " (unreadable, not PEM, or a key of another certificate)";
  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC;
  if (!tls_cert.empty()) {
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
      return Status::Error("cannot serve TLS: this libmicrohttpd was built without it");
    }
    auto cert = ReadFile(tls_cert);
    auto key = ReadFile(tls_key);
    if (!cert || !key) return Status::Error(tls_error);
    state.tls_cert = std::move(*cert);
    state.tls_key = std::move(*key);
    flags |= MHD_USE_TLS;
    s->scheme_ = "https";
  }
  if (!basic_auth.empty()) {
    const size_t c = basic_auth.find(':');
    state.credentials.emplace(basic_auth.substr(0, c),
                              c == std::string::npos ? "" : basic_auth.substr(c + 1));
  }
  if (metrics) state.metrics = std::make_unique<RequestMetrics>(*metrics, registry);

  const int fd = Listen(s->host_, port);
  if (fd < 0) {
    return Status::Error("cannot listen on " + listen +
                         " (is the port in use, or the address not local? choose another with "
                         "--listen)");
  }
  s->port_ = BoundPort(fd);
  auto fn = [](auto* f) { return reinterpret_cast<intptr_t>(f); };
  std::vector<MHD_OptionItem> options = {
      {MHD_OPTION_LISTEN_SOCKET, fd, nullptr},
      {MHD_OPTION_THREAD_POOL_SIZE, kThreads, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, kMaxConnections, nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, kTimeoutSeconds, nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(kConnectionMemoryBytes), nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, fn(&OnCompleted), &state},
      {MHD_OPTION_UNESCAPE_CALLBACK, fn(&KeepEscaped), nullptr},
  };
  if (flags & MHD_USE_TLS) {
    options.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, state.tls_cert.data()});
    options.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, state.tls_key.data()});
  }
  options.push_back({MHD_OPTION_END, 0, nullptr});
  // From here libmicrohttpd owns the listening socket: it closes it when it stops, or when its
  // start fails.
  s->daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr, &OnRequest, &state, MHD_OPTION_ARRAY,
                                options.data(), MHD_OPTION_END);
  if (s->daemon_ == nullptr) {
    if (flags & MHD_USE_TLS) return Status::Error(tls_error);
    return Status::Error("cannot serve HTTP on " + listen + " (libmicrohttpd did not start)");
  }
  return s;
}

RegistryServer::~RegistryServer() { Stop(); }

size_t RegistryServer::held_body_bytes() const { return state_->held_body_bytes.load(); }

void RegistryServer::Stop() {
  if (daemon_ == nullptr) return;
  {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->stopping = true;
    state_->idle.wait_for(lock, kStopGrace, [this] { return state_->in_flight == 0; });
  }
  MHD_stop_daemon(daemon_);  // closes the connections left (idle) and joins the threads
  daemon_ = nullptr;
}

}  // namespace spate::registry
