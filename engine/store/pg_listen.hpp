#pragma once
// Wake-ups for workers on PostgreSQL: a connection of its own that LISTENs on the store's
// channel, on a thread of its own, and calls the worker's callback when a NOTIFY arrives (an
// execution was queued or made runnable by any process). The worker's poll stays the
// fallback: a notification lost with the connection is made up for by a call on reconnecting.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace spokeflow::store::pg {

class Listener {
 public:
  Listener(std::string url, std::string channel);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  // Calls `wake` (on the listener's thread) at each notification; nullptr stops the calls
  // (when set() returns, no call of the previous callback is under way).
  void set(std::function<void()> wake);

 private:
  void loop();
  void call();
  std::string url_, channel_;
  std::mutex mutex_;  // guards wake_ and its calls
  std::function<void()> wake_;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;
  std::once_flag started_;
};

}  // namespace spokeflow::store::pg
