// NetGraph: an ArchSpec lowered to the ordered list of layers it runs, with exact tensor
// shapes. Estimators, the exporter and the code generator all read this one lowering; no stage
// re-derives shapes. Built in the search's hot path, so it holds no strings. Each layer's
// operator is a descriptor (ops/op.h), which computed its shape and costs here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/op.h"
#include "search_spaces/arch_spec.h"
#include "search_spaces/search_space.h"

namespace tinynas {

struct TensorInfo {
  Shape shape;
  int producer = -1;       // layer index; -1 for the network input
  int last_consumer = -1;  // layer index of the last reader; -1 for the network output
  int element_bytes = 1;   // int8 activations; 2 for a front end's int16 PCM input
  int64_t bytes() const { return shape.elements() * element_bytes; }
};

struct NetGraph {
  std::vector<TensorInfo> tensors;  // tensors[input] is the image
  std::vector<Layer> layers;        // execution order
  int input = 0;
  int output = -1;
  int num_blocks = 0;
  PatchSchedule patch;              // carried from the ArchSpec

  int64_t macs() const;
  int64_t params() const;
  int64_t weight_count() const;
  int64_t bias_count() const;
  // Index of the first layer after the patch stage (stem + patch.split blocks); 0 without one.
  int patch_stage_end() const;
};

// Lowers `arch` (assumed valid for `space`) to layers. Reuses `out`'s storage when given, so the
// search's hot loop allocates nothing.
void lower(const SearchSpace& space, const ArchSpec& arch, NetGraph* out);
NetGraph lower(const SearchSpace& space, const ArchSpec& arch);


}  // namespace tinynas
