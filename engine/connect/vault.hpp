#pragma once
// The secrets vault: a file of named values, each sealed with AES-256-GCM under a master key
// that is not stored beside it (a fresh 96-bit nonce per value, the name bound as associated
// data so a value cannot be moved to another name). The file is replaced atomically
// (write to a temporary file in the same folder, fsync, rename) and kept mode 0600. Writers
// take an exclusive lock on a file beside it (".NAME.lock") from the read to the rename, so
// two `spokeflow secrets set` at once both keep their value.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace spokeflow::connect {

class MasterKey {
 public:
  // SPOKEFLOW_MASTER_KEY (64 hex digits or base64 of 32 bytes), else the key file
  // $SPOKEFLOW_MASTER_KEY_FILE, else $XDG_CONFIG_HOME/spokeflow/master.key. A key file must be
  // mode 0600 or stricter and owned by the user; anything looser is refused with a message
  // saying how to fix it. ErrorKind::auth when no key is found (with code kNoMasterKey, so
  // callers can tell "none given" from "given but unusable").
  static Result<MasterKey> from_environment();
  static constexpr const char* kNoMasterKey = "no_master_key";
  static Result<MasterKey> from_text(std::string_view text);  // hex or base64 of 32 bytes
  static Result<MasterKey> from_file(const std::string& path);
  // Creates a new random key file (mode 0600); refuses to overwrite an existing one.
  static Result<MasterKey> generate_file(const std::string& path);
  static std::string default_key_file();

  const unsigned char* data() const { return key_.data(); }
  // Where the key came from, for messages: "SPOKEFLOW_MASTER_KEY", "the key file PATH", or
  // "" for a key given as text.
  const std::string& source() const { return source_; }
  ~MasterKey();
  MasterKey(const MasterKey&) = default;
  MasterKey& operator=(const MasterKey&) = default;

 private:
  MasterKey() = default;
  std::vector<unsigned char> key_;  // 32 bytes; wiped on destruction
  std::string source_;
};

// AES-256-GCM with `aad` bound. Output: "v1:" + base64(nonce || ciphertext || tag).
std::string seal(const MasterKey& key, std::string_view aad, std::string_view plaintext);
// ErrorKind::auth when the tag does not verify (wrong key, wrong aad, tampered data).
Result<std::string> unseal(const MasterKey& key, std::string_view aad, std::string_view sealed);
bool looks_sealed(std::string_view text);

class Vault {
 public:
  // Default file: $SPOKEFLOW_VAULT, else $XDG_DATA_HOME/spokeflow/vault.json (~/.local/share/...).
  static std::string default_path();
  // Opens (or prepares to create) the vault file. A missing file is an empty vault. A file
  // that is not a vault is refused (ErrorKind::validation, "the vault PATH is corrupt ...");
  // the key is not checked here (see check_key).
  static Result<Vault> open(const std::string& path, MasterKey key);

  // ErrorKind::validation when absent; ErrorKind::auth when the value cannot be opened, saying
  // whether the key does not open the vault at all or this one value was altered.
  Result<std::string> get(std::string_view name) const;
  // Both persist at once, under the lock, and refuse (ErrorKind::auth, nothing written) when
  // the key does not open the vault: one vault, one key.
  Result<Unit> set(std::string_view name, std::string_view value);
  Result<bool> remove(std::string_view name);  // false when absent
  std::vector<std::string> names() const;      // sorted
  // Whether this key opens the vault: ok when the vault is empty or any of its values
  // decrypts; ErrorKind::auth naming the key's source and the vault's path otherwise.
  Result<Unit> check_key() const;
  const std::string& path() const { return path_; }
  const MasterKey& key() const { return key_; }

 private:
  Vault(std::string path, MasterKey key) : path_(std::move(path)), key_(std::move(key)) {}
  std::string path_;
  MasterKey key_;
};

// Valid secret names: [A-Za-z0-9_.-]{1,128}.
bool valid_secret_name(std::string_view name);

}  // namespace spokeflow::connect
