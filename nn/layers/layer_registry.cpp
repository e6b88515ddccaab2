// The one list of layer kinds. A new kind of layer is a file under nn/layers/ defining its
// LayerKind (spec checks, shape, description, op) and its accessor, plus one line in each of the
// two lists below; layer_registry_test checks that every LayerSpec field has an entry.
#include <stdexcept>

#include "nn/layers/layer_kind.h"

namespace pipeline::cnn {
namespace detail {

const LayerKind& conv_layer_kind();
const LayerKind& pool_layer_kind();
const LayerKind& dense_layer_kind();
const LayerKind& relu_layer_kind();
const LayerKind& dropout_layer_kind();
const LayerKind& batchnorm_layer_kind();
const LayerKind& flatten_layer_kind();

}  // namespace detail

const std::vector<const LayerKind*>& registered_layer_kinds() {
  static const std::vector<const LayerKind*> kinds = {
      &detail::conv_layer_kind(),    &detail::pool_layer_kind(),    &detail::dense_layer_kind(),
      &detail::relu_layer_kind(),    &detail::dropout_layer_kind(), &detail::batchnorm_layer_kind(),
      &detail::flatten_layer_kind(),
  };
  return kinds;
}

const LayerKind* find_layer_kind(proto::LayerSpec::KindCase kind) {
  for (const LayerKind* registered : registered_layer_kinds()) {
    if (registered->kind_case() == kind) return registered;
  }
  return nullptr;
}

const LayerKind& layer_kind_of(const ResolvedLayer& layer) {
  const LayerKind* kind = find_layer_kind(layer.spec.kind_case());
  if (kind == nullptr) throw std::invalid_argument("layer " + layer.name + " has no kind");
  return *kind;
}

}  // namespace pipeline::cnn
