// libcurl behind http_get: one easy handle per request, no redirects, no proxies, bounded body.
#include "http.hpp"

#include <curl/curl.h>

namespace tw {

namespace {

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
  static const CURLcode k_global = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (k_global != CURLE_OK) {
    response.error = "libcurl could not be initialised";
    return response;
  }
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    response.error = "libcurl could not be initialised";
    return response;
  }
  Sink sink;
  sink.max_body_bytes = request.max_body_bytes;
  curl_slist* headers = nullptr;
  for (const auto& header : request.headers) headers = curl_slist_append(headers, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "tokenwarden/" TW_VERSION);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    response.body = std::move(sink.body);
    response.retry_after = std::move(sink.retry_after);
  } else if (sink.too_large) {
    response.error = "answer larger than " + std::to_string(request.max_body_bytes) + " bytes";
  } else {
    response.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    response.error = code == CURLE_OPERATION_TIMEDOUT
                         ? "timed out after " + std::to_string(request.timeout.count()) + " ms"
                         : std::string(curl_easy_strerror(code));
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return response;
}

} // namespace tw
