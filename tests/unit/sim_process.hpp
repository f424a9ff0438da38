#pragma once
// Starts okta-sim (OKTA_SIM_PATH, set by CMake) on a free loopback port for one test and stops
// it when the object goes away. Seed and config are written to temporary files. Extra arguments
// (e.g. --tls-cert/--tls-key for HTTPS) are passed as given.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace spokeflow::test {

class SimProcess {
 public:
  // `seed_yaml` / `config_yaml` may be empty. The API token is "test-token-0123456789".
  explicit SimProcess(const std::string& seed_yaml = {}, const std::string& config_yaml = {},
                      const std::vector<std::string>& extra_args = {}) {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("spokeflow-sim-" + std::to_string(getpid()) + "-" + std::to_string(++counter));
    std::filesystem::create_directories(dir_);
    std::vector<std::string> args = {OKTA_SIM_PATH, "--port", "0", "--api-token", token(), "--log-level", "error"};
    if (!seed_yaml.empty()) {
      std::ofstream(dir_ / "seed.yaml") << seed_yaml;
      args.push_back("--seed");
      args.push_back((dir_ / "seed.yaml").string());
    }
    if (!config_yaml.empty()) {
      std::ofstream(dir_ / "config.yaml") << config_yaml;
      args.push_back("--config");
      args.push_back((dir_ / "config.yaml").string());
    }
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error(std::string("cannot start ") + OKTA_SIM_PATH);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    FILE* out = fdopen(fds[0], "r");
    char line[256] = {0};
    if (!fgets(line, sizeof line, out)) {
      fclose(out);
      throw std::runtime_error("okta-sim printed nothing (bad seed or config?)");
    }
    fclose(out);  // the sim writes nothing more to stdout after this line
    std::string l(line);
    auto at = l.find("://");
    if (at != std::string::npos) at = l.rfind(' ', at) + 1;
    if (at == std::string::npos) throw std::runtime_error("unexpected okta-sim output: " + l);
    base_url_ = l.substr(at);
    while (!base_url_.empty() && (base_url_.back() == '\n' || base_url_.back() == '\r')) base_url_.pop_back();
  }
  ~SimProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int st = 0;
      waitpid(pid_, &st, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  const std::string& base_url() const { return base_url_; }
  std::uint16_t port() const { return static_cast<std::uint16_t>(std::stoi(base_url_.substr(base_url_.rfind(':') + 1))); }
  static std::string token() { return "test-token-0123456789"; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  pid_t pid_ = -1;
  std::string base_url_;
  std::filesystem::path dir_;
};

}  // namespace spokeflow::test
