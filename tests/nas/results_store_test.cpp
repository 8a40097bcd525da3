// The results store: one SQLite database that processes write at the same time (array tasks,
// ranks). Writers in processes of their own (fork), one killed in the middle of a transaction;
// the schema version; reopening.
#include "nas/search/results_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "search_spaces/atomic_file.h"
#include "search_spaces/config_node.h"
#include "tests/temp_dir.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Concurrent writers

constexpr int kWriters = 8;
constexpr int kKeysPerWriter = 40;  // writer w: keys [20 w, 20 w + 40): half shared with w + 1
constexpr int kKilled = 3;          // this one is killed inside its transaction number kKillAt
constexpr int kKillAt = 10;

int first_key(int w) { return 20 * w; }

// Key k's score: the same value whoever measures it; first_half says who wrote the row.
StoredScore score_of(int key, int writer) {
  StoredScore s;
  s.arch_hash = 0x1000 + static_cast<uint64_t>(key);
  s.split = EvalSplit::Val;
  s.images = 100;
  s.value = 0.5 + 1e-3 * key;
  s.first_half = writer;
  s.arch = "{\"key\": " + std::to_string(key) + "}";
  return s;
}

std::string search_of(int w) { return "search-" + std::to_string(w); }

// One transaction per key: the shared score, this writer's measurement of it and a run record
// (three tables), so a half-written transaction would show as one without the others.
void write_key(ResultsStore& store, int w, int key) {
  store.add_score("scorer", score_of(key, w));
  store.add_measurement(search_of(w), "measured", score_of(key, w));
  StoredRun r;
  r.sweep = search_of(w);
  r.run = "key-" + std::to_string(key);
  r.scorer = "scorer";
  r.fingerprint = std::to_string(key);
  r.settings = "{}";
  r.state = StoredRun::State::Finished;
  r.result = "{\"key\": " + std::to_string(key) + "}";
  store.put_run(r);
}

// A writer process: returns its exit code. The killed one writes a byte to `ready` from inside
// its open transaction and waits there to be killed.
int writer(const std::string& path, ResultsStore::Journal journal, int w, int ready) {
  try {
    ResultsStore store(path, journal);
    for (int i = 0; i < kKeysPerWriter; ++i) {
      const int key = first_key(w) + i;
      store.transaction([&] {
        write_key(store, w, key);
        if (w == kKilled && i == kKillAt) {
          write_key(store, w, key + 1000);  // more of the same transaction, never committed
          const char c = 'k';
          if (::write(ready, &c, 1) != 1) _exit(4);
          for (;;) ::pause();
        }
      });
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "writer %d: %s\n", w, e.what());
    return 1;
  }
}

class ResultsStoreWriters : public ::testing::TestWithParam<ResultsStore::Journal> {};

TEST_P(ResultsStoreWriters, EightAtOnceLoseAndDuplicateNothingThoughOneIsKilledMidTransaction) {
  TempDir tmp("results_store_writers");
  fs::create_directories(tmp.path);
  const std::string path = tmp.path + "/results.db";
  int pipe_fd[2];
  ASSERT_EQ(::pipe(pipe_fd), 0);
  // The writers create the store between them too: none exists yet.
  std::vector<pid_t> pids;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(pipe_fd[0]);
      _exit(writer(path, GetParam(), w, pipe_fd[1]));
    }
    pids.push_back(pid);
  }
  ::close(pipe_fd[1]);
  // Killed while it holds the write lock: the others are waiting for it, and go on once it is gone.
  char c = 0;
  ASSERT_EQ(::read(pipe_fd[0], &c, 1), 1);
  ::close(pipe_fd[0]);
  ASSERT_EQ(::kill(pids[kKilled], SIGKILL), 0);
  for (int w = 0; w < kWriters; ++w) {
    int status = 0;
    ASSERT_EQ(::waitpid(pids[w], &status, 0), pids[w]);
    if (w == kKilled) {
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    } else {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer " << w << ": " << status;
    }
  }

  ResultsStore store(path, GetParam());
  EXPECT_EQ(store.integrity_check(), "ok");
  // What each writer committed: all its keys, or (the killed one) those before its open transaction.
  auto committed = [](int w) { return w == kKilled ? kKillAt : kKeysPerWriter; };
  std::map<int, int> score_rows;  // key -> rows
  std::map<int, std::set<int>> writers_of;
  for (const StoredScore& s : store.scores("scorer")) {
    const int key = static_cast<int>(s.arch_hash - 0x1000);
    ++score_rows[key];
    EXPECT_DOUBLE_EQ(s.value, 0.5 + 1e-3 * key);
    EXPECT_EQ(s.arch, "{\"key\": " + std::to_string(key) + "}");
    writers_of[key].insert(static_cast<int>(s.first_half));
  }
  std::set<int> expected_keys;
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < committed(w); ++i) expected_keys.insert(first_key(w) + i);
  }
  EXPECT_EQ(score_rows.size(), expected_keys.size());
  for (int key : expected_keys) EXPECT_EQ(score_rows[key], 1) << "key " << key;
  for (const auto& [key, rows] : score_rows) EXPECT_TRUE(expected_keys.count(key)) << "key " << key;
  for (int w = 0; w < kWriters; ++w) {
    // Its own rows: each committed key once, in order, in both of its tables, and nothing more.
    const auto m = store.measurements(search_of(w), "measured", 100);
    ASSERT_EQ(static_cast<int>(m.size()), committed(w)) << "writer " << w;
    for (int i = 0; i < committed(w); ++i) EXPECT_EQ(m[i].arch_hash, 0x1000u + first_key(w) + i);
    EXPECT_EQ(static_cast<int>(store.runs(search_of(w)).size()), committed(w)) << "writer " << w;
  }
  // Nothing of the killed writer's open transaction: neither its score rows nor the rest.
  for (int key : {first_key(kKilled) + kKillAt, first_key(kKilled) + kKillAt + 1000}) {
    EXPECT_EQ(writers_of[key].count(kKilled), 0u) << "key " << key;
    EXPECT_FALSE(store.run(search_of(kKilled), "key-" + std::to_string(key)).has_value());
  }
  // And a new writer writes.
  EXPECT_TRUE(store.add_score("scorer", score_of(5000, 9)));
  EXPECT_FALSE(store.add_score("scorer", score_of(5000, 10)));  // the first one wins
  EXPECT_EQ(store.score("scorer", 0x1000 + 5000, EvalSplit::Val, 100)->first_half, 9);
}

INSTANTIATE_TEST_SUITE_P(ResultsStore, ResultsStoreWriters,
                         ::testing::Values(ResultsStore::Journal::Wal, ResultsStore::Journal::Rollback),
                         [](const auto& info) {
                           return info.param == ResultsStore::Journal::Wal ? "Wal" : "RollbackForNetworkFilesystems";
                         });

// ---------------------------------------------------------------------------------------------
// The file

TEST(ResultsStore, ReopensWithWhatWasWritten) {
  TempDir tmp("results_store_reopen");
  const std::string path = tmp.path + "/sub/results.db";  // the directory is made
  {
    ResultsStore store(path);
    EXPECT_TRUE(store.wal());
    StoredScore t = score_of(1, 0);
    t.split = EvalSplit::Test;
    t.images = 500;  // the test split has one size: stored as 0
    t.first_half = std::numeric_limits<double>::quiet_NaN();
    EXPECT_TRUE(store.add_score("a", t));
    EXPECT_TRUE(store.add_score("b", score_of(1, 0)));  // another supernet: its own key
    StoredRun r;
    r.sweep = ".";
    r.run = "l432";
    r.scorer = "a";
    r.fingerprint = "f";
    r.settings = "{\"x\": 1}";
    store.put_run(r);
    r.state = StoredRun::State::Searched;
    r.result = "{}";
    store.put_run(r);  // replaced
    store.add_measurement("l432", "measured", score_of(2, 0));
    // A transaction that throws leaves nothing.
    EXPECT_THROW(store.transaction([&] {
      store.add_score("a", score_of(3, 0));
      throw std::runtime_error("stop");
    }),
                 std::runtime_error);
  }
  ResultsStore store(path);
  const auto t = store.score("a", 0x1000 + 1, EvalSplit::Test, 0);
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(std::isnan(t->first_half));
  EXPECT_EQ(t->images, 0);
  EXPECT_EQ(store.scores("a").size(), 1u);
  EXPECT_EQ(store.scores("b").size(), 1u);
  const auto r = store.run(".", "l432");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->state, StoredRun::State::Searched);
  EXPECT_EQ(r->settings, "{\"x\": 1}");
  EXPECT_EQ(store.runs(".").size(), 1u);
  EXPECT_EQ(store.measurements("l432", "measured", 100).size(), 1u);
  EXPECT_EQ(store.measurements("l432", "measured", 200).size(), 0u);
  EXPECT_EQ(store.delete_scores("a"), 1);
  EXPECT_EQ(store.delete_runs("."), 1);
  EXPECT_EQ(store.delete_measurements("l432"), 1);
  // Names relative to the store's directory.
  EXPECT_EQ(store.name_of(tmp.path + "/sub"), ".");
  EXPECT_EQ(store.name_of(tmp.path + "/sub/l432/measured.csv"), "l432/measured.csv");
  EXPECT_EQ(store.name_of(tmp.path + "/other"), "../other");
}

void set_user_version(const std::string& path, int v) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, ("PRAGMA user_version = " + std::to_string(v)).c_str(), nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
}

std::string error_opening(const std::string& path) {
  try {
    ResultsStore store(path);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ResultsStore, ANewerSchemaIsRefusedNamingTheFileAndBothVersions) {
  TempDir tmp("results_store_version");
  const std::string path = tmp.path + "/results.db";
  { ResultsStore store(path); }
  set_user_version(path, ResultsStore::kSchemaVersion + 1);
  EXPECT_EQ(error_opening(path), path + ": a results store of schema version 2, newer than this tinynas's 1: use a "
                                        "newer tinynas, or another store");
}

TEST(ResultsStore, OtherFilesAreRefused) {
  TempDir tmp("results_store_other");
  fs::create_directories(tmp.path);
  const std::string text = tmp.path + "/notes.txt";
  write_file_atomic(text, "hash,val_accuracy,arch\nnot a database, but long enough to have a header of sorts "
                          "that SQLite reads as one; long enough, really, more than a hundred bytes\n");
  EXPECT_EQ(error_opening(text).rfind(text + ": not a results store (SQLite: file is not a database)", 0), 0u)
      << error_opening(text);
  // An SQLite database of something else.
  const std::string other = tmp.path + "/other.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(error_opening(other),
            other + ": an SQLite database, but not a results store (no schema version): choose another path");
}

}  // namespace
}  // namespace tinynas
