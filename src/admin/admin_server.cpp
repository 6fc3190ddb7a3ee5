#include "admin/admin_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <asio/io_context.hpp>
#include <charconv>
#include <chrono>
#include <exception>
#include <regex>

#include "admin/status_page_html.h"  // generated from status_page.html (see CMakeLists.txt)
#include "net/endpoint.h"

namespace edge::admin {
namespace {

constexpr const char* kText = "text/plain; charset=utf-8";
constexpr const char* kJson = "application/json";
constexpr const char* kPrometheus = "text/plain; version=0.0.4; charset=utf-8";

// Paths answered with GET (and HEAD); anything else on them is 405.
constexpr const char* kGetPaths = "/|/healthz|/ready|/metrics|/targets|/connections";

// The page runs only its own inline script and style and talks only to this server.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

void text(httplib::Response& res, int status, std::string body) {
  res.status = status;
  if (!body.empty() && body.back() != '\n') body += '\n';
  res.set_content(body, kText);
}

void methodNotAllowed(httplib::Response& res, const char* allow) {
  res.set_header("Allow", allow);
  text(res, 405, std::string("method not allowed (allowed: ") + allow + ")");
}

// "http://host:port" from an Origin header, compared with Host: a page of another site may
// send a POST here (a "simple" request needs no preflight), and a reload is not its to ask for.
bool crossOrigin(const httplib::Request& req) {
  if (!req.has_header("Origin")) return false;
  std::string origin = req.get_header_value("Origin");
  const auto scheme = origin.find("://");
  if (scheme != std::string::npos) origin.erase(0, scheme + 3);
  return origin != req.get_header_value("Host");
}

// Same options as the route listeners' SO_REUSEADDR, and deliberately no SO_REUSEPORT (httplib's
// default): a second instance must fail to bind the same port, not share its connections.
void socketOptions(int fd) {
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

// Why `endpoint` cannot be bound: httplib says only that it failed, so try it once more here.
std::error_code bindErrorOf(const asio::ip::tcp::endpoint& endpoint) {
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io);
  std::error_code ec;
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  if (!ec) probe.listen(asio::socket_base::max_listen_connections, ec);
  // asio's own category: as a std::system_category code it compares with std::errc values.
  if (ec) return std::error_code(ec.value(), std::system_category());
  return std::make_error_code(std::errc::io_error);  // it works now: a race; call it an I/O error
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
      server_(std::make_unique<httplib::Server>()) {}

std::unique_ptr<AdminServer> AdminServer::bind(const asio::ip::tcp::endpoint& endpoint,
                                               Handlers handlers, BindError& error) {
  std::unique_ptr<AdminServer> admin(new AdminServer(endpoint, std::move(handlers)));
  auto& server = *admin->server_;
  server.set_socket_options(socketOptions);
  const std::string host = endpoint.address().to_string();
  bool bound = false;
  if (endpoint.port() == 0) {
    const int port = server.bind_to_any_port(host);
    bound = port > 0;
    if (bound) admin->endpoint_.port(static_cast<uint16_t>(port));
  } else {
    bound = server.bind_to_port(host, endpoint.port());
  }
  if (!bound) {
    error.code = bindErrorOf(endpoint);
    error.message = "cannot listen on " + net::format(endpoint) + ": " + error.code.message();
    return nullptr;
  }
  admin->routes();
  return admin;
}

AdminServer::~AdminServer() {
  stop();
}

void AdminServer::routes() {
  auto& s = *server_;
  // Small and bounded: a handful of threads, short timeouts, no request bodies worth the name.
  s.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  s.set_read_timeout(std::chrono::seconds(5));
  s.set_write_timeout(std::chrono::seconds(5));
  // A browser keeps a connection (and so a pool thread) between the page's polls: let it go
  // after 1 s idle so that a probe never waits behind it.
  s.set_keep_alive_timeout(1);
  s.set_keep_alive_max_count(100);
  s.set_payload_max_length(64 * 1024);
  s.set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});
  s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("admin: {} {} {} from {}", req.method, req.path, res.status, req.remote_addr);
  });
  s.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("admin: {} {}: {}", req.method, req.path, what);
        text(res, 500, "internal error: " + what);
      });
  // Every 4xx/5xx without a body of its own (404 for an unknown path, 400 for a bad request).
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        const char* why = res.status == 404   ? "not found"
                          : res.status == 413 ? "request too large"
                                              : "error";
        text(res, res.status, std::to_string(res.status) + " " + why);
        return httplib::Server::HandlerResponse::Handled;
      }));

  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { text(res, 200, "ok"); });
  s.Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    const auto [ready, why] = handlers_.ready();
    text(res, ready ? 200 : 503, ready ? "ready" : "not ready: " + why);
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers_.metrics(), kPrometheus);
  });
  s.Get("/targets", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers_.targets(), kJson);
  });
  s.Get("/connections", [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> route;
    if (req.has_param("route") && !req.get_param_value("route").empty()) {
      route = req.get_param_value("route");
    }
    std::optional<std::string> limit_text;
    if (req.has_param("limit")) limit_text = req.get_param_value("limit");
    std::string error;
    const auto limit = parseLimit(limit_text, error);
    if (!limit) return text(res, 400, error);
    res.set_content(handlers_.connections(route, *limit), kJson);
  });
  const auto reload = [this](const httplib::Request& req, httplib::Response& res) {
    if (crossOrigin(req)) return text(res, 403, "cross-origin request refused");
    const auto [applied, what] = handlers_.reload();
    text(res, applied ? 200 : 500, what);
  };
  s.Post("/reload", reload);
  // httplib answers 400 to a POST without Content-Length (`curl -X POST URL` sends none) before
  // routing it; such a request has no body to read, so it can be answered here, first.
  s.set_pre_routing_handler([reload](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "POST" || req.has_header("Content-Length") ||
        req.has_header("Transfer-Encoding")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    static const std::regex get_paths(kGetPaths);
    if (req.path == "/reload") {
      reload(req, res);
    } else if (std::regex_match(req.path, get_paths)) {
      methodNotAllowed(res, "GET, HEAD");
    } else {
      text(res, 404, "404 not found");
    }
    return httplib::Server::HandlerResponse::Handled;
  });
  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Security-Policy", kPagePolicy);
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_content(kStatusPageHtml.data(), kStatusPageHtml.size(), "text/html; charset=utf-8");
  });

  const auto get_only = [](const httplib::Request&, httplib::Response& res) {
    methodNotAllowed(res, "GET, HEAD");
  };
  s.Post(kGetPaths, get_only);
  s.Put(kGetPaths, get_only);
  s.Patch(kGetPaths, get_only);
  s.Delete(kGetPaths, get_only);
  s.Options(kGetPaths, get_only);
  const auto post_only = [](const httplib::Request&, httplib::Response& res) {
    methodNotAllowed(res, "POST");
  };
  s.Get("/reload", post_only);
  s.Put("/reload", post_only);
  s.Patch("/reload", post_only);
  s.Delete("/reload", post_only);
  s.Options("/reload", post_only);
}

void AdminServer::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    if (!server_->listen_after_bind()) spdlog::error("admin endpoint stopped on an error");
    ended_ = true;
  });
  // stop() only stops a server that runs: wait until it does, so that a stop() right after
  // start() is not lost (and join() would wait for ever).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running() && !ended_ && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void AdminServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace edge::admin
