// libcurl behind http_get: one easy handle per request, no redirects, no proxies, bounded body.
#include "watchdog/http.hpp"

#define CURL_DISABLE_TYPECHECK // calls go through the pointers below
#include <curl/curl.h>
#include <dlfcn.h>

namespace tw {

namespace {

// libcurl is loaded at the first request, not when tw starts: it brings some thirty shared libraries (TLS,
// Kerberos, LDAP, IDN, ...) whose loading cost every tw command about 14 ms on our machines (a third of a
// warm `tw report`), while only the quota fetch uses it.
struct Curl {
  decltype(&curl_global_init) global_init = nullptr;
  decltype(&curl_easy_init) easy_init = nullptr;
  decltype(&curl_easy_setopt) easy_setopt = nullptr;
  decltype(&curl_easy_perform) easy_perform = nullptr;
  decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&curl_easy_strerror) easy_strerror = nullptr;
  decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&curl_slist_append) slist_append = nullptr;
  decltype(&curl_slist_free_all) slist_free_all = nullptr;
  std::string error; // why it could not be loaded
};

template <typename Function> void find(void* library, const char* name, Function& out, std::string& error) {
  out = reinterpret_cast<Function>(::dlsym(library, name));
  if (out == nullptr && error.empty()) error = std::string("libcurl has no ") + name;
}

const Curl& curl_library() {
  static const Curl curl = [] {
    Curl c;
    void* library = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      const char* why = ::dlerror();
      c.error = std::string("libcurl could not be loaded: ") + (why ? why : "libcurl.so.4 not found");
      return c;
    }
    find(library, "curl_global_init", c.global_init, c.error);
    find(library, "curl_easy_init", c.easy_init, c.error);
    find(library, "curl_easy_setopt", c.easy_setopt, c.error);
    find(library, "curl_easy_perform", c.easy_perform, c.error);
    find(library, "curl_easy_getinfo", c.easy_getinfo, c.error);
    find(library, "curl_easy_strerror", c.easy_strerror, c.error);
    find(library, "curl_easy_cleanup", c.easy_cleanup, c.error);
    find(library, "curl_slist_append", c.slist_append, c.error);
    find(library, "curl_slist_free_all", c.slist_free_all, c.error);
    if (c.error.empty() && c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) c.error = "libcurl could not be initialised";
    return c;
  }();
  return curl;
}

struct Sink {
  std::string body;
  std::string retry_after;
  std::size_t max_body_bytes = 0;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t bytes = size * count;
  if (sink->body.size() + bytes > sink->max_body_bytes) {
    sink->too_large = true;
    return 0; // aborts the transfer
  }
  sink->body.append(data, bytes);
  return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t bytes = size * count;
  std::string line(data, bytes);
  constexpr std::string_view k_name = "retry-after:";
  if (line.size() > k_name.size()) {
    std::string head = line.substr(0, k_name.size());
    for (char& c : head) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (head == k_name) {
      std::string value = line.substr(k_name.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
      sink->retry_after = value;
    }
  }
  return bytes;
}

} // namespace

HttpResponse http_get(const HttpRequest& request) {
  HttpResponse response;
  const Curl& lib = curl_library();
  if (!lib.error.empty()) {
    response.error = lib.error;
    return response;
  }
  CURL* curl = lib.easy_init();
  if (curl == nullptr) {
    response.error = "libcurl could not be initialised";
    return response;
  }
  Sink sink;
  sink.max_body_bytes = request.max_body_bytes;
  curl_slist* headers = nullptr;
  for (const auto& header : request.headers) headers = lib.slist_append(headers, header.c_str());
  lib.easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  lib.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  lib.easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  lib.easy_setopt(curl, CURLOPT_PROXY, "");
  lib.easy_setopt(curl, CURLOPT_NOPROXY, "*");
  lib.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  lib.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  lib.easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  lib.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
  lib.easy_setopt(curl, CURLOPT_USERAGENT, "tokenwarden/" TW_VERSION);
  lib.easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  lib.easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  lib.easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  lib.easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
  const CURLcode code = lib.easy_perform(curl);
  if (code == CURLE_OK) {
    long status = 0;
    lib.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    response.body = std::move(sink.body);
    response.retry_after = std::move(sink.retry_after);
  } else if (sink.too_large) {
    response.error = "answer larger than " + std::to_string(request.max_body_bytes) + " bytes";
  } else {
    response.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    response.error = code == CURLE_OPERATION_TIMEDOUT
                         ? "timed out after " + std::to_string(request.timeout.count()) + " ms"
                         : std::string(lib.easy_strerror(code));
  }
  lib.slist_free_all(headers);
  lib.easy_cleanup(curl);
  return response;
}

} // namespace tw
