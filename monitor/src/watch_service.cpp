// The HTTP side of `kmslab watch` and config reloads.
#include "kmslab/monitor/watch_service.hpp"

#include <fmt/format.h>

#include "kmslab/monitor/probe_summary.hpp"

namespace kmslab::monitor {

namespace http = net::http;
namespace asio = net::asio;

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_digit(text[i + 1]), lo = hex_digit(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

net::HttpResponse text(const net::HttpRequest& req, http::status status, std::string body,
                       std::string_view type = "text/plain; charset=utf-8") {
  return net::make_http_response(req, status, std::move(body), type);
}

}  // namespace

std::optional<std::string> query_parameter(std::string_view request_target, std::string_view key) {
  const auto q = request_target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = request_target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    const auto name = percent_decode(pair.substr(0, eq));
    if (!name || *name != key) continue;
    return percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
  }
  return std::nullopt;
}

WatchService::WatchService(asio::any_io_executor executor, WatchConfig config, WatchServiceOptions options)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      options_(std::move(options)),
      metrics_(config_.buckets, options_.version),
      scheduler_(executor_, metrics_, options_.probe, options_.now) {}

WatchService::~WatchService() { stop(); }

boost::system::result<net::tcp::endpoint, std::string> WatchService::start() {
  net::HttpServerOptions http_options;
  http_options.listen = options_.listen.empty() ? config_.listen : options_.listen;
  http_options.bearer_token = options_.token;
  server_ = std::make_unique<net::HttpServer>(
      executor_, http_options, net::AsyncHttpHandler([this](net::HttpRequest req) { return handle(std::move(req)); }));
  auto started = server_->start();
  if (!started) return "watch: " + started.error();
  metrics_.apply_config(config_);
  metrics_.reload_attempted(true, options_.now ? options_.now() : std::chrono::system_clock::now());
  scheduler_.start(config_);
  return *started;
}

void WatchService::stop() {
  scheduler_.stop();
  if (server_) server_->stop();
}

net::tcp::endpoint WatchService::endpoint() const { return server_ ? server_->endpoint() : net::tcp::endpoint{}; }

config::ConfigResult<void> WatchService::reload() {
  const auto at = options_.now ? options_.now() : std::chrono::system_clock::now();
  auto loaded = load_watch_config(options_.config_file);
  if (!loaded) {
    metrics_.reload_attempted(false, at);
    return loaded.error();
  }
  config_ = std::move(*loaded);
  metrics_.apply_config(config_);
  metrics_.reload_attempted(true, at);
  scheduler_.start(config_);
  return {};
}

asio::awaitable<net::HttpResponse> WatchService::handle(net::HttpRequest req) {
  std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  const bool known = path == "/metrics" || path == "/probe" || path == "/healthz" || path == "/";
  if (!known) co_return text(req, http::status::not_found, fmt::format("no route {}\n", path));
  if (req.method() != http::verb::get) {
    auto res = text(req, http::status::method_not_allowed, "only GET is allowed here\n");
    res.set(http::field::allow, "GET");
    co_return res;
  }
  if (path == "/metrics")
    co_return text(req, http::status::ok, metrics_.render(), kExpositionContentType);
  if (path == "/healthz") co_return text(req, http::status::ok, "ok\n");
  if (path == "/") {
    co_return text(req, http::status::ok,
                   "<html><head><title>kmslab watch</title></head><body><h1>kmslab watch</h1>"
                   "<p><a href=\"/metrics\">Metrics</a></p>"
                   "<p>One probe: <code>/probe?module=M&amp;target=T</code></p></body></html>\n",
                   "text/html; charset=utf-8");
  }
  co_return co_await probe_once(req);
}

asio::awaitable<net::HttpResponse> WatchService::probe_once(const net::HttpRequest& req) {
  std::string_view target_text(req.target().data(), req.target().size());
  const auto module_name = query_parameter(target_text, "module");
  const auto target = query_parameter(target_text, "target");
  if (!module_name || module_name->empty())
    co_return text(req, http::status::bad_request, "missing the module parameter (/probe?module=M&target=T)\n");
  if (!target || target->empty())
    co_return text(req, http::status::bad_request, "missing the target parameter (/probe?module=M&target=T)\n");
  auto found = config_.modules.find(*module_name);
  if (found == config_.modules.end())
    co_return text(req, http::status::bad_request, fmt::format("unknown module '{}'\n", *module_name));
  // Copies: a reload while this probe runs must not pull the module from under it.
  const WatchModule module = found->second;
  const auto buckets = config_.buckets;
  const std::uint64_t seed = target_seed(config_.seed, *target) + ++probe_requests_;
  auto probe_config = probe_config_for(module, *target, seed);
  if (!probe_config)
    co_return text(req, http::status::bad_request, fmt::format("target '{}': {}\n", *target, probe_config.error().detail));
  ProbeFunction probe = options_.probe;
  if (!probe) probe = [](client::ProbeConfig c) { return client::run_probe(std::move(c)); };
  const auto started = std::chrono::steady_clock::now();
  auto run = co_await run_with_deadline(probe, std::move(*probe_config), module.timeout);
  const auto at = options_.now ? options_.now() : std::chrono::system_clock::now();
  WatchMetrics one(buckets, options_.version);
  WatchTarget t;
  t.name = *target;
  t.module = module.name;
  t.target = *target;
  if (run) one.record(t, summarize(*run), at);
  else one.record_timeout(t, std::chrono::steady_clock::now() - started, at);
  // The watch's own reload state says nothing about this one probe.
  auto families = one.families();
  std::erase_if(families, [](const MetricFamily& f) { return f.name.starts_with("kmslab_watch_config_"); });
  auto page = render(families);
  if (!page)
    co_return text(req, http::status::internal_server_error, fmt::format("cannot render: {}\n", page.error().message()));
  co_return text(req, http::status::ok, std::move(*page), kExpositionContentType);
}

}  // namespace kmslab::monitor
