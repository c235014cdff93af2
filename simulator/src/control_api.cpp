#include "kmslab/simulator/control_api.hpp"

#include "kmslab/config/json_input.hpp"
#include "kmslab/protocol/utf16.hpp"
#include "kmslab/simulator/fault_actions.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <string_view>

namespace kmslab::simulator {

namespace http = net::http;
using nlohmann::json;

namespace {

net::HttpResponse reply(const net::HttpRequest& req, http::status status, const json& body) {
  return net::make_http_response(req, status, body.dump() + "\n");
}

net::HttpResponse error(const net::HttpRequest& req, http::status status, std::string message, std::string field = {}) {
  json body = {{"error", std::move(message)}};
  if (!field.empty()) body["field"] = std::move(field);
  return reply(req, status, body);
}

// A listener fault's status with what the hosts it covers know: the connects they turned away,
// summed, when every one of them counted (an nftables rule); otherwise it stays unknown (null).
json listener_fault_json(FaultStatus status, Site& site) {
  if (!status.listener) return status.to_json();
  std::uint64_t total = 0;
  bool known = true;
  bool any = false;
  std::string unseen;
  for (const auto& host : site.kms_hosts()) {
    if (!status.spec.host.empty() && host->name() != status.spec.host) continue;
    const auto stats = host->listener_stats();
    if (!stats || stats->state == net::ListenerState::open) continue;  // not (yet) in the state
    any = true;
    if (stats->turned_away) {
      total += *stats->turned_away;
    } else {
      known = false;
      if (unseen.empty()) unseen = stats->unseen;
    }
  }
  if (any && known) {
    status.turned_away = total;
    status.counted_by = "nftables";
  } else {
    status.unseen = any ? unseen : "the listener has not entered the state yet";
  }
  return status.to_json();
}

net::HttpResponse not_allowed(const net::HttpRequest& req, std::string_view allow) {
  auto res = error(req, http::status::method_not_allowed,
                   fmt::format("{} is not allowed here (allowed: {})", std::string(req.method_string()), allow));
  res.set(http::field::allow, allow);
  return res;
}

// The body as a JSON object, or an error response.
std::optional<json> body_object(const net::HttpRequest& req, net::HttpResponse& failure) {
  // The same door as every JSON file input: nesting capped before anything is built, and a syntax
  // error located as "request body:line:column: not valid JSON: ...".
  auto parsed = config::parse_json_input(req.body(), "request body");
  if (!parsed) {
    failure = error(req, http::status::bad_request, parsed.error().format());
    return std::nullopt;
  }
  json body = std::move(*parsed);
  if (!body.is_object()) {
    failure = error(req, http::status::bad_request, "the body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

json actions_json() {
  json out = json::array();
  for (const auto& a : registered_actions()) {
    json stages = json::array();
    for (auto s : a.stages) stages.push_back(to_string(s));
    json entry = {{"target", to_string(a.target)}, {"action", a.name}, {"summary", a.summary}, {"params", a.params}};
    if (a.target == FaultTarget::kms) entry["stages"] = stages;
    out.push_back(entry);
  }
  return out;
}

}  // namespace

ControlApi::ControlApi(Site& site, ControlApiOptions options) : site_(site), options_(std::move(options)) {}

ControlApi::~ControlApi() { stop(); }

boost::system::result<net::tcp::endpoint, std::string> ControlApi::start(net::asio::any_io_executor executor) {
  net::HttpServerOptions http_options;
  http_options.listen = options_.listen;
  http_options.bearer_token = options_.token;
  http_options.body_limit = options_.body_limit;
  http_options.max_connections = options_.max_connections;
  http_options.read_timeout = options_.read_timeout;
  server_ = std::make_unique<net::HttpServer>(std::move(executor), http_options,
                                              [this](const net::HttpRequest& req) { return handle(req); });
  auto started = server_->start();
  if (!started) return "control API: " + started.error();
  return *started;
}

void ControlApi::stop() {
  if (server_) server_->stop();
}

net::tcp::endpoint ControlApi::endpoint() const { return server_ ? server_->endpoint() : net::tcp::endpoint{}; }

net::HttpResponse ControlApi::handle(const net::HttpRequest& req) {
  std::string_view path(req.target().data(), req.target().size());
  path = path.substr(0, path.find('?'));
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const auto method = req.method();
  FaultEngine& faults = site_.faults();
  // Names of faults and hosts are UTF-8 (they come from JSON and YAML), so a path that is not
  // cannot name anything; say so rather than echo the bytes into a JSON answer.
  if (protocol::find_invalid_utf8(path) != std::string_view::npos)
    return error(req, http::status::bad_request,
                 fmt::format("the request path is not UTF-8: {}", protocol::escape_text(path)));

  if (path == "/healthz") {
    if (method != http::verb::get) return not_allowed(req, "GET");
    return reply(req, http::status::ok, {{"status", "ok"}});
  }
  if (path == "/faults") {
    if (method == http::verb::get) {
      json list = json::array();
      for (const auto& f : faults.list()) list.push_back(listener_fault_json(f, site_));
      return reply(req, http::status::ok, {{"faults", list}});
    }
    if (method == http::verb::post) {
      net::HttpResponse failure;
      auto body = body_object(req, failure);
      if (!body) return failure;
      auto added = faults.add_json(*body);
      if (!added) {
        const bool taken = added.error().field == "name" && added.error().message.find("exists") != std::string::npos;
        return error(req, taken ? http::status::conflict : http::status::bad_request, added.error().format(),
                     added.error().field);
      }
      return reply(req, http::status::created, listener_fault_json(*added, site_));
    }
    if (method == http::verb::delete_) return reply(req, http::status::ok, {{"removed", faults.clear()}});
    return not_allowed(req, "GET, POST, DELETE");
  }
  if (path.starts_with("/faults/")) {
    const std::string name(path.substr(8));
    if (method == http::verb::get) {
      auto found = faults.find(name);
      if (!found) return error(req, http::status::not_found, fmt::format("no fault named '{}'", name));
      return reply(req, http::status::ok, listener_fault_json(*found, site_));
    }
    if (method == http::verb::delete_) {
      if (!faults.remove(name)) return error(req, http::status::not_found, fmt::format("no fault named '{}'", name));
      return reply(req, http::status::ok, {{"removed", name}});
    }
    return not_allowed(req, "GET, DELETE");
  }
  if (path == "/listeners") {
    if (method != http::verb::get) return not_allowed(req, "GET");
    json states = json::object();
    for (const auto& [host, state] : faults.listener_states()) states[host] = to_string(state);
    return reply(req, http::status::ok, states);
  }
  if (path.starts_with("/listeners/")) {
    if (method != http::verb::put) return not_allowed(req, "PUT");
    const std::string host(path.substr(11));
    if (!site_.kms_host(host)) return error(req, http::status::not_found, fmt::format("no KMS host named '{}'", host));
    net::HttpResponse failure;
    auto body = body_object(req, failure);
    if (!body) return failure;
    auto it = body->find("state");
    auto state = it != body->end() && it->is_string() ? parse_listener_state(it->get<std::string>()) : std::nullopt;
    if (!state) return error(req, http::status::bad_request, "expected {\"state\": \"open|refused|filtered|filtered_nftables\"}", "state");
    auto set = faults.set_listener_state(host, *state);
    if (!set) return error(req, http::status::bad_request, set.error().format(), set.error().field);
    return reply(req, http::status::ok,
                 {{"host", host}, {"state", to_string(*state)}, {"effective", to_string(faults.listener_state(host))}});
  }
  if (path == "/counters") {
    if (method != http::verb::get) return not_allowed(req, "GET");
    json counters = site_.counters();
    json engine = faults.counters_json();
    json listed = json::array();
    for (const auto& f : faults.list()) listed.push_back(listener_fault_json(f, site_));
    counters["faults"] = listed;
    counters["listeners"] = engine["listeners"];
    return reply(req, http::status::ok, counters);
  }
  if (path == "/reset") {
    if (method != http::verb::post) return not_allowed(req, "POST");
    faults.reset();
    site_.reset_counters();
    return reply(req, http::status::ok, {{"reset", true}});
  }
  if (path == "/metrics" && options_.metrics) {
    if (method != http::verb::get) return not_allowed(req, "GET");
    return options_.metrics(req);
  }
  if (path == "/actions") {
    if (method != http::verb::get) return not_allowed(req, "GET");
    return reply(req, http::status::ok, {{"actions", actions_json()}});
  }
  return error(req, http::status::not_found, fmt::format("no route {}", std::string(path)));
}

}  // namespace kmslab::simulator
