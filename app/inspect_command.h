// `pipeline inspect CHECKPOINT`: what a checkpoint holds, in words — architecture with output
// shapes, parameter count, FLOPs per image, precision, training position, normalization, the
// metrics history and the graph it came from. Exits 1 with a clear message on a bad checkpoint.
#pragma once

#include <string>

#include "pipeline/cli/cli.h"

namespace pipeline::cnn {

CliCommand InspectCommand();

// The report `inspect` prints (graph_lines: how many lines of the source graph to show, -1 for
// all). Throws std::runtime_error naming the file when it is not a valid checkpoint.
std::string DescribeCheckpoint(const std::string& path, int graph_lines = 12);

}  // namespace pipeline::cnn
