#pragma once
// Expected failures are values: an Error with a kind. Exceptions are for bugs and start-up.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/json.hpp"

namespace spokeflow {

enum class ErrorKind {
  validation,
  network,
  timeout,
  rate_limited,
  server,
  auth,
  okta,
  http,
  action,
  cancelled,
  internal,
};

std::string_view to_string(ErrorKind kind);
std::optional<ErrorKind> error_kind_from_string(std::string_view text);
// network, timeout, rate_limited and server: worth another attempt.
bool is_transient(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;
  std::string code;       // e.g. Okta's errorCode ("E0000007"); empty when none
  std::string step;       // path of the step that failed, filled in by the executor
  int http_status = 0;    // 0 when not an HTTP failure
  Json details;           // anything else worth keeping (Okta causes, request id...)

  static Error make(ErrorKind kind, std::string message, std::string code = {}) {
    Error e;
    e.kind = kind;
    e.message = std::move(message);
    e.code = std::move(code);
    return e;
  }
  // The shape expressions see as `error` and the store keeps.
  Json to_json() const;
  static Error from_json(const Json& j);
};

// A value or an Error. Small on purpose: C++20 has no std::expected.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};

}  // namespace spokeflow
