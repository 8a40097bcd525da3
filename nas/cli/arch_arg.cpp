#include "nas/cli/arch_arg.h"

namespace tinynas {

LoadedArch resolve_arch(const std::string& arg, const SearchSpace& space) {
  if (arg == "largest") return {space, ArchSpec::largest(space)};
  if (arg == "smallest") return {space, ArchSpec::smallest(space)};
  return load_arch_file(arg, space);
}

}  // namespace tinynas
