#pragma once
#include <string>
#include <vector>

namespace spokeflow {

// 1-based line and column in a source file; 0 when unknown.
struct SourcePos {
  int line = 0;
  int col = 0;
};

struct Diagnostic {
  std::string file;
  SourcePos pos;
  std::string message;
  // "flows/x.yaml:12:7: error: message" (the position parts only when known).
  std::string format() const;
};

// Collects every problem found, so that an author sees all of them at once.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file = {}) : file_(std::move(file)) {}
  void error(SourcePos pos, std::string message) { items_.push_back({file_, pos, std::move(message)}); }
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void append(const Diagnostics& other) { items_.insert(items_.end(), other.items_.begin(), other.items_.end()); }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  const std::string& file() const { return file_; }
  // Sorted by position, duplicates removed.
  void sort_unique();
  std::string format() const;

 private:
  std::string file_;
  std::vector<Diagnostic> items_;
};

}  // namespace spokeflow
