#include "http_client.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "client.h"

namespace edge::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Chunked transfer coding: hex size line, data, CRLF, ..., 0. nullopt-like "" + false on error.
bool dechunk(const std::string& in, std::string& out) {
  size_t at = 0;
  while (true) {
    const auto eol = in.find("\r\n", at);
    if (eol == std::string::npos) return false;
    const size_t size = std::strtoul(in.substr(at, eol - at).c_str(), nullptr, 16);
    at = eol + 2;
    if (size == 0) return true;
    if (at + size > in.size()) return false;
    out += in.substr(at, size);
    at += size + 2;
  }
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

HttpResponse http_request(const std::string& method, const std::string& address, std::uint16_t port,
                          const std::string& target, std::chrono::milliseconds timeout,
                          const std::string& body,
                          const std::map<std::string, std::string>& extra_headers) {
  HttpResponse response;
  const auto start = std::chrono::steady_clock::now();
  auto left = [&] {
    return std::max(std::chrono::milliseconds(1),
                    timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - start));
  };
  auto client = TcpClient::connect(address, port, timeout);
  if (!client) {
    response.error = "cannot connect to " + address + ":" + std::to_string(port);
    return response;
  }
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: " + address + ":" +
                        std::to_string(port) + "\r\nConnection: close\r\n";
  for (const auto& [name, value] : extra_headers) request += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST") {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  if (client->write_all(request, left()) != IoResult::ok) {
    response.error = "cannot send the request";
    return response;
  }
  const auto answer = client->read_until_eof(left());
  if (!answer) {
    response.error = "no complete answer (EOF) within " + std::to_string(timeout.count()) + " ms";
    return response;
  }
  const auto head_end = answer->find("\r\n\r\n");
  if (head_end == std::string::npos || !answer->starts_with("HTTP/1.")) {
    response.error = "not an HTTP answer: " + answer->substr(0, 80);
    return response;
  }
  size_t line_start = answer->find("\r\n") + 2;
  const std::string status_line = answer->substr(0, line_start - 2);
  const auto space = status_line.find(' ');
  if (space == std::string::npos) {
    response.error = "bad status line: " + status_line;
    return response;
  }
  response.status = std::atoi(status_line.c_str() + space + 1);
  while (line_start < head_end) {
    const auto eol = answer->find("\r\n", line_start);
    const std::string line = answer->substr(line_start, eol - line_start);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      response.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    }
    line_start = eol + 2;
  }
  const std::string raw = answer->substr(head_end + 4);
  if (lower(response.header("transfer-encoding")) == "chunked") {
    if (!dechunk(raw, response.body)) response.error = "bad chunked body";
  } else {
    response.body = raw;
  }
  return response;
}

}  // namespace edge::test
