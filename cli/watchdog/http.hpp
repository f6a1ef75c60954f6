// A minimal HTTP GET over libcurl, for tw only (hook binaries never link libcurl).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace tw {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers; // "Name: value"; never logged (one carries the bearer token)
  std::chrono::milliseconds timeout{5000};
  std::size_t max_body_bytes = std::size_t{1024} * 1024;
};

struct HttpResponse {
  int status = 0; // 0 = no HTTP answer (see error)
  std::string body;
  std::string retry_after; // the Retry-After header, when sent
  std::string error;       // transport failure: "timed out after 5000 ms", "connection refused", ...
  bool timed_out = false;
};

// Performs the request. Never throws for transport failures (they are in `error`); redirects are not
// followed (a redirect must not carry the token elsewhere). Proxies from the environment are ignored.
HttpResponse http_get(const HttpRequest& request);

} // namespace tw
