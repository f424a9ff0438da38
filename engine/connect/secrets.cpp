#include "connect/secrets.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/scrub.hpp"

namespace spokeflow::connect {
namespace {

// Secret files hold a token or a PEM key; anything larger is a wrong path, not a secret.
constexpr std::uintmax_t kMaxSecretFileBytes = 1u << 20;

std::string trim_one_newline(std::string s) {
  if (!s.empty() && s.back() == '\n') {
    s.pop_back();
    if (!s.empty() && s.back() == '\r') s.pop_back();
  }
  return s;
}

Error no_vault_error(const SecretRef& ref) {
  return Error::make(ErrorKind::auth,
                     ref.describe() + " is in the secrets vault, but no master key was found: set SPOKEFLOW_MASTER_KEY "
                                      "(or SPOKEFLOW_MASTER_KEY_FILE), or create the key file with "
                                      "`spokeflow secrets init`, then store the value with `spokeflow secrets set " +
                         ref.name + "`");
}

}  // namespace

std::string SecretRef::describe() const {
  switch (source) {
    case Source::vault:
      return "secret '" + name + "'";
    case Source::env:
      return "environment variable " + name;
    case Source::file:
      return "file " + name;
  }
  return name;
}

SecretResolver::SecretResolver(std::shared_ptr<Vault> vault, std::string base_dir, std::string vault_problem)
    : vault_(std::move(vault)), base_dir_(std::move(base_dir)), vault_problem_(std::move(vault_problem)) {}

Error SecretResolver::vault_error(const SecretRef& ref) const {
  if (vault_problem_.empty()) return no_vault_error(ref);
  return Error::make(ErrorKind::auth,
                     ref.describe() + " is in the secrets vault, which cannot be used: " + vault_problem_);
}

Result<std::string> SecretResolver::resolve(const SecretRef& ref) const {
  std::string value;
  switch (ref.source) {
    case SecretRef::Source::env: {
      const char* v = std::getenv(ref.name.c_str());
      if (v == nullptr || *v == '\0')
        return Error::make(ErrorKind::auth, "environment variable " + ref.name +
                                                (v == nullptr ? " is not set" : " is empty") +
                                                ": set it to the secret's value before running");
      value = v;
      break;
    }
    case SecretRef::Source::file: {
      namespace fs = std::filesystem;
      fs::path p(ref.name);
      if (p.is_relative() && !base_dir_.empty()) p = fs::path(base_dir_) / p;
      const std::string shown = p.string();
      std::error_code ec;
      if (!fs::is_regular_file(p, ec))
        return Error::make(ErrorKind::auth, "cannot read secret file " + shown + ": " +
                                                (ec ? ec.message() : std::string("not a regular file")));
      const auto size = fs::file_size(p, ec);
      if (ec) return Error::make(ErrorKind::auth, "cannot read secret file " + shown + ": " + ec.message());
      if (size > kMaxSecretFileBytes)
        return Error::make(ErrorKind::auth, "secret file " + shown + " is larger than 1 MiB; is the path right?");
      std::ifstream in(p, std::ios::binary);
      if (!in) return Error::make(ErrorKind::auth, "cannot read secret file " + shown + ": " + std::strerror(errno));
      std::ostringstream ss;
      ss << in.rdbuf();
      if (in.bad()) return Error::make(ErrorKind::auth, "cannot read secret file " + shown);
      value = trim_one_newline(std::move(ss).str());
      if (value.empty()) return Error::make(ErrorKind::auth, "secret file " + shown + " is empty");
      break;
    }
    case SecretRef::Source::vault: {
      if (!vault_) return vault_error(ref);
      auto r = vault_->get(ref.name);
      if (!r) {
        Error e = std::move(r).error();
        return e;
      }
      value = std::move(r).value();
      break;
    }
  }
  SecretScrubber::instance().add(value);
  return value;
}

Result<Unit> SecretResolver::store(const SecretRef& ref, std::string_view value) const {
  if (ref.source != SecretRef::Source::vault)
    return Error::make(ErrorKind::validation, "cannot store a value in " + ref.describe() +
                                                  ": only {secret: NAME} references can be written; "
                                                  "change the reference to {secret: NAME}");
  if (!vault_) return vault_error(ref);
  SecretScrubber::instance().add(value);
  return vault_->set(ref.name, value);
}

}  // namespace spokeflow::connect
