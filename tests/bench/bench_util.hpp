#pragma once
// What the benchmark programs share: the process's RSS, loading a flow from text, and
// counting rows of a store through a connection of its own (as another process would see them).
#include <sqlite3.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "flow/loader.hpp"

namespace spokeflow::bench {

inline long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

// Exits 2 after printing the problems when the flow does not load.
inline flow::FlowPtr load(const std::string& text, const ActionRegistry& reg) {
  auto r = flow::load_flow_text(text, "bench.yaml", reg);
  if (!r.ok()) {
    std::cerr << r.diagnostics.format();
    std::exit(2);
  }
  return r.flow;
}

// The single integer `sql` selects, with up to two text parameters; -1 when it cannot be read.
inline long long count(const std::string& db, const char* sql, const char* p1 = nullptr, const char* p2 = nullptr) {
  sqlite3* raw = nullptr;
  long long n = -1;
  if (sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(raw, sql, -1, &s, nullptr) == SQLITE_OK) {
      if (p1) sqlite3_bind_text(s, 1, p1, -1, SQLITE_STATIC);
      if (p2) sqlite3_bind_text(s, 2, p2, -1, SQLITE_STATIC);
      if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(raw);
  return n;
}

}  // namespace spokeflow::bench
