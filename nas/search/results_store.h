// The results store: one SQLite database that the processes of a search or a sweep share (the
// tasks of a Slurm job array, ranks), writing at the same time. Every write is one transaction
// (BEGIN IMMEDIATE: a writer takes the lock before it reads, so two never deadlock upgrading),
// concurrent writers wait for the lock (busy timeout) rather than fail, and a process killed
// mid-transaction leaves nothing of it behind. The CSV, JSON and SVG files next to it are exports
// written from it; resuming reads the store.
//
// Journal: WAL (readers never block the writer) where the file is on a local filesystem. SQLite's
// WAL needs memory shared between the processes (the -shm file), which a network filesystem
// cannot give across hosts, so on NFS, Lustre, GPFS, CIFS, BeeGFS or CephFS the store uses the
// rollback journal and POSIX locks instead (slower, still transactional; needs working NFS locks).
//
// Schema, version 1 (PRAGMA user_version; a store of a newer version is refused):
//
//   subnet_scores         a subnet's score measured on one supernet: the sweep's accuracy cache
//     scorer      TEXT      names the supernet (checkpoint hash, data split, BN recalibration)
//     arch_hash   TEXT      16 hex digits: ArchSpec::hash() of the arch without its patch schedule
//     split       TEXT      'val' | 'test'
//     images      INTEGER   validation examples (0 = all; always 0 for test)
//     value       REAL      the task's metric
//     first_half, second_half REAL   the metric over each half of the examples (NULL: not split)
//     arch        TEXT      the ArchSpec's JSON (NULL only in caches imported from before it)
//     UNIQUE (scorer, arch_hash, split, images): inserting a key again is a no-op, the first
//     measurement wins
//
//   search_measurements   a search's own validation measurements in the order made
//     id          INTEGER PRIMARY KEY (the order)
//     search      TEXT      the search's output directory relative to the store's ('.': the same)
//     log         TEXT      'measured' (what the predictor learns from: measured.csv) or
//                           'random_search' (the random-search baseline's, kept apart)
//     arch_hash, images, value, first_half, second_half as above; arch TEXT NOT NULL
//     UNIQUE (search, log, arch_hash, images)
//
//   sweep_runs            one run of a sweep: what OUT/<run>/sweep_run.json exports
//     sweep       TEXT      the sweep's output directory relative to the store's
//     run         TEXT      the run's name
//     scorer      TEXT      the supernet its scores came from
//     fingerprint TEXT      hash of settings: a run saved under other settings is stale
//     settings    TEXT      its effective settings (JSON)
//     state       TEXT      'started' | 'searched' (summary.json written) | 'finished'
//     export_level INTEGER  0 not exported, 1 on the host, 2 on the host and QEMU
//     result      TEXT      the run's row (JSON, as in sweep.json's runs[]); NULL while started
//     updated     TEXT      UTC time of the last write
//     PRIMARY KEY (sweep, run)
//
//   imports               files from before the store, each read in once
//     source      TEXT PRIMARY KEY   the file's path relative to the store's directory
//     rows        INTEGER            rows read (0: there was no file)
//
// Torch-free; the sqlite3 C API behind a small RAII wrapper. A store is one connection: one per
// process (never across fork()), used from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "nas/search/subnet_scorer.h"

struct sqlite3;

namespace tinynas {

// A measured score as stored (the arch as JSON text: the store does not parse it).
struct StoredScore {
  uint64_t arch_hash = 0;
  EvalSplit split = EvalSplit::Val;
  int images = 0;
  double value = 0;
  double first_half = std::numeric_limits<double>::quiet_NaN();
  double second_half = std::numeric_limits<double>::quiet_NaN();
  std::string arch;  // JSON; empty: unknown
};

struct StoredRun {
  enum class State { Started, Searched, Finished };
  std::string sweep, run, scorer, fingerprint;
  std::string settings;  // JSON
  State state = State::Started;
  int export_level = 0;
  std::string result;    // JSON; empty while started
};

class ResultsStore {
 public:
  enum class Journal { Auto, Wal, Rollback };  // Auto: WAL unless on a network filesystem
  static constexpr int kSchemaVersion = 1;

  // Opens (creating it and its directory if needed) and brings the schema up to date. Throws
  // ConfigError naming the file for one of a newer schema or one that is not a results store.
  explicit ResultsStore(std::string path, Journal journal = Journal::Auto);
  ~ResultsStore();
  ResultsStore(const ResultsStore&) = delete;
  ResultsStore& operator=(const ResultsStore&) = delete;

  const std::string& path() const { return path_; }
  bool wal() const { return wal_; }
  // `p` (a file or directory) relative to the store's directory, '/'-separated ("." for that
  // directory): how rows name a search or a sweep, so a tree moved whole keeps its results.
  std::string name_of(const std::string& p) const;

  // Runs `fn` in one write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back if it throws.
  // Inside another transaction, `fn` joins it.
  void transaction(const std::function<void()>& fn);

  // Each write below is its own transaction unless inside one.
  // false: the key was there already, and is kept.
  bool add_score(const std::string& scorer, const StoredScore& s);
  std::optional<StoredScore> score(const std::string& scorer, uint64_t arch_hash, EvalSplit split, int images);
  std::vector<StoredScore> scores(const std::string& scorer);  // in insertion order
  int delete_scores(const std::string& scorer);

  bool add_measurement(const std::string& search, const std::string& log, const StoredScore& s);
  // Those of `images` examples, in measurement order.
  std::vector<StoredScore> measurements(const std::string& search, const std::string& log, int images);
  int delete_measurements(const std::string& search);  // of every log

  void put_run(const StoredRun& r);  // inserts or replaces
  std::optional<StoredRun> run(const std::string& sweep, const std::string& run);
  std::vector<StoredRun> runs(const std::string& sweep);
  int delete_runs(const std::string& sweep);

  // Whether `source` was imported; marking it belongs in the transaction that imports it.
  bool imported(const std::string& source);
  void mark_imported(const std::string& source, int rows);

  // SQLite's PRAGMA integrity_check: "ok", or what is wrong.
  std::string integrity_check();

  class Statement;  // a prepared statement (results_store.cpp)

 private:
  void exec(const std::string& sql);
  void create_schema();
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  sqlite3* db_ = nullptr;
  bool wal_ = false;
};

const char* split_name(EvalSplit s);  // "val" | "test"

}  // namespace tinynas
