#pragma once
// The routes of the Confluent Schema Registry REST API over a Registry: from a request's method,
// path, query and body to the reply. No HTTP here: server.cc reads the requests off the
// connections, answers what it refuses itself (limits, auth), and writes the replies.

#include <map>
#include <string>
#include <string_view>

#include "registry/server/registry.h"

namespace spate::registry {

// A request as the routes see it.
struct ApiRequest {
  std::string method;                        // HEAD is served as GET (the server drops the body)
  std::string path;                          // %xx decoded (PercentDecode)
  std::map<std::string, std::string> query;  // decoded; the first of a repeated name
  std::string body;
};

// The reply of the route that method and path match; 404 in Confluent's error shape if none.
// A subject or version is one path segment, never empty.
Reply RouteRequest(Registry* registry, const ApiRequest& request);

// Each %xx as its byte (%00 too: the path is a string of bytes, not a C string); anything else,
// a '%' without two hex digits after it too, as it is. '+' stays '+' (a path, not a form).
std::string PercentDecode(std::string_view s);

}  // namespace spate::registry
