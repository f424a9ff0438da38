// okta-sim: the SCIM-like expressions Okta accepts in `filter` and `search`.
//   expr   := and ('or' and)*
//   and    := unary ('and' unary)*
//   unary  := 'not' unary | '(' expr ')' | attr 'pr' | attr op value
//   op     := eq ne gt ge lt le sw co ew
//   value  := "string" | number | true | false | null
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace oktasim {

struct FilterNode;

class Filter {
 public:
  Filter();
  ~Filter();
  Filter(Filter&&) noexcept;
  Filter& operator=(Filter&&) noexcept;

  // Parses; on failure returns false and sets error.
  bool parse(std::string_view text, std::string& error);
  // Evaluates against a JSON object (attributes are dotted paths into it).
  bool matches(const nlohmann::ordered_json& obj) const;
  bool empty() const { return root_ == nullptr; }

 private:
  std::unique_ptr<FilterNode> root_;
};

// Looks up a dotted path ("profile.email") in obj; nullptr if absent.
const nlohmann::ordered_json* json_path(const nlohmann::ordered_json& obj, std::string_view path);

}  // namespace oktasim
