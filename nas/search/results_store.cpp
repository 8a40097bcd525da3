#include "nas/search/results_store.h"

#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/vfs.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "search_spaces/config_node.h"

namespace tinynas {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// How long a writer waits for another's transaction. Transactions here take milliseconds, so
// reaching this means a process holds one open (stopped in a debugger, or a hung filesystem).
constexpr int kBusyTimeoutMs = 300 * 1000;

const char* const kSchema = R"(
CREATE TABLE subnet_scores(
  scorer TEXT NOT NULL,
  arch_hash TEXT NOT NULL,
  split TEXT NOT NULL CHECK (split IN ('val', 'test')),
  images INTEGER NOT NULL CHECK (images >= 0),
  value REAL NOT NULL,
  first_half REAL,
  second_half REAL,
  arch TEXT,
  UNIQUE (scorer, arch_hash, split, images));
CREATE TABLE search_measurements(
  id INTEGER PRIMARY KEY,
  search TEXT NOT NULL,
  log TEXT NOT NULL,
  arch_hash TEXT NOT NULL,
  images INTEGER NOT NULL CHECK (images >= 0),
  value REAL NOT NULL,
  first_half REAL,
  second_half REAL,
  arch TEXT NOT NULL,
  UNIQUE (search, log, arch_hash, images));
CREATE TABLE sweep_runs(
  sweep TEXT NOT NULL,
  run TEXT NOT NULL,
  scorer TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  settings TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('started', 'searched', 'finished')),
  export_level INTEGER NOT NULL DEFAULT 0,
  result TEXT,
  updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (sweep, run));
CREATE TABLE imports(
  source TEXT PRIMARY KEY,
  rows INTEGER NOT NULL,
  imported TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
PRAGMA user_version = 1;
)";

// Filesystems whose hosts do not share memory with each other (statfs(2) magic numbers).
bool on_network_filesystem(const std::string& dir) {
  struct statfs s {};
  if (::statfs(dir.c_str(), &s) != 0) return false;
  switch (static_cast<uint32_t>(s.f_type)) {
    case 0x6969:      // NFS
    case 0x517B:      // SMB
    case 0xFF534D42:  // CIFS
    case 0xFE534D42:  // SMB2
    case 0x0BD00BD0:  // Lustre
    case 0x47504653:  // GPFS
    case 0x19830326:  // BeeGFS
    case 0x00C36400:  // CephFS
    case 0x5346414F:  // AFS
    case 0x6B414653:  // kAFS
    case 0x01021997:  // 9p
    case 0x65735546:  // FUSE (sshfs, GlusterFS, ...)
      return true;
    default:
      return false;
  }
}

const char* state_name(StoredRun::State s) {
  switch (s) {
    case StoredRun::State::Started: return "started";
    case StoredRun::State::Searched: return "searched";
    case StoredRun::State::Finished: return "finished";
  }
  return "started";
}

StoredRun::State state_of(const std::string& s) {
  if (s == "searched") return StoredRun::State::Searched;
  if (s == "finished") return StoredRun::State::Finished;
  return StoredRun::State::Started;
}

bool busy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

}  // namespace

const char* split_name(EvalSplit s) { return s == EvalSplit::Val ? "val" : "test"; }

// A prepared statement, finalised when it goes out of scope.
class ResultsStore::Statement {
 public:
  Statement(ResultsStore& store, const char* sql) : store_(store) {
    if (sqlite3_prepare_v2(store.db_, sql, -1, &st_, nullptr) != SQLITE_OK) store.fail(sql);
  }
  ~Statement() { sqlite3_finalize(st_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, const std::string& v) {
    return check(sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bind(int i, int64_t v) { return check(sqlite3_bind_int64(st_, i, v)); }
  Statement& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
  // NaN is NULL (not measured).
  Statement& bind(int i, double v) {
    return check(std::isnan(v) ? sqlite3_bind_null(st_, i) : sqlite3_bind_double(st_, i, v));
  }
  Statement& bind_text_or_null(int i, const std::string& v) {
    return v.empty() ? check(sqlite3_bind_null(st_, i)) : bind(i, v);
  }

  // true: a row is ready; false: done. Waits out a busy store as the busy handler does.
  bool step() {
    const auto start = Clock::now();
    for (;;) {
      const int rc = sqlite3_step(st_);
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      if (!busy(rc) || Clock::now() - start > std::chrono::milliseconds(kBusyTimeoutMs)) {
        store_.fail(sqlite3_sql(st_));
      }
      sqlite3_reset(st_);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void run() {
    while (step()) {
    }
  }

  int64_t integer(int c) const { return sqlite3_column_int64(st_, c); }
  double real(int c) const {
    return sqlite3_column_type(st_, c) == SQLITE_NULL ? std::numeric_limits<double>::quiet_NaN()
                                                      : sqlite3_column_double(st_, c);
  }
  std::string text(int c) const {
    const auto* p = sqlite3_column_text(st_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(st_, c)) : std::string();
  }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) store_.fail("bind");
    return *this;
  }
  ResultsStore& store_;
  sqlite3_stmt* st_ = nullptr;
};

void ResultsStore::fail(const std::string& what) const {
  const int rc = db_ ? sqlite3_extended_errcode(db_) : SQLITE_CANTOPEN;
  const std::string msg = db_ ? sqlite3_errmsg(db_) : "cannot open";
  if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT) {
    throw ConfigError(path_ + ": not a results store (SQLite: " + msg + ")");
  }
  if (busy(rc)) {
    throw std::runtime_error(fmt::format("{}: the store stayed locked for {} s: another process holds a write "
                                         "transaction open ({})",
                                         path_, kBusyTimeoutMs / 1000, msg));
  }
  throw std::runtime_error(path_ + ": SQLite: " + msg + " (in: " + what + ")");
}

void ResultsStore::exec(const std::string& sql) {
  const auto start = Clock::now();
  for (;;) {
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return;
    if (!busy(rc) || Clock::now() - start > std::chrono::milliseconds(kBusyTimeoutMs)) fail(sql);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ResultsStore::ResultsStore(std::string path, Journal journal) : path_(std::move(path)) {
  const fs::path parent = fs::absolute(path_).parent_path();
  fs::create_directories(parent);
  if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw ConfigError(path_ + ": cannot open the results store (" + msg + ")");
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  try {
    wal_ = journal == Journal::Wal || (journal == Journal::Auto && !on_network_filesystem(parent.string()));
    if (journal == Journal::Auto && !wal_) {
      spdlog::info("{}: on a network filesystem: the rollback journal, not WAL (WAL needs shared memory "
                   "between the processes, which hosts do not share)",
                   path_);
    }
    // A journal mode is kept in the file; changing it waits for the other connections.
    std::string current;
    {
      Statement mode(*this, "PRAGMA journal_mode");  // finalised before the change: no read open
      if (mode.step()) current = mode.text(0);
    }
    const std::string wanted = wal_ ? "wal" : "delete";
    if (current != wanted) exec("PRAGMA journal_mode=" + wanted);
    // WAL with NORMAL: a commit survives a killed process; power loss may drop the last ones,
    // never consistency.
    exec(wal_ ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");
    create_schema();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

ResultsStore::~ResultsStore() { sqlite3_close(db_); }

void ResultsStore::create_schema() {
  transaction([&] {
    Statement v(*this, "PRAGMA user_version");
    const int version = v.step() ? static_cast<int>(v.integer(0)) : 0;
    if (version > kSchemaVersion) {
      throw ConfigError(fmt::format("{}: a results store of schema version {}, newer than this tinynas's {}: use a "
                                    "newer tinynas, or another store",
                                    path_, version, kSchemaVersion));
    }
    if (version == kSchemaVersion) return;
    Statement tables(*this, "SELECT count(*) FROM sqlite_master");
    if (tables.step() && tables.integer(0) > 0) {
      throw ConfigError(path_ + ": an SQLite database, but not a results store (no schema version): "
                                "choose another path");
    }
    exec(kSchema);
  });
}

std::string ResultsStore::name_of(const std::string& p) const {
  const fs::path base = fs::weakly_canonical(fs::absolute(path_).parent_path());
  const fs::path target = fs::weakly_canonical(fs::absolute(p));
  const fs::path rel = target.lexically_relative(base);
  return rel.empty() ? target.generic_string() : rel.generic_string();
}

void ResultsStore::transaction(const std::function<void()>& fn) {
  if (!sqlite3_get_autocommit(db_)) {
    fn();
    return;
  }
  exec("BEGIN IMMEDIATE");
  try {
    fn();
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

namespace {

std::string hex(uint64_t h) { return fmt::format("{:016x}", h); }

// Columns arch_hash, images, value, first_half, second_half, arch from `first` on.
StoredScore read_score(const ResultsStore::Statement& s, int first, EvalSplit split) {
  StoredScore r;
  r.arch_hash = std::stoull(s.text(first), nullptr, 16);
  r.split = split;
  r.images = static_cast<int>(s.integer(first + 1));
  r.value = s.real(first + 2);
  r.first_half = s.real(first + 3);
  r.second_half = s.real(first + 4);
  r.arch = s.text(first + 5);
  return r;
}

}  // namespace

bool ResultsStore::add_score(const std::string& scorer, const StoredScore& s) {
  bool added = false;
  transaction([&] {
    Statement st(*this,
                 "INSERT OR IGNORE INTO subnet_scores(scorer, arch_hash, split, images, value, first_half, "
                 "second_half, arch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    st.bind(1, scorer).bind(2, hex(s.arch_hash)).bind(3, std::string(split_name(s.split)));
    st.bind(4, s.split == EvalSplit::Test ? 0 : s.images).bind(5, s.value).bind(6, s.first_half);
    st.bind(7, s.second_half).bind_text_or_null(8, s.arch);
    st.run();
    added = sqlite3_changes(db_) > 0;
  });
  return added;
}

std::optional<StoredScore> ResultsStore::score(const std::string& scorer, uint64_t arch_hash, EvalSplit split,
                                               int images) {
  Statement st(*this,
               "SELECT arch_hash, images, value, first_half, second_half, arch FROM subnet_scores "
               "WHERE scorer = ?1 AND arch_hash = ?2 AND split = ?3 AND images = ?4");
  st.bind(1, scorer).bind(2, hex(arch_hash)).bind(3, std::string(split_name(split)));
  st.bind(4, split == EvalSplit::Test ? 0 : images);
  if (!st.step()) return std::nullopt;
  return read_score(st, 0, split);
}

std::vector<StoredScore> ResultsStore::scores(const std::string& scorer) {
  Statement st(*this,
               "SELECT split, arch_hash, images, value, first_half, second_half, arch FROM subnet_scores "
               "WHERE scorer = ?1 ORDER BY rowid");
  st.bind(1, scorer);
  std::vector<StoredScore> out;
  while (st.step()) out.push_back(read_score(st, 1, st.text(0) == "val" ? EvalSplit::Val : EvalSplit::Test));
  return out;
}

int ResultsStore::delete_scores(const std::string& scorer) {
  int n = 0;
  transaction([&] {
    Statement st(*this, "DELETE FROM subnet_scores WHERE scorer = ?1");
    st.bind(1, scorer).run();
    n = sqlite3_changes(db_);
  });
  return n;
}

bool ResultsStore::add_measurement(const std::string& search, const std::string& log, const StoredScore& s) {
  bool added = false;
  transaction([&] {
    Statement st(*this,
                 "INSERT OR IGNORE INTO search_measurements(search, log, arch_hash, images, value, first_half, "
                 "second_half, arch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    st.bind(1, search).bind(2, log).bind(3, hex(s.arch_hash)).bind(4, s.images).bind(5, s.value);
    st.bind(6, s.first_half).bind(7, s.second_half).bind(8, s.arch);
    st.run();
    added = sqlite3_changes(db_) > 0;
  });
  return added;
}

std::vector<StoredScore> ResultsStore::measurements(const std::string& search, const std::string& log, int images) {
  Statement st(*this,
               "SELECT arch_hash, images, value, first_half, second_half, arch FROM search_measurements "
               "WHERE search = ?1 AND log = ?2 AND images = ?3 ORDER BY id");
  st.bind(1, search).bind(2, log).bind(3, images);
  std::vector<StoredScore> out;
  while (st.step()) out.push_back(read_score(st, 0, EvalSplit::Val));
  return out;
}

int ResultsStore::delete_measurements(const std::string& search) {
  int n = 0;
  transaction([&] {
    Statement st(*this, "DELETE FROM search_measurements WHERE search = ?1");
    st.bind(1, search).run();
    n = sqlite3_changes(db_);
  });
  return n;
}

void ResultsStore::put_run(const StoredRun& r) {
  transaction([&] {
    Statement st(*this,
                 "INSERT OR REPLACE INTO sweep_runs(sweep, run, scorer, fingerprint, settings, state, "
                 "export_level, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    st.bind(1, r.sweep).bind(2, r.run).bind(3, r.scorer).bind(4, r.fingerprint).bind(5, r.settings);
    st.bind(6, std::string(state_name(r.state))).bind(7, r.export_level).bind_text_or_null(8, r.result);
    st.run();
  });
}

namespace {

const char* const kRunColumns = "sweep, run, scorer, fingerprint, settings, state, export_level, result";

StoredRun read_run(const ResultsStore::Statement& s) {
  StoredRun r;
  r.sweep = s.text(0);
  r.run = s.text(1);
  r.scorer = s.text(2);
  r.fingerprint = s.text(3);
  r.settings = s.text(4);
  r.state = state_of(s.text(5));
  r.export_level = static_cast<int>(s.integer(6));
  r.result = s.text(7);
  return r;
}

}  // namespace

std::optional<StoredRun> ResultsStore::run(const std::string& sweep, const std::string& run) {
  const std::string sql = fmt::format("SELECT {} FROM sweep_runs WHERE sweep = ?1 AND run = ?2", kRunColumns);
  Statement st(*this, sql.c_str());
  st.bind(1, sweep).bind(2, run);
  if (!st.step()) return std::nullopt;
  return read_run(st);
}

std::vector<StoredRun> ResultsStore::runs(const std::string& sweep) {
  const std::string sql = fmt::format("SELECT {} FROM sweep_runs WHERE sweep = ?1 ORDER BY run", kRunColumns);
  Statement st(*this, sql.c_str());
  st.bind(1, sweep);
  std::vector<StoredRun> out;
  while (st.step()) out.push_back(read_run(st));
  return out;
}

int ResultsStore::delete_runs(const std::string& sweep) {
  int n = 0;
  transaction([&] {
    Statement st(*this, "DELETE FROM sweep_runs WHERE sweep = ?1");
    st.bind(1, sweep).run();
    n = sqlite3_changes(db_);
  });
  return n;
}

bool ResultsStore::imported(const std::string& source) {
  Statement st(*this, "SELECT 1 FROM imports WHERE source = ?1");
  st.bind(1, source);
  return st.step();
}

void ResultsStore::mark_imported(const std::string& source, int rows) {
  transaction([&] {
    Statement st(*this, "INSERT OR REPLACE INTO imports(source, rows) VALUES (?1, ?2)");
    st.bind(1, source).bind(2, rows).run();
  });
}

std::string ResultsStore::integrity_check() {
  Statement st(*this, "PRAGMA integrity_check");
  std::string out;
  while (st.step()) out += (out.empty() ? "" : "\n") + st.text(0);
  return out;
}

}  // namespace tinynas
