#include "registry/server/server.h"

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "core/transaction.h"

namespace spate::registry {
namespace {

constexpr const char* kContentType = "application/vnd.schemaregistry.v1+json";

// What one client can make the server hold (issue 17); httplib sets no payload limit itself.
// A request body: a schema far beyond any real one still fits.
constexpr size_t kMaxRequestBytes = size_t{16} << 20;
// Each read or write on a connection.
constexpr time_t kReadTimeoutSeconds = 5;
constexpr time_t kWriteTimeoutSeconds = 5;
// The wait for a request on a connection (its first one too), and how many one may carry.
constexpr time_t kKeepAliveTimeoutSeconds = 5;
constexpr size_t kKeepAliveMaxRequests = 100;
// Workers serve one connection each, from its first request to its close, so an idle client
// holds one for up to kKeepAliveTimeoutSeconds; accepted connections beyond them wait in a
// queue of this size, and beyond that in the kernel's listen backlog (BoundedPool).
constexpr size_t kWorkerThreads = 32;
constexpr size_t kMaxQueuedConnections = 64;
constexpr int kListenBacklog = 128;

std::string ErrorBody(int code, const std::string& message) {
  return nlohmann::json{{"error_code", code}, {"message", message}}.dump();
}

// httplib's ThreadPool with a bound on the accepted connections waiting for a worker
// (httplib 0.11's own queue has none). enqueue() runs on the accept loop and waits while the
// queue is full: the loop stops accepting, so a flood of connections waits in the kernel's
// backlog instead of holding descriptors here. That also keeps descriptors below
// FD_SETSIZE, past which httplib's select() answers 500. Owned by httplib's accept loop,
// which calls shutdown() when it ends; workers then finish the queued connections, which
// return at once once the server is stopped.
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(size_t threads, size_t max_queued) : max_queued_(max_queued) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
  }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [this] { return jobs_.size() < max_queued_ || shutdown_; });
    jobs_.push_back(std::move(fn));
    not_empty_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        not_empty_.wait(lock, [this] { return !jobs_.empty() || shutdown_; });
        if (jobs_.empty()) return;  // shut down and drained
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      not_full_.notify_one();
      fn();
    }
  }

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<std::function<void()>> jobs_;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

void Send(httplib::Response& res, const Reply& r) {
  res.status = r.status;
  res.set_content(r.body, kContentType);
}

bool Flag(const httplib::Request& req, const char* name) {
  return req.has_param(name) && req.get_param_value(name) == "true";
}

using Req = const httplib::Request&;
using Res = httplib::Response&;
// A route's work on a request with a body.
using BodyHandler = std::function<void(Req, const std::string& body, Res)>;

// A route handler that reads the body itself, through a receiver that stops at
// kMaxRequestBytes: httplib 0.11 holds a stated Content-Length to set_payload_max_length,
// but reads a chunked body to its end whatever its size. After a body cut short, the reply
// asks the client to close: the rest of the body would be read as its next request.
httplib::Server::HandlerWithContentReader Bounded(BodyHandler f) {
  return [f = std::move(f)](Req q, Res res, const httplib::ContentReader& read) {
    std::string body;
    bool too_large = false;
    const bool complete = read([&](const char* data, size_t n) {
      too_large = body.size() + n > kMaxRequestBytes;
      if (!too_large) body.append(data, n);
      return !too_large;
    });
    if (complete) return f(q, body, res);
    if (too_large) {
      res.status = 413;
    } else if (res.status < 400) {  // httplib set 413 (Content-Length) or 400 (read failed)
      res.status = 400;
    }
    res.set_header("Connection", "close");
  };
}

// The routes. Subjects and versions are path segments ([^/]+); httplib decodes %xx first.
// Every POST, PUT and DELETE reads its body through Bounded, those of no route too.
void Route(httplib::Server& s, Registry* r) {
  auto post = [&s](const std::string& pattern, BodyHandler f) { s.Post(pattern, Bounded(f)); };
  auto put = [&s](const std::string& pattern, BodyHandler f) { s.Put(pattern, Bounded(f)); };
  auto del = [&s](const std::string& pattern, BodyHandler f) { s.Delete(pattern, Bounded(f)); };
  using Body = const std::string&;
  const std::string subj = "/subjects/([^/]+)";
  s.Get("/", [](Req, Res res) { res.set_content("{}", kContentType); });
  s.Get("/subjects", [r](Req q, Res res) { Send(res, r->ListSubjects(Flag(q, "deleted"))); });
  post(subj + "/versions",
       [r](Req q, Body b, Res res) { Send(res, r->Register(q.matches[1], b)); });
  s.Get(subj + "/versions", [r](Req q, Res res) { Send(res, r->ListVersions(q.matches[1])); });
  s.Get(subj + "/versions/([^/]+)",
        [r](Req q, Res res) { Send(res, r->GetVersion(q.matches[1], q.matches[2], false)); });
  s.Get(subj + "/versions/([^/]+)/schema",
        [r](Req q, Res res) { Send(res, r->GetVersion(q.matches[1], q.matches[2], true)); });
  post(subj, [r](Req q, Body b, Res res) { Send(res, r->Lookup(q.matches[1], b)); });
  del(subj, [r](Req q, Body, Res res) { Send(res, r->DeleteSubject(q.matches[1])); });
  del(subj + "/versions/([^/]+)",
      [r](Req q, Body, Res res) { Send(res, r->DeleteVersion(q.matches[1], q.matches[2])); });
  s.Get("/schemas/ids/([^/]+)",
        [r](Req q, Res res) { Send(res, r->GetSchemaById(q.matches[1], false)); });
  s.Get("/schemas/ids/([^/]+)/versions",
        [r](Req q, Res res) { Send(res, r->GetSchemaById(q.matches[1], true)); });
  s.Get("/config", [r](Req, Res res) { Send(res, r->GetConfig("", true)); });
  put("/config", [r](Req, Body b, Res res) { Send(res, r->PutConfig("", b)); });
  s.Get("/config/([^/]+)",
        [r](Req q, Res res) { Send(res, r->GetConfig(q.matches[1], Flag(q, "defaultToGlobal"))); });
  put("/config/([^/]+)", [r](Req q, Body b, Res res) { Send(res, r->PutConfig(q.matches[1], b)); });
  del("/config/([^/]+)", [r](Req q, Body, Res res) { Send(res, r->DeleteConfig(q.matches[1])); });
  post("/compatibility" + subj + "/versions", [r](Req q, Body b, Res res) {
    Send(res, r->TestCompatibility(q.matches[1], "", b, Flag(q, "verbose")));
  });
  post("/compatibility" + subj + "/versions/([^/]+)", [r](Req q, Body b, Res res) {
    Send(res, r->TestCompatibility(q.matches[1], q.matches[2], b, Flag(q, "verbose")));
  });
  // No route: 404 (the error handler writes the body), once the body is read.
  const BodyHandler none = [](Req, Body, Res res) { res.status = 404; };
  post(".*", none);
  put(".*", none);
  del(".*", none);
}

// When the request a worker thread is on started (its headers read): for the duration.
thread_local std::chrono::steady_clock::time_point t_request_start;

// Requests by method and status, their durations, and the schemas held: counted after each
// response (httplib's logger runs on the request's worker thread).
void CountRequests(httplib::Server& http, prometheus::Registry& metrics, Registry* registry) {
  auto& requests = prometheus::BuildCounter()
                       .Name("spate_registry_requests_total")
                       .Help("Requests answered by spate registry, by method and status code")
                       .Register(metrics);
  auto& duration =
      prometheus::BuildHistogram()
          .Name("spate_registry_request_duration_seconds")
          .Help("Time from a request's headers to its response")
          .Register(metrics)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                           0.025, 0.05, 0.1, 0.25, 0.5, 1, 5});
  auto& schemas = prometheus::BuildGauge()
                      .Name("spate_registry_schemas")
                      .Help("Schemas held (by id), whatever their subjects")
                      .Register(metrics)
                      .Add({});
  http.set_logger([&requests, &duration, &schemas, registry](Req q, const httplib::Response& r) {
    requests.Add({{"method", q.method}, {"code", std::to_string(r.status)}}).Increment();
    duration.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count());
    schemas.Set(static_cast<double>(registry->SchemaCount()));
  });
  schemas.Set(static_cast<double>(registry->SchemaCount()));
}

}  // namespace

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
  if (tls_cert.empty() != tls_key.empty()) {
    return Status::Error("--tls-cert and --tls-key go together");
  }
  if (tls_cert.empty()) {
    s->http_ = std::make_unique<httplib::Server>();
  } else {
    auto tls = std::make_unique<httplib::SSLServer>(tls_cert.c_str(), tls_key.c_str());
    if (!tls->is_valid()) {
      return Status::Error("cannot serve TLS with --tls-cert " + tls_cert + " and --tls-key " +
                           tls_key + " (unreadable, not PEM, or a key of another certificate)");
    }
    s->http_ = std::move(tls);
    s->scheme_ = "https";
  }
  httplib::Server& http = *s->http_;
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second registry could
  // bind a port that one already serves, and "port in use" would go unnoticed.
  auto listening = std::make_shared<int>(-1);  // the socket httplib binds, for listen() below
  http.set_socket_options([listening](int sock) {
    *listening = sock;
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.set_payload_max_length(kMaxRequestBytes);  // a larger Content-Length: 413
  http.set_read_timeout(kReadTimeoutSeconds);
  http.set_write_timeout(kWriteTimeoutSeconds);
  http.set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  http.set_keep_alive_max_count(kKeepAliveMaxRequests);
  http.new_task_queue = [] { return new BoundedPool(kWorkerThreads, kMaxQueuedConnections); };
  std::string expected;  // the Authorization header, "" = open
  if (!basic_auth.empty()) {
    const size_t c = basic_auth.find(':');
    expected = httplib::make_basic_authentication_header(
                   basic_auth.substr(0, c), c == std::string::npos ? "" : basic_auth.substr(c + 1))
                   .second;
  }
  if (metrics) CountRequests(http, *metrics, registry);
  // Runs after the headers, before httplib reads a body.
  http.set_pre_routing_handler([expected](Req q, Res res) {
    t_request_start = std::chrono::steady_clock::now();
    // Methods without routes whose bodies httplib would read to the end (PATCH, PRI), and
    // multipart forms, which Bounded's reader does not take.
    const bool known = q.method == "GET" || q.method == "HEAD" || q.method == "POST" ||
                       q.method == "PUT" || q.method == "DELETE" || q.method == "OPTIONS";
    if (!known || q.is_multipart_form_data()) {
      res.status = known ? 415 : 405;
      res.set_header("Connection", "close");
      res.set_content(ErrorBody(res.status, known ? "Multipart bodies are not accepted"
                                                  : "Method " + q.method + " not allowed"),
                      kContentType);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (expected.empty() || q.get_header_value("Authorization") == expected) {
      // Subjects are JSON strings in the replies and the log: invalid UTF-8 (httplib decodes
      // %xx) is refused here, as Confluent's registry does, instead of failing as a 500.
      if (IsValidUtf8(q.path)) return httplib::Server::HandlerResponse::Unhandled;
      res.status = 422;
      res.set_header("Connection", "close");  // a body, if any, is not read
      res.set_content(ErrorBody(42208, "Invalid subject: the path is not valid UTF-8"),
                      kContentType);
      return httplib::Server::HandlerResponse::Handled;
    }
    res.status = 401;
    res.set_header("WWW-Authenticate", "Basic realm=\"spate registry\"");
    res.set_content(ErrorBody(401, "Unauthorized"), kContentType);
    return httplib::Server::HandlerResponse::Handled;
  });
  Route(http, registry);
  // httplib's own refusals (404 no route, 413, 400 ...) in Confluent's error shape.
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = "HTTP " + std::to_string(res.status);
    switch (res.status) {
      case 400: message += " Bad Request"; break;
      case 404: message += " Not Found"; break;
      case 413:
        message += " Payload Too Large: the request body is larger than " +
                   std::to_string(kMaxRequestBytes) + " bytes";
        break;
      case 414: message += " URI Too Long"; break;
      default: break;
    }
    res.set_content(ErrorBody(res.status, message), kContentType);
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        res.status = 500;
        res.set_content(ErrorBody(50001, what), kContentType);
      });
  if (port == 0) {
    port = http.bind_to_any_port(s->host_);
    if (port < 0) port = -1;
  } else if (!http.bind_to_port(s->host_, port)) {
    port = -1;
  }
  if (port < 0) {
    return Status::Error("cannot listen on " + listen +
                         " (is the port in use, or the address not local? choose another with "
                         "--listen)");
  }
  // httplib 0.11 listens with a backlog of 5 (compiled in): connections beyond it while
  // BoundedPool holds the accept loop, or in any burst, are dropped and retried by the client a
  // second or more later. Linux takes a second listen() on the socket as its new backlog (if
  // it failed, httplib's 5 would stay).
  ::listen(*listening, kListenBacklog);
  s->port_ = port;
  s->thread_ = std::thread([h = s->http_.get()] { h->listen_after_bind(); });
  // httplib's stop() does nothing before the accept loop runs (the loop would then run on and
  // Stop() would wait for it forever): return only once it is running.
  for (int i = 0; i < 5000 && !http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return s;
}

RegistryServer::~RegistryServer() { Stop(); }

void RegistryServer::Stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace spate::registry
