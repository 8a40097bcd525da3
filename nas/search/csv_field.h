// One CSV field (RFC 4180): quoted when it holds a comma, quote or newline, quotes doubled.
#pragma once

#include <string>

namespace tinynas {

inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// The inverse for a field that is the rest of a line: unquoted as written, or as it is.
inline std::string csv_unfield(const std::string& s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return s;
  std::string out;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    out += s[i];
    if (s[i] == '"' && s[i + 1] == '"') ++i;
  }
  return out;
}

}  // namespace tinynas
