#pragma once
// `spokeflow store copy`: an SQLite store's records into a PostgreSQL store.
#include <string>

#include "cli/shell.hpp"

namespace spokeflow::cli {

struct CopyFlags {
  std::string from;    // the SQLite file
  std::string to;      // a postgresql:// URL
  bool merge = false;  // the target may hold records already
  bool force = false;  // copy even while leases are held in the source
  bool json = false;
};
// Exit 0 when copied; 2 when refused (nothing written: the reason and what to do on stderr);
// 3 when a store cannot be read or written (the target as it was).
int cmd_store_copy(const CopyFlags& f);

}  // namespace spokeflow::cli
