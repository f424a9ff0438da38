#include "serve/config.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>

namespace spokeflow::serve {
namespace {

SourcePos at(const YAML::Node& n) { return {n.Mark().line + 1, n.Mark().column + 1}; }

class Reader {
 public:
  explicit Reader(Diagnostics& d) : d_(d) {}

  bool keys(const YAML::Node& map, const std::set<std::string>& allowed, const std::string& where) {
    if (!map.IsMap()) {
      d_.error(at(map), where + " must be a mapping");
      return false;
    }
    bool ok = true;
    for (const auto& kv : map) {
      const std::string k = kv.first.Scalar();
      if (!allowed.count(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        d_.error(at(kv.first), "unknown key '" + k + "' in " + where + " (known: " + list + ")");
        ok = false;
      }
    }
    return ok;
  }
  std::optional<std::string> text(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar() || n.Scalar().empty()) {
      d_.error(at(n), what + " must be a non-empty string");
      return std::nullopt;
    }
    return n.Scalar();
  }
  std::optional<long long> integer(const YAML::Node& n, const std::string& what, long long lo, long long hi) {
    try {
      if (n.IsScalar()) {
        const long long v = n.as<long long>();
        if (v >= lo && v <= hi) return v;
      }
    } catch (const YAML::Exception&) {
    }
    d_.error(at(n), what + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    return std::nullopt;
  }
  std::optional<Millis> duration(const YAML::Node& n, const std::string& what) {
    if (n.IsScalar())
      if (auto d = parse_duration(n.Scalar())) return d;
    d_.error(at(n), what + " must be a duration (such as 500ms, 30s, 5m)");
    return std::nullopt;
  }
  std::optional<connect::SecretRef> secret(const YAML::Node& n, const std::string& what) {
    if (!n.IsMap() || n.size() != 1) {
      d_.error(at(n), what + " must be one of {secret: NAME} (the vault), {env: VARIABLE} or {file: PATH}");
      return std::nullopt;
    }
    const auto kv = *n.begin();
    connect::SecretRef ref;
    ref.pos = at(n);
    const std::string k = kv.first.Scalar();
    if (k == "secret") ref.source = connect::SecretRef::Source::vault;
    else if (k == "env") ref.source = connect::SecretRef::Source::env;
    else if (k == "file") ref.source = connect::SecretRef::Source::file;
    else {
      d_.error(at(kv.first), what + ": unknown source '" + k + "' (secret, env or file)");
      return std::nullopt;
    }
    auto name = text(kv.second, what + "." + k);
    if (!name) return std::nullopt;
    ref.name = *name;
    return ref;
  }

 private:
  Diagnostics& d_;
};

}  // namespace

std::optional<std::pair<std::string, unsigned short>> split_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = text.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const long p = std::stol(port);
  if (p > 65535) return std::nullopt;
  return std::make_pair(host, static_cast<unsigned short>(p));
}

std::optional<ServeConfig> load_serve_config(const std::string& path, Diagnostics& d) {
  ServeConfig c;
  c.file = path;
  d = Diagnostics(path);
  YAML::Node root;
  try {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      d.error({}, "cannot read the service's config: no such file");
      return std::nullopt;
    }
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    d.error({e.mark.line + 1, e.mark.column + 1}, "not valid YAML: " + e.msg);
    return std::nullopt;
  }
  if (root.IsNull()) return c;
  Reader r(d);
  if (!r.keys(root, {"listen", "flows_dir", "worker", "limits", "hooks", "tls", "retention"}, "the config")) {
    if (!root.IsMap()) return std::nullopt;
  }
  if (auto n = root["listen"]) {
    if (auto v = r.text(n, "listen")) {
      if (!split_listen(*v)) d.error(at(n), "listen must be ADDRESS:PORT (such as 127.0.0.1:8080)");
      c.listen = *v;
    }
  }
  if (auto n = root["flows_dir"])
    if (auto v = r.text(n, "flows_dir")) c.flows_dir = *v;
  if (auto w = root["worker"]; w && r.keys(w, {"concurrency", "lease", "park_after", "drain_grace"}, "worker")) {
    if (auto n = w["concurrency"])
      if (auto v = r.integer(n, "worker.concurrency", 1, 10'000)) c.concurrency = static_cast<int>(*v);
    if (auto n = w["lease"])
      if (auto v = r.duration(n, "worker.lease")) c.lease = n.Scalar();
    if (auto n = w["park_after"])
      if (auto v = r.duration(n, "worker.park_after")) c.park_after = n.Scalar();
    if (auto n = w["drain_grace"])
      if (auto v = r.duration(n, "worker.drain_grace")) c.drain_grace = *v;
  }
  if (auto l = root["limits"];
      l && r.keys(l, {"max_body_bytes", "max_header_bytes", "read_timeout", "max_connections", "max_wait", "handshake_timeout"},
                  "limits")) {
    if (auto n = l["max_body_bytes"])
      if (auto v = r.integer(n, "limits.max_body_bytes", 1024, 64ll << 20)) c.limits.max_body = static_cast<std::size_t>(*v);
    if (auto n = l["max_header_bytes"])
      if (auto v = r.integer(n, "limits.max_header_bytes", 1024, 1 << 20)) c.limits.max_header = static_cast<std::size_t>(*v);
    if (auto n = l["read_timeout"])
      if (auto v = r.duration(n, "limits.read_timeout")) c.limits.read_timeout = *v;
    if (auto n = l["max_connections"])
      if (auto v = r.integer(n, "limits.max_connections", 1, 100'000)) c.limits.max_connections = static_cast<int>(*v);
    if (auto n = l["max_wait"])
      if (auto v = r.duration(n, "limits.max_wait")) c.max_wait = *v;
    if (auto n = l["handshake_timeout"])
      if (auto v = r.duration(n, "limits.handshake_timeout")) c.limits.handshake_timeout = *v;
  }
  if (auto h = root["hooks"]) {
    if (!h.IsMap()) {
      d.error(at(h), "hooks must be a mapping of hook names to {authorization: ...}");
    } else {
      for (const auto& kv : h) {
        const std::string name = kv.first.Scalar();
        if (name.empty() || name.size() > 64 || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos) {
          d.error(at(kv.first), "hook name '" + name + "' must be 1-64 of a-z, 0-9, _ and - (it is the URL's last segment)");
          continue;
        }
        if (!r.keys(kv.second, {"authorization"}, "hooks." + name)) continue;
        auto a = kv.second["authorization"];
        if (!a) {
          d.error(at(kv.second), "hooks." + name + " needs 'authorization': where the header value Okta sends is kept");
          continue;
        }
        if (auto ref = r.secret(a, "hooks." + name + ".authorization")) c.hooks[name] = HookSetting{name, *ref};
      }
    }
  }
  // Unknown keys are reported, and the known ones beside them still checked.
  if (auto t = root["tls"]; t && (r.keys(t, {"cert", "key"}, "tls") || t.IsMap())) {
    const auto dir = std::filesystem::path(path).parent_path();
    for (const char* k : {"cert", "key"}) {
      auto n = t[k];
      if (!n) {
        d.error(at(t), std::string("tls needs '") + k + "': the PEM " + (k == std::string("cert") ? "certificate chain" : "private key") + " file");
        continue;
      }
      auto v = r.text(n, std::string("tls.") + k);
      if (!v) continue;
      std::filesystem::path file = *v;
      if (file.is_relative()) file = dir / file;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(file, ec)) {
        d.error(at(n), std::string("tls.") + k + ": no such file '" + file.string() + "'");
        continue;
      }
      (k == std::string("cert") ? c.tls_cert : c.tls_key) = file.string();
    }
  }
  if (auto t = root["retention"]; t && (r.keys(t, {"interval", "max_age", "keep_last", "batch", "flows"}, "retention") || t.IsMap())) {
    c.retention.enabled = true;
    auto rule = [&](const YAML::Node& n, const std::string& where, RetentionRule& out) {
      if (auto a = n["max_age"])
        if (auto v = r.duration(a, where + ".max_age")) {
          if (v->count() > 0) out.max_age = *v;
          else d.error(at(a), where + ".max_age must be longer than 0");
        }
      if (auto k = n["keep_last"])
        if (auto v = r.integer(k, where + ".keep_last", 1, 100'000'000)) out.keep_last = static_cast<int>(*v);
    };
    rule(t, "retention", c.retention.all);
    if (auto n = t["interval"])
      if (auto v = r.duration(n, "retention.interval")) {
        if (v->count() >= 1000) c.retention.interval = *v;
        else d.error(at(n), "retention.interval must be at least 1s");
      }
    if (auto n = t["batch"])
      if (auto v = r.integer(n, "retention.batch", 1, 10'000)) c.retention.batch = static_cast<int>(*v);
    bool any = !c.retention.all.empty();
    if (auto fl = t["flows"]) {
      if (!fl.IsMap()) {
        d.error(at(fl), "retention.flows must be a mapping of flow names to {max_age, keep_last} ({} keeps them all)");
      } else {
        for (const auto& kv : fl) {
          const std::string name = kv.first.Scalar();
          const std::string where = "retention.flows." + name;
          any = true;
          if (kv.second.IsNull()) {
            c.retention.flows[name] = {};
            continue;
          }
          if (!r.keys(kv.second, {"max_age", "keep_last"}, where) && !kv.second.IsMap()) continue;
          rule(kv.second, where, c.retention.flows[name]);
        }
      }
    }
    if (!any)
      d.error(at(t), "retention needs max_age or keep_last (for every flow, or per flow under flows:)");
  }
  if (!d.empty()) return std::nullopt;
  return c;
}

}  // namespace spokeflow::serve
