#include "supernet/datasets/data_script.h"

#include <fmt/core.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "search_spaces/config_node.h"

#ifndef TINYNAS_SOURCE_DIR
#define TINYNAS_SOURCE_DIR "."
#endif

namespace tinynas {

namespace {

std::string shell_quoted(const std::string& s) {
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

}  // namespace

void make_data_with_script(const std::string& script, const std::vector<std::string>& args,
                           const std::string& path, const std::string& key) {
  const std::string program = std::string(TINYNAS_SOURCE_DIR) + "/scripts/" + script;
  if (!std::filesystem::exists(program)) {
    throw ConfigError(key + ": " + program + " not found (run from a source checkout)");
  }
  std::string command = program;
  for (const std::string& a : args) command += " " + shell_quoted(a);
  fmt::print(stderr, "{} missing; making it ({}): {}\n", path, key, command);
  const int rc = std::system(command.c_str());
  if (rc != 0 || !std::filesystem::is_directory(path)) {
    throw std::runtime_error(fmt::format("{} failed (status {})", command, rc));
  }
}

}  // namespace tinynas
