// The message of the ConfigError a call throws ("(no error)" if it throws none): tests assert
// the exact text users see.
#pragma once

#include <functional>
#include <string>

#include "search_spaces/config_node.h"

namespace tinynas {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace tinynas
