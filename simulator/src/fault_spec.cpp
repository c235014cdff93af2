// FaultSpec from and to JSON, and from YAML with located errors.
#include "fault_params.hpp"

#include "kmslab/protocol/dns_text.hpp"
#include "kmslab/simulator/fault.hpp"
#include "kmslab/simulator/fault_actions.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace kmslab::simulator {

using nlohmann::json;
using detail::describe_json;

std::string_view to_string(FaultTarget target) noexcept {
  switch (target) {
    case FaultTarget::dns: return "dns";
    case FaultTarget::kms: return "kms";
    case FaultTarget::sntp: return "sntp";
  }
  return "?";
}

std::string_view to_string(KmsStage stage) noexcept {
  switch (stage) {
    case KmsStage::listener: return "listener";
    case KmsStage::accept: return "accept";
    case KmsStage::bind: return "bind";
    case KmsStage::request: return "request";
    case KmsStage::response: return "response";
  }
  return "?";
}

std::optional<FaultTarget> parse_fault_target(std::string_view text) noexcept {
  for (auto t : {FaultTarget::dns, FaultTarget::kms, FaultTarget::sntp})
    if (to_string(t) == text) return t;
  return std::nullopt;
}

std::string to_string(BindPdus pdus) {
  switch (pdus) {
    case BindPdus::exchange:
      return "exchange";
    case BindPdus::bind:
      return "bind";
    case BindPdus::alter_context:
      return "alter_context";
    case BindPdus::both:
      return "bind | alter_context";
  }
  return "?";
}

std::optional<BindPdus> parse_bind_pdus(std::string_view text) noexcept {
  auto trim = [](std::string_view t) {
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    return t;
  };
  if (trim(text) == "exchange") return BindPdus::exchange;
  unsigned bits = 0;
  for (;;) {
    const auto bar = text.find('|');
    const auto word = trim(text.substr(0, bar));
    if (word == "bind") bits |= static_cast<unsigned>(BindPdus::bind);
    else if (word == "alter_context") bits |= static_cast<unsigned>(BindPdus::alter_context);
    else return std::nullopt;
    if (bar == std::string_view::npos) break;
    text.remove_prefix(bar + 1);
  }
  return static_cast<BindPdus>(bits);
}

std::optional<KmsStage> parse_kms_stage(std::string_view text) noexcept {
  for (auto s : {KmsStage::listener, KmsStage::accept, KmsStage::bind, KmsStage::request, KmsStage::response})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

std::string FaultError::format() const { return field.empty() ? message : field + ": " + message; }

FaultException::FaultException(FaultError error) : error_(std::move(error)), what_(error_.format()) {}

void throw_exception_from_error(const FaultError& e, const boost::source_location&) { throw FaultException(e); }

namespace {

FaultError err(std::string field, std::string message) { return FaultError{std::move(field), std::move(message)}; }

std::optional<FaultError> unknown_key(const json& object, const std::vector<std::string>& allowed,
                                      const std::string& prefix) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    if (auto guess = config::nearest(key, allowed))
      return err(prefix + key, fmt::format("unknown key (did you mean '{}'?)", *guess));
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return err(prefix + key, fmt::format("unknown key (valid keys: {})", list));
  }
  return std::nullopt;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string stage_list(const FaultAction& a) {
  std::vector<std::string> names;
  for (auto s : a.stages) names.emplace_back(to_string(s));
  return join(names);
}

bool valid_name(std::string_view name) {
  return name.size() <= kMaxFaultNameLength &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-';
         });
}

FaultResult<const FaultAction*> find_action_for(FaultTarget target, const json& value) {
  if (!value.is_string()) return err("action", fmt::format("expected an action name, got {}", describe_json(value)));
  const auto name = value.get<std::string>();
  if (const auto* a = find_action(target, name)) return a;
  const auto names = action_names(target);
  for (auto other : {FaultTarget::dns, FaultTarget::kms, FaultTarget::sntp})
    if (other != target && find_action(other, name))
      return err("action", fmt::format("'{}' is a {} action, not a {} one ({} actions: {})", name, to_string(other),
                                       to_string(target), to_string(target), join(names)));
  if (auto guess = config::nearest(name, names))
    return err("action", fmt::format("unknown {} action '{}' (did you mean '{}'?)", to_string(target), name, *guess));
  return err("action", fmt::format("unknown {} action '{}' ({} actions: {})", to_string(target), name,
                                   to_string(target), join(names)));
}

FaultResult<std::chrono::milliseconds> read_limit_for(const json& value) {
  const auto expected = "a duration: milliseconds as a number, or text such as \"500ms\", \"2s\", \"1m\"";
  std::optional<std::chrono::nanoseconds> d;
  if (value.is_number_unsigned()) d = std::chrono::milliseconds(value.get<std::uint64_t>());
  else if (value.is_string()) d = config::parse_duration(value.get<std::string>(), "ms");
  if (!d || d->count() <= 0)
    return err("limit_for", fmt::format("expected {} (above zero), got {}", expected, describe_json(value)));
  if (*d > std::chrono::hours(24 * 365))
    return err("limit_for", "at most a year");
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

}  // namespace

FaultResult<FaultSpec> parse_fault_json(const json& j) {
  if (!j.is_object()) return err("", fmt::format("a fault is an object, got {}", describe_json(j)));
  if (auto bad = unknown_key(j, {"name", "target", "host", "match", "action", "params", "probability", "seed",
                                 "limit_first", "limit_for"},
                             ""))
    return *bad;
  FaultSpec s;
  if (auto it = j.find("name"); it != j.end()) {
    if (!it->is_string()) return err("name", fmt::format("expected a string, got {}", describe_json(*it)));
    s.name = it->get<std::string>();
    if (!valid_name(s.name))
      return err("name", fmt::format("'{}' must be at most {} characters of A-Z a-z 0-9 . _ -", s.name,
                                     kMaxFaultNameLength));
  }
  auto target_it = j.find("target");
  if (target_it == j.end()) return err("target", "missing: dns, kms or sntp");
  const std::string target_text = target_it->is_string() ? target_it->get<std::string>() : describe_json(*target_it);
  auto target = target_it->is_string() ? parse_fault_target(target_text) : std::nullopt;
  if (!target) {
    const auto guess = config::nearest(target_text, {"dns", "kms", "sntp"});
    return err("target", fmt::format("expected dns, kms or sntp, got '{}'{}", target_text,
                                     guess ? fmt::format(" (did you mean '{}'?)", *guess) : ""));
  }
  s.target = *target;
  auto action_it = j.find("action");
  if (action_it == j.end()) return err("action", fmt::format("missing: one of {}", join(action_names(s.target))));
  auto action = find_action_for(s.target, *action_it);
  if (!action) return action.error();
  const FaultAction& a = **action;
  s.action = a.name;

  if (auto it = j.find("host"); it != j.end()) {
    if (s.target != FaultTarget::kms) return err("host", "only KMS faults name a host");
    if (!it->is_string()) return err("host", fmt::format("expected a KMS host name, got {}", describe_json(*it)));
    s.host = it->get<std::string>();
  }

  if (s.target == FaultTarget::kms) s.stage = a.stages.front();
  if (auto it = j.find("match"); it != j.end()) {
    if (!it->is_object()) return err("match", fmt::format("expected an object, got {}", describe_json(*it)));
    if (s.target == FaultTarget::dns) {
      if (auto bad = unknown_key(*it, {"name", "type"}, "match.")) return *bad;
      if (auto n = it->find("name"); n != it->end()) {
        if (!n->is_string() || n->get<std::string>().empty())
          return err("match.name", fmt::format("expected a name glob such as \"_vlmcs._tcp.*\", got {}", describe_json(*n)));
        s.dns.name = n->get<std::string>();
      }
      if (auto t = it->find("type"); t != it->end()) {
        if (!t->is_string()) return err("match.type", fmt::format("expected a record type, got {}", describe_json(*t)));
        std::string type = t->get<std::string>();
        std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::toupper(c); });
        if (type != "*" && !protocol::dns::parse_type(type))
          return err("match.type", fmt::format("'{}' is not a record type (SRV, A, AAAA, TXT, ANY, ... or *)", type));
        s.dns.type = type;
      }
    } else if (s.target == FaultTarget::kms) {
      if (auto bad = unknown_key(*it, {"stage", "pdu"}, "match.")) return *bad;
      if (auto st = it->find("stage"); st != it->end()) {
        auto stage = st->is_string() ? parse_kms_stage(st->get<std::string>()) : std::nullopt;
        if (!stage)
          return err("match.stage", fmt::format("expected accept, bind, request or response, got {}", describe_json(*st)));
        if (std::find(a.stages.begin(), a.stages.end(), *stage) == a.stages.end())
          return err("match.stage", fmt::format("action '{}' acts at {}, not at {}", a.name, stage_list(a),
                                                to_string(*stage)));
        s.stage = *stage;
      }
      if (auto pdu = it->find("pdu"); pdu != it->end()) {
        if (s.stage != KmsStage::bind)
          return err("match.pdu", fmt::format("only a fault at stage bind selects PDUs; this one acts at {}",
                                              to_string(s.stage)));
        auto pdus = pdu->is_string() ? parse_bind_pdus(pdu->get<std::string>()) : std::nullopt;
        if (!pdus)
          return err("match.pdu", fmt::format("expected bind, alter_context, \"bind | alter_context\" or exchange, got {}",
                                              describe_json(*pdu)));
        s.bind_pdus = *pdus;
      }
    } else {
      if (auto bad = unknown_key(*it, {}, "match.")) return *bad;
    }
  }

  const json params = j.contains("params") ? j.at("params") : json::object();
  auto parsed = a.parse(params, a.name);
  if (!parsed) return parsed.error();
  s.params = a.params_to_json(*parsed);

  if (auto it = j.find("probability"); it != j.end()) {
    if (!it->is_number() || it->get<double>() < 0.0 || it->get<double>() > 1.0)
      return err("probability", fmt::format("expected a number in 0..1, got {}", describe_json(*it)));
    s.probability = it->get<double>();
  }
  if (auto it = j.find("seed"); it != j.end()) {
    if (!it->is_number_unsigned()) return err("seed", fmt::format("expected a whole number >= 0, got {}", describe_json(*it)));
    s.seed = it->get<std::uint64_t>();
  }
  if (auto it = j.find("limit_first"); it != j.end()) {
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0)
      return err("limit_first", fmt::format("expected a count of at least 1, got {}", describe_json(*it)));
    s.limit_first = it->get<std::uint64_t>();
  }
  if (auto it = j.find("limit_for"); it != j.end()) {
    auto d = read_limit_for(*it);
    if (!d) return d.error();
    s.limit_for = *d;
  }
  if (a.listener_refused || a.listener_filtered) {
    // A listener state holds while the fault exists; per-connection knobs have nothing to count.
    if (s.probability != 1.0) return err("probability", fmt::format("'{}' is a listener state: no probability", a.name));
    if (s.limit_first) return err("limit_first", fmt::format("'{}' is a listener state: remove the fault to end it", a.name));
    if (s.limit_for) return err("limit_for", fmt::format("'{}' is a listener state: remove the fault to end it", a.name));
  }
  return s;
}

json to_json(const FaultSpec& s) {
  json j;
  if (!s.name.empty()) j["name"] = s.name;
  j["target"] = to_string(s.target);
  if (!s.host.empty()) j["host"] = s.host;
  if (s.target == FaultTarget::dns) j["match"] = {{"name", s.dns.name}, {"type", s.dns.type}};
  if (s.target == FaultTarget::kms) {
    j["match"] = {{"stage", to_string(s.stage)}};
    if (s.bind_pdus != BindPdus::exchange) j["match"]["pdu"] = to_string(s.bind_pdus);
  }
  j["action"] = s.action;
  j["params"] = s.params.is_object() ? s.params : json::object();
  j["probability"] = s.probability;
  if (s.seed) j["seed"] = *s.seed;
  if (s.limit_first) j["limit_first"] = *s.limit_first;
  if (s.limit_for) j["limit_for"] = static_cast<std::uint64_t>(s.limit_for->count());
  return j;
}

json yaml_to_json(const YAML::Node& node) {
  if (!node || node.IsNull()) return nullptr;
  if (node.IsSequence()) {
    json out = json::array();
    for (const auto& item : node) out.push_back(yaml_to_json(item));
    return out;
  }
  if (node.IsMap()) {
    json out = json::object();
    for (const auto& kv : node) out[kv.first.Scalar()] = yaml_to_json(kv.second);
    return out;
  }
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: always a string
  if (text == "true" || text == "True") return true;
  if (text == "false" || text == "False") return false;
  if (text == "~" || text == "null") return nullptr;
  if (!text.empty()) {
    const char* first = text.data();
    const char* last = first + text.size();
    if (text[0] == '-') {
      std::int64_t v = 0;
      if (auto [p, ec] = std::from_chars(first, last, v); ec == std::errc() && p == last) return v;
    } else {
      std::uint64_t v = 0;
      if (auto [p, ec] = std::from_chars(first + (text[0] == '+' ? 1 : 0), last, v); ec == std::errc() && p == last)
        return v;
    }
    if (text.find_first_not_of("0123456789+-.eE") == std::string::npos) {
      char* end = nullptr;
      const double d = std::strtod(text.c_str(), &end);
      if (end == text.c_str() + text.size()) return d;
    }
  }
  return text;
}

FaultSpec read_fault(const config::ConfigNode& node) {
  node.expect_map();
  auto parsed = parse_fault_json(yaml_to_json(node.yaml()));
  if (parsed) return *parsed;
  // Walk the error's field path ("params.products[1]") as far as the YAML has it, and fail there.
  config::ConfigNode at = node;
  // result<>::error() returns a copy: keep it, or `path` would view a destroyed temporary.
  const FaultError problem = parsed.error();
  std::string_view path = problem.field;
  bool reached = true;
  while (!path.empty()) {
    reached = false;
    const auto cut = path.find_first_of(".[");
    const std::string key(path.substr(0, cut));
    path = cut == std::string_view::npos ? std::string_view{} : path.substr(cut);
    if (!key.empty()) {
      if (!at.is_map() || !at.has(key)) break;
      at = at.child(key);
    }
    if (path.starts_with('.')) path.remove_prefix(1);
    if (path.starts_with('[')) {
      const auto close = path.find(']');
      std::size_t index = 0;
      std::from_chars(path.data() + 1, path.data() + close, index);
      path = path.substr(close + 1);
      if (path.starts_with('.')) path.remove_prefix(1);
      if (!at.is_sequence() || index >= at.items().size()) break;
      at = at.items()[index];
    }
    reached = true;
  }
  // A key the YAML does not have (a missing or unknown one): name it in the message.
  at.fail(reached ? parsed.error().message : parsed.error().format());
}

}  // namespace kmslab::simulator
