// The MNIST test set (t10k), read once per test program and shared by the suites that cut, render
// or recombine real digits (digit_extract, digit_extract_rows, digit_layout).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stages/sources/idx_reader.h"

namespace pipeline::mnist_test {

inline const IdxImages& Images() {
  static const IdxImages* images =
      new IdxImages(ReadIdxImages(std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz"));
  return *images;
}

inline const std::vector<int32_t>& Labels() {
  static const std::vector<int32_t>* labels = new std::vector<int32_t>(
      ReadIdxLabels(std::string(PIPELINE_MNIST_DIR) + "/t10k-labels-idx1-ubyte.gz"));
  return *labels;
}

}  // namespace pipeline::mnist_test
