#include "admin/admin_server.h"

#include <spdlog/spdlog.h>

#include <asio/post.hpp>
#include <asio/strand.hpp>
#include <charconv>
#include <exception>

#include "admin/status_page_html.h"  // generated from status_page.html (see CMakeLists.txt)
#include "net/endpoint.h"

namespace edge::admin {
namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kPrometheus = "text/plain; version=0.0.4; charset=utf-8";

// The page runs only its own inline script and style and talks only to this server.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

// Paths answered with GET (and HEAD); anything else on them is 405.
bool isGetPath(const std::string& path) {
  return path == "/" || path == "/healthz" || path == "/ready" || path == "/metrics" ||
         path == "/targets" || path == "/connections";
}

HttpResponse text(int status, std::string body) {
  if (!body.empty() && body.back() != '\n') body += '\n';
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse content(std::string body, const char* type) {
  HttpResponse response;
  response.content_type = type;
  response.body = std::move(body);
  return response;
}

HttpResponse methodNotAllowed(const char* allow) {
  auto response = text(405, std::string("method not allowed (allowed: ") + allow + ")");
  response.headers.emplace_back("Allow", allow);
  return response;
}

// "http://host:port" from an Origin header, compared with Host: a page of another site may
// send a POST here (a "simple" request needs no preflight), and a reload is not its to ask for.
bool crossOrigin(const HttpRequest& req) {
  const std::string* origin_header = req.header("Origin");
  if (origin_header == nullptr) return false;
  std::string origin = *origin_header;
  const auto scheme = origin.find("://");
  if (scheme != std::string::npos) origin.erase(0, scheme + 3);
  const std::string* host = req.header("Host");
  return host == nullptr || origin != *host;
}

}  // namespace

std::optional<size_t> parseLimit(const std::optional<std::string>& text, std::string& error) {
  if (!text) return kDefaultConnectionLimit;
  size_t value = 0;
  const char* begin = text->data();
  const char* end = begin + text->size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (text->empty() || ec != std::errc() || ptr != end || value == 0 ||
      value > kMaxConnectionLimit) {
    error = "limit must be a number from 1 to " + std::to_string(kMaxConnectionLimit) + ", not '" +
            text->substr(0, 32) + "'";
    return std::nullopt;
  }
  return value;
}

AdminServer::AdminServer(asio::ip::tcp::endpoint endpoint, Handlers handlers)
    : endpoint_(std::move(endpoint)),
      handlers_(std::move(handlers)),
      respond_([this](const HttpRequest& request) { return respond(request); }),
      acceptor_(asio::make_strand(io_)),
      accept_retry_(acceptor_.get_executor()) {}

std::unique_ptr<AdminServer> AdminServer::bind(const asio::ip::tcp::endpoint& endpoint,
                                               Handlers handlers, BindError& error) {
  std::unique_ptr<AdminServer> admin(new AdminServer(endpoint, std::move(handlers)));
  auto& acceptor = admin->acceptor_;
  std::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  // SO_REUSEADDR as the route listeners (a restart need not wait for TIME_WAIT), and deliberately
  // no SO_REUSEPORT: a second instance must fail to bind the same port, not share its connections.
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) admin->endpoint_ = acceptor.local_endpoint(ec);  // the real port when 0 was asked for
  if (ec) {
    // As a std::system_category code it compares with std::errc values.
    error.code = std::error_code(ec.value(), std::system_category());
    error.message = "cannot listen on " + net::format(endpoint) + ": " + error.code.message();
    return nullptr;
  }
  return admin;
}

AdminServer::~AdminServer() {
  stop();
}

HttpResponse AdminServer::respond(const HttpRequest& request) const {
  std::string what = "unknown exception";
  try {
    return route(request);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  spdlog::error("admin: {} {}: {}", request.method, request.path, what);
  return text(500, "internal error: " + what);
}

HttpResponse AdminServer::route(const HttpRequest& req) const {
  const std::string& path = req.path;
  if (path == "/reload") {
    // Also without Content-Length (`curl -X POST URL` sends none): it has no body to read.
    if (req.method != "POST") return methodNotAllowed("POST");
    if (crossOrigin(req)) return text(403, "cross-origin request refused");
    const auto [applied, what] = handlers_.reload();
    return text(applied ? 200 : 500, what);
  }
  if (!isGetPath(path)) return text(404, "404 not found");
  // HEAD is answered as GET; the connection sends the head only.
  if (req.method != "GET" && req.method != "HEAD") return methodNotAllowed("GET, HEAD");

  if (path == "/healthz") return text(200, "ok");
  if (path == "/ready") {
    const auto [ready, why] = handlers_.ready();
    return text(ready ? 200 : 503, ready ? "ready" : "not ready: " + why);
  }
  if (path == "/metrics") return content(handlers_.metrics(), kPrometheus);
  if (path == "/targets") return content(handlers_.targets(), kJson);
  if (path == "/connections") {
    auto wanted = req.param("route");
    if (wanted && wanted->empty()) wanted.reset();  // "?route=": all routes
    std::string error;
    const auto limit = parseLimit(req.param("limit"), error);
    if (!limit) return text(400, error);
    return content(handlers_.connections(wanted, *limit), kJson);
  }
  auto page = content(std::string(kStatusPageHtml), "text/html; charset=utf-8");
  page.headers = {{"Content-Security-Policy", kPagePolicy}, {"Referrer-Policy", "no-referrer"}};
  return page;
}

bool AdminServer::warnNow() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_warning_ < kWarnEvery) return false;
  last_warning_ = now;
  return true;
}

// On the acceptor's strand, one accept at a time.
void AdminServer::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](std::error_code ec,
                                                        asio::ip::tcp::socket socket) {
    if (!acceptor_.is_open()) return;  // stopped
    if (ec) {
      // EMFILE and the like fail again at once: wait a little rather than spin.
      if (warnNow()) spdlog::warn("admin endpoint: accept: {}", ec.message());
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](std::error_code wait_ec) {
        if (!wait_ec && acceptor_.is_open()) accept();
      });
      return;
    }
    if (connections_.size() >= kMaxConnections) {
      if (warnNow()) {
        spdlog::warn("admin endpoint: {} connections open; closing the oldest for new ones",
                     kMaxConnections);
      }
      connections_.stopOldest();
    }
    auto connection = std::make_shared<HttpConnection>(std::move(socket), respond_, connections_);
    if (connections_.add(connection)) connection->start();
    accept();
  });
}

void AdminServer::start() {
  if (!threads_.empty() || stopped_) return;
  accept();
  for (size_t i = 0; i < kThreads; ++i) {
    threads_.emplace_back([this] {
      for (;;) {  // a handler's exception ends run(); the others keep serving
        try {
          io_.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("admin endpoint: {}", e.what());
        }
      }
    });
  }
}

void AdminServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  const auto close = [this] {
    std::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    connections_.close();
  };
  if (threads_.empty()) return close();
  // On the acceptor's strand: after it, no connection is added. run() returns once the last
  // connection has answered its request and closed.
  asio::post(acceptor_.get_executor(), close);
  for (auto& t : threads_) t.join();
}

}  // namespace edge::admin
