// The ModelSpec files the benchmarks measure (models/*.pbtxt, --model): read as a graph's
// cnn_train reads them, protobuf text format.
#pragma once

#include <string>

#include "model.pb.h"

namespace pipeline::bench {

// Throws std::invalid_argument naming `path` when it cannot be read or parsed.
proto::ModelSpec ReadModelSpecFile(const std::string& path);

}  // namespace pipeline::bench
