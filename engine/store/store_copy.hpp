#pragma once
// `spokeflow store copy`: every row of an SQLite store into a PostgreSQL store, in one
// transaction on the target (a failure leaves it as it was). Values are copied as stored: ids,
// timestamps, epochs, JSON text and sealed values byte for byte. The one change: a top-level
// execution recorded `running` loses its lease (owner none, expired), so that the first worker
// on PostgreSQL claims it as a dead worker's and resumes it from its journal.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace spokeflow::store {

// Every table of the store and the columns copy moves, in the order they are copied (a
// table's rows may point only at tables before it). Both stores' schemas must hold exactly
// these (tests/unit/store_copy_test.cpp checks it), so a table or column added to one store
// and not handled here fails that test.
struct CopiedTable {
  const char* name;
  std::vector<const char*> columns;
};
const std::vector<CopiedTable>& copied_tables();

struct CopyOptions {
  // The target may hold records already; every copied row must then be new to it (a row whose
  // key it has fails the copy, and nothing is written). Flow sources, named by the hash of
  // their text, are shared. Step runs keep their order after the target's own.
  bool merge = false;
  // Copy even while executions run under a lease that has not expired (their workers may
  // still be writing to the SQLite file: stop them first).
  bool force = false;
  std::int64_t now_ms = 0;  // what "not expired" is measured against
};

struct CopyReport {
  std::vector<std::pair<std::string, std::int64_t>> rows;  // per table, in copy order
  std::int64_t leases_released = 0;  // running top-level executions copied without their lease
  int schema = 0;                    // the schema version both stores have
};

// The copy was refused before anything was written: the source or target is not in a state
// to copy (an older schema, a target with records, leases held). The message says what to do.
class CopyRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Copies the SQLite store at `sqlite_path` (opened read-only, never created nor migrated) into
// the PostgreSQL store at `pg_url` (its tables created when missing). Throws CopyRefused, or
// std::runtime_error when a store cannot be read or written (the target then as it was).
// Messages name the target by its URL without the password.
CopyReport copy_sqlite_to_pg(const std::string& sqlite_path, const std::string& pg_url, const CopyOptions& options);

}  // namespace spokeflow::store
