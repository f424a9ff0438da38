// The secrets vault and master key: AES-256-GCM sealing, key file rules, the vault file.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "common/json.hpp"
#include "common/scrub.hpp"
#include "connect/secrets.hpp"
#include "connect/vault.hpp"
#include "test_util.hpp"

using namespace spokeflow;
using namespace spokeflow::connect;
namespace fs = std::filesystem;

using EnvVar = spokeflow::test::EnvVar;

namespace {

struct TempDir : spokeflow::test::TempDir {
  TempDir() : spokeflow::test::TempDir("spokeflow-vault-") {}
};

constexpr const char* kHexKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr const char* kOtherHexKey = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

MasterKey key(const char* hex = kHexKey) { return MasterKey::from_text(hex).value(); }

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::vector<std::string> dir_files(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  return files;
}

mode_t file_mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("master key from text: hex and base64 of 32 bytes; anything else refused without echoing it") {
  auto hex = MasterKey::from_text(kHexKey);
  REQUIRE(hex.ok());
  CHECK(hex->data()[0] == 0x00);
  CHECK(hex->data()[1] == 0x11);
  CHECK(hex->data()[31] == 0xff);
  CHECK(MasterKey::from_text(std::string(kHexKey) + "\n").ok());  // a key file's newline
  // base64 of bytes 0..31
  auto b64 = MasterKey::from_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  REQUIRE(b64.ok());
  CHECK(b64->data()[5] == 5);
  CHECK(b64->data()[31] == 31);

  auto short_key = MasterKey::from_text("0011223344");
  REQUIRE_FALSE(short_key.ok());
  CHECK(short_key.error().kind == ErrorKind::auth);
  CHECK(short_key.error().message.find("64 hex digits") != std::string::npos);
  CHECK(short_key.error().message.find("0011223344") == std::string::npos);
  CHECK_FALSE(MasterKey::from_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd").ok());  // 30 bytes
  CHECK_FALSE(MasterKey::from_text(std::string(63, 'a') + "g").ok());
}

TEST_CASE("seal/unseal: round trip, fresh nonce each time, wrong key, tampering and moved values fail") {
  const MasterKey k = key();
  const std::string sealed = seal(k, "okta_token", "00abcDEF-token-value");
  CHECK(sealed.rfind("v1:", 0) == 0);
  CHECK(looks_sealed(sealed));
  CHECK(sealed.find("token-value") == std::string::npos);
  auto plain = unseal(k, "okta_token", sealed);
  REQUIRE(plain.ok());
  CHECK(*plain == "00abcDEF-token-value");

  SUBCASE("the same value sealed twice differs (fresh random nonce)") {
    std::set<std::string> seen;
    for (int i = 0; i < 50; ++i) seen.insert(seal(k, "okta_token", "00abcDEF-token-value"));
    CHECK(seen.size() == 50);
    CHECK(seen.count(sealed) == 0);
  }
  SUBCASE("empty values round trip") {
    auto e = unseal(k, "x", seal(k, "x", ""));
    REQUIRE(e.ok());
    CHECK(e->empty());
  }
  SUBCASE("wrong key") {
    auto r = unseal(key(kOtherHexKey), "okta_token", sealed);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::auth);
    CHECK(r.error().message == "cannot decrypt secret 'okta_token': wrong master key or tampered vault");
  }
  SUBCASE("another name (the name is bound as associated data)") {
    auto r = unseal(k, "other_name", sealed);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::auth);
  }
  SUBCASE("each flipped bit of nonce, ciphertext or tag is detected") {
    // Decode, flip one bit at a few places, re-encode through the same alphabet by editing the text:
    // changing any base64 character changes at least one byte.
    for (std::size_t pos : {std::size_t{3}, std::size_t{10}, sealed.size() / 2, sealed.size() - 3}) {
      std::string t = sealed;
      t[pos] = t[pos] == 'A' ? 'B' : 'A';
      auto r = unseal(k, "okta_token", t);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == ErrorKind::auth);
    }
  }
  SUBCASE("not a sealed value") {
    CHECK_FALSE(looks_sealed("plain text"));
    CHECK_FALSE(looks_sealed("v1:AAAA"));  // too short for nonce and tag
    CHECK_FALSE(unseal(k, "x", "v2:" + sealed.substr(3)).ok());
    CHECK_FALSE(unseal(k, "x", "v1:!!!!").ok());
  }
}

TEST_CASE("valid secret names") {
  CHECK(valid_secret_name("okta_token"));
  CHECK(valid_secret_name("acme.prod-2"));
  CHECK(valid_secret_name(std::string(128, 'a')));
  CHECK_FALSE(valid_secret_name(""));
  CHECK_FALSE(valid_secret_name(std::string(129, 'a')));
  CHECK_FALSE(valid_secret_name("a b"));
  CHECK_FALSE(valid_secret_name("a/b"));
  CHECK_FALSE(valid_secret_name("é"));
}

TEST_CASE("master key file: mode 0600 accepted, looser refused with the chmod advice") {
  TempDir dir;
  const std::string path = dir.file("master.key");
  write_file(path, std::string(kHexKey) + "\n", 0600);
  auto ok = MasterKey::from_file(path);
  REQUIRE(ok.ok());
  CHECK(ok->data()[1] == 0x11);

  for (mode_t loose : {mode_t{0644}, mode_t{0640}, mode_t{0604}, mode_t{0660}}) {
    REQUIRE(::chmod(path.c_str(), loose) == 0);
    auto r = MasterKey::from_file(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::auth);
    CHECK(r.error().message.find("chmod 600 " + path) != std::string::npos);
    CHECK(r.error().message.find(kHexKey) == std::string::npos);
  }
  REQUIRE(::chmod(path.c_str(), 0400) == 0);  // stricter than 0600 is fine
  CHECK(MasterKey::from_file(path).ok());

  // A private file of someone else is refused too (testable when we may give files away).
  const std::string foreign = dir.file("foreign.key");
  write_file(foreign, kHexKey, 0600);
  if (::chown(foreign.c_str(), ::geteuid() + 1, static_cast<gid_t>(-1)) == 0) {
    auto r = MasterKey::from_file(foreign);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::auth);
    CHECK(r.error().message.find("not owned by the current user") != std::string::npos);
    CHECK(r.error().message.find("chmod 600 " + foreign) != std::string::npos);
  }

  auto missing = MasterKey::from_file(dir.file("nope.key"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::auth);
  CHECK(missing.error().message.find("spokeflow secrets init") != std::string::npos);

  write_file(path, "not a key\n", 0600);
  auto bad = MasterKey::from_file(path);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("does not hold a key") != std::string::npos);
}

TEST_CASE("generate_file: a new 0600 key file, never overwriting") {
  TempDir dir;
  const std::string path = dir.file("sub/dir/master.key");
  auto k = MasterKey::generate_file(path);
  REQUIRE(k.ok());
  CHECK(file_mode(path) == 0600);
  CHECK(file_mode(dir.file("sub")) == 0700);
  const std::string text = read_all(path);
  CHECK(text.size() == 65);
  auto again = MasterKey::from_file(path);
  REQUIRE(again.ok());
  CHECK(std::equal(k->data(), k->data() + 32, again->data()));

  auto twice = MasterKey::generate_file(path);
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().message.find("already exists") != std::string::npos);
  CHECK(read_all(path) == text);

  // Two generated keys differ.
  auto other = MasterKey::generate_file(dir.file("other.key"));
  REQUIRE(other.ok());
  CHECK_FALSE(std::equal(k->data(), k->data() + 32, other->data()));
}

TEST_CASE("master key from the environment: variable, then key file variable, then the default file") {
  TempDir dir;
  EnvVar xdg("XDG_CONFIG_HOME", dir.path.c_str());
  {
    EnvVar v("SPOKEFLOW_MASTER_KEY", kHexKey);
    EnvVar f("SPOKEFLOW_MASTER_KEY_FILE", nullptr);
    auto k = MasterKey::from_environment();
    REQUIRE(k.ok());
    CHECK(k->data()[1] == 0x11);
  }
  {
    EnvVar v("SPOKEFLOW_MASTER_KEY", "garbage");
    auto k = MasterKey::from_environment();
    REQUIRE_FALSE(k.ok());
    CHECK(k.error().message.find("SPOKEFLOW_MASTER_KEY") != std::string::npos);
  }
  const std::string keyfile = dir.file("explicit.key");
  write_file(keyfile, kOtherHexKey, 0600);
  {
    EnvVar v("SPOKEFLOW_MASTER_KEY", nullptr);
    EnvVar f("SPOKEFLOW_MASTER_KEY_FILE", keyfile.c_str());
    auto k = MasterKey::from_environment();
    REQUIRE(k.ok());
    CHECK(k->data()[0] == 0xff);
  }
  {
    EnvVar v("SPOKEFLOW_MASTER_KEY", nullptr);
    EnvVar f("SPOKEFLOW_MASTER_KEY_FILE", nullptr);
    CHECK(MasterKey::default_key_file() == dir.file("spokeflow/master.key"));
    auto none = MasterKey::from_environment();
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().kind == ErrorKind::auth);
    CHECK(none.error().message.find("SPOKEFLOW_MASTER_KEY") != std::string::npos);
    CHECK(none.error().message.find("spokeflow secrets init") != std::string::npos);
    REQUIRE(MasterKey::generate_file(MasterKey::default_key_file()).ok());
    CHECK(MasterKey::from_environment().ok());
  }
}

TEST_CASE("default vault path: SPOKEFLOW_VAULT, else XDG_DATA_HOME, else ~/.local/share") {
  {
    EnvVar v("SPOKEFLOW_VAULT", "/x/v.json");
    CHECK(Vault::default_path() == "/x/v.json");
  }
  EnvVar v("SPOKEFLOW_VAULT", nullptr);
  {
    EnvVar x("XDG_DATA_HOME", "/data");
    CHECK(Vault::default_path() == "/data/spokeflow/vault.json");
  }
  EnvVar x("XDG_DATA_HOME", nullptr);
  EnvVar h("HOME", "/home/someone");
  CHECK(Vault::default_path() == "/home/someone/.local/share/spokeflow/vault.json");
  CHECK(MasterKey::default_key_file().find("/spokeflow/master.key") != std::string::npos);
}

TEST_CASE("vault: set, get, names sorted, remove; file format, mode and atomic replacement") {
  TempDir dir;
  const std::string path = dir.file("data/vault.json");
  auto opened = Vault::open(path, key());
  REQUIRE(opened.ok());
  Vault& v = *opened;
  CHECK(v.names().empty());
  CHECK_FALSE(fs::exists(path));  // nothing written until a value is set

  REQUIRE(v.set("zeta", "zeta-value-1").ok());
  REQUIRE(v.set("alpha", "alpha-value-2").ok());
  REQUIRE(v.set("mid.dle-3", "middle-value").ok());
  CHECK(v.names() == std::vector<std::string>{"alpha", "mid.dle-3", "zeta"});
  CHECK(*v.get("alpha") == "alpha-value-2");
  CHECK(*v.get("zeta") == "zeta-value-1");

  // The file: JSON, private, no clear text, no temporary files left beside it.
  CHECK(file_mode(path) == 0600);
  const std::string text = read_all(path);
  CHECK(text.find("alpha-value-2") == std::string::npos);
  const Json doc = Json::parse(text);
  CHECK(doc["format"] == "spokeflow-vault");
  CHECK(doc["version"] == 1);
  CHECK(doc["secrets"].size() == 3);
  CHECK(looks_sealed(doc["secrets"]["alpha"].get<std::string>()));
  // (The lock file writers take stays: it holds nothing.)
  CHECK(dir_files(dir.file("data")) == std::vector<std::string>{".vault.json.lock", "vault.json"});
  CHECK(file_mode(dir.file("data/.vault.json.lock")) == 0600);
  CHECK(read_all(dir.file("data/.vault.json.lock")).empty());

  // Overwrite replaces; another Vault on the same file sees it (the file is the state).
  REQUIRE(v.set("alpha", "alpha-value-new").ok());
  auto reopened = Vault::open(path, key());
  REQUIRE(reopened.ok());
  CHECK(*reopened->get("alpha") == "alpha-value-new");

  auto absent = v.get("nope");
  REQUIRE_FALSE(absent.ok());
  CHECK(absent.error().kind == ErrorKind::validation);
  CHECK(absent.error().message.find("spokeflow secrets set nope") != std::string::npos);

  CHECK(*v.remove("zeta") == true);
  CHECK(*v.remove("zeta") == false);
  CHECK(v.names() == std::vector<std::string>{"alpha", "mid.dle-3"});
  CHECK_FALSE(v.get("zeta").ok());

  auto bad_name = v.set("bad name", "x");
  REQUIRE_FALSE(bad_name.ok());
  CHECK(bad_name.error().kind == ErrorKind::validation);
}

TEST_CASE("vault: wrong key, tampered file, moved value, corrupt file") {
  TempDir dir;
  const std::string path = dir.file("vault.json");
  {
    auto v = Vault::open(path, key());
    REQUIRE(v.ok());
    REQUIRE(v->set("one", "first-secret").ok());
    REQUIRE(v->set("two", "second-secret").ok());
  }
  SUBCASE("wrong key: get fails, and set refuses to mix keys in one vault") {
    auto v = Vault::open(path, key(kOtherHexKey));
    REQUIRE(v.ok());
    auto r = v->get("one");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::auth);
    CHECK(r.error().message.find("does not open the vault " + path) != std::string::npos);
    auto s = v->set("three", "x-value");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::auth);
    CHECK(s.error().message.find("does not open the vault " + path) != std::string::npos);
    CHECK(s.error().message.find("nothing was stored") != std::string::npos);
    // Replacing a value is changing the vault too: not with another key.
    CHECK_FALSE(v->set("one", "x-value").ok());
    CHECK(Vault::open(path, key())->names() == std::vector<std::string>{"one", "two"});
    CHECK(*Vault::open(path, key())->get("one") == "first-secret");
  }
  SUBCASE("a flipped byte in a sealed value") {
    Json doc = Json::parse(read_all(path));
    std::string sealed = doc["secrets"]["one"];
    sealed[sealed.size() / 2] = sealed[sealed.size() / 2] == 'x' ? 'y' : 'x';
    doc["secrets"]["one"] = sealed;
    write_file(path, doc.dump(), 0600);
    auto r = Vault::open(path, key())->get("one");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::auth);
    // The key opens the other value: this one was altered, and the message says so.
    CHECK(r.error().message.find("secret 'one' in the vault " + path + " cannot be decrypted") != std::string::npos);
    CHECK(r.error().message.find("altered") != std::string::npos);
    CHECK(Vault::open(path, key())->check_key().ok());
    CHECK(*Vault::open(path, key())->get("two") == "second-secret");
  }
  SUBCASE("a value moved to another name") {
    Json doc = Json::parse(read_all(path));
    doc["secrets"]["two"] = doc["secrets"]["one"];
    write_file(path, doc.dump(), 0600);
    auto r = Vault::open(path, key())->get("two");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::auth);
  }
  SUBCASE("corrupt files are refused with a clear message") {
    for (const char* text : {"not json", "[]", R"({"format":"other","version":1,"secrets":{}})",
                             R"({"format":"spokeflow-vault","version":1})",
                             R"({"format":"spokeflow-vault","version":1,"secrets":{"a":"plain"}})"}) {
      write_file(path, text, 0600);
      auto r = Vault::open(path, key());
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message.find("is not a valid spokeflow vault") != std::string::npos);
    }
    write_file(path, R"({"format":"spokeflow-vault","version":7,"secrets":{}})", 0600);
    auto r = Vault::open(path, key());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("version 7") != std::string::npos);
  }
  SUBCASE("unreadable file") {
    if (::geteuid() != 0) {  // root reads anything
      REQUIRE(::chmod(path.c_str(), 0000) == 0);
      auto r = Vault::open(path, key());
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message.find("cannot read the vault " + path) != std::string::npos);
    }
  }
}

TEST_CASE("secret resolver: vault references, and a helpful error without a vault") {
  TempDir dir;
  auto v = Vault::open(dir.file("vault.json"), key());
  REQUIRE(v.ok());
  auto vault = std::make_shared<Vault>(std::move(*v));
  SecretResolver resolver(vault, dir.path.string());
  SecretRef ref{SecretRef::Source::vault, "okta_refresh", {}};
  CHECK(ref.describe() == "secret 'okta_refresh'");

  REQUIRE(resolver.store(ref, "refresh-token-vault-xyz").ok());
  SecretScrubber::instance().clear();
  auto r = resolver.resolve(ref);
  REQUIRE(r.ok());
  CHECK(*r == "refresh-token-vault-xyz");
  CHECK(SecretScrubber::instance().scrub(std::string("got refresh-token-vault-xyz")) == "got [REDACTED]");

  auto not_stored = resolver.store(SecretRef{SecretRef::Source::env, "X", {}}, "v");
  REQUIRE_FALSE(not_stored.ok());

  SecretResolver none(nullptr, dir.path.string());
  auto e = none.resolve(ref);
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().kind == ErrorKind::auth);
  CHECK(e.error().message.find("SPOKEFLOW_MASTER_KEY") != std::string::npos);
  CHECK(e.error().message.find("spokeflow secrets init") != std::string::npos);
  CHECK(e.error().message.find("spokeflow secrets set okta_refresh") != std::string::npos);
  SecretScrubber::instance().clear();
}

namespace {

// `count` names of one writer, and the value each gets: distinct per writer and name.
std::string writer_name(int writer, int i) { return "w" + std::to_string(writer) + "_n" + std::to_string(i); }
std::string writer_value(int writer, int i) { return "value-of-" + writer_name(writer, i); }

// Every writer's every name is in the vault with its own value.
void check_all_kept(const std::string& path, int writers, int per_writer) {
  auto v = Vault::open(path, key());
  REQUIRE(v.ok());
  const auto names = v->names();
  CHECK(names.size() == static_cast<std::size_t>(writers * per_writer));
  for (int w = 0; w < writers; ++w)
    for (int i = 0; i < per_writer; ++i) {
      auto got = v->get(writer_name(w, i));
      CHECK_MESSAGE(got.ok(), writer_name(w, i) << " was lost");
      if (got.ok()) CHECK(*got == writer_value(w, i));
    }
}

}  // namespace

TEST_CASE("vault: writers in parallel threads, each setting its own names, keep every name") {
  TempDir dir;
  const std::string path = dir.file("vault.json");
  constexpr int kWriters = 8, kPerWriter = 5;
  std::vector<std::thread> threads;
  std::vector<int> failures(kWriters, 0);
  for (int w = 0; w < kWriters; ++w)
    threads.emplace_back([&, w] {
      auto v = Vault::open(path, key());  // its own Vault, as another command would have
      if (!v.ok()) {
        ++failures[w];
        return;
      }
      for (int i = 0; i < kPerWriter; ++i)
        if (!v->set(writer_name(w, i), writer_value(w, i)).ok()) ++failures[w];
    });
  for (auto& t : threads) t.join();
  for (int w = 0; w < kWriters; ++w) CHECK(failures[w] == 0);
  check_all_kept(path, kWriters, kPerWriter);
  CHECK(dir_files(dir.path.string()) == std::vector<std::string>{".vault.json.lock", "vault.json"});
}

TEST_CASE("vault: writers in parallel processes, each setting its own names, keep every name") {
  TempDir dir;
  const std::string path = dir.file("vault.json");
  constexpr int kWriters = 5, kPerWriter = 4;
  // The children wait on a pipe so that they all start writing at the same moment.
  int go[2];
  REQUIRE(::pipe(go) == 0);
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(go[1]);
      char c;
      while (::read(go[0], &c, 1) < 0 && errno == EINTR) {
      }
      int failed = 0;
      auto v = Vault::open(path, key());
      if (!v.ok()) ::_exit(2);
      for (int i = 0; i < kPerWriter; ++i)
        if (!v->set(writer_name(w, i), writer_value(w, i)).ok()) ++failed;
      ::_exit(failed == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);  // end of file: every child goes
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  check_all_kept(path, kWriters, kPerWriter);
}

TEST_CASE("vault: a temporary file a killed writer left beside the vault is removed by the next write") {
  TempDir dir;
  const std::string path = dir.file("vault.json");
  auto v = Vault::open(path, key());
  REQUIRE(v.ok());
  REQUIRE(v->set("one", "first-secret").ok());
  // What `secrets set` leaves when killed between writing its temporary file and renaming it.
  const std::string stale = dir.file(".vault.json.tmp-Ab12Cd");
  write_file(stale, read_all(path), 0600);
  // Someone else's file that merely looks alike is not ours to remove.
  write_file(dir.file("vault.json.tmp-other"), "x", 0600);
  REQUIRE(fs::exists(stale));
  CHECK(*v->get("one") == "first-secret");  // reading changes nothing
  CHECK(fs::exists(stale));
  REQUIRE(v->set("two", "second-secret").ok());
  CHECK_FALSE(fs::exists(stale));
  CHECK(dir_files(dir.path.string()) ==
        std::vector<std::string>{".vault.json.lock", "vault.json", "vault.json.tmp-other"});
  CHECK(v->names() == std::vector<std::string>{"one", "two"});
  // A removal cleans up too.
  write_file(stale, "partial", 0600);
  REQUIRE(*v->remove("two"));
  CHECK_FALSE(fs::exists(stale));
}

TEST_CASE("vault: remove with a wrong master key fails and removes nothing") {
  TempDir dir;
  const std::string path = dir.file("vault.json");
  {
    auto v = Vault::open(path, key());
    REQUIRE(v.ok());
    REQUIRE(v->set("one", "first-secret").ok());
    REQUIRE(v->set("two", "second-secret").ok());
  }
  const std::string before = read_all(path);
  auto wrong = Vault::open(path, key(kOtherHexKey));
  REQUIRE(wrong.ok());
  for (const char* name : {"one", "two", "absent"}) {
    CAPTURE(name);
    auto r = wrong->remove(name);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::auth);
    CHECK(r.error().message.find("does not open the vault " + path) != std::string::npos);
    CHECK(r.error().message.find("nothing was removed") != std::string::npos);
  }
  CHECK(read_all(path) == before);
  auto right = Vault::open(path, key());
  CHECK(right->names() == std::vector<std::string>{"one", "two"});
  CHECK(*right->get("two") == "second-secret");
  // With the right key it works; an empty vault has nothing to check a key against.
  CHECK(*right->remove("one") == true);
  CHECK(*right->remove("two") == true);
  CHECK(*wrong->remove("one") == false);
}

TEST_CASE("vault: a truncated or garbled file is reported as corrupt with its path; a wrong key as such") {
  TempDir dir;
  const std::string path = dir.file("vault.json");
  {
    auto v = Vault::open(path, key());
    REQUIRE(v.ok());
    REQUIRE(v->set("one", "first-secret").ok());
    REQUIRE(v->set("two", "second-secret").ok());
  }
  const std::string good = read_all(path);
  SUBCASE("cut short, garbled, empty") {
    auto opened_before = Vault::open(path, key());
    REQUIRE(opened_before.ok());
    const std::string cut = good.substr(0, good.size() / 2), garbled = "\x01\xfe garbage \x7f";
    for (const std::string& bad : {cut, garbled, std::string()}) {
      CAPTURE(bad.size());
      write_file(path, bad, 0600);
      auto r = Vault::open(path, key());
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message.find("the vault " + path + " is corrupt") != std::string::npos);
      CHECK(r.error().message.find("master key") == std::string::npos);  // not a key problem
      // Readers and writers that opened it before refuse it too; a writer does not replace it.
      auto got = opened_before->get("one");
      REQUIRE_FALSE(got.ok());
      CHECK(got.error().message.find("is corrupt") != std::string::npos);
      CHECK_FALSE(opened_before->set("three", "x").ok());
      CHECK(read_all(path) == bad);
    }
  }
  SUBCASE("a wrong key: the key does not open the vault, named by where it came from") {
    EnvVar v("SPOKEFLOW_MASTER_KEY", kOtherHexKey);
    auto k = MasterKey::from_environment();
    REQUIRE(k.ok());
    CHECK(k->source() == "SPOKEFLOW_MASTER_KEY");
    auto vault = Vault::open(path, *k);
    REQUIRE(vault.ok());
    auto check = vault->check_key();
    REQUIRE_FALSE(check.ok());
    CHECK(check.error().kind == ErrorKind::auth);
    CHECK(check.error().message.find("the master key (from SPOKEFLOW_MASTER_KEY) does not open the vault " + path) !=
          std::string::npos);
    CHECK(check.error().message.find(kOtherHexKey) == std::string::npos);
    CHECK(Vault::open(path, key())->check_key().ok());
    CHECK(Vault::open(dir.file("empty.json"), *k)->check_key().ok());  // nothing to check against
  }
  SUBCASE("a key file names itself") {
    const std::string keyfile = dir.file("other.key");
    write_file(keyfile, kOtherHexKey, 0600);
    auto k = MasterKey::from_file(keyfile);
    REQUIRE(k.ok());
    CHECK(k->source() == "the key file " + keyfile);
    auto r = Vault::open(path, *k)->get("one");
    REQUIRE_FALSE(r.ok());
    const std::string expected = "the master key (from the key file " + keyfile + ") does not open the vault " + path;
    CHECK(r.error().message.find(expected) != std::string::npos);
  }
  SUBCASE("no key at all is told apart from an unusable one") {
    TempDir cfg;
    EnvVar x("XDG_CONFIG_HOME", cfg.path.c_str());
    EnvVar v("SPOKEFLOW_MASTER_KEY", nullptr);
    EnvVar f("SPOKEFLOW_MASTER_KEY_FILE", nullptr);
    auto none = MasterKey::from_environment();
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == MasterKey::kNoMasterKey);
    EnvVar bad("SPOKEFLOW_MASTER_KEY", "not-a-key");
    auto refused = MasterKey::from_environment();
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code != MasterKey::kNoMasterKey);
  }
}

TEST_CASE("secret resolver: without a vault, a reference reports why the vault cannot be used") {
  TempDir dir;
  const std::string path = dir.file("vault.json");
  write_file(path, "{\"format\": \"spokeflow-vault\", \"vers", 0600);
  auto opened = Vault::open(path, key());
  REQUIRE_FALSE(opened.ok());
  SecretResolver resolver(nullptr, dir.path.string(), opened.error().message);
  SecretRef ref{SecretRef::Source::vault, "okta_token", {}};
  auto r = resolver.resolve(ref);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::auth);
  CHECK(r.error().message.find("secret 'okta_token'") != std::string::npos);
  CHECK(r.error().message.find("the vault " + path + " is corrupt") != std::string::npos);
  CHECK(r.error().message.find("no master key") == std::string::npos);
  auto s = resolver.store(ref, "v");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("is corrupt") != std::string::npos);
}
