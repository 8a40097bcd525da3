// Data made here on first use: a dataset whose folder is missing runs the script of this source
// checkout that makes it (scripts/make-speech-corpus, scripts/make-image-folder), which shows its
// own progress, resumes from <path>.partial and renames the folder into place when complete.
#pragma once

#include <string>
#include <vector>

namespace tinynas {

// Runs scripts/<script> with `args` (each quoted for the shell) and checks that it made the
// folder `path`. `key` names the config key that asked for it, for the messages. Throws
// ConfigError when the script is not there, std::runtime_error when it fails.
void make_data_with_script(const std::string& script, const std::vector<std::string>& args,
                           const std::string& path, const std::string& key);

}  // namespace tinynas
