// Reads dataset files (stages/sources/dataset.proto): what idx_source's `dataset` param names.
#pragma once

#include <string>

#include "dataset.pb.h"

namespace pipeline {

// Parses the dataset file at `path` and checks it: a training part with images, class names
// unique and non-empty, statistics in range. Relative image and label paths come back resolved
// against the file's folder. Throws std::runtime_error naming the file (and the line, for syntax
// errors).
proto::DatasetSpec ReadDatasetFile(const std::string& path);

}  // namespace pipeline
