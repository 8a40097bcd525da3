#include "search_spaces/config_node.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "search_spaces/atomic_file.h"

namespace tinynas {

namespace {

// A copy of a base config's value that carries no line: it was validated where it came from,
// and a line number would point into another file.
YAML::Node fresh_copy(const YAML::Node& n) {
  if (n.IsScalar()) return YAML::Node(n.Scalar());
  return YAML::Clone(n);
}

}  // namespace

ConfigNode overlay(const ConfigNode& base, const ConfigNode& over, int depth) {
  over.expect_map();
  YAML::Node merged(YAML::NodeType::Map);
  for (const auto& kv : over.raw()) {
    const std::string key = kv.first.as<std::string>();
    if (depth > 1 && kv.second.IsMap() && base.is_map() && base.has(key) && base.raw()[key].IsMap()) {
      merged.force_insert(kv.first, overlay(base.section(key), over.section(key), depth - 1).raw());
    } else {
      merged.force_insert(kv.first, kv.second);
    }
  }
  if (base.is_map()) {
    for (const auto& kv : base.raw()) {
      const std::string key = kv.first.as<std::string>();
      if (!over.has(key)) merged.force_insert(YAML::Node(key), fresh_copy(kv.second));
    }
  }
  return ConfigNode(merged, std::make_shared<const std::string>(over.file()), over.key_path());
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

ConfigNode ConfigNode::load_file(const std::string& path) {
  if (!file_exists(path)) throw ConfigError(path + ": file not found");
  return parse(read_file(path), path);
}

ConfigNode ConfigNode::parse(const std::string& text, const std::string& origin) {
  auto file = std::make_shared<const std::string>(origin);
  try {
    return ConfigNode(YAML::Load(text), file, "");
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ": not valid YAML at line " + std::to_string(e.mark.line + 1) +
                      ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

ConfigNode::ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file,
                       std::string key_path)
    : node_(std::move(node)), file_(std::move(file)), key_path_(std::move(key_path)) {}

std::string ConfigNode::directory() const {
  const auto slash = file_->rfind('/');
  return slash == std::string::npos ? "." : file_->substr(0, slash);
}

void ConfigNode::fail(const std::string& what) const {
  std::string msg = *file_ + ": " + (key_path_.empty() ? "(top level)" : key_path_) + ": " + what;
  if (node_ && node_.Mark().line >= 0) msg += " (line " + std::to_string(node_.Mark().line + 1) + ")";
  throw ConfigError(msg);
}

std::string ConfigNode::describe_value() const {
  if (!node_ || node_.IsNull()) return "nothing";
  if (node_.IsMap()) return "a map";
  if (node_.IsSequence()) return "a list";
  return "'" + node_.Scalar() + "'";
}

ConfigNode ConfigNode::child(const YAML::Node& n, const std::string& key) const {
  return ConfigNode(n, file_, key_path_.empty() ? key : key_path_ + "." + key);
}

void ConfigNode::expect_map() const {
  if (!node_.IsMap()) fail("expected a map of keys, got " + describe_value());
}

bool ConfigNode::has(const std::string& key) const {
  return node_.IsMap() && node_[key].IsDefined();
}

ConfigNode ConfigNode::at(const std::string& key) const {
  expect_map();
  const YAML::Node n = node_[key];
  if (!n.IsDefined()) {
    ConfigNode missing = child(YAML::Node(), key);
    std::string msg = *file_ + ": " + missing.key_path_ + ": missing required key";
    if (node_.Mark().line >= 0) msg += " (in the map at line " + std::to_string(node_.Mark().line + 1) + ")";
    throw ConfigError(msg);
  }
  return child(n, key);
}

std::optional<ConfigNode> ConfigNode::find(const std::string& key) const {
  if (is_null()) return std::nullopt;
  expect_map();
  const YAML::Node n = node_[key];
  if (!n.IsDefined() || n.IsNull()) return std::nullopt;
  return child(n, key);
}

ConfigNode ConfigNode::section(const std::string& key) const {
  if (const auto n = find(key)) return *n;
  return child(YAML::Node(YAML::NodeType::Map), key);
}

std::vector<std::string> ConfigNode::keys() const {
  std::vector<std::string> out;
  if (!node_.IsMap()) return out;
  for (const auto& kv : node_) out.push_back(kv.first.as<std::string>());
  return out;
}

void ConfigNode::check_keys(const std::vector<std::string>& allowed) const {
  expect_map();
  for (const auto& kv : node_) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string best;
    std::size_t best_d = 1000;
    for (const auto& a : allowed) {
      const std::size_t d = edit_distance(key, a);
      if (d < best_d) best_d = d, best = a;
    }
    std::string what = "unknown key";
    if (!best.empty() && best_d <= std::max<std::size_t>(2, key.size() / 3)) {
      what += " (did you mean '" + best + "'?)";
    } else {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      what += "; expected one of: " + list;
    }
    ConfigNode(kv.first, file_, key_path_.empty() ? key : key_path_ + "." + key).fail(what);
  }
}

std::size_t ConfigNode::size() const {
  if (!node_.IsSequence()) fail("expected a list, got " + describe_value());
  return node_.size();
}

ConfigNode ConfigNode::operator[](std::size_t i) const {
  if (!node_.IsSequence()) fail("expected a list, got " + describe_value());
  return ConfigNode(node_[i], file_, key_path_ + "[" + std::to_string(i) + "]");
}

std::vector<ConfigNode> ConfigNode::items() const {
  std::vector<ConfigNode> out;
  for (std::size_t i = 0; i < size(); ++i) out.push_back((*this)[i]);
  return out;
}

int64_t ConfigNode::as_int(int64_t min, int64_t max) const {
  if (!node_.IsScalar()) fail("expected an integer, got " + describe_value());
  const std::string s = node_.Scalar();
  std::size_t pos = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &pos, 0);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != s.size() || s.empty()) fail("expected an integer, got " + describe_value());
  if (v < min || v > max) {
    fail("expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
         s);
  }
  return v;
}

static std::string fmt_double(double v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}

double ConfigNode::as_double(double min, double max) const {
  if (!node_.IsScalar()) fail("expected a number, got " + describe_value());
  const std::string s = node_.Scalar();
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != s.size() || s.empty() || !std::isfinite(v)) {
    fail("expected a number, got " + describe_value());
  }
  if (v < min || v > max) {
    fail("expected a number in [" + fmt_double(min) + ", " + fmt_double(max) + "], got " + s);
  }
  return v;
}

bool ConfigNode::as_bool() const {
  if (node_.IsScalar()) {
    const std::string s = node_.Scalar();
    if (s == "true" || s == "True" || s == "yes") return true;
    if (s == "false" || s == "False" || s == "no") return false;
  }
  fail("expected true or false, got " + describe_value());
}

std::string ConfigNode::as_string() const {
  if (!node_.IsScalar()) fail("expected a string, got " + describe_value());
  return node_.Scalar();
}

std::string ConfigNode::as_choice(const std::vector<std::string>& choices) const {
  const std::string s = as_string();
  if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  fail("expected one of " + list + ", got '" + s + "'");
}

std::string ConfigNode::as_path() const {
  const std::string p = as_string();
  if (p.empty()) fail("expected a path, got an empty string");
  if (p[0] == '/') return p;
  const std::string dir = directory();
  return dir == "." ? p : dir + "/" + p;
}

std::vector<int64_t> ConfigNode::as_int_list(int64_t min, int64_t max) const {
  std::vector<int64_t> out;
  for (const auto& item : items()) out.push_back(item.as_int(min, max));
  if (out.empty()) fail("expected a non-empty list of integers");
  return out;
}

std::vector<double> ConfigNode::as_double_list(double min, double max) const {
  std::vector<double> out;
  for (const auto& item : items()) out.push_back(item.as_double(min, max));
  if (out.empty()) fail("expected a non-empty list of numbers");
  return out;
}

int64_t ConfigNode::get_int(const std::string& key, int64_t def, int64_t min, int64_t max) const {
  const auto n = find(key);
  return n ? n->as_int(min, max) : def;
}

double ConfigNode::get_double(const std::string& key, double def, double min, double max) const {
  const auto n = find(key);
  return n ? n->as_double(min, max) : def;
}

bool ConfigNode::get_bool(const std::string& key, bool def) const {
  const auto n = find(key);
  return n ? n->as_bool() : def;
}

std::string ConfigNode::get_string(const std::string& key, const std::string& def) const {
  const auto n = find(key);
  return n ? n->as_string() : def;
}

}  // namespace tinynas
