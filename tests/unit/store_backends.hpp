#pragma once
// The two stores the store tests run against (TEST_CASE_TEMPLATE over SqliteBackend and
// PgBackend): each test case gets a fresh, empty store of its own, and open() gives another
// connection to it, as another process would have.
//
// PostgreSQL: SPOKEFLOW_TEST_PG_URL names a database (scripts/test.sh starts a throwaway cluster
// and sets it); each test case gets a schema of its own there, dropped at its end. Without the
// variable the PostgreSQL cases FAIL saying so: they never skip.
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/ids.hpp"
#include "store/pg_conn.hpp"
#include "store/store.hpp"
#include "test_util.hpp"

namespace spokeflow::test {

struct SqliteBackend {
  static constexpr const char* kName = "sqlite";
  TempDir dir{"spokeflow-store-"};
  std::string location = (dir.path / "store.db").string();
  std::unique_ptr<store::ExecutionStore> open() const { return store::open_sqlite_store(location); }
};

inline std::string test_pg_url() {
  const char* url = std::getenv("SPOKEFLOW_TEST_PG_URL");
  if (!url || !*url)
    throw std::runtime_error(
        "SPOKEFLOW_TEST_PG_URL is not set: the PostgreSQL store tests need a server (scripts/test.sh starts one; "
        "or: export SPOKEFLOW_TEST_PG_URL=$(scripts/pg-cluster.sh start DIR))");
  return url;
}

// `url` whose connections use (and create their tables in) `schema`.
inline std::string with_search_path(const std::string& url, const std::string& schema) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
}

struct PgBackend {
  static constexpr const char* kName = "postgresql";
  std::string base = test_pg_url();
  std::string schema = "t_" + lowercase(new_sortable_id());
  std::string location;
  PgBackend() {
    store::pg::Conn admin(base);
    admin.exec("CREATE SCHEMA " + schema);
    location = with_search_path(base, schema);
  }
  ~PgBackend() {
    try {
      store::pg::Conn admin(base);
      admin.exec("DROP SCHEMA " + schema + " CASCADE");
    } catch (const std::exception&) {
      // Left behind in a throwaway cluster: harmless.
    }
  }
  PgBackend(const PgBackend&) = delete;
  PgBackend& operator=(const PgBackend&) = delete;
  std::unique_ptr<store::ExecutionStore> open() const { return store::open_pg_store(location); }

  static std::string lowercase(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
};

// Whether the tests of what runs on a store (the engine's, the scheduler's) run on PostgreSQL
// this time: CTest runs them a second time as unit.<name>.postgresql with this set.
inline bool engine_tests_on_pg() {
  const char* s = std::getenv("SPOKEFLOW_TEST_ENGINE_STORE");
  return s && std::string(s) == "postgresql";
}

}  // namespace spokeflow::test
