// Results and checkpoints are written atomically: a temporary file in the same directory, then
// rename(2), so a kill never leaves a half-written file behind.
#pragma once

#include <string>

namespace tinynas {

// Throws std::runtime_error naming the path when the write fails.
void write_file_atomic(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);  // throws ConfigError naming the path
bool file_exists(const std::string& path);

}  // namespace tinynas
