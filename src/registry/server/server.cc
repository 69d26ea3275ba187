#include "registry/server/server.h"

#include <charconv>
#include <chrono>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace spate::registry {
namespace {

constexpr const char* kContentType = "application/vnd.schemaregistry.v1+json";

void Send(httplib::Response& res, const Reply& r) {
  res.status = r.status;
  res.set_content(r.body, kContentType);
}

bool Flag(const httplib::Request& req, const char* name) {
  return req.has_param(name) && req.get_param_value(name) == "true";
}

// The routes. Subjects and versions are path segments ([^/]+); httplib decodes %xx first.
void Route(httplib::Server& s, Registry* r) {
  using Req = const httplib::Request&;
  using Res = httplib::Response&;
  const std::string subj = "/subjects/([^/]+)";
  s.Get("/", [](Req, Res res) { res.set_content("{}", kContentType); });
  s.Get("/subjects", [r](Req q, Res res) { Send(res, r->ListSubjects(Flag(q, "deleted"))); });
  s.Post(subj + "/versions", [r](Req q, Res res) { Send(res, r->Register(q.matches[1], q.body)); });
  s.Get(subj + "/versions", [r](Req q, Res res) { Send(res, r->ListVersions(q.matches[1])); });
  s.Get(subj + "/versions/([^/]+)",
        [r](Req q, Res res) { Send(res, r->GetVersion(q.matches[1], q.matches[2], false)); });
  s.Get(subj + "/versions/([^/]+)/schema",
        [r](Req q, Res res) { Send(res, r->GetVersion(q.matches[1], q.matches[2], true)); });
  s.Post(subj, [r](Req q, Res res) { Send(res, r->Lookup(q.matches[1], q.body)); });
  s.Delete(subj, [r](Req q, Res res) { Send(res, r->DeleteSubject(q.matches[1])); });
  s.Delete(subj + "/versions/([^/]+)",
           [r](Req q, Res res) { Send(res, r->DeleteVersion(q.matches[1], q.matches[2])); });
  s.Get("/schemas/ids/([^/]+)",
        [r](Req q, Res res) { Send(res, r->GetSchemaById(q.matches[1], false)); });
  s.Get("/schemas/ids/([^/]+)/versions",
        [r](Req q, Res res) { Send(res, r->GetSchemaById(q.matches[1], true)); });
  s.Get("/config", [r](Req, Res res) { Send(res, r->GetConfig("", true)); });
  s.Put("/config", [r](Req q, Res res) { Send(res, r->PutConfig("", q.body)); });
  s.Get("/config/([^/]+)",
        [r](Req q, Res res) { Send(res, r->GetConfig(q.matches[1], Flag(q, "defaultToGlobal"))); });
  s.Put("/config/([^/]+)", [r](Req q, Res res) { Send(res, r->PutConfig(q.matches[1], q.body)); });
  s.Delete("/config/([^/]+)", [r](Req q, Res res) { Send(res, r->DeleteConfig(q.matches[1])); });
  s.Post("/compatibility" + subj + "/versions", [r](Req q, Res res) {
    Send(res, r->TestCompatibility(q.matches[1], "", q.body, Flag(q, "verbose")));
  });
  s.Post("/compatibility" + subj + "/versions/([^/]+)", [r](Req q, Res res) {
    Send(res, r->TestCompatibility(q.matches[1], q.matches[2], q.body, Flag(q, "verbose")));
  });
}

}  // namespace

Result<std::unique_ptr<RegistryServer>> RegistryServer::Start(Registry* registry,
                                                              const std::string& listen,
                                                              const std::string& basic_auth) {
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
  s->http_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *s->http_;
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second registry could
  // bind a port that one already serves, and "port in use" would go unnoticed.
  http.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  if (!basic_auth.empty()) {
    const size_t c = basic_auth.find(':');
    const std::string expected =
        httplib::make_basic_authentication_header(
            basic_auth.substr(0, c), c == std::string::npos ? "" : basic_auth.substr(c + 1))
            .second;
    http.set_pre_routing_handler([expected](const httplib::Request& q, httplib::Response& res) {
      if (q.get_header_value("Authorization") == expected)
        return httplib::Server::HandlerResponse::Unhandled;
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"spate registry\"");
      res.set_content(R"({"error_code":401,"message":"Unauthorized"})", kContentType);
      return httplib::Server::HandlerResponse::Handled;
    });
  }
  Route(http, registry);
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) {
      res.set_content(R"({"error_code":404,"message":"HTTP 404 Not Found"})", kContentType);
    }
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    res.status = 500;
    res.set_content(nlohmann::json{{"error_code", 50001}, {"message", what}}.dump(), kContentType);
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
