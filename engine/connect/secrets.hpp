#pragma once
// Resolves a connections file's secret references to their values. Every resolved value is
// registered with the process's SecretScrubber, so it can never reach a log or record in clear.
#include <functional>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "connect/config.hpp"
#include "connect/vault.hpp"

namespace spokeflow::connect {

class SecretResolver {
 public:
  // `vault` may be null: {secret: ...} references then fail with `vault_problem` (why the vault
  // could not be opened: a corrupt or unreadable file, a key that does not open it, a key file
  // refused), or, when that is empty (no master key given at all), with a message saying to
  // set SPOKEFLOW_MASTER_KEY (or create the key file) and `spokeflow secrets set NAME`.
  SecretResolver(std::shared_ptr<Vault> vault, std::string base_dir, std::string vault_problem = {});
  // The value (trailing newline of a file trimmed). Errors name the reference, never a value.
  Result<std::string> resolve(const SecretRef& ref) const;
  // Stores a value in the vault under the reference's name (auth login's refresh token).
  Result<Unit> store(const SecretRef& ref, std::string_view value) const;
  Vault* vault() const { return vault_.get(); }

 private:
  Error vault_error(const SecretRef& ref) const;

  std::shared_ptr<Vault> vault_;
  std::string base_dir_;
  std::string vault_problem_;
};

}  // namespace spokeflow::connect
