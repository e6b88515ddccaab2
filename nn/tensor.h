// A named fp32 tensor in a fixed logical layout: the exchange format for parameters, running
// statistics and optimizer state (checkpoints, tests, inspection).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pipeline::cnn {

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;  // row-major over `shape`
};

// Product of the dimensions; 1 for a scalar (empty shape).
int64_t element_count(const std::vector<int64_t>& shape);

// "(64, 32, 3, 3)".
std::string shape_string(const std::vector<int64_t>& shape);

// Finds the tensor called `name`, or nullptr.
const Tensor* find_tensor(const std::vector<Tensor>& tensors, const std::string& name);

// Throws std::invalid_argument naming the tensor when `tensor` is not `shape` or its value count
// does not match its shape.
void check_tensor_shape(const Tensor& tensor, const std::vector<int64_t>& shape);

}  // namespace pipeline::cnn
