#include "ops/layer.h"

namespace tinynas {

const char* layer_role_name(LayerRole role) {
  switch (role) {
    case LayerRole::FrontEnd: return "frontend";
    case LayerRole::Stem: return "stem";
    case LayerRole::Expand: return "expand";
    case LayerRole::Depthwise: return "dw";
    case LayerRole::Project: return "project";
    case LayerRole::Residual: return "add";
    case LayerRole::Head: return "head";
    case LayerRole::Pool: return "pool";
    case LayerRole::Classifier: return "fc";
    case LayerRole::Softmax: return "softmax";
    case LayerRole::Dense: return "dense";
    case LayerRole::Reconstruction: return "recon";
    case LayerRole::Error: return "error";
    case LayerRole::Upsample: return "up";
  }
  return "?";
}

std::string Layer::name() const {
  if (stage < 0) return layer_role_name(role);
  return "s" + std::to_string(stage) + ".b" + std::to_string(block) + "." + layer_role_name(role);
}

}  // namespace tinynas
