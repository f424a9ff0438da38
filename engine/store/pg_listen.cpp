#include "store/pg_listen.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <memory>

#include "store/pg_conn.hpp"

namespace spokeflow::store::pg {
namespace {
struct Close {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, Close>;
void drop_notice(void*, const char*) {}

// A connection LISTENing on `channel`, or null (the reason logged once per outage).
ConnPtr listen(const std::string& url, const std::string& channel, bool& told) {
  ConnPtr c(PQconnectdb(url.c_str()));
  if (c && PQstatus(c.get()) == CONNECTION_OK) {
    PQsetNoticeProcessor(c.get(), drop_notice, nullptr);
    char* quoted = PQescapeIdentifier(c.get(), channel.c_str(), channel.size());
    if (quoted) {
      PGresult* r = PQexec(c.get(), (std::string("LISTEN ") + quoted).c_str());
      PQfreemem(quoted);
      const bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
      if (ok) {
        told = false;
        return c;
      }
    }
  }
  if (!told) {
    std::string why = c ? PQerrorMessage(c.get()) : "out of memory";
    if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    spdlog::warn("store {}: no wake-ups from PostgreSQL for now ({}); polling", redact_url(url), why);
    told = true;
  }
  return nullptr;
}
}  // namespace

Listener::Listener(std::string url, std::string channel) : url_(std::move(url)), channel_(std::move(channel)) {}

Listener::~Listener() {
  set(nullptr);
  if (thread_.joinable()) {
    char b = 1;
    [[maybe_unused]] auto n = ::write(stop_pipe_[1], &b, 1);
    thread_.join();
  }
  for (int fd : stop_pipe_)
    if (fd >= 0) ::close(fd);
}

void Listener::set(std::function<void()> wake) {
  {
    std::lock_guard lock(mutex_);
    wake_ = std::move(wake);
    if (!wake_) return;
  }
  std::call_once(started_, [this] {
    if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
      spdlog::warn("store: no wake-ups from PostgreSQL (pipe: {}); polling", errno);
      return;
    }
    thread_ = std::thread([this] { loop(); });
  });
}

void Listener::call() {
  std::lock_guard lock(mutex_);
  if (wake_) wake_();
}

void Listener::loop() {
  ConnPtr conn;
  bool told = false;
  for (;;) {
    if (!conn) {
      conn = listen(url_, channel_, told);
      // Whatever was notified while not listening is looked for now.
      if (conn) call();
    }
    pollfd fds[2] = {{stop_pipe_[0], POLLIN, 0}, {conn ? PQsocket(conn.get()) : -1, POLLIN, 0}};
    // Without a connection, try again in a while.
    const int ready = ::poll(fds, conn ? 2 : 1, conn ? -1 : 2'000);
    if (ready < 0 && errno != EINTR) return;
    if (fds[0].revents) return;  // stopping
    if (!conn || !fds[1].revents) continue;
    if (!PQconsumeInput(conn.get()) || PQstatus(conn.get()) != CONNECTION_OK) {
      conn.reset();
      continue;
    }
    bool notified = false;
    while (PGnotify* n = PQnotifies(conn.get())) {
      notified = true;
      PQfreemem(n);
    }
    if (notified) call();
  }
}

}  // namespace spokeflow::store::pg
