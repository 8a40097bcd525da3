// A validating view of one YAML node: every read names the file, the key path and what was
// expected, so a bad config fails with one clear message (exit code 2 at the CLI) and never
// with a crash or a silent default.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tinynas {

// Bad input: a config, ArchSpec or data file that is missing, malformed or out of range.
// The CLI maps it to exit code 2.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const std::string& message) : std::runtime_error(message) {}
};

class ConfigNode {
 public:
  // Loads a YAML (or JSON) file. Throws ConfigError naming the file on a missing file or a
  // parse error.
  static ConfigNode load_file(const std::string& path);
  // Parses text; `origin` names it in messages.
  static ConfigNode parse(const std::string& text, const std::string& origin);

  ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file, std::string key_path);

  const std::string& file() const { return *file_; }
  const std::string& key_path() const { return key_path_; }
  // Directory of the file this node came from, for resolving relative paths in it.
  std::string directory() const;

  bool is_map() const { return node_.IsMap(); }
  bool is_sequence() const { return node_.IsSequence(); }
  bool is_null() const { return !node_ || node_.IsNull(); }

  // Map access.
  bool has(const std::string& key) const;
  ConfigNode at(const std::string& key) const;                  // required key
  std::optional<ConfigNode> find(const std::string& key) const;  // optional key
  // An optional section: the child map, or an empty map with the same key path.
  ConfigNode section(const std::string& key) const;
  std::vector<std::string> keys() const;
  // Rejects any key not in `allowed`, suggesting the nearest allowed one ("did you mean").
  void check_keys(const std::vector<std::string>& allowed) const;
  void expect_map() const;

  // Sequence access.
  std::size_t size() const;
  ConfigNode operator[](std::size_t i) const;
  std::vector<ConfigNode> items() const;

  // Scalars. Range bounds are inclusive.
  int64_t as_int(int64_t min = INT64_MIN, int64_t max = INT64_MAX) const;
  double as_double(double min = -1e308, double max = 1e308) const;
  bool as_bool() const;
  std::string as_string() const;
  std::string as_choice(const std::vector<std::string>& choices) const;
  // A path relative to this node's file becomes a path relative to the working directory.
  std::string as_path() const;
  std::vector<int64_t> as_int_list(int64_t min = INT64_MIN, int64_t max = INT64_MAX) const;
  std::vector<double> as_double_list(double min = -1e308, double max = 1e308) const;

  // Optional scalars with a default.
  int64_t get_int(const std::string& key, int64_t def, int64_t min = INT64_MIN,
                  int64_t max = INT64_MAX) const;
  double get_double(const std::string& key, double def, double min = -1e308,
                    double max = 1e308) const;
  bool get_bool(const std::string& key, bool def) const;
  std::string get_string(const std::string& key, const std::string& def) const;

  // Throws ConfigError: "<file>: <key path>: <what> (line N)".
  [[noreturn]] void fail(const std::string& what) const;

  const YAML::Node& raw() const { return node_; }

 private:
  std::string describe_value() const;
  ConfigNode child(const YAML::Node& n, const std::string& key) const;

  YAML::Node node_;
  std::shared_ptr<const std::string> file_;
  std::string key_path_;
};

// `over` laid over `base` (both maps): keys of `over` win and keep their nodes, so messages
// about them carry their line; the result reads as `over` (its file and key path). With
// `depth` 2, a key that is a map in both is itself laid over (a config's sections).
ConfigNode overlay(const ConfigNode& base, const ConfigNode& over, int depth = 1);

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace tinynas
