#include "connect/vault.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <thread>
#include <utility>

#include "common/json.hpp"

namespace spokeflow::connect {
namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::string_view kSealPrefix = "v1:";
constexpr std::string_view kVaultFormat = "spokeflow-vault";
// A vault holds a handful of tokens and keys; a bigger file is not ours.
constexpr off_t kMaxVaultBytes = 16 << 20;
constexpr off_t kMaxKeyFileBytes = 4096;
// A writer holds the lock for one read, one fsync and one rename; a lock held longer than
// this belongs to a process that is stuck, and waiting on would hang whoever called us.
constexpr auto kLockWait = std::chrono::seconds(30);

// ---- base64 (standard alphabet, padded on output, padding optional on input) ----

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string b64_encode(const unsigned char* data, std::size_t n) {
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const unsigned v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < n) {
    unsigned v = data[i] << 16;
    if (i + 1 < n) v |= data[i + 1] << 8;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += (i + 1 < n) ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict: no whitespace, no characters outside the alphabet, padding only at the end.
bool b64_decode(std::string_view text, std::vector<unsigned char>& out) {
  out.clear();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return false;
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = b64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string home_dir() {
  std::string home = env_or_empty("HOME");
  if (!home.empty()) return home;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_dir) return pw->pw_dir;
  return ".";
}

// An XDG base directory variable counts only when absolute (the spec says to ignore relative ones).
std::string xdg_dir(const char* var, const char* fallback_under_home) {
  std::string v = env_or_empty(var);
  if (!v.empty() && v.front() == '/') return v;
  return home_dir() + "/" + fallback_under_home;
}

std::string errno_text(int err) { return std::strerror(err); }

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// Missing parent folders are created private: they hold keys and secrets.
Result<Unit> make_private_dirs(const std::filesystem::path& dir) {
  if (dir.empty()) return Unit{};
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return Unit{};
  if (auto r = make_private_dirs(dir.parent_path()); !r) return r;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Error::make(ErrorKind::validation, "cannot create folder " + dir.string() + ": " + errno_text(errno));
  return Unit{};
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads a whole file through an open descriptor, refusing more than `limit` bytes.
Result<std::string> read_fd(int fd, off_t limit, const std::string& path, std::string_view what) {
  std::string data;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::make(ErrorKind::validation, "cannot read " + std::string(what) + " " + path + ": " + errno_text(errno));
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (static_cast<off_t>(data.size()) > limit) {
      OPENSSL_cleanse(data.data(), data.size());
      return Error::make(ErrorKind::validation, std::string(what) + " " + path + " is too large to be one");
    }
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return data;
}

// The folder of the vault and a hidden file beside it: ".vault.json" + suffix.
std::filesystem::path vault_dir(const std::filesystem::path& target) {
  return target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
}
std::string temp_prefix(const std::filesystem::path& target) { return "." + target.filename().string() + ".tmp-"; }

// An exclusive flock(2) on ".NAME.lock" beside the vault, held by every writer from its read
// of the vault to its rename, so read-modify-write cycles never interleave (between processes
// and between threads alike: each lock is its own open file description). The lock file stays:
// removing it would let a third writer lock a new file while the second holds the old one.
class WriteLock {
 public:
  static Result<WriteLock> take(const std::string& path) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = vault_dir(target);
    if (auto r = make_private_dirs(dir); !r) return r.error();
    const std::string lock_path = (dir / ("." + target.filename().string() + ".lock")).string();
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
      return Error::make(ErrorKind::validation,
                         "cannot lock the vault " + path + ": cannot open " + lock_path + ": " + errno_text(errno));
    WriteLock lock(fd);
    // Polled rather than blocking, so that a stuck holder gives an error instead of a hang.
    const auto deadline = std::chrono::steady_clock::now() + kLockWait;
    for (;;) {
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) break;
      if (errno == EINTR) continue;
      if (errno != EWOULDBLOCK)
        return Error::make(ErrorKind::validation, "cannot lock the vault " + path + " (" + lock_path + "): " +
                                                      errno_text(errno));
      if (std::chrono::steady_clock::now() >= deadline)
        return Error::make(ErrorKind::validation,
                           "the vault " + path + " stayed locked by another spokeflow process for " +
                               std::to_string(kLockWait.count()) + " s (lock file " + lock_path +
                               "); is a `spokeflow secrets set` or `auth login` stuck?");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    remove_stale_temp_files(target);
    return lock;
  }
  WriteLock(WriteLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  WriteLock& operator=(WriteLock&&) = delete;
  ~WriteLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
  }

 private:
  explicit WriteLock(int fd) : fd_(fd) {}
  // With the lock held nobody else is writing, so a temporary file beside the vault is what a
  // writer killed between its write and its rename left behind (sealed values only, but not
  // ours to keep).
  static void remove_stale_temp_files(const std::filesystem::path& target) {
    namespace fs = std::filesystem;
    const std::string prefix = temp_prefix(target);
    std::error_code ec;
    for (fs::directory_iterator it(vault_dir(target), ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0) {
        std::error_code rm_ec;
        fs::remove(it->path(), rm_ec);
      }
    }
  }
  int fd_ = -1;
};

// Replaces `path` with `data` so that a reader sees the old file or the new one, never a mix,
// and a crash leaves one of them on disk. Called with the WriteLock held.
Result<Unit> atomic_write(const std::string& path, std::string_view data) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = vault_dir(target);
  if (auto r = make_private_dirs(dir); !r) return r;
  std::string tmpl = (dir / (temp_prefix(target) + "XXXXXX")).string();
  const int fd = ::mkstemp(tmpl.data());  // mode 0600
  if (fd < 0)
    return Error::make(ErrorKind::validation, "cannot write the vault " + path + ": " + errno_text(errno));
  Fd guard(fd);
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::unlink(tmpl.c_str());
    return Error::make(ErrorKind::validation, "cannot write the vault " + path + ": " + what + ": " + errno_text(err));
  };
  if (::fchmod(fd, 0600) != 0) return fail("chmod");
  if (!write_all(fd, data)) return fail("write");
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    guard.fd = -1;
    return fail("close");
  }
  guard.fd = -1;
  if (::rename(tmpl.c_str(), path.c_str()) != 0) return fail("rename");
  // The rename is durable only once the folder itself is synced.
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Unit{};
}

Error corrupt(const std::string& path, const std::string& why) {
  return Error::make(ErrorKind::validation,
                     "the vault " + path + " is corrupt: it is not a valid spokeflow vault (" + why +
                         "); restore it from a backup or move it away to start an empty one");
}

// The sealed values by name, as stored in the file. A missing file is an empty vault.
Result<Json> read_vault(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Json::object();
    return Error::make(ErrorKind::validation, "cannot read the vault " + path + ": " + errno_text(errno));
  }
  Fd guard(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return Error::make(ErrorKind::validation, "cannot read the vault " + path + ": not a regular file");
  auto text = read_fd(fd, kMaxVaultBytes, path, "the vault");
  if (!text) return text.error();
  if (text->empty()) return corrupt(path, "the file is empty");
  Json doc = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return corrupt(path, "not JSON: cut short or garbled");
  if (!doc.is_object()) return corrupt(path, "not a JSON object");
  if (doc.value("format", Json()) != kVaultFormat) return corrupt(path, "no \"format\": \"spokeflow-vault\"");
  const Json version = doc.value("version", Json());
  if (!version.is_number_integer()) return corrupt(path, "no \"version\"");
  if (version.get<long long>() != 1)
    return Error::make(ErrorKind::validation, "the vault " + path + " has version " + version.dump() +
                                                  ", which this spokeflow does not know; use a newer spokeflow");
  auto it = doc.find("secrets");
  if (it == doc.end() || !it->is_object()) return corrupt(path, "no \"secrets\" object");
  for (const auto& [name, sealed] : it->items()) {
    if (!valid_secret_name(name)) return corrupt(path, "invalid secret name '" + name + "'");
    if (!sealed.is_string() || !looks_sealed(sealed.get_ref<const std::string&>()))
      return corrupt(path, "the value of '" + name + "' is not a sealed value");
  }
  return std::move(*it);
}

std::string vault_text(const Json& secrets) {
  Json doc = Json::object();
  doc["format"] = kVaultFormat;
  doc["version"] = 1;
  doc["secrets"] = secrets;
  return doc.dump(2) + "\n";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MasterKey

MasterKey::~MasterKey() {
  if (!key_.empty()) OPENSSL_cleanse(key_.data(), key_.size());
}

Result<MasterKey> MasterKey::from_text(std::string_view text) {
  text = trim(text);
  MasterKey k;
  if (text.size() == 2 * kKeyBytes &&
      std::all_of(text.begin(), text.end(), [](char c) { return hex_value(c) >= 0; })) {
    k.key_.resize(kKeyBytes);
    for (std::size_t i = 0; i < kKeyBytes; ++i)
      k.key_[i] = static_cast<unsigned char>(hex_value(text[2 * i]) * 16 + hex_value(text[2 * i + 1]));
    return k;
  }
  std::vector<unsigned char> bytes;
  if (b64_decode(text, bytes) && bytes.size() == kKeyBytes) {
    k.key_ = std::move(bytes);
    return k;
  }
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
  return Error::make(ErrorKind::auth,
                     "the master key must be 64 hex digits or the base64 of 32 bytes; create one with "
                     "`spokeflow secrets init`");
}

Result<MasterKey> MasterKey::from_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT)
      return Error::make(ErrorKind::auth,
                         "no master key file " + path +
                             ": create it with `spokeflow secrets init` or set SPOKEFLOW_MASTER_KEY",
                         kNoMasterKey);
    return Error::make(ErrorKind::auth, "cannot read the master key file " + path + ": " + errno_text(err));
  }
  Fd guard(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return Error::make(ErrorKind::auth, "the master key file " + path + " is not a regular file");
  // Checked on the open descriptor, so the file cannot be swapped between check and read.
  if (st.st_uid != ::geteuid())
    return Error::make(ErrorKind::auth, "the master key file " + path +
                                            " is not owned by the current user; it must be yours and private "
                                            "(`chown` it to yourself, then `chmod 600 " + path + "`)");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error::make(ErrorKind::auth, "the master key file " + path + " has mode " + mode +
                                            ", readable by others; run `chmod 600 " + path + "`");
  }
  auto text = read_fd(fd, kMaxKeyFileBytes, path, "the master key file");
  if (!text) {
    Error e = text.error();
    e.kind = ErrorKind::auth;
    return e;
  }
  auto key = from_text(*text);
  OPENSSL_cleanse(text->data(), text->size());
  if (!key) return Error::make(ErrorKind::auth, "the master key file " + path + " does not hold a key: " + key.error().message);
  key->source_ = "the key file " + path;
  return key;
}

Result<MasterKey> MasterKey::from_environment() {
  if (const std::string text = env_or_empty("SPOKEFLOW_MASTER_KEY"); !text.empty()) {
    auto key = from_text(text);
    if (!key) return Error::make(ErrorKind::auth, "SPOKEFLOW_MASTER_KEY: " + key.error().message);
    key->source_ = "SPOKEFLOW_MASTER_KEY";
    return key;
  }
  if (const std::string file = env_or_empty("SPOKEFLOW_MASTER_KEY_FILE"); !file.empty()) return from_file(file);
  const std::string file = default_key_file();
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    return Error::make(ErrorKind::auth,
                       "no master key: set SPOKEFLOW_MASTER_KEY or SPOKEFLOW_MASTER_KEY_FILE, or create the key file " +
                           file + " with `spokeflow secrets init`",
                       kNoMasterKey);
  return from_file(file);
}

Result<MasterKey> MasterKey::generate_file(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  if (p.has_parent_path())
    if (auto r = make_private_dirs(p.parent_path()); !r) {
      Error e = r.error();
      e.kind = ErrorKind::auth;
      return e;
    }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST)
      return Error::make(ErrorKind::auth, "the master key file " + path +
                                              " already exists; refusing to overwrite it (secrets sealed with it "
                                              "would be lost)");
    return Error::make(ErrorKind::auth, "cannot create the master key file " + path + ": " + errno_text(err));
  }
  Fd guard(fd);
  MasterKey k;
  k.key_.resize(kKeyBytes);
  if (RAND_bytes(k.key_.data(), static_cast<int>(kKeyBytes)) != 1) {
    ::unlink(path.c_str());
    return Error::make(ErrorKind::internal, "cannot generate a master key: the random generator failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (unsigned char b : k.key_) {
    text += kHex[b >> 4];
    text += kHex[b & 15];
  }
  text += '\n';
  const bool ok = ::fchmod(fd, 0600) == 0 && write_all(fd, text) && ::fsync(fd) == 0;
  const int err = errno;
  OPENSSL_cleanse(text.data(), text.size());
  if (!ok) {
    ::unlink(path.c_str());
    return Error::make(ErrorKind::auth, "cannot write the master key file " + path + ": " + errno_text(err));
  }
  k.source_ = "the key file " + path;
  return k;
}

std::string MasterKey::default_key_file() { return xdg_dir("XDG_CONFIG_HOME", ".config") + "/spokeflow/master.key"; }

// ---------------------------------------------------------------------------------------------
// Sealing

std::string seal(const MasterKey& key, std::string_view aad, std::string_view plaintext) {
  std::vector<unsigned char> out(kNonceBytes + plaintext.size() + kTagBytes);
  if (RAND_bytes(out.data(), static_cast<int>(kNonceBytes)) != 1)
    throw std::runtime_error("seal: the random generator failed");
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes), nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), out.data()) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1;
  unsigned char* ct = out.data() + kNonceBytes;
  int written = 0;
  if (ok && !plaintext.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), ct, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                           static_cast<int>(plaintext.size())) == 1;
    written = len;
  }
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), ct + written, &len) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                           out.data() + kNonceBytes + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("seal: AES-256-GCM encryption failed");
  return std::string(kSealPrefix) + b64_encode(out.data(), out.size());
}

Result<std::string> unseal(const MasterKey& key, std::string_view aad, std::string_view sealed) {
  const std::string name(aad);
  std::vector<unsigned char> raw;
  if (sealed.substr(0, kSealPrefix.size()) != kSealPrefix || !b64_decode(sealed.substr(kSealPrefix.size()), raw) ||
      raw.size() < kNonceBytes + kTagBytes)
    return Error::make(ErrorKind::auth, "cannot decrypt secret '" + name + "': the stored value is not a sealed value");
  const std::size_t ct_len = raw.size() - kNonceBytes - kTagBytes;
  std::string plain(ct_len, '\0');
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes), nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), raw.data()) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1;
  int written = 0;
  if (ok && ct_len > 0) {
    ok = EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len, raw.data() + kNonceBytes,
                           static_cast<int>(ct_len)) == 1;
    written = len;
  }
  ok = ok &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                           raw.data() + kNonceBytes + ct_len) == 1 &&
       EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + written, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return Error::make(ErrorKind::auth, "cannot decrypt secret '" + name + "': wrong master key or tampered vault");
  }
  return plain;
}

bool looks_sealed(std::string_view text) {
  if (text.substr(0, kSealPrefix.size()) != kSealPrefix) return false;
  std::vector<unsigned char> raw;
  return b64_decode(text.substr(kSealPrefix.size()), raw) && raw.size() >= kNonceBytes + kTagBytes;
}

bool valid_secret_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

// ---------------------------------------------------------------------------------------------
// Vault: the file is the state. Every call reads it afresh, so a value stored by another
// process (`spokeflow secrets set`, `auth login`) is seen without a restart.

std::string Vault::default_path() {
  if (std::string v = env_or_empty("SPOKEFLOW_VAULT"); !v.empty()) return v;
  return xdg_dir("XDG_DATA_HOME", ".local/share") + "/spokeflow/vault.json";
}

Result<Vault> Vault::open(const std::string& path, MasterKey key) {
  auto secrets = read_vault(path);
  if (!secrets) return secrets.error();
  return Vault(path, std::move(key));
}

namespace {

std::string key_named(const MasterKey& key) {
  return key.source().empty() ? std::string("the master key") : "the master key (from " + key.source() + ")";
}

// Ok when `secrets` is empty or one of its values opens with `key`: a value that does not
// open beside one that does was altered, not sealed under another key.
Result<Unit> key_opens(const MasterKey& key, const Json& secrets, const std::string& path) {
  if (secrets.empty()) return Unit{};
  for (const auto& [name, sealed] : secrets.items()) {
    auto plain = unseal(key, name, sealed.get_ref<const std::string&>());
    if (plain) {
      OPENSSL_cleanse(plain->data(), plain->size());
      return Unit{};
    }
  }
  return Error::make(ErrorKind::auth, key_named(key) + " does not open the vault " + path + ": none of its " +
                                          std::to_string(secrets.size()) +
                                          " secrets decrypts with it. Use the key the vault was made with "
                                          "(SPOKEFLOW_MASTER_KEY or the key file), or move the vault away to "
                                          "start an empty one");
}

}  // namespace

Result<Unit> Vault::check_key() const {
  auto secrets = read_vault(path_);
  if (!secrets) return secrets.error();
  return key_opens(key_, *secrets, path_);
}

Result<std::string> Vault::get(std::string_view name) const {
  auto secrets = read_vault(path_);
  if (!secrets) return secrets.error();
  auto it = secrets->find(std::string(name));
  if (it == secrets->end())
    return Error::make(ErrorKind::validation, "secret '" + std::string(name) + "' is not in the vault " + path_ +
                                                  "; store it with `spokeflow secrets set " + std::string(name) + "`");
  auto plain = unseal(key_, name, it->get_ref<const std::string&>());
  if (plain) return plain;
  // Say which it is: the wrong key for the whole vault, or this one value altered.
  if (auto opens = key_opens(key_, *secrets, path_); !opens) return opens.error();
  return Error::make(ErrorKind::auth, "secret '" + std::string(name) + "' in the vault " + path_ +
                                          " cannot be decrypted: its stored value was altered or damaged (the "
                                          "master key opens the vault's other secrets); store it again with "
                                          "`spokeflow secrets set " + std::string(name) + "`");
}

Result<Unit> Vault::set(std::string_view name, std::string_view value) {
  if (!valid_secret_name(name))
    return Error::make(ErrorKind::validation, "invalid secret name '" + std::string(name) +
                                                  "': use 1 to 128 letters, digits, '_', '.' or '-'");
  auto lock = WriteLock::take(path_);
  if (!lock) return lock.error();
  auto secrets = read_vault(path_);
  if (!secrets) return secrets.error();
  // One vault, one key: a value sealed under another key would be unreadable next to the rest.
  if (auto opens = key_opens(key_, *secrets, path_); !opens) {
    Error e = std::move(opens).error();
    e.message += "; nothing was stored";
    return e;
  }
  (*secrets)[std::string(name)] = seal(key_, name, value);
  return atomic_write(path_, vault_text(*secrets));
}

Result<bool> Vault::remove(std::string_view name) {
  auto lock = WriteLock::take(path_);
  if (!lock) return lock.error();
  auto secrets = read_vault(path_);
  if (!secrets) return secrets.error();
  // Only the key's holder may change the vault, removals included.
  if (auto opens = key_opens(key_, *secrets, path_); !opens) {
    Error e = std::move(opens).error();
    e.message += "; nothing was removed";
    return e;
  }
  if (secrets->erase(std::string(name)) == 0) return false;
  auto w = atomic_write(path_, vault_text(*secrets));
  if (!w) return w.error();
  return true;
}

std::vector<std::string> Vault::names() const {
  std::vector<std::string> out;
  auto secrets = read_vault(path_);
  if (!secrets) return out;
  for (const auto& [name, _] : secrets->items()) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace spokeflow::connect
