// The --arch argument every command takes: an ArchSpec file, or `largest` / `smallest` for the
// space's extremes.
#pragma once

#include <string>

#include "search_spaces/arch_spec.h"

namespace tinynas {

LoadedArch resolve_arch(const std::string& arg, const SearchSpace& space);

}  // namespace tinynas
