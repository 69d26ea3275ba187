#include "registry/server/routes.h"

#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

namespace spate::registry {
namespace {

using Params = std::vector<std::string>;  // the path's parameters, in order

struct Route {
  const char* method;
  // The path's segments; "*" is a parameter (one non-empty segment).
  std::vector<std::string_view> pattern;
  std::function<Reply(Registry*, const Params&, const ApiRequest&)> run;
};

bool Flag(const ApiRequest& q, const char* name) {
  auto it = q.query.find(name);
  return it != q.query.end() && it->second == "true";
}

// "/subjects/a/versions" -> {"subjects", "a", "versions"}; "/" -> {}. Empty segments are kept
// ("/subjects/" -> {"subjects", ""}): they match no route, as Confluent's registry has none.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  // A target not in origin form ("*", "http://host/..."): one empty segment, which no route
  // matches.
  if (path.empty() || path[0] != '/') return {std::string_view()};
  path.remove_prefix(1);  // the leading '/'
  if (path.empty()) return out;
  for (size_t slash; (slash = path.find('/')) != std::string_view::npos;) {
    out.push_back(path.substr(0, slash));
    path.remove_prefix(slash + 1);
  }
  out.push_back(path);
  return out;
}

bool Match(const Route& route, const std::vector<std::string_view>& segments, Params* params) {
  if (route.pattern.size() != segments.size()) return false;
  params->clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    if (route.pattern[i] == "*") {
      if (segments[i].empty()) return false;
      params->emplace_back(segments[i]);
    } else if (route.pattern[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

const std::vector<Route>& Routes() {
  using Q = const ApiRequest&;
  using P = const Params&;
  static const std::vector<Route> routes = {
      {"GET",
       {},
       [](Registry*, P, Q) {
         return Reply{200, "{}"};
       }},
      {"GET",
       {"subjects"},
       [](Registry* r, P, Q q) { return r->ListSubjects(Flag(q, "deleted")); }},
      {"POST",
       {"subjects", "*", "versions"},
       [](Registry* r, P p, Q q) { return r->Register(p[0], q.body); }},
      {"GET",
       {"subjects", "*", "versions"},
       [](Registry* r, P p, Q) { return r->ListVersions(p[0]); }},
      {"GET",
       {"subjects", "*", "versions", "*"},
       [](Registry* r, P p, Q) { return r->GetVersion(p[0], p[1], false); }},
      {"GET",
       {"subjects", "*", "versions", "*", "schema"},
       [](Registry* r, P p, Q) { return r->GetVersion(p[0], p[1], true); }},
      {"POST", {"subjects", "*"}, [](Registry* r, P p, Q q) { return r->Lookup(p[0], q.body); }},
      {"DELETE", {"subjects", "*"}, [](Registry* r, P p, Q) { return r->DeleteSubject(p[0]); }},
      {"DELETE",
       {"subjects", "*", "versions", "*"},
       [](Registry* r, P p, Q) { return r->DeleteVersion(p[0], p[1]); }},
      {"GET",
       {"schemas", "ids", "*"},
       [](Registry* r, P p, Q) { return r->GetSchemaById(p[0], false); }},
      {"GET",
       {"schemas", "ids", "*", "versions"},
       [](Registry* r, P p, Q) { return r->GetSchemaById(p[0], true); }},
      {"GET", {"config"}, [](Registry* r, P, Q) { return r->GetConfig("", true); }},
      {"PUT", {"config"}, [](Registry* r, P, Q q) { return r->PutConfig("", q.body); }},
      {"GET",
       {"config", "*"},
       [](Registry* r, P p, Q q) { return r->GetConfig(p[0], Flag(q, "defaultToGlobal")); }},
      {"PUT", {"config", "*"}, [](Registry* r, P p, Q q) { return r->PutConfig(p[0], q.body); }},
      {"DELETE", {"config", "*"}, [](Registry* r, P p, Q) { return r->DeleteConfig(p[0]); }},
      {"POST",
       {"compatibility", "subjects", "*", "versions"},
       [](Registry* r, P p, Q q) {
         return r->TestCompatibility(p[0], "", q.body, Flag(q, "verbose"));
       }},
      {"POST",
       {"compatibility", "subjects", "*", "versions", "*"},
       [](Registry* r, P p, Q q) {
         return r->TestCompatibility(p[0], p[1], q.body, Flag(q, "verbose"));
       }},
  };
  return routes;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Reply RouteRequest(Registry* registry, const ApiRequest& request) {
  std::string_view method = request.method;
  if (method == "HEAD") method = "GET";
  if (request.path.starts_with('/')) {  // not "*" or an absolute URI
    const auto segments = Segments(request.path);
    Params params;
    for (const Route& route : Routes()) {
      if (method == route.method && Match(route, segments, &params)) {
        return route.run(registry, params, request);
      }
    }
  }
  return {404, ErrorBody(404, "HTTP 404 Not Found")};
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    int hi = -1, lo = -1;
    if (s[i] == '%' && i + 2 < s.size() && (hi = HexDigit(s[i + 1])) >= 0 &&
        (lo = HexDigit(s[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace spate::registry
