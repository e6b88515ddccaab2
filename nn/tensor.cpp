#include "nn/tensor.h"

#include <stdexcept>

namespace pipeline::cnn {

int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + ")";
}

const Tensor* find_tensor(const std::vector<Tensor>& tensors, const std::string& name) {
  for (const Tensor& tensor : tensors) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

void check_tensor_shape(const Tensor& tensor, const std::vector<int64_t>& shape) {
  if (tensor.shape != shape) {
    throw std::invalid_argument("tensor \"" + tensor.name + "\" has shape " +
                                shape_string(tensor.shape) + ", expected " + shape_string(shape));
  }
  if (static_cast<int64_t>(tensor.values.size()) != element_count(shape)) {
    throw std::invalid_argument("tensor \"" + tensor.name + "\" has " +
                                std::to_string(tensor.values.size()) + " values, its shape " +
                                shape_string(shape) + " needs " +
                                std::to_string(element_count(shape)));
  }
}

}  // namespace pipeline::cnn
